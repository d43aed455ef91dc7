"""Held-out likelihood and compression (benchmark track L), and the likelihood membership signal.

For each synthetic set whose model has an exact likelihood (``model.tractable``; the models
come from ``evaluate(..., models={set name: model})``), the model scores every real
haplotype, ``log p(x)`` in nats, and the statistic reports:

* the mean log-likelihood of the **holdout** haplotypes (nats per haplotype) and the same in
  **bits per SNP**, ``-mean / (n_sites ln 2)``: what the model would need to store an unseen
  haplotype with an arithmetic coder;
* the same for the **training** (real) set;
* the **gap**, mean training minus mean holdout log-likelihood (nats per haplotype): how much
  better the model knows its own donors than unseen people. It is an overfitting signal and,
  with the next one, part of the privacy audit;
* a **likelihood membership-inference AUC**: an attacker who holds the model scores each real
  haplotype by its log-likelihood and calls the high ones training members. The AUC of telling
  training from holdout haplotypes (ties count ½), with the larger side drawn at random down to
  the size of the smaller, averaged over ``aats_repeats`` draws from the evaluation's seed (the
  same draws for every set). 0.5 = no signal. Under a normal approximation it is
  ``Φ(gap / (σ √2))`` for a gap ``gap`` between two spreads ``σ``: the graded form of the gap;
* beside them, three **baselines** computed on the same haplotypes
  (:mod:`haplogen.metrics.compression`): independent sites and a first-order Markov chain
  fitted on the training set, and ``xz -9`` of the packed holdout, each in held-out bits per
  SNP. They do not depend on the set (the same value in every column): they are the reference
  a model must beat to have learnt anything beyond allele frequencies and neighbouring LD.

The holdout is scored whole. The training set is scored whole up to :data:`TRAIN_SCORE_CELLS`
haplotype-sites: above, on a random draw of ``max(n_holdout, TRAIN_SCORE_CELLS // n_sites)`` of
its haplotypes (from the evaluation's seed; a note and ``metrics.json`` say how many), so that a
chromosome-scale training set costs minutes, not hours; the membership AUC compares sides of the
holdout's size anyway, and the mean of a few thousand haplotypes is known to a small fraction of
a nat per haplotype.

A conditional model trained with population labels is scored with its *marginal* likelihood
(``labels=None``: summed over the populations with their training shares), so that its figures
compare with those of unconditional models; a note says so. A set whose model has no tractable
likelihood (RBM, GAN) gets NaN and a note naming the families that have one: that is not a
failure. A set without a model gets NaN and a note too. The statistic runs when a holdout is
given and at least one set has a model.

The report's privacy verdict is built from the privacy audit alone (the registry gives a
statistic its own section, not a place in another's), so the gap and the likelihood AUC are
shown in this statistic's section, titled as part of the privacy audit, right after the
privacy figures (``order`` 85).

The log-likelihoods are not graded: they have no absolute scale (they grow with the number
of sites and fall with their diversity): compare them with the baselines drawn beside them.
The likelihood AUC is graded like the privacy audit's membership AUC (``PrivacyThresholds``:
good within 0.05 of 0.5, fair within 0.10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..metrics.base import MetricSpec
from ..metrics.compression import BASELINES, PSEUDOCOUNT, bits_per_snp, compression_baselines
from ..privacy.audit import PrivacyThresholds
from .registry import HOLDOUT, EvaluationContext, FigureSpec, Measurement, Need, register_statistic

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["LikelihoodResult", "likelihood_membership_auc", "LIKELIHOOD_SPECS"]

_INF = float("inf")
#: haplotype-sites of the training set scored whole; above, a random draw (at least the holdout's size)
TRAIN_SCORE_CELLS = 200_000_000
_THRESHOLDS = PrivacyThresholds()

#: the values of the statistic, in report order
LIKELIHOOD_SPECS = (
    MetricSpec("heldout_ll", "held-out log-likelihood", "max", None, (-_INF, 0.0),
               "mean exact log-likelihood of the holdout haplotypes under the set's model (marginal over "
               "populations); no absolute scale: compare with the baselines", unit="nats per haplotype"),
    MetricSpec("heldout_bits_per_snp", "held-out bits per SNP", "min", 0.0, (0.0, _INF),
               "-held-out log-likelihood / (n_sites ln 2): the model as a compressor of unseen haplotypes; "
               "below every baseline is the goal", unit="bits per SNP"),
    MetricSpec("train_ll", "training log-likelihood", "max", None, (-_INF, 0.0),
               "mean exact log-likelihood of the real (training) haplotypes under the set's model",
               unit="nats per haplotype"),
    MetricSpec("train_bits_per_snp", "training bits per SNP", "min", 0.0, (0.0, _INF),
               "-training log-likelihood / (n_sites ln 2)", unit="bits per SNP"),
    MetricSpec("ll_gap", "train - holdout log-likelihood gap (privacy)", "target", 0.0, (-_INF, _INF),
               "mean training minus mean holdout log-likelihood: how much better the model knows its donors "
               "than unseen people (overfitting and membership signal; graded through the likelihood AUC)",
               unit="nats per haplotype"),
    MetricSpec("ll_mia_auc", "likelihood membership-inference AUC (privacy)", "target", 0.5, (0.0, 1.0),
               "AUC of telling training from holdout haplotypes by their log-likelihood under the model, on "
               "equal-sized random subsets; 0.5 = no signal",
               bands=(_THRESHOLDS.mia_auc_pass, _THRESHOLDS.mia_auc_warn)),
    MetricSpec("baseline_independent_bits_per_snp", "baseline: independent sites, bits per SNP", "min", 0.0,
               (0.0, _INF), f"held-out bits per SNP of independent sites with the training set's allele "
               f"frequencies (pseudocount {PSEUDOCOUNT:g}); the same for every set", unit="bits per SNP"),
    MetricSpec("baseline_markov_bits_per_snp", "baseline: Markov chain, bits per SNP", "min", 0.0, (0.0, _INF),
               f"held-out bits per SNP of a first-order Markov chain over neighbouring SNPs fitted on the training "
               f"set (pseudocount {PSEUDOCOUNT:g}); the same for every set", unit="bits per SNP"),
    MetricSpec("baseline_xz_bits_per_snp", "baseline: xz -9, bits per SNP", "min", 0.0, (0.0, _INF),
               "8 x bytes of xz -9 of the holdout packed 8 alleles per byte / (haplotypes x SNPs); the same for "
               "every set", unit="bits per SNP"),
)
_MODEL_KEYS = ("heldout_ll", "heldout_bits_per_snp", "train_ll", "train_bits_per_snp", "ll_gap", "ll_mia_auc")
_BASELINE_KEYS = {"independent": "baseline_independent_bits_per_snp", "markov": "baseline_markov_bits_per_snp",
                  "xz": "baseline_xz_bits_per_snp"}


# ---------------------------------------------------------------------------- the attacker
def likelihood_membership_auc(
    ll_train: Any, ll_holdout: Any, *, n_repeats: int = 5, seed: int = 0
) -> dict[str, Any]:
    """AUC of an attacker who calls a haplotype a training member when its log-likelihood is high.

    Parameters
    ----------
    ll_train : array_like of float, shape (n_train,)
        Log-likelihoods of the training haplotypes (members).
    ll_holdout : array_like of float, shape (n_holdout,)
        Log-likelihoods of the holdout haplotypes (non-members).
    n_repeats
        Random draws averaged. In each, the larger side is drawn without replacement down to
        the size of the smaller, so that the AUC is measured on equal-sized sets.
    seed
        Seed of the draws (the same seed gives the same rows whatever the scores).

    Returns
    -------
    dict
        ``auc`` (mean over the draws), ``aucs`` (ndarray of float64, shape (n_repeats,)),
        ``size`` (haplotypes per side), ``se`` (standard error of one draw's AUC, Hanley &
        McNeil 1982).

    Notes
    -----
    The AUC is the Mann-Whitney statistic: the share of (member, non-member) pairs in which
    the member scores higher, a tie counting ½.
    """
    from scipy.stats import rankdata

    a = np.asarray(ll_train, dtype=np.float64).ravel()
    b = np.asarray(ll_holdout, dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise InputError(
            f"the likelihood membership AUC needs training and holdout haplotypes, found {a.size} and {b.size}"
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputError("the log-likelihoods must be finite numbers; found NaN or infinity")
    if n_repeats < 1:
        raise InputError(f"n_repeats must be at least 1, found {n_repeats}")
    size = min(a.size, b.size)
    rng = np.random.default_rng(seed)
    aucs = np.empty(n_repeats, dtype=np.float64)
    for r in range(n_repeats):
        pa = a if a.size == size else a[rng.choice(a.size, size=size, replace=False)]
        pb = b if b.size == size else b[rng.choice(b.size, size=size, replace=False)]
        ranks = rankdata(np.concatenate([pa, pb]))  # ties get their average rank
        aucs[r] = (ranks[:size].sum() - size * (size + 1) / 2.0) / (size * size)
    auc = float(aucs.mean())
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (size - 1) * (q1 - auc**2) + (size - 1) * (q2 - auc**2)) / (size * size)
    return {"auc": auc, "aucs": aucs, "size": size, "se": float(math.sqrt(max(var, 0.0)))}


# ---------------------------------------------------------------------------- the statistic
@dataclass(frozen=True)
class LikelihoodResult:
    """Result of the likelihood statistic, for its figures.

    Attributes
    ----------
    n_sites
        Sites per haplotype.
    baselines
        :func:`haplogen.metrics.compression.compression_baselines` of the real (training) and
        holdout sets.
    scores
        ``{set name: {"family", "train" (ndarray, shape (n_real,)), "holdout" (ndarray, shape
        (n_holdout,)), "mean_train", "mean_holdout", "gap", "auc", "auc_se", "size"}}`` for the
        sets whose model has a tractable likelihood.
    not_scored
        ``{set name: why it has no likelihood}``.
    real_name
        Name of the real (training) set.
    """

    n_sites: int
    baselines: dict[str, Any]
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_scored: dict[str, str] = field(default_factory=dict)
    real_name: str = "real"


def training_rows(n_train: int, n_holdout: int, n_sites: int, *, seed: int) -> np.ndarray | None:
    """Sorted rows of the training set to score, or None for all of them.

    All of them while ``n_train * n_sites <= TRAIN_SCORE_CELLS``; above, ``max(n_holdout,
    TRAIN_SCORE_CELLS // n_sites)`` rows drawn without replacement from ``seed`` (so that the
    membership AUC still has sides of the holdout's size).
    """
    if n_train * n_sites <= TRAIN_SCORE_CELLS:
        return None
    size = max(n_holdout, TRAIN_SCORE_CELLS // max(n_sites, 1))
    if size >= n_train:
        return None
    rng = np.random.default_rng([int(seed) % 2**32, 85])
    return np.sort(rng.choice(n_train, size=size, replace=False))


def _some_model(ctx: EvaluationContext) -> str | None:
    if any(ctx.models.get(name) is not None for name in ctx.synthetic):
        return None
    return ("no trained model was given for any synthetic set (pass models={set name: model} to evaluate, "
            "or --model MODEL_DIR to haplogen evaluate)")


#: at least one synthetic set has its model (the others get NaN and a note)
SOME_MODEL = Need("models", _some_model)


def _tractable_families() -> str:
    from ..models.registry import MODELS

    names = [name for name in MODELS if MODELS[name].tractable]
    return ", ".join(names) if names else "none"


def compute(ctx: EvaluationContext) -> Measurement:
    if ctx.holdout is None:  # evaluate() checks the HOLDOUT need first; a direct call may not
        raise InputError("the held-out likelihood needs a holdout set of individuals the model never saw; pass one")
    real, holdout = ctx.real, ctx.holdout
    n_sites = real.n_sites
    ctx.say("likelihood: compression baselines")
    baselines = compression_baselines(real.matrix, holdout.matrix)
    result = LikelihoodResult(n_sites=n_sites, baselines=baselines, real_name=ctx.real_name)
    notes: list[str] = []
    train_rows = training_rows(real.n_haplotypes, holdout.n_haplotypes, n_sites, seed=ctx.seed)
    train_matrix = real.matrix if train_rows is None else real.matrix[train_rows]
    done: dict[int, dict[str, Any]] = {}  # one model behind several sets is scored once
    for name in ctx.names:
        model = ctx.models.get(name)
        if model is None:
            result.not_scored[name] = "no model was given for it"
            continue
        family = getattr(model, "name", type(model).__name__)
        if not getattr(model, "tractable", False):
            result.not_scored[name] = f"its {family} model has no tractable likelihood"
            continue
        if model.n_sites != n_sites:
            raise InputError(
                f"the model given for the synthetic set {name} has {model.n_sites} sites, the real set {n_sites}; "
                "pass the model that generated the set"
            )
        if id(model) not in done:
            ctx.say(f"held-out likelihood: {name}")
            ll_holdout = model.log_likelihood(holdout.matrix)  # marginal: labels=None
            ll_train = model.log_likelihood(train_matrix)
            mia = likelihood_membership_auc(ll_train, ll_holdout, n_repeats=ctx.aats_repeats, seed=ctx.seed)
            done[id(model)] = {
                "family": family, "train": ll_train, "holdout": ll_holdout,
                "mean_train": float(ll_train.mean()), "mean_holdout": float(ll_holdout.mean()),
                "gap": float(ll_train.mean() - ll_holdout.mean()),
                "auc": mia["auc"], "auc_se": mia["se"], "size": mia["size"],
            }
            populations = getattr(model, "populations", None)
            if populations:
                notes.append(
                    f"Held-out likelihood: the {family} model of {name} is conditional on population "
                    f"({', '.join(populations)}); it is scored with its marginal likelihood (summed over the "
                    "populations with their training shares), so that its figures compare with other models'."
                )
        result.scores[name] = done[id(model)]

    values: dict[str, dict[str, float]] = {}
    baseline_values = {_BASELINE_KEYS[k]: baselines[k]["bits_per_snp"] for k in BASELINES}
    for name in ctx.names:
        s = result.scores.get(name)
        model_values = dict.fromkeys(_MODEL_KEYS, float("nan")) if s is None else {
            "heldout_ll": s["mean_holdout"], "heldout_bits_per_snp": bits_per_snp(s["mean_holdout"], n_sites),
            "train_ll": s["mean_train"], "train_bits_per_snp": bits_per_snp(s["mean_train"], n_sites),
            "ll_gap": s["gap"], "ll_mia_auc": s["auc"],
        }
        values[name] = {**model_values, **baseline_values}

    b = baselines
    notes.insert(0, (
        f"Held-out likelihood: exact log-likelihoods in nats per haplotype; bits per SNP = -mean / ({n_sites} ln 2). "
        f"Baselines fitted on the {b['n_train']:,} {ctx.real_name} haplotypes and scored on the {b['n_holdout']:,} "
        f"holdout haplotypes (pseudocount {b['pseudocount']:g}): independent sites "
        f"{b['independent']['nats_per_haplotype']:.2f} nats ({b['independent']['bits_per_snp']:.4f} bits per SNP), "
        f"Markov chain {b['markov']['nats_per_haplotype']:.2f} ({b['markov']['bits_per_snp']:.4f}), xz -9 "
        f"{b['xz']['compressed_bytes']:,} bytes = {b['xz']['nats_per_haplotype']:.2f} ({b['xz']['bits_per_snp']:.4f})."
    ))
    if result.scores and train_rows is not None:
        notes.append(
            f"Held-out likelihood: the training log-likelihood is the mean over {train_rows.size:,} of the "
            f"{real.n_haplotypes:,} {ctx.real_name} haplotypes drawn at random (seed {ctx.seed}); scoring them all "
            f"would take {real.n_haplotypes * n_sites:,} haplotype-sites, above the bound of {TRAIN_SCORE_CELLS:,}."
        )
    if result.scores:
        size = next(iter(result.scores.values()))["size"]
        notes.append(
            f"Privacy audit, likelihood membership inference: an attacker who holds the model scores each real "
            f"haplotype by its log-likelihood; AUC of telling {size:,} training from {size:,} holdout haplotypes "
            f"(the larger side drawn at random, mean of {ctx.aats_repeats} draws; 0.5 = no signal). The train - "
            "holdout gap of the mean log-likelihood is the same signal in nats per haplotype."
        )
    not_tractable = [n for n, why in result.not_scored.items() if "tractable" in why]
    if not_tractable:
        notes.append(
            f"Held-out likelihood: {', '.join(f'{n} ({result.not_scored[n]})' for n in not_tractable)}: its values "
            f"are n/a; the families with an exact likelihood are: {_tractable_families()}."
        )
    no_model = [n for n, why in result.not_scored.items() if "tractable" not in why]
    if no_model:
        notes.append(
            f"Held-out likelihood: no model was given for {', '.join(no_model)}, so its values are n/a "
            "(pass models={set name: model} to evaluate, or --model to haplogen evaluate)."
        )
    return Measurement(
        values=values, result=result, notes=notes, reference=dict(baseline_values),
        parameters={"likelihood": {"pseudocount": b["pseudocount"], "likelihood": "marginal",
                                   "mia_repeats": ctx.aats_repeats,
                                   "training_haplotypes_scored": real.n_haplotypes if train_rows is None
                                   else int(train_rows.size)}},
    )


# ---------------------------------------------------------------------------- figures
def draw_bits(result: LikelihoodResult) -> "Figure":
    """Held-out and training bits per SNP of every scored model, beside the three baselines."""
    from matplotlib.figure import Figure

    from ..report.figures import REAL_COLOUR, set_colours

    colours = set_colours(list(result.scores) + list(result.not_scored))
    rows: list[tuple[str, float, float | None, str]] = []  # label, holdout bits, training bits, colour
    for name, s in result.scores.items():
        rows.append((name, bits_per_snp(s["mean_holdout"], result.n_sites),
                     bits_per_snp(s["mean_train"], result.n_sites), colours[name]))
    for key, label in BASELINES.items():
        rows.append((f"baseline: {label}", result.baselines[key]["bits_per_snp"], None, "#999999"))
    fig = Figure(figsize=(7.5, 0.9 + 0.55 * len(rows)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    for yi, (label, held, train, colour) in zip(y, rows):
        ax.barh(yi + (0.18 if train is not None else 0), held, height=0.36 if train is not None else 0.5,
                color=colour, label=None)
        ax.text(held, yi + (0.18 if train is not None else 0), f" {held:.4f}", va="center", fontsize=8)
        if train is not None:
            ax.barh(yi - 0.18, train, height=0.36, color="white", edgecolor=colour, hatch="///")
            ax.text(train, yi - 0.18, f" {train:.4f} (training)", va="center", fontsize=8, color=REAL_COLOUR)
    best = min(result.baselines[k]["bits_per_snp"] for k in BASELINES)
    ax.axvline(best, color=REAL_COLOUR, ls=":", lw=1, label=f"best baseline ({best:.4f})")
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    top = max([r[1] for r in rows] + [r[2] for r in rows if r[2] is not None])
    ax.set(xlabel="bits per SNP (lower: the model compresses better)", xlim=(0, top * 1.3),
           title="held-out bits per SNP (filled) and training (hatched)")
    if result.not_scored:
        ax.text(0.99, 0.01, "not scored: " + "; ".join(f"{n} ({why})" for n, why in result.not_scored.items()),
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="#666666", wrap=True)
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    return fig


def draw_membership(result: LikelihoodResult) -> "Figure":
    """Per scored set: histograms of the training and holdout haplotypes' log-likelihoods."""
    from matplotlib.figure import Figure

    from ..report.figures import REAL_COLOUR, set_colours

    names = list(result.scores)
    colours = set_colours(names + list(result.not_scored))
    n = max(1, len(names))
    ncols = min(n, 3)
    fig = Figure(figsize=(4.2 * ncols, 3.6 * math.ceil(n / ncols)), layout="constrained")
    axes = fig.subplots(math.ceil(n / ncols), ncols, squeeze=False).ravel()
    for extra in axes[len(names):]:
        extra.set_visible(False)
    if not names:
        axes[0].set_visible(True)
        axes[0].axis("off")
        axes[0].text(0.5, 0.5, "no set has a model with a tractable likelihood", ha="center", va="center")
        return fig
    for ax, name in zip(axes, names):
        s = result.scores[name]
        both = np.concatenate([s["train"], s["holdout"]])
        bins = np.linspace(both.min(), both.max(), 41) if both.max() > both.min() else 10
        ax.hist(s["train"], bins=bins, density=True, histtype="stepfilled", alpha=0.5, color=colours[name],
                label=f"{result.real_name} (training)")
        ax.hist(s["holdout"], bins=bins, density=True, histtype="step", lw=1.5, color=REAL_COLOUR, label="holdout")
        ax.axvline(s["mean_train"], color=colours[name], lw=1)
        ax.axvline(s["mean_holdout"], color=REAL_COLOUR, lw=1, ls="--")
        ax.set(xlabel=f"log-likelihood under the {s['family']} model (nats)", ylabel="density",
               title=f"{name}: gap {s['gap']:.2f} nats, AUC {s['auc']:.3f}")
        ax.legend(frameon=False, fontsize=8)
    return fig


register_statistic(
    "likelihood",
    title="Held-out likelihood and compression",
    description="exact held-out log-likelihood in bits per SNP beside compression baselines, and the "
    "train - holdout likelihood gap as a membership signal",
    compute=compute,
    order=85,
    needs=[HOLDOUT, SOME_MODEL],
    specs=LIKELIHOOD_SPECS,
    figures=[
        FigureSpec(
            "likelihood-bits", "Likelihood: held-out bits per SNP against compression baselines", draw_bits,
            "A model with an exact likelihood is a compressor: it stores a haplotype in -log2 p(x) bits. Filled "
            "bars: the mean over the holdout haplotypes (people the model never saw), in bits per SNP; hatched "
            "bars: the same over the training haplotypes. Grey bars: baselines on the same holdout, independent "
            "sites and a Markov chain over neighbouring SNPs (both fitted on the training set) and xz -9 of the "
            "packed holdout; the dotted line is the best of them. A useful model's filled bar is well left of "
            "that line; a hatched bar far left of its filled bar means the model fits its donors better than "
            "new people (overfitting). Conditional models are scored with their marginal likelihood.",
        ),
        FigureSpec(
            "likelihood-membership", "Privacy: likelihood of training vs holdout haplotypes", draw_membership,
            "Part of the privacy audit. The log-likelihood of each training (filled) and holdout (outline) "
            "haplotype under the model, with their means (lines). An attacker who holds the model can guess that "
            "a haplotype was a donor when its likelihood is high: the title gives the train - holdout gap of the "
            "means (nats per haplotype) and the AUC of that attack (0.5: the two histograms coincide and the "
            "model reveals nothing about who was in its training set).",
        ),
    ],
)
