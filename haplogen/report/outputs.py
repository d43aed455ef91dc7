"""The outputs of an evaluation: ``metrics.json``, ``report.html`` and the terminal table.

:func:`write_outputs` writes the two files all or nothing: both are rendered in memory,
written into a temporary folder inside the output folder, and moved onto their final names
only once both are complete, so that a failure (a full disk) never leaves a new
``metrics.json`` beside an old ``report.html``, nor a temporary file behind.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..metrics.base import MetricSpec
from ..results import Evaluation

__all__ = ["write_outputs", "metrics_document", "summary_table", "METRICS_SCHEMA", "MAX_AT_RISK_LISTED"]

#: at-risk haplotypes listed per set in metrics.json (the count is always given)
MAX_AT_RISK_LISTED = 100
#: schema tag of metrics.json
METRICS_SCHEMA = "haplogen.evaluation/1"

#: scalar values of a privacy audit copied into metrics.json's "privacy" section
_AUDIT_SCALARS = (
    "privacy_loss", "privacy_loss_strict", "aats_train", "aats_holdout", "aats_train_strict", "aats_holdout_strict",
    "closer_to_train", "closer_to_train_se", "closer_to_train_strict", "mia_auc", "mia_auc_se",
    "exact_copies_train", "exact_copies_holdout", "holdout_copy_rate", "exact_copies_allowed", "near_copies",
    "near_copies_share", "near_copy_threshold", "near_copies_holdout_share", "size", "n_train", "n_holdout",
    "n_syn", "n_sites", "n_repeats", "n_train_queries", "seed",
)


def _json_number(value: Any) -> Any:
    """NaN and infinities become null (JSON has neither)."""
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _plain(value: Any) -> Any:
    """``json.dumps`` hook: numpy scalars and arrays, and paths, as plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"metrics.json cannot hold a {type(value).__name__}: {value!r}")


def metrics_document(ev: Evaluation) -> dict[str, Any]:
    """The content of ``metrics.json`` as plain JSON-ready data (no arrays, no NaN).

    Parameters
    ----------
    ev
        The result of :func:`haplogen.evaluation.evaluate`.

    Returns
    -------
    dict
        ``schema``, ``real``, ``synthetic``, ``sets``, ``statistics`` (per value key: its
        spec, grade bands, the value of each set and, with a holdout, the ``reference`` value),
        ``reference`` (the holdout scored like a set; null without one), ``privacy`` (per set: verdict, checks,
        values, at-risk haplotypes; null without a holdout), ``skipped`` ({statistic: why it
        did not run}), ``notes``, ``timings`` and ``provenance``.
    """
    statistics = {}
    for key, spec in ev.specs.items():
        statistics[key] = {
            "label": spec.label,
            "goal": spec.goal,
            "goal_text": spec.goal_text,
            "target": _json_number(spec.target),
            "range": [_json_number(spec.range[0]), _json_number(spec.range[1])],
            "bands": None if spec.bands is None else [float(b) for b in spec.bands],
            "unit": spec.unit,
            "description": spec.description,
            "values": {n: _json_number(ev.metrics[n].get(key, float("nan"))) for n in ev.synthetic_names},
        }
        if ev.reference_name is not None:
            statistics[key]["reference"] = _json_number(ev.reference.get(key, float("nan")))
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
        "reference": None if ev.reference_name is None else {
            "set": ev.reference_name, "role": "holdout scored like a synthetic set: the floor an honest generator "
            "can reach", "values": {k: _json_number(v) for k, v in ev.reference.items()}},
        "privacy": privacy,
        "skipped": dict(ev.skipped),
        "notes": list(ev.notes),
        "timings": {k: round(v, 3) for k, v in ev.timings.items()},
        "provenance": ev.provenance,
    }


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) and flush it to disk; one place to inject a failing write in tests."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def write_outputs(ev: Evaluation, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``metrics.json`` and ``report.html`` into ``out_dir`` (created if needed), all or nothing.

    Both files are rendered first, written into a temporary folder inside ``out_dir``, and
    moved onto their final names only when both are complete; on any failure the previous
    files (if any) are left as they were and the temporary folder is removed.

    Parameters
    ----------
    ev
        The result of :func:`haplogen.evaluation.evaluate`.
    out_dir
        Output folder.

    Returns
    -------
    dict
        ``{"metrics": path of metrics.json, "report": path of report.html}``.

    Raises
    ------
    InputError
        When ``out_dir`` is a file.
    OSError
        When a file cannot be written (full disk, no permission); nothing is changed then.
    """
    from .html import render_report

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"the output folder {out} is a file; pass a folder path with -o")
    # allow_nan=False: fail here, not in a reader, if a NaN slipped through
    document = json.dumps(metrics_document(ev), indent=2, allow_nan=False, default=_plain) + "\n"
    page = render_report(ev)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"metrics": out / "metrics.json", "report": out / "report.html"}
    staging = Path(tempfile.mkdtemp(prefix=".evaluation.", suffix=".part", dir=out))
    try:
        _write_text(staging / "metrics.json", document)
        _write_text(staging / "report.html", page)
        # the files were made by open() (0666 less the umask); only the staging folder is private
        for path in paths.values():
            os.replace(staging / path.name, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return paths


def _cell(value: float, spec: MetricSpec) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    if spec.unit in ("haplotypes", "sites") and float(value).is_integer():
        return f"{int(value):d}"
    return f"{value:.4f}"


def summary_table(ev: Evaluation) -> str:
    """Plain-text table of every value (rows) for every synthetic set (columns), with its goal.

    With a holdout, the last column is the holdout scored like a set (the reference: what an
    honest generator can reach). Ends with one row per privacy verdict when the audit ran.
    """
    ref = ev.reference_name is not None
    header = ["statistic", "goal", *ev.synthetic_names, *(["reference (real)"] if ref else [])]
    rows = [header]
    for key, spec in ev.specs.items():
        rows.append([spec.label, spec.goal_text, *(_cell(ev.metrics[n].get(key, float("nan")), spec)
                                                   for n in ev.synthetic_names),
                     *([_cell(ev.reference.get(key, float("nan")), spec)] if ref else [])])
    if ev.privacy is not None:
        rows.append(["privacy verdict", "pass", *(ev.privacy[n]["verdict"]["status"] for n in ev.synthetic_names),
                     *([""] if ref else [])])
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = []
    for j, row in enumerate(rows):
        cells = [str(c).ljust(widths[i]) if i < 2 else str(c).rjust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
