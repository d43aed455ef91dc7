"""The command line, run in-process through ``haplogen.cli.main``."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from haplogen.cli import build_parser, main, parse_duration


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """simulate -> split -> train (a few RBM epochs) once for the module."""
    d = tmp_path_factory.mktemp("cli")
    assert main(["simulate", "-o", str(d / "sim.vcf.gz"), "--individuals", "30", "--length", "1e6",
                 "--max-sites", "120", "--min-maf", "0.02", "--seed", "5"]) == 0
    assert main(["split", str(d / "sim.vcf.gz"), "--labels", str(d / "sim.samples.tsv"), "--seed", "5",
                 "-o", str(d / "split")]) == 0
    assert main(["train", str(d / "split" / "train.vcf.gz"), "--model", "rbm", "--epochs", "3",
                 "--seed", "5", "-o", str(d / "model")]) == 0
    return d


def test_every_subcommand_help_shows_an_example(capsys):
    for name in ("simulate", "split", "train", "generate", "evaluate", "demo"):
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert "example:" in out and f"haplogen {name}" in out


def test_parse_duration():
    assert parse_duration("900") == 900
    assert parse_duration("15m") == 900
    assert parse_duration("1h30m") == 5400
    with pytest.raises(Exception, match="expected a duration"):
        parse_duration("soon")


def test_pipeline_outputs_and_provenance(pipeline, capsys):
    d = pipeline
    assert (d / "sim.samples.tsv").read_text().startswith("sample\tpop\tsuper_pop\n")
    split_lines = (d / "split" / "split.tsv").read_text().splitlines()
    assert sum(line.endswith("\tholdout") for line in split_lines) == 18  # 20% of 30 per population
    record = json.loads((d / "model" / "provenance.json").read_text())
    assert record["seed"] == 5 and record["parameters"]["model"] == "rbm"
    assert record["inputs"][0]["path"].endswith("train.vcf.gz") and len(record["inputs"][0]["sha256"]) == 64
    assert record["training"]["epochs_run"] == 3
    assert (d / "model" / "training_log.tsv").read_text().count("\n") == 4

    code, _, err = run(capsys, "generate", d / "model", "-n", 50, "-o", d / "ag.vcf.gz", "--seed", 9)
    assert code == 0, err
    with gzip.open(d / "ag.vcf.gz", "rt") as handle:
        header = [line for line in handle if line.startswith("##")]
    assert any("haplogen" in line and "seed" in line for line in header)


def test_generate_is_reproducible_from_its_seed(pipeline, capsys):
    from haplogen.io import read_haplotypes

    d = pipeline
    for name in ("a", "b"):
        assert run(capsys, "generate", d / "model", "-n", 40, "-o", d / f"{name}.vcf.gz", "--seed", 3)[0] == 0
    a, b = read_haplotypes(d / "a.vcf.gz"), read_haplotypes(d / "b.vcf.gz")
    assert np.array_equal(a.matrix, b.matrix)
    assert a.n_haplotypes == 40 and a.haplotype_sample[0] == "AG0"


def test_generate_hapt(pipeline, capsys):
    from haplogen.io import read_haplotypes

    d = pipeline
    code, _, err = run(capsys, "generate", d / "model", "-n", 10, "-o", d / "ag.hapt.gz", "--seed", 1)
    assert code == 0, err
    h = read_haplotypes(d / "ag.hapt.gz", legend=d / "ag.legend")
    v = read_haplotypes(d / "split" / "train.vcf.gz")
    assert h.n_haplotypes == 10 and h.sites.same_as(v.sites)


def test_user_errors_are_one_line_and_write_nothing(pipeline, capsys, tmp_path):
    d = pipeline
    cases = [
        (["train", tmp_path / "absent.vcf.gz", "-o", tmp_path / "m"], "absent.vcf.gz"),
        (["train", d / "split" / "train.vcf.gz", "-o", d / "model"], "already holds a trained model"),
        (["train", d / "split" / "train.vcf.gz", "-o", tmp_path / "m2", "--resume"], "no checkpoint"),
        (["train", d / "split" / "train.vcf.gz", "-o", tmp_path / "m3", "--set", "no_such=1"], "has no setting 'no_such'"),
        (["generate", tmp_path / "nomodel", "-n", 5, "-o", tmp_path / "x.vcf.gz"], "nomodel"),
        (["generate", d / "model", "-n", 5, "-o", tmp_path / "y.vcf.gz", "--audit"], "--audit needs --holdout"),
    ]
    for argv, expected in cases:
        code, out, err = run(capsys, *argv)
        assert code != 0, argv
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("haplogen: error:"), err
        assert expected in lines[0]
        assert "Traceback" not in err
    assert not (tmp_path / "x.vcf.gz").exists() and not (tmp_path / "y.vcf.gz").exists()
    assert not list(tmp_path.glob("*.part"))


def test_bad_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "model", "-n", "0", "-o", "x.vcf.gz"])
    assert exit_info.value.code == 2
    assert "expected a positive integer, found 0" in capsys.readouterr().err


def test_parser_builds_without_importing_torch():
    import subprocess
    import sys

    code = "import sys; from haplogen.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_resume_continues_the_checkpointed_run(tmp_path, pipeline, capsys):
    """A run stopped after 2 epochs and resumed to 4 equals an uninterrupted 4-epoch run."""
    from haplogen.api import load_trained

    train = pipeline / "split" / "train.vcf.gz"
    common = ["train", train, "--model", "rbm", "--set", "n_hidden=16", "--set", "sample_burn_in=5"]
    assert run(capsys, *common, "--epochs", 4, "--seed", 8, "-o", tmp_path / "full")[0] == 0
    assert run(capsys, *common, "--epochs", 2, "--seed", 8, "-o", tmp_path / "part")[0] == 0
    # no --seed: the seed comes from the checkpoint
    code, _, err = run(capsys, *common, "--epochs", 4, "--resume", "-o", tmp_path / "part")
    assert code == 0, err
    full, _, _ = load_trained(tmp_path / "full")
    part, _, record = load_trained(tmp_path / "part")
    assert record["seed"] == 8 and record["training"]["resumed_from_epoch"] == 2
    a = full.sample(20, seed=1)
    b = part.sample(20, seed=1)
    assert np.array_equal(a, b)
    code, _, err = run(capsys, *common, "--epochs", 5, "--resume", "--seed", 9, "-o", tmp_path / "part")
    assert code != 0 and "trained with seed 8, not 9" in err


def test_a_wrong_output_name_fails_before_any_work(tmp_path, capsys):
    code, _, err = run(capsys, "simulate", "-o", tmp_path / "sim.vcf", "--individuals", 2, "--length", 2e4)
    assert code == 2 and "name it sim.vcf.gz instead of sim.vcf" in err
    assert "simulating" not in err  # refused before the simulation started
    assert list(tmp_path.iterdir()) == []


def test_gan_trains_and_generates_through_the_cli(pipeline, tmp_path, capsys):
    train = pipeline / "split" / "train.vcf.gz"
    code, _, err = run(capsys, "train", train, "--model", "gan", "--epochs", 2, "--seed", 1, "-o", tmp_path / "gan")
    assert code == 0, err
    assert "trained gan for 2 epochs" in err
    code, _, err = run(capsys, "generate", tmp_path / "gan", "-n", 12, "-o", tmp_path / "g.vcf.gz", "--seed", 1)
    assert code == 0, err


def test_generate_audit_refuses_a_failing_release(pipeline, tmp_path, capsys, monkeypatch):
    """--audit runs the privacy audit; a failing verdict stops the write unless --force."""
    import haplogen.privacy.audit as audit

    d = pipeline
    real, holdout = d / "split" / "train.vcf.gz", d / "split" / "holdout.vcf.gz"
    base = ["generate", d / "model", "-n", 36, "--seed", 1, "--audit", "--real", real, "--holdout", holdout]
    code, _, err = run(capsys, *base, "-o", tmp_path / "ok.vcf.gz")
    assert code in (0, 4) and "privacy audit:" in err
    # make the audit fail: every synthetic haplotype becomes a copy of a training one
    from haplogen.io import read_haplotypes

    train_matrix = read_haplotypes(real).matrix
    original = audit.privacy_audit

    def copying_audit(train, hold, syn, **kwargs):
        return original(train, hold, train_matrix[: len(syn)], **kwargs)

    monkeypatch.setattr(audit, "privacy_audit", copying_audit)
    code, _, err = run(capsys, *base, "-o", tmp_path / "leak.vcf.gz")
    assert code == 4 and "privacy audit failed" in err and "was not written" in err
    assert not (tmp_path / "leak.vcf.gz").exists()
    code, _, err = run(capsys, *base, "--force", "-o", tmp_path / "forced.vcf.gz")
    assert code == 0 and (tmp_path / "forced.vcf.gz").exists()


def test_evaluate_writes_report_and_metrics(pipeline, tmp_path, capsys):
    d = pipeline
    assert run(capsys, "generate", d / "model", "-n", 60, "-o", tmp_path / "ag.vcf.gz", "--seed", 4)[0] == 0
    assert run(capsys, "generate", d / "model", "-n", 60, "-o", tmp_path / "ag.hapt.gz", "--seed", 5)[0] == 0
    code, out, err = run(
        capsys, "evaluate", "--real", d / "split" / "train.vcf.gz", "--holdout", d / "split" / "holdout.vcf.gz",
        "--synthetic", tmp_path / "ag.vcf.gz", tmp_path / "ag.hapt.gz", "--legend", tmp_path / "ag.legend",
        "--labels", d / "sim.samples.tsv", "--aats-repeats", 2, "-o", tmp_path / "eval",
    )
    assert code == 0, err
    assert "allele frequency r" in out and "privacy verdict" in out
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    text = json.dumps(metrics)
    assert '"ag"' in text and '"ag-2"' in text  # both sets, named after their files
    html = (tmp_path / "eval" / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert "http://" not in html and "https://" not in html.replace("https://www.w3.org", "")


def test_evaluate_rejects_sets_with_other_sites(pipeline, tmp_path, capsys):
    from haplogen.haplotypes import Haplotypes
    from haplogen.io import read_haplotypes, write_haplotypes

    d = pipeline
    real = read_haplotypes(d / "split" / "train.vcf.gz")
    other = real.take_sites(slice(0, real.n_sites - 1))
    write_haplotypes(Haplotypes.from_matrix(other.matrix[:20], other.sites), tmp_path / "short.vcf.gz")
    code, _, err = run(capsys, "evaluate", "--real", d / "split" / "train.vcf.gz", "--synthetic",
                       tmp_path / "short.vcf.gz", "-o", tmp_path / "eval")
    assert code == 2 and err.strip().splitlines()[-1].startswith("haplogen: error:")
    assert not (tmp_path / "eval" / "report.html").exists()


def test_two_trainings_never_share_a_model_directory(pipeline, tmp_path, capsys):
    import fcntl

    model_dir = tmp_path / "busy"
    model_dir.mkdir()
    with open(model_dir / ".haplogen.lock", "a+") as handle:  # a run in progress holds the lock
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write("haplogen train, pid 12345")
        handle.flush()
        code, _, err = run(capsys, "train", pipeline / "split" / "train.vcf.gz", "--epochs", 1, "-o", model_dir)
    assert code == 2 and "is in use by another training run (haplogen train, pid 12345)" in err
    assert not (model_dir / "model.pt").exists()
    # once released (the holder ended), training proceeds
    code, _, err = run(capsys, "train", pipeline / "split" / "train.vcf.gz", "--epochs", 1, "-o", model_dir)
    assert code == 0, err
