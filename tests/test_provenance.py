"""Provenance records, rebuilding an output from its record, and outputs written as a whole."""

from __future__ import annotations

import errno
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from haplogen.cli import main
from haplogen.errors import InputError, OutputError
from haplogen.provenance import (
    OutputSet,
    atomic_path,
    make_record,
    matrix_checksum,
    now,
    read_provenance,
)


def _header(path: Path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        return [line for line in handle if line.startswith("#")]


def _record(path: Path) -> dict:
    line = next(line for line in _header(path) if line.startswith("##haplogen_provenance="))
    return json.loads(line.split("=", 1)[1])


def _rerun(record: dict, capsys) -> None:
    """Run the command a record names, in-process (``haplogen`` is ``main``)."""
    command = record["command"]
    assert command[0] == "haplogen"
    code = main(command[1:])
    err = capsys.readouterr().err
    assert code == 0, err


# ---------------------------------------------------------------------------- rebuild from the record
@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("prov")
    assert main(["simulate", "-o", str(d / "sim.vcf.gz"), "--individuals", "12", "--length", "3e5",
                 "--max-sites", "60", "--seed", "3"]) == 0
    assert main(["train", str(d / "sim.vcf.gz"), "--epochs", "2", "--seed", "3", "-o", str(d / "model")]) == 0
    return d


def test_generate_rebuilt_from_its_record_gives_the_same_bytes(small_model, tmp_path, capsys, monkeypatch):
    """The record's command, re-run with the same inputs, gives the same file, byte for byte."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.chdir(tmp_path)
    assert main(["generate", str(small_model / "model"), "-n", "30", "-o", "ag.vcf.gz", "--seed", "11"]) == 0
    capsys.readouterr()
    first = Path("ag.vcf.gz").read_bytes(), Path("ag.vcf.gz.tbi").read_bytes()
    record = _record(Path("ag.vcf.gz"))
    assert record["seed"] == 11 and record["timestamp"] == "2023-11-14T22:13:20+00:00"
    assert "##fileDate=20231114\n" in _header(Path("ag.vcf.gz"))
    # move the output away (the command refuses to overwrite it) and run the recorded command
    Path("ag.vcf.gz").rename("first.vcf.gz")
    Path("ag.vcf.gz.tbi").unlink()
    _rerun(record, capsys)
    assert (Path("ag.vcf.gz").read_bytes(), Path("ag.vcf.gz.tbi").read_bytes()) == first


def test_a_drawn_seed_is_recorded_and_rebuilds_the_data(tmp_path, capsys, monkeypatch):
    """Without --seed, the drawn seed in the record rebuilds the same simulation; only the
    recorded command differs (it now names the seed)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.chdir(tmp_path)
    argv = ["simulate", "-o", "a.vcf.gz", "--individuals", "5", "--length", "2e5", "--max-sites", "40"]
    assert main(argv) == 0
    capsys.readouterr()
    record = _record(Path("a.vcf.gz"))
    assert record["command"] == ["haplogen", *argv] and isinstance(record["seed"], int)
    rebuilt = dict(record, command=["haplogen", *argv[:2], "b.vcf.gz", *argv[3:], "--seed", str(record["seed"])])
    _rerun(rebuilt, capsys)

    def without_command(path: str) -> list[str]:
        kept = []
        for line in _header(Path(path)):
            if line.startswith("##haplogen_command="):
                continue
            if line.startswith("##haplogen_provenance="):
                line = json.dumps(dict(json.loads(line.split("=", 1)[1]), command=None))
            kept.append(line)
        return kept

    assert without_command("a.vcf.gz") == without_command("b.vcf.gz")
    with gzip.open("a.vcf.gz", "rt") as a, gzip.open("b.vcf.gz", "rt") as b:
        assert [x for x in a if not x.startswith("#")] == [y for y in b if not y.startswith("#")]
    assert Path("a.samples.tsv").read_bytes() == Path("b.samples.tsv").read_bytes()


def test_split_is_rebuilt_from_its_record(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "-o", "s.vcf.gz", "--individuals", "8", "--length", "2e5", "--max-sites", "30",
                 "--seed", "1"]) == 0
    assert main(["split", "s.vcf.gz", "--labels", "s.samples.tsv", "--seed", "4", "-o", "split"]) == 0
    capsys.readouterr()
    files = ("train.vcf.gz", "holdout.vcf.gz", "split.tsv")
    first = {name: (Path("split") / name).read_bytes() for name in files}
    record = _record(Path("split/train.vcf.gz"))
    Path("split").rename("first")
    _rerun(record, capsys)
    assert {name: (Path("split") / name).read_bytes() for name in files} == first


# ---------------------------------------------------------------------------- records
def test_make_record_uses_the_command_given_and_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    record = make_record(parameters={"a": np.int64(2), "p": Path("x")}, seed=5, command=["haplogen", "demo"])
    assert record["command"] == ["haplogen", "demo"]
    assert record["timestamp"] == "1970-01-01T00:00:00+00:00"
    assert record["parameters"] == {"a": 2, "p": "x"}
    json.dumps(record)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH must be whole seconds since 1970, found 'soon'"):
        now()


