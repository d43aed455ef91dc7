"""Nearest-neighbour adversarial accuracy (AATS, Yale et al. 2020) of real vs each synthetic set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import blockwise
from ..metrics.aats import adversarial_accuracy
from ..metrics.base import MetricSpec
from .registry import EvaluationContext, FigureSpec, Measurement, register_statistic

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["AATSResult", "AATS_IMBALANCE"]

#: |AA_truth - AA_syn| above which the report warns that the AATS mean hides two unbalanced halves
AATS_IMBALANCE = 0.2

_KEYS = ("aats", "aats_strict", "aa_truth", "aa_syn")


@dataclass(frozen=True)
class AATSResult:
    """Result of the AATS statistic.

    Attributes
    ----------
    comparisons
        ``{set name: adversarial_accuracy(real, set)}``: ``d_rr``, ``d_rs``, ``d_ss``, ``d_sr``
        (nearest-neighbour distances, shape (size,)), ``aats``, ``aats_sd``, ``aats_strict``,
        ``aa_truth``, ``aa_syn``, ``n_repeats``, ``size``.
    """

    comparisons: dict[str, dict[str, Any]]


def _imbalance_note(name: str, aa_truth: float, aa_syn: float) -> str | None:
    imbalance = aa_truth - aa_syn
    if not abs(imbalance) > AATS_IMBALANCE:
        return None
    # AATS averages two halves; a mean near 0.5 can hide two halves far from it
    return (
        f"AATS of {name} averages AA truth {aa_truth:.3f} and AA synthetic {aa_syn:.3f}: read the two "
        "halves, not the mean. "
        + (
            "Real haplotypes are nearer to each other than to any synthetic one and synthetic ones "
            "nearer to real than to each other: the synthetic set is more dispersed than the real "
            "one and leaves part of it uncovered."
            if imbalance > 0
            else "Synthetic haplotypes are nearer to each other than real ones are: the mark of mode "
            "collapse (too little diversity)."
        )
    )


def compute(ctx: EvaluationContext) -> Measurement:
    comparisons, notes = {}, []
    for name, h in ctx.synthetic.items():
        ctx.say(f"AATS ({ctx.aats_repeats} subsamples): {name}")
        if ctx.blockwise is not None:
            res = comparisons[name] = blockwise.adversarial_accuracy(
                ctx.blockwise.array(ctx.real), ctx.blockwise.array(h), n_repeats=ctx.aats_repeats, seed=ctx.seed,
                engine=ctx.blockwise)
        else:
            res = comparisons[name] = adversarial_accuracy(ctx.real.matrix, h.matrix, n_repeats=ctx.aats_repeats,
                                                           seed=ctx.seed)
        if int(res["n_repeats"]) > 1:
            notes.append(
                f"AATS of {name}: mean of {res['n_repeats']} random subsamples of {res['size']:,} real and "
                f"{res['size']:,} synthetic haplotypes (standard deviation {float(res['aats_sd']):.3f})."
            )
        else:
            notes.append(
                f"AATS of {name}: computed once on {res['size']:,} real and {res['size']:,} synthetic "
                "haplotypes (equal-sized sets need no subsampling)."
            )
        imbalance = _imbalance_note(name, float(res["aa_truth"]), float(res["aa_syn"]))
        if imbalance:
            notes.append(imbalance)
    return Measurement(
        values={name: {key: res[key] for key in _KEYS} for name, res in comparisons.items()},
        result=AATSResult(comparisons),
        notes=notes,
    )


def draw(result: AATSResult) -> "Figure":
    from ..report.figures import plot_aats

    return plot_aats(result.comparisons)


register_statistic(
    "aats",
    title="Nearest-neighbour adversarial accuracy (AATS)",
    description="can a nearest-neighbour classifier tell real from artificial haplotypes?",
    compute=compute,
    order=60,
    specs=[
        MetricSpec("aats", "AATS", "target", 0.5, (0.0, 1.0),
                   "nearest-neighbour adversarial accuracy (Yale et al. 2020), ties counted 1/2", bands=(0.05, 0.10)),
        MetricSpec("aats_strict", "AATS (strict)", "target", 0.5, (0.0, 1.0),
                   "nearest-neighbour adversarial accuracy with ties counted 0, as in Yelmen et al. 2021",
                   bands=(0.06, 0.12)),
        MetricSpec("aa_truth", "AA truth", "target", 0.5, (0.0, 1.0),
                   "share of real haplotypes whose nearest artificial neighbour is farther than their "
                   "nearest real neighbour (ties 1/2)", bands=(0.05, 0.10)),
        MetricSpec("aa_syn", "AA synthetic", "target", 0.5, (0.0, 1.0),
                   "share of artificial haplotypes whose nearest real neighbour is farther than their "
                   "nearest artificial neighbour (ties 1/2)", bands=(0.05, 0.10)),
    ],
    figures=[
        FigureSpec(
            "aats", "Nearest-neighbour adversarial accuracy (AATS)", draw,
            "Distances of each haplotype to its nearest neighbour in its own set and in the other set. AATS near "
            "0.5 means real and synthetic haplotypes are mutually indistinguishable by their nearest neighbour; "
            "below 0.5 the model copies, above 0.5 it does not cover the real variation (bars: spread over "
            "subsamples).",
        ),
    ],
)
