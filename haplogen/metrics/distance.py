"""Hamming distances between haplotypes: nearest neighbours, pairwise distributions, copies.

The Hamming distance between two 0/1 haplotypes ``a`` and ``b`` is the number of sites where
they differ. With ``|a|`` the number of 1s::

    d(a, b) = |a| + |b| - 2 a·b = (|a| - a·b) + (|b| - a·b)

so all distances between two blocks of rows come from one matrix product. The products are
taken in float32: every partial sum is an integer no larger than ``n_sites``, which float32
represents exactly below 2^24, so the distances are exact. Blocks of ``block_size`` rows keep
memory at ``block_size² * 4`` bytes per block of distances, whatever the number of haplotypes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import wasserstein_distance

from ..errors import InputError
from .base import as_haplotype_matrix, check_min_rows, check_same_sites

__all__ = [
    "hamming_distances",
    "nearest_neighbour_distances",
    "pairwise_distance_comparison",
    "exact_copies",
]


def _float_dtype(n_sites: int) -> type:
    return np.float32 if n_sites < 2**24 else np.float64


def _block_distances(xa: np.ndarray, ca: np.ndarray, xb: np.ndarray, cb: np.ndarray) -> np.ndarray:
    """Distances between float rows ``xa`` (p, m) and ``xb`` (q, m) with row sums ``ca``, ``cb``."""
    dot = xa @ xb.T  # (p, q) number of sites where both carry allele 1
    # (|a| - a·b) and (|b| - a·b) are each exact and at most n_sites, so their sum is exact.
    return (ca[:, None] - dot) + (cb[None, :] - dot)


def hamming_distances(a: Any, b: Any) -> np.ndarray:
    """All Hamming distances between the rows of ``a`` and the rows of ``b``.

    Parameters
    ----------
    a : array_like of 0/1, shape (na, n_sites)
    b : array_like of 0/1, shape (nb, n_sites)

    Returns
    -------
    ndarray of int32, shape (na, nb)
        Exact; use on blocks (the result is ``na * nb * 4`` bytes).
    """
    a = as_haplotype_matrix(a, "first")
    b = as_haplotype_matrix(b, "second")
    check_same_sites(a, b)
    dtype = _float_dtype(a.shape[1])
    fa, fb = a.astype(dtype), b.astype(dtype)
    d = _block_distances(fa, fa.sum(axis=1), fb, fb.sum(axis=1))
    return np.rint(d).astype(np.int32)


def _nn_cross(a: np.ndarray, b: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour distances both ways between two sets.

    Returns
    -------
    a_to_b : int32, shape (na,)
        Distance of each row of ``a`` to its nearest row of ``b``.
    b_to_a : int32, shape (nb,)
        Distance of each row of ``b`` to its nearest row of ``a``.
    """
    dtype = _float_dtype(a.shape[1])
    a_to_b = np.full(a.shape[0], np.inf, dtype=dtype)
    b_to_a = np.full(b.shape[0], np.inf, dtype=dtype)
    cb_all = b.sum(axis=1, dtype=np.int64).astype(dtype)
    for i in range(0, a.shape[0], block_size):
        xa = a[i : i + block_size].astype(dtype)
        ca = xa.sum(axis=1)
        for j in range(0, b.shape[0], block_size):
            xb = b[j : j + block_size].astype(dtype)
            d = _block_distances(xa, ca, xb, cb_all[j : j + block_size])
            np.minimum(a_to_b[i : i + block_size], d.min(axis=1), out=a_to_b[i : i + block_size])
            np.minimum(b_to_a[j : j + block_size], d.min(axis=0), out=b_to_a[j : j + block_size])
    return np.rint(a_to_b).astype(np.int32), np.rint(b_to_a).astype(np.int32)


