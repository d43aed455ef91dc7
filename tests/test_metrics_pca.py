"""PCA of the real set with synthetic sets projected, against numpy's SVD."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from haplogen.errors import InputError
from haplogen.metrics import pca_comparison


def test_against_numpy_svd(sim_pair):
    real, syn = sim_pair[0].matrix.astype(np.float64), sim_pair[1].matrix
    out = pca_comparison(real, {"half": syn}, n_components=4)
    mean = real.mean(axis=0)
    u, s, vt = np.linalg.svd(real - mean, full_matrices=False)
    expected_real = (real - mean) @ vt[:4].T
    expected_syn = (syn - mean) @ vt[:4].T
    got_real, got_syn = out["real_coords"], out["syn_coords"]["half"]
    assert got_real.dtype == np.float32 and got_real.shape == (real.shape[0], 4)
    for c in range(4):  # a component is defined up to its sign
        sign = np.sign(np.dot(got_real[:, c], expected_real[:, c]))
        assert np.allclose(sign * got_real[:, c], expected_real[:, c], atol=1e-3)
        assert np.allclose(sign * got_syn[:, c], expected_syn[:, c], atol=1e-3)
    assert np.allclose(out["explained_variance_ratio"], (s**2 / np.sum(s**2))[:4], rtol=1e-4)
    for c, key in enumerate(("pc1", "pc2")):
        expected = wasserstein_distance(expected_real[:, c], expected_syn[:, c])
        assert out["w1"]["half"][key] == pytest.approx(expected, rel=1e-4, abs=1e-5)
    assert out["n_fit"] == real.shape[0] and out["fit_subsampled"] is False


def test_population_structure_separates_on_pc1(sim_haplotypes):
    h = sim_haplotypes
    out = pca_comparison(h.matrix, {}, n_components=2)
    pc1 = out["real_coords"][:, 0]
    means = {p: pc1[h.population == p].mean() for p in ("YRI", "CEU", "CHB")}
    # out of Africa: YRI at one end of PC1
    order = sorted(means, key=means.get)
    assert order[0] == "YRI" or order[-1] == "YRI"
    assert out["syn_coords"] == {} and out["w1"] == {}


def test_fit_subset_and_capped_components(sim_pair):
    real, syn = sim_pair[0].matrix, sim_pair[1].matrix
    out = pca_comparison(real, {"a": syn}, n_components=3, max_fit=100, seed=1)
    assert out["n_fit"] == 100 and out["fit_subsampled"] is True
    assert out["real_coords"].shape == (real.shape[0], 3)
    small = pca_comparison(real[:5, :3], {"a": syn[:4, :3]}, n_components=10)
    assert small["real_coords"].shape[1] == 3  # no more components than sites


def test_errors(sim_pair):
    real = sim_pair[0].matrix
    with pytest.raises(InputError, match="found 300 sites in the real set and 299"):
        pca_comparison(real, {"gan": real[:, :299]})
    with pytest.raises(InputError, match="n_components must be at least 1, found 0"):
        pca_comparison(real, {}, n_components=0)
