"""Tests of the privacy audit against slow, obvious re-implementations and on simulated data."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from haplogen.errors import InputError
from haplogen.haplotypes import Haplotypes
from haplogen.privacy import PRIVACY_METRICS, PrivacyThresholds, nearest_with_index, privacy_audit, privacy_verdict
from haplogen.simulate import SimulationConfig, simulate_haplotypes


# ---------------------------------------------------------------------------- slow references
def slow_hamming(a: np.ndarray, b: np.ndarray) -> int:
    return int(sum(int(x) != int(y) for x, y in zip(a, b)))


def slow_nearest(a: np.ndarray, b: np.ndarray, exclude: list[int] | None = None) -> tuple[list[int], list[int]]:
    distances, indices = [], []
    for i, row in enumerate(a):
        best, best_j = None, None
        for j, other in enumerate(b):
            if exclude is not None and exclude[i] == j:
                continue
            d = slow_hamming(row, other)
            if best is None or d < best:
                best, best_j = d, j
        distances.append(best)
        indices.append(best_j)
    return distances, indices


def slow_aats(real: np.ndarray, syn: np.ndarray) -> float:
    """Yale et al. 2020 AATS with ties counted 1/2, by loops over all haplotypes."""
    n = len(real)
    d_rr, _ = slow_nearest(real, real, exclude=list(range(n)))
    d_rs, _ = slow_nearest(real, syn)
    d_ss, _ = slow_nearest(syn, syn, exclude=list(range(len(syn))))
    d_sr, _ = slow_nearest(syn, real)
    truth = np.mean([1.0 if rs > rr else 0.5 if rs == rr else 0.0 for rr, rs in zip(d_rr, d_rs)])
    synth = np.mean([1.0 if sr > ss else 0.5 if sr == ss else 0.0 for ss, sr in zip(d_ss, d_sr)])
    return (truth + synth) / 2


def slow_auc(positive: list[float], negative: list[float]) -> float:
    """Probability that a random positive scores above a random negative (ties 1/2)."""
    total = 0.0
    for p in positive:
        for q in negative:
            total += 1.0 if p > q else 0.5 if p == q else 0.0
    return total / (len(positive) * len(negative))


@pytest.fixture(scope="module")
def small_sets() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random 0/1 sets with a few planted copies: 30 train, 12 holdout, 12 synthetic x 25 sites."""
    rng = np.random.default_rng(5)
    train = (rng.random((30, 25)) < 0.3).astype(np.uint8)
    holdout = (rng.random((12, 25)) < 0.3).astype(np.uint8)
    syn = (rng.random((12, 25)) < 0.3).astype(np.uint8)
    syn[0] = train[3]  # an exact copy
    syn[1] = train[7]
    syn[1, :2] ^= 1  # a near copy (2 sites changed)
    syn[2] = holdout[4]  # a copy of an unseen haplotype
    return train, holdout, syn


# ---------------------------------------------------------------------------- helpers
def test_nearest_with_index_matches_loops(small_sets):
    train, holdout, syn = small_sets
    distance, index = nearest_with_index(syn, train, block_size=5)
    slow_d, _ = slow_nearest(syn, train)
    assert distance.tolist() == slow_d
    # the index points at a row at that distance
    assert [slow_hamming(syn[i], train[j]) for i, j in enumerate(index)] == slow_d


def test_nearest_with_index_leaves_self_out(small_sets):
    train = small_sets[0]
    rows = np.array([0, 5, 9, 29])
    distance, index = nearest_with_index(train[rows], train, self_index=rows, block_size=3)
    slow_d, _ = slow_nearest(train[rows], train, exclude=rows.tolist())
    assert distance.tolist() == slow_d
    assert not np.any(index == rows)


