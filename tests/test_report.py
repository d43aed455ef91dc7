"""Tests of the figures and of the self-contained HTML report."""

from __future__ import annotations

import base64
import html
import dataclasses
import re
import struct

import numpy as np
import pytest
from matplotlib.figure import Figure

from haplogen.evaluation import Evaluation, evaluate
from haplogen.haplotypes import Haplotypes
from haplogen.metrics.base import METRICS
from haplogen.provenance import input_record
from haplogen.report import figures as F
from haplogen.report.html import _privacy_section, build_figures, grade, render_report

ODD_NAME = "gan <v2> & co"

EXPECTED_FIGURES = [
    "allele-frequency", "ld-window-rbm", "ld-window-gan-v2-co", "ld-decay", "pca", "pairwise-distances",
    "three-point", "aats", "population", "privacy-roc", "privacy-distances",
]


def _unlabelled(h: Haplotypes) -> Haplotypes:
    return dataclasses.replace(h, population=None, super_population=None)


@pytest.fixture(scope="module")
def audited(sim_haplotypes: Haplotypes, tmp_path_factory) -> Evaluation:
    """Train 150 / holdout 75 individuals; 'rbm' = 75 other real individuals, the odd name = train copies."""
    samples = np.random.default_rng(3).permutation(sim_haplotypes.samples)
    train = sim_haplotypes.select_samples(samples[:150])
    other = _unlabelled(sim_haplotypes.select_samples(samples[150:225]))
    holdout = sim_haplotypes.select_samples(samples[225:])
    copies = _unlabelled(train.take(np.arange(holdout.n_haplotypes)))
    source = tmp_path_factory.mktemp("in") / "train.vcf"
    source.write_text("##fileformat=VCFv4.2 stand-in\n")
    return evaluate(train, {"rbm": other, ODD_NAME: copies}, holdout=holdout, aats_repeats=2, seed=4,
                    inputs=[input_record(source)], command=["haplogen", "evaluate"])


@pytest.fixture(scope="module")
def page(audited: Evaluation) -> str:
    return render_report(audited)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_report_embeds_every_figure_as_png(page):
    images = re.findall(r'<img src="([^"]+)" alt="[^"]*" data-figure="([^"]+)">', page)
    assert [name for _, name in images] == EXPECTED_FIGURES
    for uri, name in images:
        assert uri.startswith("data:image/png;base64,"), name
        width, height = _png_size(base64.b64decode(uri.split(",", 1)[1]))
        assert width > 200 and height > 150, name
    assert page.count("data-figure=") == len(EXPECTED_FIGURES)


def test_report_is_self_contained(page):
    # every src / href is inline data; no stylesheet, script or font is fetched
    assert re.findall(r'(?:src|href)\s*=\s*"(?!data:)', page) == []
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert re.search(r"<script[^>]*\bsrc=", page) is None
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "figuresLoaded" in page and "figuresTotal" in page and "naturalWidth" in page


def test_summary_table_and_verdicts(page, audited):
    summary = page[page.index('<table id="summary">'):page.index("</table>", page.index('<table id="summary">'))]
    for key, spec in audited.specs.items():
        assert f">{spec.label}<" in summary
    assert f"{audited.metrics['rbm']['af_r']:.4f}" in summary
    assert 'class="num good"' in summary and 'class="num poor"' in summary
    # privacy verdicts: the copies fail, with reasons and the limits shown
    assert audited.privacy[ODD_NAME]["verdict"]["status"] == "fail"
    assert 'data-set="gan &lt;v2&gt; &amp; co"' in page
    verdict_block = page[page.index('id="privacy-verdict"'):page.index('<section id="allele-frequency"')]
    assert verdict_block.count('class="badge fail">fail</span></h3>') >= 1
    assert "Exact copies of training haplotypes" in verdict_block
    assert "Limits used: privacy_loss_pass = 0.05" in verdict_block
    assert "synthetic haplotypes at risk" in verdict_block and "<th>nearest training row</th>" in verdict_block


def test_names_are_escaped(page):
    assert ODD_NAME not in page
    assert "gan &lt;v2&gt; &amp; co" in page


def test_notes_and_provenance_footer(page, audited):
    for note in audited.notes:
        assert html.escape(note) in page
    footer = page[page.index("<footer>"):]
    assert f"Seed {audited.provenance['seed']}" in footer
    assert audited.provenance["inputs"][0]["sha256"] in footer
    assert "haplogen 0.1.0" in footer and "haplogen evaluate" in footer


def test_report_without_holdout_or_labels(sim_pair):
    real, other = sim_pair
    ev = evaluate(_unlabelled(real), {"other": _unlabelled(other)}, aats_repeats=1)
    names = [name for name, _, _ in build_figures(ev)]
    assert names == ["allele-frequency", "ld-window-other", "ld-decay", "pca", "pairwise-distances", "three-point", "aats"]
    assert "no privacy audit was run" in _privacy_section(ev)


# ---------------------------------------------------------------------------- figure functions
def test_figure_functions_draw_into_given_axes(audited):
    fig = Figure()
    ax = fig.add_subplot()
    real_r2 = audited.details["real"]["ld_window"]["r2"]
    assert F.plot_ld_heatmap(real_r2, audited.details["rbm"]["ld_window"]["r2"], name="rbm", ax=ax) is fig
    fig2 = Figure()
    ax2 = fig2.add_subplot()
    assert F.plot_privacy_roc(audited.privacy, ax=ax2) is fig2
    assert len(ax2.lines) == 1 + len(audited.privacy)  # chance line + one curve per set
    fig3 = Figure()
    axes = fig3.subplots(1, 2)
    assert F.plot_allele_frequency({n: audited.details[n]["allele_frequency"] for n in ("rbm", ODD_NAME)},
                                   axes=axes) is fig3
    assert "r = " in axes[0].get_title()
    with pytest.raises(ValueError, match="this figure needs 2 axes, found 1"):
        F.plot_allele_frequency({n: audited.details[n]["allele_frequency"] for n in ("rbm", ODD_NAME)},
                                axes=[axes[0]])


def test_ld_heatmap_puts_real_below_and_synthetic_above():
    real = np.full((4, 4), 0.2)
    syn = np.full((4, 4), 0.9)
    fig = F.plot_ld_heatmap(real, syn, name="s")
    shown = fig.axes[0].images[0].get_array()
    assert shown[3, 0] == pytest.approx(0.2) and shown[0, 3] == pytest.approx(0.9)
    assert np.ma.is_masked(shown[1, 1]) or np.isnan(shown[1, 1])


def test_figure_to_data_uri_is_a_png():
    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    uri = F.figure_to_data_uri(fig, dpi=50)
    assert _png_size(base64.b64decode(uri.split(",", 1)[1]))[0] > 50


def test_grade_bands():
    af = METRICS["af_r"]
    assert grade("af_r", 0.995, af) == "good"
    assert grade("af_r", 0.97, af) == "fair"
    assert grade("af_r", 0.90, af) == "poor"
    assert grade("af_r", float("nan"), af) == ""
    assert grade("aats", 0.61, METRICS["aats"]) == "poor"  # the mode-collapsed GAN of the paper
    assert grade("aats", 0.55, METRICS["aats"]) == "fair"  # the paper's RBM
    assert grade("pairwise_w1", 3.0, METRICS["pairwise_w1"]) == ""  # no absolute scale
