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
    # 3 epochs of RBM on 144 haplotypes leak nothing: every check passes with a wide margin
    # (privacy loss 0.04 against a limit of 0.17, membership AUC 0.45 against 0.5 +- 0.14)
    code, _, err = run(capsys, *base, "-o", tmp_path / "ok.vcf.gz")
    assert code == 0, err
    assert "privacy audit: PASS" in err
    with gzip.open(tmp_path / "ok.vcf.gz", "rt") as handle:
        record = json.loads(next(line for line in handle if line.startswith("##haplogen_provenance=")).split("=", 1)[1])
    assert record["privacy_audit"]["status"] == "pass" and record["privacy_audit"]["warnings"] == []
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


def test_generate_audit_refuses_a_set_too_large_to_hold_before_sampling(pipeline, tmp_path, capsys, monkeypatch):
    """--audit holds the artificial set whole: beyond a quarter of the machine's memory it stops
    before sampling, with a one-line error saying what to do, and writes nothing."""
    import haplogen.api as api

    d = pipeline
    real, holdout = d / "split" / "train.vcf.gz", d / "split" / "holdout.vcf.gz"
    n_sites = len(api.load_trained(d / "model")[1].position)
    base = ["generate", d / "model", "--seed", 1, "--audit", "--real", real, "--holdout", holdout]
    # a machine of 400 x n_sites bytes: 100 haplotypes fit in a quarter of it, 101 do not
    monkeypatch.setattr(api, "physical_memory_bytes", lambda: 400 * n_sites)
    code, _, err = run(capsys, *base, "-n", 101, "-o", tmp_path / "big.vcf.gz")
    assert code == 2
    assert f"holds the 101 x {n_sites:,} artificial set in memory" in err and "haplogen evaluate --holdout" in err
    assert "sampled" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    code, _, err = run(capsys, *base, "-n", 100, "-o", tmp_path / "ok.vcf.gz")
    assert code == 0, err
    assert "privacy audit:" in err and (tmp_path / "ok.vcf.gz").exists()
    # where the system does not say how much memory it has, the audit goes ahead
    monkeypatch.setattr(api, "physical_memory_bytes", lambda: None)
    assert run(capsys, *base, "-n", 101, "-o", tmp_path / "unknown.vcf.gz")[0] == 0


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


# ---------------------------------------------------------------------------- the command recorded
def _header_record(path):
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith("##haplogen_provenance="):
                return json.loads(line.split("=", 1)[1])
            if not line.startswith("##"):
                return None


def test_every_output_records_the_argv_main_was_given(pipeline, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["not-haplogen", "--something-else"])
    argv = ["generate", str(pipeline / "model"), "-n", "4", "-o", str(tmp_path / "g.vcf.gz"), "--seed", "2"]
    assert run(capsys, *argv)[0] == 0
    assert _header_record(tmp_path / "g.vcf.gz")["command"] == ["haplogen", *argv]
    with gzip.open(tmp_path / "g.vcf.gz", "rt") as handle:
        assert f"##haplogen_command=haplogen {' '.join(argv)}\n" in list(handle)
    record = json.loads((pipeline / "model" / "provenance.json").read_text())
    assert record["command"][:2] == ["haplogen", "train"]
    split_record = _header_record(pipeline / "split" / "train.vcf.gz")
    assert split_record["command"][:2] == ["haplogen", "split"] and split_record["seed"] == 5


