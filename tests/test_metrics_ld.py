"""Linkage disequilibrium statistics against numpy, scipy and scikit-allel."""

from __future__ import annotations

import allel
import numpy as np
import pytest
from scipy.stats import pearsonr

from haplogen.errors import InputError
from haplogen.metrics import ld_comparison, ld_decay, ld_r2


def slow_r2(x: np.ndarray, i: int, j: int) -> float:
    """r² of two columns by the textbook definition (NaN when one is constant)."""
    a, b = x[:, i].astype(float), x[:, j].astype(float)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1] ** 2)


def test_ld_r2_against_loops_with_a_monomorphic_column():
    rng = np.random.default_rng(5)
    x = (rng.random((40, 9)) < 0.4).astype(np.uint8)
    x[:, 4] = 1  # monomorphic
    r2 = ld_r2(x)
    assert r2.dtype == np.float32 and r2.shape == (9, 9)
    for i in range(9):
        for j in range(9):
            expected = slow_r2(x, i, j)
            if np.isnan(expected):
                assert np.isnan(r2[i, j])
            else:
                assert r2[i, j] == pytest.approx(expected, abs=1e-6)


def test_ld_r2_against_scikit_allel_and_blocks(sim_haplotypes):
    x = sim_haplotypes.matrix[:, :120]
    r2 = ld_r2(x)
    # rogers_huff_r is the Pearson r of the rows of a (variants, samples) matrix: on 0/1
    # haplotypes (not 0/1/2 genotypes) it is the haplotype r.
    r = allel.rogers_huff_r(x.T.astype(np.float32))
    iu = np.triu_indices(120, 1)
    assert np.allclose(r2[iu], r**2, atol=1e-5)
    assert np.array_equal(ld_r2(x, block_size=17), r2)
    cols = [5, 0, 77, 3]
    assert np.array_equal(ld_r2(x, cols), r2[np.ix_(cols, cols)])
    with pytest.raises(InputError, match="site indices in 0..119"):
        ld_r2(x, [0, 120])


def test_ld_comparison_against_full_matrices(sim_pair):
    real, syn = (h.matrix for h in sim_pair)
    real = real.copy()
    real[:, 10] = 0  # monomorphic in real: its pairs are left out
    out = ld_comparison(real, syn)
    poly = np.flatnonzero(
        (real.min(0) != real.max(0)) & (syn.min(0) != syn.max(0))
    )
    rr = np.corrcoef(real[:, poly].T.astype(float)) ** 2
    ss = np.corrcoef(syn[:, poly].T.astype(float)) ** 2
    iu = np.triu_indices(poly.size, 1)
    assert out["n_pairs"] == iu[0].size == poly.size * (poly.size - 1) // 2
    assert out["ld_r"] == pytest.approx(pearsonr(rr[iu], ss[iu])[0], abs=1e-9)
    small = ld_comparison(real, syn, block_size=23)  # many blocks, uneven last block
    assert small["n_pairs"] == out["n_pairs"]
    assert small["ld_r"] == pytest.approx(out["ld_r"], abs=1e-12)


def test_ld_comparison_identical_sets_and_mismatch(sim_haplotypes):
    x = sim_haplotypes.matrix[:, :50]
    assert ld_comparison(x, x)["ld_r"] == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(InputError, match="found 50 sites in the real set and 49"):
        ld_comparison(x, x[:, :49])
    with pytest.raises(InputError, match="block_size must be at least 1, found 0"):
        ld_comparison(x, x, block_size=0)


def slow_decay(x, chrom, position, edges):
    n_bins = edges.size - 1
    sums, counts = np.zeros(n_bins), np.zeros(n_bins, dtype=int)
    for i in range(x.shape[1]):
        for j in range(i + 1, x.shape[1]):
            if chrom[i] != chrom[j]:
                continue
            r2 = slow_r2(x, i, j)
            if np.isnan(r2):
                continue
            d = abs(position[j] - position[i])
            k = 0
            while k < n_bins - 1 and d >= edges[k + 1]:
                k += 1
            sums[k] += r2
            counts[k] += 1
    with np.errstate(invalid="ignore"):
        return sums / counts, counts


def test_ld_decay_all_pairs_against_loops():
    rng = np.random.default_rng(8)
    x = (rng.random((30, 24)) < 0.5).astype(np.uint8)
    x[:, 3] = 0
    chrom = np.array(["1"] * 10 + ["2"] * 14)
    position = np.concatenate([np.sort(rng.choice(10**6, 10, replace=False)),
                               np.sort(rng.choice(10**6, 14, replace=False))])
    out = ld_decay(x, chrom, position, n_bins=6)
    assert not out["subsampled"]
    mean, counts = slow_decay(x, chrom, position, out["bin_edges"])
    assert np.array_equal(out["n_pairs"], counts)
    assert counts.sum() == 9 * 8 // 2 + 14 * 13 // 2 - 0  # column 3 (monomorphic) is on chr 1
    assert np.allclose(out["mean_r2"], mean, equal_nan=True, atol=1e-12)


def test_ld_decay_subsamples_distinct_same_chromosome_pairs(sim_haplotypes):
    h = sim_haplotypes
    out = ld_decay(h.matrix, h.sites.chrom, h.sites.position, n_bins=10, max_pairs=1000, seed=2)
    assert out["subsampled"] and out["n_pairs"].sum() == 1000  # all sites polymorphic
    again = ld_decay(h.matrix, h.sites.chrom, h.sites.position, n_bins=10, max_pairs=1000, seed=2)
    assert np.array_equal(out["mean_r2"], again["mean_r2"], equal_nan=True)
    # LD decays: nearby pairs are in stronger LD than distant ones
    assert out["mean_r2"][0] > out["mean_r2"][-1]


def test_ld_decay_without_shared_chromosomes():
    x = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    out = ld_decay(x, ["1", "2"], [10, 10], n_bins=4)
    assert np.isnan(out["bin_edges"]).all() and np.isnan(out["mean_r2"]).all()
    assert out["n_pairs"].tolist() == [0, 0, 0, 0] and out["subsampled"] is False
    with pytest.raises(InputError, match=r"one entry per site \(2\)"):
        ld_decay(x, ["1"], [10], n_bins=4)


def test_pair_unranking_enumerates_the_upper_triangle():
    from haplogen.metrics.ld import _unrank_pairs

    m = 13
    i, j = _unrank_pairs(np.arange(m * (m - 1) // 2), m)
    ei, ej = np.triu_indices(m, 1)
    assert np.array_equal(i, ei) and np.array_equal(j, ej)
