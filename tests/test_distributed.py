"""Training on two processes launched by torchrun (gloo on CPU) gives the model of one process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from haplogen.haplotypes import Haplotypes, Sites
from haplogen.io import write_vcf
from haplogen.models import load_model

TORCHRUN = Path(sys.executable).with_name("torchrun")
HAPLOGEN = Path(sys.executable).with_name("haplogen")

pytestmark = pytest.mark.skipif(
    not (TORCHRUN.exists() and HAPLOGEN.exists()), reason="needs torchrun and the haplogen command in the environment"
)


def _data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n, L = 160, 30
    segments = (rng.random((4, L)) < 0.5).astype(np.uint8)
    x = segments[rng.integers(0, 4, n)]
    x ^= (rng.random((n, L)) < 0.05).astype(np.uint8)
    h = Haplotypes.from_matrix(x, Sites.generic(L), prefix="i")
    path = tmp_path / "train.vcf.gz"
    write_vcf(h, path)
    return path


def _train(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)


def test_two_processes_train_the_model_of_one(tmp_path):
    data = _data(tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    common = ["train", str(data), "--model", "hmm", "--seed", "3", "--epochs", "4",
              "--set", "n_states=4", "--set", "batch_size=16", "--set", "patience=10"]
    one = _train([str(HAPLOGEN), *common, "-o", str(tmp_path / "one")], env)
    assert one.returncode == 0, one.stderr
    two = _train([str(TORCHRUN), "--nproc-per-node", "2", "--master-port", "29517", "--no-python",
                  str(HAPLOGEN), *common, "-o", str(tmp_path / "two")], env)
    assert two.returncode == 0, two.stderr
    # only process 0 talks and writes
    assert two.stderr.count("trained hmm for 4 epochs") == 1
    record = json.loads((tmp_path / "two" / "provenance.json").read_text())
    assert record["processes"] == 2
    m1, _ = load_model(tmp_path / "one" / "model.pt")
    m2, _ = load_model(tmp_path / "two" / "model.pt")
    for key, w in m1._weights().items():
        # the same EM iterations; sums taken in another order differ in the last digits
        np.testing.assert_allclose(m2._weights()[key].numpy(), w.numpy(), rtol=0, atol=1e-4)


def test_a_family_that_trains_in_one_process_refuses_torchrun(tmp_path):
    data = _data(tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = _train([str(TORCHRUN), "--nproc-per-node", "2", "--master-port", "29518", "--no-python", str(HAPLOGEN),
                  "train", str(data), "--model", "mixar", "--seed", "1", "--epochs", "1", "-o", str(tmp_path / "m")], env)
    assert run.returncode != 0
    # haplogen's own one-line error (torchrun then reports the failed child with its traceback)
    assert "haplogen: error: mixar trains in one process" in run.stderr
    assert not (tmp_path / "m" / "model.pt").exists()
    shutil.rmtree(tmp_path / "m", ignore_errors=True)
