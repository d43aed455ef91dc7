"""Evaluate artificial haplotypes against the real ones: every statistic, the audit, the outputs.

:func:`evaluate` runs each fidelity statistic of :mod:`haplogen.metrics` on every synthetic
set against the real set (benchmark track F) and, when a holdout set is given, the privacy
audit of :mod:`haplogen.privacy` (track P). :func:`write_outputs` writes ``metrics.json``
and the self-contained ``report.html``; :func:`summary_table` prints the statistics for a
terminal. The command ``haplogen evaluate`` only parses its arguments and calls these three.

Example
-------
>>> from haplogen.simulate import SimulationConfig, simulate_haplotypes
>>> h = simulate_haplotypes(SimulationConfig(individuals_per_population=20,
...                         sequence_length=500_000, min_maf=0.05, max_sites=60), seed=1)
>>> real, other = h.take(slice(0, 120, 2)), h.take(slice(1, 120, 2))  # one haplotype of each individual
>>> ev = evaluate(real, {"other": other}, aats_repeats=1)
>>> 0.0 <= ev.metrics["other"]["aats"] <= 1.0
True
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .errors import InputError
from .haplotypes import Haplotypes
from .metrics.aats import adversarial_accuracy
from .metrics.base import METRICS, MetricSpec
from .metrics.correlation import three_point_comparison
from .metrics.distance import exact_copies, pairwise_distance_comparison
from .metrics.frequency import allele_frequency_comparison
from .metrics.ld import ld_comparison, ld_decay, ld_r2
from .metrics.pca import pca_comparison
from .metrics.population import population_comparison
from .privacy.audit import PRIVACY_METRICS, PrivacyThresholds, privacy_audit
from .provenance import make_record, resolve_seed, write_json_atomic

__all__ = ["Evaluation", "evaluate", "write_outputs", "summary_table", "metrics_document", "LD_WINDOW_SITES"]

#: |AA_truth - AA_syn| above which the report warns that the AATS mean hides two unbalanced halves
AATS_IMBALANCE = 0.2

#: sites in the window of the LD heatmap (a 300 x 300 r² matrix reads well on a page)
LD_WINDOW_SITES = 300
#: at-risk haplotypes listed per set in metrics.json (the count is always given)
MAX_AT_RISK_LISTED = 100
#: schema tag of metrics.json
METRICS_SCHEMA = "haplogen.evaluation/1"


@dataclass
class Evaluation:
    """Everything measured by :func:`evaluate`.

    Attributes
    ----------
    real_name
        Name of the real set (``"real"``; the training set when a holdout is given).
    synthetic_names
        Names of the synthetic sets, in the order given.
    metrics
        ``{set name: {statistic key: value}}``: the scalar statistics (NaN when undefined).
    specs
        ``{statistic key: MetricSpec}`` of every key in :attr:`metrics`, in display order.
    details
        Full result dicts, arrays included, for the figures: ``details[real_name]`` holds
        ``ld_decay``, ``pca`` (the joint PCA), ``ld_window`` (``columns``, ``r2``,
        ``position``), ``population`` and ``super_population`` (labels or None);
        ``details[set name]`` holds ``allele_frequency``, ``ld``, ``ld_decay``, ``ld_window`` (``r2``),
        ``pairwise``, ``three_point``, ``aats``, ``exact_copies`` and ``population``
        (or None without labels).
    privacy
        ``{set name: privacy_audit(...) dict}`` when a holdout was given, else None.
    provenance
        Record of the run (:func:`haplogen.provenance.make_record`) plus ``sources``, the
        ``source`` of every input set.
    notes
        Sentences on subsampling and other choices that shape the numbers.
    timings
        Seconds spent per statistic (summed over sets) and ``total``.
    sets
        ``{set name: {"n_haplotypes", "n_sites", "role"}}`` for the real set, each synthetic
        set and the holdout.
    """

    real_name: str
    synthetic_names: list[str]
    metrics: dict[str, dict[str, float]]
    specs: dict[str, MetricSpec]
    details: dict[str, dict[str, Any]]
    privacy: dict[str, dict[str, Any]] | None
    provenance: dict[str, Any]
    notes: list[str]
    timings: dict[str, float]
    sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    thresholds: PrivacyThresholds = field(default_factory=PrivacyThresholds)


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


def _ld_window(real: Haplotypes, max_sites: int = LD_WINDOW_SITES) -> np.ndarray:
    """Up to ``max_sites`` consecutive sites in the middle of the chromosome with the most sites."""
    chrom = real.sites.chrom
    names, counts = np.unique(chrom, return_counts=True)
    on_chrom = np.flatnonzero(chrom == names[np.argmax(counts)])
    k = min(max_sites, on_chrom.size)
    start = (on_chrom.size - k) // 2
    return on_chrom[start:start + k]


def _pairs_on_same_chromosome(chrom: np.ndarray) -> int:
    _, counts = np.unique(chrom, return_counts=True)
    return int(sum(int(c) * (int(c) - 1) // 2 for c in counts))


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


# ---------------------------------------------------------------------------- evaluate
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
) -> Evaluation:
    """Measure how realistic, and how private, synthetic haplotype sets are.

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
        Called with one line before each statistic (for a command-line progress display).
    inputs
        Provenance records of the input files (:func:`haplogen.provenance.input_record`).
    command
        The command line, for the provenance (defaults to ``sys.argv``).
    real_name
        Name of the real set in tables and figures.
    thresholds
        Limits of the privacy verdict.

    Returns
    -------
    Evaluation

    Raises
    ------
    InputError
        When no synthetic set is given, a set's sites differ from the real set's, a set name
        is used twice, the holdout shares individuals with the real set, or the labels match
        no real individual.
    """
    start_all = time.perf_counter()
    say = progress or (lambda message: None)
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

    notes: list[str] = []
    real = _label(real, labels, real_name, notes)
    if holdout is not None:
        holdout = _label(holdout, labels, "holdout", notes)
    real_m = real.matrix
    syn_m = {name: synthetic[name].matrix for name in names}
    timings: dict[str, float] = {}
    metrics: dict[str, dict[str, float]] = {name: {} for name in names}
    details: dict[str, dict[str, Any]] = {real_name: {}, **{name: {} for name in names}}

    def timed(stage: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0
        return result

    # allele frequencies
    for name in names:
        say(f"allele frequencies: {name}")
        res = timed("allele_frequency", allele_frequency_comparison, real_m, syn_m[name])
        details[name]["allele_frequency"] = res
        for key in ("af_r", "af_rmse", "af_fixed", "af_lost"):
            metrics[name][key] = _float(res[key])

    # LD over all pairs, on a window for the heatmap, and its decay with distance
    window = _ld_window(real)
    details[real_name]["ld_window"] = {
        "columns": window,
        "position": real.sites.position[window],
        "r2": timed("ld_window", ld_r2, real_m, window),
    }
    say(f"LD decay: {real_name}")
    chrom, position = real.sites.chrom, real.sites.position
    details[real_name]["ld_decay"] = timed("ld_decay", ld_decay, real_m, chrom, position, seed=seed)
    for name in names:
        say(f"LD r² over all pairs of sites: {name}")
        res = timed("ld", ld_comparison, real_m, syn_m[name])
        details[name]["ld"] = res
        metrics[name]["ld_r"] = _float(res["ld_r"])
        details[name]["ld_window"] = {"r2": timed("ld_window", ld_r2, syn_m[name], window)}
        say(f"LD decay: {name}")
        details[name]["ld_decay"] = timed("ld_decay", ld_decay, syn_m[name], chrom, position, seed=seed)
    total_pairs = _pairs_on_same_chromosome(chrom)
    if details[real_name]["ld_decay"].get("subsampled"):
        used = int(np.sum(details[real_name]["ld_decay"]["n_pairs"]))
        notes.append(
            f"LD decay computed on a random sample of site pairs ({used:,} pairs with a defined r² in "
            f"the real set) out of {total_pairs:,} pairs of sites on a common chromosome."
        )
    notes.append(
        f"The LD heatmap shows {window.size} consecutive sites of chromosome {chrom[window[0]]} "
        f"({int(position[window[0]]):,}-{int(position[window[-1]]):,} bp)."
        if window.size else "There are no sites for the LD heatmap."
    )

    # pairwise distances
    for name in names:
        say(f"pairwise distances: {name}")
        res = timed("pairwise", pairwise_distance_comparison, real_m, syn_m[name], seed=seed)
        details[name]["pairwise"] = res
        metrics[name]["pairwise_w1"] = _float(res["pairwise_w1"])
        if res.get("subsampled"):
            notes.append(
                f"Pairwise distances of {name}: random samples of pairs ({res['n_pairs_real']:,} within "
                f"{real_name}, {res['n_pairs_syn']:,} within {name}, {res['n_pairs_between']:,} between) "
                "instead of all pairs."
            )

    # 3-point correlations
    for name in names:
        say(f"3-point correlations: {name}")
        res = timed("three_point", three_point_comparison, real_m, syn_m[name], seed=seed)
        details[name]["three_point"] = res
        for spacing, r in res["three_point_r"].items():
            key = f"three_point_r_{spacing}"
            if key in METRICS:
                metrics[name][key] = _float(r)
    n_triplets = details[names[0]]["three_point"].get("n_triplets", {})
    if n_triplets:
        notes.append(
            "3-point correlations use random triplets of sites per spacing ("
            + ", ".join(f"{k}: {v:,}" for k, v in n_triplets.items())
            + ")."
        )

    # PCA fitted on the real set, every synthetic set projected
    say("PCA")
    pca = timed("pca", pca_comparison, real_m, syn_m, seed=seed)
    details[real_name]["pca"] = pca
    for name in names:
        w1 = pca["w1"][name]
        metrics[name]["pca_w1_pc1"] = _float(w1["pc1"])
        metrics[name]["pca_w1_pc2"] = _float(w1["pc2"])

    # AATS and exact copies
    for name in names:
        say(f"AATS ({aats_repeats} subsamples): {name}")
        res = timed("aats", adversarial_accuracy, real_m, syn_m[name], n_repeats=aats_repeats, seed=seed)
        details[name]["aats"] = res
        for key in ("aats", "aats_strict", "aa_truth", "aa_syn"):
            metrics[name][key] = _float(res[key])
        if int(res["n_repeats"]) > 1:
            notes.append(
                f"AATS of {name}: mean of {res['n_repeats']} random subsamples of {res['size']:,} real and "
                f"{res['size']:,} synthetic haplotypes (standard deviation {_float(res['aats_sd']):.3f})."
            )
        else:
            notes.append(
                f"AATS of {name}: computed once on {res['size']:,} real and {res['size']:,} synthetic "
                "haplotypes (equal-sized sets need no subsampling)."
            )
        imbalance = _float(res["aa_truth"]) - _float(res["aa_syn"])
        if abs(imbalance) > AATS_IMBALANCE:
            # AATS averages two halves; a mean near 0.5 can hide two halves far from it
            notes.append(
                f"AATS of {name} averages AA truth {_float(res['aa_truth']):.3f} and AA synthetic "
                f"{_float(res['aa_syn']):.3f}: read the two halves, not the mean. "
                + (
                    "Real haplotypes are nearer to each other than to any synthetic one and synthetic ones "
                    "nearer to real than to each other: the synthetic set is more dispersed than the real "
                    "one and leaves part of it uncovered."
                    if imbalance > 0
                    else "Synthetic haplotypes are nearer to each other than real ones are: the mark of mode "
                    "collapse (too little diversity)."
                )
            )
        say(f"exact copies: {name}")
        res = timed("exact_copies", exact_copies, real_m, syn_m[name])
        details[name]["exact_copies"] = res
        metrics[name]["exact_copies"] = _float(res["exact_copies"])

    # populations
    details[real_name]["population"] = real.population
    details[real_name]["super_population"] = real.super_population
    for name in names:
        details[name]["population"] = None
        if real.population is None:
            continue
        say(f"populations: {name}")
        syn_pop = synthetic[name].population
        res = timed("population", population_comparison, real_m, real.population, syn_m[name], seed=seed, syn_pop=syn_pop)
        details[name]["population"] = res
        metrics[name]["pop_af_r_mean"] = _float(res["pop_af_r_mean"])
        metrics[name]["fst_r"] = _float(res["fst_r"])
    if real.population is None:
        notes.append("No population labels: the per-population statistics were skipped (pass a samples table).")

    # privacy audit
    privacy: dict[str, dict[str, Any]] | None = None
    if holdout is not None:
        privacy = {}
        for name in names:
            say(f"privacy audit: {name}")
            audit = timed(
                "privacy", privacy_audit, real_m, holdout.matrix, syn_m[name],
                n_repeats=aats_repeats, seed=seed, thresholds=thresholds,
            )
            privacy[name] = audit
            for key in PRIVACY_METRICS:
                metrics[name][key] = _float(audit[key])
        first = privacy[names[0]]
        notes.append(
            f"Privacy audit: {real_name} is the training set ({real.n_haplotypes:,} haplotypes); "
            f"{first['size']:,} training haplotypes drawn at random against {first['size']:,} holdout "
            f"haplotypes; near-copy threshold from {first['n_train_queries']:,} training haplotypes' "
            "nearest-neighbour distances."
        )

    order = [k for k in METRICS if any(k in metrics[n] for n in names)]
    specs = {k: METRICS[k] for k in order}
    metrics = {n: {k: metrics[n][k] for k in order if k in metrics[n]} for n in names}
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
            "ld_window_sites": int(window.size),
            "privacy_thresholds": thresholds.to_dict() if holdout is not None else None,
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
        details=details,
        privacy=privacy,
        provenance=provenance,
        notes=notes,
        timings=timings,
        sets=sets,
        thresholds=thresholds,
    )


# ---------------------------------------------------------------------------- outputs
def _json_number(value: Any) -> Any:
    """NaN and infinities become null (JSON has neither)."""
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _goal_text(spec: MetricSpec) -> str:
    if spec.goal == "max":
        return "higher" + (f" (best {spec.target:g})" if spec.target is not None else "")
    if spec.goal == "min":
        return "lower" + (f" (best {spec.target:g})" if spec.target is not None else "")
    return f"target {spec.target:g}"


_AUDIT_SCALARS = (
    "privacy_loss", "privacy_loss_strict", "aats_train", "aats_holdout", "aats_train_strict", "aats_holdout_strict",
    "closer_to_train", "closer_to_train_se", "closer_to_train_strict", "mia_auc", "mia_auc_se",
    "exact_copies_train", "exact_copies_holdout", "holdout_copy_rate", "exact_copies_allowed", "near_copies", "near_copies_share", "near_copy_threshold",
    "near_copies_holdout_share", "size", "n_train", "n_holdout", "n_syn", "n_sites", "n_repeats",
    "n_train_queries", "seed",
)


def metrics_document(ev: Evaluation) -> dict[str, Any]:
    """The content of ``metrics.json`` as plain JSON-ready data (no arrays, no NaN)."""
    statistics = {}
    for key, spec in ev.specs.items():
        statistics[key] = {
            "label": spec.label,
            "goal": spec.goal,
            "goal_text": _goal_text(spec),
            "target": _json_number(spec.target),
            "range": [_json_number(spec.range[0]), _json_number(spec.range[1])],
            "unit": spec.unit,
            "description": spec.description,
            "values": {n: _json_number(ev.metrics[n].get(key, float("nan"))) for n in ev.synthetic_names},
        }
    privacy = None
    if ev.privacy is not None:
        privacy = {}
        for name, audit in ev.privacy.items():
            verdict = audit["verdict"]
            privacy[name] = {
                "status": verdict["status"],
                "reasons": list(verdict["reasons"]),
                "checks": {k: {**c, "value": _json_number(c["value"])} for k, c in verdict["checks"].items()},
                "thresholds": verdict["thresholds"],
                "values": {k: _json_number(audit[k]) for k in _AUDIT_SCALARS if k in audit},
                "n_at_risk": len(audit["at_risk"]),
                "at_risk": audit["at_risk"][:MAX_AT_RISK_LISTED],
            }
    return {
        "schema": METRICS_SCHEMA,
        "real": ev.real_name,
        "synthetic": list(ev.synthetic_names),
        "sets": ev.sets,
        "statistics": statistics,
        "privacy": privacy,
        "notes": list(ev.notes),
        "timings": {k: round(v, 3) for k, v in ev.timings.items()},
        "provenance": ev.provenance,
    }


def write_outputs(ev: Evaluation, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``metrics.json`` and ``report.html`` into ``out_dir`` (created if needed), atomically.

    Parameters
    ----------
    ev
        The result of :func:`evaluate`.
    out_dir
        Output folder.

    Returns
    -------
    dict
        ``{"metrics": path of metrics.json, "report": path of report.html}``.
    """
    from .provenance import atomic_path
    from .report.html import render_report

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"the output folder {out} is a file; pass a folder path with -o")
    out.mkdir(parents=True, exist_ok=True)
    paths = {"metrics": out / "metrics.json", "report": out / "report.html"}
    document = metrics_document(ev)
    json.dumps(document, allow_nan=False)  # fail here, not in a reader, if a NaN slipped through
    write_json_atomic(paths["metrics"], document)
    page = render_report(ev)
    with atomic_path(paths["report"]) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return paths


def _cell(value: float, spec: MetricSpec) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    if spec.unit in ("haplotypes", "sites") and float(value).is_integer():
        return f"{int(value):d}"
    return f"{value:.4f}"


def summary_table(ev: Evaluation) -> str:
    """Plain-text table of every statistic (rows) for every synthetic set (columns), with its goal.

    Ends with one row per privacy verdict when the audit ran.
    """
    header = ["statistic", "goal", *ev.synthetic_names]
    rows = [header]
    for key, spec in ev.specs.items():
        rows.append([spec.label, _goal_text(spec), *(_cell(ev.metrics[n].get(key, float("nan")), spec)
                                                     for n in ev.synthetic_names)])
    if ev.privacy is not None:
        rows.append(["privacy verdict", "pass", *(ev.privacy[n]["verdict"]["status"] for n in ev.synthetic_names)])
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = []
    for j, row in enumerate(rows):
        cells = [str(c).ljust(widths[i]) if i < 2 else str(c).rjust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
