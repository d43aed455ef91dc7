"""Exact copies: synthetic haplotypes identical to a real one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import blockwise
from ..metrics.base import MetricSpec
from ..metrics.distance import exact_copies
from .registry import EvaluationContext, Measurement, register_statistic

__all__ = ["CopiesResult"]


@dataclass(frozen=True)
class CopiesResult:
    """Result of the exact-copies statistic.

    Attributes
    ----------
    comparisons
        ``{set name: exact_copies(real, set)}``.
    """

    comparisons: dict[str, dict[str, Any]]


def compute(ctx: EvaluationContext) -> Measurement:
    comparisons = {}
    for name, h in ctx.synthetic.items():
        ctx.say(f"exact copies: {name}")
        if ctx.blockwise is not None:
            comparisons[name] = blockwise.exact_copies(ctx.blockwise.array(ctx.real), ctx.blockwise.array(h),
                                                       engine=ctx.blockwise)
        else:
            comparisons[name] = exact_copies(ctx.real.matrix, h.matrix)
    return Measurement(
        values={name: {"exact_copies": res["exact_copies"]} for name, res in comparisons.items()},
        result=CopiesResult(comparisons),
    )


register_statistic(
    "exact_copies",
    title="Exact copies",
    description="artificial haplotypes identical to a real haplotype",
    compute=compute,
    order=65,
    specs=[
        MetricSpec("exact_copies", "exact copies", "min", 0.0, (0.0, float("inf")),
                   "artificial haplotypes identical to a real haplotype", "haplotypes", bands=(0.0, 0.0)),
    ],
)
