"""benchmarks/mosaic_frontier.py: the audit and imputation of a mosaic model's sets along its switch."""

from __future__ import annotations

import json

import pytest

from conftest import load_benchmark
from haplogen import api
from haplogen.models import load_model
from haplogen.simulate import SimulationConfig
from haplogen.utility.imputation import beagle_available, beagle_unavailable_reason


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("frontier")
    config = SimulationConfig(individuals_per_population=20, sequence_length=400_000, max_sites=120, min_maf=0.02)
    api.simulate_to_files(tmp / "sim.vcf.gz", config=config, seed=2, command=["test"])
    api.split_to_files(tmp / "sim.vcf.gz", tmp / "split", labels=tmp / "sim.samples.tsv", seed=2)
    train = api.read_input(tmp / "split" / "train.vcf.gz")
    api.train(train, model="mosaic", out_dir=tmp / "model", seed=1)
    return tmp


def test_a_point_samples_at_the_switch_asked_for_and_audits_against_the_holdout(trained):
    bench = load_benchmark("mosaic_frontier")
    model, _ = load_model(trained / "model" / "model.pt")
    train = api.read_input(trained / "split" / "train.vcf.gz")
    holdout = api.read_input(trained / "split" / "holdout.vcf.gz")
    whole = bench.frontier_point(model, train, holdout, 1e-6, n=60, seed=3, threads=1, imputation=False)
    # switching almost never, every haplotype copies one donor from end to end: copies of training haplotypes
    assert whole["switch"] == 1e-6 and float(model.rates[2]) == 1e-6
    x = model.sample(60, seed=3)
    rows = {r.tobytes() for r in train.matrix}
    copies = sum(r.tobytes() in rows for r in x)
    assert whole["exact_copies_train"] == copies > 30
    every_site = bench.frontier_point(model, train, holdout, 1.0, n=60, seed=3, threads=1, imputation=False)
    assert every_site["exact_copies_train"] < copies


@pytest.mark.skipif(not beagle_available(), reason=f"Beagle 5 cannot run here: {beagle_unavailable_reason()}")
def test_the_program_writes_its_json(trained, tmp_path):
    bench = load_benchmark("mosaic_frontier")
    out = tmp_path / "f.json"
    assert bench.main(["--model", str(trained / "model"), "--real", str(trained / "split" / "train.vcf.gz"),
                       "--holdout", str(trained / "split" / "holdout.vcf.gz"), "--factors", "1,1000",
                       "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert [p["factor"] for p in record["points"]] == [1.0, 1000.0]
    assert record["points"][1]["switch"] == 1.0
    for p in record["points"]:
        assert 0 <= p["imputation_r2"] <= 1 and 0 <= p["closer_to_train"] <= 1


def test_the_copying_can_be_chosen_and_is_recorded(trained, tmp_path):
    bench = load_benchmark("mosaic_frontier")
    args = ["--model", str(trained / "model"), "--real", str(trained / "split" / "train.vcf.gz"),
            "--holdout", str(trained / "split" / "holdout.vcf.gz"), "--factors", "0.001", "--no-imputation"]
    records = {}
    for copying in ("model", "independent"):
        out = tmp_path / f"{copying}.json"
        assert bench.main(args + ["--copying", copying, "--out", str(out)]) == 0
        records[copying] = json.loads(out.read_text())
    assert records["model"]["balanced"] is True and records["independent"]["balanced"] is False
