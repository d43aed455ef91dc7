"""Tests of the restricted Boltzmann machine: maths against brute force, learning, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from haplogen.errors import InputError, ModelError
from haplogen.models import RBM, RBMConfig

SMALL = dict(n_hidden=16, batch_size=50, n_chains=50, sample_burn_in=20, epochs=4)


def _toy(n_haplotypes: int = 120, n_sites: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.05, 0.95, n_sites)
    return (rng.random((n_haplotypes, n_sites)) < freq).astype(np.uint8)


def _random_rbm(n_sites: int, n_hidden: int, seed: int) -> RBM:
    g = torch.Generator().manual_seed(seed)
    model = RBM(RBMConfig(n_hidden=n_hidden), n_sites)
    model._set_weights(
        {
            "W": torch.randn(n_sites, n_hidden, generator=g),
            "b": torch.randn(n_sites, generator=g),
            "c": torch.randn(n_hidden, generator=g),
            "mu": torch.rand(n_sites, generator=g),
            "lam": torch.rand(n_hidden, generator=g),
            "chains": torch.zeros(model.config.n_chains, n_sites),
        }
    )
    return model


def _energy(model: RBM, v: torch.Tensor, h: torch.Tensor) -> float:
    """The centred energy E(v, h) = -(v-mu).b - (h-lam).c - (v-mu)^T W (h-lam), written out."""
    vc, hc = v - model.mu, h - model.lam
    return float(-(vc @ model.b) - (hc @ model.c) - vc @ model.W @ hc)


def test_free_energy_matches_brute_force_sum_over_hidden_states():
    model = _random_rbm(4, 3, seed=1)
    for v_bits in itertools.product([0.0, 1.0], repeat=4):
        v = torch.tensor(v_bits)
        total = sum(
            np.exp(-_energy(model, v, torch.tensor(h_bits))) for h_bits in itertools.product([0.0, 1.0], repeat=3)
        )
        assert float(model.free_energy(v[None])[0]) == pytest.approx(-np.log(total), rel=1e-5, abs=1e-5)


def test_conditionals_match_brute_force():
    model = _random_rbm(3, 2, seed=2)
    v = torch.tensor([1.0, 0.0, 1.0])
    # p(h_0 = 1 | v) from the joint energies of all hidden states
    weights = {
        h: np.exp(-_energy(model, v, torch.tensor(h, dtype=torch.float32)))
        for h in itertools.product([0.0, 1.0], repeat=2)
    }
    p_h0 = sum(w for h, w in weights.items() if h[0] == 1) / sum(weights.values())
    assert float(model._hidden_prob(v[None])[0, 0]) == pytest.approx(p_h0, rel=1e-5)
    h = torch.tensor([0.0, 1.0])
    weights_v = {
        vb: np.exp(-_energy(model, torch.tensor(vb, dtype=torch.float32), h))
        for vb in itertools.product([0.0, 1.0], repeat=3)
    }
    p_v2 = sum(w for vb, w in weights_v.items() if vb[2] == 1) / sum(weights_v.values())
    assert float(model._visible_prob(h[None])[0, 2]) == pytest.approx(p_v2, rel=1e-5)


def test_hidden_offset_update_keeps_the_distribution():
    # moving lam with b += W (lam' - lam) must leave every free-energy difference unchanged
    model = _random_rbm(5, 4, seed=3)
    v = torch.tensor(list(itertools.product([0.0, 1.0], repeat=5)))
    before = model.free_energy(v)
    new_lam = torch.rand(4, generator=torch.Generator().manual_seed(4))
    model.b = model.b + model.W @ (new_lam - model.lam)
    model.lam = new_lam
    after = model.free_energy(v)
    torch.testing.assert_close(after - after[0], before - before[0], rtol=1e-4, atol=1e-4)


def _pair_correlations(m: np.ndarray) -> np.ndarray:
    """Correlation of every pair of sites (upper triangle), 0 where a site is monomorphic."""
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.nan_to_num(np.corrcoef(m.T.astype(float)))
    return c[np.triu_indices(m.shape[1], 1)]


def test_learns_the_correlations_between_sites(sim_haplotypes):
    # The untrained RBM already draws every site at its allele frequency (its visible biases
    # start at the log-odds), so frequencies cannot tell a trained model from an untrained one:
    # the correlations between sites (LD and population structure) can.
    x = sim_haplotypes.matrix
    real = _pair_correlations(x)
    settings = dict(n_hidden=32, batch_size=50, chain_batch=50, n_chains=200, learning_rate=0.1, sample_burn_in=50)
    scores = {}
    for epochs in (0, 20):
        model = RBM(RBMConfig(**settings, epochs=epochs), x.shape[1])
        model.fit(x, seed=1)
        s = model.sample(600, seed=2)
        assert np.corrcoef(x.mean(0), s.mean(0))[0, 1] > 0.95  # frequencies: right either way
        scores[epochs] = np.corrcoef(real, _pair_correlations(s))[0, 1]
    # measured: 0.00 untrained, 0.47 after 20 epochs
    assert abs(scores[0]) < 0.1
    assert scores[20] > 0.35


def test_sample_shape_dtype_and_values():
    x = _toy()
    model = RBM(RBMConfig(**SMALL), x.shape[1])
    model.fit(x, seed=1)
    s = model.sample(70, seed=3, batch_size=32)
    assert s.shape == (70, 20) and s.dtype == np.uint8
    assert set(np.unique(s)) <= {0, 1}
    assert model.sample(0, seed=1).shape == (0, 20)
    several = RBM(RBMConfig(**SMALL, samples_per_chain=3, sample_thinning=2), x.shape[1])
    several.fit(x, seed=1)
    assert several.sample(70, seed=3, batch_size=32).shape == (70, 20)
    fresh = RBM(RBMConfig(**SMALL, sample_start="frequencies"), x.shape[1])
    fresh.fit(x, seed=1)
    assert fresh.sample(70, seed=3).shape == (70, 20)


def test_same_seed_same_weights_and_samples():
    x = _toy()
    a, b, c = (RBM(RBMConfig(**SMALL), 20) for _ in range(3))
    a.fit(x, seed=5)
    b.fit(x, seed=5)
    c.fit(x, seed=6)
    for key, value in a._weights().items():
        assert torch.equal(value, b._weights()[key]), key
    assert not torch.equal(a.W, c.W)
    assert np.array_equal(a.sample(30, seed=1), b.sample(30, seed=1))
    assert not np.array_equal(a.sample(30, seed=1), a.sample(30, seed=2))


def test_stop_and_resume_gives_identical_weights(tmp_path):
    x = _toy()
    straight = RBM(RBMConfig(**SMALL), 20)
    straight.fit(x, seed=2)
    ckpt = tmp_path / "rbm.ckpt"
    RBM(RBMConfig(**SMALL), 20).fit(x, seed=2, epochs=2, checkpoint_path=ckpt)
    resumed = RBM(RBMConfig(**SMALL), 20)
    summary = resumed.fit(x, seed=2, checkpoint_path=ckpt, resume=True)
    assert summary.resumed_from_epoch == 2 and summary.epochs_run == 4
    for key, value in straight._weights().items():
        assert torch.equal(value, resumed._weights()[key]), key
    assert np.array_equal(straight.sample(25, seed=3), resumed.sample(25, seed=3))


def test_learning_rate_schedule_depends_on_epoch_only():
    model = RBM(RBMConfig(learning_rate=0.01, lr_halflife_epochs=10, lr_min=0.001), 5)
    assert model.learning_rate_at(0) == pytest.approx(0.01)
    assert model.learning_rate_at(10) == pytest.approx(0.005)
    assert model.learning_rate_at(1000) == pytest.approx(0.001)


def test_config_validation():
    with pytest.raises(InputError, match="the RBM setting n_hidden must be an integer >= 1, found 0"):
        RBMConfig(n_hidden=0)
    with pytest.raises(InputError, match="setting learning_rate must be a number > 0, found -0.01"):
        RBMConfig(learning_rate=-0.01)
    with pytest.raises(InputError, match="setting momentum must be a number >= 0 and < 1, found 1.0"):
        RBMConfig(momentum=1.0)
    with pytest.raises(InputError, match="setting sample_start must be one of 'persistent', 'frequencies', found 'data'"):
        RBMConfig(sample_start="data")


def test_a_huge_learning_rate_stops_training_with_a_clear_error(tmp_path):
    from haplogen.models.training import TrainingDiverged

    x = _toy()
    ckpt = tmp_path / "rbm.ckpt"
    model = RBM(RBMConfig(**{**SMALL, "learning_rate": 1e12, "epochs": 20}), x.shape[1])
    # measured with this seed: the weights overflow in epoch 2
    with pytest.raises(TrainingDiverged, match=r"training diverged at epoch 2 \(non-finite values in the weight W\): lower learning_rate \(now 1000000000000.0\) with --set; the last good checkpoint, of epoch 1, is kept") as info:
        model.fit(x, seed=1, checkpoint_path=ckpt, checkpoint_every_s=0.0)
    assert info.value.last_good_epoch == 1 and info.value.checkpoint_path == str(ckpt)
    assert RBM.load(ckpt)[0].epochs_trained == 1  # the checkpoint on disk is a good one
    with pytest.raises(ModelError, match="refusing to write .* the weight 'W' holds non-finite values"):
        model.save(tmp_path / "model.pt")
    assert not (tmp_path / "model.pt").exists() and not list(tmp_path.glob("*.part"))