# ---------------------------------------------------------------------------- the audit
def test_audit_matches_slow_implementation(small_sets):
    train, holdout, syn = small_sets
    audit = privacy_audit(train, holdout, syn, n_repeats=2, seed=3)
    t_idx, h_idx = audit["train_subset_index"], audit["holdout_subset_index"]
    size = min(len(train), len(holdout), len(syn))
    assert audit["size"] == size == len(t_idx) == len(h_idx)
    assert len(set(t_idx.tolist())) == size and len(set(h_idx.tolist())) == size

    # closer-to-train share, ties 1/2
    d_t, _ = slow_nearest(syn, train[t_idx])
    d_h, _ = slow_nearest(syn, holdout[h_idx])
    expected = np.mean([1.0 if a < b else 0.5 if a == b else 0.0 for a, b in zip(d_t, d_h)])
    assert audit["closer_to_train"] == pytest.approx(expected, abs=1e-12)
    assert audit["closer_to_train_strict"] == pytest.approx(np.mean([a < b for a, b in zip(d_t, d_h)]), abs=1e-12)

    # membership inference AUC: members score higher when nearer to a synthetic haplotype
    d_train_syn, _ = slow_nearest(train[t_idx], syn)
    d_holdout_syn, _ = slow_nearest(holdout[h_idx], syn)
    auc = slow_auc([-d for d in d_train_syn], [-d for d in d_holdout_syn])
    assert audit["mia_auc"] == pytest.approx(auc, abs=1e-12)
    assert audit["roc_fpr"][0] == 0 and audit["roc_tpr"][-1] == 1
    assert np.trapezoid(audit["roc_tpr"], audit["roc_fpr"]) == pytest.approx(auc, abs=1e-12)

    # exact copies, against the whole training and holdout sets
    exact_train = sum(any(np.array_equal(s, t) for t in train) for s in syn)
    exact_holdout = sum(any(np.array_equal(s, h) for h in holdout) for s in syn)
    assert audit["exact_copies_train"] == exact_train == 1
    assert audit["exact_copies_holdout"] == exact_holdout >= 1

    # near copies: below the 1st percentile of leave-one-out train distances
    q = audit["train_query_index"].tolist()
    assert q == list(range(len(train)))  # small set: every training haplotype is a query
    d_tt, _ = slow_nearest(train, train, exclude=q)
    threshold = float(np.percentile(d_tt, 1.0))
    assert audit["near_copy_threshold"] == pytest.approx(threshold)
    d_st, i_st = slow_nearest(syn, train)
    near = [i for i, d in enumerate(d_st) if d < threshold]
    assert audit["near_copies"] == len(near)
    assert audit["near_copies_share"] == pytest.approx(len(near) / len(syn))
    at_risk = sorted({*near, *(i for i, d in enumerate(d_st) if d == 0)}, key=lambda i: (d_st[i], i))
    assert [r["syn_index"] for r in audit["at_risk"]] == at_risk
    assert [r["distance"] for r in audit["at_risk"]] == [d_st[i] for i in at_risk]
    assert audit["at_risk"][0] == {"syn_index": 0, "nearest_train_index": 3, "distance": 0}


def test_privacy_loss_matches_slow_aats_on_equal_sizes():
    # equal sizes: no subsampling, so AATS is computed on the whole sets
    rng = np.random.default_rng(8)
    train, holdout, syn = ((rng.random((14, 20)) < 0.4).astype(np.uint8) for _ in range(3))
    syn[:5] = train[:5]
    audit = privacy_audit(train, holdout, syn, n_repeats=3, seed=0)
    assert audit["aats_train"] == pytest.approx(slow_aats(train, syn), abs=1e-12)
    assert audit["aats_holdout"] == pytest.approx(slow_aats(holdout, syn), abs=1e-12)
    assert audit["privacy_loss"] == pytest.approx(slow_aats(holdout, syn) - slow_aats(train, syn), abs=1e-12)
    assert audit["privacy_loss"] > 0


def test_audit_is_deterministic(small_sets):
    a = privacy_audit(*small_sets, n_repeats=2, seed=9)
    b = privacy_audit(*small_sets, n_repeats=2, seed=9)
    for key in ("privacy_loss", "closer_to_train", "mia_auc", "near_copies", "at_risk"):
        assert a[key] == b[key]
    assert np.array_equal(a["train_subset_index"], b["train_subset_index"])


def test_audit_accepts_haplotypes_objects(small_sets):
    train, holdout, syn = small_sets
    from_objects = privacy_audit(Haplotypes.from_matrix(train), Haplotypes.from_matrix(holdout),
                                 Haplotypes.from_matrix(syn), n_repeats=1, seed=1)
    from_arrays = privacy_audit(train, holdout, syn, n_repeats=1, seed=1)
    assert from_objects["mia_auc"] == from_arrays["mia_auc"]


