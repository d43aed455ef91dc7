"""The evaluation report: one self-contained HTML page.

The page embeds every figure as a base64 PNG ``data:`` URI and carries its CSS inline: it
opens offline, from an e-mail attachment or an air-gapped machine, and never loads anything
from the network. From top to bottom: a summary table (each value, its goal and each set's
value, coloured good / fair / poor by the grade bands of its
:class:`~haplogen.metrics.base.MetricSpec`), the privacy verdict of each set with the limits
used, one section per figure of each statistic that ran (in the statistics' registered
order) with its how-to-read text, the statistics that were skipped and why, the notes on
subsampling, and a footer with the provenance (software, command, seed, input checksums).

Nothing here knows a statistic by name except the privacy verdict: every figure comes from a
:class:`~haplogen.statistics.registry.FigureSpec` of a statistic's registration, drawn from
that statistic's own typed result.

Each figure is an ``<img data-figure="name">``; a small inline script records, once the page
has loaded, how many of them decoded (``document.body.dataset.figuresLoaded``) out of how many
(``figuresTotal``), so that a headless browser can check the page.
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..metrics.base import MetricSpec
from ..results import Evaluation
from . import figures as F

__all__ = ["render_report", "build_figures"]

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:16px 24px 40px}
h1{font-size:1.6em;margin:.4em 0 .1em} h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:1.05em;margin:1em 0 .3em}
p.lead{color:#555;margin-top:0}
table{border-collapse:collapse;margin:8px 0;font-size:.92em;background:#fff}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0} td.num{text-align:right;font-variant-numeric:tabular-nums}
td.ref,th.ref{color:#555;font-style:italic;background:#f4f4f4} td.good{background:#d9f2d9} td.fair{background:#fff3cd} td.poor{background:#f8d7da}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;text-transform:uppercase;font-size:.85em}
.pass{background:#2e7d32;color:#fff} .warn{background:#f9a825;color:#222} .fail{background:#c62828;color:#fff}
.verdict{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;margin:10px 0}
figure{margin:10px 0;background:#fff;border:1px solid #e4e4e4;padding:8px}
figure img{max-width:100%;height:auto;display:block}
figcaption{color:#444;font-size:.92em;margin-top:6px}
.legend span{margin-right:14px} .muted{color:#777;font-size:.9em}
footer{margin-top:30px;font-size:.85em;color:#555;border-top:1px solid #ddd;padding-top:8px}
code{font-size:.9em;word-break:break-all}
"""

