"""Connected three-point correlations between sites, real vs synthetic.

For sites a, b, c with allele-1 frequencies ``f_a``, pair frequencies ``f_ab`` (share of
haplotypes carrying 1 at both) and triple frequency ``f_abc``, the connected third-order
correlation is the third joint cumulant of the three 0/1 columns::

    C_abc = E[(x_a - f_a)(x_b - f_b)(x_c - f_c)]
          = f_abc - f_ab f_c - f_ac f_b - f_bc f_a + 2 f_a f_b f_c

It is zero when any one of the three columns is independent of the other two, and it is not
determined by allele frequencies and pairwise LD, so it measures haplotype structure that those
two statistics miss.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from .base import as_haplotype_matrix, check_min_rows, check_same_sites, pearson_r

__all__ = ["three_point_correlation", "three_point_comparison"]


def three_point_correlation(x: Any, triplets: Any, *, chunk_size: int = 4096) -> np.ndarray:
    """Connected three-point correlation of each triplet of sites.

    Parameters
    ----------
    x : array_like of 0/1, shape (n_haplotypes, n_sites)
    triplets : array_like of int, shape (k, 3)
        Column indices (a, b, c) of each triplet.
    chunk_size
        Triplets computed at once (memory about ``3 * n_haplotypes * chunk_size / 8`` bytes).

    Returns
    -------
    ndarray of float64, shape (k,)
    """
    x = as_haplotype_matrix(x)
    triplets = np.asarray(triplets, dtype=np.int64)
    if triplets.ndim != 2 or triplets.shape[1] != 3:
        raise InputError(
            f"triplets must have shape (k, 3) (three site indices per row), found {triplets.shape}"
        )
    if triplets.size and (triplets.min() < 0 or triplets.max() >= x.shape[1]):
        raise InputError(
            f"triplet site indices must lie in 0..{x.shape[1] - 1}, found "
            f"{int(triplets.min())}..{int(triplets.max())}"
        )
    n = x.shape[0]
    if n == 0:
        return np.full(triplets.shape[0], np.nan)
    # Columns packed along haplotypes: the count of haplotypes with 1 at a and b is
    # popcount(col_a AND col_b); padding bits are 0 in every column, so they never count.
    cols = np.ascontiguousarray(np.packbits(x, axis=0).T)  # (n_sites, ceil(n / 8))
    f = x.sum(axis=0, dtype=np.int64) / n
    out = np.empty(triplets.shape[0], dtype=np.float64)
    for c in range(0, triplets.shape[0], chunk_size):
        a, b, t = triplets[c : c + chunk_size].T
        pa, pb, pc = cols[a], cols[b], cols[t]
        ab = pa & pb
        f_ab = np.bitwise_count(ab).sum(axis=1, dtype=np.int64) / n
        f_ac = np.bitwise_count(pa & pc).sum(axis=1, dtype=np.int64) / n
        f_bc = np.bitwise_count(pb & pc).sum(axis=1, dtype=np.int64) / n
        f_abc = np.bitwise_count(ab & pc).sum(axis=1, dtype=np.int64) / n
        fa, fb, fc = f[a], f[b], f[t]
        out[c : c + chunk_size] = f_abc - f_ab * fc - f_ac * fb - f_bc * fa + 2 * fa * fb * fc
    return out


def _random_triplets(n_sites: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` triplets of three distinct sites, each sorted, drawn uniformly."""
    out = np.empty((0, 3), dtype=np.int64)
    while out.shape[0] < k:
        draw = np.sort(rng.integers(0, n_sites, size=(2 * (k - out.shape[0]) + 16, 3)), axis=1)
        distinct = (draw[:, 0] != draw[:, 1]) & (draw[:, 1] != draw[:, 2])
        out = np.concatenate([out, draw[distinct]])
    return out[:k]


def three_point_comparison(
    real: Any,
    syn: Any,
    *,
    spacings: Sequence[int] = (1, 4, 16, 64, 256, 1024),
    n_triplets: int = 5000,
    seed: int = 0,
) -> dict[str, Any]:
    """Pearson r of real vs synthetic three-point correlations, by triplet spacing.

    For each spacing ``s`` (in columns) that fits (``2 s < n_sites``), the triplets are
    ``(i, i + s, i + 2 s)``: all of them when there are at most ``n_triplets``, otherwise
    ``n_triplets`` starting points drawn without replacement. A further ``n_triplets`` triplets
    of distinct random sites are keyed ``"random"``. Spacings that do not fit are left out of
    every returned dictionary.

    Parameters
    ----------
    real : array_like of 0/1, shape (n_real, n_sites)
    syn : array_like of 0/1, shape (n_syn, n_sites)
    spacings
        Column spacings of the regular triplets.
    n_triplets
        Largest number of triplets per spacing, and number of random triplets.
    seed
        Seed of the triplet samples.

    Returns
    -------
    dict
        ``three_point_r`` : {key: r}, keys ``str(s)`` and ``"random"``; ``values`` :
        {key: (real_values, syn_values)}, float64 arrays of shape (n,); ``n_triplets`` :
        {key: n}; ``subsampled`` : {key: bool}.
    """
    real = as_haplotype_matrix(real, "real")
    syn = as_haplotype_matrix(syn, "synthetic")
    check_same_sites(real, syn)
    check_min_rows(real, 1, "real", "three-point correlations")
    check_min_rows(syn, 1, "synthetic", "three-point correlations")
    if n_triplets < 1:
        raise InputError(f"n_triplets must be at least 1, found {n_triplets}")
    m = real.shape[1]
    rng = np.random.default_rng(seed)
    sets: dict[str, tuple[np.ndarray, bool]] = {}
    for s in spacings:
        s = int(s)
        if s < 1:
            raise InputError(f"triplet spacings must be at least 1, found {s}")
        n_start = m - 2 * s
        if n_start < 1:
            continue
        if n_start > n_triplets:
            start = np.sort(rng.choice(n_start, size=n_triplets, replace=False))
        else:
            start = np.arange(n_start)
        sets[str(s)] = (np.stack([start, start + s, start + 2 * s], axis=1), n_start > n_triplets)
    if m >= 3:
        sets["random"] = (_random_triplets(m, n_triplets, rng), True)
    result: dict[str, Any] = {"three_point_r": {}, "values": {}, "n_triplets": {}, "subsampled": {}}
    for key, (triplets, sub) in sets.items():
        rv = three_point_correlation(real, triplets)
        sv = three_point_correlation(syn, triplets)
        result["three_point_r"][key] = pearson_r(rv, sv)
        result["values"][key] = (rv, sv)
        result["n_triplets"][key] = int(triplets.shape[0])
        result["subsampled"][key] = bool(sub)
    return result
