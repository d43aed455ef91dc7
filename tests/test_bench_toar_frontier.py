"""benchmarks/toar_frontier.py: frequency oracles between the continent's and the population's frequencies."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import load_benchmark
from haplogen.haplotypes import Haplotypes


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("toar_frontier")


@pytest.fixture(scope="module")
def train():
    """Three populations, two of one continent: A (60 haplotypes), B (40), C (20, another continent)."""
    rng = np.random.default_rng(3)
    freq = {"A": np.linspace(0.1, 0.5, 12), "B": np.linspace(0.6, 0.2, 12), "C": np.full(12, 0.9)}
    sizes = {"A": 60, "B": 40, "C": 20}
    x = np.concatenate([(rng.random((n, 12)) < freq[p]).astype(np.uint8) for p, n in sizes.items()])
    h = Haplotypes.from_matrix(x, ploidy=1)
    pops = [p for p, n in sizes.items() for _ in range(n)]
    return h.with_labels({s: (p, "X" if p in "AB" else "Y") for s, p in zip(h.samples, pops)})


def test_counts_follow_the_training_proportions_exactly(bench, train):
    assert bench.population_counts(train, 120) == {"A": 60, "B": 40, "C": 20}
    assert bench.population_counts(train, 7) == {"A": 4, "B": 2, "C": 1}  # 3.5, 2.33, 1.17: A's remainder
    assert sum(bench.population_counts(train, 1001).values()) == 1001


@pytest.mark.parametrize("weight", [0.0, 0.5, 1.0])
def test_oracle_frequencies_lie_between_the_continent_and_the_population(bench, train, weight):
    n = 60_000
    h = bench.oracle_set(train, weight, n, seed=1)
    assert h.n_haplotypes == n
    pops, x = np.asarray(train.population), train.matrix
    continent = x[np.isin(pops, ["A", "B"])].mean(axis=0)
    for pop in ("A", "B"):
        rows = np.asarray(h.population) == pop
        assert rows.sum() == bench.population_counts(train, n)[pop]
        expected = continent + weight * (x[pops == pop].mean(axis=0) - continent)
        # 20,000+ haplotypes: a frequency's standard error is below 0.0036
        assert np.allclose(h.matrix[rows].mean(axis=0), expected, atol=0.015), pop
    assert set(np.asarray(h.super_population)[np.asarray(h.population) == "C"]) == {"Y"}



def test_fidelity_sees_the_blur_of_the_continents_frequencies(bench):
    # two populations of one continent at opposite frequencies: pairs within one differ at few
    # sites, pairs across at most; pulled to the continent's frequencies every pair differs at half
    rng = np.random.default_rng(4)
    freq = {"A": np.full(40, 0.05), "B": np.full(40, 0.95)}
    x = np.concatenate([(rng.random((100, 40)) < f).astype(np.uint8) for f in freq.values()])
    h = Haplotypes.from_matrix(x, ploidy=1)
    train = h.with_labels({s: ("A" if i < 100 else "B", "X") for i, s in enumerate(h.samples)})
    assert bench.fidelity(train, train, seed=1)["pairwise_w1"] == 0.0
    own = bench.fidelity(train, bench.oracle_set(train, 1.0, 2000, seed=2), seed=1)
    blurred = bench.fidelity(train, bench.oracle_set(train, 0.0, 2000, seed=2), seed=1)
    assert own["pairwise_w1"] < 1.0 < 10.0 < blurred["pairwise_w1"]
    # a blurred haplotype lies far from every real one, a real one near its population's
    assert blurred["aa_truth"] > 0.9 and 0.3 < own["aa_truth"] < 0.7
