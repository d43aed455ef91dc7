"""Fidelity statistics: how closely artificial haplotypes match real ones.

One function per statistic, pure numpy / scipy / scikit-learn on plain uint8 0/1 matrices of
shape ``(n_haplotypes, n_sites)`` (``Haplotypes.matrix``); each returns a dict of floats and
numpy arrays. The evaluation runs them through the registrations of
:mod:`haplogen.statistics`, which declare each scalar's :class:`MetricSpec` (goal, range,
label, grade bands) and add it to :data:`METRICS`. All statistics work blockwise, so that
10,000 x 10,000 sets fit in a few GB.
"""

from .aats import accuracy_from_distances, adversarial_accuracy
from .base import METRICS, MetricSpec, register_metric
from .correlation import three_point_comparison, three_point_correlation
from .distance import (
    exact_copies,
    hamming_distances,
    nearest_neighbour_distances,
    pairwise_distance_comparison,
)
from .frequency import allele_frequency, allele_frequency_comparison
from .ld import ld_comparison, ld_decay, ld_r2
from .pca import pca_comparison
from .population import hudson_fst_matrix, population_comparison

__all__ = [
    "METRICS",
    "MetricSpec",
    "register_metric",
    "allele_frequency",
    "allele_frequency_comparison",
    "ld_r2",
    "ld_comparison",
    "ld_decay",
    "hamming_distances",
    "nearest_neighbour_distances",
    "pairwise_distance_comparison",
    "exact_copies",
    "adversarial_accuracy",
    "accuracy_from_distances",
    "three_point_correlation",
    "three_point_comparison",
    "pca_comparison",
    "population_comparison",
    "hudson_fst_matrix",
]
