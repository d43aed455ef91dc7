"""Tests of evaluate(), metrics.json and the terminal table, end to end on small simulated sets."""

from __future__ import annotations

import dataclasses
import doctest
import errno
import json
import math

import numpy as np
import pytest
from scipy import stats

import haplogen.evaluation
from haplogen.errors import InputError
from haplogen.evaluation import evaluate
from haplogen.haplotypes import Haplotypes
from haplogen.metrics.base import MetricSpec
from haplogen.privacy import PRIVACY_METRICS
from haplogen.provenance import input_record
from haplogen.report import metrics_document, summary_table, write_outputs
from haplogen.report import outputs as outputs_module
from haplogen.results import Evaluation
from haplogen.statistics import Measurement, register_statistic, registered_statistics, unregister_statistic

#: the keys of metrics.json's "statistics" before the statistics became a registry (haplogen 0.1)
FIDELITY_KEYS = {"af_r", "af_rmse", "af_fixed", "af_lost", "ld_r", "pairwise_w1", "pca_w1_pc1", "pca_w1_pc2",
                 "aats", "aats_strict", "aa_truth", "aa_syn", "three_point_r_random", "three_point_r_1",
                 "three_point_r_4", "three_point_r_16", "three_point_r_64", "exact_copies", "pop_af_r_mean",
                 "fst_r"}


def check_values(ev: Evaluation, undefined: set[tuple[str, str]] = frozenset()) -> None:
    """Every value is finite and within its spec's range, except the (set, key) pairs named undefined.

    The slow obvious check: one value at a time, NaN refused unless the caller says why it is
    expected (a spacing that does not fit, a population without synthetic haplotypes).
    """
    for name in ev.synthetic_names:
        assert set(ev.metrics[name]) == set(ev.specs), name
        for key, value in ev.metrics[name].items():
            if (name, key) in undefined:
                assert math.isnan(value), (name, key, value)
                continue
            assert math.isfinite(value), f"{key} of {name} is {value}, a value that is defined here"
            low, high = ev.specs[key].range
            assert low - 1e-9 <= value <= high + 1e-9, (name, key, value)


def _unlabelled(h: Haplotypes) -> Haplotypes:
    return dataclasses.replace(h, population=None, super_population=None)


@pytest.fixture(scope="module")
def three_way(sim_haplotypes: Haplotypes) -> dict[str, Haplotypes]:
    """sim_haplotypes split by individual: train 150, other 75, holdout 75 individuals."""
    samples = np.random.default_rng(3).permutation(sim_haplotypes.samples)
    return {
        "train": sim_haplotypes.select_samples(samples[:150]),
        "other": _unlabelled(sim_haplotypes.select_samples(samples[150:225])),
        "holdout": sim_haplotypes.select_samples(samples[225:]),
    }


@pytest.fixture(scope="module")
def evaluation(sim_pair, tmp_path_factory) -> tuple[Evaluation, list[str]]:
    real, other = sim_pair
    messages: list[str] = []
    # a source file for the provenance
    path = tmp_path_factory.mktemp("inputs") / "real.txt"
    path.write_text("stand-in for the real VCF\n")
    copies = _unlabelled(real.take(np.arange(0, real.n_haplotypes, 2)))
    ev = evaluate(
        real,
        {"other": _unlabelled(other), "copies": copies},
        seed=5,
        aats_repeats=2,
        progress=messages.append,
        inputs=[input_record(path)],
        command=["haplogen", "evaluate", "--real", str(path)],
    )
    return ev, messages


