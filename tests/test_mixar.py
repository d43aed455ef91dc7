"""The mixar family: its likelihood against brute force, its sampler against its likelihood,
early stopping, and conditioning on population (the generic contract is in test_model_contract)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from haplogen.models.mixar import MixAR, MixARConfig


def _trained(x, labels=None, **settings):
    config = MixARConfig(**{"epochs": 3, "n_types": 2, "n_clusters": 3, "window": 2, "block_sites": 3,
                            "batch_size": 16, "init_spread": 1.0, **settings})
    model = MixAR(config, x.shape[1])
    model.fit(x, seed=3, labels=labels)
    return model


def _toy(n=80, n_sites=7, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random((n // 2, n_sites)) < np.linspace(0.1, 0.6, n_sites)
    b = rng.random((n // 2, n_sites)) < np.linspace(0.8, 0.3, n_sites)
    x = np.vstack([a, b]).astype(np.uint8)
    labels = np.array(["A"] * (n // 2) + ["B"] * (n // 2))
    return x, labels


def _all_haplotypes(n_sites):
    return np.array(list(itertools.product([0, 1], repeat=n_sites)), dtype=np.uint8)


def _slow_loglik(model: MixAR, h: np.ndarray, pop: int | None) -> float:
    """log p(h) by the definition: loops over members, ancestry types, blocks and clusters."""
    c = model.config
    W, S = c.window, c.block_sites
    s = 2.0 * h.astype(np.float64) - 1.0
    w = model._weights()
    bias = w["bias"].double().numpy()
    ww = w["window_weights"].double().numpy()
    log_rho = torch.log_softmax(w["cluster_logits"].double(), -1).numpy()
    log_pi = torch.log_softmax(w["type_logits"].double(), -1).numpy()
    if pop is None and model.populations is not None:
        counts = np.array(model.population_counts, dtype=np.float64)
        shares = counts / counts.sum()
        return math.log(sum(shares[p] * math.exp(_slow_loglik(model, h, p)) for p in range(len(shares))))
    p = 0 if pop is None else pop
    members = []
    for m in range(c.n_members):
        per_type = []
        for g in range(c.n_types):
            total = log_pi[m, p, g]
            for k in range(model.n_blocks):
                sites = range(k * S, min((k + 1) * S, model.n_sites))
                terms = []
                for cl in range(c.n_clusters):
                    ll = log_rho[m, g, k, cl]
                    for l in sites:
                        logit = bias[m, l, cl] + sum(ww[m, l, j - 1] * s[l - j] for j in range(1, W + 1) if l - j >= 0)
                        prob = 1.0 / (1.0 + math.exp(-logit))
                        ll += math.log(prob if h[l] else 1.0 - prob)
                    terms.append(ll)
                total += np.logaddexp.reduce(terms)
            per_type.append(total)
        members.append(np.logaddexp.reduce(per_type))
    return float(np.logaddexp.reduce(members) - math.log(c.n_members))


@pytest.mark.parametrize("members", [1, 2])
def test_likelihood_matches_the_definition_and_sums_to_one(members):
    x, labels = _toy()
    model = _trained(x, labels, n_members=members)
    every = _all_haplotypes(x.shape[1])  # all 128 haplotypes of 7 sites
    for pop_name, code in (("A", 0), ("B", 1)):
        ll = model.log_likelihood(every, labels=[pop_name] * len(every))
        assert np.exp(ll).sum() == pytest.approx(1.0, abs=1e-5)
        for i in (0, 5, 77, 127):
            assert ll[i] == pytest.approx(_slow_loglik(model, every[i], code), abs=1e-4)
    marginal = model.log_likelihood(every)
    assert np.exp(marginal).sum() == pytest.approx(1.0, abs=1e-5)
    assert marginal[42] == pytest.approx(_slow_loglik(model, every[42], None), abs=1e-4)


def test_the_sampler_draws_from_the_likelihood():
    x, _ = _toy(n_sites=4)
    model = _trained(x, None, window=2, block_sites=2)
    draws = model.sample(40_000, seed=5)
    codes = draws @ (1 << np.arange(3, -1, -1))
    observed = np.bincount(codes, minlength=16) / len(draws)
    expected = np.exp(model.log_likelihood(_all_haplotypes(4)))
    assert expected.sum() == pytest.approx(1.0, abs=1e-6)
    # binomial standard error of each frequency is at most 0.0025 here: allow 4 of them
    assert np.abs(observed - expected).max() < 0.01


def test_it_learns_beyond_independent_sites(sim_haplotypes):
    """Held-out likelihood of a trained model beats independent sites fitted on the same data."""
    h = sim_haplotypes
    x = h.matrix[:, :120]
    train, test = x[: 2 * (len(x) // 3)], x[2 * (len(x) // 3):]
    model = _trained(train, None, epochs=15, n_clusters=6, n_types=2, window=4, block_sites=8,
                     batch_size=64, learning_rate=0.05, validation_fraction=0.0)
    freq = (train.sum(0) + 0.5) / (len(train) + 1.0)
    independent = (test * np.log(freq) + (1 - test) * np.log1p(-freq)).sum(1).mean()
    assert model.log_likelihood(test).mean() > independent + 0.05 * abs(independent)


def test_early_stopping_releases_the_best_validation_epoch():
    x, _ = _toy(n=120, n_sites=12)
    config = MixARConfig(epochs=200, n_types=2, n_clusters=8, window=3, block_sites=4, batch_size=8,
                         learning_rate=0.3, patience=3, validation_fraction=0.25)
    model = MixAR(config, x.shape[1])
    summary = model.fit(x, seed=1)
    assert summary.stopped_by == "early_stopping"
    best_epoch = model._state["best_epoch"]
    assert summary.epochs_run == best_epoch + config.patience
    val_rows = model._state["val_rows"].numpy()
    # both haplotypes of an individual are on the same side of the validation split
    assert set((val_rows // 2).tolist()).isdisjoint(set((model._state["train_rows"].numpy() // 2).tolist()))
    released = model.log_likelihood(x[val_rows]).mean()
    assert released == pytest.approx(model._state["best_val"], abs=1e-4)


def test_populations_are_drawn_from_their_own_mixture():
    x, labels = _toy(n=200, n_sites=7)
    model = _trained(x, labels, epochs=25, batch_size=32, learning_rate=0.05, validation_fraction=0.0)
    a = model.sample(3000, seed=1, labels="A").mean(0)
    b = model.sample(3000, seed=1, labels="B").mean(0)
    assert np.abs(a - x[labels == "A"].mean(0)).max() < 0.08
    assert np.abs(b - x[labels == "B"].mean(0)).max() < 0.08
    # a haplotype of A is more likely under A than under B
    ll_a = model.log_likelihood(x[:10], labels=["A"] * 10)
    ll_b = model.log_likelihood(x[:10], labels=["B"] * 10)
    assert (ll_a > ll_b).mean() >= 0.9


def test_a_block_longer_than_the_sequence_is_the_whole_sequence():
    x, _ = _toy(n=40, n_sites=7)
    long = _trained(x, None, block_sites=1000)
    exact = _trained(x, None, block_sites=7)
    assert long.n_blocks == exact.n_blocks == 1 and long.block_sites == 7
    every = _all_haplotypes(7)
    assert np.allclose(long.log_likelihood(every), exact.log_likelihood(every), atol=1e-5)
