"""Population structure: per-population allele frequencies and pairwise Fst, real vs synthetic.

Hudson's Fst between populations 1 and 2 (Hudson, Slatkin and Maddison 1992, in the form of
Bhatia et al. 2013), from allele-1 counts ``c_k`` among ``n_k`` haplotypes at each site::

    within_k = 2 c_k (n_k - c_k) / (n_k (n_k - 1))        mean pairwise difference in k
    between  = (c_1 (n_2 - c_2) + c_2 (n_1 - c_1)) / (n_1 n_2)   mean difference across
    Fst      = sum over sites (between - (within_1 + within_2) / 2) / sum over sites between

i.e. a ratio of sums over sites (not a mean of per-site ratios), as
``allel.hudson_fst`` followed by ``sum(num) / sum(den)``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from ..errors import InputError
from .base import as_haplotype_matrix, check_min_rows, check_same_sites, pearson_r
from .pca import fit_pca, project

__all__ = ["population_comparison", "hudson_fst_matrix"]

#: neighbours voting in the population classifier of unlabelled synthetic haplotypes
N_NEIGHBOURS = 15
#: principal components the classifier works on
N_COMPONENTS = 10


def hudson_fst_matrix(counts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Pairwise Hudson Fst between populations.

    Parameters
    ----------
    counts : ndarray of int, shape (n_populations, n_sites)
        Number of haplotypes carrying allele 1 in each population.
    sizes : ndarray of int, shape (n_populations,)
        Number of haplotypes in each population.

    Returns
    -------
    ndarray of float64, shape (n_populations, n_populations)
        Symmetric with a zero diagonal; NaN in the rows of a population with fewer than two
        haplotypes, and where the two populations never differ (the denominator is 0).
    """
    counts = np.asarray(counts, dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    n_pop = sizes.size
    with np.errstate(divide="ignore", invalid="ignore"):
        within = 2 * counts * (sizes[:, None] - counts) / (sizes * (sizes - 1))[:, None]  # (P, m)
    fst = np.full((n_pop, n_pop), np.nan)
    for a in range(n_pop):
        if sizes[a] < 2:
            continue
        fst[a, a] = 0.0
        for b in range(a + 1, n_pop):
            if sizes[b] < 2:
                continue
            between = (
                counts[a] * (sizes[b] - counts[b]) + counts[b] * (sizes[a] - counts[a])
            ) / (sizes[a] * sizes[b])
            num = np.sum(between - (within[a] + within[b]) / 2)
            den = np.sum(between)
            fst[a, b] = fst[b, a] = num / den if den > 0 else np.nan
    return fst


def _labels(values: Sequence[str] | np.ndarray, n: int, name: str) -> np.ndarray:
    labels = np.asarray(values, dtype=object)
    if labels.shape != (n,):
        raise InputError(
            f"{name} must have one label per haplotype ({n}), found shape {labels.shape}; "
            "pass Haplotypes.population or .super_population"
        )
    return labels.astype(str)


def population_comparison(
    real: Any,
    real_pop: Sequence[str] | np.ndarray,
    syn: Any,
    *,
    seed: int = 0,
    syn_pop: Sequence[str] | np.ndarray | None = None,
) -> dict[str, Any]:
    """Compare allele frequencies and Fst population by population.

    Synthetic haplotypes from an unconditional model carry no population label; each is then
    assigned to a population by a k-nearest-neighbour classifier (k = 15, majority vote,
    scikit-learn ``KNeighborsClassifier``) fitted on the real haplotypes' coordinates on their
    top 10 principal components (:func:`haplogen.metrics.pca.fit_pca`); the synthetic
    haplotypes are projected on the same components. With ``syn_pop`` given (a conditional
    model), those labels are used instead.

    Parameters
    ----------
    real : array_like of 0/1, shape (n_real, n_sites)
    real_pop : sequence of str, shape (n_real,)
        Population of each real haplotype.
    syn : array_like of 0/1, shape (n_syn, n_sites)
    seed
        Seed of the PCA (randomized solver, fitting subset).
    syn_pop : sequence of str, shape (n_syn,), optional
        Population of each synthetic haplotype; every label must occur in ``real_pop``.

    Returns
    -------
    dict
        ``populations`` : list of str (sorted); ``real_counts``, ``syn_counts`` : int64, shape
        (P,), haplotypes per population; ``pop_af_r`` : {pop: Pearson r of allele frequencies,
        NaN when the population has no synthetic haplotype}; ``pop_af_r_mean`` : mean of the
        defined values; ``fst_real``, ``fst_syn`` : float64, shape (P, P); ``fst_r`` : Pearson r
        between the upper triangles (pairs defined in both); ``classifier`` : str;
        ``syn_labels`` : ndarray of str, shape (n_syn,), the population used for each synthetic
        haplotype.
    """
    real = as_haplotype_matrix(real, "real")
    syn = as_haplotype_matrix(syn, "synthetic")
    check_same_sites(real, syn)
    check_min_rows(real, 2, "real", "a population comparison")
    check_min_rows(syn, 1, "synthetic", "a population comparison")
    real_labels = _labels(real_pop, real.shape[0], "real_pop")
    populations = sorted(set(real_labels.tolist()))
    if syn_pop is not None:
        syn_labels = _labels(syn_pop, syn.shape[0], "syn_pop")
        unknown = sorted(set(syn_labels.tolist()) - set(populations))
        if unknown:
            raise InputError(
                f"synthetic population labels must be real populations ({', '.join(populations[:5])}"
                f"{' ...' if len(populations) > 5 else ''}), found {', '.join(unknown[:3])}; "
                "label the synthetic haplotypes with the real set's populations"
            )
        classifier = "labels given by the model (syn_pop)"
    elif len(populations) == 1:
        syn_labels = np.full(syn.shape[0], populations[0])
        classifier = "single population: every synthetic haplotype assigned to it"
    else:
        pca, n_fit, _ = fit_pca(real, n_components=N_COMPONENTS, seed=seed, max_fit=20_000)
        k = min(N_NEIGHBOURS, real.shape[0])
        knn = KNeighborsClassifier(n_neighbors=k)
        knn.fit(project(pca, real), real_labels)
        syn_labels = np.asarray(knn.predict(project(pca, syn))).astype(str)
        classifier = (
            f"k-nearest neighbours (k={k}, majority vote) on the top {pca.n_components_} principal "
            f"components of the real haplotypes (PCA fitted on {n_fit})"
        )

    real_count = np.zeros((len(populations), real.shape[1]), dtype=np.int64)
    syn_count = np.zeros_like(real_count)
    real_sizes = np.zeros(len(populations), dtype=np.int64)
    syn_sizes = np.zeros(len(populations), dtype=np.int64)
    pop_af_r = {}
    for p, pop in enumerate(populations):
        rows_r = real_labels == pop
        rows_s = syn_labels == pop
        real_sizes[p], syn_sizes[p] = rows_r.sum(), rows_s.sum()
        real_count[p] = real[rows_r].sum(axis=0, dtype=np.int64)
        syn_count[p] = syn[rows_s].sum(axis=0, dtype=np.int64)
        if syn_sizes[p] == 0:
            pop_af_r[pop] = float("nan")
        else:
            pop_af_r[pop] = pearson_r(real_count[p] / real_sizes[p], syn_count[p] / syn_sizes[p])
    defined = [r for r in pop_af_r.values() if np.isfinite(r)]
    fst_real = hudson_fst_matrix(real_count, real_sizes)
    fst_syn = hudson_fst_matrix(syn_count, syn_sizes)
    iu = np.triu_indices(len(populations), 1)
    a, b = fst_real[iu], fst_syn[iu]
    ok = np.isfinite(a) & np.isfinite(b)
    return {
        "populations": populations,
        "real_counts": real_sizes,
        "syn_counts": syn_sizes,
        "pop_af_r": pop_af_r,
        "pop_af_r_mean": float(np.mean(defined)) if defined else float("nan"),
        "fst_real": fst_real,
        "fst_syn": fst_syn,
        "fst_r": pearson_r(a[ok], b[ok]),
        "classifier": classifier,
        "syn_labels": syn_labels,
    }
