"""What every fidelity statistic shares: the metric registry and input checks.

Each scalar statistic that :mod:`haplogen.metrics` computes is described once, here, by a
:class:`MetricSpec`: its goal (maximise, minimise or reach a target), its range and a one-line
description. A report renders any registered metric from its spec, without special cases
(the habit of SDMetrics). Other parts of haplogen (the privacy audit) add their own keys with
:func:`register_metric`.

The statistics take plain 0/1 matrices of shape ``(n_haplotypes, n_sites)``; the helpers
below check and normalise them once, so that every statistic reports the same one-line
:class:`~haplogen.errors.InputError` for the same mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = [
    "MetricSpec",
    "METRICS",
    "register_metric",
    "as_haplotype_matrix",
    "check_same_sites",
    "check_min_rows",
    "pearson_r",
]


@dataclass(frozen=True)
class MetricSpec:
    """Description of one scalar statistic.

    Attributes
    ----------
    key
        Name of the statistic in result dictionaries and reports (``"af_r"``).
    label
        Short human-readable name (``"allele frequency r"``).
    goal
        ``"max"`` (higher is better), ``"min"`` (lower is better) or ``"target"``
        (closest to :attr:`target` is best).
    target
        The ideal value: the best attainable value for ``max``/``min`` goals when there is
        one (1 for a correlation, 0 for a distance), the target for a ``target`` goal.
    range
        The values the statistic can take, ``(low, high)``; ``inf`` for unbounded.
    description
        One sentence saying what is measured.
    unit
        Unit of the value (``"sites"`` for Hamming distances); empty when unitless.
    """

    key: str
    label: str
    goal: str
    target: float | None
    range: tuple[float, float]
    description: str
    unit: str = ""

    def __post_init__(self) -> None:
        if self.goal not in ("max", "min", "target"):
            raise ValueError(f"goal must be 'max', 'min' or 'target', found {self.goal!r}")
        if self.goal == "target" and self.target is None:
            raise ValueError(f"metric {self.key!r} has goal 'target' but no target value")
        low, high = self.range
        if not low <= high:
            raise ValueError(f"metric {self.key!r}: range must be (low, high), found {self.range}")


#: every registered scalar statistic, by key
METRICS: dict[str, MetricSpec] = {}


def register_metric(spec: MetricSpec) -> MetricSpec:
    """Add ``spec`` to :data:`METRICS`; a key can be registered only once.

    Re-registering an identical spec (a module imported twice) is allowed.
    """
    existing = METRICS.get(spec.key)
    if existing is not None and existing != spec:
        raise ValueError(f"metric {spec.key!r} is already registered with a different spec")
    METRICS[spec.key] = spec
    return spec


_INF = float("inf")

for _spec in [
    MetricSpec("af_r", "allele frequency r", "max", 1.0, (-1.0, 1.0),
               "Pearson r of the per-site frequency of allele 1, real vs artificial"),
    MetricSpec("af_rmse", "allele frequency RMSE", "min", 0.0, (0.0, 1.0),
               "root mean squared difference of per-site allele-1 frequencies"),
    MetricSpec("af_fixed", "sites fixed in artificial", "min", 0.0, (0.0, _INF),
               "sites polymorphic in the real set where every artificial haplotype carries allele 1",
               "sites"),
    MetricSpec("af_lost", "sites lost in artificial", "min", 0.0, (0.0, _INF),
               "sites polymorphic in the real set where no artificial haplotype carries allele 1",
               "sites"),
    MetricSpec("ld_r", "LD r", "max", 1.0, (-1.0, 1.0),
               "Pearson r of r² over all site pairs polymorphic in both sets, real vs artificial"),
    MetricSpec("pairwise_w1", "pairwise distance W1", "min", 0.0, (0.0, _INF),
               "1-Wasserstein distance between within-real and within-artificial pairwise "
               "Hamming distance distributions", "sites"),
    MetricSpec("pca_w1_pc1", "PC1 W1", "min", 0.0, (0.0, _INF),
               "1-Wasserstein distance between real and artificial coordinates on PC1 of the real set"),
    MetricSpec("pca_w1_pc2", "PC2 W1", "min", 0.0, (0.0, _INF),
               "1-Wasserstein distance between real and artificial coordinates on PC2 of the real set"),
    MetricSpec("aats", "AATS", "target", 0.5, (0.0, 1.0),
               "nearest-neighbour adversarial accuracy (Yale et al. 2020), ties counted 1/2"),
    MetricSpec("aats_strict", "AATS (strict)", "target", 0.5, (0.0, 1.0),
               "nearest-neighbour adversarial accuracy with ties counted 0, as in Yelmen et al. 2021"),
    MetricSpec("aa_truth", "AA truth", "target", 0.5, (0.0, 1.0),
               "share of real haplotypes whose nearest artificial neighbour is farther than their "
               "nearest real neighbour (ties 1/2)"),
    MetricSpec("aa_syn", "AA synthetic", "target", 0.5, (0.0, 1.0),
               "share of artificial haplotypes whose nearest real neighbour is farther than their "
               "nearest artificial neighbour (ties 1/2)"),
    MetricSpec("three_point_r_random", "3-point r (random)", "max", 1.0, (-1.0, 1.0),
               "Pearson r of the connected 3-point correlation over random site triplets"),
    *[
        MetricSpec(f"three_point_r_{s}", f"3-point r (spacing {s})", "max", 1.0, (-1.0, 1.0),
                   f"Pearson r of the connected 3-point correlation over triplets (i, i+{s}, i+{2 * s})")
        for s in (1, 4, 16, 64, 256, 1024)
    ],
    MetricSpec("exact_copies", "exact copies", "min", 0.0, (0.0, _INF),
               "artificial haplotypes identical to a real haplotype", "haplotypes"),
    MetricSpec("pop_af_r_mean", "population allele frequency r", "max", 1.0, (-1.0, 1.0),
               "mean over populations of the allele frequency Pearson r, real vs artificial"),
    MetricSpec("fst_r", "Fst r", "max", 1.0, (-1.0, 1.0),
               "Pearson r between the pairwise Hudson Fst matrices of the real and artificial populations"),
]:
    register_metric(_spec)
del _spec


def as_haplotype_matrix(x: Any, name: str = "haplotypes") -> np.ndarray:
    """Check and return ``x`` as a 2-D uint8 0/1 matrix.

    Parameters
    ----------
    x : array_like, shape (n_haplotypes, n_sites)
        Alleles (0 = REF, 1 = ALT). An object with a ``matrix`` attribute (a
        :class:`~haplogen.haplotypes.Haplotypes`) is unwrapped.
    name
        What ``x`` is, for error messages (``"real"``, ``"synthetic"``).

    Returns
    -------
    ndarray of uint8, shape (n_haplotypes, n_sites)
        ``x`` itself when it already is a uint8 array, otherwise a converted copy.
    """
    if hasattr(x, "matrix") and not isinstance(x, np.ndarray):
        x = x.matrix
    x = np.asarray(x)
    if x.ndim != 2:
        raise InputError(
            f"the {name} haplotypes must be a 2-D matrix (n_haplotypes, n_sites), found shape "
            f"{x.shape}; pass Haplotypes.matrix or reshape the array"
        )
    if x.dtype == np.uint8 or x.dtype == np.bool_:
        if x.dtype == np.bool_:
            return x.view(np.uint8)
        if x.size and int(x.max()) > 1:
            raise InputError(
                f"the {name} haplotypes must hold only 0 and 1, found the value {int(x.max())}; "
                "recode alleles as 0 = REF, 1 = ALT"
            )
        return x
    if x.size:
        values = np.unique(x)
        if not np.isin(values, (0, 1)).all():
            raise InputError(
                f"the {name} haplotypes must hold only 0 and 1, found the values "
                f"{values[:5].tolist()}; recode alleles as 0 = REF, 1 = ALT"
            )
    return x.astype(np.uint8)


def check_same_sites(real: np.ndarray, syn: np.ndarray) -> None:
    """Raise :class:`InputError` unless ``real`` and ``syn`` have the same number of sites."""
    if real.shape[1] != syn.shape[1]:
        raise InputError(
            f"real and synthetic haplotypes must have the same sites, found {real.shape[1]} "
            f"sites in the real set and {syn.shape[1]} in the synthetic set; "
            "sample the synthetic set from a model trained on these sites"
        )


def check_min_rows(x: np.ndarray, n: int, name: str, why: str) -> None:
    """Raise :class:`InputError` when ``x`` has fewer than ``n`` haplotypes."""
    if x.shape[0] < n:
        raise InputError(
            f"{why} needs at least {n} {name} haplotypes, found {x.shape[0]}; "
            "pass a larger set"
        )


def pearson_r(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r of two equal-length vectors; NaN when fewer than 2 values or either is constant.

    Computed in float64 on centred values, ``sum(da * db) / sqrt(sum(da²) sum(db²))``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape[0] < 2:
        return float("nan")
    da = a - a.mean()
    db = b - b.mean()
    denom = np.sqrt(np.dot(da, da) * np.dot(db, db))
    if not denom > 0:
        return float("nan")
    return float(np.clip(np.dot(da, db) / denom, -1.0, 1.0))