def test_evaluate_measures_every_statistic(evaluation, sim_pair):
    ev, messages = evaluation
    real, other = sim_pair
    assert ev.real_name == "real" and ev.synthetic_names == ["other", "copies"]
    # 300 sites: spacings 256 and 1024 do not fit (2 s >= 300) and are left out
    assert set(ev.specs) == FIDELITY_KEYS
    order = [spec.key for s in registered_statistics() for spec in s.specs]
    assert list(ev.specs) == [k for k in order if k in ev.specs]  # registry order
    check_values(ev)
    assert ev.privacy is None
    # without a holdout every statistic that needs one is skipped, saying so; imputation is opt-in
    needs_holdout = [st.name for st in registered_statistics() if any(n.name == "holdout" for n in st.needs)]
    assert set(ev.skipped) == set(needs_holdout) and "privacy" in needs_holdout
    for name in needs_holdout:
        assert "no holdout set was given" in ev.skipped[name] or "off unless asked for by name" in ev.skipped[name]
    assert "no holdout set was given" in ev.skipped["privacy"]
    assert [n for n, r in ev.results.items() if r.ran] == [
        "allele_frequency", "ld", "pca", "pairwise", "three_point", "aats", "exact_copies", "population"]
    # one progress line per statistic and set
    for stage in ("allele frequencies: other", "LD r² over all pairs of sites: copies", "PCA", "AATS (2 subsamples): other",
                  "populations: copies", "3-point correlations: other", "pairwise distances: other"):
        assert stage in messages
    assert ev.timings["total"] >= ev.timings["aats"] > 0


def test_values_agree_with_independent_computations(evaluation, sim_pair):
    ev, _ = evaluation
    real, other = sim_pair
    # allele frequency r with scipy
    r = stats.pearsonr(real.matrix.mean(axis=0), other.matrix.mean(axis=0)).statistic
    assert ev.metrics["other"]["af_r"] == pytest.approx(r, abs=1e-10)
    # exact copies by hashing rows
    real_rows = {row.tobytes() for row in real.matrix}
    assert ev.metrics["other"]["exact_copies"] == sum(row.tobytes() in real_rows for row in other.matrix)
    assert ev.metrics["copies"]["exact_copies"] == real.n_haplotypes // 2
    # a set of real haplotypes scores AATS below 0.5 (copying); a disjoint real set near 0.5
    assert ev.metrics["copies"]["aats"] < 0.4 < ev.metrics["other"]["aats"] < 0.6
    # the LD window matches ld_r2 on the same columns, computed independently with numpy
    ld = ev.result("ld")
    x = real.matrix[:, ld.window[:20]].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.corrcoef(x, rowvar=False) ** 2
    np.testing.assert_allclose(ld.window_r2["real"][:20, :20], expected, atol=1e-5)


def test_each_statistic_keeps_its_typed_result_for_the_figures(evaluation):
    ev, _ = evaluation
    pca = ev.result("pca")
    assert pca.pca["real_coords"].shape[0] == pca.real_population.shape[0]
    assert set(pca.pca["syn_coords"]) == {"other", "copies"}
    ld = ev.result("ld")
    assert set(ld.window_r2) == set(ld.decay) == {"real", "other", "copies"}
    assert ld.window_r2["other"].shape == (ld.window.size,) * 2 == (ld.window_position.size,) * 2
    for statistic in ("allele_frequency", "pairwise", "three_point", "aats", "exact_copies", "population"):
        assert set(ev.result(statistic).comparisons) == {"other", "copies"}, statistic
    aats = ev.result("aats").comparisons["other"]
    assert aats["d_rr"].shape == aats["d_sr"].shape
    assert ev.result("privacy") is None and ev.result("no such statistic") is None


def test_evaluate_is_reproducible_from_its_seed(evaluation, sim_pair):
    ev, _ = evaluation
    real, other = sim_pair
    # each set's statistics depend only on the real set, that set and the seed
    again = evaluate(real, {"other": _unlabelled(other)}, seed=ev.provenance["seed"], aats_repeats=2)
    assert again.metrics["other"] == pytest.approx(ev.metrics["other"], nan_ok=True)


