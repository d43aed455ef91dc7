"""Connected three-point correlations against the definition."""

from __future__ import annotations

import numpy as np
import pytest

from haplogen.errors import InputError
from haplogen.metrics import three_point_comparison, three_point_correlation
from haplogen.metrics.correlation import _random_triplets


def slow_c3(x: np.ndarray, a: int, b: int, c: int) -> float:
    """Third joint central moment by a loop over haplotypes: mean of the product of deviations."""
    n = x.shape[0]
    fa, fb, fc = (sum(int(x[k, s]) for k in range(n)) / n for s in (a, b, c))
    return sum((x[k, a] - fa) * (x[k, b] - fb) * (x[k, c] - fc) for k in range(n)) / n


def test_against_the_definition():
    rng = np.random.default_rng(12)
    x = (rng.random((45, 10)) < 0.35).astype(np.uint8)  # 45 rows: a partial last packed byte
    triplets = np.array([[0, 1, 2], [3, 5, 9], [2, 2, 7], [9, 4, 0], [6, 7, 8]])
    got = three_point_correlation(x, triplets)
    expected = [slow_c3(x, *t) for t in triplets]
    assert np.allclose(got, expected, atol=1e-14)
    assert np.array_equal(three_point_correlation(x, triplets, chunk_size=2), got)


def test_independent_columns_have_no_third_order_correlation():
    rng = np.random.default_rng(0)
    x = (rng.random((20_000, 3)) < [0.2, 0.5, 0.7]).astype(np.uint8)
    assert abs(three_point_correlation(x, [[0, 1, 2]])[0]) < 0.005


def test_comparison_triplets_and_values(sim_pair):
    real, syn = sim_pair[0].matrix, sim_pair[1].matrix  # 300 sites
    out = three_point_comparison(real, syn, n_triplets=200, seed=3)
    assert set(out["three_point_r"]) == {"1", "4", "16", "64", "random"}  # 256 and 1024 do not fit
    # spacing 64: 300 - 128 = 172 starting points, all used; spacing 1: 298, sampled to 200
    assert out["n_triplets"]["64"] == 172 and out["subsampled"]["64"] is False
    assert out["n_triplets"]["1"] == 200 and out["subsampled"]["1"] is True
    assert out["n_triplets"]["random"] == 200
    rv, sv = out["values"]["1"]
    assert rv.shape == sv.shape == (200,)
    assert out["three_point_r"]["1"] == pytest.approx(np.corrcoef(rv, sv)[0, 1], abs=1e-12)
    # two halves of one sample agree on nearby triplets
    assert out["three_point_r"]["1"] > 0.8
    same = three_point_comparison(real, real, n_triplets=100)
    assert all(r == pytest.approx(1.0) for r in same["three_point_r"].values())


def test_spacing_triplets_are_regular():
    rng = np.random.default_rng(1)
    x = (rng.random((30, 20)) < 0.5).astype(np.uint8)
    out = three_point_comparison(x, x, spacings=(3,), n_triplets=100)
    # 20 - 2*3 = 14 starting points, all used: the values are those of (i, i+3, i+6)
    triplets = np.stack([np.arange(14), np.arange(14) + 3, np.arange(14) + 6], axis=1)
    assert np.array_equal(out["values"]["3"][0], three_point_correlation(x, triplets))
    t = _random_triplets(20, 500, np.random.default_rng(2))
    assert t.shape == (500, 3) and np.all(t[:, 0] < t[:, 1]) and np.all(t[:, 1] < t[:, 2])


def test_errors():
    x = np.zeros((4, 5), dtype=np.uint8)
    with pytest.raises(InputError, match=r"shape \(k, 3\).*found \(2, 2\)"):
        three_point_correlation(x, [[0, 1], [1, 2]])
    with pytest.raises(InputError, match="indices must lie in 0..4, found 0..5"):
        three_point_correlation(x, [[0, 1, 5]])