def _nn_within(a: np.ndarray, block_size: int) -> np.ndarray:
    """Leave-one-out nearest-neighbour distance of each row of ``a`` within ``a``.

    Only blocks on and above the block diagonal are computed (the distance matrix is
    symmetric); a row is excluded from its own neighbours, an identical other row is not.
    """
    dtype = _float_dtype(a.shape[1])
    nearest = np.full(a.shape[0], np.inf, dtype=dtype)
    counts = a.sum(axis=1, dtype=np.int64).astype(dtype)
    for i in range(0, a.shape[0], block_size):
        xa = a[i : i + block_size].astype(dtype)
        ca = counts[i : i + block_size]
        for j in range(i, a.shape[0], block_size):
            xb = xa if j == i else a[j : j + block_size].astype(dtype)
            d = _block_distances(xa, ca, xb, counts[j : j + block_size])
            if j == i:
                np.fill_diagonal(d, np.inf)  # leave the row itself out
            np.minimum(nearest[i : i + block_size], d.min(axis=1), out=nearest[i : i + block_size])
            if j != i:
                np.minimum(nearest[j : j + block_size], d.min(axis=0), out=nearest[j : j + block_size])
    return np.rint(nearest).astype(np.int32)


def nearest_neighbour_distances(a: Any, b: Any = None, *, block_size: int = 2048) -> np.ndarray:
    """Hamming distance of each row of ``a`` to its nearest row of ``b``.

    Parameters
    ----------
    a : array_like of 0/1, shape (na, n_sites)
    b : array_like of 0/1, shape (nb, n_sites), optional
        When None, neighbours are searched within ``a``, leaving each row itself out (an
        identical copy elsewhere in ``a`` still counts, at distance 0).
    block_size
        Rows per block; memory is about ``block_size² * 4`` bytes plus two blocks of rows.

    Returns
    -------
    ndarray of int32, shape (na,)
    """
    a = as_haplotype_matrix(a, "query")
    if block_size < 1:
        raise InputError(f"block_size must be at least 1, found {block_size}")
    if b is None:
        check_min_rows(a, 2, "query", "a leave-one-out nearest-neighbour search")
        return _nn_within(a, block_size)
    b = as_haplotype_matrix(b, "reference")
    check_same_sites(a, b)
    check_min_rows(b, 1, "reference", "a nearest-neighbour search")
    return _nn_cross(a, b, block_size)[0]


def _packed_rows(x: np.ndarray) -> np.ndarray:
    """Rows packed 8 sites to a byte, shape (n, ceil(n_sites / 8))."""
    return np.packbits(x, axis=1)


