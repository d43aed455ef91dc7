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

from haplogen.evaluation import evaluate
from haplogen.haplotypes import Haplotypes
from haplogen.metrics.base import METRICS, MetricSpec
from haplogen.provenance import input_record
from haplogen.report import figures as F
from haplogen.report import write_outputs
from haplogen.report.html import _privacy_section, build_figures, render_report
from haplogen.results import Evaluation
from haplogen.statistics import (
    FigureSpec,
    Measurement,
    load_statistics,
    program,
    register_statistic,
    unregister_statistic,
)

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
    names = [name for name, _, _, _ in build_figures(ev)]
    assert names == ["allele-frequency", "ld-window-other", "ld-decay", "pca", "pairwise-distances", "three-point", "aats"]
    assert "no privacy audit was run" in _privacy_section(ev)
    page = render_report(ev)
    skipped = page[page.index('<section id="skipped">'):page.index('<section id="notes">')]
    for name, reason in ev.skipped.items():
        assert f'<li data-statistic="{name}">{html.escape(reason)}</li>' in skipped
    assert {"population", "privacy"} <= set(ev.skipped)
    assert all("no holdout set was given" in r or "labels" in r or "off unless asked" in r for r in ev.skipped.values())


# ---------------------------------------------------------------------------- figure functions
def test_figure_functions_draw_into_given_axes(audited):
    fig = Figure()
    ax = fig.add_subplot()
    ld = audited.result("ld")
    assert F.plot_ld_heatmap(ld.window_r2["real"], ld.window_r2["rbm"], name="rbm", ax=ax) is fig
    fig2 = Figure()
    ax2 = fig2.add_subplot()
    assert F.plot_privacy_roc(audited.privacy, ax=ax2) is fig2
    assert len(ax2.lines) == 1 + len(audited.privacy)  # chance line + one curve per set
    fig3 = Figure()
    axes = fig3.subplots(1, 2)
    comparisons = audited.result("allele_frequency").comparisons
    assert F.plot_allele_frequency(comparisons, axes=axes) is fig3
    assert "r = " in axes[0].get_title()
    with pytest.raises(ValueError, match="this figure needs 2 axes, found 1"):
        F.plot_allele_frequency(comparisons, axes=[axes[0]])


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
    load_statistics()
    af = METRICS["af_r"]
    assert af.grade(0.995) == "good"
    assert af.grade(0.97) == "fair"
    assert af.grade(0.90) == "poor"
    assert af.grade(float("nan")) == "" and af.grade(None) == ""
    assert METRICS["aats"].grade(0.61) == "poor"  # the mode-collapsed GAN of the paper
    assert METRICS["aats"].grade(0.55) == "fair"  # the paper's RBM
    assert METRICS["pairwise_w1"].grade(3.0) == ""  # no absolute scale
    assert METRICS["exact_copies"].grade(0) == "good" and METRICS["exact_copies"].grade(1) == "poor"


# ---------------------------------------------------------------------------- a statistic from outside
TOY_HOW_TO_READ = "Toy bars: the share of allele 1 in each set; the bars should be alike."


@pytest.fixture
def toy_statistic():
    """One registration, in this test only: a value, a figure and its how-to-read text."""

    @dataclasses.dataclass(frozen=True)
    class ToyResult:
        means: dict[str, float]

    def compute(ctx):
        means = {ctx.real_name: float(ctx.real.matrix.mean())}
        means.update({n: float(h.matrix.mean()) for n, h in ctx.synthetic.items()})
        return Measurement({n: {"toy_mean_gap": abs(means[n] - means[ctx.real_name])} for n in ctx.synthetic},
                           result=ToyResult(means), notes=["Toy statistic: mean of the whole matrix."])

    def draw(result):
        fig = Figure(figsize=(4, 3))
        fig.add_subplot().bar(list(result.means), list(result.means.values()))
        return fig

    yield register_statistic(
        "toy", title="Toy", compute=compute, order=55,
        specs=[MetricSpec("toy_mean_gap", "toy mean gap", "min", 0.0, (0.0, 1.0),
                          "difference of the mean allele-1 share", bands=(0.01, 0.05))],
        figures=[FigureSpec("toy-bars", "Toy bars", draw, TOY_HOW_TO_READ)],
    )
    unregister_statistic("toy")