# ---------------------------------------------------------------------------- on simulated data
@pytest.fixture(scope="module")
def simulated_split() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1,800 simulated haplotypes x 500 SNPs split by individual: train 900, other 450, holdout 450."""
    h = simulate_haplotypes(
        SimulationConfig(individuals_per_population=300, sequence_length=5_000_000, min_maf=0.01, max_sites=500),
        seed=21,
    )
    samples = np.random.default_rng(4).permutation(h.samples)
    return (
        h.select_samples(samples[:450]).matrix,
        h.select_samples(samples[450:675]).matrix,
        h.select_samples(samples[675:]).matrix,
    )


def test_disjoint_set_from_the_same_population_passes(simulated_split):
    train, other, holdout = simulated_split
    audit = privacy_audit(train, holdout, other, n_repeats=3, seed=0)
    assert audit["verdict"]["status"] == "pass", audit["verdict"]["reasons"]
    assert abs(audit["privacy_loss"]) < 0.05
    assert abs(audit["closer_to_train"] - 0.5) < 0.05
    assert abs(audit["mia_auc"] - 0.5) < 0.05
    assert audit["exact_copies_train"] <= audit["exact_copies_allowed"]


def test_copies_of_training_haplotypes_fail(simulated_split):
    train, other, holdout = simulated_split
    rng = np.random.default_rng(2)
    copies = train[rng.choice(len(train), size=len(holdout), replace=False)]
    audit = privacy_audit(train, holdout, copies, n_repeats=3, seed=0)
    assert audit["verdict"]["status"] == "fail"
    assert audit["exact_copies_train"] == len(copies)
    assert audit["privacy_loss"] > 0.1  # AATS(train) collapses, AATS(holdout) does not
    assert audit["mia_auc"] > 0.6
    assert audit["closer_to_train"] > 0.6
    checks = audit["verdict"]["checks"]
    assert checks["exact_copies_train"]["status"] == "fail"
    assert checks["mia_auc"]["status"] == "fail"
    assert len(audit["at_risk"]) >= len(copies) and audit["at_risk"][0]["distance"] == 0
    assert any("Exact copies" in reason for reason in audit["verdict"]["reasons"])


def test_a_few_memorised_haplotypes_are_caught_by_exact_copies(simulated_split):
    train, other, holdout = simulated_split
    leaky = other.copy()
    # on these sites some haplotypes are common: plant copies of training haplotypes that no
    # holdout or other haplotype shares
    keys = {row.tobytes() for row in np.concatenate([holdout, other])}
    private = [i for i in range(len(train)) if train[i].tobytes() not in keys]
    leaky[: 60] = train[private[:60]]
    audit = privacy_audit(train, holdout, leaky, n_repeats=2, seed=0)
    assert audit["exact_copies_train"] > audit["exact_copies_allowed"]
    assert audit["verdict"]["checks"]["exact_copies_train"]["status"] == "fail"


# ---------------------------------------------------------------------------- the verdict
def _audit_values(**overrides):
    values = {"privacy_loss": 0.0, "closer_to_train": 0.5, "mia_auc": 0.5, "exact_copies_train": 0,
              "exact_copies_allowed": 0, "holdout_copy_rate": 0.0, "near_copies": 0, "near_copies_share": 0.0,
              "near_copies_holdout_share": 0.0, "size": 10_000, "n_syn": 10_000}
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "key", "status"),
    [
        ({}, "privacy_loss", "pass"),
        ({"privacy_loss": 0.04}, "privacy_loss", "pass"),
        ({"privacy_loss": -0.07}, "privacy_loss", "warn"),
        ({"privacy_loss": 0.2}, "privacy_loss", "fail"),
        ({"closer_to_train": 0.58}, "closer_to_train", "warn"),
        ({"closer_to_train": 0.38}, "closer_to_train", "fail"),
        ({"mia_auc": 0.54}, "mia_auc", "pass"),
        ({"mia_auc": 0.65}, "mia_auc", "fail"),
        ({"exact_copies_train": 1}, "exact_copies_train", "fail"),
        ({"near_copies": 50, "near_copies_share": 0.005}, "near_copies", "pass"),
        ({"near_copies": 200, "near_copies_share": 0.02}, "near_copies", "warn"),
        ({"near_copies": 900, "near_copies_share": 0.09}, "near_copies", "fail"),
        # at or below the held-out real haplotypes' own share: no closer to donors than unseen people
        ({"near_copies": 130, "near_copies_share": 0.013, "near_copies_holdout_share": 0.015}, "near_copies", "pass"),
        ({"near_copies": 200, "near_copies_share": 0.02, "near_copies_holdout_share": 0.015}, "near_copies", "warn"),
        ({"near_copies": 400, "near_copies_share": 0.04, "near_copies_holdout_share": 0.015}, "near_copies", "fail"),
        # small sets: a deviation within two null standard errors is noise and passes
        ({"privacy_loss": 0.12, "size": 50, "n_syn": 50}, "privacy_loss", "pass"),
        ({"closer_to_train": 0.62, "size": 100, "n_syn": 100}, "closer_to_train", "warn"),
    ],
)
def test_verdict_grades_each_check(overrides, key, status):
    verdict = privacy_verdict(_audit_values(**overrides), PrivacyThresholds())
    assert verdict["checks"][key]["status"] == status
    order = ["pass", "warn", "fail"]
    assert verdict["status"] == max((c["status"] for c in verdict["checks"].values()), key=order.index)
    assert (verdict["reasons"] == []) == (verdict["status"] == "pass")
    assert set(verdict["checks"]) == set(PRIVACY_METRICS)


def test_noise_allowance_can_be_disabled():
    values = _audit_values(privacy_loss=0.12, size=50, n_syn=50)
    verdict = privacy_verdict(values, PrivacyThresholds(noise_factor=0))
    assert verdict["checks"]["privacy_loss"]["status"] == "fail"
    assert verdict["thresholds"]["noise_factor"] == 0


# ---------------------------------------------------------------------------- errors
def test_sets_with_different_sites_are_refused(small_sets):
    train, holdout, syn = small_sets
    with pytest.raises(InputError, match=r"the artificial set has 24 sites, the training set has 25; audit"):
        privacy_audit(train, holdout, syn[:, :24])
    with pytest.raises(InputError, match=r"the holdout set has 1 haplotypes; the privacy audit needs at least 2"):
        privacy_audit(train, holdout[:1], syn)
    with pytest.raises(InputError, match=r"the artificial haplotypes must be a 2-D matrix "
                                         r"\(n_haplotypes, n_sites\), found shape \(25,\)"):
        privacy_audit(train, holdout, syn[0])
    with pytest.raises(InputError, match=r"the training haplotypes must hold only 0 and 1, found the value 2"):
        privacy_audit(train * 2, holdout, syn)


def test_inconsistent_thresholds_are_refused():
    with pytest.raises(InputError, match=r"expected 0 <= pass <= warn, found pass=0.2 and warn=0.1"):
        PrivacyThresholds(mia_auc_pass=0.2, mia_auc_warn=0.1)


def test_privacy_and_report_modules_never_import_torch():
    code = (
        "import sys; import haplogen.privacy, haplogen.evaluation, haplogen.report.html; "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_nearest_membership_gives_the_audits_closer_to_train_and_membership_auc():
    from haplogen.privacy.audit import nearest_membership

    rng = np.random.default_rng(11)
    train = rng.integers(0, 2, size=(40, 50), dtype=np.uint8)
    holdout = rng.integers(0, 2, size=(40, 50), dtype=np.uint8)
    syn = np.vstack([train[:15] ^ (rng.random((15, 50)) < 0.05), rng.integers(0, 2, size=(25, 50))]).astype(np.uint8)
    audit = privacy_audit(train, holdout, syn, size=40, budget=None, seed=1)  # subsets of 40: the whole sets
    got = nearest_membership(train, holdout, syn)
    assert got["closer_to_train"] == pytest.approx(audit["closer_to_train"], abs=1e-12)
    assert got["closer_to_train_strict"] == pytest.approx(audit["closer_to_train_strict"], abs=1e-12)
    assert got["mia_auc"] == pytest.approx(audit["mia_auc"], abs=1e-12)
    # the near copies of training haplotypes show, beside the unrelated artificial haplotypes alone
    assert got["closer_to_train"] > nearest_membership(train, holdout, syn[15:])["closer_to_train"]
