"""``haplogen score`` and the models behind an evaluation's sets, run in-process through ``haplogen.cli.main``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import haplogen.api as api
from haplogen.cli import main
from haplogen.errors import InputError, ModelError
from haplogen.io import read_haplotypes, write_haplotypes
from haplogen.models.mixar import TEST_SETTINGS
from haplogen.scoring import (
    MISSING_POPULATION,
    evaluation_models,
    haplotype_index,
    read_scores,
    site_difference,
)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error(err: str) -> str:
    """The one ``haplogen: error:`` line of stderr (progress lines may come before it)."""
    lines = [line for line in err.splitlines() if line.startswith("haplogen:")]
    assert len(lines) == 1 and lines[0].startswith("haplogen: error: ") and err.endswith(lines[0] + "\n"), err
    return lines[0]


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """simulate -> split, then a tiny mixar model without labels, one with labels, and a 1-epoch RBM."""
    d = tmp_path_factory.mktemp("score")
    assert main(["simulate", "-o", str(d / "sim.vcf.gz"), "--individuals", "30", "--length", "1e6",
                 "--max-sites", "80", "--min-maf", "0.02", "--seed", "5"]) == 0
    assert main(["split", str(d / "sim.vcf.gz"), "--labels", str(d / "sim.samples.tsv"), "--seed", "5",
                 "-o", str(d / "split")]) == 0
    train = api.read_input(d / "split" / "train.vcf.gz")
    api.train(train, model="mixar", out_dir=d / "mixar", seed=1, overrides=TEST_SETTINGS)
    labelled = api.read_input(d / "split" / "train.vcf.gz", labels=d / "sim.samples.tsv")
    api.train(labelled, model="mixar", out_dir=d / "conditional", seed=1, overrides=TEST_SETTINGS)
    api.train(train, model="rbm", out_dir=d / "rbm", seed=1, epochs=1)
    return d


def test_score_writes_one_row_per_haplotype(d, capsys):
    out_path = d / "holdout.scores.tsv"
    code, out, err = run(capsys, "score", d / "mixar", d / "split" / "holdout.vcf.gz", "-o", out_path)
    assert code == 0, err
    h = read_haplotypes(d / "split" / "holdout.vcf.gz")
    model, _, _ = api.load_trained(d / "mixar")
    expected = model.log_likelihood(h.matrix)
    table = read_scores(out_path)
    assert table["sample"].tolist() == h.haplotype_sample.tolist()
    assert table["haplotype"].tolist() == [0, 1] * h.n_samples
    assert set(table["population"]) == {MISSING_POPULATION}  # no labels table given
    np.testing.assert_allclose(table["log_likelihood_nats"], expected, atol=1e-6)
    np.testing.assert_allclose(table["bits_per_snp"], -expected / (h.n_sites * math.log(2)), atol=1e-8)
    assert table["description"].startswith("haplogen ") and "log p(haplotype) under the mixar model" in table[
        "description"]
    # the mean goes to stdout, on one line
    mean = expected.mean()
    assert out.strip() == (f"mean log-likelihood {mean:.3f} nats per haplotype, "
                           f"{-mean / (h.n_sites * math.log(2)):.5f} bits per SNP "
                           f"({h.n_haplotypes} haplotypes x {h.n_sites} SNPs; marginal)")
    # provenance: the command, the model file and the data, checksummed
    record = table["provenance"]
    assert record["command"][:2] == ["haplogen", "score"]
    assert record["parameters"]["likelihood"] == "marginal"
    assert record["parameters"]["mean_log_likelihood_nats"] == pytest.approx(mean)
    paths = [i["path"] for i in record["inputs"]]
    assert paths[0].endswith("model.pt") and paths[1].endswith("holdout.vcf.gz")
    assert all(len(i["sha256"]) == 64 for i in record["inputs"])
    assert not list(d.glob(".*part")) and not list(d.glob(".haplogen-tmp-*"))


def test_score_threads_is_used_and_recorded(d, tmp_path, capsys):
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        out_path = tmp_path / "t.scores.tsv"
        code, _, err = run(capsys, "score", d / "mixar", d / "split" / "holdout.vcf.gz", "-o", out_path,
                           "--threads", 1)
        assert code == 0, err
        assert torch.get_num_threads() == 1
        assert read_scores(out_path)["provenance"]["parameters"]["threads"] == 1
        # through the API without threads, the process's own setting is left alone and recorded
        torch.set_num_threads(2)
        scored = api.score_file(d / "mixar", d / "split" / "holdout.vcf.gz", tmp_path / "u.scores.tsv")
        assert torch.get_num_threads() == 2 and scored["provenance"]["parameters"]["threads"] == 2
    finally:
        torch.set_num_threads(before)
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in ("score", d / "mixar", d / "split" / "holdout.vcf.gz", "-o", tmp_path / "v.tsv",
                               "--threads", 0)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "--threads" in err and "expected a positive integer, found 0" in err
    assert not (tmp_path / "v.tsv").exists()


def test_score_help_has_an_example(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "--help"])
    assert exit_info.value.code == 0
    assert "example:\n  haplogen score" in capsys.readouterr().out


def test_an_existing_output_is_refused_before_any_work(d, tmp_path, capsys):
    out_path = tmp_path / "scores.tsv"
    out_path.write_text("keep me\n")
    # refused before the model is even looked for
    code, _, err = run(capsys, "score", tmp_path / "no-model", d / "split" / "holdout.vcf.gz", "-o", out_path)
    assert code == 2 and err.count("\n") == 1
    assert one_error(err).startswith(f"haplogen: error: {out_path} already exists") and "--overwrite" in err
    assert out_path.read_text() == "keep me\n"
    code, _, err = run(capsys, "score", d / "mixar", d / "split" / "holdout.vcf.gz", "-o", out_path, "--overwrite")
    assert code == 0, err
    assert len(read_scores(out_path)["sample"]) == read_haplotypes(d / "split" / "holdout.vcf.gz").n_haplotypes


def test_a_model_without_a_tractable_likelihood_is_one_line(d, tmp_path, capsys):
    code, _, err = run(capsys, "score", d / "rbm", d / "split" / "holdout.vcf.gz", "-o", tmp_path / "s.tsv")
    assert code == 3 and one_error(err)
    assert "is a rbm model, and the rbm family has no tractable likelihood" in err
    from haplogen.scoring import tractable_families

    families = tractable_families()
    assert "mixar" in families and "rbm" not in families
    assert f"({', '.join(families)}: haplogen train --model {families[0]})" in err
    assert not (tmp_path / "s.tsv").exists()


def test_sites_that_differ_from_the_model_are_one_line_naming_the_first(d, tmp_path, capsys):
    h = read_haplotypes(d / "split" / "holdout.vcf.gz")
    write_haplotypes(h.take_sites(np.r_[0:10, 11:h.n_sites]), tmp_path / "fewer.vcf.gz")
    code, _, err = run(capsys, "score", d / "mixar", tmp_path / "fewer.vcf.gz", "-o", tmp_path / "s.tsv")
    assert code == 2 and one_error(err)
    s = h.sites
    assert (f"are not those of the model {d / 'mixar'} ({h.n_sites}): site 11 is {s.chrom[11]}:{s.position[11]} "
            f"{s.ref[11]}>{s.alt[11]} in the data but {s.chrom[10]}:{s.position[10]} {s.ref[10]}>{s.alt[10]} "
            "in the model") in err
    assert not (tmp_path / "s.tsv").exists()
    # fewer sites at the end, and more
    assert "has only the first 5 of the" in site_difference(s, s.take(np.arange(5)))
    assert site_difference(s.take(np.arange(5)), s).startswith(f"the data has {h.n_sites - 5} sites more than the 5")
    assert site_difference(s, s) is None


def test_labels_score_the_conditional_likelihood(d, tmp_path, capsys):
    out_path = tmp_path / "cond.tsv"
    code, out, err = run(capsys, "score", d / "conditional", d / "split" / "holdout.vcf.gz",
                         "--labels", d / "sim.samples.tsv", "-o", out_path)
    assert code == 0, err
    h = api.read_input(d / "split" / "holdout.vcf.gz", labels=d / "sim.samples.tsv")
    model, _, _ = api.load_trained(d / "conditional")
    table = read_scores(out_path)
    np.testing.assert_allclose(table["log_likelihood_nats"], model.log_likelihood(h.matrix, labels=h.population),
                               atol=1e-6)
    assert table["population"].tolist() == h.population.tolist()
    assert "conditional log p(haplotype | population) under the mixar model" in table["description"]
    assert table["provenance"]["parameters"]["likelihood"] == "conditional"
    assert out.rstrip().endswith("; conditional)")
    # without labels the same model gives the marginal, which the header says it is
    code, _, err = run(capsys, "score", d / "conditional", d / "split" / "holdout.vcf.gz", "-o", tmp_path / "m.tsv")
    assert code == 0, err
    marginal = read_scores(tmp_path / "m.tsv")
    assert "marginal log p(haplotype) under the mixar model, summed over its populations (CEU, CHB, YRI)" in marginal[
        "description"]
    assert not np.allclose(marginal["log_likelihood_nats"], table["log_likelihood_nats"])


def test_labels_need_a_model_trained_with_them(d, tmp_path, capsys):
    code, _, err = run(capsys, "score", d / "mixar", d / "split" / "holdout.vcf.gz",
                       "--labels", d / "sim.samples.tsv", "-o", tmp_path / "s.tsv")
    assert code == 2 and one_error(err)
    assert "--labels asks for log p(haplotype | population)" in err and "trained without population labels" in err


def test_haplotype_index_counts_within_each_individual():
    from haplogen.haplotypes import Haplotypes, Sites

    h = Haplotypes(np.zeros((5, 2), dtype=np.uint8), Sites.generic(2), ["a", "a", "b", "c", "c"],
                   ["a1", "a2", "b1", "c1", "c2"])
    assert haplotype_index(h).tolist() == [0, 1, 0, 0, 1]


def test_read_scores_refuses_other_tables(tmp_path):
    path = tmp_path / "other.tsv"
    path.write_text("sample\tset\nA\ttrain\n")
    with pytest.raises(InputError, match="expected the columns sample haplotype population"):
        read_scores(path)


# ---------------------------------------------------------------------------- evaluate finds the models
def test_evaluate_scores_the_model_named_by_each_set(d, tmp_path, capsys):
    for name, model in (("mix", "mixar"), ("rbm", "rbm")):
        assert run(capsys, "generate", d / model, "-n", 40, "-o", tmp_path / f"{name}.vcf.gz", "--seed", 2)[0] == 0
    code, _, err = run(capsys, "evaluate", "--real", d / "split" / "train.vcf.gz", "--holdout",
                       d / "split" / "holdout.vcf.gz", "--synthetic", tmp_path / "mix.vcf.gz", tmp_path / "rbm.vcf.gz",
                       "-o", tmp_path / "eval", "--aats-repeats", 1)
    assert code == 0, err
    doc = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    holdout = read_haplotypes(d / "split" / "holdout.vcf.gz")
    model, _, _ = api.load_trained(d / "mixar")
    values = doc["statistics"]["heldout_ll"]["values"]
    assert values["mix"] == pytest.approx(model.log_likelihood(holdout.matrix).mean())
    assert values["rbm"] is None  # an RBM has no exact likelihood: n/a, not a failure
    assert any("rbm (its rbm model has no tractable likelihood)" in n for n in doc["notes"])
    assert any(i["path"].endswith("mixar/model.pt") for i in doc["provenance"]["inputs"])


def test_evaluation_models_says_why_a_model_is_not_used(d, tmp_path, capsys):
    import shutil

    shutil.copytree(d / "mixar", tmp_path / "mixar")
    assert run(capsys, "generate", tmp_path / "mixar", "-n", 20, "-o", tmp_path / "ag.vcf.gz", "--seed", 1)[0] == 0
    real = read_haplotypes(d / "split" / "train.vcf.gz")
    found = evaluation_models(None, {"ag": tmp_path / "ag.vcf.gz"}, real.sites)
    assert set(found["models"]) == {"ag"} and not found["notes"]
    # --model names the model of every set
    given = evaluation_models(d / "conditional", {"ag": tmp_path / "ag.vcf.gz", "x": d / "sim.vcf.gz"}, real.sites)
    assert set(given["models"]) == {"ag", "x"} and given["models"]["ag"] is given["models"]["x"]
    # a set without provenance, a model retrained since, a model at other sites, a model gone
    api.train(api.read_input(d / "split" / "train.vcf.gz"), model="mixar", out_dir=tmp_path / "mixar", seed=2,
              overrides=TEST_SETTINGS, overwrite=True)
    notes = evaluation_models(None, {"ag": tmp_path / "ag.vcf.gz", "sim": d / "sim.vcf.gz"}, real.sites)
    assert notes["models"] == {}
    assert notes["notes"][0] == ("Held-out likelihood of ag: the model file " + str(tmp_path / "mixar" / "model.pt")
                                 + " has changed since the set was generated, so it is not scored.")
    assert len(notes["notes"]) == 1  # sim.vcf.gz names no model: the likelihood statistic says so itself
    other = evaluation_models(d / "mixar", {"ag": tmp_path / "ag.vcf.gz"}, real.sites.take(np.arange(10)))
    assert other["models"] == {} and "is not at the real set's sites (the real set has only the first 10" in other[
        "notes"][0]
    shutil.rmtree(tmp_path / "mixar")
    gone = evaluation_models(None, {"ag": tmp_path / "ag.vcf.gz"}, real.sites)
    assert "is not there any more; pass --model MODEL_DIR" in gone["notes"][0]


def test_score_file_refusals_from_python(d, tmp_path):
    with pytest.raises(ModelError, match="no tractable likelihood"):
        api.score_file(d / "rbm", d / "split" / "holdout.vcf.gz", tmp_path / "s.tsv")
    result = api.score_file(d / "mixar", d / "split" / "holdout.vcf.gz", tmp_path / "s.tsv")
    assert result["likelihood"] == "marginal" and result["log_likelihood"].shape == (result["haplotypes"].n_haplotypes,)
    assert result["bits_per_snp"] == pytest.approx(-result["mean_nats"] / (result["haplotypes"].n_sites * math.log(2)))
