"""Evaluate artificial haplotypes against the real ones: a loop over the registered statistics.

:func:`evaluate` runs every statistic registered in :mod:`haplogen.statistics` (the fidelity
statistics of benchmark track F and, when a holdout set is given, the privacy audit of track
P) on every synthetic set against the real set, and returns an
:class:`~haplogen.results.Evaluation`. A statistic whose needs are not met (no holdout, no
labels) is skipped and the evaluation says why. Writing ``metrics.json`` and ``report.html``
is :func:`haplogen.report.write_outputs`; the command ``haplogen evaluate`` only parses its
arguments and calls the two.

Example
-------
>>> from haplogen.simulate import SimulationConfig, simulate_haplotypes
>>> h = simulate_haplotypes(SimulationConfig(individuals_per_population=20,
...                         sequence_length=500_000, min_maf=0.05, max_sites=60), seed=1)
>>> real, other = h.take(slice(0, 120, 2)), h.take(slice(1, 120, 2))  # one haplotype of each individual
>>> ev = evaluate(real, {"other": other}, aats_repeats=1)
>>> 0.0 <= ev.metrics["other"]["aats"] <= 1.0
True
>>> ev.skipped["privacy"]
'Privacy audit skipped: no holdout set was given (pass real individuals the model never saw with --holdout).'
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .errors import InputError
from .haplotypes import Haplotypes
from .privacy.audit import PrivacyThresholds
from .provenance import make_record, resolve_seed
from .results import Evaluation, StatisticResult
from .statistics.registry import EvaluationContext, Measurement, Statistic, load_statistics

__all__ = ["Evaluation", "evaluate"]


# ---------------------------------------------------------------------------- checks
def _check_sites(real: Haplotypes, other: Haplotypes, what: str) -> None:
    if other.n_sites != real.n_sites:
        raise InputError(
            f"{what} has {other.n_sites} sites, the real set has {real.n_sites}; evaluate artificial "
            "genomes generated from a model trained on this real set"
        )
    if not other.sites.same_as(real.sites):
        s, r = other.sites, real.sites
        differs = np.flatnonzero(
            (s.chrom != r.chrom) | (s.position != r.position) | (s.ref != r.ref) | (s.alt != r.alt)
        )
        i = int(differs[0]) if differs.size else 0
        raise InputError(
            f"{what} has the same number of sites as the real set ({real.n_sites}) but not the same "
            f"sites (site {i + 1}: {s.chrom[i]}:{s.position[i]} {s.ref[i]}>{s.alt[i]} vs "
            f"{r.chrom[i]}:{r.position[i]} {r.ref[i]}>{r.alt[i]}); evaluate artificial genomes "
            "generated from a model trained on this real set"
        )


def _label(h: Haplotypes, labels: Mapping[str, tuple[str, str]] | None, what: str, notes: list[str]) -> Haplotypes:
    if labels is None or h.population is not None:
        return h
    labelled = h.with_labels(dict(labels), on_missing="unknown")
    unknown = int(np.count_nonzero(labelled.population == "unknown"))
    if unknown == h.n_haplotypes:
        raise InputError(
            f"none of the {h.n_samples} individuals of the {what} set is in the labels table "
            f"(first: {h.samples[0]}); pass the samples table of these individuals"
        )
    if unknown:
        notes.append(
            f"{unknown} of {h.n_haplotypes} haplotypes of the {what} set belong to individuals absent "
            "from the labels table; they are labelled 'unknown'."
        )
    return labelled


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


# ---------------------------------------------------------------------------- the loop
def _choose(
    statistics: Sequence[str] | None, exclude: Sequence[str], registered: list[Statistic]
) -> dict[str, str | None]:
    """``{name: None (run) or why it is switched off}`` for every registered statistic."""
    if isinstance(statistics, str) or isinstance(exclude, str):
        raise InputError("statistics and exclude take a list of names, found a string; pass [name]")
    known = [s.name for s in registered]
    for name in [*(statistics or ()), *exclude]:
        if name not in known:
            raise InputError(f"unknown statistic {name!r}; choose among {', '.join(known)}")
    chosen: dict[str, str | None] = {}
    for s in registered:
        if s.name in exclude:
            chosen[s.name] = f"{s.title} skipped: switched off (exclude={s.name!r})."
        elif statistics is not None and s.name not in statistics:
            chosen[s.name] = f"{s.title} skipped: not among the statistics asked for ({', '.join(statistics)})."
        elif statistics is None and not s.default:
            chosen[s.name] = (f"{s.title} skipped: off unless asked for by name "
                              f"(evaluate(..., statistics=[..., {s.name!r}])).")
        else:
            chosen[s.name] = None
    return chosen


def _check_measurement(statistic: Statistic, measured: Any, names: list[str]) -> dict[str, dict[str, float]]:
    """The values of a statistic's measurement as floats, after checking them against its declaration."""
    if not isinstance(measured, Measurement):
        raise TypeError(
            f"statistic {statistic.name!r} returned {type(measured).__name__}; its compute function must "
            "return a Measurement"
        )
    declared = {spec.key for spec in statistic.specs}
    values: dict[str, dict[str, float]] = {}
    for name, by_key in measured.values.items():
        if name not in names:
            raise ValueError(
                f"statistic {statistic.name!r} reported values for {name!r}, which is not a synthetic set "
                f"({', '.join(names)}); key the values by synthetic set name"
            )
        undeclared = sorted(set(by_key) - declared)
        if undeclared:
            raise ValueError(
                f"statistic {statistic.name!r} reported {undeclared} without a MetricSpec; declare a spec "
                "for every value in its registration"
            )
        values[name] = {key: _float(value) for key, value in by_key.items()}
    return values


