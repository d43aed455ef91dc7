"""Allele frequencies: against loops, scikit-allel and scipy."""

from __future__ import annotations

import allel
import numpy as np
import pytest
from scipy.stats import pearsonr

from haplogen.errors import InputError
from haplogen.metrics import allele_frequency, allele_frequency_comparison


def test_allele_frequency_against_a_loop():
    rng = np.random.default_rng(3)
    x = (rng.random((37, 11)) < 0.3).astype(np.uint8)
    expected = [sum(int(x[i, j]) for i in range(37)) / 37 for j in range(11)]
    assert np.allclose(allele_frequency(x), expected, rtol=0, atol=1e-15)


def test_allele_frequency_against_scikit_allel(sim_haplotypes):
    x = sim_haplotypes.matrix
    ac = allel.HaplotypeArray(x.T).count_alleles()  # scikit-allel axes are (variants, haplotypes)
    assert np.allclose(allele_frequency(x), ac.to_frequencies()[:, 1], atol=1e-12)


def test_comparison_on_simulated_halves(sim_pair):
    real, syn = (h.matrix for h in sim_pair)
    out = allele_frequency_comparison(real, syn)
    fr, fs = real.mean(axis=0), syn.mean(axis=0)
    assert out["af_r"] == pytest.approx(pearsonr(fr, fs)[0], abs=1e-12)
    assert out["af_rmse"] == pytest.approx(np.sqrt(np.mean((fr - fs) ** 2)), abs=1e-12)
    assert out["af_r"] > 0.95  # two halves of one sample
    assert out["real_freq"].shape == (real.shape[1],)


def test_fixed_and_lost_sites():
    real = np.array([[0, 1, 0, 1], [1, 0, 0, 1], [1, 1, 0, 1]], dtype=np.uint8)
    # site 0: polymorphic in real, fixed at 1 in syn; site 1: polymorphic, lost (all 0)
    # site 2: monomorphic 0 in real, 0 in syn (not counted); site 3: monomorphic 1 in both
    syn = np.array([[1, 0, 0, 1], [1, 0, 0, 1]], dtype=np.uint8)
    out = allele_frequency_comparison(real, syn)
    assert out["af_fixed"] == 1 and out["af_lost"] == 1


def test_mismatched_sites_error():
    with pytest.raises(InputError, match="found 4 sites in the real set and 3 in the synthetic set"):
        allele_frequency_comparison(np.zeros((3, 4)), np.zeros((3, 3)))