_SCRIPT = """
(function(){
  function count(){
    var imgs=document.querySelectorAll('img[data-figure]');
    var ok=0;
    for(var i=0;i<imgs.length;i++){if(imgs[i].complete&&imgs[i].naturalWidth>0){ok++;}}
    document.body.dataset.figuresLoaded=String(ok);
    document.body.dataset.figuresTotal=String(imgs.length);
  }
  window.addEventListener('load',count);
})();
"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "set"


def _value_text(value: Any, spec: MetricSpec | None = None) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value))
    if not np.isfinite(v):
        return "n/a"
    if spec is not None and spec.unit in ("haplotypes", "sites") and v.is_integer():
        return f"{int(v):d}"
    return f"{v:.4f}"


# ---------------------------------------------------------------------------- figures
def build_figures(ev: Evaluation) -> list[tuple[str, str, str, Figure]]:
    """Every figure of the report, in page order.

    Returns
    -------
    list of (name, title, how to read, Figure)
        One entry per :class:`~haplogen.statistics.registry.FigureSpec` of each statistic
        that ran (one per synthetic set for a per-set figure), drawn from the statistic's
        own result.
    """
    out: list[tuple[str, str, str, Figure]] = []
    for outcome in ev.results.values():
        if not outcome.ran:
            continue
        for spec in outcome.statistic.figures:
            if spec.per_set:
                for n in ev.synthetic_names:
                    out.append((f"{spec.name}-{_slug(n)}", f"{spec.title}: {n}", spec.how_to_read,
                                spec.draw(outcome.result, n)))
            else:
                out.append((spec.name, spec.title, spec.how_to_read, spec.draw(outcome.result)))
    return out


# ---------------------------------------------------------------------------- page parts
def _reaches_reference(value: Any, reference: Any, spec: MetricSpec) -> bool:
    """Whether ``value`` is at least as good as the reference column's (a statistic to maximise
    or minimise; a target, such as AATS 0.5, keeps its own grade)."""
    try:
        v, r = float(value), float(reference)
    except (TypeError, ValueError):
        return False
    if not (np.isfinite(v) and np.isfinite(r)):
        return False
    return v >= r if spec.goal == "max" else v <= r if spec.goal == "min" else False


def _summary_table(ev: Evaluation) -> str:
    head = "".join(f"<th>{html.escape(n)}</th>" for n in ev.synthetic_names)
    ref = ev.reference_name is not None
    if ref:
        head += ('<th class="ref" title="the holdout, real individuals the model never saw, scored like a synthetic '
                 'set: what an honest generator can reach">reference (real)</th>')
    rows = []
    checks = {n: ev.privacy[n]["verdict"]["checks"] for n in ev.synthetic_names} if ev.privacy else {}
    for key, spec in ev.specs.items():
        cells = []
        for n in ev.synthetic_names:
            value = ev.metrics[n].get(key, float("nan"))
            cls = spec.grade(value)
            if cls and _reaches_reference(value, ev.reference.get(key), spec):
                cls = "good"  # as good as the real holdout: what an honest generator can reach
            if key in checks.get(n, {}):
                cls = {"pass": "good", "warn": "fair", "fail": "poor"}[checks[n][key]["status"]]
            cells.append(f'<td class="num {cls}">{_value_text(value, spec)}</td>')
        if ref:
            cells.append(f'<td class="num ref">{_value_text(ev.reference.get(key, float("nan")), spec)}</td>')
        rows.append(
            f'<tr><td title="{html.escape(spec.description)}">{html.escape(spec.label)}</td>'
            f"<td>{html.escape(spec.goal_text)}</td>{''.join(cells)}</tr>"
        )
    if ev.privacy is not None:
        cells = "".join(
            f'<td><span class="badge {ev.privacy[n]["verdict"]["status"]}">{ev.privacy[n]["verdict"]["status"]}</span></td>'
            for n in ev.synthetic_names
        ) + ('<td class="ref"></td>' if ref else "")
        rows.append(f"<tr><td><strong>privacy verdict</strong></td><td>pass</td>{cells}</tr>")
    sizes = " · ".join(
        f"{html.escape(n)}: {info['n_haplotypes']:,} haplotypes ({info['role']})" for n, info in ev.sets.items()
    )
    return (
        f'<table id="summary"><thead><tr><th>statistic</th><th>goal</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<p class="legend muted"><span class="badge pass">good</span> close to the ideal '
        f'<span class="badge warn">fair</span> <span class="badge fail">poor</span> '
        f"(bands declared with each statistic's <code>MetricSpec</code>; Wasserstein distances are not graded: "
        f"compare sets). "
        + ("The <em>reference (real)</em> column scores the holdout, real individuals the model never saw, like a "
           "synthetic set: what an honest generator can reach; for the utility statistics it is the real training "
           "set in the place of an artificial one (train on real, the real imputation panel). It is not graded, and "
           "a graded value at least as good as it is graded good. "
           if ref else "")
        + f"Sets: {sizes}; all have {next(iter(ev.sets.values()))['n_sites']:,} sites.</p>"
    )


def _privacy_section(ev: Evaluation) -> str:
    if ev.privacy is None:
        return (
            '<section id="privacy-verdict"><h2>Privacy</h2><p>No holdout set was given, so no privacy audit was run. '
            "Evaluate with a holdout set of real individuals the model never saw (<code>--holdout</code>) to audit "
            "the synthetic sets for leaks of their training data.</p></section>"
        )
    parts = ['<section id="privacy-verdict"><h2>Privacy verdict</h2>',
             f"<p>{html.escape(ev.real_name)} is the training set; each synthetic set is compared with it and with the "
             "holdout set of unseen individuals (benchmark track P).</p>"]
    for n in ev.synthetic_names:
        audit = ev.privacy[n]
        verdict = audit["verdict"]
        rows = "".join(
            f"<tr><td>{html.escape(key)}</td><td class=\"num\">{_value_text(check['value'])}</td>"
            f"<td>{html.escape(check['rule'])}</td><td><span class=\"badge {check['status']}\">{check['status']}</span></td></tr>"
            for key, check in verdict["checks"].items()
        )
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in verdict["reasons"]) or "<li>every check passed</li>"
        context = (
            f"AATS train {audit['aats_train']:.3f}, holdout {audit['aats_holdout']:.3f}; closer-to-train "
            f"± {audit['closer_to_train_se']:.3f} (standard error); AUC ± {audit['mia_auc_se']:.3f}; "
            f"{audit['exact_copies_holdout']} exact copies of a holdout haplotype; near-copy threshold "
            f"{audit['near_copy_threshold']:g} sites ({audit['near_copies_holdout_share']:.1%} of holdout haplotypes "
            f"are that near a training one); {audit['size']:,} train vs {audit['size']:,} holdout haplotypes."
        )
        parts.append(
            f'<div class="verdict" data-set="{html.escape(n)}"><h3>{html.escape(n)}: '
            f'<span class="badge {verdict["status"]}">{verdict["status"]}</span></h3><ul>{reasons}</ul>'
            f"<table><thead><tr><th>check</th><th>value</th><th>rule</th><th>status</th></tr></thead>"
            f'<tbody>{rows}</tbody></table><p class="muted">{html.escape(context)}</p>'
            f"{_at_risk_table(audit)}</div>"
        )
    limits = ev.privacy[ev.synthetic_names[0]]["verdict"]["thresholds"]
    thresholds = ", ".join(f"{k} = {v:g}" for k, v in limits.items())
    parts.append(f'<p class="muted">Limits used: {html.escape(thresholds)}.</p></section>')
    return "".join(parts)


def _at_risk_table(audit: dict[str, Any], limit: int = 20) -> str:
    at_risk = audit["at_risk"]
    if not at_risk:
        return "<p>No synthetic haplotype is an exact or near copy of a training haplotype.</p>"
    rows = "".join(
        f"<tr><td class=\"num\">{r['syn_index']}</td><td class=\"num\">{r['nearest_train_index']}</td>"
        f"<td class=\"num\">{r['distance']}</td></tr>"
        for r in at_risk[:limit]
    )
    more = f" (the {limit} nearest shown)" if len(at_risk) > limit else ""
    return (
        f"<p>{len(at_risk)} synthetic haplotypes at risk{more}: remove them before release, or retrain.</p>"
        f'<table class="at-risk"><thead><tr><th>synthetic row</th><th>nearest training row</th>'
        f"<th>Hamming distance</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _footer(ev: Evaluation) -> str:
    p = ev.provenance
    software = ", ".join(f"{k} {v}" for k, v in p.get("software", {}).items())
    command = " ".join(str(c) for c in p.get("command", []))
    inputs = "".join(
        f"<li><code>{html.escape(str(i.get('path', '')))}</code> sha256 <code>{html.escape(str(i.get('sha256', '')))}</code></li>"
        for i in p.get("inputs", [])
    )
    sources = "".join(
        f"<li>{html.escape(n)}: <code>{html.escape(str(src))}</code></li>" for n, src in p.get("sources", {}).items() if src
    )
    return (
        f"<footer><p><strong>Provenance</strong>: {html.escape(software)}. Seed {p.get('seed')}. "
        f"Made {html.escape(str(p.get('timestamp', '')))} on {html.escape(str(p.get('platform', '')))}.</p>"
        f"<p>Command: <code>{html.escape(command)}</code></p>"
        + (f"<p>Inputs:</p><ul>{inputs}</ul>" if inputs else "")
        + (f"<p>Sources of the sets:</p><ul>{sources}</ul>" if sources else "")
        + "</footer>"
    )


def render_report(ev: Evaluation, *, dpi: int = 80) -> str:
    """The report page of an evaluation, as one self-contained HTML string.

    Parameters
    ----------
    ev
        The result of :func:`haplogen.evaluation.evaluate`.
    dpi
        Resolution of the embedded PNG figures.
    """
    sections = []
    for name, title, how_to_read, fig in build_figures(ev):
        uri = F.figure_to_data_uri(fig, dpi=dpi)
        sections.append(
            f'<section id="{name}"><h2>{html.escape(title)}</h2><figure>'
            f'<img src="{uri}" alt="{html.escape(title)}" data-figure="{name}">'
            f"<figcaption>{html.escape(how_to_read)}</figcaption></figure></section>"
        )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in ev.notes)
    skipped = "".join(f'<li data-statistic="{html.escape(name)}">{html.escape(reason)}</li>'
                      for name, reason in ev.skipped.items())
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in ev.timings.items())
    title = f"haplogen evaluation: {', '.join(ev.synthetic_names)} vs {ev.real_name}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{html.escape(title)}</h1>"
        '<p class="lead">How realistic are the synthetic haplotypes, and do they reveal the individuals who '
        "trained the model? Statistics as defined in the haplogen benchmark (tracks F and P).</p>"
        f'<section id="summary-section"><h2>Summary</h2>{_summary_table(ev)}</section>'
        f"{_privacy_section(ev)}"
        + "".join(sections)
        + (f'<section id="skipped"><h2>Not measured</h2><ul>{skipped}</ul></section>' if skipped else "")
        + f'<section id="notes"><h2>Notes</h2><ul>{notes}</ul><p class="muted">Time: {html.escape(timing)}.</p></section>'
        + _footer(ev)
        + f"</main><script>{_SCRIPT}</script></body></html>\n"
    )
