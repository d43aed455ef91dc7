"""What every fidelity statistic shares: the description of a scalar statistic and input checks.

Each scalar value that an evaluation reports is described by a :class:`MetricSpec`: its goal
(maximise, minimise or reach a target), its range, its grade bands and a one-line
description, so that a report renders and grades any value without special cases (the habit
of SDMetrics). The specs are declared with the statistic that produces them
(:func:`haplogen.statistics.register_statistic`), which adds them to :data:`METRICS`.

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
    bands
        ``(good, fair)``: the largest deviation from :attr:`target` graded "good", and the
        largest graded "fair" (beyond: "poor"). None for a statistic without an absolute
        scale (a Wasserstein distance in sites), which is never graded: compare sets instead.
    """

    key: str
    label: str
    goal: str
    target: float | None
    range: tuple[float, float]
    description: str
    unit: str = ""
    bands: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.goal not in ("max", "min", "target"):
            raise ValueError(f"goal must be 'max', 'min' or 'target', found {self.goal!r}")
        if self.goal == "target" and self.target is None:
            raise ValueError(f"metric {self.key!r} has goal 'target' but no target value")
        low, high = self.range
        if not low <= high:
            raise ValueError(f"metric {self.key!r}: range must be (low, high), found {self.range}")
        if self.bands is not None:
            if self.target is None:
                raise ValueError(
                    f"metric {self.key!r} has grade bands but no target to measure the deviation from; "
                    "give a target or drop the bands"
                )
            good, fair = self.bands
            if not 0 <= good <= fair:
                raise ValueError(
                    f"metric {self.key!r}: bands must be (good, fair) with 0 <= good <= fair, "
                    f"found {self.bands}"
                )

    @property
    def goal_text(self) -> str:
        """The goal in a few words: ``"higher (best 1)"``, ``"lower (best 0)"``, ``"target 0.5"``."""
        best = f" (best {self.target:g})" if self.target is not None else ""
        if self.goal == "max":
            return "higher" + best
        if self.goal == "min":
            return "lower" + best
        return f"target {self.target:g}"

    def grade(self, value: Any) -> str:
        """``"good"``, ``"fair"``, ``"poor"`` or ``""`` (not graded, or no value) for one value.

        The deviation ``|value - target|`` is compared with :attr:`bands`.
        """
        if self.bands is None or self.target is None:
            return ""
        try:
            v = float(value)
        except (TypeError, ValueError):
            return ""
        if not np.isfinite(v):
            return ""
        good, fair = self.bands
        deviation = abs(v - float(self.target))
        if deviation <= good:
            return "good"
        return "fair" if deviation <= fair else "poor"


#: every registered scalar statistic, by key; filled by
#: :func:`haplogen.statistics.register_statistic` (the built-in statistics are registered by
#: :func:`haplogen.statistics.load_statistics`, which :func:`haplogen.evaluation.evaluate` calls)
METRICS: dict[str, MetricSpec] = {}


def register_metric(spec: MetricSpec) -> MetricSpec:
    """Add ``spec`` to :data:`METRICS`; a key can be registered only once.

    Re-registering an identical spec (a module imported twice) is allowed.
    """
    existing = METRICS.get(spec.key)
    if existing is not None and existing != spec:
        raise ValueError(
            f"metric {spec.key!r} is already registered with a different spec; give the new "
            "statistic's value another key"
        )
    METRICS[spec.key] = spec
    return spec


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
