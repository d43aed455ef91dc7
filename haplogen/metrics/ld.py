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

All pairs of sites cost the square of the number of sites (49 s at 10,000 SNPs, hours at
100,000). :func:`ld_window_comparison` measures instead the pairs within a window of
``window_sites`` consecutive sites of one chromosome (optionally also within ``window_bp``),
where LD lives: ``n_sites * window_sites`` pairs, computed block by block. A block of
``block_size`` sites ``[a, e)`` needs the columns ``[a, e + window_sites)`` only; its 1-1
counts are one product ``X[:, a:e]ᵀ X[:, a:e+w]`` summed over chunks of haplotypes, so the
memory is bounded whatever the number of sites or haplotypes. The same block plan
(:func:`window_blocks`) and block summary (:func:`window_block_summary`) serve the Dask path
of :mod:`haplogen.blockwise`, which computes the products on chunked arrays.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from .base import as_haplotype_matrix, check_same_sites, pearson_r

__all__ = [
    "ld_r2",
    "ld_comparison",
    "ld_decay",
    "ld_window_comparison",
    "window_blocks",
    "window_decay_edges",
    "window_block_summary",
    "merge_window_summaries",
    "window_result",
    "DEFAULT_PAIR_WINDOW",
]

#: sites on each side of a site whose pairs the windowed LD measures: at the SNP densities of
#: human data (one SNP every 100-300 bp) this spans 20-60 kb, the scale of LD blocks; pairs
#: farther apart carry r² near 0 that only dilutes the comparison
DEFAULT_PAIR_WINDOW = 200


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


