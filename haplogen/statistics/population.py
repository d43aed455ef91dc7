"""Per-population allele frequencies and pairwise Fst, real vs each synthetic set (needs labels)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import blockwise
from ..metrics.base import MetricSpec
from ..metrics.population import population_comparison
from .registry import POPULATION_LABELS, EvaluationContext, FigureSpec, Measurement, register_statistic

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["PopulationResult"]


@dataclass(frozen=True)
class PopulationResult:
    """Result of the population statistic.

    Attributes
    ----------
    comparisons
        ``{set name: population_comparison(...)}``: ``populations``, ``pop_af_r`` ({population:
        r}), ``fst_real`` and ``fst_syn`` (shape (n_pop, n_pop)), ``fst_r``, ``syn_labels``.
    """

    comparisons: dict[str, dict[str, Any]]


def compute(ctx: EvaluationContext) -> Measurement:
    comparisons = {}
    for name, h in ctx.synthetic.items():
        ctx.say(f"populations: {name}")
        if ctx.blockwise is not None:
            comparisons[name] = blockwise.population_comparison(
                ctx.blockwise.array(ctx.real), ctx.real.population, ctx.blockwise.array(h), seed=ctx.seed,
                syn_pop=h.population, engine=ctx.blockwise)
        else:
            comparisons[name] = population_comparison(ctx.real.matrix, ctx.real.population, h.matrix,
                                                      seed=ctx.seed, syn_pop=h.population)
    return Measurement(
        values={name: {"pop_af_r_mean": res["pop_af_r_mean"], "fst_r": res["fst_r"]}
                for name, res in comparisons.items()},
        result=PopulationResult(comparisons),
    )


def draw(result: PopulationResult) -> "Figure":
    from ..report.figures import plot_population

    return plot_population(result.comparisons)


register_statistic(
    "population",
    title="Populations",
    description="allele frequencies and Fst population by population",
    compute=compute,
    order=70,
    needs=[POPULATION_LABELS],
    specs=[
        MetricSpec("pop_af_r_mean", "population allele frequency r", "max", 1.0, (-1.0, 1.0),
                   "mean over populations of the allele frequency Pearson r, real vs artificial", bands=(0.02, 0.10)),
        MetricSpec("fst_r", "Fst r", "max", 1.0, (-1.0, 1.0),
                   "Pearson r between the pairwise Hudson Fst matrices of the real and artificial populations",
                   bands=(0.05, 0.15)),
    ],
    figures=[
        FigureSpec(
            "population", "Populations", draw,
            "Left: allele frequency r per population (synthetic haplotypes assigned to populations by a "
            "classifier trained on the real set when they carry no label). Right: pairwise Fst between populations "
            "in the real and in the synthetic set; the matrices should look alike.",
        ),
    ],
)