def _pair_distances(pa: np.ndarray, pb: np.ndarray, i: np.ndarray, j: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Hamming distances of the row pairs ``(pa[i[k]], pb[j[k]])`` of packed matrices."""
    out = np.empty(i.size, dtype=np.int64)
    for c in range(0, i.size, chunk):
        diff = pa[i[c : c + chunk]] ^ pb[j[c : c + chunk]]
        out[c : c + chunk] = np.bitwise_count(diff).sum(axis=1, dtype=np.int64)
    return out


def _within_pairs(n: int, max_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """All pairs i < j of n rows, or ``max_pairs`` random pairs i != j (with replacement)."""
    total = n * (n - 1) // 2
    if total <= max_pairs:
        i, j = np.triu_indices(n, 1)
        return i, j, False
    i = rng.integers(0, n, size=max_pairs)
    j = rng.integers(0, n - 1, size=max_pairs)
    j += j >= i  # uniform over the n - 1 other rows
    return i, j, True


def _between_pairs(na: int, nb: int, max_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """All pairs (i in a, j in b), or ``max_pairs`` random ones (with replacement)."""
    if na * nb <= max_pairs:
        i, j = np.divmod(np.arange(na * nb, dtype=np.int64), nb)
        return i, j, False
    return rng.integers(0, na, size=max_pairs), rng.integers(0, nb, size=max_pairs), True


def pairwise_distance_comparison(real: Any, syn: Any, *, max_pairs: int = 500_000, seed: int = 0) -> dict[str, Any]:
    """Distributions of pairwise Hamming distances within and between the two sets.

    Each of the three distributions (within real, within synthetic, real to synthetic) uses
    every pair when there are at most ``max_pairs`` of them, otherwise ``max_pairs`` pairs of
    distinct haplotypes drawn uniformly with replacement (seeded).

    Parameters
    ----------
    real : array_like of 0/1, shape (n_real, n_sites)
    syn : array_like of 0/1, shape (n_syn, n_sites)
    max_pairs
        Largest number of pairs per distribution.
    seed
        Seed of the pair samples.

    Returns
    -------
    dict
        ``pairwise_w1`` : 1-Wasserstein distance between the within-real and within-synthetic
        histograms (in sites); ``hist_real``, ``hist_syn``, ``hist_between`` : int64, shape
        (n_sites + 1,), number of pairs at each distance 0..n_sites; ``n_pairs`` : int, pairs
        measured in all three; ``n_pairs_real``, ``n_pairs_syn``, ``n_pairs_between`` : int;
        ``subsampled`` : bool, True when any of the three was sampled.
    """
    real = as_haplotype_matrix(real, "real")
    syn = as_haplotype_matrix(syn, "synthetic")
    check_same_sites(real, syn)
    check_min_rows(real, 2, "real", "a pairwise distance distribution")
    check_min_rows(syn, 2, "synthetic", "a pairwise distance distribution")
    if max_pairs < 1:
        raise InputError(f"max_pairs must be at least 1, found {max_pairs}")
    m = real.shape[1]
    rng = np.random.default_rng(seed)
    pr, ps = _packed_rows(real), _packed_rows(syn)
    hists = {}
    counts = {}
    sampled = []
    for name, (pa, pb, (i, j, sub)) in {
        "real": (pr, pr, _within_pairs(real.shape[0], max_pairs, rng)),
        "syn": (ps, ps, _within_pairs(syn.shape[0], max_pairs, rng)),
        "between": (pr, ps, _between_pairs(real.shape[0], syn.shape[0], max_pairs, rng)),
    }.items():
        d = _pair_distances(pa, pb, i, j)
        hists[name] = np.bincount(d, minlength=m + 1).astype(np.int64)
        counts[name] = int(i.size)
        sampled.append(sub)
    support = np.arange(m + 1, dtype=np.float64)
    w1 = wasserstein_distance(support, support, u_weights=hists["real"], v_weights=hists["syn"])
    return {
        "pairwise_w1": float(w1),
        "hist_real": hists["real"],
        "hist_syn": hists["syn"],
        "hist_between": hists["between"],
        "n_pairs": int(sum(counts.values())),
        "n_pairs_real": counts["real"],
        "n_pairs_syn": counts["syn"],
        "n_pairs_between": counts["between"],
        "subsampled": bool(any(sampled)),
    }


def exact_copies(real: Any, syn: Any) -> dict[str, Any]:
    """Synthetic haplotypes identical to some real haplotype.

    Rows are packed 8 sites to a byte and compared as byte strings in a hash set, so the cost
    is linear in the number of haplotypes (no distances are computed).

    Parameters
    ----------
    real : array_like of 0/1, shape (n_real, n_sites)
    syn : array_like of 0/1, shape (n_syn, n_sites)

    Returns
    -------
    dict
        ``exact_copies`` : int; ``copy_index`` : int64, shape (exact_copies,), the indices
        of those rows in ``syn``, in increasing order.
    """
    real = as_haplotype_matrix(real, "real")
    syn = as_haplotype_matrix(syn, "synthetic")
    check_same_sites(real, syn)
    known = {row.tobytes() for row in _packed_rows(real)}
    index = np.array(
        [k for k, row in enumerate(_packed_rows(syn)) if row.tobytes() in known], dtype=np.int64
    )
    return {"exact_copies": int(index.size), "copy_index": index}