def test_metrics_json_schema(evaluation, tmp_path):
    ev, _ = evaluation
    paths = write_outputs(ev, tmp_path / "out")
    assert set(paths) == {"metrics", "report"}
    assert paths["metrics"].name == "metrics.json" and paths["report"].name == "report.html"
    assert not list((tmp_path / "out").glob(".*part"))  # no temporary file left behind

    def refuse(constant):
        raise AssertionError(f"metrics.json holds {constant}, which is not JSON")

    doc = json.loads(paths["metrics"].read_text(), parse_constant=refuse)
    assert doc["schema"] == "haplogen.evaluation/1"
    assert doc["real"] == "real" and doc["synthetic"] == ["other", "copies"]
    assert doc["sets"]["real"]["n_haplotypes"] == ev.sets["real"]["n_haplotypes"]
    for key, spec in ev.specs.items():
        entry = doc["statistics"][key]
        assert entry["label"] == spec.label and entry["goal"] == spec.goal
        assert entry["target"] == spec.target
        assert len(entry["range"]) == 2 and entry["description"]
        assert set(entry["values"]) == {"other", "copies"}
        for name, value in entry["values"].items():
            assert value is None if np.isnan(ev.metrics[name][key]) else value == pytest.approx(ev.metrics[name][key])
    assert set(doc["statistics"]) == FIDELITY_KEYS  # the keys of haplogen 0.1
    assert doc["statistics"]["pairwise_w1"]["range"] == [0.0, None]  # infinity is null
    assert doc["statistics"]["pairwise_w1"]["bands"] is None and doc["statistics"]["af_r"]["bands"] == [0.01, 0.05]
    assert doc["statistics"]["aats"]["goal_text"] == "target 0.5"
    assert doc["privacy"] is None
    assert doc["skipped"] == dict(ev.skipped) and "privacy" in doc["skipped"]
    assert doc["provenance"]["parameters"]["ld_window_sites"] == ev.result("ld").window.size
    assert any("3-point" in note for note in doc["notes"])
    prov = doc["provenance"]
    assert prov["seed"] == 5 and prov["command"][:2] == ["haplogen", "evaluate"]
    assert prov["inputs"][0]["sha256"] == ev.provenance["inputs"][0]["sha256"]
    assert set(prov["sources"]) == {"real", "other", "copies"}
    assert prov["software"]["haplogen"]


def test_summary_table_lists_every_statistic(evaluation):
    ev, _ = evaluation
    table = summary_table(ev)
    lines = table.splitlines()
    assert lines[0].split() == ["statistic", "goal", "other", "copies"]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 2 + len(ev.specs)
    row = next(line for line in lines if line.startswith("AATS "))
    assert "target 0.5" in row and f"{ev.metrics['other']['aats']:.4f}" in row
    assert any(line.startswith("allele frequency r ") and "higher (best 1)" in line for line in lines)


def test_privacy_audit_runs_with_a_holdout(three_way):
    train, other, holdout = three_way["train"], three_way["other"], three_way["holdout"]
    copies = _unlabelled(train.take(np.arange(holdout.n_haplotypes)))
    ev = evaluate(train, {"other": other, "copies": copies}, holdout=holdout, aats_repeats=2, seed=1)
    assert ev.privacy is not None and set(ev.privacy) == {"other", "copies"}
    assert ev.privacy["copies"]["verdict"]["status"] == "fail"
    assert ev.privacy["other"]["verdict"]["status"] in ("pass", "warn")
    assert set(PRIVACY_METRICS) <= set(ev.specs)
    assert ev.metrics["copies"]["exact_copies_train"] == holdout.n_haplotypes
    assert ev.sets["real"]["role"] == "training" and ev.sets["holdout"]["role"] == "holdout"
    table = summary_table(ev)
    assert table.splitlines()[-1].split()[-2:] == [ev.privacy["other"]["verdict"]["status"], "fail"]
    doc = json.loads(json.dumps(metrics_document(ev), allow_nan=False))  # what write_outputs writes
    assert doc["privacy"]["copies"]["status"] == "fail"
    assert doc["privacy"]["copies"]["n_at_risk"] == len(ev.privacy["copies"]["at_risk"])
    assert doc["privacy"]["copies"]["at_risk"][0]["distance"] == 0
    assert doc["privacy"]["copies"]["thresholds"]["mia_auc_pass"] == 0.05
    assert doc["privacy"]["other"]["values"]["size"] == holdout.n_haplotypes


