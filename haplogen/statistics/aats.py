"""Nearest-neighbour adversarial accuracy (AATS, Yale et al. 2020) of real vs each synthetic set.

The subsample size: both sets are drawn down to the same number n of haplotypes,
:func:`haplogen.metrics.aats.aats_size` (the smaller set, capped so that one search compares
at most :data:`~haplogen.metrics.aats.NEAREST_NEIGHBOUR_BUDGET` haplotype-site pairs: 3,162
haplotypes at 100,000 SNPs; 805-SNP and 10,000-SNP sets of up to 10,000 haplotypes stay
whole). The option ``size`` (``haplogen evaluate --aats-size N``) sets n, 0 the whole sets.
The accuracies are those of sets of n haplotypes (nearest neighbours are nearer in larger
sets), so the report states n beside every value, and ``metrics.json`` records it
(provenance parameter ``aats``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import blockwise
from ..errors import InputError
from ..metrics.aats import NEAREST_NEIGHBOUR_BUDGET, aats_size, adversarial_accuracy
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


def _subsample_size(ctx: EvaluationContext, n_syn: int, statistic: str = "aats") -> tuple[int, str]:
    """The number of haplotypes drawn from each set, and how it was chosen (a clause).

    Parameters
    ----------
    ctx
        The evaluation; its option ``size`` of ``statistic`` (None: automatic, 0: the whole
        sets, n: n haplotypes) decides.
    n_syn
        Haplotypes of the synthetic set.

    Raises
    ------
    InputError
        When the option is negative, or larger than the smaller set.
    """
    n_real, n_sites = ctx.real.n_haplotypes, ctx.real.n_sites
    largest = min(n_real, n_syn)
    asked = ctx.option(statistic, "size")
    if asked is None:
        size = aats_size(n_real, n_syn, n_sites, budget=NEAREST_NEIGHBOUR_BUDGET)
        if size < largest:
            return size, (f"capped from {largest:,} so that a search compares at most "
                          f"{NEAREST_NEIGHBOUR_BUDGET:.0e} haplotype-site pairs (n² x {n_sites:,} sites; "
                          "--aats-size sets n, 0 the whole sets)")
        return size, "the smaller set, whole"
    asked = int(asked)
    if asked < 0 or asked == 1 or asked > largest:
        raise InputError(
            f"the AATS subsample size must be 0 (the whole sets) or between 2 and the smaller set's size "
            f"({largest:,}), found {asked}; pass --aats-size 0 or a size in that range"
        )
    return (largest, "the smaller set, whole (asked for)") if asked == 0 else (asked, "as asked (--aats-size)")


def compute(ctx: EvaluationContext) -> Measurement:
    comparisons, notes, chosen = {}, [], {}
    for name, h in ctx.synthetic.items():
        size, how = _subsample_size(ctx, h.n_haplotypes)
        ctx.say(f"AATS ({ctx.aats_repeats} subsamples): {name}")
        if size < min(ctx.real.n_haplotypes, h.n_haplotypes):
            ctx.say(f"AATS of {name} on {size:,} haplotypes of each set ({how})")
        if ctx.blockwise is not None:
            res = comparisons[name] = blockwise.adversarial_accuracy(
                ctx.blockwise.array(ctx.real), ctx.blockwise.array(h), n_repeats=ctx.aats_repeats, size=size,
                seed=ctx.seed, engine=ctx.blockwise)
        else:
            res = comparisons[name] = adversarial_accuracy(ctx.real.matrix, h.matrix, n_repeats=ctx.aats_repeats,
                                                           size=size, seed=ctx.seed)
        chosen[name] = {"size": int(res["size"]), "n_repeats": int(res["n_repeats"]), "size_rule": how}
        if int(res["n_repeats"]) > 1:
            notes.append(
                f"AATS of {name}: mean of {res['n_repeats']} random subsamples of {res['size']:,} real and "
                f"{res['size']:,} synthetic haplotypes ({how}; standard deviation {float(res['aats_sd']):.3f})."
            )
        else:
            notes.append(
                f"AATS of {name}: computed once on {res['size']:,} real and {res['size']:,} synthetic "
                "haplotypes (equal-sized sets need no subsampling)."
            )
        if how.startswith("capped") or how.startswith("as asked"):
            notes.append(
                f"AATS of {name} is measured on sets of {res['size']:,} haplotypes: nearest neighbours are nearer "
                "in larger sets, so compare it only with AATS at the same size."
            )
        imbalance = _imbalance_note(name, float(res["aa_truth"]), float(res["aa_syn"]))
        if imbalance:
            notes.append(imbalance)
    return Measurement(
        values={name: {key: res[key] for key in _KEYS} for name, res in comparisons.items()},
        result=AATSResult(comparisons),
        notes=notes,
        parameters={"aats": chosen},
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
