"""Nearest-neighbour adversarial accuracy (AATS) of Yale et al. 2020.

For equal-sized sets of real haplotypes R and synthetic haplotypes S, with Hamming distance
``d`` and leave-one-out nearest neighbours within a set::

    d_rr(r) = min over r' in R, r' != r of d(r, r')     d_rs(r) = min over s in S of d(r, s)
    d_ss(s) = min over s' in S, s' != s of d(s, s')     d_sr(s) = min over r in R of d(s, r)

    AA_truth = share of r with d_rs(r) > d_rr(r)     (the real point is "recognised")
    AA_syn   = share of s with d_sr(s) > d_ss(s)
    AATS     = (AA_truth + AA_syn) / 2

AATS = 0.5 when a classifier "is my nearest neighbour from my own set?" cannot tell the sets
apart; below 0.5 means synthetic points sit too close to real ones (copying), above 0.5 that
the sets are separable (poor coverage or mode collapse).

Ties: Hamming distances are integers and tie often. The strict version (as in Yelmen et al.
2021) counts a tie as a failure (0), which pulls even two halves of the same real set below
0.5; the default counts a tie as 1/2, which restores 0.5 as the value for indistinguishable
sets. Both are returned.

The statistic is biased when the two sets differ in size and drifts with the size itself, so
both sets are subsampled to the same size (the smaller one by default) and the result is the
mean over several subsamples.

Cost and subsample size: the four distance arrays of one subsample of n haplotypes take about
3 n² L multiply-adds on L sites, which grows too fast at chromosome scale (10,000 haplotypes
of 100,000 SNPs: 3 x 10¹³ per repeat). :func:`aats_size` caps n so that one search compares
at most :data:`NEAREST_NEIGHBOUR_BUDGET` (n² L) haplotype-site pairs; sets within the
budget are used whole, as before. AATS on random subsamples of n haplotypes is an unbiased
estimate of the accuracies *at that n*, not of those of the whole sets: nearest neighbours
are nearer in a larger set, so AA values depend on n and a figure is read with its size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InputError
from .base import as_haplotype_matrix, check_min_rows, check_same_sites
from .distance import _nn_cross, _nn_within

__all__ = ["adversarial_accuracy", "accuracy_from_distances", "aats_size", "NEAREST_NEIGHBOUR_BUDGET"]

#: most haplotype-site comparisons (n_queries x n_references x n_sites) of one nearest-neighbour
#: search of the evaluation (AATS, the privacy audit) before its sets are subsampled:
#: 10¹² keeps 10,000 x 10,000 haplotypes of 10,000 SNPs whole (the largest committed
#: benchmark, about 25 s of float32 products on this project's 2-core machine), and takes
#: 3,162 haplotypes at 100,000 SNPs, 1,000 at 10⁶
NEAREST_NEIGHBOUR_BUDGET = 10**12


def aats_size(n_real: int, n_syn: int, n_sites: int, *, budget: int | None = NEAREST_NEIGHBOUR_BUDGET) -> int:
    """The subsample size of AATS: the smaller set, capped so that n² x n_sites <= ``budget``.

    Parameters
    ----------
    n_real, n_syn
        Haplotypes in the two sets.
    n_sites
        Sites of both sets.
    budget
        Most haplotype-site comparisons of one search (n x n x n_sites); None: no cap.

    Returns
    -------
    int
        ``min(n_real, n_syn, isqrt(budget // n_sites))``, at least 2 (the smallest AATS).

    Examples
    --------
    >>> aats_size(5008, 5008, 805), aats_size(10_002, 10_000, 10_000), aats_size(10_002, 10_000, 100_000)
    (5008, 10000, 3162)
    """
    largest = min(int(n_real), int(n_syn))
    if budget is None or n_sites < 1:
        return largest
    if budget < 1:
        raise InputError(f"the nearest-neighbour budget must be a positive number of comparisons, found {budget}")
    return max(2, min(largest, math.isqrt(int(budget) // int(n_sites))))


def accuracy_from_distances(
    d_rr: np.ndarray, d_rs: np.ndarray, d_ss: np.ndarray, d_sr: np.ndarray
) -> dict[str, float]:
    """AA_truth, AA_syn and AATS from the four nearest-neighbour distance arrays.

    Parameters
    ----------
    d_rr, d_rs : array_like, shape (n_real,)
        Nearest real (leave-one-out) and nearest synthetic distance of each real haplotype.
    d_ss, d_sr : array_like, shape (n_syn,)
        Nearest synthetic (leave-one-out) and nearest real distance of each synthetic haplotype.

    Returns
    -------
    dict
        ``aa_truth``, ``aa_syn``, ``aats`` (ties count 1/2) and ``aa_truth_strict``,
        ``aa_syn_strict``, ``aats_strict`` (ties count 0).
    """
    d_rr, d_rs, d_ss, d_sr = (np.asarray(v) for v in (d_rr, d_rs, d_ss, d_sr))
    # score = 1 when the other set is farther, 1/2 on a tie, 0 when it is nearer
    truth_win, truth_tie = np.mean(d_rs > d_rr), np.mean(d_rs == d_rr)
    syn_win, syn_tie = np.mean(d_sr > d_ss), np.mean(d_sr == d_ss)
    aa_truth = truth_win + 0.5 * truth_tie
    aa_syn = syn_win + 0.5 * syn_tie
    return {
        "aats": float((aa_truth + aa_syn) / 2),
        "aa_truth": float(aa_truth),
        "aa_syn": float(aa_syn),
        "aats_strict": float((truth_win + syn_win) / 2),
        "aa_truth_strict": float(truth_win),
        "aa_syn_strict": float(syn_win),
    }


def adversarial_accuracy(
    real: Any,
    syn: Any,
    *,
    n_repeats: int = 5,
    size: int | None = None,
    seed: int = 0,
    block_size: int = 2048,
) -> dict[str, Any]:
    """Nearest-neighbour adversarial accuracy of a synthetic set against a real one.

    Each repeat draws ``size`` real and ``size`` synthetic haplotypes without replacement
    (seeded) and computes the four nearest-neighbour distance arrays exactly (blockwise
    Hamming distances, see :mod:`haplogen.metrics.distance`). When ``size`` equals the size
    of both sets every repeat would use the same haplotypes, so the statistic is computed once.

    Parameters
    ----------
    real : array_like of 0/1, shape (n_real, n_sites)
    syn : array_like of 0/1, shape (n_syn, n_sites)
    n_repeats
        Number of subsamples averaged.
    size
        Haplotypes drawn from each set; None uses ``min(n_real, n_syn)`` (the evaluation passes
        :func:`aats_size`). Compare models only at the same size: nearest neighbours are
        nearer in a larger set, so the accuracies depend on it.
    seed
        Seed of the subsamples.
    block_size
        Rows per block of distances.

    Returns
    -------
    dict
        ``aats``, ``aa_truth``, ``aa_syn`` (ties 1/2), ``aats_strict``, ``aa_truth_strict``,
        ``aa_syn_strict`` (ties 0): means over repeats; ``aats_sd``: standard deviation of
        ``aats`` over repeats (0 for a single repeat); ``size``; ``n_repeats``: repeats
        actually computed; ``d_rr``, ``d_rs``, ``d_ss``, ``d_sr``: int32 nearest-neighbour
        distances of the first repeat, shapes (size,).
    """
    real = as_haplotype_matrix(real, "real")
    syn = as_haplotype_matrix(syn, "synthetic")
    check_same_sites(real, syn)
    check_min_rows(real, 2, "real", "adversarial accuracy")
    check_min_rows(syn, 2, "synthetic", "adversarial accuracy")
    largest = min(real.shape[0], syn.shape[0])
    if size is None:
        size = largest
    if not 2 <= size <= largest:
        raise InputError(
            f"the AATS subsample size must be between 2 and the smaller set's size ({largest}), "
            f"found {size}; pass size=None to use {largest}"
        )
    if n_repeats < 1:
        raise InputError(f"n_repeats must be at least 1, found {n_repeats}")
    if block_size < 1:
        raise InputError(f"block_size must be at least 1, found {block_size}")
    if size == real.shape[0] and size == syn.shape[0]:
        n_repeats = 1  # no subsampling: every repeat would be identical
    rng = np.random.default_rng(seed)
    rows = []
    first = None
    for _ in range(n_repeats):
        r = real if size == real.shape[0] else real[np.sort(rng.choice(real.shape[0], size, replace=False))]
        s = syn if size == syn.shape[0] else syn[np.sort(rng.choice(syn.shape[0], size, replace=False))]
        d_rr = _nn_within(r, block_size)
        d_ss = _nn_within(s, block_size)
        d_rs, d_sr = _nn_cross(r, s, block_size)
        rows.append(accuracy_from_distances(d_rr, d_rs, d_ss, d_sr))
        if first is None:
            first = {"d_rr": d_rr, "d_rs": d_rs, "d_ss": d_ss, "d_sr": d_sr}
    out: dict[str, Any] = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
    aats = np.array([row["aats"] for row in rows])
    out["aats_sd"] = float(aats.std(ddof=1)) if aats.size > 1 else 0.0
    out["size"] = int(size)
    out["n_repeats"] = int(n_repeats)
    out.update(first)
    return out
