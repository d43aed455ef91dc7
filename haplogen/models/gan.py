"""The generative adversarial network of the founding paper, exactly as published.

Yelmen et al. 2021, "Creating artificial human genomes using generative neural networks",
PLOS Genetics 17(2): e1009303, trained this GAN (Keras) on the 1000 Genomes 805-SNP data; it is
haplogen's reference for speed and quality comparisons. For ``n = n_sites``::

    generator      z ~ N(0, 1)^600 -> Dense(n // 1.2) -> LeakyReLU(0.01)
                                   -> Dense(n // 1.1) -> LeakyReLU(0.01) -> Dense(n), tanh
    discriminator  x -> Dense(n // 2) -> LeakyReLU(0.01) -> Dense(n // 3) -> LeakyReLU(0.01)
                     -> Dense(1), sigmoid

with an L2 penalty ``1e-4 * sum(W**2)`` on the kernels of the four hidden Dense layers (Keras
``kernel_regularizer=l2(1e-4)``), Keras' ``glorot_uniform`` weights and zero biases, binary
cross-entropy, and Adam (generator step 1e-4, discriminator step 8e-4, beta1 0.9, beta2 0.999,
epsilon 1e-7). Training, as in the paper's script:

1. the data are shuffled once and jittered once, ``x - U(0, 0.1)``, before the first epoch;
2. every epoch takes the batches of 32 in that fixed order, dropping the last partial batch;
3. per batch: a latent batch ``z`` gives a fake batch ``G(z)``; the discriminator takes one Adam
   step on the real batch with labels ``1 - U(0, 0.1)`` (fresh per batch), then one on the fake
   batch with labels 0; then the generator takes one step on the same ``z`` with labels 1,
   through the (frozen) discriminator.

Sampling draws ``z ~ N(0, 1)``, sets negative ``tanh`` outputs to 0 and rounds, which gives 0/1.

Two details differ from Keras by construction and not in the algorithm: the sigmoid and the
cross-entropy are fused (``binary_cross_entropy_with_logits``, the stable form that TF Keras
also uses for a sigmoid output), and torch's Adam adds epsilon to ``sqrt(v_hat)`` where Keras
adds it to ``sqrt(v)`` (a difference of ``1e-7 / sqrt(1 - beta2**t)`` in the denominator).
The generator's fake batch is computed once per batch and reused for the generator step: the
generator's weights do not change between the two uses, so this is the same computation as
the paper's second forward pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from .base import GenerativeModel
from .config import ModelConfig, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Range, UnitInterval

__all__ = ["GANConfig", "GAN", "gan_layer_sizes", "postprocess"]

#: the family's name (``--model gan``), found by haplogen.models.registry
FAMILY = "gan"

_Beta = Annotated[float, Range(ge=0, lt=1)]  # an Adam decay rate


@dataclass(frozen=True)
class GANConfig(ModelConfig):
    """Hyper-parameters of :class:`GAN`; the defaults are the published ones except ``epochs``."""

    latent_size: PositiveInt = 600  # dimension of the N(0, 1) latent vector
    generator_lr: PositiveFloat = 1e-4  # Adam step of the generator
    discriminator_lr: PositiveFloat = 8e-4  # Adam step of the discriminator (8x the generator's)
    batch_size: PositiveInt = 32  # last partial batch dropped
    # the paper ran 20,000 epochs (about 35 h at its Keras script's 6.4 s per epoch on 2 cores);
    # 1,000 is a first model in minutes that a user can continue with resume
    epochs: NonNegativeInt = 1000
    l2: NonNegativeFloat = 1e-4  # Keras l2() factor on the kernels of the hidden Dense layers
    leaky_slope: NonNegativeFloat = 0.01  # LeakyReLU negative slope
    label_noise: UnitInterval = 0.1  # real labels are 1 - U(0, label_noise)
    jitter: UnitInterval = 0.1  # training data are x - U(0, jitter), drawn once
    beta1: _Beta = 0.9  # Keras Adam defaults
    beta2: _Beta = 0.999
    adam_eps: PositiveFloat = 1e-7


#: small settings that make the contract tests (tests/test_model_contract.py) fast
TEST_SETTINGS = {"latent_size": 16, "batch_size": 16, "epochs": 2}


def gan_layer_sizes(n_sites: int, latent_size: int = 600) -> tuple[list[int], list[int]]:
    """Widths of the generator and discriminator layers for ``n_sites`` sites.

    Returns
    -------
    generator : list of int
        ``[latent, n // 1.2, n // 1.1, n]``
    discriminator : list of int
        ``[n, n // 2, n // 3, 1]``
    """
    n = int(n_sites)
    # the paper's script divides with Python's float floor division: int(n // 1.2)
    generator = [latent_size, int(n // 1.2), int(n // 1.1), n]
    discriminator = [n, n // 2, n // 3, 1]
    if min(generator + discriminator) < 1:
        raise InputError(f"the GAN needs at least 3 sites to have non-empty layers, found {n}")
    return generator, discriminator


def postprocess(output: torch.Tensor | np.ndarray) -> np.ndarray:
    """Turn generator outputs (tanh, in [-1, 1]) into alleles: negatives to 0, then round.

    Parameters
    ----------
    output : Tensor or ndarray, shape (B, n_sites)

    Returns
    -------
    ndarray of uint8, shape (B, n_sites)
    """
    out = torch.as_tensor(output)
    return torch.round(out.clamp_min(0.0)).to(torch.uint8).cpu().numpy()


def _mlp(widths: list[int], slope: float, final: nn.Module | None) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(nn.LeakyReLU(slope))
    if final is not None:
        layers.append(final)
    return nn.Sequential(*layers)


def _glorot_uniform_(module: nn.Sequential, generator: torch.Generator) -> None:
    """Keras' default Dense init: W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)); biases 0."""
    with torch.no_grad():
        for layer in module:
            if isinstance(layer, nn.Linear):
                fan_out, fan_in = layer.weight.shape
                bound = math.sqrt(6.0 / (fan_in + fan_out))
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.zero_()


class GAN(GenerativeModel):
    """The founding paper's GAN (see the module docstring).

    Attributes
    ----------
    generator : nn.Sequential
        (B, latent_size) -> (B, n_sites), tanh outputs.
    discriminator : nn.Sequential
        (B, n_sites) -> (B, 1) logits (the sigmoid is fused into the loss).
    """

    name: ClassVar[str] = "gan"
    Config: ClassVar[type] = GANConfig

    def __init__(self, config: GANConfig, n_sites: int) -> None:
        super().__init__(config, n_sites)
        g_widths, d_widths = gan_layer_sizes(n_sites, config.latent_size)
        self.generator = _mlp(g_widths, config.leaky_slope, nn.Tanh()).to(self.device)
        self.discriminator = _mlp(d_widths, config.leaky_slope, None).to(self.device)
        # kernels of the hidden Dense layers, which carry the L2 penalty
        self._g_hidden = [self.generator[0].weight, self.generator[2].weight]
        self._d_hidden = [self.discriminator[0].weight, self.discriminator[2].weight]

    def n_parameters(self) -> dict[str, int]:
        """Number of trainable parameters of each network."""
        return {
            "generator": sum(p.numel() for p in self.generator.parameters()),
            "discriminator": sum(p.numel() for p in self.discriminator.parameters()),
        }

    # ---------------------------------------------------------------- hooks
    def _prepare(self, x: torch.Tensor, seed: int) -> None:
        """Initial weights, shuffled and jittered data, optimisers; all from ``seed``."""
        cfg = self.config
        g = self._new_generator(seed)
        _glorot_uniform_(self.generator, g)
        _glorot_uniform_(self.discriminator, g)
        order = torch.randperm(x.shape[0], generator=g, device=self.device)
        jitter = torch.rand(x.shape, generator=g, device=self.device) * cfg.jitter
        self._data = (x[order] - jitter).contiguous()  # (N, n_sites), fixed for the whole run
        self._generator = g
        # fused: one kernel per step for all parameters (same update, less overhead)
        adam = dict(betas=(cfg.beta1, cfg.beta2), eps=cfg.adam_eps, fused=True)
        self._opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.generator_lr, **adam)
        self._opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.discriminator_lr, **adam)

    def _initialise(self, x: torch.Tensor, seed: int, labels: torch.Tensor | None) -> None:
        self._prepare(x, seed)

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        cfg = self.config
        G, D = self.generator, self.discriminator
        g = self._generator
        data = self._data
        bs = cfg.batch_size
        n_batches = data.shape[0] // bs  # the last partial batch is dropped
        d = self.device
        zeros = torch.zeros(bs, 1, device=d)
        ones = torch.ones(bs, 1, device=d)
        l2_grad = 2.0 * cfg.l2  # d/dW of l2 * sum(W**2)
        sum_d = torch.zeros((), device=d)
        sum_g = torch.zeros((), device=d)
        G.train()
        D.train()
        for i in range(n_batches):
            real = data[i * bs : (i + 1) * bs]  # (B, n_sites)
            real_labels = 1.0 - torch.rand(bs, 1, generator=g, device=d) * cfg.label_noise  # (B, 1)
            z = torch.randn(bs, cfg.latent_size, generator=g, device=d)  # (B, latent)
            fake = G(z)  # (B, n_sites), graph kept for the generator step

            # discriminator: one Adam step on the real batch, then one on the fake batch
            D.requires_grad_(True)
            loss_real = F.binary_cross_entropy_with_logits(D(real), real_labels)
            _adam_step(self._opt_d, loss_real, self._d_hidden, l2_grad)
            loss_fake = F.binary_cross_entropy_with_logits(D(fake.detach()), zeros)
            _adam_step(self._opt_d, loss_fake, self._d_hidden, l2_grad)

            # generator: same z, labels 1, gradients through the frozen discriminator
            D.requires_grad_(False)
            loss_g = F.binary_cross_entropy_with_logits(D(fake), ones)
            _adam_step(self._opt_g, loss_g, self._g_hidden, l2_grad)

            sum_d += (loss_real.detach() + loss_fake.detach()) / 2
            sum_g += loss_g.detach()
        D.requires_grad_(True)
        with torch.no_grad():
            reg_d = cfg.l2 * sum(float((w * w).sum()) for w in self._d_hidden)
            reg_g = cfg.l2 * sum(float((w * w).sum()) for w in self._g_hidden)
        n = max(n_batches, 1)
        # reported like Keras' train_on_batch: cross-entropy plus the network's L2 penalty
        return {"loss_d": float(sum_d) / n + reg_d, "loss_g": float(sum_g) / n + reg_g}

    def _weights(self) -> dict[str, torch.Tensor]:
        weights = {f"generator.{k}": v for k, v in self.generator.state_dict().items()}
        weights.update({f"discriminator.{k}": v for k, v in self.discriminator.state_dict().items()})
        return weights

    def _set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        for prefix, net in (("generator.", self.generator), ("discriminator.", self.discriminator)):
            net.load_state_dict({k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)})

    def _training_state(self) -> dict[str, Any]:
        return {
            "generator_state": self._generator.get_state(),
            "opt_g": self._opt_g.state_dict(),
            "opt_d": self._opt_d.state_dict(),
        }

    def _restore_training_state(
        self, state: dict[str, Any], x: torch.Tensor, seed: int, labels: torch.Tensor | None
    ) -> None:
        weights = {k: v.clone() for k, v in self._weights().items()}
        self._prepare(x, seed)  # rebuilds the fixed shuffled, jittered data from the seed
        self._set_weights(weights)  # ... and keeps the checkpoint's weights
        self._opt_g.load_state_dict(state["opt_g"])  # moves the moments to the weights' device
        self._opt_d.load_state_dict(state["opt_d"])
        self._generator = self._restore_generator(state["generator_state"], seed)

    def _sample(
        self, n: int, generator: torch.Generator, batch_size: int, labels: torch.Tensor | None
    ) -> np.ndarray:
        self.generator.eval()
        out = np.empty((n, self.n_sites), dtype=np.uint8)
        for start in range(0, n, batch_size):
            b = min(batch_size, n - start)
            z = torch.randn(b, self.config.latent_size, generator=generator, device=self.device)  # (b, latent)
            out[start : start + b] = postprocess(self.generator(z))  # (b, n_sites)
        return out


def _adam_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, hidden: list, l2_grad: float) -> None:
    """One optimizer step on ``loss`` plus the Keras L2 penalty of the hidden kernels.

    The penalty ``l2 * sum(W**2)`` enters as its gradient ``2 * l2 * W``, added to each hidden
    kernel's gradient before the step (as Keras adds the regulariser to the loss).
    """
    optimizer.zero_grad(set_to_none=False)
    loss.backward()
    for w in hidden:
        w.grad.add_(w.detach(), alpha=l2_grad)
    optimizer.step()
