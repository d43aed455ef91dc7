"""Bernoulli-Bernoulli restricted Boltzmann machine, trained by persistent contrastive divergence.

The second model of the founding paper (Yelmen et al. 2021, PLOS Genetics 17(2): e1009303).
Visible units are the alleles of the ``n_sites`` sites, hidden units are binary. haplogen uses
the *centred* energy of Melchior, Fischer and Wiskott (2016, JMLR 17:99), which describes the
same family of distributions as the plain RBM but trains far more stably on data with strong
structure, such as haplotypes of several populations::

    E(v, h) = - (v - mu) . b - (h - lam) . c - (v - mu)^T W (h - lam)
              v: (n_sites,)  h: (n_hidden,)  mu: allele frequencies  lam: mean hidden activation

The distribution over haplotypes is p(v) ~ exp(-F(v)) with the free energy
``F(v) = - (v - mu) . (b - W lam) + lam . c - sum_j softplus(c_j + ((v - mu)^T W)_j)``. Both
conditionals factorise, ``p(h_j = 1 | v) = sigmoid(c_j + ((v - mu)^T W)_j)`` and
``p(v_i = 1 | h) = sigmoid(b_i + (W (h - lam))_i)``, so Gibbs sampling alternates two matrix
products. ``mu`` is fixed at the data's allele frequencies; ``lam`` follows a running mean of
the hidden activations on the data, and every move of ``lam`` shifts ``b`` by
``W (lam' - lam)`` so that the distribution does not change.

Training follows the gradient of the log-likelihood,
``<(v - mu)(h - lam)^T>_data - <(v - mu)(h - lam)^T>_model`` (and the mean differences for the
biases), with SGD, momentum, weight decay and a learning rate halving every
``lr_halflife_epochs`` epochs down to ``lr_min``. The model term is estimated by persistent
contrastive divergence (PCD, Tieleman 2008): a pool of ``n_chains`` Gibbs chains lives through
the whole training; each update advances a block of ``chain_batch`` of them by ``k`` Gibbs
steps, the blocks taken in turn, and uses them as the model's samples. A large pool keeps many
independent chains alive for the cost of a small block.

Sampling starts ``n`` chains from the final states of the pool (states of the model, not
training haplotypes; chain ``i`` starts from pool state ``i mod n_chains``, so that up to
``n_chains`` haplotypes each come from their own chain), runs ``sample_burn_in`` more Gibbs
steps and keeps one state per chain (``samples_per_chain`` states ``sample_thinning`` steps
apart when asked for). Starting from the pool matters: the data's populations are separate
modes that Gibbs chains rarely cross, and the pool holds them in the proportions the model
gives them, which fresh chains started at random do not find (``sample_start="frequencies"``
keeps that option for comparison).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F

from .base import GenerativeModel
from .config import ModelConfig, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Range, UnitInterval

__all__ = ["RBMConfig", "RBM"]

#: the family's name (``--model rbm``), found by haplogen.models.registry
FAMILY = "rbm"


@dataclass(frozen=True)
class RBMConfig(ModelConfig):
    """Hyper-parameters of :class:`RBM` (defaults tuned on the 1000 Genomes 805-SNP data)."""

    n_hidden: PositiveInt = 500  # hidden units; the founding paper used 500 (1,000 did no better here)
    learning_rate: PositiveFloat = 0.01  # initial SGD step; the paper's value
    lr_halflife_epochs: PositiveFloat = 250.0  # the step halves every this many epochs ...
    lr_min: NonNegativeFloat = 0.0005  # ... down to this floor (a function of the epoch index only)
    batch_size: PositiveInt = 500  # data haplotypes per update
    # full passes over the data: about 2 minutes for 5,008 x 805 on 2 cores (benchmarks/
    # rbm_1000g.py; the paper ran 800 epochs); the learning rate has decayed 12-fold by the end
    epochs: NonNegativeInt = 900
    # persistent Gibbs chains (a pool); as many as the haplotypes usually drawn, so that each
    # sampled haplotype starts from its own chain
    n_chains: PositiveInt = 5000
    chain_batch: PositiveInt = 500  # chains of the pool advanced and used per update, in turn
    k: PositiveInt = 1  # Gibbs steps a block of chains advances per update (PCD-1; PCD-5 did no better)
    weight_decay: NonNegativeFloat = 1e-4  # L2 penalty on W, added to its gradient
    momentum: Annotated[float, Range(ge=0, lt=1)] = 0.5  # classical momentum of the SGD updates
    offset_rate: UnitInterval = 0.01  # step of the running mean that gives the hidden offsets
    init_std: NonNegativeFloat = 0.01  # standard deviation of the initial weights (Hinton's guide)
    # Gibbs steps from the pool state to a chain's first kept state when sampling; longer runs
    # drift slowly away from the data's allele frequencies (AF r 0.999 at 0-200 steps, 0.995 at 500)
    sample_burn_in: NonNegativeInt = 200
    sample_thinning: PositiveInt = 10  # Gibbs steps between kept states of one chain
    samples_per_chain: PositiveInt = 1  # states kept per chain; 1 = every haplotype from its own chain
    # where sampling chains start: "persistent" (the final persistent chains of training, in
    # turn) or "frequencies" (independent draws at the data's allele frequencies)
    sample_start: Literal["persistent", "frequencies"] = "persistent"


#: small settings that make the contract tests (tests/test_model_contract.py) fast
TEST_SETTINGS = {"n_hidden": 8, "batch_size": 40, "n_chains": 40, "chain_batch": 40, "sample_burn_in": 5, "epochs": 3}


class RBM(GenerativeModel):
    """Restricted Boltzmann machine of haplotypes (see the module docstring).

    Attributes
    ----------
    W : Tensor, shape (n_sites, n_hidden)
        Visible-hidden weights.
    b : Tensor, shape (n_sites,)
        Visible biases.
    c : Tensor, shape (n_hidden,)
        Hidden biases.
    mu : Tensor, shape (n_sites,)
        Visible offsets (the training data's allele frequencies).
    lam : Tensor, shape (n_hidden,)
        Hidden offsets.
    """

    name: ClassVar[str] = "rbm"
    Config: ClassVar[type] = RBMConfig

    def __init__(self, config: RBMConfig, n_sites: int) -> None:
        super().__init__(config, n_sites)
        h = config.n_hidden
        d = self.device
        self.W = torch.zeros(n_sites, h, device=d)  # (n_sites, n_hidden)
        self.b = torch.zeros(n_sites, device=d)  # (n_sites,)
        self.c = torch.zeros(h, device=d)  # (n_hidden,)
        self.mu = torch.zeros(n_sites, device=d)  # (n_sites,) visible offsets: the data's allele frequencies
        self.lam = torch.full((h,), 0.5, device=d)  # (n_hidden,) hidden offsets: running mean of p(h | data)
        self._chains = torch.zeros(config.n_chains, n_sites, device=d)  # (n_chains, n_sites) persistent chains
        self._x: torch.Tensor | None = None

    # ------------------------------------------------------------ the maths
    def _hidden_prob(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.addmm(self.c, v - self.mu, self.W))  # (B, n_hidden)

    def _visible_prob(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.addmm(self.b, h - self.lam, self.W.t()))  # (B, n_sites)

    @staticmethod
    def _bernoulli(p: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return (torch.rand(p.shape, generator=generator, device=p.device) < p).to(p.dtype)

    def _gibbs(self, v: torch.Tensor, steps: int, generator: torch.Generator) -> torch.Tensor:
        """Advance chains in state ``v`` (B, n_sites) by ``steps`` full v -> h -> v sweeps."""
        for _ in range(steps):
            h = self._bernoulli(self._hidden_prob(v), generator)  # (B, n_hidden)
            v = self._bernoulli(self._visible_prob(h), generator)  # (B, n_sites)
        return v

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """Free energy F(v) of each row of ``v`` (B, n_sites); returns (B,)."""
        vc = v - self.mu  # (B, n_sites)
        hidden = F.softplus(torch.addmm(self.c, vc, self.W)).sum(dim=1)  # (B,)
        return -(vc @ (self.b - self.W @ self.lam)) + self.lam @ self.c - hidden

    def learning_rate_at(self, epoch: int) -> float:
        """SGD step of epoch ``epoch`` (0-based): exponential decay with a floor."""
        cfg = self.config
        return max(cfg.learning_rate * 0.5 ** (epoch / cfg.lr_halflife_epochs), cfg.lr_min)

    # ---------------------------------------------------------------- hooks
    def _initialise(self, x: torch.Tensor, seed: int, labels: torch.Tensor | None) -> None:
        cfg = self.config
        d = self.device
        self._x = x
        self._generator = self._new_generator(seed)
        g = self._generator
        self.W = torch.randn(self.n_sites, cfg.n_hidden, generator=g, device=d) * cfg.init_std
        # visible biases at the log-odds of the allele frequencies, so that the untrained model
        # already draws each site at its frequency (clipped away from 0 and 1 for fixed sites)
        freq = x.mean(dim=0).clamp(1.0 / (2 * x.shape[0]), 1 - 1.0 / (2 * x.shape[0]))
        self.b = torch.log(freq / (1 - freq))
        self.c = torch.zeros(cfg.n_hidden, device=d)
        self.mu = freq.clone()
        self.lam = torch.full((cfg.n_hidden,), 0.5, device=d)
        self._vW = torch.zeros_like(self.W)  # momentum buffers
        self._vb = torch.zeros_like(self.b)
        self._vc = torch.zeros_like(self.c)
        # persistent chains start from independent draws at the data frequencies
        self._chains = self._bernoulli(freq.expand(cfg.n_chains, -1), g)  # (n_chains, n_sites)

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        cfg = self.config
        x = self._x
        g = self._generator
        lr = self.learning_rate_at(epoch)
        order = torch.randperm(x.shape[0], generator=g, device=self.device)
        fe_data = 0.0
        fe_gap = 0.0
        n_batches = 0
        updates_per_epoch = math.ceil(x.shape[0] / cfg.batch_size)
        block = min(cfg.chain_batch, cfg.n_chains)
        for start in range(0, x.shape[0], cfg.batch_size):
            # the block of persistent chains of this update: the pool is visited in turn
            first = (epoch * updates_per_epoch + n_batches) * block
            rows = torch.arange(first, first + block, device=self.device) % cfg.n_chains  # (C,)
            v0 = x[order[start : start + cfg.batch_size]]  # (B, n_sites)
            h0 = self._hidden_prob(v0)  # (B, n_hidden)
            vk = self._gibbs(self._chains[rows], cfg.k, g)  # (C, n_sites)
            self._chains[rows] = vk
            hk = self._hidden_prob(vk)  # (C, n_hidden)
            # centred gradient (Melchior et al. 2016): offsets mu, lam make it well conditioned
            grad_W = (v0 - self.mu).t() @ (h0 - self.lam) / v0.shape[0]  # (n_sites, n_hidden)
            grad_W -= (vk - self.mu).t() @ (hk - self.lam) / vk.shape[0]
            grad_b = v0.mean(0) - vk.mean(0)  # (n_sites,)
            grad_c = h0.mean(0) - hk.mean(0)  # (n_hidden,)
            grad_W -= cfg.weight_decay * self.W
            self._vW.mul_(cfg.momentum).add_(grad_W, alpha=lr)
            self._vb.mul_(cfg.momentum).add_(grad_b, alpha=lr)
            self._vc.mul_(cfg.momentum).add_(grad_c, alpha=lr)
            self.W += self._vW
            self.b += self._vb
            self.c += self._vc
            # move the hidden offset towards the data's mean hidden activation, shifting b so
            # that the distribution of the model is unchanged (b - W lam is invariant)
            new_lam = (1 - cfg.offset_rate) * self.lam + cfg.offset_rate * h0.mean(0)  # (n_hidden,)
            self.b += self.W @ (new_lam - self.lam)
            self.lam = new_lam
            if n_batches % 10 == 0:  # cheap monitoring on a tenth of the updates
                f0 = self.free_energy(v0).mean().item()
                fe_data += f0
                fe_gap += f0 - self.free_energy(vk).mean().item()
            n_batches += 1
        monitored = max(math.ceil(n_batches / 10), 1)
        return {"free_energy": fe_data / monitored, "fe_gap": fe_gap / monitored, "lr": lr}

    def _weights(self) -> dict[str, torch.Tensor]:
        return {
            "W": self.W,
            "b": self.b,
            "c": self.c,
            "mu": self.mu,
            "lam": self.lam,
            "chains": self._chains.to(torch.uint8),  # (n_chains, n_sites) 0/1 pool states
        }

    def _set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        self.W = weights["W"].clone()
        self.b = weights["b"].clone()
        self.c = weights["c"].clone()
        self.mu = weights["mu"].clone()
        self.lam = weights["lam"].clone()
        self._chains = weights["chains"].to(torch.float32)

    def _training_state(self) -> dict[str, Any]:
        return {
            "generator": self._generator.get_state(),
            # the persistent chains are saved with the weights (as uint8: they are 0/1 states)
            "vW": self._vW.clone(),
            "vb": self._vb.clone(),
            "vc": self._vc.clone(),
        }

    def _restore_training_state(
        self, state: dict[str, Any], x: torch.Tensor, seed: int, labels: torch.Tensor | None
    ) -> None:
        self._x = x
        self._generator = self._restore_generator(state["generator"], seed)
        self._vW = state["vW"].to(self.device, copy=True)
        self._vb = state["vb"].to(self.device, copy=True)
        self._vc = state["vc"].to(self.device, copy=True)

    def _sample(
        self, n: int, generator: torch.Generator, batch_size: int, labels: torch.Tensor | None
    ) -> np.ndarray:
        cfg = self.config
        per_chain = cfg.samples_per_chain
        out = np.empty((n, self.n_sites), dtype=np.uint8)
        start_prob = self.mu.clamp(0.0, 1.0)  # (n_sites,)
        filled = 0
        chain = 0
        while filled < n:
            n_chains = min(batch_size, math.ceil((n - filled) / per_chain))
            if cfg.sample_start == "persistent":
                # start from the training's persistent chains (states of the model, no data),
                # spread over the modes as the model weighs them
                index = torch.arange(chain, chain + n_chains, device=self.device) % self._chains.shape[0]
                v = self._chains[index]  # (B, n_sites)
            else:  # independent draws at the data's allele frequencies
                v = self._bernoulli(start_prob.expand(n_chains, -1), generator)  # (B, n_sites)
            chain += n_chains
            v = self._gibbs(v, cfg.sample_burn_in, generator)
            for kept in range(per_chain):
                if kept:
                    v = self._gibbs(v, cfg.sample_thinning, generator)
                take = min(n_chains, n - filled)
                out[filled : filled + take] = v[:take].to(torch.uint8).cpu().numpy()
                filled += take
                if filled >= n:
                    break
        return out
