"""Principal components of the real set, with every synthetic set projected on them."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    syn_population, syn_super_population
        ``{set name: labels of its haplotypes}`` for the synthetic sets that carry labels (a
        conditional model's samples table), to colour them like the real ones.
    """

    pca: dict[str, Any]
    real_population: np.ndarray | None
    real_super_population: np.ndarray | None
    syn_population: dict[str, np.ndarray] = field(default_factory=dict)
    syn_super_population: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def colour_groups(self) -> np.ndarray | None:
        """The labels that colour the real haplotypes: populations, or super-populations when many."""
        groups = self.real_population
        if (groups is not None and len(set(groups.tolist())) > MAX_COLOURED_POPULATIONS
                and self.real_super_population is not None):
            return self.real_super_population
        return groups

    @property
    def syn_colour_groups(self) -> dict[str, np.ndarray]:
        """The labels that colour each labelled synthetic set, at the level of the real colours."""
        if self.real_population is None:
            return {}
        by_super = self.colour_groups is self.real_super_population and self.real_super_population is not None
        return dict(self.syn_super_population if by_super else self.syn_population)


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
        result=PCAResult(pca, ctx.real.population, ctx.real.super_population,
                         syn_population={n: h.population for n, h in ctx.synthetic.items() if h.population is not None},
                         syn_super_population={n: h.super_population for n, h in ctx.synthetic.items()
                                               if h.super_population is not None}),
    )


def draw(result: PCAResult) -> "Figure":
    from ..report.figures import plot_pca

    return plot_pca(result.pca, real_population=result.colour_groups, syn_population=result.syn_colour_groups)


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
            "on the same axes and should cover the same clusters in the same proportions. A synthetic set with "
            "population labels is coloured like the real populations, over the real set in grey: each population "
            "should land on its own cluster. W1 is the Wasserstein distance between real and synthetic coordinates "
            "(0 is perfect).",
        ),
    ],
)
