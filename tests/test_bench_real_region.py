"""The real-region benchmark program's reading of a training log (benchmarks/real_region.py)."""

from __future__ import annotations

import pytest

from conftest import load_benchmark


@pytest.fixture(scope="module")
def real_region():
    return load_benchmark("real_region")


def test_best_validation_is_the_lowest_pass_not_the_last(real_region, tmp_path):
    log = tmp_path / "training_log.tsv"
    log.write_text("epoch\telapsed_s\tbest_epoch\tnll_train\tnll_val\n"
                   "1\t1.0\t1\t0.5\t0.40\n2\t2.0\t2\t0.4\t0.31\n3\t3.0\t2\t0.3\t0.33\n4\t4.0\t2\t0.2\t0.35\n")
    assert real_region.best_validation(log) == {"nll_val": 0.31, "epoch": 2}


def test_best_validation_without_a_validation_column_or_file(real_region, tmp_path):
    log = tmp_path / "training_log.tsv"
    log.write_text("epoch\telapsed_s\tloss\n1\t1.0\t0.5\n")
    assert real_region.best_validation(log) is None
    assert real_region.best_validation(tmp_path / "absent.tsv") is None


def test_markdown_names_the_settings_taken_from_the_data_and_gpc_only_on_a_split_file(real_region):
    result = {
        "benchmark": "b", "software": {"version": "0", "commit": None, "cores": 2},
        "started": "t", "input": {"path": "x.vcf.gz", "sha256": "0" * 64}, "split_file": None, "seed": 1,
        "model": "hmm", "settings": [], "command": ["python", "real_region.py"],
        "steps": {"train": {"seconds": 1.0, "peak_rss_mb": 1.0}},
        "training": {"epochs_run": 3, "stopped_by": "early_stopping"},
        "best_validation": {"nll_val": 0.0222, "epoch": 2},
        "chosen_from_data": {"n_states": 96, "n_groups": 3},
        "metrics": {"heldout_ll": -86.2}, "reference": {}, "privacy": {"ag": "pass"},
    }
    text = real_region.markdown(result)
    assert "took from the data: n_states=96, n_groups=3" in text
    assert "best validation 0.0222 nats per site, at pass 2" in text
    assert "GPC" not in text
    result["split_file"] = {"path": "gpc_split.tsv", "sha256": "1" * 64}
    assert "GPC" in real_region.markdown(result)
