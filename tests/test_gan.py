"""Tests of the founding paper's GAN: architecture, initialisation, training step, determinism."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from haplogen.models import GAN, GANConfig
from haplogen.models.gan import gan_layer_sizes, postprocess


def _toy(n_haplotypes: int = 100, n_sites: int = 30, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.05, 0.95, n_sites)
    return (rng.random((n_haplotypes, n_sites)) < freq).astype(np.uint8)


def test_parameter_counts_805_snps():
    # the published architecture on the 1000 Genomes 805-SNP data
    model = GAN(GANConfig(), 805)
    assert model.n_parameters() == {"generator": 1_482_431, "discriminator": 432_285}
    assert gan_layer_sizes(805) == ([600, 670, 731, 805], [805, 402, 268, 1])


def test_layers_and_activations():
    model = GAN(GANConfig(), 805)
    kinds = [type(m).__name__ for m in model.generator]
    assert kinds == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear", "Tanh"]
    assert [type(m).__name__ for m in model.discriminator] == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear"]
    assert model.generator[1].negative_slope == 0.01
    assert model.discriminator[3].negative_slope == 0.01


def test_keras_glorot_uniform_init():
    model = GAN(GANConfig(epochs=0), 805)
    model.fit(_toy(64, 805), seed=3)
    for net in (model.generator, model.discriminator):
        for layer in net:
            if isinstance(layer, torch.nn.Linear):
                fan_out, fan_in = layer.weight.shape
                bound = math.sqrt(6 / (fan_in + fan_out))
                w = layer.weight.detach()
                assert float(w.abs().max()) <= bound
                assert float(w.abs().max()) > 0.99 * bound
                # a uniform on (-a, a) has standard deviation a / sqrt(3)
                assert float(w.std()) == pytest.approx(bound / math.sqrt(3), rel=0.05)
                assert torch.count_nonzero(layer.bias) == 0


def test_postprocess_negatives_to_zero_then_round():
    out = torch.tensor([[-0.9, -0.4, 0.0, 0.3, 0.49, 0.51, 0.8, 1.0]])
    assert postprocess(out).tolist() == [[0, 0, 0, 0, 0, 1, 1, 1]]
    assert postprocess(out).dtype == np.uint8


def test_sample_shape_dtype_values():
    x = _toy()
    model = GAN(GANConfig(epochs=1), x.shape[1])
    model.fit(x, seed=1)
    s = model.sample(50, seed=4, batch_size=16)
    assert s.shape == (50, 30) and s.dtype == np.uint8
    assert set(np.unique(s)) <= {0, 1}
    assert np.array_equal(s, model.sample(50, seed=4, batch_size=16))
    assert not np.array_equal(s, model.sample(50, seed=5, batch_size=16))


def test_partial_batch_dropped_and_optimiser_settings():
    x = _toy(100)  # 3 full batches of 32, 4 haplotypes dropped
    model = GAN(GANConfig(epochs=2), x.shape[1])
    model.fit(x, seed=1)
    steps_d = {int(s["step"]) for s in model._opt_d.state.values()}
    steps_g = {int(s["step"]) for s in model._opt_g.state.values()}
    assert steps_d == {2 * 3 * 2} and steps_g == {3 * 2}  # two D steps and one G step per batch
    for opt, lr in ((model._opt_g, 1e-4), (model._opt_d, 8e-4)):
        group = opt.param_groups[0]
        assert group["lr"] == lr and group["betas"] == (0.9, 0.999) and group["eps"] == 1e-7
        assert group["weight_decay"] == 0  # the L2 penalty is a loss term, not decoupled decay
    # the training data were shuffled and jittered once: values in (-0.1, 0] and (0.9, 1]
    data = model._data
    assert data.shape == (100, 30)
    ones = data > 0.5
    assert torch.all(data[ones] > 0.9) and torch.all(data[ones] <= 1.0)
    assert torch.all(data[~ones] > -0.1) and torch.all(data[~ones] <= 0.0)
    assert int(ones.sum()) == int(x.sum())


def _reference_epoch(model: GAN, x: np.ndarray, seed: int) -> dict[str, torch.Tensor]:
    """The published algorithm written out plainly, L2 as explicit loss terms via autograd."""
    ref = GAN(model.config, model.n_sites)
    ref._initialise(torch.from_numpy(x).float(), seed, None)
    G, D = copy.deepcopy(ref.generator), copy.deepcopy(ref.discriminator)
    data = ref._data.clone()
    g = ref._generator  # positioned just after the data preparation, as in fit
    opt_d = torch.optim.Adam(D.parameters(), lr=8e-4, betas=(0.9, 0.999), eps=1e-7)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-7)

    def l2(net):
        return 1e-4 * ((net[0].weight ** 2).sum() + (net[2].weight ** 2).sum())

    for i in range(len(data) // 32):
        real = data[i * 32 : (i + 1) * 32]
        y_real = 1.0 - torch.rand(32, 1, generator=g) * 0.1
        z = torch.randn(32, 600, generator=g)
        fake = G(z).detach()
        for batch, labels in ((real, y_real), (fake, torch.zeros(32, 1))):
            opt_d.zero_grad()
            loss = F.binary_cross_entropy(torch.sigmoid(D(batch)), labels) + l2(D)
            loss.backward()
            opt_d.step()
        opt_g.zero_grad()
        loss = F.binary_cross_entropy(torch.sigmoid(D(G(z))), torch.ones(32, 1)) + l2(G) + l2(D)
        loss.backward()
        opt_g.step()  # only the generator's weights move: the discriminator is frozen
    weights = {f"generator.{k}": v for k, v in G.state_dict().items()}
    weights.update({f"discriminator.{k}": v for k, v in D.state_dict().items()})
    return weights


def test_training_epoch_matches_plain_reference():
    x = _toy(96)
    model = GAN(GANConfig(epochs=1), x.shape[1])
    model.fit(x, seed=9)
    expected = _reference_epoch(model, x, seed=9)
    got = model._weights()
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, rtol=1e-4, atol=1e-6, msg=key)


def test_same_seed_same_weights_and_samples():
    x = _toy()
    a, b = GAN(GANConfig(epochs=2), 30), GAN(GANConfig(epochs=2), 30)
    a.fit(x, seed=5)
    b.fit(x, seed=5)
    for key, value in a._weights().items():
        assert torch.equal(value, b._weights()[key]), key
    assert np.array_equal(a.sample(40, seed=1), b.sample(40, seed=1))
    c = GAN(GANConfig(epochs=2), 30)
    c.fit(x, seed=6)
    assert not torch.equal(a._weights()["generator.0.weight"], c._weights()["generator.0.weight"])


def test_stop_and_resume_gives_identical_weights(tmp_path):
    x = _toy()
    straight = GAN(GANConfig(epochs=4), 30)
    straight.fit(x, seed=2)
    ckpt = tmp_path / "gan.ckpt"
    first = GAN(GANConfig(epochs=4), 30)
    first.fit(x, seed=2, epochs=2, checkpoint_path=ckpt)
    resumed = GAN(GANConfig(epochs=4), 30)
    summary = resumed.fit(x, seed=2, checkpoint_path=ckpt, resume=True)
    assert summary.resumed_from_epoch == 2 and summary.epochs_run == 4
    for key, value in straight._weights().items():
        assert torch.equal(value, resumed._weights()[key]), key
    assert np.array_equal(straight.sample(20, seed=3), resumed.sample(20, seed=3))