def test_the_holdout_is_scored_like_a_set_as_the_reference(three_way, tmp_path):
    """With a holdout, the reference column holds the values of the holdout evaluated as if it
    were a synthetic set (the same statistics, seed and draws), and nothing that needs the
    holdout or a model (privacy, utility): the floor an honest generator can reach."""
    train, other, holdout = three_way["train"], three_way["other"], three_way["holdout"]
    ev = evaluate(train, {"other": other}, holdout=holdout, aats_repeats=2, seed=4)
    direct = evaluate(train, {"holdout": holdout}, aats_repeats=2, seed=4)
    assert ev.reference_name == "holdout"
    assert set(ev.reference) == set(direct.metrics["holdout"])
    for key, value in ev.reference.items():
        assert value == pytest.approx(direct.metrics["holdout"][key], nan_ok=True), key
    for key in ("aats", "ld_r", "af_r", "pairwise_w1", "exact_copies"):
        assert key in ev.reference
    assert not set(PRIVACY_METRICS) & set(ev.reference) and "toar_accuracy" not in ev.reference
    assert list(ev.reference) == [k for k in ev.specs if k in ev.reference]  # report order
    assert any(n.startswith("Reference (holdout): the 150 holdout haplotypes") for n in ev.notes)
    # the text table, metrics.json and the page show it as a column of its own
    table = summary_table(ev).splitlines()
    assert table[0].split()[-2:] == ["reference", "(real)"]
    doc = json.loads(json.dumps(metrics_document(ev), allow_nan=False))
    assert doc["reference"]["set"] == "holdout"
    assert doc["statistics"]["aats"]["reference"] == pytest.approx(ev.reference["aats"])
    assert doc["statistics"]["privacy_loss"]["reference"] is None
    page = write_outputs(ev, tmp_path / "out")["report"].read_text()
    assert 'reference (real)</th>' in page and page.count('<td class="num ref">') == len(ev.specs)
    # switched off, or without a holdout: no reference anywhere
    for off in (evaluate(train, {"other": other}, holdout=holdout, aats_repeats=1, seed=4, reference=False,
                         statistics=["allele_frequency", "privacy"]),
                evaluate(train, {"other": other}, aats_repeats=1, seed=4, statistics=["allele_frequency"])):
        assert off.reference == {} and off.reference_name is None
        assert metrics_document(off)["reference"] is None
        assert "reference" not in metrics_document(off)["statistics"]["af_r"]
        assert "reference (real)" not in summary_table(off)


def test_labels_are_applied_to_an_unlabelled_real_set(three_way):
    train = three_way["train"]
    labels = {s: (p, "SP") for s, p in zip(train.haplotype_sample, train.population)}
    unlabelled = _unlabelled(train)
    ev = evaluate(unlabelled, {"other": three_way["other"]}, labels=labels, aats_repeats=1)
    assert "fst_r" in ev.metrics["other"]
    assert sorted(set(ev.result("pca").real_population)) == ["CEU", "CHB", "YRI"]
    assert ev.result("population").comparisons["other"]["populations"] == ["CEU", "CHB", "YRI"]
    no_labels = evaluate(unlabelled, {"other": three_way["other"]}, aats_repeats=1)
    assert "fst_r" not in no_labels.metrics["other"] and "fst_r" not in no_labels.specs
    assert no_labels.skipped["population"] == (
        "Populations skipped: the real set carries no population labels (pass a samples table with --labels).")
    with pytest.raises(InputError, match=r"none of the 150 individuals of the real set is in the labels table"):
        evaluate(unlabelled, {"other": three_way["other"]}, labels={"nobody": ("X", "Y")})


def test_sets_with_other_sites_are_refused(sim_pair):
    real, other = sim_pair
    with pytest.raises(InputError, match=r"^synthetic set small has 299 sites, the real set has 300; evaluate artificial "
                                         r"genomes generated from a model trained on this real set$"):
        evaluate(real, {"small": other.take_sites(np.arange(299))})
    moved = dataclasses.replace(other, sites=dataclasses.replace(other.sites, position=other.sites.position + 1))
    with pytest.raises(InputError, match=r"synthetic set moved has the same number of sites as the real set \(300\) but "
                                         r"not the same sites \(site 1: "):
        evaluate(real, {"moved": moved})
    with pytest.raises(InputError, match=r"the holdout set has 299 sites"):
        evaluate(real, {"other": other}, holdout=other.take_sites(np.arange(299)))


