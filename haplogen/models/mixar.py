"""Ancestry mixture of autoregressive haplotype models: exact likelihood, population-conditional, cost linear in SNPs.

The model (``--model mixar``) is a hierarchical latent-class model whose classes emit
haplotypes autoregressively. With ``L`` sites cut into ``K`` consecutive blocks of
``block_sites`` sites, a haplotype ``x`` (0/1, length ``L``) of population ``p`` is drawn as

1. an *ancestry type* ``g ~ Categorical(π_p)``, one of ``n_types`` (``G``): the population
   structure, shared by the whole haplotype (long-range LD between any two sites, even on
   different chromosomes, flows through ``g``);
2. for each block ``k``, a *local cluster* ``c_k ~ Categorical(ρ_{g,k})``, one of ``n_clusters``
   (``C``): the local haplotype background. Clusters switch between blocks, so an admixed
   haplotype can carry one ancestry here and another there;
3. each site in turn, ``x_l ~ Bernoulli(σ(a_l))`` with the logit

       a_l = b_{l, c_k(l)} + Σ_{j=1..W} w_{l,j} (2 x_{l-j} - 1)

   a cluster-specific intercept plus a logistic regression on the ``window`` (``W``) sites
   before it: the short-range LD within and across block boundaries.

Likelihood. Given the ancestry type and the clusters the sites are independent Bernoullis
(the window only looks at observed sites), so

    log p(x | p) = logsumexp_g [ log π_{p,g} + Σ_k logsumexp_c ( log ρ_{g,k,c} + Σ_{l∈k} log p(x_l | c, x_{l-W:l}) ) ]

is exact and costs ``O(L (C + W) + K G C)`` per haplotype: linear in the number of sites. No
sequential recursion is needed, so a mini-batch's likelihood and its gradient are a few
vectorised tensor operations (training time per epoch is linear in sites × haplotypes).
Sampling is ancestral: ``g``, then ``c_k``, then the sites left to right (linear too).

Ensemble. With ``n_members`` = M > 1 the model is an equal-weight mixture of M such models,
each trained on its own from its own random start: ``p(x) = (1/M) Σ_m p_m(x)``, still exact.
Averaging members that ended in different local optima of the likelihood lowers the variance of
the estimate (the held-out likelihood rises) at M times the cost.

Without population labels ``π`` is a single distribution; with labels (``train --labels``)
each population has its own ``π_p`` over shared ancestry types, so a population's haplotypes
are drawn from its own mixture (``generate --population YRI``), and the marginal likelihood of
an unlabelled haplotype sums over populations with their training shares.

Training maximises the log-likelihood with Adam on mini-batches, with a Gaussian prior (an L2
penalty of strength ``weight_decay`` against the summed log-likelihood) on the window weights
and on the spread of the cluster intercepts around their site mean.
A share of the training *individuals* (``validation_fraction``; both haplotypes of an
individual, taken as consecutive rows, stay on one side) is held out as a validation set; the
weights of the epoch with the best validation log-likelihood are the ones released, and
training stops when ``patience`` epochs bring no improvement (early stopping): the released
model is the last one before it began to fit the training haplotypes better than unseen ones.

Related models: fastPHASE's haplotype-cluster HMM (Scheet & Stephens 2006) and ADMIXTURE-style
ancestry mixtures are the ancestors of steps 1-2; step 3 is a fully visible sigmoid belief
net restricted to a sliding window. GPC (Anand et al. 2026) reaches long-range LD with a
latent Chow-Liu tree instead of a global ancestry type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError
from .base import GenerativeModel, ValidationEarlyStopping
from .config import ModelConfig, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Range

__all__ = ["MixARConfig", "MixAR"]

FAMILY = "mixar"


@dataclass(frozen=True)
class MixARConfig(ModelConfig):
    """Hyper-parameters of :class:`MixAR` (defaults chosen on the 1000 Genomes 805-SNP panel and a
    simulated 10,000-SNP region; see benchmarks/README.md)."""

    # an upper bound: early stopping ends most runs far sooner (the 805-SNP panel: ~60-100 epochs)
    epochs: NonNegativeInt = 400
    # ancestry types G: at least as many as the populations of a typical panel (26 in 1000
    # Genomes), so that each population can have types of its own; on the 805-SNP panel 8 and 32
    # types give the same held-out likelihood, but sampling by population is sharper with 32
    # (train-on-artificial accuracy 0.37 against 0.25; benchmarks/README.md)
    n_types: PositiveInt = 32
    # local clusters C per block: haplotype backgrounds within a block
    n_clusters: PositiveInt = 16
    # sites W before each site that its logit regresses on (short-range LD)
    window: Annotated[int, Range(ge=0)] = 16
    # sites per block (clusters are redrawn at each block): short enough for local ancestry to
    # change along an admixed haplotype (16 beat 32 by ~1 nat per haplotype on the 805-SNP panel)
    block_sites: PositiveInt = 16
    learning_rate: PositiveFloat = 0.02
    batch_size: PositiveInt = 256
    # strength λ of the Gaussian prior (an L2 penalty λ ||θ||²) on the window weights and the
    # cluster-intercept spread, against the summed log-likelihood of the training haplotypes: per
    # haplotype it weighs λ / n_train, so that small panels are regularised more (0.36: 1e-4 per
    # haplotype on the ~3,600 training haplotypes of the 805-SNP panel, where it was chosen)
    weight_decay: NonNegativeFloat = 0.36
    # share of training individuals held out to choose the epoch and stop early (0: none)
    validation_fraction: Annotated[float, Range(ge=0, lt=1)] = 0.1
    # epochs without a better validation log-likelihood before training stops
    patience: PositiveInt = 15
    # scale of the random initial spread of the cluster intercepts (logit units)
    init_spread: NonNegativeFloat = 0.5
    # independently trained members averaged into one model (an ensemble; M x the cost)
    n_members: PositiveInt = 1
    # haplotypes x members x sites x clusters computed at once; a mini-batch larger than this is
    # computed in chunks whose gradients add up (bounds memory on long sequences)
    chunk_elements: PositiveInt = 2**25


#: small settings that make the contract tests fast
TEST_SETTINGS = {
    "epochs": 3,
    "n_types": 2,
    "n_clusters": 3,
    "window": 3,
    "block_sites": 5,
    "batch_size": 16,
    "patience": 2,
    "validation_fraction": 0.2,
    "n_members": 2,
}


class MixAR(ValidationEarlyStopping, GenerativeModel):
    """Ancestry mixture of windowed autoregressive haplotype models (see the module docstring).

    Parameters
    ----------
    config : MixARConfig
    n_sites
        Number of sites.
    """

    name = FAMILY
    Config = MixARConfig
    conditional = True
    tractable = True

    def __init__(self, config: MixARConfig, n_sites: int) -> None:
        super().__init__(config, n_sites)
        c = config
        M, L, C, G, W = c.n_members, self.n_sites, c.n_clusters, c.n_types, c.window
        # a block longer than the sequence is the whole sequence (no padding to compute)
        self.block_sites = min(c.block_sites, L)
        self.n_blocks = math.ceil(L / self.block_sites)
        P = max(1, len(self.populations or ()))
        dev = self.device
        self.bias = torch.zeros(M, L, C, device=dev)  # (M, L, C) cluster intercepts b_{l,c}
        self.window_weights = torch.zeros(M, L, W, device=dev)  # (M, L, W) w_{l,j}, j = 1..W back
        self.cluster_logits = torch.zeros(M, G, self.n_blocks, C, device=dev)  # (M, G, K, C) log ρ + const
        self.type_logits = torch.zeros(M, P, G, device=dev)  # (M, P, G) log π + const
        self._state: dict[str, Any] = {}

    # ---------------------------------------------------------------- maths
    def _params(self) -> list[torch.Tensor]:
        return [self.bias, self.window_weights, self.cluster_logits, self.type_logits]

    def _window_context(self, x: torch.Tensor) -> torch.Tensor:
        """Σ_j w_{l,j} s_{l-j} for every member and site: (B, M, L) from x (B, L); s = 2x - 1, 0 before site 0."""
        W = self.config.window
        if W == 0:
            return x.new_zeros(x.shape[0], self.config.n_members, self.n_sites)
        s = 2.0 * x - 1.0
        padded = F.pad(s, (W, 0))  # (B, L + W)
        # column l of the unfolded view holds s_{l-W..l-1}; flip so that index j-1 is s_{l-j}
        win = padded.unfold(1, W, 1)[:, : self.n_sites, :].flip(-1)  # (B, L, W)
        return torch.einsum("blw,mlw->bml", win, self.window_weights)

    def _member_loglik(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """log p_m(x | population) of every member: (B, M); the marginal over populations when ``labels`` is None."""
        c = self.config
        logit = self.bias.unsqueeze(0) + self._window_context(x).unsqueeze(-1)  # (B, M, L, C)
        site = x[:, None, :, None] * logit - F.softplus(logit)  # (B, M, L, C) log Bernoulli
        B, M, L, C = site.shape
        pad = self.n_blocks * self.block_sites - L
        if pad:
            site = F.pad(site, (0, 0, 0, pad))  # zero log-probability for the padding sites
        block = site.reshape(B, M, self.n_blocks, self.block_sites, C).sum(3)  # (B, M, K, C)
        log_rho = torch.log_softmax(self.cluster_logits, dim=-1)  # (M, G, K, C)
        per_type = torch.logsumexp(block.unsqueeze(2) + log_rho.unsqueeze(0), dim=-1).sum(-1)  # (B, M, G)
        log_pi = torch.log_softmax(self.type_logits, dim=-1)  # (M, P, G)
        if labels is not None:
            return torch.logsumexp(per_type + log_pi[:, labels].transpose(0, 1), dim=-1)  # (B, M)
        per_pop = torch.logsumexp(per_type.unsqueeze(2) + log_pi.unsqueeze(0), dim=-1)  # (B, M, P)
        if per_pop.shape[2] == 1:
            return per_pop[:, :, 0]
        counts = torch.tensor(self.population_counts, dtype=per_pop.dtype, device=per_pop.device)
        return torch.logsumexp(per_pop + torch.log(counts / counts.sum()), dim=-1)

    def _loglik(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """log p(x | population) of the ensemble, (B,): the mean of the members' likelihoods."""
        members = self._member_loglik(x, labels)
        return torch.logsumexp(members, dim=1) - math.log(members.shape[1])

    def _penalty(self) -> torch.Tensor:
        spread = self.bias - self.bias.mean(dim=2, keepdim=True)
        return self.window_weights.pow(2).sum() + spread.pow(2).sum()

    def _chunk_rows(self) -> int:
        c = self.config
        per_row = c.n_members * self.n_sites * max(c.n_clusters, c.window, 1)
        return max(1, c.chunk_elements // per_row)

    # ---------------------------------------------------------------- hooks
    def _initialise(self, x: torch.Tensor, seed: int, labels: torch.Tensor | None) -> None:
        c = self.config
        generator = self._new_generator(seed)
        n = x.shape[0]
        # validation individuals: both haplotypes of an individual (consecutive rows) on one side
        train_rows, val_rows = self._validation_split(n, c.validation_fraction, generator)
        train = x[train_rows]
        freq = ((train.sum(0) + 0.5) / (train.shape[0] + 1.0)).clamp(1e-3, 1 - 1e-3)  # (L,)
        logodds = torch.log(freq) - torch.log1p(-freq)
        M = c.n_members
        noise = torch.randn(M, self.n_sites, c.n_clusters, generator=generator, device=self.device)
        self.bias = (logodds.view(1, -1, 1) + c.init_spread * noise).contiguous()
        self.window_weights = torch.zeros(M, self.n_sites, c.window, device=self.device)
        self.cluster_logits = 0.1 * torch.randn(
            M, c.n_types, self.n_blocks, c.n_clusters, generator=generator, device=self.device
        )
        self.type_logits = torch.zeros_like(self.type_logits)
        for p in self._params():
            p.requires_grad_(True)
        self._optimizer = torch.optim.Adam(self._params(), lr=c.learning_rate)
        self._x = x
        self._labels = labels
        self._generator = generator
        self._stopping_start(train_rows, val_rows)

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        c = self.config
        rows = self._state["train_rows"]
        perm = rows[torch.randperm(rows.numel(), generator=self._generator, device=self.device)]
        chunk = self._chunk_rows()
        total, count = 0.0, 0
        for start in range(0, perm.numel(), c.batch_size):
            idx = perm[start:start + c.batch_size]
            self._optimizer.zero_grad(set_to_none=True)
            # every member learns on its own: the loss is the sum of the members' mean negative
            # log-likelihoods (their parameters are disjoint), computed in chunks of rows whose
            # gradients add up, plus the L2 penalty
            for lo in range(0, idx.numel(), chunk):
                part = idx[lo:lo + chunk]
                lb = None if self._labels is None else self._labels[part]
                members = self._member_loglik(self._x[part], lb)  # (b, M)
                loss = -members.sum() / idx.numel()
                loss.backward()
                with torch.no_grad():
                    total += float((torch.logsumexp(members, 1) - math.log(members.shape[1])).sum())
            (c.weight_decay / max(rows.numel(), 1) * self._penalty()).backward()
            self._optimizer.step()
            count += idx.numel()
        losses = {"nll_train": -total / max(count, 1) / self.n_sites}
        val_rows = self._state["val_rows"]
        if val_rows.numel():
            with torch.no_grad():
                val = self._mean_loglik(self._x[val_rows], None if self._labels is None else self._labels[val_rows])
            self._record_validation(val, epoch, losses)
        return losses

    def _mean_loglik(self, x: torch.Tensor, labels: torch.Tensor | None) -> float:
        return float(self._log_likelihood(x, labels).mean()) if x.shape[0] else 0.0

    def _weights(self) -> dict[str, torch.Tensor]:
        return {
            "bias": self.bias.detach(),
            "window_weights": self.window_weights.detach(),
            "cluster_logits": self.cluster_logits.detach(),
            "type_logits": self.type_logits.detach(),
        }

    def _set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        for key in ("bias", "window_weights", "cluster_logits", "type_logits"):
            current = getattr(self, key)
            if current.requires_grad:
                with torch.no_grad():
                    current.copy_(weights[key])
            else:
                setattr(self, key, weights[key].to(device=self.device, dtype=torch.float32).clone())

    def _training_state(self) -> dict[str, Any]:
        return {
            "optimizer": self._optimizer.state_dict(),
            "generator": self._generator.get_state(),
            **self._stopping_checkpoint(),
        }

    def _restore_training_state(
        self, state: dict[str, Any], x: torch.Tensor, seed: int, labels: torch.Tensor | None
    ) -> None:
        for p in self._params():
            p.requires_grad_(True)
        self._optimizer = torch.optim.Adam(self._params(), lr=self.config.learning_rate)
        self._optimizer.load_state_dict(state["optimizer"])
        self._generator = self._restore_generator(state["generator"], seed)
        self._x = x
        self._labels = labels
        self._stopping_restore(state)

    def _log_likelihood(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        step = self._chunk_rows()
        return torch.cat([
            self._loglik(x[i:i + step], None if labels is None else labels[i:i + step]).double()
            for i in range(0, x.shape[0], step)
        ]) if x.shape[0] else torch.zeros(0, dtype=torch.float64, device=self.device)

    def _sample(
        self, n: int, generator: torch.Generator, batch_size: int, labels: torch.Tensor | None
    ) -> torch.Tensor:
        c = self.config
        M, L, W, S = c.n_members, self.n_sites, c.window, self.block_sites
        out = torch.empty(n, L, dtype=torch.uint8, device=self.device)
        if n == 0:
            return out
        pi = torch.softmax(self.type_logits.detach(), dim=-1)  # (M, P, G)
        rho = torch.softmax(self.cluster_logits.detach(), dim=-1)  # (M, G, K, C)
        block_of_site = torch.arange(L, device=self.device) // S
        pops = labels if labels is not None else torch.zeros(n, dtype=torch.int64, device=self.device)
        # each haplotype comes from one member, drawn uniformly
        member = torch.randint(M, (n,), generator=generator, device=self.device)
        for m in range(M):
            rows = torch.nonzero(member == m).flatten()
            bias = self.bias[m].detach()  # (L, C)
            ww = self.window_weights[m].detach().flip(1)  # (L, W), oldest site first
            for start in range(0, rows.numel(), batch_size):
                sel = rows[start:start + batch_size]
                k = sel.numel()
                g = torch.multinomial(pi[m, pops[sel]], 1, generator=generator).squeeze(1)  # (k,)
                probs = rho[m, g].reshape(k * self.n_blocks, c.n_clusters)
                clusters = torch.multinomial(probs, 1, generator=generator).reshape(k, self.n_blocks)  # (k, K)
                site_cluster = clusters[:, block_of_site]  # (k, L)
                intercept = bias[torch.arange(L, device=self.device), site_cluster]  # (k, L): b_{l, c_k(l)}
                u = torch.rand(k, L, generator=generator, device=self.device)  # one uniform per site
                spins = torch.zeros(k, L + W, device=self.device)  # 2x - 1, with W zeros in front
                for l in range(L):
                    logit = intercept[:, l]
                    if W:
                        # spins[:, l : l + W] holds s_{l-W..l-1}
                        logit = logit + spins[:, l:l + W] @ ww[l]
                    spins[:, l + W] = torch.where(u[:, l] < torch.sigmoid(logit), 1.0, -1.0)
                out[sel] = (spins[:, W:] > 0).to(torch.uint8)
        return out
