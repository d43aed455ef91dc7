"""Allele frequencies, real vs synthetic."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import as_haplotype_matrix, check_min_rows, check_same_sites, pearson_r

__all__ = ["allele_frequency", "allele_frequency_comparison"]


def allele_frequency(x: Any) -> np.ndarray:
    """Frequency of allele 1 (ALT) at each site.

    Parameters
    ----------
    x : array_like of 0/1, shape (n_haplotypes, n_sites)

    Returns
    -------
    ndarray of float64, shape (n_sites,)
        ``count of 1 / n_haplotypes``; NaN everywhere when there are no haplotypes.
    """
    x = as_haplotype_matrix(x)
    if x.shape[0] == 0:
        return np.full(x.shape[1], np.nan)
    # Integer column sums are exact; divide once at the end.
    return x.sum(axis=0, dtype=np.int64) / x.shape[0]


def allele_frequency_comparison(real: Any, syn: Any) -> dict[str, Any]:
    """Compare per-site allele frequencies of a real and a synthetic set.

    Parameters
    ----------
    real : array_like of 0/1, shape (n_real, n_sites)
    syn : array_like of 0/1, shape (n_syn, n_sites)

    Returns
    -------
    dict
        ``af_r`` : Pearson r of the two frequency vectors (NaN when either is constant);
        ``af_rmse`` : root mean squared difference of the frequencies;
        ``af_fixed`` : number of sites polymorphic in ``real`` where every synthetic
        haplotype carries allele 1;
        ``af_lost`` : number of sites polymorphic in ``real`` where no synthetic haplotype
        carries allele 1;
        ``real_freq``, ``syn_freq`` : ndarray of float64, shape (n_sites,).
    """
    real = as_haplotype_matrix(real, "real")
    syn = as_haplotype_matrix(syn, "synthetic")
    check_same_sites(real, syn)
    check_min_rows(real, 1, "real", "comparing allele frequencies")
    check_min_rows(syn, 1, "synthetic", "comparing allele frequencies")
    real_count = real.sum(axis=0, dtype=np.int64)
    syn_count = syn.sum(axis=0, dtype=np.int64)
    real_freq = real_count / real.shape[0]
    syn_freq = syn_count / syn.shape[0]
    polymorphic = (real_count > 0) & (real_count < real.shape[0])
    return {
        "af_r": pearson_r(real_freq, syn_freq),
        "af_rmse": float(np.sqrt(np.mean((real_freq - syn_freq) ** 2))) if real.shape[1] else float("nan"),
        "af_fixed": int(np.count_nonzero(polymorphic & (syn_count == syn.shape[0]))),
        "af_lost": int(np.count_nonzero(polymorphic & (syn_count == 0))),
        "real_freq": real_freq,
        "syn_freq": syn_freq,
    }