def test_matrix_checksum_depends_on_shape_and_order_only():
    m = np.array([[0, 1, 1], [1, 0, 0]], dtype=np.uint8)
    assert matrix_checksum(m) == matrix_checksum(m.astype(np.int64))
    assert matrix_checksum(m) != matrix_checksum(m[::-1])
    assert matrix_checksum(m) != matrix_checksum(m.reshape(3, 2))
    # the slow obvious definition
    import hashlib

    assert matrix_checksum(m) == hashlib.sha256(b"2x3" + bytes([0, 1, 1, 1, 0, 0])).hexdigest()


def test_read_provenance_of_vcf_hapt_and_model_dir(small_model, tmp_path, capsys):
    assert main(["generate", str(small_model / "model"), "-n", "4", "-o", str(tmp_path / "g.hapt.gz"),
                 "--seed", "1"]) == 0
    capsys.readouterr()
    hapt = read_provenance(tmp_path / "g.hapt.gz")
    vcf = read_provenance(small_model / "sim.vcf.gz")
    model = read_provenance(small_model / "model")
    assert hapt["seed"] == 1 and hapt["model_provenance"]["training_data"]["n_haplotypes"] == 72
    assert vcf["seed"] == 3 and vcf["command"][1] == "simulate"
    assert len(model["training_data"]["individuals"]) == 36 and len(model["training_data"]["matrix_sha256"]) == 64
    (tmp_path / "plain.vcf").write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    assert read_provenance(tmp_path / "plain.vcf") is None
    (tmp_path / "bad.hapt.gz.provenance.json").write_text("{not json")
    (tmp_path / "bad.hapt.gz").write_bytes(b"")
    with pytest.raises(InputError, match="provenance record is not valid JSON"):
        read_provenance(tmp_path / "bad.hapt.gz")


# ---------------------------------------------------------------------------- writing safely
def test_atomic_path_leaves_nothing_after_a_failure_and_names_the_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(OSError) as info:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_bare_library_failure_on_a_full_disk_is_reported_as_enospc(tmp_path, monkeypatch):
    """pysam says only "Error closing BGZFile object"; the disk being full is what to say."""
    import haplogen.provenance as provenance

    monkeypatch.setattr(provenance, "_disk_full", lambda folder: True)
    with pytest.raises(OSError) as info:
        with atomic_path(tmp_path / "x.vcf.gz"):
            raise OSError("Error closing BGZFile object")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "x.vcf.gz")
    monkeypatch.setattr(provenance, "_disk_full", lambda folder: False)
    with pytest.raises(OSError, match="Error closing BGZFile object"):
        with atomic_path(tmp_path / "x.vcf.gz"):
            raise OSError("Error closing BGZFile object")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temporaries_of_killed_runs_are_removed_by_the_next_write(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    stale_part = tmp_path / f".out.txt.{dead}.abc123.part"
    live_part = tmp_path / f".out.txt.{alive}.def456.part"
    stale_dir = tmp_path / f".haplogen-tmp-{dead}-xyz"
    for p in (stale_part, live_part):
        p.write_text("x")
    stale_dir.mkdir()
    (stale_dir / "train.vcf.gz").write_text("half")
    with atomic_path(tmp_path / "out.txt") as tmp:
        tmp.write_text("new")
    assert not stale_part.exists() and live_part.exists()  # a running writer's temporary is left alone
    with OutputSet([tmp_path / "other.txt"]) as outputs:
        outputs.path(tmp_path / "other.txt").write_text("o")
    assert not stale_dir.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [live_part.name, "other.txt", "out.txt"]


def test_output_set_moves_files_in_together_or_not_at_all(tmp_path):
    out = tmp_path / "d" / "sub"  # made only when the outputs move in
    files = [out / "a.txt", out / "b.txt"]
    with pytest.raises(OutputError, match=r"cannot write .*sub/b.txt: No space left on device; nothing was written"):
        with OutputSet(files) as outputs:
            outputs.path(files[0]).write_text("a")
            with atomic_path(outputs.path(files[1])):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert list(tmp_path.iterdir()) == []
    with OutputSet(files) as outputs:
        for f in files:
            outputs.path(f).write_text(f.name)
        outputs.path(out / "a.txt.tbi").write_text("side file")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "a.txt.tbi", "b.txt"]
    with pytest.raises(InputError, match=r"a.txt already exists \(and 1 more of its outputs\); choose another"):
        OutputSet(files).check()
    with OutputSet(files, overwrite=True, remove=[out / "a.txt.tbi"]) as outputs:
        for f in files:
            outputs.path(f).write_text("new " + f.name)
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]
    assert (out / "a.txt").read_text() == "new a.txt"
    with pytest.raises(InputError, match="is a folder; give a file name"):
        OutputSet([out]).check()


def test_output_set_refuses_when_another_run_wrote_first(tmp_path):
    target = tmp_path / "x.txt"
    with pytest.raises(InputError, match="was written by another run while this one was working; this run's outputs were discarded"):
        with OutputSet([target]) as outputs:
            outputs.path(target).write_text("mine")
            target.write_text("theirs")  # the other run finished in the meantime
    assert target.read_text() == "theirs" and [p.name for p in tmp_path.iterdir()] == ["x.txt"]
