"""The privacy audit (benchmark track P): do the synthetic sets reveal their training individuals?

Runs :func:`haplogen.privacy.audit.privacy_audit` of each synthetic set against the real set
(the training set) and the holdout set; needs a holdout. Its values are graded by the audit's
verdict (limits that depend on the set sizes), not by grade bands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InputError
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
    audits = {}
    for name, h in ctx.synthetic.items():
        ctx.say(f"privacy audit: {name}")
        engine = ctx.blockwise
        if engine is not None:
            audits[name] = privacy_audit(engine.array(ctx.real), engine.array(ctx.holdout), engine.array(h),
                                         n_repeats=ctx.aats_repeats, seed=ctx.seed, thresholds=thresholds,
                                         engine=engine)
        else:
            audits[name] = privacy_audit(ctx.real.matrix, ctx.holdout.matrix, h.matrix, n_repeats=ctx.aats_repeats,
                                         seed=ctx.seed, thresholds=thresholds)
    first = next(iter(audits.values()))
    note = (
        f"Privacy audit: {ctx.real_name} is the training set ({ctx.real.n_haplotypes:,} haplotypes); "
        f"{first['size']:,} training haplotypes drawn at random against {first['size']:,} holdout "
        f"haplotypes; near-copy threshold from {first['n_train_queries']:,} training haplotypes' "
        "nearest-neighbour distances."
    )
    return Measurement(
        values={name: {key: audit[key] for key in PRIVACY_METRICS} for name, audit in audits.items()},
        result=PrivacyResult(audits, thresholds),
        notes=[note],
        parameters={"privacy_thresholds": thresholds.to_dict()},
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