# ---------------------------------------------------------------------------- windowed pairs
def _segments(chrom: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of each run of consecutive sites on one chromosome."""
    n = chrom.shape[0]
    if n == 0:
        return []
    change = np.flatnonzero(chrom[1:] != chrom[:-1]) + 1
    bounds = np.concatenate([[0], change, [n]])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def window_blocks(chrom: Sequence[str] | np.ndarray, window_sites: int, block_size: int) -> list[tuple[int, int, int]]:
    """The block plan of the windowed LD: ``(a, e, stop)`` per block of sites.

    Each run of consecutive sites on one chromosome is cut into blocks ``[a, e)`` of at most
    ``block_size`` sites; a block's pairs ``(i, j)`` have ``a <= i < e`` and
    ``i < j <= i + window_sites`` within the run, so they need the columns ``[a, stop)`` with
    ``stop = min(e + window_sites, end of the run)``. Every windowed pair belongs to exactly
    one block.

    Parameters
    ----------
    chrom : sequence of str, shape (n_sites,)
    window_sites
        Largest distance, in sites, of a pair.
    block_size
        Sites per block.

    Returns
    -------
    list of (int, int, int)
    """
    _check_block_size(block_size)
    if window_sites < 1:
        raise InputError(f"window_sites must be at least 1, found {window_sites}")
    chrom = np.asarray(chrom).astype(str)
    plan = []
    for start, stop in _segments(chrom):
        for a in range(start, stop, block_size):
            e = min(a + block_size, stop)
            plan.append((a, e, min(e + window_sites, stop)))
    return plan


def _pair_mask(a: int, e: int, stop: int, window_sites: int) -> np.ndarray:
    """bool (e - a, stop - a): True where column c is a windowed partner of row r (0 < c - r <= w)."""
    offset = np.arange(stop - a)[None, :] - np.arange(e - a)[:, None]
    return (offset > 0) & (offset <= window_sites)


def window_decay_edges(
    chrom: Sequence[str] | np.ndarray,
    position: Sequence[int] | np.ndarray,
    window_sites: int,
    n_bins: int = 20,
    window_bp: int | None = None,
) -> np.ndarray:
    """Log-spaced distance bins spanning the windowed pairs.

    From the smallest positive distance (at least 1 bp) to the largest distance between two
    sites of a windowed pair; distances of 0 fall into the first bin (as in :func:`ld_decay`).

    Returns
    -------
    ndarray of float64, shape (n_bins + 1,); NaN when there is no pair.
    """
    if n_bins < 1:
        raise InputError(f"n_bins must be at least 1, found {n_bins}")
    chrom = np.asarray(chrom).astype(str)
    position = np.asarray(position, dtype=np.int64)
    low, high = np.inf, -np.inf
    for start, stop in _segments(chrom):
        pos = position[start:stop]
        for k in range(1, min(window_sites, pos.size - 1) + 1):
            d = np.abs(pos[k:] - pos[:-k])
            if window_bp is not None:
                d = d[d <= window_bp]
            if d.size:
                high = max(high, float(d.max()))
                positive = d[d > 0]
                if positive.size:
                    low = min(low, float(positive.min()))
    if not np.isfinite(high):
        return np.full(n_bins + 1, np.nan)
    low = max(1.0, low) if np.isfinite(low) else 1.0
    if high <= low:  # every pair at the same distance: one decade around it
        high = low * 10.0
    return np.geomspace(low, high, n_bins + 1)


def _r2_from_counts(nij: np.ndarray, ci: np.ndarray, cj: np.ndarray, n: int) -> np.ndarray:
    """r² (float64, shape (bi, bj), NaN at a monomorphic site) from 1-1 counts and allele counts."""
    nij = np.asarray(nij, dtype=np.float64)
    ci = np.asarray(ci, dtype=np.float64)
    cj = np.asarray(cj, dtype=np.float64)
    num = n * nij - np.outer(ci, cj)
    vi, vj = ci * (n - ci), cj * (n - cj)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / np.sqrt(np.outer(vi, vj))
    r[(vi == 0)[:, None] | (vj == 0)[None, :]] = np.nan
    return r * r


def _moments(u: np.ndarray, v: np.ndarray) -> tuple[int, float, float, float, float, float]:
    """(count, mean u, mean v, Σ du², Σ dv², Σ du dv) of paired values."""
    m = int(u.size)
    if m == 0:
        return (0, 0.0, 0.0, 0.0, 0.0, 0.0)
    mu, mv = float(u.mean()), float(v.mean())
    du, dv = u - mu, v - mv
    return (m, mu, mv, float(np.dot(du, du)), float(np.dot(dv, dv)), float(np.dot(du, dv)))


def _merge_moments(x: tuple, y: tuple) -> tuple:
    """Chan, Golub and LeVeque (1979): S_xy = S_xy(A) + S_xy(B) + δx δy n_A n_B / (n_A + n_B)."""
    na, ma_u, ma_v, a_uu, a_vv, a_uv = x
    nb, mb_u, mb_v, b_uu, b_vv, b_uv = y
    if na == 0:
        return y
    if nb == 0:
        return x
    total = na + nb
    du, dv = mb_u - ma_u, mb_v - ma_v
    weight = na * nb / total
    return (total, ma_u + du * nb / total, ma_v + dv * nb / total,
            a_uu + b_uu + du * du * weight, a_vv + b_vv + dv * dv * weight, a_uv + b_uv + du * dv * weight)


def window_block_summary(
    block: tuple[int, int, int],
    position: np.ndarray,
    window_sites: int,
    window_bp: int | None,
    edges: np.ndarray,
    real: tuple[np.ndarray, np.ndarray, int],
    syns: Sequence[tuple[np.ndarray, np.ndarray, int]],
) -> dict[str, Any]:
    """What one block of the windowed LD contributes, from its counts.

    Parameters
    ----------
    block : (a, e, stop)
        One entry of :func:`window_blocks`.
    position : ndarray of int, shape (stop - a,)
        Positions of the columns ``[a, stop)``.
    window_sites, window_bp
        The window (``window_bp`` None: sites only).
    edges : ndarray of float64, shape (n_bins + 1,)
        Distance bins of the decay (:func:`window_decay_edges`).
    real, syns
        ``(nij, counts, n)`` of the real set and of each synthetic set: ``nij`` of shape
        (e - a, stop - a), the haplotypes carrying allele 1 at both sites;
        ``counts`` of shape (stop - a,), the carriers of allele 1 at each column; ``n`` the
        number of haplotypes.

    Returns
    -------
    dict
        ``moments``: per synthetic set, the moments of (real r², synthetic r²) over the pairs
        defined in both sets; ``bins``: per set (real first), ``(sums, counts)`` of r² per
        distance bin, shapes (n_bins,).
    """
    a, e, stop = block
    mask = _pair_mask(a, e, stop, window_sites)
    position = np.asarray(position, dtype=np.int64)
    distance = np.abs(position[None, :] - position[: e - a, None])[mask]
    if window_bp is not None:
        near = distance <= window_bp
        distance = distance[near]
    n_bins = edges.size - 1
    index = (np.clip(np.searchsorted(edges, distance, side="right") - 1, 0, n_bins - 1)
             if n_bins > 0 and np.isfinite(edges).all() else np.zeros(distance.size, dtype=np.int64))

    def values(nij: np.ndarray, counts: np.ndarray, n: int) -> np.ndarray:
        counts = np.asarray(counts)
        r2 = _r2_from_counts(nij, counts[: e - a], counts, n)[mask]
        return r2[near] if window_bp is not None else r2

    def bins(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        defined = ~np.isnan(r2)
        return (np.bincount(index[defined], weights=r2[defined], minlength=n_bins),
                np.bincount(index[defined], minlength=n_bins).astype(np.int64))

    u = values(*real)
    out = {"moments": [], "bins": [bins(u)]}
    for syn in syns:
        v = values(*syn)
        both = ~np.isnan(u) & ~np.isnan(v)
        out["moments"].append(_moments(u[both], v[both]))
        out["bins"].append(bins(v))
    return out


def merge_window_summaries(summaries: Sequence[dict[str, Any]], n_syns: int, n_bins: int) -> dict[str, Any]:
    """Merge :func:`window_block_summary` results (any order) into r and decay curves.

    Returns
    -------
    dict
        ``ld_r``: list (one per synthetic set) of the Pearson r of real vs synthetic r²;
        ``n_pairs``: list of pairs used per set; ``decay``: list (real first) of
        ``(mean_r2, n_pairs)`` per distance bin.
    """
    moments = [(0, 0.0, 0.0, 0.0, 0.0, 0.0)] * n_syns
    sums = [np.zeros(n_bins) for _ in range(n_syns + 1)]
    counts = [np.zeros(n_bins, dtype=np.int64) for _ in range(n_syns + 1)]
    for summary in summaries:
        moments = [_merge_moments(m, b) for m, b in zip(moments, summary["moments"])]
        for k, (s, c) in enumerate(summary["bins"]):
            sums[k] += s
            counts[k] += c
    ld_r, n_pairs = [], []
    for count, _, _, ss_u, ss_v, sp in moments:
        if count < 2 or not (ss_u > 0 and ss_v > 0):
            ld_r.append(float("nan"))
        else:
            ld_r.append(float(np.clip(sp / np.sqrt(ss_u * ss_v), -1.0, 1.0)))
        n_pairs.append(int(count))
    decay = []
    for s, c in zip(sums, counts):
        with np.errstate(divide="ignore", invalid="ignore"):
            decay.append((np.where(c > 0, s / np.maximum(c, 1), np.nan), c))
    return {"ld_r": ld_r, "n_pairs": n_pairs, "decay": decay}


def _block_counts(x: np.ndarray, a: int, e: int, stop: int, row_chunk: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``(nij, counts, n)`` of the columns ``[a, stop)`` of an in-memory matrix, summed over row chunks."""
    n = x.shape[0]
    dtype = _counts_dtype(n)
    nij = np.zeros((e - a, stop - a), dtype=np.float64)
    counts = np.zeros(stop - a, dtype=np.int64)
    for r in range(0, n, row_chunk):
        xb = x[r : r + row_chunk, a:stop]
        f = xb.astype(dtype)
        nij += f[:, : e - a].T @ f
        counts += xb.sum(axis=0, dtype=np.int64)
    return nij, counts, n


def ld_window_comparison(
    real: Any,
    syns: Any,
    chrom: Sequence[str] | np.ndarray,
    position: Sequence[int] | np.ndarray,
    *,
    window_sites: int = DEFAULT_PAIR_WINDOW,
    window_bp: int | None = None,
    n_bins: int = 20,
    block_size: int = 512,
    row_chunk: int = 16_384,
    real_name: str = "real",
) -> dict[str, Any]:
    """LD r and LD decay over the pairs of sites within a window, block by block.

    The pairs are ``(i, j)`` with ``i < j <= i + window_sites`` on one chromosome (consecutive
    sites of one chromosome: a chromosome whose sites are not contiguous is cut into runs,
    and pairs across runs are left out), and ``|position_j - position_i| <= window_bp`` when
    that is given. Like :func:`ld_comparison`, LD r is the Pearson r of real vs synthetic r²
    over the pairs whose two sites are polymorphic in both sets; it equals that statistic
    restricted to the windowed pairs. The decay is the mean r² per log-spaced distance bin
    over every windowed pair (none is sampled), the same bins for every set.

    Parameters
    ----------
    real : array_like of 0/1, shape (n_real, n_sites)
    syns : array_like of 0/1, shape (n_syn, n_sites), or a dict of str to such arrays
        One synthetic set, or several by name (their real counts are computed once).
    chrom : sequence of str, shape (n_sites,)
    position : sequence of int, shape (n_sites,)
    window_sites
        Largest distance of a pair, in sites.
    window_bp
        Largest distance of a pair in bp (None: no limit).
    n_bins
        Distance bins of the decay.
    block_size
        Sites per block (memory about ``block_size * (block_size + window_sites) * 8`` bytes
        of counts, plus ``row_chunk * (block_size + window_sites) * 4`` bytes of columns).
    row_chunk
        Haplotypes per chunk of the products.
    real_name
        Key of the real set's decay in the result (with a dict of synthetic sets).

    Returns
    -------
    dict
        With one synthetic array: ``ld_r``, ``n_pairs`` (pairs used), ``window_sites``,
        ``window_bp``, ``decay_real`` and ``decay_syn`` (each like :func:`ld_decay`'s result).
        With a dict: ``comparisons`` ({name: {ld_r, n_pairs}}), ``decay`` ({"real" and each
        name: decay}), ``window_sites``, ``window_bp``.
    """
    single = not isinstance(syns, dict)
    if not single and real_name in syns:
        raise InputError(f"a synthetic set is named {real_name!r}, the name of the real set; rename one of them")
    named = {"synthetic": syns} if single else dict(syns)
    real = as_haplotype_matrix(real, "real")
    sets = {}
    for name, syn in named.items():
        syn = as_haplotype_matrix(syn, f"synthetic ({name})" if not single else "synthetic")
        check_same_sites(real, syn)
        sets[name] = syn
    n_sites = real.shape[1]
    chrom = np.asarray(chrom).astype(str)
    position = np.asarray(position, dtype=np.int64)
    if chrom.shape != (n_sites,) or position.shape != (n_sites,):
        raise InputError(
            f"chrom and position must have one entry per site ({n_sites}), found shapes "
            f"{chrom.shape} and {position.shape}; pass Haplotypes.sites.chrom and .position"
        )
    if row_chunk < 1:
        raise InputError(f"row_chunk must be at least 1, found {row_chunk}")
    plan = window_blocks(chrom, window_sites, block_size)
    edges = window_decay_edges(chrom, position, window_sites, n_bins, window_bp)
    summaries = []
    for a, e, stop in plan:
        summaries.append(window_block_summary(
            (a, e, stop), position[a:stop], window_sites, window_bp, edges,
            _block_counts(real, a, e, stop, row_chunk),
            [_block_counts(x, a, e, stop, row_chunk) for x in sets.values()],
        ))
    merged = merge_window_summaries(summaries, len(sets), n_bins)
    return window_result(merged, list(sets), edges, window_sites, window_bp, single, real_name)


def window_result(
    merged: dict[str, Any], names: list[str], edges: np.ndarray, window_sites: int, window_bp: int | None,
    single: bool = False, real_name: str = "real",
) -> dict[str, Any]:
    """The result dict of :func:`ld_window_comparison` from :func:`merge_window_summaries`' output."""
    decays = [
        {"bin_edges": edges, "mean_r2": mean, "n_pairs": count, "subsampled": False,
         "window_sites": int(window_sites)}
        for mean, count in merged["decay"]
    ]
    if single:
        return {"ld_r": merged["ld_r"][0], "n_pairs": merged["n_pairs"][0], "window_sites": int(window_sites),
                "window_bp": window_bp, "decay_real": decays[0], "decay_syn": decays[1]}
    return {
        "comparisons": {name: {"ld_r": r, "n_pairs": p, "window_sites": int(window_sites)}
                        for name, r, p in zip(names, merged["ld_r"], merged["n_pairs"])},
        "decay": {real_name: decays[0], **dict(zip(names, decays[1:]))},
        "window_sites": int(window_sites),
        "window_bp": window_bp,
    }