def evaluate(
    real: Haplotypes,
    synthetic: Mapping[str, Haplotypes],
    *,
    holdout: Haplotypes | None = None,
    labels: Mapping[str, tuple[str, str]] | None = None,
    seed: int | None = 0,
    aats_repeats: int = 5,
    progress: Callable[[str], None] | None = None,
    inputs: Sequence[dict[str, Any]] = (),
    command: Sequence[str] | None = None,
    real_name: str = "real",
    thresholds: PrivacyThresholds = PrivacyThresholds(),
    statistics: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    models: Mapping[str, Any] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    blockwise: Any = None,
    reference: bool = True,
) -> Evaluation:
    """Measure how realistic, and how private, synthetic haplotype sets are.

    Runs every registered statistic (:func:`haplogen.statistics.registered_statistics`, in
    report order) whose needs are met; the others are skipped with a reason
    (:attr:`Evaluation.skipped`).

    Parameters
    ----------
    real : Haplotypes, shape (n_real, n_sites)
        The real haplotypes; with ``holdout``, the set the model was trained on.
    synthetic : mapping of str to Haplotypes, each shape (n_syn, n_sites)
        The artificial sets, by name (file stem, model name).
    holdout : Haplotypes, shape (n_holdout, n_sites), optional
        Real haplotypes of individuals the model never saw; runs the privacy audit.
    labels
        ``sample -> (population, super_population)`` (:func:`haplogen.read_labels`), applied
        to the real and holdout sets when they carry no population; individuals absent
        from it are labelled ``unknown``.
    seed
        Seed of every subsample (None draws one; it is recorded in the provenance).
    aats_repeats
        Random equal-sized subsamples averaged in AATS and in the privacy audit.
    progress
        Called with one line before each step (for a command-line progress display).
    inputs
        Provenance records of the input files (:func:`haplogen.provenance.input_record`).
    command
        The command line, for the provenance (defaults to ``sys.argv``).
    real_name
        Name of the real set in tables and figures.
    thresholds
        Limits of the privacy verdict.
    statistics
        Names of the statistics to run (the opt-in ones included); None runs every statistic
        that is on by default.
    exclude
        Names of statistics not to run.
    models
        ``{synthetic set name: trained model}``, for statistics that need the model itself.
    options
        ``{statistic name: {option: value}}`` (``{"ld": {"window_sites": 200}}``). The
        nearest-neighbour statistics take ``{"aats": {"size": n}, "privacy": {"size": n}}``:
        the haplotypes drawn from each set (0: the whole sets; absent: the smaller set,
        capped by :func:`haplogen.metrics.aats.aats_size` so that a search stays within
        :data:`~haplogen.metrics.aats.NEAREST_NEIGHBOUR_BUDGET`); the sizes used are recorded
        in the provenance (``aats``, ``privacy_subsamples``).
    blockwise : haplogen.blockwise.Blockwise, optional
        Compute the statistics that have a block-wise path on Dask arrays, with bounded
        memory, on this engine's cluster (:func:`haplogen.blockwise.open_blockwise`).
    reference
        With a holdout, also score the holdout itself like a synthetic set against the real
        set, with every statistic that ran and needs no holdout or model (allele frequencies,
        LD, PCA, distances, AATS, copies, ...): :attr:`Evaluation.reference`, the values an
        honest generator can reach, shown beside the sets in the report and ``metrics.json``.
        False skips it (it costs about one more set); the references that statistics measure
        on the real set anyway (train-on-real accuracy, the real imputation panel's r²) stay.

    Returns
    -------
    Evaluation

    Raises
    ------
    InputError
        When no synthetic set is given, a set's sites differ from the real set's, a set name
        is used twice, the holdout shares individuals with the real set, the labels match
        no real individual, or a statistic name is unknown.
    """
    start_all = time.perf_counter()
    seed = resolve_seed(seed)
    if not synthetic:
        raise InputError("no synthetic set was given; pass at least one set of artificial haplotypes")
    if real_name in synthetic:
        raise InputError(
            f"a synthetic set is named {real_name!r}, the name of the real set; rename the synthetic set"
        )
    if aats_repeats < 1:
        raise InputError(f"aats_repeats must be at least 1, found {aats_repeats}")
    names = list(synthetic)
    for name in names:
        _check_sites(real, synthetic[name], f"synthetic set {name}")
    if holdout is not None:
        _check_sites(real, holdout, "the holdout set")
        shared = sorted(set(real.samples.tolist()) & set(holdout.samples.tolist()))
        if shared:
            shown = ", ".join(shared[:3]) + (" ..." if len(shared) > 3 else "")
            raise InputError(
                f"the holdout set shares {len(shared)} individuals with the {real_name} (training) set "
                f"({shown}); pass a holdout of individuals the model never saw (split.tsv 'holdout')"
            )
    registered = load_statistics()
    chosen = _choose(statistics, exclude, registered)

    notes: list[str] = []
    real = _label(real, labels, real_name, notes)
    if holdout is not None:
        holdout = _label(holdout, labels, "holdout", notes)
    ctx = EvaluationContext(
        real=real, synthetic=dict(synthetic), real_name=real_name, holdout=holdout, seed=seed,
        aats_repeats=aats_repeats, thresholds=thresholds, models=dict(models or {}),
        options=dict(options or {}), progress=progress, blockwise=blockwise,
    )

    metrics: dict[str, dict[str, float]] = {name: {} for name in names}
    results: dict[str, StatisticResult] = {}
    timings: dict[str, float] = {}
    parameters: dict[str, Any] = {}
    measured_reference: dict[str, float] = {}  # what statistics measured for real data themselves
    for statistic in registered:
        reason = chosen[statistic.name] or statistic.unmet(ctx)
        if reason:
            results[statistic.name] = StatisticResult(statistic, skipped=reason)
            continue
        t0 = time.perf_counter()
        measured = statistic.compute(ctx)
        seconds = time.perf_counter() - t0
        for name, by_key in _check_measurement(statistic, measured, names).items():
            metrics[name].update(by_key)
        notes.extend(measured.notes)
        parameters.update(measured.parameters)
        declared = {spec.key for spec in statistic.specs}
        measured_reference.update({k: _float(v) for k, v in measured.reference.items() if k in declared})
        timings[statistic.name] = seconds
        results[statistic.name] = StatisticResult(statistic, result=measured.result, seconds=seconds)

    # what the statistics measured on real data themselves (train on real, the real imputation panel)
    # came for free: it stays in the reference column even when the holdout is not scored as a set
    reference_values: dict[str, float] = dict(measured_reference)
    if reference and holdout is not None:
        t0 = time.perf_counter()
        reference_values.update(_reference(ctx, registered, results, notes))
        timings["reference"] = time.perf_counter() - t0

    # every value key reported for some set, in report order (statistic order, then spec order)
    specs = {spec.key: spec for s in registered for spec in s.specs if any(spec.key in metrics[n] for n in names)}
    metrics = {n: {k: metrics[n][k] for k in specs if k in metrics[n]} for n in names}
    sets = {real_name: {"n_haplotypes": real.n_haplotypes, "n_sites": real.n_sites,
                        "role": "training" if holdout is not None else "real"}}
    for name in names:
        sets[name] = {"n_haplotypes": synthetic[name].n_haplotypes, "n_sites": real.n_sites, "role": "synthetic"}
    if holdout is not None:
        sets["holdout"] = {"n_haplotypes": holdout.n_haplotypes, "n_sites": real.n_sites, "role": "holdout"}

    provenance = make_record(
        parameters={
            "seed": seed,
            "aats_repeats": aats_repeats,
            "real_name": real_name,
            "synthetic": names,
            "holdout": holdout is not None,
            "labels": labels is not None,
            "statistics": [name for name, r in results.items() if r.ran],
            "options": {k: dict(v) for k, v in (options or {}).items()},
            "privacy_thresholds": None,
            "blockwise": getattr(blockwise, "description", None),
            **parameters,
        },
        seed=seed,
        inputs=list(inputs),
        command=command,
    )
    provenance["sources"] = {real_name: real.source, **{n: synthetic[n].source for n in names}}
    if holdout is not None:
        provenance["sources"]["holdout"] = holdout.source
    timings["total"] = time.perf_counter() - start_all
    return Evaluation(
        real_name=real_name,
        synthetic_names=names,
        metrics=metrics,
        specs=specs,
        results=results,
        provenance=provenance,
        notes=notes,
        timings=timings,
        sets=sets,
        reference={k: reference_values[k] for k in specs if k in reference_values},
        reference_name=REFERENCE_NAME if reference_values else None,
    )