# ---------------------------------------------------------------------------- one overwrite rule
def test_every_command_refuses_an_existing_output_before_any_work(pipeline, tmp_path, capsys):
    d = pipeline
    train, holdout = d / "split" / "train.vcf.gz", d / "split" / "holdout.vcf.gz"
    (tmp_path / "taken.vcf.gz").write_bytes(b"precious")
    (tmp_path / "taken.samples.tsv").write_text("keep me\n")
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "report.html").write_text("old report")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "checkpoint.pt").write_bytes(b"an unfinished run")
    cases = [
        (["simulate", "-o", tmp_path / "taken.vcf.gz", "--individuals", 2, "--length", 2e4],
         "taken.vcf.gz already exists", "simulating"),
        (["split", d / "sim.vcf.gz", "-o", d / "split", "--seed", 1],
         "split already holds a split (split.tsv, train.vcf.gz", "input "),
        (["generate", d / "model", "-n", 4, "-o", tmp_path / "taken.vcf.gz"],
         "taken.vcf.gz already exists", "sampled"),
        (["evaluate", "--real", train, "--synthetic", train, "-o", tmp_path / "eval"],
         "report.html already exists", "real set"),
        (["train", train, "-o", tmp_path / "half", "--epochs", 1],
         "holds an unfinished training run (checkpoint.pt)", "input "),
    ]
    for argv, expected, work in cases:
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv, err)
        assert err.count("\n") == 1 and err.startswith("haplogen: error:") and expected in err, err
        assert "--overwrite" in err and work not in err
    assert (tmp_path / "taken.vcf.gz").read_bytes() == b"precious"
    assert (tmp_path / "taken.samples.tsv").read_text() == "keep me\n"
    assert (tmp_path / "eval" / "report.html").read_text() == "old report"
    assert (tmp_path / "half" / "checkpoint.pt").read_bytes() == b"an unfinished run"
    assert not list(tmp_path.rglob(".haplogen-tmp-*")) and not list(tmp_path.rglob("*.part"))


def test_overwrite_replaces_and_says_so_for_a_split(pipeline, tmp_path, capsys):
    d = pipeline
    first = ["split", d / "sim.vcf.gz", "--labels", d / "sim.samples.tsv", "-o", tmp_path / "s", "--seed", 1]
    assert run(capsys, *first)[0] == 0
    before = (tmp_path / "s" / "split.tsv").read_text()
    # a new split in the other format replaces the whole old one: no train.vcf.gz beside train.hapt.gz
    code, _, err = run(capsys, "split", d / "sim.vcf.gz", "-o", tmp_path / "s", "--seed", 2, "--format", "hapt",
                       "--overwrite")
    assert code == 0, err
    assert "haplogen: warning: replacing the split in" in err
    names = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert names == ["holdout.hapt.gz", "holdout.hapt.gz.provenance.json", "holdout.legend", "split.tsv",
                     "train.hapt.gz", "train.hapt.gz.provenance.json", "train.legend"]
    assert (tmp_path / "s" / "split.tsv").read_text() != before
    # generate --overwrite replaces a file
    (tmp_path / "x.vcf.gz").write_bytes(b"old")
    code, _, err = run(capsys, "generate", d / "model", "-n", 4, "-o", tmp_path / "x.vcf.gz", "--overwrite", "--seed", 1)
    assert code == 0, err
    assert _header_record(tmp_path / "x.vcf.gz")["seed"] == 1


def test_a_format_that_contradicts_the_name_is_refused(pipeline, tmp_path, capsys):
    code, _, err = run(capsys, "generate", pipeline / "model", "-n", 4, "-o", tmp_path / "x.vcf.gz", "--format", "hapt")
    assert code == 2 and "the output name x.vcf.gz says VCF but the format asked for is hapt; name it x.hapt.gz" in err
    code, _, err = run(capsys, "generate", pipeline / "model", "-n", 4, "-o", tmp_path / "x.hapt.gz", "--format", "vcf")
    assert code == 2 and "says HAPT but the format asked for is vcf" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "-inf", "soon"])
def test_checkpoint_every_refuses_negative_and_non_finite_values(capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "x.vcf.gz", "-o", "m", f"--checkpoint-every={value}"])
    assert exit_info.value.code == 2
    assert f"expected a finite number of seconds >= 0, found '{value}'" in capsys.readouterr().err


