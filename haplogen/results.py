"""What an evaluation measured: :class:`Evaluation` and the result of each statistic.

A leaf of the package: :mod:`haplogen.evaluation` builds these objects and
:mod:`haplogen.report` renders them, and this module imports neither, so the two never
import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .metrics.base import MetricSpec
from .statistics.registry import Statistic

__all__ = ["Evaluation", "StatisticResult"]


@dataclass(frozen=True)
class StatisticResult:
    """What one registered statistic gave, or why it did not run.

    Attributes
    ----------
    statistic
        Its registration (name, title, specs, figures with their how-to-read text).
    result
        The statistic's own typed result (for :mod:`haplogen.statistics.ld`, an
        ``LDResult``), handed to its figure functions; None when it was skipped.
    skipped
        One sentence saying why it did not run (an unmet need, switched off), or None.
    seconds
        Time spent computing it, over every set.
    """

    statistic: Statistic
    result: Any = None
    skipped: str | None = None
    seconds: float = 0.0

    @property
    def name(self) -> str:
        """The statistic's name."""
        return self.statistic.name

    @property
    def ran(self) -> bool:
        """True when the statistic was computed."""
        return self.skipped is None


@dataclass
class Evaluation:
    """Everything measured by :func:`haplogen.evaluation.evaluate`.

    Attributes
    ----------
    real_name
        Name of the real set (``"real"``; the training set when a holdout is given).
    synthetic_names
        Names of the synthetic sets, in the order given.
    metrics
        ``{set name: {value key: value}}``: the scalar values (NaN when undefined).
    specs
        ``{value key: MetricSpec}`` of every key in :attr:`metrics`, in report order.
    results
        ``{statistic name: StatisticResult}`` of every registered statistic, in report order,
        the skipped ones included (with their reason).
    provenance
        Record of the run (:func:`haplogen.provenance.make_record`) plus ``sources``, the
        ``source`` of every input set.
    notes
        Sentences on subsampling and other choices that shape the numbers.
    timings
        Seconds spent per statistic (summed over sets) and ``total``.
    sets
        ``{set name: {"n_haplotypes", "n_sites", "role"}}`` for the real set, each synthetic
        set and the holdout.
    reference
        ``{value key: value}`` of the holdout scored like a synthetic set against the real set
        (the floor an honest generator can reach); empty without a holdout or with
        ``evaluate(..., reference=False)``.
    reference_name
        Name of the reference column (``"holdout"``), or None when there is none.
    """

    real_name: str
    synthetic_names: list[str]
    metrics: dict[str, dict[str, float]]
    specs: dict[str, MetricSpec]
    results: dict[str, StatisticResult]
    provenance: dict[str, Any]
    notes: list[str]
    timings: dict[str, float]
    sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    reference: dict[str, float] = field(default_factory=dict)
    reference_name: str | None = None

    def result(self, name: str) -> Any:
        """The typed result of the statistic ``name``; None when it did not run or is unknown."""
        outcome = self.results.get(name)
        return outcome.result if outcome is not None and outcome.ran else None

    @property
    def skipped(self) -> dict[str, str]:
        """``{statistic name: why it did not run}``, in report order."""
        return {name: r.skipped for name, r in self.results.items() if r.skipped is not None}

    @property
    def privacy(self) -> dict[str, dict[str, Any]] | None:
        """``{set name: privacy_audit(...) dict with its verdict}`` when the privacy audit ran, else None."""
        result = self.result("privacy")
        return None if result is None else result.audits
