"""Principal components of the real set, with every synthetic set projected on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import blockwise
from ..metrics.base import MetricSpec
from ..metrics.pca import pca_comparison
from .registry import EvaluationContext, FigureSpec, Measurement, register_statistic

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["PCAResult"]

_INF = float("inf")
#: more real populations than this are coloured by super-population (26 colours do not read)
MAX_COLOURED_POPULATIONS = 10


@dataclass(frozen=True)
class PCAResult:
    """Result of the PCA statistic.

    Attributes
    ----------
    pca
        :func:`haplogen.metrics.pca.pca_comparison` of the real set and every synthetic set:
        ``real_coords`` (shape (n_real, n_components)), ``syn_coords``, ``w1``,
        ``explained_variance_ratio``.
    real_population, real_super_population : ndarray of str, shape (n_real,), or None
        Labels of the real haplotypes, to colour them.
    """

    pca: dict[str, Any]
    real_population: np.ndarray | None
    real_super_population: np.ndarray | None

    @property
    def colour_groups(self) -> np.ndarray | None:
        """The labels that colour the real haplotypes: populations, or super-populations when many."""
        groups = self.real_population
        if (groups is not None and len(set(groups.tolist())) > MAX_COLOURED_POPULATIONS
                and self.real_super_population is not None):
            return self.real_super_population
        return groups


def compute(ctx: EvaluationContext) -> Measurement:
    engine = ctx.blockwise
    notes = []
    if engine is not None:
        ctx.say(f"PCA (randomized SVD, {engine.description})")
        pca = blockwise.pca_comparison(engine.array(ctx.real), {n: engine.array(h) for n, h in ctx.synthetic.items()},
                                       seed=ctx.seed, engine=engine)
        notes.append(f"PCA fitted on all {ctx.real.n_haplotypes:,} real haplotypes by a randomized SVD (block-wise).")
    else:
        ctx.say("PCA")
        pca = pca_comparison(ctx.real.matrix, {name: h.matrix for name, h in ctx.synthetic.items()}, seed=ctx.seed)
    return Measurement(
        notes=notes,
        values={name: {"pca_w1_pc1": pca["w1"][name]["pc1"], "pca_w1_pc2": pca["w1"][name]["pc2"]}
                for name in ctx.synthetic},
        result=PCAResult(pca, ctx.real.population, ctx.real.super_population),
    )


def draw(result: PCAResult) -> "Figure":
    from ..report.figures import plot_pca

    return plot_pca(result.pca, real_population=result.colour_groups)


register_statistic(
    "pca",
    title="Principal components",
    description="coordinates on the principal components of the real set",
    compute=compute,
    order=30,
    specs=[
        MetricSpec("pca_w1_pc1", "PC1 W1", "min", 0.0, (0.0, _INF),
                   "1-Wasserstein distance between real and artificial coordinates on PC1 of the real set"),
        MetricSpec("pca_w1_pc2", "PC2 W1", "min", 0.0, (0.0, _INF),
                   "1-Wasserstein distance between real and artificial coordinates on PC2 of the real set"),
    ],
    figures=[
        FigureSpec(
            "pca", "Principal components", draw,
            "Haplotypes on the first two principal components of the real set; synthetic haplotypes are projected "
            "on the same axes and should cover the same clusters in the same proportions. W1 is the Wasserstein "
            "distance between real and synthetic coordinates (0 is perfect).",
        ),
    ],
)