def test_generate_threads_is_used_and_recorded(pipeline, tmp_path, capsys):
    import torch

    before = torch.get_num_threads()
    try:
        code, _, err = run(capsys, "generate", pipeline / "model", "-n", 4, "-o", tmp_path / "t.vcf.gz",
                           "--threads", 1, "--seed", 3)
        assert code == 0, err
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert _header_record(tmp_path / "t.vcf.gz")["parameters"]["threads"] == 1


# ---------------------------------------------------------------------------- interrupts
def test_an_interrupt_before_any_checkpoint_does_not_promise_a_resume(pipeline, tmp_path, capsys, monkeypatch):
    import haplogen.api as api

    def interrupting_printer(say, every_s=5.0, **kwargs):
        def progress(p):
            raise KeyboardInterrupt  # what a second Ctrl-C does in the middle of an epoch
        return progress

    monkeypatch.setattr(api, "progress_printer", interrupting_printer)
    code, _, err = run(capsys, "train", pipeline / "split" / "train.vcf.gz", "--epochs", 3, "-o", tmp_path / "m")
    assert code == 130
    last = err.strip().splitlines()[-1]
    assert last == "haplogen: interrupted before the first checkpoint was saved; nothing can be resumed: run the command again"
    assert not (tmp_path / "m" / "checkpoint.pt").exists() and not (tmp_path / "m" / "model.pt").exists()


def test_an_interrupt_after_a_checkpoint_points_to_resume(pipeline, tmp_path, capsys, monkeypatch):
    import haplogen.api as api

    def interrupting_printer(say, every_s=5.0, **kwargs):
        def progress(p):
            if p.epoch == 2:
                raise KeyboardInterrupt
        return progress

    monkeypatch.setattr(api, "progress_printer", interrupting_printer)
    code, _, err = run(capsys, "train", pipeline / "split" / "train.vcf.gz", "--epochs", 3, "--checkpoint-every", 0,
                       "--seed", 1, "-o", tmp_path / "m")
    assert code == 130 and (tmp_path / "m" / "checkpoint.pt").exists()
    last = err.strip().splitlines()[-1]
    assert "checkpoint of epoch 1" in last and last.endswith("continue it with the same command and --resume")


# ---------------------------------------------------------------------------- the model's own training data
def test_evaluate_and_audit_refuse_a_holdout_the_model_was_trained_on(pipeline, tmp_path, capsys):
    d = pipeline
    # a new split of the same data: its holdout overlaps the individuals the model was trained on
    assert run(capsys, "split", d / "sim.vcf.gz", "--labels", d / "sim.samples.tsv", "--seed", 99,
               "-o", tmp_path / "new")[0] == 0
    train, stale = d / "split" / "train.vcf.gz", tmp_path / "new" / "holdout.vcf.gz"
    assert run(capsys, "generate", d / "model", "-n", 20, "-o", tmp_path / "ag.vcf.gz", "--seed", 1)[0] == 0
    for argv in (
        ["evaluate", "--real", train, "--holdout", stale, "--synthetic", tmp_path / "ag.vcf.gz", "-o", tmp_path / "e1"],
        ["evaluate", "--real", train, "--holdout", stale, "--synthetic", tmp_path / "ag.vcf.gz", "--model", d / "model",
         "-o", tmp_path / "e2"],
        ["generate", d / "model", "-n", 20, "-o", tmp_path / "r.vcf.gz", "--audit", "--real", train, "--holdout", stale],
    ):
        code, _, err = run(capsys, *argv)
        assert code == 2, err
        last = err.strip().splitlines()[-1]
        assert last.startswith("haplogen: error: --holdout ") and "individuals with the data the model" in last
        assert "was trained on" in last and "sampled" not in err
    assert not (tmp_path / "e1").exists() and not (tmp_path / "e2").exists() and not (tmp_path / "r.vcf.gz").exists()


