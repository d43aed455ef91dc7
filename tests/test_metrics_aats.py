"""Nearest-neighbour adversarial accuracy against brute-force loops with explicit ties."""

from __future__ import annotations

import numpy as np
import pytest

from haplogen.errors import InputError
from haplogen.metrics import accuracy_from_distances, adversarial_accuracy


def slow_aats(real: np.ndarray, syn: np.ndarray) -> dict[str, float]:
    """AATS by the definition: Python loops over every pair, ties scored separately."""

    def d(u, v):
        return sum(int(p != q) for p, q in zip(u, v))

    def side(own, other):
        score = strict = 0.0
        for k, u in enumerate(own):
            near_own = min(d(u, v) for m, v in enumerate(own) if m != k)
            near_other = min(d(u, v) for v in other)
            if near_other > near_own:
                score, strict = score + 1, strict + 1
            elif near_other == near_own:
                score += 0.5
        return score / len(own), strict / len(own)

    truth, truth_strict = side(real, syn)
    syn_side, syn_strict = side(syn, real)
    return {"aa_truth": truth, "aa_syn": syn_side, "aats": (truth + syn_side) / 2,
            "aa_truth_strict": truth_strict, "aa_syn_strict": syn_strict,
            "aats_strict": (truth_strict + syn_strict) / 2}


def test_constructed_ties():
    # d(R0,R1) = d(S0,S1) = 2 and each real point has a synthetic point at distance 2 too:
    # every comparison is a tie, so AATS is 1/2 with ties counting 1/2 and 0 when strict.
    real = np.array([[0, 0, 0, 0], [1, 1, 0, 0]], dtype=np.uint8)
    syn = np.array([[0, 0, 1, 1], [1, 1, 1, 1]], dtype=np.uint8)
    out = adversarial_accuracy(real, syn)
    assert out["aats"] == 0.5 and out["aa_truth"] == 0.5 and out["aa_syn"] == 0.5
    assert out["aats_strict"] == 0.0
    assert out["d_rr"].tolist() == [2, 2] and out["d_rs"].tolist() == [2, 2]
    assert out["n_repeats"] == 1 and out["size"] == 2


def test_against_brute_force_on_a_small_set():
    rng = np.random.default_rng(9)
    real = (rng.random((25, 12)) < 0.4).astype(np.uint8)
    syn = (rng.random((25, 12)) < 0.5).astype(np.uint8)
    syn[3] = real[7]  # a copy
    out = adversarial_accuracy(real, syn)
    expected = slow_aats(real, syn)
    for key, value in expected.items():
        assert out[key] == pytest.approx(value, abs=1e-12), key
    assert out["aats"] > out["aats_strict"]  # ties happen at 12 sites
    for block in (1, 4, 10):
        assert adversarial_accuracy(real, syn, block_size=block)["aats"] == out["aats"]


def test_subsampling_repeats_against_brute_force():
    rng = np.random.default_rng(10)
    real = (rng.random((30, 10)) < 0.4).astype(np.uint8)
    syn = (rng.random((20, 10)) < 0.4).astype(np.uint8)
    out = adversarial_accuracy(real, syn, n_repeats=3, seed=5)
    assert out["size"] == 20 and out["n_repeats"] == 3
    # rebuild the same subsamples: seeded generator, sorted draws without replacement
    gen = np.random.default_rng(5)
    values = []
    for _ in range(3):
        r = real[np.sort(gen.choice(30, 20, replace=False))]
        values.append(slow_aats(r, syn))
    assert out["aats"] == pytest.approx(np.mean([v["aats"] for v in values]), abs=1e-12)
    assert out["aats_sd"] == pytest.approx(np.std([v["aats"] for v in values], ddof=1), abs=1e-12)
    assert out["aa_syn_strict"] == pytest.approx(np.mean([v["aa_syn_strict"] for v in values]), abs=1e-12)
    assert out["d_rr"].shape == (20,) and out["d_rr"].dtype == np.int32


def test_halves_copies_and_noise(sim_pair):
    real, syn = sim_pair[0].matrix, sim_pair[1].matrix
    halves = adversarial_accuracy(real, syn, n_repeats=2)
    assert abs(halves["aats"] - 0.5) < 0.06
    copied = adversarial_accuracy(real, real.copy(), n_repeats=1)
    assert copied["aa_truth"] < 0.1 and copied["aats"] < 0.3  # every real point has a twin at 0
    rng = np.random.default_rng(1)
    noise = (rng.random(syn.shape) < syn.mean(axis=0)).astype(np.uint8)  # right frequencies, no LD
    # real haplotypes sit nearer each other than near any LD-free noise haplotype
    assert adversarial_accuracy(real, noise, n_repeats=1)["aa_truth"] > 0.9


def test_accuracy_from_distances_and_errors():
    out = accuracy_from_distances([1, 2], [2, 2], [3, 1], [1, 1])
    assert out["aa_truth"] == 0.75 and out["aa_truth_strict"] == 0.5
    assert out["aa_syn"] == 0.25 and out["aa_syn_strict"] == 0.0
    x = np.zeros((5, 3), dtype=np.uint8)
    with pytest.raises(InputError, match=r"between 2 and the smaller set's size \(4\), found 5"):
        adversarial_accuracy(x, x[:4], size=5)
    with pytest.raises(InputError, match="needs at least 2 synthetic haplotypes, found 1"):
        adversarial_accuracy(x, x[:1])
