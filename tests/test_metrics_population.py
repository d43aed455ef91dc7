"""Per-population allele frequencies and Hudson Fst, against scikit-allel."""

from __future__ import annotations

import allel
import numpy as np
import pytest

from haplogen.errors import InputError
from haplogen.metrics import hudson_fst_matrix, population_comparison
from haplogen.metrics.base import pearson_r

POPS = ["CEU", "CHB", "YRI"]


def allele_counts(x: np.ndarray) -> np.ndarray:
    """(n_sites, 2) counts of allele 0 and allele 1, scikit-allel's AlleleCountsArray layout."""
    return allel.HaplotypeArray(x.T).count_alleles(max_allele=1)


def test_hudson_fst_against_scikit_allel(sim_haplotypes):
    h = sim_haplotypes
    counts = np.stack([h.matrix[h.population == p].sum(axis=0) for p in POPS])
    sizes = np.array([(h.population == p).sum() for p in POPS])
    fst = hudson_fst_matrix(counts, sizes)
    assert np.allclose(np.diag(fst), 0) and np.allclose(fst, fst.T)
    for a in range(3):
        for b in range(a + 1, 3):
            num, den = allel.hudson_fst(
                allele_counts(h.matrix[h.population == POPS[a]]),
                allele_counts(h.matrix[h.population == POPS[b]]),
            )
            assert fst[a, b] == pytest.approx(np.sum(num) / np.sum(den), abs=1e-12)
    # CEU and CHB are closer to each other than either is to YRI
    assert fst[0, 1] < fst[0, 2] and fst[0, 1] < fst[1, 2]


def test_too_small_population_is_nan():
    fst = hudson_fst_matrix(np.array([[1, 0], [1, 1], [0, 1]]), np.array([1, 2, 2]))
    assert np.isnan(fst[0]).all() and np.isnan(fst[:, 0]).all() and np.isfinite(fst[1:, 1:]).all()


def test_with_given_labels(sim_pair):
    real, syn = sim_pair
    out = population_comparison(real.matrix, real.population, syn.matrix, syn_pop=syn.population)
    assert out["populations"] == POPS
    assert out["classifier"].startswith("labels given")
    for p, pop in enumerate(POPS):
        fr = real.matrix[real.population == pop].mean(axis=0)
        fs = syn.matrix[syn.population == pop].mean(axis=0)
        assert out["pop_af_r"][pop] == pytest.approx(np.corrcoef(fr, fs)[0, 1], abs=1e-12)
        assert out["syn_counts"][p] == (syn.population == pop).sum()
    assert out["pop_af_r_mean"] == pytest.approx(np.mean(list(out["pop_af_r"].values())))
    iu = np.triu_indices(3, 1)
    assert out["fst_r"] == pytest.approx(pearson_r(out["fst_real"][iu], out["fst_syn"][iu]))
    assert out["fst_r"] > 0.9


def test_classifier_assigns_unlabelled_haplotypes(sim_pair):
    real, syn = sim_pair
    out = population_comparison(real.matrix, real.population, syn.matrix, seed=0)
    assert "k-nearest neighbours" in out["classifier"]
    accuracy = np.mean(out["syn_labels"] == syn.population)
    assert accuracy > 0.8
    assert out["syn_counts"].sum() == syn.n_haplotypes
    assert out["pop_af_r_mean"] > 0.9


def test_errors(sim_pair):
    real, syn = sim_pair
    with pytest.raises(InputError, match="must be real populations .* found GBR"):
        population_comparison(real.matrix, real.population, syn.matrix[:2], syn_pop=["GBR", "CEU"])
    with pytest.raises(InputError, match=r"one label per haplotype \(300\), found shape \(2,\)"):
        population_comparison(real.matrix, ["a", "b"], syn.matrix)
