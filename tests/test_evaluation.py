"""Tests of evaluate(), metrics.json and the terminal table, end to end on small simulated sets."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from scipy import stats

from haplogen.errors import InputError
from haplogen.evaluation import Evaluation, evaluate, metrics_document, summary_table, write_outputs
from haplogen.haplotypes import Haplotypes
from haplogen.metrics.base import METRICS
from haplogen.privacy import PRIVACY_METRICS
from haplogen.provenance import input_record


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
    expected = {"af_r", "af_rmse", "af_fixed", "af_lost", "ld_r", "pairwise_w1", "pca_w1_pc1", "pca_w1_pc2",
                "aats", "aats_strict", "aa_truth", "aa_syn", "three_point_r_random", "three_point_r_1",
                "exact_copies", "pop_af_r_mean", "fst_r"}
    assert expected <= set(ev.specs)
    assert list(ev.specs) == [k for k in METRICS if k in ev.specs]  # registry order
    for name in ev.synthetic_names:
        assert set(ev.metrics[name]) == set(ev.specs)
        for key, value in ev.metrics[name].items():
            low, high = ev.specs[key].range
            assert np.isnan(value) or low - 1e-9 <= value <= high + 1e-9, (name, key, value)
    assert ev.privacy is None
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
    columns = ev.details["real"]["ld_window"]["columns"]
    x = real.matrix[:, columns[:20]].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.corrcoef(x, rowvar=False) ** 2
    np.testing.assert_allclose(ev.details["real"]["ld_window"]["r2"][:20, :20], expected, atol=1e-5)


def test_evaluation_details_hold_arrays_for_figures(evaluation):
    ev, _ = evaluation
    real = ev.details["real"]
    assert real["pca"]["real_coords"].shape[0] == sum(1 for _ in real["population"])
    assert set(real["pca"]["syn_coords"]) == {"other", "copies"}
    assert real["ld_window"]["r2"].shape == (real["ld_window"]["columns"].size,) * 2
    for name in ev.synthetic_names:
        d = ev.details[name]
        assert {"allele_frequency", "ld", "ld_decay", "ld_window", "pairwise", "three_point", "aats",
                "exact_copies", "population"} <= set(d)
        assert d["aats"]["d_rr"].shape == d["aats"]["d_sr"].shape


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
    assert doc["statistics"]["pairwise_w1"]["range"] == [0.0, None]  # infinity is null
    assert doc["statistics"]["aats"]["goal_text"] == "target 0.5"
    assert doc["privacy"] is None
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


def test_labels_are_applied_to_an_unlabelled_real_set(three_way):
    train = three_way["train"]
    labels = {s: (p, "SP") for s, p in zip(train.haplotype_sample, train.population)}
    unlabelled = _unlabelled(train)
    ev = evaluate(unlabelled, {"other": three_way["other"]}, labels=labels, aats_repeats=1)
    assert "fst_r" in ev.metrics["other"]
    assert sorted(set(ev.details["real"]["population"])) == ["CEU", "CHB", "YRI"]
    no_labels = evaluate(unlabelled, {"other": three_way["other"]}, aats_repeats=1)
    assert "fst_r" not in no_labels.metrics["other"]
    assert any("No population labels" in note for note in no_labels.notes)
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
