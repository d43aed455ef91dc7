"""Allele frequencies of every site, real vs each synthetic set (benchmark track F).

Grade bands of this and the other fidelity statistics were chosen from the reference figures
of the 1000 Genomes 805-SNP benchmark: two halves of the real data reach allele frequency r
0.998, LD r 0.988 and AATS 0.49-0.50; the published RBM (0.994, 0.977, 0.55) is fair to
good, the mode-collapsed GAN (AATS 0.61) poor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import blockwise
from ..metrics.base import MetricSpec
from ..metrics.frequency import allele_frequency_comparison
from .registry import EvaluationContext, FigureSpec, Measurement, register_statistic

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["AlleleFrequencyResult"]

_INF = float("inf")
_KEYS = ("af_r", "af_rmse", "af_fixed", "af_lost")


@dataclass(frozen=True)
class AlleleFrequencyResult:
    """Result of the allele-frequency statistic.

    Attributes
    ----------
    comparisons
        ``{set name: allele_frequency_comparison(real, set)}``: ``real_freq`` and
        ``syn_freq`` (shape (n_sites,)), ``af_r``, ``af_rmse``, ``af_fixed``, ``af_lost``.
    """

    comparisons: dict[str, dict[str, Any]]


def compute(ctx: EvaluationContext) -> Measurement:
    comparisons = {}
    engine = ctx.blockwise
    real_counts = blockwise.site_counts(engine.array(ctx.real), engine=engine) if engine is not None else None
    for name, h in ctx.synthetic.items():
        ctx.say(f"allele frequencies: {name}")
        if engine is not None:
            comparisons[name] = blockwise.allele_frequency_comparison(
                engine.array(ctx.real), engine.array(h), real_counts=real_counts, engine=engine)
        else:
            comparisons[name] = allele_frequency_comparison(ctx.real.matrix, h.matrix)
    return Measurement(
        values={name: {key: res[key] for key in _KEYS} for name, res in comparisons.items()},
        result=AlleleFrequencyResult(comparisons),
    )


def draw(result: AlleleFrequencyResult) -> "Figure":
    from ..report.figures import plot_allele_frequency

    return plot_allele_frequency(result.comparisons)


register_statistic(
    "allele_frequency",
    title="Allele frequencies",
    description="per-site frequency of allele 1, real vs artificial",
    compute=compute,
    order=10,
    specs=[
        MetricSpec("af_r", "allele frequency r", "max", 1.0, (-1.0, 1.0),
                   "Pearson r of the per-site frequency of allele 1, real vs artificial", bands=(0.01, 0.05)),
        MetricSpec("af_rmse", "allele frequency RMSE", "min", 0.0, (0.0, 1.0),
                   "root mean squared difference of per-site allele-1 frequencies", bands=(0.01, 0.03)),
        MetricSpec("af_fixed", "sites fixed in artificial", "min", 0.0, (0.0, _INF),
                   "sites polymorphic in the real set where every artificial haplotype carries allele 1",
                   "sites", bands=(0.0, 5.0)),
        MetricSpec("af_lost", "sites lost in artificial", "min", 0.0, (0.0, _INF),
                   "sites polymorphic in the real set where no artificial haplotype carries allele 1",
                   "sites", bands=(0.0, 5.0)),
    ],
    figures=[
        FigureSpec(
            "allele-frequency", "Allele frequencies", draw,
            "Each dot is a site: its allele-1 frequency in the real set (x) and in the synthetic set (y). "
            "Dots on the diagonal are reproduced; r is the Pearson correlation (1 is perfect).",
        ),
    ],
)
