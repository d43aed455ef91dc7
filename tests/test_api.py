"""The workflows of haplogen.api: the same files as the command line, the training log, the
checks on inputs and on the model's own training data, and the demo built on them."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from haplogen import api
from haplogen.cli import main
from haplogen.errors import HaplogenWarning, InputError
from haplogen.haplotypes import Haplotypes
from haplogen.io import read_haplotypes
from haplogen.provenance import matrix_checksum
from haplogen.simulate import SimulationConfig

SMALL = SimulationConfig(individuals_per_population=10, sequence_length=300_000, max_sites=50, min_maf=0.02)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("api")
    api.simulate_to_files(d / "sim.vcf.gz", config=SMALL, seed=2, command=["test"])
    return d


# ---------------------------------------------------------------------------- the API and the CLI agree
def test_split_through_the_api_writes_what_the_cli_writes(data, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    argv = ["split", str(data / "sim.vcf.gz"), "--labels", str(data / "sim.samples.tsv"), "--seed", "3",
            "-o", str(tmp_path / "cli")]
    assert main(argv) == 0
    lines: list[str] = []
    result = api.split_to_files(data / "sim.vcf.gz", tmp_path / "api", labels=data / "sim.samples.tsv", seed=3,
                                command=["haplogen", *argv], say=lines.append)
    assert lines[0].startswith(f"input {data / 'sim.vcf.gz'}: read 50 records")
    assert lines[-1].startswith("split 30 individuals (holdout fraction 0.2, seed 3, stratified by population)")
    for name in ("train.vcf.gz", "holdout.vcf.gz", "split.tsv"):
        assert (tmp_path / "api" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    assert result["train"] == tmp_path / "api" / "train.vcf.gz"
    assert set(result["split"].holdout) == set(read_haplotypes(result["holdout"]).samples)


def test_simulate_writes_the_vcf_and_the_table_together(tmp_path, monkeypatch):
    import haplogen.haplotypes as haplotypes

    def full_disk(h, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(haplotypes, "write_labels", full_disk)
    with pytest.raises(Exception, match=r"cannot write .*x.samples.tsv: No space left on device"):
        api.simulate_to_files(tmp_path / "x.vcf.gz", config=SMALL, seed=1)
    assert list(tmp_path.iterdir()) == []  # no VCF without its table, no temporary


# ---------------------------------------------------------------------------- training
def test_train_records_its_training_data_and_writes_one_log_line_per_epoch(data, tmp_path):
    h = api.read_input(data / "sim.vcf.gz")
    record = api.train(h, model="rbm", out_dir=tmp_path / "m", seed=1, epochs=3, overrides={"n_hidden": 8},
                       command=["test"])
    td = record["training_data"]
    assert td["individuals"] == h.samples.tolist() and td["n_haplotypes"] == 60 and td["n_sites"] == 50
    assert td["matrix_sha256"] == matrix_checksum(h.matrix)
    assert td["file"]["sha256"] == h.source["sha256"]
    assert api.model_training_data(tmp_path / "m") == td
    assert json.loads((tmp_path / "m" / "provenance.json").read_text())["training_data"] == td
    log = (tmp_path / "m" / "training_log.tsv").read_text().splitlines()
    assert log[0].startswith("epoch\telapsed_s\t")
    assert [line.split("\t")[0] for line in log[1:]] == ["1", "2", "3"]


def test_a_resumed_run_never_lists_an_epoch_twice(data, tmp_path):
    """After a kill -9 the log holds epochs past the last checkpoint; resuming re-runs them."""
    h = api.read_input(data / "sim.vcf.gz")
    common = dict(model="rbm", out_dir=tmp_path / "m", seed=1, overrides={"n_hidden": 8})
    api.train(h, epochs=2, **common)
    log = tmp_path / "m" / "training_log.tsv"
    # epochs 3 and 4 ran, then the process was killed before the next checkpoint (epoch 2 is saved)
    with open(log, "a") as handle:
        handle.write("3\t0.10\t1\t1\t1\n4\t0.20\t1\t1\t1\n5\t0.3")  # the last line cut mid-write
    api.train(h, epochs=4, resume=True, **common)
    epochs = [line.split("\t")[0] for line in log.read_text().splitlines()[1:]]
    assert epochs == ["1", "2", "3", "4"]


def test_train_overwrite_removes_the_earlier_run_first(data, tmp_path, monkeypatch):
    """A killed --overwrite run must not leave the old model beside the new checkpoint."""
    h = api.read_input(data / "sim.vcf.gz")
    common = dict(model="rbm", out_dir=tmp_path / "m", overrides={"n_hidden": 8})
    api.train(h, epochs=1, seed=1, **common)

    def killed(p):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.train(h, epochs=3, seed=2, overwrite=True, checkpoint_every_s=0, progress=killed, **common)
    assert not (tmp_path / "m" / "model.pt").exists() and not (tmp_path / "m" / "provenance.json").exists()
    with pytest.raises(api.ModelError, match="holds no trained model"):
        api.generate(tmp_path / "m", 4, seed=1)


def test_train_refuses_a_bad_checkpoint_interval(data, tmp_path):
    h = api.read_input(data / "sim.vcf.gz")
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(InputError, match="checkpoint interval must be a finite number of seconds >= 0"):
            api.train(h, model="rbm", out_dir=tmp_path / "m", epochs=1, checkpoint_every_s=bad)
    assert not (tmp_path / "m").exists()


def test_a_progress_display_on_a_closed_pipe_does_not_stop_training(data, tmp_path):
    h = api.read_input(data / "sim.vcf.gz")
    calls = []

    def closed(p):
        calls.append(p.epoch)
        raise BrokenPipeError(32, "Broken pipe")

    record = api.train(h, model="rbm", out_dir=tmp_path / "m", seed=1, epochs=3, overrides={"n_hidden": 8},
                       progress=closed)
    assert record["training"]["epochs_run"] == 3 and calls == [1]
    assert (tmp_path / "m" / "model.pt").exists()


# ---------------------------------------------------------------------------- suspicious inputs
def _from_rows(rows: np.ndarray) -> Haplotypes:
    return Haplotypes.from_matrix(rows)


def test_input_warnings_name_what_was_seen():
    rng = np.random.default_rng(0)
    normal = rng.integers(0, 2, (40, 80), dtype=np.uint8)
    assert api.input_warnings(_from_rows(normal)) == []
    # haploid data written as diploid: each individual's two rows are the same row
    doubled = np.repeat(rng.integers(0, 2, (20, 80), dtype=np.uint8), 2, axis=0)
    (found,) = api.input_warnings(_from_rows(doubled))
    assert found.startswith("every one of its 20 diploid individuals is homozygous at every one of its 80 sites")
    assert "haploid data written as diploid" in found and "--haploid as-haplotype" in found
    # most sites monomorphic
    mono = normal.copy()
    mono[:, :60] = 0
    (found,) = api.input_warnings(_from_rows(mono))
    assert found.startswith("60 of its 80 sites are monomorphic") and "--monomorphic skip" in found
    # an individual under two names (rows 0-1 again as rows 38-39, phase swapped)
    copied = normal.copy()
    copied[38], copied[39] = normal[1], normal[0]
    (found,) = api.input_warnings(_from_rows(copied))
    assert found.startswith("1 individuals carry exactly the two haplotypes of another individual (AG19 = AG0)")


def test_read_input_warns_through_warn_or_warnings(tmp_path):
    from haplogen.io import write_haplotypes

    rng = np.random.default_rng(1)
    path = tmp_path / "doubled.vcf.gz"
    write_haplotypes(_from_rows(np.repeat(rng.integers(0, 2, (6, 30), dtype=np.uint8), 2, axis=0)), path)
    seen: list[str] = []
    api.read_input(path, warn=seen.append)
    assert len(seen) == 1 and seen[0].startswith("doubled.vcf.gz: every one of its 6 diploid individuals")
    with pytest.warns(HaplogenWarning, match="haploid data written as diploid"):
        api.read_input(path)


# ---------------------------------------------------------------------------- the model's training data
def test_check_training_data(data):
    h = api.read_input(data / "sim.vcf.gz")
    record = api.training_data_record(h.select_samples(h.samples[:20]))
    train, holdout = h.select_samples(h.samples[:20]), h.select_samples(h.samples[20:])
    assert api.check_training_data(record, model="m", real=train, holdout=holdout) == []
    with pytest.raises(InputError, match=r"the holdout set shares 2 of its 12 individuals with the data the model m"):
        api.check_training_data(record, model="m", holdout=h.select_samples(h.samples[18:]))
    (found,) = api.check_training_data(record, model="m", real=h, real_name="--real all.vcf.gz")
    assert found.startswith("--real all.vcf.gz is not the data the model m was trained on (10 of its 30 individuals")
    (found,) = api.check_training_data(record, model="m", real=train.take_sites(slice(0, 40)))
    assert "the same individuals, but other alleles, sites or order (40 x 40 against 40 x 50" in found
    (found,) = api.check_training_data(None, model="old", real=train, holdout=holdout)
    assert "records no training data" in found


# ---------------------------------------------------------------------------- the demo
def test_the_demo_runs_the_api_workflows(tmp_path, monkeypatch):
    """run_demo calls the same functions as the subcommands and leaves what they leave."""
    import haplogen.demo as demo

    monkeypatch.setattr(demo, "DEMO_INDIVIDUALS", 12)
    monkeypatch.setattr(demo, "DEMO_SITES", 60)
    monkeypatch.setattr(demo, "DEMO_CHROMOSOMES", 2)
    monkeypatch.setattr(demo, "DEMO_LENGTH", 300_000)
    monkeypatch.setattr(demo, "DEMO_EPOCHS", 2)
    called = []
    for name in ("simulate_to_files", "split_to_files", "train_from_file", "generate_to_file", "evaluate_files"):
        original = getattr(api, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            called.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(api, name, spy)
    lines: list[str] = []
    headline = demo.run_demo(tmp_path / "d", seed=1, say=lines.append, command=["haplogen", "demo"])
    assert called == ["simulate_to_files", "split_to_files", "train_from_file", "generate_to_file", "evaluate_files"]
    assert 0 < headline["allele_frequency_r"] <= 1
    paths = demo.demo_paths(tmp_path / "d")
    record = json.loads((paths["model"] / "provenance.json").read_text())
    assert record["command"] == ["haplogen", "demo"]
    assert (paths["evaluation"] / "report.html").exists()
    assert not [w for w in lines if "warning" in w], lines
    with pytest.raises(InputError, match="already holds demo outputs"):
        demo.run_demo(tmp_path / "d", seed=1, say=lines.append)