def test_bad_requests_are_refused(sim_pair):
    real, other = sim_pair
    with pytest.raises(InputError, match=r"no synthetic set was given"):
        evaluate(real, {})
    with pytest.raises(InputError, match=r"a synthetic set is named 'real', the name of the real set"):
        evaluate(real, {"real": other})
    with pytest.raises(InputError, match=r"aats_repeats must be at least 1, found 0"):
        evaluate(real, {"other": other}, aats_repeats=0)
    with pytest.raises(InputError, match=r"the holdout set shares 3 individuals with the real \(training\) set "
                                         r"\(\w+, \w+, \w+\); pass a holdout of individuals the model never saw"):
        evaluate(real, {"other": other}, holdout=real.take(np.arange(6)))


def test_write_outputs_refuses_a_file_as_folder(evaluation, tmp_path):
    ev, _ = evaluation
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(InputError, match=r"the output folder .*file is a file; pass a folder path with -o"):
        write_outputs(ev, target)


def test_unbalanced_aats_halves_are_flagged(sim_pair):
    """Noisy copies score AATS ~0.5 from two halves far from it; the report must say so."""
    import numpy as np

    from haplogen.evaluation import evaluate
    from haplogen.haplotypes import Haplotypes

    real, other = sim_pair
    rng = np.random.default_rng(3)
    noisy = (other.matrix ^ (rng.random(other.matrix.shape) < 0.05)).astype(np.uint8)
    ev = evaluate(real, {"noisy": Haplotypes.from_matrix(noisy, real.sites)}, aats_repeats=1, seed=0)
    m = ev.metrics["noisy"]
    assert abs(m["aats"] - 0.5) < 0.05 and m["aa_truth"] - m["aa_syn"] > 0.5
    assert any("read the two halves" in note and "more dispersed" in note for note in ev.notes)
    honest = evaluate(real, {"other": other}, aats_repeats=1, seed=0)
    assert not any("read the two halves" in note for note in honest.notes)


# ---------------------------------------------------------------------------- the registry, from outside
@pytest.fixture
def broken_statistic():
    """A statistic (registered for one test) whose value is NaN where it is defined: a bug to catch."""

    def compute(ctx):
        return Measurement({n: {"broken_af_gap": float("nan")} for n in ctx.synthetic})

    yield register_statistic(
        "broken", title="Broken", compute=compute, order=99,
        specs=[MetricSpec("broken_af_gap", "broken gap", "min", 0.0, (0.0, 1.0), "a gap that is always defined")],
    )
    unregister_statistic("broken")


def test_the_value_check_fails_on_nan_where_a_value_is_defined(sim_pair, broken_statistic):
    real, other = sim_pair
    ev = evaluate(real, {"other": other}, statistics=["allele_frequency", "broken"], aats_repeats=1)
    assert math.isnan(ev.metrics["other"]["broken_af_gap"]) and math.isfinite(ev.metrics["other"]["af_r"])
    with pytest.raises(AssertionError, match="broken_af_gap of other is nan, a value that is defined here"):
        check_values(ev)
    check_values(ev, undefined={("other", "broken_af_gap")})  # passes only when the NaN is expected
    with pytest.raises(AssertionError):
        check_values(ev, undefined={("other", "af_r")})  # and an expected NaN must be NaN