def test_one_registration_adds_a_statistic_to_metrics_json_and_the_report(sim_pair, toy_statistic, tmp_path):
    import json

    real, other = sim_pair
    ev = evaluate(real, {"other": _unlabelled(other)}, aats_repeats=1,
                  statistics=["allele_frequency", "three_point", "aats", "toy"])
    paths = write_outputs(ev, tmp_path)
    doc = json.loads(paths["metrics"].read_text())
    toy = doc["statistics"]["toy_mean_gap"]
    gap = abs(other.matrix.mean() - real.matrix.mean())
    assert toy["values"]["other"] == pytest.approx(gap) and toy["goal_text"] == "lower (best 0)"
    assert toy["bands"] == [0.01, 0.05]
    assert "Toy statistic: mean of the whole matrix." in doc["notes"]
    assert list(doc["statistics"]).index("toy_mean_gap") > list(doc["statistics"]).index("three_point_r_1")
    page = paths["report"].read_text()
    images = re.findall(r'data-figure="([^"]+)"', page)
    assert images == ["allele-frequency", "three-point", "toy-bars", "aats"]  # in registered order
    section = page[page.index('<section id="toy-bars">'):]
    section = section[:section.index("</section>")]
    assert "<h2>Toy bars</h2>" in section and html.escape(TOY_HOW_TO_READ) in section
    uri = re.search(r'src="(data:image/png;base64,[^"]+)"', section).group(1)
    assert _png_size(base64.b64decode(uri.split(",", 1)[1]))[0] > 100
    summary = page[page.index('<table id="summary">'):page.index("</table>")]
    assert ">toy mean gap<" in summary and f"{gap:.4f}" in summary


def test_a_statistic_whose_needs_are_unmet_is_skipped_and_says_why(sim_pair, tmp_path):
    import json

    real, other = sim_pair
    ran = []
    register_statistic("imputation_toy", title="Imputation r²", compute=lambda ctx: ran.append(1),
                       needs=[program("no-such-imputation-program-xyz", "install it first")], order=90)
    try:
        ev = evaluate(real, {"other": other}, statistics=["allele_frequency", "imputation_toy"], aats_repeats=1)
    finally:
        unregister_statistic("imputation_toy")
    reason = ("Imputation r² skipped: the program no-such-imputation-program-xyz is not on the PATH "
              "(install it first).")
    assert ran == [] and ev.skipped["imputation_toy"] == reason
    paths = write_outputs(ev, tmp_path)
    assert json.loads(paths["metrics"].read_text())["skipped"]["imputation_toy"] == reason
    assert html.escape(reason) in paths["report"].read_text()


def test_registrations_that_would_collide_are_refused():
    load_statistics()
    noop = lambda ctx: Measurement({})  # noqa: E731
    with pytest.raises(ValueError, match=r"a statistic named 'ld' is already registered"):
        register_statistic("ld", title="LD again", compute=noop)
    with pytest.raises(ValueError, match=r"reports \['af_r'\], already reported by statistic 'allele_frequency'"):
        register_statistic("af_again", title="AF", compute=noop, specs=[METRICS["af_r"]])
    with pytest.raises(ValueError, match=r"draws a figure named \['pca'\], already drawn by 'pca'"):
        register_statistic("pca_again", title="PCA", compute=noop,
                           figures=[FigureSpec("pca", "PCA", lambda r: Figure(), "how to read it")])
    with pytest.raises(ValueError, match=r"figure name must hold only letters, digits and '-'"):
        FigureSpec("no spaces", "x", lambda r: Figure(), "text")
    with pytest.raises(ValueError, match=r"every spec must be a MetricSpec, found str"):
        register_statistic("typo", title="Typo", compute=noop, specs=["af_r"])
    with pytest.raises(ValueError, match=r"bands must be \(good, fair\) with 0 <= good <= fair"):
        MetricSpec("x", "x", "max", 1.0, (0, 1), "x", bands=(0.2, 0.1))
    assert "af_again" not in [s for s in METRICS]


