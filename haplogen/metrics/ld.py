"""Linkage disequilibrium: r² between sites, real vs synthetic, and its decay with distance.

For haplotypes, r² between sites i and j is the squared Pearson correlation of the two 0/1
columns. With ``n`` haplotypes, ``n_i`` and ``n_j`` carriers of allele 1 and ``n_ij``
haplotypes carrying allele 1 at both sites::

    D  = n_ij / n - (n_i / n) (n_j / n)
    r² = D² / (p_i (1 - p_i) p_j (1 - p_j))
       = (n n_ij - n_i n_j)² / (n_i (n - n_i) n_j (n - n_j))

The second form works on integer counts, so the only rounding is in the final division.
All ``n_ij`` of a block of sites come from one float32 matrix product ``X_Iᵀ X_J`` of 0/1
columns, which is exact while ``n < 2^24``. r² is undefined (NaN) at a monomorphic site.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from .base import as_haplotype_matrix, check_same_sites, pearson_r

__all__ = ["ld_r2", "ld_comparison", "ld_decay"]


def _counts_dtype(n: int) -> type:
    # Counts of carriers are exact integers in float32 up to 2^24.
    return np.float32 if n < 2**24 else np.float64


def _check_block_size(block_size: int) -> None:
    if block_size < 1:
        raise InputError(f"block_size must be at least 1, found {block_size}")


def _r2_block(
    xi: np.ndarray, xj: np.ndarray, ci: np.ndarray, cj: np.ndarray, n: int
) -> np.ndarray:
    """r² between the columns of two blocks.

    Parameters
    ----------
    xi : ndarray of float32, shape (n, bi)
    xj : ndarray of float32, shape (n, bj)
    ci, cj : ndarray of float64, shapes (bi,), (bj,)
        Allele-1 counts of the columns.
    n : int
        Number of haplotypes.

    Returns
    -------
    ndarray of float64, shape (bi, bj); NaN where either site is monomorphic.
    """
    nij = (xi.T @ xj).astype(np.float64)  # (bi, bj) exact counts of 1-1 haplotypes
    num = n * nij - np.outer(ci, cj)  # n² D
    vi = ci * (n - ci)  # n² p_i (1 - p_i)
    vj = cj * (n - cj)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / np.sqrt(np.outer(vi, vj))
    r[(vi == 0)[:, None] | (vj == 0)[None, :]] = np.nan
    return r * r


def ld_r2(x: Any, columns: Sequence[int] | np.ndarray | None = None, *, block_size: int = 2048) -> np.ndarray:
    """r² between every pair of the selected sites.

    Parameters
    ----------
    x : array_like of 0/1, shape (n_haplotypes, n_sites)
    columns : sequence of int, shape (k,), optional
        Sites to use (all when None).
    block_size
        Number of sites per block of the computation (memory is about
        ``n_haplotypes * block_size * 8 + k * block_size * 24`` bytes).

    Returns
    -------
    ndarray of float32, shape (k, k)
        Symmetric; the diagonal is 1 at polymorphic sites; NaN in every row and column of a
        monomorphic site.
    """
    x = as_haplotype_matrix(x)
    _check_block_size(block_size)
    if columns is None:
        columns = np.arange(x.shape[1])
    columns = np.asarray(columns, dtype=np.int64)
    if columns.ndim != 1 or (columns.size and (columns.min() < 0 or columns.max() >= x.shape[1])):
        raise InputError(
            f"columns must be a 1-D list of site indices in 0..{x.shape[1] - 1}, "
            f"found {columns.size} values outside that range or shape {columns.shape}"
        )
    n = x.shape[0]
    k = columns.size
    out = np.empty((k, k), dtype=np.float32)
    if n == 0:
        out[:] = np.nan
        return out
    dtype = _counts_dtype(n)
    counts = x[:, columns].sum(axis=0, dtype=np.int64).astype(np.float64)
    for a in range(0, k, block_size):
        ia = slice(a, min(a + block_size, k))
        xa = x[:, columns[ia]].astype(dtype)
        for b in range(a, k, block_size):
            ib = slice(b, min(b + block_size, k))
            xb = xa if b == a else x[:, columns[ib]].astype(dtype)
            r2 = _r2_block(xa, xb, counts[ia], counts[ib], n)
            out[ia, ib] = r2
            out[ib, ia] = r2.T
    return out


def ld_comparison(real: Any, syn: Any, *, block_size: int = 2048) -> dict[str, Any]:
    """Pearson r between real and synthetic r², over all pairs of sites.

    Every pair ``i < j`` of sites polymorphic in both sets is used (none is sampled). The
    r² matrices are never held whole: they are computed in square blocks of
    ``block_size`` sites, and the Pearson r is accumulated from each block's count, means and
    centred sums of squares and products, merged with the pairwise update of Chan, Golub and
    LeVeque (1979), so the result equals the Pearson r of the two full upper triangles.

    Parameters
    ----------
    real : array_like of 0/1, shape (n_real, n_sites)
    syn : array_like of 0/1, shape (n_syn, n_sites)
    block_size
        Sites per block.

    Returns
    -------
    dict
        ``ld_r`` : float, NaN when fewer than two pairs; ``n_pairs`` : int, the number of
        site pairs used; ``n_sites_used`` : int, sites polymorphic in both sets.
    """
    real = as_haplotype_matrix(real, "real")
    syn = as_haplotype_matrix(syn, "synthetic")
    check_same_sites(real, syn)
    _check_block_size(block_size)
    nr, ns = real.shape[0], syn.shape[0]
    real_count = real.sum(axis=0, dtype=np.int64)
    syn_count = syn.sum(axis=0, dtype=np.int64)
    both = (real_count > 0) & (real_count < nr) & (syn_count > 0) & (syn_count < ns)
    cols = np.flatnonzero(both)
    k = cols.size
    rc = real_count[cols].astype(np.float64)
    sc = syn_count[cols].astype(np.float64)
    rdt, sdt = _counts_dtype(nr), _counts_dtype(ns)

    # Running statistics of the pairs seen so far: count, means, centred sums.
    count = 0
    mean_r = mean_s = 0.0
    ss_r = ss_s = sp = 0.0
    for a in range(0, k, block_size):
        ia = slice(a, min(a + block_size, k))
        ra = real[:, cols[ia]].astype(rdt)
        sa = syn[:, cols[ia]].astype(sdt)
        for b in range(a, k, block_size):
            ib = slice(b, min(b + block_size, k))
            rb = ra if b == a else real[:, cols[ib]].astype(rdt)
            sb = sa if b == a else syn[:, cols[ib]].astype(sdt)
            u = _r2_block(ra, rb, rc[ia], rc[ib], nr)
            v = _r2_block(sa, sb, sc[ia], sc[ib], ns)
            if b == a:  # diagonal block: strict upper triangle only
                iu = np.triu_indices(u.shape[0], 1)
                u, v = u[iu], v[iu]
            else:
                u, v = u.ravel(), v.ravel()
            m = u.size
            if m == 0:
                continue
            # Statistics of this block alone ...
            bu, bv = u.mean(), v.mean()
            du, dv = u - bu, v - bv
            buu, bvv, buv = np.dot(du, du), np.dot(dv, dv), np.dot(du, dv)
            # ... merged with the running ones (Chan et al.):
            # S_xy = S_xy(A) + S_xy(B) + δx δy n_A n_B / (n_A + n_B)
            total = count + m
            delta_u, delta_v = bu - mean_r, bv - mean_s
            weight = count * m / total
            ss_r += buu + delta_u * delta_u * weight
            ss_s += bvv + delta_v * delta_v * weight
            sp += buv + delta_u * delta_v * weight
            mean_r += delta_u * m / total
            mean_s += delta_v * m / total
            count = total
    if count < 2 or not (ss_r > 0 and ss_s > 0):
        ld_r = float("nan")
    else:
        ld_r = float(np.clip(sp / np.sqrt(ss_r * ss_s), -1.0, 1.0))
    return {"ld_r": ld_r, "n_pairs": int(count), "n_sites_used": int(k)}


def _unrank_pairs(k: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Map linear indices ``k`` of the pairs ``i < j < m`` (ordered by i, then j) to (i, j)."""
    # Row i starts at pair number i*m - i*(i+1)/2.
    rows = np.arange(m, dtype=np.int64)
    start = rows * m - rows * (rows + 1) // 2
    i = np.searchsorted(start, k, side="right") - 1
    j = i + 1 + (k - start[i])
    return i, j


