"""Nearest-neighbour statistics at chromosome scale: the subsample size rule and the capped searches.

AATS and the privacy audit cost n_queries x n_references x n_sites multiply-adds per search;
beyond :data:`~haplogen.metrics.aats.NEAREST_NEIGHBOUR_BUDGET` they run on seeded random
subsamples. These tests check the rule itself, that the capped block-wise AATS is the
in-memory statistic on the same draws and both are the slow obvious loops on those draws,
that the capped privacy audit is the loops on the rows it records, and that
``haplogen evaluate --aats-size`` and ``metrics.json`` carry the size. The budget is made tiny
(monkeypatched, or passed) so that 300-SNP simulated sets are capped.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import three_sets

from haplogen.blockwise import adversarial_accuracy as blockwise_aats
from haplogen.errors import InputError
from haplogen.evaluation import evaluate
from haplogen.haplotypes import Haplotypes
from haplogen.metrics.aats import NEAREST_NEIGHBOUR_BUDGET, aats_size, adversarial_accuracy
from haplogen.privacy.audit import privacy_audit


# ---------------------------------------------------------------------------- slow references
def slow_nearest(a: np.ndarray, b: np.ndarray, *, leave_self_out: bool = False) -> list[int]:
    """Hamming distance of each row of a to its nearest row of b, by loops over pairs."""
    out = []
    for i in range(len(a)):
        best = None
        for j in range(len(b)):
            if leave_self_out and i == j:
                continue
            d = int(np.count_nonzero(a[i] != b[j]))
            best = d if best is None else min(best, d)
        out.append(best)
    return out


def slow_aats(real: np.ndarray, syn: np.ndarray) -> dict[str, float]:
    """AATS (ties 1/2) and its strict version (ties 0) of two equal-sized sets, by loops."""
    d_rr = slow_nearest(real, real, leave_self_out=True)
    d_ss = slow_nearest(syn, syn, leave_self_out=True)
    d_rs, d_sr = slow_nearest(real, syn), slow_nearest(syn, real)
    truth = [1.0 if rs > rr else 0.5 if rs == rr else 0.0 for rr, rs in zip(d_rr, d_rs)]
    synth = [1.0 if sr > ss else 0.5 if sr == ss else 0.0 for ss, sr in zip(d_ss, d_sr)]
    return {"aats": (np.mean(truth) + np.mean(synth)) / 2,
            "aats_strict": (np.mean([t == 1.0 for t in truth]) + np.mean([s == 1.0 for s in synth])) / 2}


def slow_auc(positive: list[float], negative: list[float]) -> float:
    total = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in positive for q in negative)
    return total / (len(positive) * len(negative))


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def sets(sim_haplotypes: Haplotypes) -> dict[str, Haplotypes]:
    """sim_haplotypes split by individual: real 150, synthetic 75, holdout 75 individuals (300 sites)."""
    return three_sets(sim_haplotypes, 11)


# ---------------------------------------------------------------------------- the size rule
def test_aats_size_keeps_committed_sizes_whole_and_caps_chromosomes():
    assert NEAREST_NEIGHBOUR_BUDGET == 10**12
    assert aats_size(5008, 5008, 805) == 5008  # the 805-SNP panel: whole
    assert aats_size(10_002, 10_000, 10_000) == 10_000  # the 10,000-SNP benchmarks: whole
    n = aats_size(10_002, 10_000, 100_000)
    assert n == 3162 and n * n * 100_000 <= 10**12 < (n + 1) ** 2 * 100_000
    assert aats_size(10_002, 10_000, 10**6) == 1000
    assert aats_size(10_002, 10_000, 100_000, budget=None) == 10_000
    assert aats_size(50, 40, 300, budget=30 * 30 * 300) == 30
    assert aats_size(50, 40, 300, budget=1) == 2  # never below the smallest AATS
    with pytest.raises(InputError, match="positive number of comparisons"):
        aats_size(50, 40, 300, budget=0)


# ---------------------------------------------------------------------------- capped AATS
def test_capped_blockwise_aats_is_the_in_memory_statistic_and_the_loops_on_the_same_draws(sets, engine):
    real, syn = sets["real"].matrix, sets["syn"].matrix
    size, repeats, seed = 40, 3, 7
    want = adversarial_accuracy(real, syn, n_repeats=repeats, size=size, seed=seed)
    got = blockwise_aats(real, syn, n_repeats=repeats, size=size, seed=seed, engine=engine)
    for key in ("aats", "aats_strict", "aa_truth", "aa_syn", "aats_sd", "size", "n_repeats"):
        assert got[key] == want[key], key
    for key in ("d_rr", "d_rs", "d_ss", "d_sr"):
        assert np.array_equal(got[key], want[key]), key
    # the draws, redone by hand: sorted subsamples without replacement, real then synthetic
    rng = np.random.default_rng(seed)
    slow = []
    for _ in range(repeats):
        r = real[np.sort(rng.choice(len(real), size, replace=False))]
        s = syn[np.sort(rng.choice(len(syn), size, replace=False))]
        slow.append(slow_aats(r, s))
    assert got["aats"] == pytest.approx(np.mean([x["aats"] for x in slow]), abs=1e-12)
    assert got["aats_strict"] == pytest.approx(np.mean([x["aats_strict"] for x in slow]), abs=1e-12)
    assert got["size"] == size and got["n_repeats"] == repeats


def test_blockwise_search_within_a_set_keeps_identical_rows_and_leaves_each_row_out(engine):
    rng = np.random.default_rng(4)
    real = (rng.random((61, 150)) < 0.3).astype(np.uint8)
    syn = (rng.random((61, 150)) < 0.3).astype(np.uint8)
    real[40] = real[3]  # an identical pair in different blocks: distance 0 for both
    syn[10] = syn[11]  # and within one block
    got = blockwise_aats(real, syn, n_repeats=1, engine=engine)  # equal sizes: the whole sets
    assert got["d_rr"].tolist() == slow_nearest(real, real, leave_self_out=True)
    assert got["d_ss"].tolist() == slow_nearest(syn, syn, leave_self_out=True)
    assert got["d_rr"][3] == got["d_rr"][40] == 0 and got["d_ss"][10] == 0


# ---------------------------------------------------------------------------- the statistic and metrics.json
def test_evaluate_caps_aats_by_the_budget_and_records_the_size(sets, monkeypatch):
    import haplogen.statistics.aats as aats_statistic

    real, syn = sets["real"], sets["syn"]
    whole = evaluate(real, {"syn": syn}, statistics=["aats"], aats_repeats=2, seed=3)
    assert whole.provenance["parameters"]["aats"]["syn"] == {"size": 150, "n_repeats": 2,
                                                              "size_rule": "the smaller set, whole"}
    assert whole.metrics["syn"]["aats"] == adversarial_accuracy(real.matrix, syn.matrix, n_repeats=2, seed=3)["aats"]

    monkeypatch.setattr(aats_statistic, "NEAREST_NEIGHBOUR_BUDGET", 40 * 40 * real.n_sites)
    capped = evaluate(real, {"syn": syn}, statistics=["aats"], aats_repeats=2, seed=3)
    record = capped.provenance["parameters"]["aats"]["syn"]
    assert record["size"] == 40 and record["n_repeats"] == 2 and record["size_rule"].startswith("capped from 150")
    want = adversarial_accuracy(real.matrix, syn.matrix, n_repeats=2, size=40, seed=3)
    for key in ("aats", "aats_strict", "aa_truth", "aa_syn"):
        assert capped.metrics["syn"][key] == want[key]
    assert any("mean of 2 random subsamples of 40 real and 40 synthetic haplotypes (capped from 150" in n
               for n in capped.notes)
    assert any("compare it only with AATS at the same size" in n for n in capped.notes)

    # the option overrides the budget: 0 is the whole sets, n is n
    asked = evaluate(real, {"syn": syn}, statistics=["aats"], aats_repeats=2, seed=3, options={"aats": {"size": 0}})
    assert asked.metrics == whole.metrics and asked.provenance["parameters"]["aats"]["syn"]["size"] == 150
    with pytest.raises(InputError, match=r"between 2 and the smaller set's size \(150\), found 151"):
        evaluate(real, {"syn": syn}, statistics=["aats"], options={"aats": {"size": 151}})


def test_cli_aats_size_flag_reaches_metrics_json(sets, tmp_path, capsys):
    from haplogen.cli import main
    from haplogen.io import write_vcf

    write_vcf(sets["real"], tmp_path / "real.vcf.gz")
    write_vcf(sets["syn"], tmp_path / "syn.vcf.gz")
    argv = ["evaluate", "--real", str(tmp_path / "real.vcf.gz"), "--synthetic", str(tmp_path / "syn.vcf.gz"),
            "--statistics", "aats", "--aats-repeats", "2"]
    assert main([*argv, "--aats-size", "30", "-o", str(tmp_path / "mem")]) == 0
    assert main([*argv, "--aats-size", "30", "--blockwise", "on", "--workers", "2", "-o", str(tmp_path / "dask")]) == 0
    mem = json.loads((tmp_path / "mem" / "metrics.json").read_text())
    dask = json.loads((tmp_path / "dask" / "metrics.json").read_text())
    assert mem["provenance"]["parameters"]["aats"]["syn"] == {"size": 30, "n_repeats": 2,
                                                              "size_rule": "as asked (--aats-size)"}
    assert dask["statistics"] == mem["statistics"]
    want = adversarial_accuracy(sets["real"].matrix, sets["syn"].matrix, n_repeats=2, size=30, seed=0)["aats"]
    assert mem["statistics"]["aats"]["values"]["syn"] == want
    capsys.readouterr()
    assert main([*argv, "--aats-size", "151", "-o", str(tmp_path / "big")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("haplogen: error: the AATS subsample size must be 0 (the whole sets) or between 2 "
                              "and the smaller set's size (150), found 151")
    for bad in ("1", "-3"):
        with pytest.raises(SystemExit):
            main([*argv, "--aats-size", bad, "-o", str(tmp_path / "bad")])
        assert f"expected 0 (the whole sets) or a size of at least 2, found {bad}" in capsys.readouterr().err


# ---------------------------------------------------------------------------- the capped privacy audit
@pytest.fixture(scope="module")
def audit_sets(sets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    train, holdout = sets["real"].matrix.copy(), sets["holdout"].matrix.copy()
    syn = sets["syn"].matrix.copy()
    syn[[5, 60, 140]] = train[[8, 100, 250]]  # exact copies, most of them outside any subsample
    syn[20] = train[30]
    syn[20, :3] ^= 1  # a near copy
    return train, holdout, syn


def test_capped_privacy_audit_is_the_loops_on_the_rows_it_records(audit_sets, engine):
    train, holdout, syn = audit_sets
    n_sites = train.shape[1]
    budget = 40 * 40 * n_sites  # subsets of 40; 40 artificial queries per subset, 5 per whole-set search
    audit = privacy_audit(train, holdout, syn, n_repeats=2, seed=5, budget=budget)
    assert (audit["size"], audit["n_syn_queries"], audit["n_syn_copy_queries"]) == (40, 40, 5)
    assert (audit["n_train_queries"], audit["n_holdout_copy_queries"], audit["budget"]) == (5, 5, budget)
    t_sub, h_sub = train[audit["train_subset_index"]], holdout[audit["holdout_subset_index"]]
    syn_q = syn[audit["syn_query_index"]]

    d_t, d_h = slow_nearest(syn_q, t_sub), slow_nearest(syn_q, h_sub)
    share = np.mean([1.0 if a < b else 0.5 if a == b else 0.0 for a, b in zip(d_t, d_h)])
    assert audit["closer_to_train"] == pytest.approx(share, abs=1e-12)
    auc = slow_auc([-d for d in slow_nearest(t_sub, syn_q)], [-d for d in slow_nearest(h_sub, syn_q)])
    assert audit["mia_auc"] == pytest.approx(auc, abs=1e-12)

    # exact copies: every artificial haplotype, whatever was searched
    copies = [i for i in range(len(syn)) if any(np.array_equal(syn[i], t) for t in train)]
    assert audit["exact_copies_train"] == len(copies) >= 3
    assert {r["syn_index"] for r in audit["at_risk"] if r["distance"] == 0} == set(copies)
    # near copies: the recorded queries, against the whole training set
    q = audit["train_query_index"]
    d_tt = [min(int(np.count_nonzero(train[i] != train[j])) for j in range(len(train)) if j != i) for i in q]
    threshold = float(np.percentile(d_tt, 1.0))
    assert audit["near_copy_threshold"] == pytest.approx(threshold)
    d_st = slow_nearest(syn[audit["syn_copy_query_index"]], train)
    assert audit["near_copies"] == sum(d < threshold for d in d_st)
    assert audit["near_copies_share"] == pytest.approx(audit["near_copies"] / 5)
    d_ht = slow_nearest(h_sub[audit["holdout_copy_query_index"]], train)
    assert audit["near_copies_holdout_share"] == pytest.approx(np.mean([d < threshold for d in d_ht]))
    assert len(audit["dist_syn_to_train"]) == 5

    # the block-wise audit draws and computes the same
    dask = privacy_audit(train, holdout, syn, n_repeats=2, seed=5, budget=budget, engine=engine)
    for key in ("privacy_loss", "closer_to_train", "mia_auc", "exact_copies_train", "near_copies",
                "near_copies_holdout_share", "near_copy_threshold"):
        assert dask[key] == audit[key], key
    assert dask["at_risk"] == audit["at_risk"]


def test_audit_within_the_budget_is_unchanged(audit_sets):
    """Small sets are audited whole: the default budget gives the uncapped audit."""
    uncapped = privacy_audit(*audit_sets, n_repeats=2, seed=5, budget=None)
    default = privacy_audit(*audit_sets, n_repeats=2, seed=5)
    assert default["n_syn_queries"] == default["n_syn_copy_queries"] == len(audit_sets[2])
    for key, value in uncapped.items():
        if key in ("verdict", "at_risk", "budget"):
            continue
        if isinstance(value, np.ndarray):
            assert np.array_equal(default[key], value), key
        else:
            assert default[key] == value or (isinstance(value, float) and math.isnan(value)), key
    assert default["at_risk"] == uncapped["at_risk"] and default["verdict"] == uncapped["verdict"]


def test_privacy_statistic_takes_the_size_option_and_says_it(sets):
    ev = evaluate(sets["real"], {"syn": sets["syn"]}, holdout=sets["holdout"], statistics=["privacy"],
                  aats_repeats=1, seed=2, options={"privacy": {"size": 30}})
    audit = ev.privacy["syn"]
    assert audit["size"] == 30 and audit["budget"] is None
    assert ev.provenance["parameters"]["privacy_subsamples"]["syn"]["size"] == 30
    assert any("training and holdout subsets of 30 haplotypes, as asked" in n for n in ev.notes)
    with pytest.raises(InputError, match="0 \\(whole sets\\) or at least 2, found 1"):
        evaluate(sets["real"], {"syn": sets["syn"]}, holdout=sets["holdout"], statistics=["privacy"],
                 options={"privacy": {"size": 1}})