def test_evaluate_warns_when_real_is_not_the_training_data(pipeline, tmp_path, capsys):
    d = pipeline
    assert run(capsys, "generate", d / "model", "-n", 20, "-o", tmp_path / "ag.vcf.gz", "--seed", 1)[0] == 0
    code, _, err = run(capsys, "evaluate", "--real", d / "sim.vcf.gz", "--synthetic", tmp_path / "ag.vcf.gz",
                       "--aats-repeats", 1, "-o", tmp_path / "e")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("haplogen: warning:")]
    assert len(warnings) == 1
    assert f"--real {d / 'sim.vcf.gz'} is not the data the model" in warnings[0]
    assert "18 of its 90 individuals were not in it" in warnings[0]
    notes = json.loads((tmp_path / "e" / "metrics.json").read_text())["notes"]
    assert any("is not the data the model" in note for note in notes)
    assert "is not the data the model" in (tmp_path / "e" / "report.html").read_text()


# ---------------------------------------------------------------------------- sampling temperature
def test_generate_temperature_is_refused_for_a_family_that_cannot_and_recorded_for_one_that_can(pipeline, tmp_path,
                                                                                                capsys):
    # the module's model is an RBM: a temperature other than 1 is refused in one line, nothing written
    code, _, err = run(capsys, "generate", pipeline / "model", "-n", 4, "-o", tmp_path / "r.vcf.gz",
                       "--temperature", 0.9, "--seed", 3)
    assert code != 0 and "the rbm model cannot sample at a temperature (found 0.9)" in err and "hmm" in err
    assert "Traceback" not in err and not (tmp_path / "r.vcf.gz").exists()
    for bad in ("0", "-1", "nan", "inf", "warm"):
        with pytest.raises(SystemExit) as exit_info:
            main(["generate", str(pipeline / "model"), "-n", "4", "-o", str(tmp_path / "b.vcf.gz"),
                  "--temperature", bad])
        assert exit_info.value.code == 2
        assert f"expected a finite number > 0, found '{bad}'" in capsys.readouterr().err
    # 1 is the model itself, recorded
    assert run(capsys, "generate", pipeline / "model", "-n", 4, "-o", tmp_path / "one.vcf.gz", "--seed", 3)[0] == 0
    assert _header_record(tmp_path / "one.vcf.gz")["parameters"]["temperature"] == 1.0
    # an hmm samples at a temperature and records it; the same seed at 1 draws other haplotypes
    from haplogen.io import read_haplotypes

    assert main(["train", str(pipeline / "split" / "train.vcf.gz"), "--model", "hmm", "--epochs", "2",
                 "--seed", "5", "-o", str(tmp_path / "hmm")]) == 0
    capsys.readouterr()
    for name, t in (("cold", 0.5), ("plain", 1)):
        code, _, err = run(capsys, "generate", tmp_path / "hmm", "-n", 200, "-o", tmp_path / f"{name}.vcf.gz",
                           "--temperature", t, "--seed", 3)
        assert code == 0, err
    assert _header_record(tmp_path / "cold.vcf.gz")["parameters"]["temperature"] == 0.5
    cold, plain = (read_haplotypes(tmp_path / f"{n}.vcf.gz").matrix for n in ("cold", "plain"))
    assert not np.array_equal(cold, plain)


def test_evaluate_threads_is_used_and_recorded(pipeline, tmp_path, capsys):
    import torch

    d = pipeline
    assert run(capsys, "generate", d / "model", "-n", 40, "-o", tmp_path / "ag.vcf.gz", "--seed", 4)[0] == 0
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        code, _, err = run(capsys, "evaluate", "--real", d / "split" / "train.vcf.gz", "--synthetic",
                           tmp_path / "ag.vcf.gz", "--statistics", "allele_frequency", "--threads", 1, "-o", tmp_path / "eval")
        assert code == 0, err
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["provenance"]["parameters"]["threads"] == 1
