"""benchmarks/panel_copies.py: imputation r² split by targets whose haplotypes a panel copies."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import load_benchmark
from haplogen import api
from haplogen.simulate import SimulationConfig
from haplogen.utility.imputation import beagle_available, beagle_unavailable_reason


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("panel_copies")


def test_copied_haplotypes_are_those_equal_to_a_training_row(bench):
    rng = np.random.default_rng(4)
    train = rng.integers(0, 2, size=(30, 21), dtype=np.uint8)  # 21 sites: packing pads the last byte
    holdout = rng.integers(0, 2, size=(12, 21), dtype=np.uint8)
    holdout[[2, 7]] = train[[5, 29]]
    holdout[9] = train[0]
    holdout[9, 20] ^= 1  # one site apart (in the padded byte) is not a copy
    slow = np.array([any(np.array_equal(h, t) for t in train) for h in holdout])
    assert np.array_equal(bench.copied_haplotypes(train, holdout), slow)
    assert slow.sum() == 2


def test_split_r2_is_the_per_site_squared_correlation_on_each_group(bench):
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 3, size=(40, 30)).astype(np.float32)
    truth[3, :] = 1  # constant over every target: r² undefined, left out of the means
    dosage = np.clip(truth + rng.normal(0, 0.6, size=truth.shape), 0, 2).astype(np.float32)
    bins = np.repeat([0, 1, 2, 2], 10)
    groups = {"first": np.arange(30) < 12, "rest": np.arange(30) >= 12}
    out = bench.split_r2(dosage, truth, bins, groups)
    for name, keep in groups.items():
        r2 = np.array([np.corrcoef(dosage[s, keep], truth[s, keep])[0, 1] ** 2 if s != 3 else np.nan for s in range(40)])
        assert out[name]["individuals"] == keep.sum()
        assert out[name]["r2"] == pytest.approx(np.nanmean(r2), rel=1e-5)
        assert out[name]["r2_by_bin"][0] == pytest.approx(np.nanmean(r2[:10]), rel=1e-5)
        assert out[name]["r2_by_bin"][2] == pytest.approx(np.mean(r2[20:]), rel=1e-5)


@pytest.mark.skipif(not beagle_available(), reason=f"Beagle 5 cannot run here: {beagle_unavailable_reason()}")
def test_the_program_runs_on_a_small_panel_and_writes_its_json(bench, tmp_path, capsys):
    config = SimulationConfig(individuals_per_population=20, sequence_length=400_000, max_sites=120, min_maf=0.02)
    api.simulate_to_files(tmp_path / "sim.vcf.gz", config=config, seed=2, command=["test"])
    api.split_to_files(tmp_path / "sim.vcf.gz", tmp_path / "split", labels=tmp_path / "sim.samples.tsv", seed=2)
    train, holdout = tmp_path / "split" / "train.vcf.gz", tmp_path / "split" / "holdout.vcf.gz"
    out = tmp_path / "copies.json"
    # the training set itself as the "artificial" panel: it imputes like the real one
    assert bench.main(["--real", str(train), "--holdout", str(holdout), "--synthetic", f"same={train}",
                       "--array-every", "4", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["imputation"]["real"]["all"]["r2"] == pytest.approx(record["imputation"]["same"]["all"]["r2"], abs=1e-6)
    assert record["nearest_training_distance"]["same"]["share_zero"] == 1.0
    assert "wrote" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.main(["--real", str(train), "--holdout", str(holdout), "--synthetic", f"same={train}", "--out", str(out)])
