"""Principal components of the real haplotypes, with synthetic sets projected on them."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import wasserstein_distance
from sklearn.decomposition import PCA

from ..errors import InputError
from .base import as_haplotype_matrix, check_min_rows, check_same_sites

__all__ = ["pca_comparison", "fit_pca", "project"]


def fit_pca(x: np.ndarray, *, n_components: int, seed: int, max_fit: int) -> tuple[PCA, int, bool]:
    """Fit a PCA on (a random subset of at most ``max_fit``) rows of ``x``.

    The 0/1 matrix is centred on each site's mean by scikit-learn (no scaling). The randomized
    SVD solver is used when the matrix is larger than 1000 in both dimensions and fewer than
    a tenth of the possible components are wanted; otherwise the exact (full) SVD.

    Returns
    -------
    pca, n_fit, subsampled
        The fitted model, the number of rows it was fitted on, and whether they were sampled.
    """
    n, m = x.shape
    rng = np.random.default_rng(seed)
    subsampled = n > max_fit
    rows = np.sort(rng.choice(n, size=max_fit, replace=False)) if subsampled else slice(None)
    fit_x = x[rows].astype(np.float32)
    k = min(n_components, fit_x.shape[0], m)
    large = min(fit_x.shape) > 1000 and k < min(fit_x.shape) // 10
    pca = PCA(
        n_components=k,
        svd_solver="randomized" if large else "full",
        random_state=int(rng.integers(2**31 - 1)) if large else None,
    )
    pca.fit(fit_x)
    return pca, int(fit_x.shape[0]), bool(subsampled)


def project(pca: PCA, x: np.ndarray, *, block_size: int = 4096) -> np.ndarray:
    """Coordinates of the rows of ``x`` on the fitted components, float32 (n, n_components)."""
    out = np.empty((x.shape[0], pca.n_components_), dtype=np.float32)
    for i in range(0, x.shape[0], block_size):
        out[i : i + block_size] = pca.transform(x[i : i + block_size].astype(np.float32))
    return out


def pca_comparison(
    real: Any,
    syns: dict[str, Any],
    *,
    n_components: int = 10,
    seed: int = 0,
    max_fit: int = 20_000,
) -> dict[str, Any]:
    """Fit a PCA on the real haplotypes and project each synthetic set on it.

    scikit-learn's :class:`~sklearn.decomposition.PCA` on the site-centred 0/1 matrix (randomized
    solver for large inputs, see :func:`fit_pca`), fitted on at most ``max_fit`` real
    haplotypes (a seeded random subset beyond that); every real and synthetic haplotype is then
    projected. The sign of each component is fixed by scikit-learn's ``svd_flip``, so
    coordinates are reproducible.

    Parameters
    ----------
    real : array_like of 0/1, shape (n_real, n_sites)
    syns : dict of str to array_like of 0/1, each of shape (n_syn, n_sites)
        Synthetic sets by name (for example ``{"rbm": ..., "gan": ...}``); may be empty.
    n_components
        Components kept (fewer when the data have fewer rows or sites).
    seed
        Seed of the fitting subset and of the randomized solver.
    max_fit
        Largest number of real haplotypes the PCA is fitted on.

    Returns
    -------
    dict
        ``real_coords`` : float32, shape (n_real, k); ``syn_coords`` : {name: float32 (n_syn, k)};
        ``explained_variance_ratio`` : float64, shape (k,); ``w1`` : {name: {"pc1": w, "pc2": w}},
        the 1-Wasserstein distances between real and synthetic coordinates on each of the first
        two components (only ``pc1`` when k = 1); ``n_fit`` : int; ``fit_subsampled`` : bool.
    """
    real = as_haplotype_matrix(real, "real")
    check_min_rows(real, 2, "real", "a PCA")
    if n_components < 1:
        raise InputError(f"n_components must be at least 1, found {n_components}")
    if max_fit < 2:
        raise InputError(f"max_fit must be at least 2, found {max_fit}")
    checked = {}
    for name, syn in syns.items():
        syn = as_haplotype_matrix(syn, f"synthetic ({name})")
        check_same_sites(real, syn)
        check_min_rows(syn, 1, f"synthetic ({name})", "a PCA projection")
        checked[name] = syn
    pca, n_fit, subsampled = fit_pca(real, n_components=n_components, seed=seed, max_fit=max_fit)
    real_coords = project(pca, real)
    syn_coords = {name: project(pca, syn) for name, syn in checked.items()}
    w1 = {
        name: {
            f"pc{c + 1}": float(wasserstein_distance(real_coords[:, c], coords[:, c]))
            for c in range(min(2, coords.shape[1]))
        }
        for name, coords in syn_coords.items()
    }
    return {
        "real_coords": real_coords,
        "syn_coords": syn_coords,
        "explained_variance_ratio": np.asarray(pca.explained_variance_ratio_, dtype=np.float64),
        "w1": w1,
        "n_fit": n_fit,
        "fit_subsampled": subsampled,
    }
