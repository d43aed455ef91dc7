"""Fault injection at the workflow level: a full disk, closed pipes, two runs writing one output,
a run killed in the middle of writing.

Each test asserts the three things that matter: no data is lost (earlier outputs are intact),
no stale or partial output is left (no temporary, no half of a set of files), and no wrong
result comes with exit status 0. The slow, randomised version of these faults is
``benchmarks/fault_injection.py``.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from haplogen.cli import main

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones included) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.name.endswith(".part") or p.name.startswith(".haplogen-tmp-")]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    d = tmp_path_factory.mktemp("faults")
    assert main(["simulate", "-o", str(d / "sim.vcf.gz"), "--individuals", "10", "--length", "3e5",
                 "--max-sites", "50", "--seed", "1"]) == 0
    assert main(["split", str(d / "sim.vcf.gz"), "--seed", "1", "-o", str(d / "split")]) == 0
    assert main(["train", str(d / "split" / "train.vcf.gz"), "--epochs", "2", "--seed", "1",
                 "--set", "n_hidden=8", "-o", str(d / "model")]) == 0
    return d


# ---------------------------------------------------------------------------- a full disk
def test_disk_full_during_a_split_keeps_the_old_split_whole(base, tmp_path, capsys, monkeypatch):
    import haplogen.split as split_module

    out = tmp_path / "split"
    assert run(capsys, "split", base / "sim.vcf.gz", "--seed", 1, "-o", out)[0] == 0
    before = snapshot(tmp_path)
    real_write = split_module.write_split

    def full_disk(split, path, **kwargs):
        real_write(split, path, **kwargs)  # half of the table reached the disk, then it filled up
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(split_module, "write_split", full_disk)
    code, _, err = run(capsys, "split", base / "sim.vcf.gz", "--seed", 2, "-o", out, "--overwrite")
    assert code == 74
    last = err.strip().splitlines()[-1]
    assert last == f"haplogen: error: cannot write {out / 'split.tsv'}: No space left on device; nothing was written"
    assert snapshot(tmp_path) == before  # train, holdout and split.tsv of the first split, byte for byte
    assert leftovers(tmp_path) == []


def test_disk_full_reported_by_bgzf_names_the_file(base, tmp_path, capsys, monkeypatch):
    """pysam reports a full disk as "Error closing BGZFile object": say which file, and why."""
    import pysam

    import haplogen.provenance as provenance

    real_bgzf = pysam.BGZFile

    class FullDisk:
        """A BGZF writer whose final flush fails the way pysam reports it."""

        def __init__(self, *args, **kwargs):
            self._file = real_bgzf(*args, **kwargs)

        def write(self, data):
            return self._file.write(data)

        def close(self):
            self._file.close()
            raise OSError("Error closing BGZFile object")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()

    target = tmp_path / "ag.vcf.gz"
    target.write_bytes(b"an earlier release")
    monkeypatch.setattr(pysam, "BGZFile", FullDisk)
    monkeypatch.setattr(provenance, "_disk_full", lambda folder: True)
    code, _, err = run(capsys, "generate", base / "model", "-n", 6, "-o", target, "--overwrite", "--seed", 1)
    assert code == 74
    last = err.strip().splitlines()[-1]
    assert last == f"haplogen: error: cannot write {target}: No space left on device; nothing was written"
    assert "BGZFile" not in err
    assert target.read_bytes() == b"an earlier release" and leftovers(tmp_path) == []


def test_disk_full_during_evaluate_keeps_the_old_report_pair(base, tmp_path, capsys, monkeypatch):
    import haplogen.report as report

    split = base / "split"
    assert run(capsys, "generate", base / "model", "-n", 20, "-o", tmp_path / "ag.vcf.gz", "--seed", 1)[0] == 0
    argv = ["evaluate", "--real", split / "train.vcf.gz", "--holdout", split / "holdout.vcf.gz",
            "--synthetic", tmp_path / "ag.vcf.gz", "--aats-repeats", 1, "-o", tmp_path / "eval"]
    assert run(capsys, *argv)[0] == 0
    before = snapshot(tmp_path / "eval")
    real_write = report.write_outputs

    def full_disk(ev, out_dir):
        real_write(ev, out_dir)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(Path(out_dir) / "report.html"))

    monkeypatch.setattr(report, "write_outputs", full_disk)
    code, out, err = run(capsys, *argv, "--seed", 5, "--overwrite")
    assert code == 74 and out == ""
    assert err.strip().splitlines()[-1] == (
        f"haplogen: error: cannot write {tmp_path / 'eval' / 'report.html'}: No space left on device; nothing was written"
    )
    assert snapshot(tmp_path / "eval") == before and leftovers(tmp_path) == []


def test_disk_full_while_training_names_the_file_and_keeps_the_checkpoint(base, tmp_path, capsys, monkeypatch):
    import builtins

    real_open = builtins.open
    lines = [0]

    def full_after_two_lines(file, mode="r", *args, **kwargs):
        if str(file).endswith("training_log.tsv") and "a" in mode:
            lines[0] += 1
            if lines[0] == 3:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full_after_two_lines)
    model = tmp_path / "m"
    code, _, err = run(capsys, "train", base / "split" / "train.vcf.gz", "--epochs", 4, "--seed", 1,
                       "--set", "n_hidden=8", "--checkpoint-every", 0, "-o", model)
    assert code == 74
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"haplogen: error: cannot write {model / 'training_log.tsv'}: No space left on device")
    assert "continue with --resume" in last
    assert (model / "checkpoint.pt").exists() and not (model / "model.pt").exists()
    monkeypatch.setattr(builtins, "open", real_open)
    # the space is back: the same command with --resume finishes, and the log lists each epoch once
    code, _, err = run(capsys, "train", base / "split" / "train.vcf.gz", "--epochs", 4, "--set", "n_hidden=8",
                       "--resume", "-o", model)
    assert code == 0, err
    epochs = [line.split("\t")[0] for line in (model / "training_log.tsv").read_text().splitlines()[1:]]
    assert epochs == ["1", "2", "3", "4"]
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------- closed pipes
class ClosedPipe(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_training_goes_on_when_stderr_is_closed(base, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stderr", ClosedPipe())
    code = main(["train", str(base / "split" / "train.vcf.gz"), "--epochs", "3", "--seed", "1",
                 "--set", "n_hidden=8", "--progress-every", "0", "-o", str(tmp_path / "m")])
    assert code == 0
    record = json.loads((tmp_path / "m" / "provenance.json").read_text())
    assert record["training"]["epochs_run"] == 3


def test_training_survives_a_real_closed_pipe(base, tmp_path):
    """``haplogen train ... 2>&1 | head -1``: the reader goes away after the first line."""
    argv = ["train", str(base / "split" / "train.vcf.gz"), "--epochs", "4", "--seed", "1", "--set", "n_hidden=8",
            "--progress-every", "0", "-o", str(tmp_path / "m")]
    script = f"import sys; from haplogen.cli import main; sys.exit(main({argv!r}))"
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    assert proc.wait(timeout=300) == 0
    assert first.startswith(b"input ")
    assert json.loads((tmp_path / "m" / "provenance.json").read_text())["training"]["epochs_run"] == 4


def test_evaluate_finishes_when_stdout_is_closed(base, tmp_path, capsys, monkeypatch):
    split = base / "split"
    assert run(capsys, "generate", base / "model", "-n", 20, "-o", tmp_path / "ag.vcf.gz", "--seed", 1)[0] == 0
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    code = main(["evaluate", "--real", str(split / "train.vcf.gz"), "--synthetic", str(tmp_path / "ag.vcf.gz"),
                 "--aats-repeats", "1", "-o", str(tmp_path / "eval")])
    assert code == 0
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["statistics"]


# ---------------------------------------------------------------------------- two runs, one output
def _consistent_split(out: Path) -> None:
    """train, holdout and split.tsv of a split folder come from one and the same run."""
    from haplogen.io import read_haplotypes
    from haplogen.split import read_split

    table = read_split(out / "split.tsv")
    train = read_haplotypes(out / "train.vcf.gz")
    holdout = read_haplotypes(out / "holdout.vcf.gz")
    assert list(table.train) == train.samples.tolist() and list(table.holdout) == holdout.samples.tolist()
    assert train.source["sha256"] != holdout.source["sha256"]
    seeds = {json.loads(line.split("=", 1)[1])["seed"] for line in _provenance_lines(out)}
    assert len(seeds) == 1


def _provenance_lines(out: Path) -> list[str]:
    import gzip

    found = []
    for name in ("train.vcf.gz", "holdout.vcf.gz"):
        with gzip.open(out / name, "rt") as handle:
            found += [line for line in handle if line.startswith("##haplogen_provenance=")]
    return found


def test_a_run_that_finishes_first_wins_whole(base, tmp_path, capsys, monkeypatch):
    """Run B writes the same split while run A is writing: A is refused whole, B is kept whole."""
    import haplogen.split as split_module

    out = tmp_path / "split"
    real_write = split_module.write_split
    other: list[int] = []

    def meanwhile(split, path, **kwargs):
        if not other:  # the other run starts and finishes while this one writes its table
            monkeypatch.setattr(split_module, "write_split", real_write)
            other.append(main(["split", str(base / "sim.vcf.gz"), "--seed", "8", "-o", str(out)]))
        real_write(split, path, **kwargs)

    monkeypatch.setattr(split_module, "write_split", meanwhile)
    code, _, err = run(capsys, "split", base / "sim.vcf.gz", "--seed", 7, "-o", out)
    assert other == [0]
    assert code == 2 and "was written by another run while this one was working" in err.strip().splitlines()[-1]
    _consistent_split(out)
    assert {json.loads(line.split("=", 1)[1])["seed"] for line in _provenance_lines(out)} == {8}
    assert leftovers(tmp_path) == []


def test_two_processes_writing_one_split(base, tmp_path):
    out = tmp_path / "split"
    procs = [
        subprocess.Popen([sys.executable, "-m", "haplogen.cli", "split", str(base / "sim.vcf.gz"), "--seed", str(seed),
                          "-o", str(out)], stderr=subprocess.PIPE, text=True)
        for seed in (1, 2)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "already holds a split" in refused or "was written by another run" in refused
    _consistent_split(out)
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------- kill -9 while writing
def test_a_run_killed_while_writing_leaves_no_output_and_the_next_run_cleans_up(base, tmp_path):
    out = tmp_path / "split"
    script = f"""
import os, signal
import haplogen.split as split_module
def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
split_module.write_split = killed
from haplogen.cli import main
main(["split", {str(base / 'sim.vcf.gz')!r}, "--seed", "1", "-o", {str(out)!r}])
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL
    assert not out.exists()  # train and holdout were written, but only in the temporary folder
    stale = leftovers(tmp_path)
    assert len(stale) == 1 and Path(stale[0]).name.startswith(".haplogen-tmp-")
    code = main(["split", str(base / "sim.vcf.gz"), "--seed", "1", "-o", str(out)])
    assert code == 0
    _consistent_split(out)
    assert leftovers(tmp_path) == []