def test_statistics_can_be_chosen_switched_off_and_opted_in(sim_pair, broken_statistic):
    real, other = sim_pair
    calls = []

    def compute(ctx):
        calls.append(ctx.option("slow", "level"))
        return Measurement({n: {"slow_value": 0.5} for n in ctx.synthetic})

    register_statistic("slow", title="Slow one", compute=compute, default=False, order=98,
                       specs=[MetricSpec("slow_value", "slow value", "target", 0.5, (0.0, 1.0), "an opt-in value")])
    try:
        ev = evaluate(real, {"other": other}, exclude=["ld", "pca", "pairwise", "three_point", "aats", "population",
                                                        "broken"], aats_repeats=1)
        assert calls == [] and "slow_value" not in ev.specs
        assert ev.skipped["slow"] == ("Slow one skipped: off unless asked for by name "
                                      "(evaluate(..., statistics=[..., 'slow'])).")
        assert ev.skipped["ld"] == "Linkage disequilibrium skipped: switched off (exclude='ld')."
        assert set(ev.specs) == {"af_r", "af_rmse", "af_fixed", "af_lost", "exact_copies"}
        asked = evaluate(real, {"other": other}, statistics=["slow", "privacy"], options={"slow": {"level": 3}})
        assert calls == [3] and asked.metrics["other"] == {"slow_value": 0.5}
        assert asked.skipped["allele_frequency"].startswith("Allele frequencies skipped: not among the statistics")
        assert "no holdout set was given" in asked.skipped["privacy"]  # asked for, but its need is unmet
        assert asked.provenance["parameters"]["statistics"] == ["slow"]
        assert asked.provenance["parameters"]["options"] == {"slow": {"level": 3}}
    finally:
        unregister_statistic("slow")
    with pytest.raises(InputError, match=r"^unknown statistic 'imputaton'; choose among allele_frequency, ld, "):
        evaluate(real, {"other": other}, statistics=["imputaton"])
    with pytest.raises(InputError, match=r"take a list of names, found a string"):
        evaluate(real, {"other": other}, exclude="ld")


def test_a_statistic_must_return_what_it_declared(sim_pair):
    real, other = sim_pair
    register_statistic("undeclared", title="Undeclared", compute=lambda ctx: Measurement({"other": {"nope": 1.0}}))
    register_statistic("untyped", title="Untyped", compute=lambda ctx: {"other": {"nope": 1.0}})
    try:
        with pytest.raises(ValueError, match=r"statistic 'undeclared' reported \['nope'\] without a MetricSpec"):
            evaluate(real, {"other": other}, statistics=["undeclared"])
        with pytest.raises(TypeError, match=r"statistic 'untyped' returned dict; its compute function must return"):
            evaluate(real, {"other": other}, statistics=["untyped"])
    finally:
        unregister_statistic("undeclared")
        unregister_statistic("untyped")


def test_write_outputs_is_all_or_nothing(evaluation, tmp_path, monkeypatch):
    """A full disk on the second file leaves the previous metrics.json and report.html as they were."""
    ev, _ = evaluation
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text("old metrics\n")
    (out / "report.html").write_text("old report\n")
    real_write = outputs_module._write_text
    calls = []

    def disk_full_on_second_write(path, text):
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(path, text)

    monkeypatch.setattr(outputs_module, "_write_text", disk_full_on_second_write)
    with pytest.raises(OSError) as raised:
        write_outputs(ev, out)
    assert raised.value.errno == errno.ENOSPC and calls == ["metrics.json", "report.html"]
    assert (out / "metrics.json").read_text() == "old metrics\n"
    assert (out / "report.html").read_text() == "old report\n"
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "report.html"]  # no temporary left
    # into a new folder: nothing at all
    calls.clear()
    with pytest.raises(OSError):
        write_outputs(ev, tmp_path / "new")
    assert list((tmp_path / "new").iterdir()) == []
    # and once the disk has room, both are replaced
    monkeypatch.setattr(outputs_module, "_write_text", real_write)
    paths = write_outputs(ev, out)
    assert json.loads(paths["metrics"].read_text())["schema"] == "haplogen.evaluation/1"
    assert paths["report"].read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "report.html"]


def test_the_module_examples_run():
    import haplogen.statistics

    for module in (haplogen.evaluation, haplogen.statistics):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted >= 4 and result.failed == 0, module.__name__


def test_pca_keeps_the_labels_of_labelled_synthetic_sets_for_its_figure(three_way):
    train, other, holdout = three_way["train"], three_way["other"], three_way["holdout"]
    ev = evaluate(train, {"labelled": holdout, "unlabelled": other}, aats_repeats=1, statistics=["pca"])
    result = ev.result("pca")
    assert set(result.syn_colour_groups) == {"labelled"}
    np.testing.assert_array_equal(result.syn_colour_groups["labelled"], holdout.population)