def ld_decay(
    x: Any,
    chrom: Sequence[str] | np.ndarray,
    position: Sequence[int] | np.ndarray,
    *,
    n_bins: int = 20,
    max_pairs: int = 200_000,
    seed: int = 0,
    chunk_size: int = 8192,
) -> dict[str, Any]:
    """Mean r² in log-spaced bins of physical distance, over pairs of sites on one chromosome.

    When there are more than ``max_pairs`` pairs of sites sharing a chromosome, ``max_pairs``
    distinct pairs are drawn uniformly at random from them (seeded). The same sites and the same
    seed give the same pairs and bins, so real and synthetic curves are directly comparable.

    Parameters
    ----------
    x : array_like of 0/1, shape (n_haplotypes, n_sites)
    chrom : sequence of str, shape (n_sites,)
    position : sequence of int, shape (n_sites,)
    n_bins
        Number of distance bins, log-spaced between the smallest and largest distance (at
        least 1 bp) of the pairs used; distances of 0 fall into the first bin.
    max_pairs
        Largest number of pairs measured.
    seed
        Seed of the pair sample.
    chunk_size
        Pairs measured at once.

    Returns
    -------
    dict
        ``bin_edges`` : float64, shape (n_bins + 1,), in bp; ``mean_r2`` : float64, shape
        (n_bins,), NaN for an empty bin; ``n_pairs`` : int64, shape (n_bins,), pairs with a
        defined r² per bin (pairs with a monomorphic site are left out); ``subsampled`` : bool.
        With no pair of sites on a common chromosome, edges and means are NaN and counts 0.
    """
    x = as_haplotype_matrix(x)
    n, n_sites = x.shape
    chrom = np.asarray(chrom, dtype=object)
    position = np.asarray(position, dtype=np.int64)
    if chrom.shape != (n_sites,) or position.shape != (n_sites,):
        raise InputError(
            f"chrom and position must have one entry per site ({n_sites}), found shapes "
            f"{chrom.shape} and {position.shape}; pass Haplotypes.sites.chrom and .position"
        )
    if n_bins < 1:
        raise InputError(f"n_bins must be at least 1, found {n_bins}")
    if max_pairs < 1:
        raise InputError(f"max_pairs must be at least 1, found {max_pairs}")

    # Sites grouped by chromosome; pairs are numbered chromosome by chromosome.
    _, inverse = np.unique(chrom.astype(str), return_inverse=True)
    groups = [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)] if n_sites else []
    sizes = np.array([g.size * (g.size - 1) // 2 for g in groups], dtype=np.int64)
    total = int(sizes.sum())
    empty = {
        "bin_edges": np.full(n_bins + 1, np.nan),
        "mean_r2": np.full(n_bins, np.nan),
        "n_pairs": np.zeros(n_bins, dtype=np.int64),
        "subsampled": False,
    }
    if total == 0:
        return empty
    subsampled = total > max_pairs
    if subsampled:
        rng = np.random.default_rng(seed)
        picks = np.sort(rng.choice(total, size=max_pairs, replace=False))
    else:
        picks = np.arange(total, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    which = np.searchsorted(offsets, picks, side="right") - 1
    first = np.empty(picks.size, dtype=np.int64)
    second = np.empty(picks.size, dtype=np.int64)
    for g in np.unique(which):
        sel = which == g
        i, j = _unrank_pairs(picks[sel] - offsets[g], groups[g].size)
        first[sel] = groups[g][i]
        second[sel] = groups[g][j]
    distance = np.abs(position[second] - position[first])

    # r² of each pair from bit-packed columns: n_ij = popcount(column_i AND column_j).
    columns = np.ascontiguousarray(np.packbits(x, axis=0).T)  # (n_sites, ceil(n / 8))
    counts = x.sum(axis=0, dtype=np.int64).astype(np.float64)
    r2 = np.empty(picks.size, dtype=np.float64)
    for c in range(0, picks.size, chunk_size):
        i, j = first[c : c + chunk_size], second[c : c + chunk_size]
        nij = np.bitwise_count(columns[i] & columns[j]).sum(axis=1, dtype=np.int64)
        ci, cj = counts[i], counts[j]
        den = ci * (n - ci) * cj * (n - cj)
        num = n * nij - ci * cj
        with np.errstate(divide="ignore", invalid="ignore"):
            r2[c : c + chunk_size] = np.where(den > 0, num * num / den, np.nan)

    low = max(1.0, float(distance[distance > 0].min())) if np.any(distance > 0) else 1.0
    high = float(distance.max())
    if high <= low:  # every pair at the same distance: one decade around it
        high = low * 10.0
    edges = np.geomspace(low, high, n_bins + 1)
    index = np.clip(np.searchsorted(edges, distance, side="right") - 1, 0, n_bins - 1)
    defined = ~np.isnan(r2)
    n_pairs = np.bincount(index[defined], minlength=n_bins).astype(np.int64)
    sums = np.bincount(index[defined], weights=r2[defined], minlength=n_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_r2 = np.where(n_pairs > 0, sums / np.maximum(n_pairs, 1), np.nan)
    return {"bin_edges": edges, "mean_r2": mean_r2, "n_pairs": n_pairs, "subsampled": bool(subsampled)}
