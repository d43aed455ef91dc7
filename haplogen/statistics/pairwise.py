"""Pairwise Hamming distances within the real set, within each synthetic set and between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import blockwise
from ..metrics.base import MetricSpec
from ..metrics.distance import pairwise_distance_comparison
from .registry import EvaluationContext, FigureSpec, Measurement, register_statistic

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["PairwiseResult"]


@dataclass(frozen=True)
class PairwiseResult:
    """Result of the pairwise-distance statistic.

    Attributes
    ----------
    comparisons
        ``{set name: pairwise_distance_comparison(real, set)}``: ``hist_real``, ``hist_syn``,
        ``hist_between`` (counts per distance 0, 1, 2, ...), ``pairwise_w1``, ``n_pairs_*``.
    """

    comparisons: dict[str, dict[str, Any]]


def compute(ctx: EvaluationContext) -> Measurement:
    comparisons, notes = {}, []
    for name, h in ctx.synthetic.items():
        ctx.say(f"pairwise distances: {name}")
        if ctx.blockwise is not None:
            res = comparisons[name] = blockwise.pairwise_distance_comparison(
                ctx.blockwise.array(ctx.real), ctx.blockwise.array(h), seed=ctx.seed, engine=ctx.blockwise)
        else:
            res = comparisons[name] = pairwise_distance_comparison(ctx.real.matrix, h.matrix, seed=ctx.seed)
        if res.get("subsampled"):
            notes.append(
                f"Pairwise distances of {name}: random samples of pairs ({res['n_pairs_real']:,} within "
                f"{ctx.real_name}, {res['n_pairs_syn']:,} within {name}, {res['n_pairs_between']:,} between) "
                "instead of all pairs."
            )
    return Measurement(
        values={name: {"pairwise_w1": res["pairwise_w1"]} for name, res in comparisons.items()},
        result=PairwiseResult(comparisons),
        notes=notes,
    )


def draw(result: PairwiseResult) -> "Figure":
    from ..report.figures import plot_pairwise_distances

    return plot_pairwise_distances(result.comparisons)


register_statistic(
    "pairwise",
    title="Pairwise distances",
    description="distribution of Hamming distances between pairs of haplotypes",
    compute=compute,
    order=40,
    specs=[
        MetricSpec("pairwise_w1", "pairwise distance W1", "min", 0.0, (0.0, float("inf")),
                   "1-Wasserstein distance between within-real and within-artificial pairwise "
                   "Hamming distance distributions", "sites"),
    ],
    figures=[
        FigureSpec(
            "pairwise-distances", "Pairwise distances", draw,
            "Distribution of Hamming distances between pairs of haplotypes within the real set, "
            "within the synthetic set and between them; a synthetic distribution shifted left means too little "
            "diversity (mode collapse), shifted right means noise.",
        ),
    ],
)
