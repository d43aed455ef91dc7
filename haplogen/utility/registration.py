"""The two utility measures as statistics of the evaluation, registered with one call.

:func:`register_utility_statistics` registers, in :mod:`haplogen.statistics.registry`:

* ``train_on_artificial`` (on by default; needs a holdout, population labels of the real and
  holdout sets, and at least one labelled artificial set): accuracy and macro-F1 of the
  population classifier of :mod:`haplogen.utility.classifier` trained on each artificial set,
  and its accuracy gap to the same classifier trained on the real set;
* ``imputation`` (opt-in, ``evaluate(..., statistics=["imputation"])``, because it runs Beagle;
  needs a holdout and Beagle 5): imputation r² of the holdout's masked SNPs with each
  artificial panel, overall and by MAF bin, its gap to the real panel, and the gain of the
  real + artificial panel over the real one (:mod:`haplogen.utility.imputation`).

``metrics.json`` holds values per artificial set; the real reference (train-on-real accuracy,
the real panel's r²) is in the notes and in the figures. Options, as
``evaluate(..., options={"imputation": {...}})``: ``array_every``, ``array_offset``,
``combined``, ``nthreads``, ``memory_gb``, ``beagle``, ``timeout_s``; for
``train_on_artificial``: ``level``, ``n_components``, ``match_size``.

Nothing is registered on import: the caller decides (the evaluation's statistics stay the
same whatever module happens to be imported first).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..metrics.base import MetricSpec
from ..statistics.registry import HOLDOUT, EvaluationContext, FigureSpec, Measurement, Need, Statistic, register_statistic
from .classifier import UNKNOWN, plot_confusion, train_on_synthetic
from .imputation import DEFAULT_MEMORY_GB, MAF_BIN_LABELS, beagle_unavailable_reason, imputation_utility, plot_imputation

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ..haplotypes import Haplotypes

__all__ = ["UTILITY_STATISTICS", "register_utility_statistics"]

#: names of the statistics registered by :func:`register_utility_statistics`
UTILITY_STATISTICS = ("train_on_artificial", "imputation")
#: value keys of the MAF bins, in the order of MAF_BIN_LABELS
_BIN_KEYS = ("imputation_r2_maf_le1", "imputation_r2_maf_1to5", "imputation_r2_maf_gt5")


# ---------------------------------------------------------------------------- train on artificial
def _labelled_sets(ctx: EvaluationContext) -> str | None:
    level = ctx.option("train_on_artificial", "level", "population")
    if ctx.real.population is None:
        return "the real set carries no population labels (pass a samples table with --labels)"
    if ctx.holdout is not None and (ctx.holdout.population is None or bool((ctx.holdout.population == UNKNOWN).all())):
        return "the holdout individuals carry no population labels (pass a samples table that lists them)"
    if not any(h.population is not None for h in ctx.synthetic.values()):
        return (f"no synthetic set carries {level.replace('_', '-')} labels (sample them from a conditional "
                "model, which writes a samples table)")
    return None


LABELLED_SETS = Need("labelled sets", _labelled_sets)


def _compute_classifier(ctx: EvaluationContext) -> Measurement:
    assert ctx.holdout is not None  # guaranteed by HOLDOUT
    opt = {k: ctx.option("train_on_artificial", k, d)
           for k, d in (("level", "population"), ("n_components", 20), ("match_size", True))}
    ctx.say("train on artificial, test on real")
    result = train_on_synthetic(ctx.real, ctx.synthetic, ctx.holdout, real_name=ctx.real_name, seed=ctx.seed, **opt)
    real = result["accuracy"][ctx.real_name]
    values = {
        name: {"toar_accuracy": result["accuracy"][name], "toar_macro_f1": result["macro_f1"][name],
               "toar_accuracy_gap": result["accuracy"][name] - real}
        for name in result["sets"] if name != ctx.real_name
    }
    notes = [f"Train on real, test on real: accuracy {real:.3f}, macro-F1 {result['macro_f1'][ctx.real_name]:.3f} "
             f"on {result['n_test']} holdout haplotypes ({result['level'].replace('_', '-')} classifier: "
             f"{result['settings']['model']})."]
    notes += result["notes"]
    return Measurement(values=values, result=result, notes=notes,
                       parameters={"train_on_artificial": {**opt, "seed": ctx.seed}},
                       reference={"toar_accuracy": real, "toar_macro_f1": result["macro_f1"][ctx.real_name]})


def _draw_confusion(result: dict[str, Any]) -> "Figure":
    return plot_confusion(result)


_CLASSIFIER_SPECS = (
    MetricSpec("toar_accuracy", "train-on-artificial accuracy", "max", 1.0, (0.0, 1.0),
               "accuracy on the real holdout of a population classifier trained on the artificial set"),
    MetricSpec("toar_macro_f1", "train-on-artificial macro-F1", "max", 1.0, (0.0, 1.0),
               "macro-F1 on the real holdout of a population classifier trained on the artificial set"),
    MetricSpec("toar_accuracy_gap", "accuracy gap to train-on-real", "target", 0.0, (-1.0, 1.0),
               "train-on-artificial minus train-on-real accuracy, both tested on the real holdout",
               bands=(0.02, 0.05)),
)


# ---------------------------------------------------------------------------- imputation
def _beagle(ctx: EvaluationContext) -> str | None:
    reason = beagle_unavailable_reason(ctx.option("imputation", "beagle"))
    return None if reason is None else f"Beagle 5 cannot run: {reason}"


BEAGLE = Need("program beagle", _beagle)


def _compute_imputation(ctx: EvaluationContext) -> Measurement:
    assert ctx.holdout is not None  # guaranteed by HOLDOUT
    opt = {k: ctx.option("imputation", k, d) for k, d in (
        ("array_every", 10), ("array_offset", 0), ("combined", True), ("nthreads", 2),
        ("memory_gb", DEFAULT_MEMORY_GB), ("beagle", None), ("timeout_s", None))}
    # a set that is the holdout itself (the real holdout passed as a set, as a benchmark's floor row
    # does) would impute the targets from their own haplotypes: r² near 1, a figure that means nothing
    itself = [name for name, h in ctx.synthetic.items() if _same_haplotypes(h, ctx.holdout)]
    panels = {name: h for name, h in ctx.synthetic.items() if name not in itself}
    ctx.say(f"imputation with Beagle: {1 + len(panels) * (2 if opt['combined'] else 1)} panels")
    result = imputation_utility(ctx.real, panels, ctx.holdout, real_name=ctx.real_name, seed=ctx.seed, **opt)
    real = ctx.real_name
    values: dict[str, dict[str, float]] = {}
    for name in panels:
        v = {"imputation_r2": result["r2"][name],
             **dict(zip(_BIN_KEYS, result["r2_by_bin"][name])),
             "imputation_r2_gap": result["r2"][name] - result["r2"][real]}
        if opt["combined"]:
            v["imputation_r2_combined_gain"] = result["r2"][f"{real}+{name}"] - result["r2"][real]
        values[name] = v
    bins = ", ".join(f"{label} {r2:.3f} ({n} SNPs)" if not math.isnan(r2) else f"{label} n/a ({n} SNPs)"
                     for label, r2, n in zip(MAF_BIN_LABELS, result["r2_by_bin"][real], result["n_scored_by_bin"][real]))
    notes = [f"Imputation with the real panel ({result['panel_haplotypes'][real]} haplotypes): r² "
             f"{result['r2'][real]:.3f} over {result['n_scored'][real]} SNPs; by MAF: {bins}."]
    notes += [f"Imputation: set {name!r} holds the holdout's own haplotypes; as a panel it would impute the targets "
              "from themselves, so it is not scored." for name in itself]
    notes += result["notes"]
    settings = {k: v for k, v in opt.items() if k != "timeout_s"}
    return Measurement(values=values, result=result, notes=notes,
                       parameters={"imputation": {**settings, "beagle_version": result["settings"]["beagle"]}},
                       reference={"imputation_r2": result["r2"][real], **dict(zip(_BIN_KEYS, result["r2_by_bin"][real]))})


def _same_haplotypes(a: "Haplotypes", b: "Haplotypes") -> bool:
    """Whether two sets hold the same haplotypes (as a multiset, in any order)."""
    if a.matrix.shape != b.matrix.shape:
        return False
    (ua, ca), (ub, cb) = (np.unique(h.matrix, axis=0, return_counts=True) for h in (a, b))
    return bool(np.array_equal(ua, ub) and np.array_equal(ca, cb))


def _draw_imputation(result: dict[str, Any]) -> "Figure":
    return plot_imputation(result)


_IMPUTATION_SPECS = (
    MetricSpec("imputation_r2", "imputation r²", "max", 1.0, (0.0, 1.0),
               "mean r² of Beagle's dosage and the truth over the holdout's masked SNPs, artificial panel"),
    *(MetricSpec(key, f"imputation r², MAF {label}", "max", 1.0, (0.0, 1.0),
                 f"imputation r² over the masked SNPs with MAF {label} in the real panel, artificial panel")
      for key, label in zip(_BIN_KEYS, MAF_BIN_LABELS)),
    MetricSpec("imputation_r2_gap", "imputation r² gap to the real panel", "target", 0.0, (-1.0, 1.0),
               "imputation r² with the artificial panel minus with the real panel of the same size",
               bands=(0.02, 0.05)),
    MetricSpec("imputation_r2_combined_gain", "imputation r² gain, real + artificial", "max", None, (-1.0, 1.0),
               "imputation r² with the real + artificial panel minus with the real panel alone"),
)


# ---------------------------------------------------------------------------- registration
def register_utility_statistics() -> list[Statistic]:
    """Register ``train_on_artificial`` and the opt-in ``imputation`` (harmless when done twice).

    Returns
    -------
    list of Statistic
        The two registrations, in the order of :data:`UTILITY_STATISTICS`.
    """
    return [
        register_statistic(
            "train_on_artificial",
            title="Train on artificial, test on real",
            description="a population classifier trained on each artificial set, scored on the real holdout",
            compute=_compute_classifier,
            specs=_CLASSIFIER_SPECS,
            needs=(HOLDOUT, LABELLED_SETS),
            order=90,
            figures=(FigureSpec(
                "train-on-artificial", "Train on artificial, test on real", _draw_confusion,
                "Confusion matrices of the real holdout haplotypes (rows: true population, columns: predicted; "
                "shade: share of the row) for a classifier (PCA, then logistic regression) trained on the real "
                "training set and on each labelled artificial set. Useful artificial genomes give a matrix like "
                "the real one, and an accuracy within a few points of it.",
            ),),
        ),
        register_statistic(
            "imputation",
            title="Imputation reference panel",
            description="Beagle imputation of the holdout's masked SNPs with real, artificial and combined panels",
            compute=_compute_imputation,
            specs=_IMPUTATION_SPECS,
            needs=(HOLDOUT, BEAGLE),
            order=95,
            default=False,
            figures=(FigureSpec(
                "imputation", "Imputation r² by minor allele frequency", _draw_imputation,
                "Holdout individuals keep every 10th SNP (by default); Beagle imputes the others from each panel. "
                "Bars: mean r² of imputed dosage and truth per MAF bin (MAF in the real panel) and over all masked "
                "SNPs. A useful artificial panel comes close to the real one, above all for rare alleles; "
                "real + artificial should not fall below real alone.",
            ),),
        ),
    ]
