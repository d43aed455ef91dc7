"""Populations on demand: train a conditional family with --labels, generate by population or by
shares, the samples table written beside the output, and evaluate reading it back."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest

from haplogen import api
from haplogen.cli import main
from haplogen.errors import InputError
from haplogen.haplotypes import read_labels
from haplogen.io import ReadOptions, read_haplotypes
from haplogen.models.mixar import TEST_SETTINGS
from haplogen.simulate import SimulationConfig

SMALL = SimulationConfig(individuals_per_population=16, sequence_length=300_000, max_sites=40, min_maf=0.02)
MIXAR_SETTINGS = [arg for k, v in TEST_SETTINGS.items() for arg in ("--set", f"{k}={v}")]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("haplogen: error:"), err
    return lines[0]


def read_table_rows(path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """A labelled panel (YRI, CEU, CHB), its split, and mixar trained with labels, without them, and rbm."""
    d = tmp_path_factory.mktemp("populations")
    api.simulate_to_files(d / "sim.vcf.gz", config=SMALL, seed=3, command=["test"])
    api.split_to_files(d / "sim.vcf.gz", d / "split", labels=d / "sim.samples.tsv", seed=3)
    train = d / "split" / "train.vcf.gz"
    assert main(["train", str(train), "--model", "mixar", "--labels", str(d / "sim.samples.tsv"), "--seed", "1",
                 "-o", str(d / "mixar"), *MIXAR_SETTINGS]) == 0
    assert main(["train", str(train), "--model", "mixar", "--seed", "1", "-o", str(d / "plain"), *MIXAR_SETTINGS]) == 0
    assert main(["train", str(train), "--model", "rbm", "--labels", str(d / "sim.samples.tsv"), "--epochs", "2",
                 "--set", "n_hidden=8", "--seed", "1", "-o", str(d / "rbm")]) == 0
    return d


def slow_largest_remainder(shares: dict[str, float], n_individuals: int) -> dict[str, int]:
    """The textbook method, one seat at a time: floors first, then the largest remainders in turn."""
    total = sum(shares.values())
    exact = {k: v / total * n_individuals for k, v in shares.items()}
    seats = {k: math.floor(x) for k, x in exact.items()}
    left = n_individuals - sum(seats.values())
    remainders = [(exact[k] - seats[k], -i, k) for i, k in enumerate(shares)]
    for _, _, k in sorted(remainders, reverse=True)[:left]:
        seats[k] += 1
    return seats


# ---------------------------------------------------------------------------- train
def test_a_conditional_family_learns_the_populations_and_records_them(panel):
    train = read_haplotypes(panel / "split" / "train.vcf.gz")
    table = read_labels(panel / "sim.samples.tsv")
    record = json.loads((panel / "mixar" / "provenance.json").read_text())
    expected = {}
    for sample in train.haplotype_sample:
        pop, sup = table[str(sample)]
        entry = expected.setdefault(pop, {"name": pop, "n_haplotypes": 0, "super_population": sup})
        entry["n_haplotypes"] += 1
    assert record["populations"] == [expected[k] for k in sorted(expected)]
    model, _, _ = api.load_trained(panel / "mixar")
    assert model.populations == ("CEU", "CHB", "YRI")
    assert model.population_counts == tuple(expected[k]["n_haplotypes"] for k in model.populations)


def test_without_labels_or_with_a_family_that_is_not_conditional_nothing_is_learnt_by_population(panel):
    for name in ("plain", "rbm"):
        record = json.loads((panel / name / "provenance.json").read_text())
        assert "populations" not in record, name
    model, _, _ = api.load_trained(panel / "plain")
    assert model.populations is None


def test_individuals_missing_from_the_table_follow_missing_labels(panel, tmp_path):
    rows = read_table_rows(panel / "sim.samples.tsv")
    train = read_haplotypes(panel / "split" / "train.vcf.gz")
    absent = set(train.samples.tolist()[:2])
    partial = tmp_path / "partial.tsv"
    partial.write_text("\n".join("\t".join(r) for r in rows if r[0] not in absent) + "\n")
    options = dict(model="mixar", labels=partial, seed=1, overrides=TEST_SETTINGS, epochs=1)
    with pytest.raises(InputError, match=r"2 of \d+ individuals are not in the labels table"):
        api.train_from_file(panel / "split" / "train.vcf.gz", out_dir=tmp_path / "m1", **options)
    record = api.train_from_file(panel / "split" / "train.vcf.gz", out_dir=tmp_path / "m2", missing_labels="drop",
                                 **options)
    assert sum(e["n_haplotypes"] for e in record["populations"]) == train.n_haplotypes - 4
    warned: list[str] = []
    record = api.train_from_file(panel / "split" / "train.vcf.gz", out_dir=tmp_path / "m3", missing_labels="unknown",
                                 warn=warned.append, **options)
    assert {"name": "unknown", "n_haplotypes": 4, "super_population": "unknown"} in record["populations"]
    assert len(warned) == 1 and "4 haplotypes" in warned[0] and "--missing-labels drop" in warned[0]


# ---------------------------------------------------------------------------- generate
def test_generate_one_population(panel, tmp_path, capsys):
    code, _, err = run(capsys, "generate", panel / "mixar", "-n", 11, "-o", tmp_path / "yri.vcf.gz",
                       "--population", "YRI", "--seed", 4)
    assert code == 0, err
    assert "individuals by population: YRI 6" in err
    rows = read_table_rows(tmp_path / "yri.samples.tsv")
    assert rows[0] == ["sample", "pop", "super_pop"]
    assert rows[1:] == [[f"AG{i}", "YRI", "AFR"] for i in range(6)]  # 11 haplotypes: 5 pairs and a haploid AG5
    h = read_haplotypes(tmp_path / "yri.vcf.gz", options=ReadOptions(haploid="as-haplotype"))
    assert h.samples.tolist() == [r[0] for r in rows[1:]] and h.n_haplotypes == 11
    with gzip.open(tmp_path / "yri.vcf.gz", "rt") as handle:
        header = next(line for line in handle if line.startswith("##haplogen_provenance="))
    record = json.loads(header.split("=", 1)[1])
    assert record["samples_table"] == "yri.samples.tsv"
    assert record["parameters"]["populations"] == "YRI"
    assert record["individuals_per_population"] == {"YRI": 6}


def test_the_population_is_passed_to_the_model_for_every_haplotype(panel):
    h, record = api.generate(panel / "mixar", 40, seed=8, populations={"CHB": 1, "YRI": 1})
    model, _, _ = api.load_trained(panel / "mixar")
    expected = model.sample(40, seed=8, labels=["CHB"] * 20 + ["YRI"] * 20)
    assert np.array_equal(h.matrix, expected)
    assert h.population.tolist() == ["CHB"] * 20 + ["YRI"] * 20
    assert h.super_population.tolist() == ["EAS"] * 20 + ["AFR"] * 20
    # and not what the model draws when the labels are left to it
    assert not np.array_equal(h.matrix, model.sample(40, seed=8))


@pytest.mark.parametrize(
    "text, n",
    [("YRI=0.5,CEU=0.5", 20), ("YRI=1,CEU=3", 16), ("YRI=1,CEU=2,CHB=0.5", 20), ("CHB=1,CEU=1,YRI=1", 21),
     ("YRI=0.2,CHB=0.2,CEU=0.6", 7)],
)
def test_shares_give_exact_counts_by_largest_remainder(panel, tmp_path, capsys, text, n):
    code, _, err = run(capsys, "generate", panel / "mixar", "-n", n, "-o", tmp_path / "mix.vcf.gz",
                       "--populations", text, "--seed", 5)
    assert code == 0, err
    shares = {k: float(v) for k, v in (item.split("=") for item in text.split(","))}
    expected = slow_largest_remainder(shares, (n + 1) // 2)
    rows = read_table_rows(tmp_path / "mix.samples.tsv")[1:]
    assert [r[1] for r in rows] == [k for k in shares for _ in range(expected[k])]  # laid out in the order given
    h = read_haplotypes(tmp_path / "mix.vcf.gz", options=ReadOptions(haploid="as-haplotype"))
    labelled = h.with_labels(read_labels(tmp_path / "mix.samples.tsv"), on_missing="error")
    assert labelled.n_haplotypes == n


def test_both_haplotypes_of_an_individual_share_a_population(panel):
    for populations in (None, {"YRI": 1, "CEU": 1, "CHB": 1}):
        h, _ = api.generate(panel / "mixar", 101, seed=3, populations=populations)
        for sample in h.samples:
            rows = np.flatnonzero(h.haplotype_sample == sample)
            assert len(set(h.population[rows].tolist())) == 1, (populations, sample)


def test_without_a_population_the_training_proportions_are_exact_and_shuffled(panel):
    model, _, _ = api.load_trained(panel / "mixar")
    training = dict(zip(model.populations, model.population_counts))
    for n in (7, 301, 6000):
        h, record = api.generate(panel / "mixar", n, seed=11)
        individuals = h.population[::2]
        found = {p: int(np.sum(individuals == p)) for p in model.populations}
        assert found == slow_largest_remainder(training, (n + 1) // 2), n
        assert sum(record["individuals_per_population"].values()) == (n + 1) // 2
    # shuffled (the last set, 6,000): the populations are not laid out in blocks (a block layout
    # has 2 changes of population)
    changes = int(np.sum(individuals[1:] != individuals[:-1]))
    assert changes > 1000, changes
    again, _ = api.generate(panel / "mixar", 6000, seed=11)
    assert np.array_equal(again.population, h.population) and np.array_equal(again.matrix, h.matrix)
    other, _ = api.generate(panel / "mixar", 6000, seed=12)
    assert not np.array_equal(other.population, h.population)
    assert sorted(other.population.tolist()) == sorted(h.population.tolist())


def test_a_model_without_populations_writes_no_table(panel, tmp_path, capsys):
    for name in ("plain", "rbm"):
        code, _, err = run(capsys, "generate", panel / name, "-n", 10, "-o", tmp_path / f"{name}.vcf.gz", "--seed", 1)
        assert code == 0, err
        assert not (tmp_path / f"{name}.samples.tsv").exists()
        assert read_haplotypes(tmp_path / f"{name}.vcf.gz").population is None


def test_hapt_output_gets_its_table_too(panel, tmp_path, capsys):
    code, _, err = run(capsys, "generate", panel / "mixar", "-n", 8, "-o", tmp_path / "ag.hapt.gz",
                       "--population", "CEU", "--seed", 2)
    assert code == 0, err
    assert [r[1:] for r in read_table_rows(tmp_path / "ag.samples.tsv")[1:]] == [["CEU", "EUR"]] * 4
    record = json.loads((tmp_path / "ag.hapt.gz.provenance.json").read_text())
    assert record["samples_table"] == "ag.samples.tsv"


@pytest.mark.parametrize(
    "options, expected",
    [
        (["--population", "TSI"], "was not trained on the population 'TSI'; it knows CEU, CHB, YRI"),
        (["--populations", "YRI=0.5,TSI=0.5"], "it knows CEU, CHB, YRI"),
        (["--populations", "YRI=0,CEU=1"], "the share of YRI must be a positive finite number, found '0'"),
        (["--populations", "YRI=-1,CEU=1"], "found '-1'"),
        (["--populations", "YRI=nan,CEU=1"], "found 'nan'"),
        (["--populations", "YRI=inf"], "found 'inf'"),
        (["--populations", "YRI=half"], "found 'half'"),
        (["--populations", "YRI"], "expected NAME=SHARE entries"),
        (["--populations", "YRI=1,YRI=2"], "YRI is named twice"),
        (["--population", "YRI", "--populations", "YRI=1"], "--population and --populations were both given"),
    ],
)
def test_bad_population_requests_are_one_line_and_write_nothing(panel, tmp_path, capsys, options, expected):
    code, _, err = run(capsys, "generate", panel / "mixar", "-n", 10, "-o", tmp_path / "x.vcf.gz", *options)
    assert code == 2
    assert expected in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_models_that_cannot_sample_by_population_refuse(panel, tmp_path, capsys):
    code, _, err = run(capsys, "generate", panel / "rbm", "-n", 10, "-o", tmp_path / "x.vcf.gz", "--population", "YRI")
    assert code == 2 and "the rbm family is not conditional on population" in one_error_line(err)
    code, _, err = run(capsys, "generate", panel / "plain", "-n", 10, "-o", tmp_path / "x.vcf.gz",
                       "--populations", "YRI=1")
    assert code == 2 and "was trained without population labels" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_the_table_is_an_output_like_the_data(panel, tmp_path, capsys):
    table = tmp_path / "ag.samples.tsv"
    table.write_text("sample\tpop\tsuper_pop\nsomeone\tX\tX\n")
    argv = ["generate", panel / "mixar", "-n", 10, "-o", tmp_path / "ag.vcf.gz", "--population", "YRI", "--seed", 1]
    code, _, err = run(capsys, *argv)
    assert code == 2 and f"{table} already exists" in one_error_line(err)
    assert not (tmp_path / "ag.vcf.gz").exists()
    assert run(capsys, *argv, "--overwrite")[0] == 0
    assert read_table_rows(table)[1] == ["AG0", "YRI", "AFR"]
    # an overwrite from a model without populations removes the table that no longer describes the set
    code, _, err = run(capsys, "generate", panel / "rbm", "-n", 10, "-o", tmp_path / "ag.vcf.gz", "--overwrite")
    assert code == 0, err
    assert not table.exists() and (tmp_path / "ag.vcf.gz").exists()


def test_an_interrupted_write_leaves_neither_file(panel, tmp_path, monkeypatch):
    import haplogen.haplotypes as haplotypes

    def full_disk(h, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(haplotypes, "write_labels", full_disk)
    with pytest.raises(Exception, match=r"cannot write .*ag.samples.tsv: No space left on device"):
        api.generate_to_file(panel / "mixar", 10, tmp_path / "ag.vcf.gz", populations="YRI", seed=1)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- evaluate
def _population_result(ev, name):
    return ev.results["population"].result.comparisons[name]


def test_evaluate_uses_the_sets_own_table(panel, tmp_path):
    api.generate_to_file(panel / "mixar", 120, tmp_path / "mix.vcf.gz", populations={"YRI": 1, "CEU": 1, "CHB": 2},
                         seed=6)
    api.generate_to_file(panel / "rbm", 120, tmp_path / "rbm.vcf.gz", seed=6)
    common = dict(holdout=panel / "split" / "holdout.vcf.gz", labels=panel / "sim.samples.tsv", aats_repeats=1)
    ev, paths = api.evaluate_files(panel / "split" / "train.vcf.gz", [tmp_path / "mix.vcf.gz", tmp_path / "rbm.vcf.gz"],
                                   tmp_path / "eval", **common)
    mix = _population_result(ev, "mix")
    assert mix["classifier"].startswith("labels given by the model")
    own = read_labels(tmp_path / "mix.samples.tsv")
    assert mix["syn_labels"].tolist() == [own[f"AG{i // 2}"][0] for i in range(120)]
    assert _population_result(ev, "rbm")["classifier"].startswith("k-nearest neighbours")
    assert "mix: populations from its own samples table mix.samples.tsv." in ev.notes
    assert any(n.startswith("rbm: no samples table of its own") for n in ev.notes)
    # train-on-artificial trains on the labelled set and says why the other is left out
    utility = ev.results["train_on_artificial"].result
    assert "mix" in utility["sets"] and "rbm" in utility["skipped"]
    assert "toar_accuracy" in ev.metrics["mix"] and "toar_accuracy" not in ev.metrics["rbm"]
    assert any(i["path"].endswith("mix.samples.tsv") for i in ev.provenance["inputs"])

    # named explicitly, '-' for none: mix is then classified by nearest neighbours
    ev, _ = api.evaluate_files(panel / "split" / "train.vcf.gz", [tmp_path / "mix.vcf.gz"], tmp_path / "eval2",
                               synthetic_labels=["-"], **common)
    assert _population_result(ev, "mix")["classifier"].startswith("k-nearest neighbours")


def test_evaluate_takes_tables_from_the_command_line(panel, tmp_path, capsys):
    api.generate_to_file(panel / "mixar", 60, tmp_path / "a.vcf.gz", populations="CHB", seed=6)
    (tmp_path / "a.samples.tsv").rename(tmp_path / "elsewhere.tsv")
    code, _, err = run(capsys, "evaluate", "--real", panel / "split" / "train.vcf.gz", "--labels",
                       panel / "sim.samples.tsv", "--synthetic", tmp_path / "a.vcf.gz", "--synthetic-labels",
                       tmp_path / "elsewhere.tsv", "--aats-repeats", 1, "-o", tmp_path / "eval")
    assert code == 0, err
    notes = json.loads((tmp_path / "eval" / "metrics.json").read_text())["notes"]
    assert "a: populations from its own samples table elsewhere.tsv." in notes
    code, _, err = run(capsys, "evaluate", "--real", panel / "split" / "train.vcf.gz", "--synthetic",
                       tmp_path / "a.vcf.gz", "--synthetic-labels", tmp_path / "elsewhere.tsv", tmp_path / "x.tsv",
                       "-o", tmp_path / "eval2")
    assert code == 2 and "one samples table per synthetic set (1), found 2" in one_error_line(err)


def test_evaluate_refuses_a_table_that_is_not_the_sets(panel, tmp_path, capsys):
    api.generate_to_file(panel / "mixar", 20, tmp_path / "a.vcf.gz", populations="CHB", seed=6)
    (tmp_path / "a.samples.tsv").write_text("sample\tpop\tsuper_pop\nAG0\tCHB\tEAS\n")
    code, _, err = run(capsys, "evaluate", "--real", panel / "split" / "train.vcf.gz", "--synthetic",
                       tmp_path / "a.vcf.gz", "-o", tmp_path / "eval")
    line = err.strip().splitlines()[-1]  # after the lines that say what was read
    assert code == 2 and line.startswith("haplogen: error:") and "Traceback" not in err
    assert "does not list 9 of the 10 individuals of a.vcf.gz (AG1, AG2, AG3 ...)" in line
    assert "--synthetic-labels" in line and not (tmp_path / "eval").exists()
