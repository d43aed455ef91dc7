"""The privacy audit (benchmark track P): do the synthetic sets reveal their training individuals?

Runs :func:`haplogen.privacy.audit.privacy_audit` of each synthetic set against the real set
(the training set) and the holdout set; needs a holdout. Its values are graded by the audit's
verdict (limits that depend on the set sizes), not by grade bands.

Its nearest-neighbour searches are bounded like AATS: the training and holdout subsets have
the AATS size rule's n (the option ``size``, ``haplogen evaluate --aats-size``; 0 for whole
sets, and then no search is capped), and a search that would still compare more than 10¹²
haplotype-site pairs searches a random subsample of its queries; the report's note says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..metrics.aats import NEAREST_NEIGHBOUR_BUDGET
from ..privacy.audit import PRIVACY_METRICS, PrivacyThresholds, privacy_audit
from .registry import HOLDOUT, EvaluationContext, FigureSpec, Measurement, register_statistic

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["PrivacyResult"]


@dataclass(frozen=True)
class PrivacyResult:
    """Result of the privacy statistic.

    Attributes
    ----------
    audits
        ``{set name: privacy_audit(train, holdout, set)}``, each with its ``verdict``.
    thresholds
        The limits of the verdict.
    """

    audits: dict[str, dict[str, Any]]
    thresholds: PrivacyThresholds


def compute(ctx: EvaluationContext) -> Measurement:
    if ctx.holdout is None:  # evaluate() checks the HOLDOUT need first; a direct call may not
        raise InputError("the privacy audit needs a holdout set of individuals the model never saw; pass one")
    thresholds = ctx.thresholds or PrivacyThresholds()
    asked = ctx.option("privacy", "size")
    if asked is not None and (int(asked) < 0 or int(asked) == 1):
        raise InputError(f"the privacy audit's subset size must be 0 (whole sets) or at least 2, found {asked}; "
                         "pass --aats-size 0 or a size of at least 2")
    size = None if asked is None or int(asked) == 0 else int(asked)
    budget = None if asked is not None else NEAREST_NEIGHBOUR_BUDGET
    audits = {}
    for name, h in ctx.synthetic.items():
        ctx.say(f"privacy audit: {name}")
        engine = ctx.blockwise
        if engine is not None:
            audits[name] = privacy_audit(engine.array(ctx.real), engine.array(ctx.holdout), engine.array(h),
                                         n_repeats=ctx.aats_repeats, seed=ctx.seed, thresholds=thresholds,
                                         size=size, budget=budget, engine=engine)
        else:
            audits[name] = privacy_audit(ctx.real.matrix, ctx.holdout.matrix, h.matrix, n_repeats=ctx.aats_repeats,
                                         seed=ctx.seed, thresholds=thresholds, size=size, budget=budget)
    first = next(iter(audits.values()))
    notes = [
        f"Privacy audit: {ctx.real_name} is the training set ({ctx.real.n_haplotypes:,} haplotypes); "
        f"{first['size']:,} training haplotypes drawn at random against {first['size']:,} holdout "
        f"haplotypes; near-copy threshold from {first['n_train_queries']:,} training haplotypes' "
        "nearest-neighbour distances."
    ]
    for name, audit in audits.items():
        capped = [f"{audit['n_syn_queries']:,} of the {audit['n_syn']:,} artificial haplotypes in the "
                  "closer-to-train and membership searches"] if audit["n_syn_queries"] < audit["n_syn"] else []
        if audit["n_syn_copy_queries"] < audit["n_syn"]:
            capped.append(f"{audit['n_syn_copy_queries']:,} of them in the near-copy search (exact copies: all)")
        if audit["n_holdout_copy_queries"] < audit["size"]:
            capped.append(f"{audit['n_holdout_copy_queries']:,} holdout haplotypes for the holdout's near-copy share")
        smaller = audit["size"] < min(audit["n_train"], audit["n_holdout"], audit["n_syn"])
        if audit["budget"] is None and smaller:
            notes.append(f"Privacy audit of {name}: training and holdout subsets of {audit['size']:,} haplotypes, "
                         "as asked (--aats-size).")
        elif capped or smaller:
            notes.append(
                f"Privacy audit of {name} on random subsamples, so that a search compares at most "
                f"{audit['budget']:.0e} haplotype-site pairs (--aats-size 0 audits whole sets): subsets of "
                f"{audit['size']:,} haplotypes" + "".join(f"; {c}" for c in capped) + "."
            )
    return Measurement(
        values={name: {key: audit[key] for key in PRIVACY_METRICS} for name, audit in audits.items()},
        result=PrivacyResult(audits, thresholds),
        notes=notes,
        parameters={"privacy_thresholds": thresholds.to_dict(),
                    "privacy_subsamples": {name: {k: audit[k] for k in (
                        "size", "n_repeats", "n_train_queries", "n_syn_queries", "n_syn_copy_queries",
                        "n_holdout_copy_queries", "budget")} for name, audit in audits.items()}},
    )


def draw_roc(result: PrivacyResult) -> "Figure":
    from ..report.figures import plot_privacy_roc

    return plot_privacy_roc(result.audits)


def draw_distances(result: PrivacyResult) -> "Figure":
    from ..report.figures import plot_privacy_distances

    return plot_privacy_distances(result.audits)


register_statistic(
    "privacy",
    title="Privacy audit",
    description="privacy loss, closer-to-train share, membership inference and copies against a holdout",
    compute=compute,
    order=80,
    needs=[HOLDOUT],
    specs=list(PRIVACY_METRICS.values()),
    figures=[
        FigureSpec(
            "privacy-roc", "Privacy: membership inference", draw_roc,
            "An attacker who holds the synthetic set guesses that a real haplotype was in the training set "
            "when a synthetic haplotype lies close to it. The curve shows how well this works: on the diagonal "
            "(AUC 0.5) the attacker learns nothing.",
        ),
        FigureSpec(
            "privacy-distances", "Privacy: distance to the nearest synthetic haplotype", draw_distances,
            "Distance of training and of holdout haplotypes to their nearest synthetic haplotype. If the "
            "model memorised its training data, training haplotypes sit closer (the filled histogram shifts "
            "left); the dotted line is the near-copy threshold.",
        ),
    ],
)
