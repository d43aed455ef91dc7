"""Connected 3-point correlations of site triplets, by spacing and at random (Yelmen et al. 2021)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import blockwise
from ..metrics.base import MetricSpec
from ..metrics.correlation import three_point_comparison
from .registry import EvaluationContext, FigureSpec, Measurement, register_statistic

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["ThreePointResult", "SPACINGS"]

#: column spacings of the regular triplets (those with 2 s >= n_sites are left out)
SPACINGS = (1, 4, 16, 64, 256, 1024)

_SPECS = [
    MetricSpec("three_point_r_random", "3-point r (random)", "max", 1.0, (-1.0, 1.0),
               "Pearson r of the connected 3-point correlation over random site triplets", bands=(0.10, 0.30)),
    *[
        MetricSpec(f"three_point_r_{s}", f"3-point r (spacing {s})", "max", 1.0, (-1.0, 1.0),
                   f"Pearson r of the connected 3-point correlation over triplets (i, i+{s}, i+{2 * s})",
                   bands=(0.10, 0.30))
        for s in SPACINGS
    ],
]
_KEYS = {spec.key for spec in _SPECS}


@dataclass(frozen=True)
class ThreePointResult:
    """Result of the 3-point statistic.

    Attributes
    ----------
    comparisons
        ``{set name: three_point_comparison(real, set)}``: ``three_point_r`` ({spacing or
        ``"random"``: r}), ``values`` ({key: (real values, synthetic values)}), ``n_triplets``.
    """

    comparisons: dict[str, dict[str, Any]]


def compute(ctx: EvaluationContext) -> Measurement:
    comparisons, values = {}, {}
    for name, h in ctx.synthetic.items():
        ctx.say(f"3-point correlations: {name}")
        if ctx.blockwise is not None:
            res = comparisons[name] = blockwise.three_point_comparison(
                ctx.blockwise.array(ctx.real), ctx.blockwise.array(h), spacings=SPACINGS, seed=ctx.seed,
                engine=ctx.blockwise)
        else:
            res = comparisons[name] = three_point_comparison(ctx.real.matrix, h.matrix, spacings=SPACINGS,
                                                             seed=ctx.seed)
        values[name] = {f"three_point_r_{k}": r for k, r in res["three_point_r"].items()
                        if f"three_point_r_{k}" in _KEYS}
    notes = []
    n_triplets = next(iter(comparisons.values())).get("n_triplets", {}) if comparisons else {}
    if n_triplets:
        notes.append(
            "3-point correlations use random triplets of sites per spacing ("
            + ", ".join(f"{k}: {v:,}" for k, v in n_triplets.items())
            + ")."
        )
    return Measurement(values=values, result=ThreePointResult(comparisons), notes=notes)


def draw(result: ThreePointResult) -> "Figure":
    from ..report.figures import plot_three_point

    return plot_three_point(result.comparisons)


register_statistic(
    "three_point",
    title="3-point correlations",
    description="connected correlations of three sites, real vs artificial",
    compute=compute,
    order=50,
    specs=_SPECS,
    figures=[
        FigureSpec(
            "three-point", "3-point correlations", draw,
            "Connected three-site correlations, real vs synthetic: left, the Pearson r for site triplets at "
            "growing spacing (1 is perfect); then the random triplets of each set, one dot per triplet.",
        ),
    ],
)
