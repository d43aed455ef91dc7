"""The metric registry and the shared input checks of haplogen.metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from haplogen.errors import InputError
from haplogen.metrics import METRICS, MetricSpec, register_metric
from haplogen.metrics.base import as_haplotype_matrix, check_same_sites, pearson_r
from haplogen.statistics import load_statistics

EXPECTED_KEYS = {
    "af_r": "max", "af_rmse": "min", "af_fixed": "min", "af_lost": "min", "ld_r": "max",
    "pairwise_w1": "min", "pca_w1_pc1": "min", "pca_w1_pc2": "min", "aats": "target",
    "aats_strict": "target", "aa_truth": "target", "aa_syn": "target",
    "three_point_r_random": "max", "three_point_r_1": "max", "three_point_r_4": "max",
    "three_point_r_16": "max", "three_point_r_64": "max", "three_point_r_256": "max",
    "three_point_r_1024": "max", "exact_copies": "min", "pop_af_r_mean": "max", "fst_r": "max",
}


def test_registry_has_every_fidelity_key_with_its_goal():
    load_statistics()  # the built-in statistics declare the specs
    for key, goal in EXPECTED_KEYS.items():
        assert METRICS[key].key == key
        assert METRICS[key].goal == goal
    for key in ("aats", "aats_strict", "aa_truth", "aa_syn"):
        assert METRICS[key].target == 0.5 and METRICS[key].range == (0.0, 1.0)
    assert METRICS["exact_copies"].target == 0
    assert METRICS["af_r"].range == (-1.0, 1.0)
    assert METRICS["af_fixed"].range == (0.0, math.inf)


def test_spec_validation_and_registration():
    with pytest.raises(ValueError, match="goal must be"):
        MetricSpec("x", "x", "best", None, (0, 1), "x")
    with pytest.raises(ValueError, match="no target value"):
        MetricSpec("x", "x", "target", None, (0, 1), "x")
    with pytest.raises(ValueError, match="grade bands but no target"):
        MetricSpec("x", "x", "max", None, (0, 1), "x", bands=(0.1, 0.2))
    # the same spec again is fine; a different one under a taken key is not
    load_statistics()
    register_metric(METRICS["af_r"])
    with pytest.raises(ValueError, match="already registered"):
        register_metric(MetricSpec("af_r", "other", "min", 0.0, (0, 1), "x"))


def test_matrix_checks():
    x = np.array([[0, 1], [1, 1]], dtype=np.int64)
    out = as_haplotype_matrix(x)
    assert out.dtype == np.uint8 and np.array_equal(out, x)
    with pytest.raises(InputError, match=r"must be a 2-D matrix .* found shape \(3,\)"):
        as_haplotype_matrix(np.zeros(3))
    with pytest.raises(InputError, match=r"only 0 and 1, found the values \[0, 2\]"):
        as_haplotype_matrix(np.array([[0, 2]]))
    with pytest.raises(InputError, match="only 0 and 1, found the value 3"):
        as_haplotype_matrix(np.array([[0, 3]], dtype=np.uint8))
    with pytest.raises(
        InputError, match="same sites, found 3 sites in the real set and 2 in the synthetic set"
    ):
        check_same_sites(np.zeros((2, 3)), np.zeros((2, 2)))


def test_pearson_r_matches_numpy_and_is_nan_when_constant():
    rng = np.random.default_rng(1)
    a, b = rng.random(50), rng.random(50)
    assert pearson_r(a, b) == pytest.approx(np.corrcoef(a, b)[0, 1], abs=1e-12)
    assert math.isnan(pearson_r(np.ones(5), a[:5]))
    assert math.isnan(pearson_r([1.0], [2.0]))


def test_metrics_do_not_import_torch():
    import subprocess
    import sys

    code = "import sys, haplogen.metrics; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_goal_text_and_grade_come_from_the_spec():
    spec = MetricSpec("r", "r", "max", 1.0, (-1.0, 1.0), "a correlation", bands=(0.01, 0.05))
    assert spec.goal_text == "higher (best 1)"
    assert MetricSpec("d", "d", "min", None, (0.0, math.inf), "a distance").goal_text == "lower"
    assert MetricSpec("a", "a", "target", 0.5, (0.0, 1.0), "an accuracy").goal_text == "target 0.5"
    # deviation from the target, compared with (good, fair), bounds included (exact binary fractions)
    wide = MetricSpec("w", "w", "max", 1.0, (-1.0, 1.0), "a correlation", bands=(0.25, 0.5))
    assert [wide.grade(v) for v in (1.0, 0.75, 0.625, 0.5, 0.375, float("nan"), float("inf"), "n/a")] == [
        "good", "good", "fair", "fair", "poor", "", "", ""]
    assert [spec.grade(v) for v in (0.995, 0.97, 0.9)] == ["good", "fair", "poor"]
    assert MetricSpec("d", "d", "min", 0.0, (0.0, math.inf), "no bands").grade(0.0) == ""


def test_importing_the_metrics_registers_no_statistic_and_no_figure_code():
    import subprocess
    import sys

    code = ("import sys, haplogen.metrics, haplogen.statistics, haplogen.evaluation; "
            "from haplogen.metrics import METRICS; print(len(METRICS), 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False"]