def test_pca_colours_a_labelled_synthetic_set_like_the_real_populations():
    """A conditional model's set is drawn population by population in the real panel's colours
    (over the real set in grey); an unlabelled set keeps one colour."""
    from matplotlib.colors import to_hex

    rng = np.random.default_rng(0)
    real = rng.normal(size=(60, 4))
    pops = np.repeat(np.array(["CEU", "CHB", "YRI"]), 20)
    pca = {"real_coords": real, "syn_coords": {"cond": rng.normal(size=(30, 4)), "plain": rng.normal(size=(30, 4))},
           "explained_variance_ratio": [0.3, 0.2], "w1": {}}
    syn_pops = np.array(["YRI"] * 10 + ["CEU"] * 15 + ["XXX"] * 5)
    fig = F.plot_pca(pca, real_population=pops, syn_population={"cond": syn_pops})
    real_ax, cond_ax, plain_ax = fig.axes[:3]

    def colours(ax):
        return {c.get_label(): to_hex(c.get_facecolor()[0]) for c in ax.collections}

    real_colours, cond_colours = colours(real_ax), colours(cond_ax)
    assert cond_colours["cond YRI"] == real_colours["real YRI"]
    assert cond_colours["cond CEU"] == real_colours["real CEU"]
    assert "cond CHB" not in cond_colours and cond_colours["cond, other labels"] == "#000000"
    assert cond_colours["real"] == F.REAL_COLOUR  # the real set beneath in one grey
    sizes = {c.get_label(): len(c.get_offsets()) for c in cond_ax.collections}
    assert sizes == {"real": 60, "cond YRI": 10, "cond CEU": 15, "cond, other labels": 5}
    assert [c.get_label() for c in plain_ax.collections][-1] == "plain"
    assert len(plain_ax.collections) == 4  # three real populations, then the set in its colour


def test_a_value_as_good_as_the_reference_is_graded_good(sim_pair):
    """Beside a reference column, a graded statistic to maximise (or minimise) that reaches the
    real holdout's value is graded good whatever its absolute grade; a target keeps its own."""
    from haplogen.report.html import _reaches_reference, _summary_table

    real, other = sim_pair
    ev = evaluate(real, {"other": other}, aats_repeats=1, seed=1, statistics=["ld", "aats"])
    aats = ev.metrics["other"]["aats"]
    spec = ev.specs["ld_r"]
    assert spec.grade(0.5) == "poor"
    assert _reaches_reference(0.5, 0.4, spec) and not _reaches_reference(0.5, 0.6, spec)
    assert not _reaches_reference(0.5, float("nan"), spec) and not _reaches_reference(0.5, None, spec)
    assert not _reaches_reference(0.7, 0.7 + 0.3, ev.specs["aats"])  # a target is not a direction

    def cell(page: str, label: str) -> str:
        row = re.search(rf"<tr><td[^>]*>{re.escape(label)}</td><td>[^<]*</td><td class=\"([^\"]*)\"", page)
        return row.group(1)

    ev.metrics["other"]["ld_r"] = 0.5  # poor against the ideal 1 ...
    ev.reference, ev.reference_name = {"ld_r": 0.45, "aats": aats}, "holdout"
    assert cell(_summary_table(ev), "LD r") == "num good"  # ... but better than the real holdout
    ev.reference["ld_r"] = 0.55
    assert cell(_summary_table(ev), "LD r") == "num poor"
    assert "graded value at least as good as it is graded good" in _summary_table(ev)
