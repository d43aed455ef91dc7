"""Hamming distances, nearest neighbours, pairwise distributions and copies."""

from __future__ import annotations

import allel
import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance

from haplogen.errors import InputError
from haplogen.metrics import (
    exact_copies,
    hamming_distances,
    nearest_neighbour_distances,
    pairwise_distance_comparison,
)


def brute_hamming(a, b):
    return np.rint(cdist(a, b, metric="hamming") * a.shape[1]).astype(np.int64)


def test_hamming_distances_exact_against_scipy(sim_pair):
    a, b = sim_pair[0].matrix[:70], sim_pair[1].matrix[:50]
    d = hamming_distances(a, b)
    assert d.dtype == np.int32 and d.shape == (70, 50)
    assert np.array_equal(d, brute_hamming(a, b))
    loop = [[int(np.sum(a[i] != b[j])) for j in range(3)] for i in range(3)]
    assert np.array_equal(d[:3, :3], loop)


def test_nearest_neighbours_against_brute_force_and_blocks(sim_pair):
    a, b = sim_pair[0].matrix[:90], sim_pair[1].matrix[:60]
    a = a.copy()
    a[5] = a[17]  # an exact duplicate: leave-one-out still finds it at distance 0
    full = brute_hamming(a, b)
    assert np.array_equal(nearest_neighbour_distances(a, b), full.min(axis=1))
    within = brute_hamming(a, a).astype(float)
    np.fill_diagonal(within, np.inf)
    expected = within.min(axis=1).astype(np.int64)
    got = nearest_neighbour_distances(a)
    assert got[5] == 0 and got[17] == 0
    assert np.array_equal(got, expected)
    for block in (1, 7, 32):
        assert np.array_equal(nearest_neighbour_distances(a, block_size=block), got)
        assert np.array_equal(nearest_neighbour_distances(a, b, block_size=block), full.min(axis=1))


def test_nearest_neighbour_errors():
    with pytest.raises(InputError, match="needs at least 2 query haplotypes, found 1"):
        nearest_neighbour_distances(np.zeros((1, 4)))
    with pytest.raises(InputError, match="found 4 sites in the real set and 5"):
        nearest_neighbour_distances(np.zeros((3, 4)), np.zeros((3, 5)))


def test_pairwise_distributions_all_pairs(sim_pair):
    real, syn = sim_pair[0].matrix[:80], sim_pair[1].matrix[:60]
    m = real.shape[1]
    out = pairwise_distance_comparison(real, syn)
    assert not out["subsampled"]
    dr = brute_hamming(real, real)[np.triu_indices(80, 1)]
    ds = brute_hamming(syn, syn)[np.triu_indices(60, 1)]
    db = brute_hamming(real, syn).ravel()
    assert np.array_equal(out["hist_real"], np.bincount(dr, minlength=m + 1))
    assert np.array_equal(out["hist_syn"], np.bincount(ds, minlength=m + 1))
    assert np.array_equal(out["hist_between"], np.bincount(db, minlength=m + 1))
    assert out["n_pairs"] == dr.size + ds.size + db.size
    assert out["pairwise_w1"] == pytest.approx(wasserstein_distance(dr, ds), abs=1e-9)
    # the mean within-real distance is scikit-allel's mean pairwise difference summed over sites
    ac = allel.HaplotypeArray(real.T).count_alleles()
    mpd = allel.mean_pairwise_difference(ac).sum()
    mean = (out["hist_real"] * np.arange(m + 1)).sum() / out["hist_real"].sum()
    assert mean == pytest.approx(mpd, rel=1e-9)


def test_pairwise_distributions_subsampled(sim_pair):
    real, syn = sim_pair[0].matrix, sim_pair[1].matrix
    out = pairwise_distance_comparison(real, syn, max_pairs=20_000, seed=4)
    assert out["subsampled"] and out["n_pairs_real"] == out["n_pairs_syn"] == 20_000
    ac = allel.HaplotypeArray(real.T).count_alleles()
    mpd = allel.mean_pairwise_difference(ac).sum()
    mean = (out["hist_real"] * np.arange(real.shape[1] + 1)).sum() / 20_000
    assert mean == pytest.approx(mpd, rel=0.02)
    # no pair of a haplotype with itself was drawn: distance 0 only from real duplicates
    assert out["hist_real"][0] <= 20_000 * 0.01
    again = pairwise_distance_comparison(real, syn, max_pairs=20_000, seed=4)
    assert np.array_equal(again["hist_syn"], out["hist_syn"])
    # two halves of one sample are close; a shuffled (LD-free) set is far
    rng = np.random.default_rng(0)
    shuffled = np.stack([rng.permutation(col) for col in syn.T], axis=1)
    far = pairwise_distance_comparison(real, shuffled, max_pairs=20_000, seed=4)
    assert far["pairwise_w1"] > 3 * out["pairwise_w1"]


def test_exact_copies():
    rng = np.random.default_rng(2)
    real = (rng.random((50, 21)) < 0.5).astype(np.uint8)
    syn = (rng.random((30, 21)) < 0.5).astype(np.uint8)
    syn[[4, 19, 29]] = real[[0, 33, 33]]
    real_set = {tuple(r) for r in real}
    expected = [k for k in range(30) if tuple(syn[k]) in real_set]
    out = exact_copies(real, syn)
    assert out["copy_index"].tolist() == expected and 4 in expected and 29 in expected
    assert out["exact_copies"] == len(expected)
    # differing only in the last site (a padding byte boundary) is not a copy
    syn2 = real[:2].copy()
    syn2[:, -1] ^= 1
    assert exact_copies(real, syn2)["exact_copies"] == 0