#: name of the holdout scored as a set (the reference column)
REFERENCE_NAME = "holdout"


def _reference(ctx: EvaluationContext, registered: list[Statistic], results: dict[str, StatisticResult],
               notes: list[str]) -> dict[str, float]:
    """The holdout scored like a synthetic set against the real set: ``{value key: value}``.

    Every statistic that ran for the synthetic sets and needs neither a holdout nor a model
    (the holdout is not to be compared with itself, and it has no model) runs once more with the
    holdout as the only synthetic set, with the same seed and options; its notes are dropped
    (they repeat the sets' own).
    """
    holdout = ctx.holdout
    assert holdout is not None
    ref_ctx = dataclasses.replace(ctx, synthetic={REFERENCE_NAME: holdout}, holdout=None, models={})
    ctx.say(f"reference: the holdout ({holdout.n_haplotypes:,} haplotypes) scored like a synthetic set")
    values: dict[str, float] = {}
    for statistic in registered:
        outcome = results.get(statistic.name)
        if outcome is None or not outcome.ran or statistic.unmet(ref_ctx):
            continue
        measured = statistic.compute(ref_ctx)
        values.update(_check_measurement(statistic, measured, [REFERENCE_NAME]).get(REFERENCE_NAME, {}))
    if values:
        notes.append(
            f"Reference ({REFERENCE_NAME}): the {holdout.n_haplotypes:,} holdout haplotypes, real individuals the "
            f"model never saw, scored like a synthetic set against the {ctx.real_name} set with the same "
            "statistics and seed: what an honest generator can reach (the floor), not a goal to beat. Its "
            "nearest-neighbour statistics compare subsamples of the holdout's size. For the utility statistics "
            "the reference is the real training set in the place of an artificial set (train on real; the real "
            "imputation panel)."
        )
    return values
