"""Haplotype-cluster hidden Markov model trained by EM: exact likelihood, population-conditional, cost linear in SNPs.

The model (``--model hmm``) follows a haplotype along its sites as a walk through ``K``
hidden *haplotype clusters* (``n_states``), the way fastPHASE (Scheet & Stephens 2006) and the
Li-Stephens copying model describe a haplotype as a mosaic of ancestral segments:

1. the first site's cluster is drawn from ``π_p`` (the haplotype's population ``p``);
2. between site ``l`` and ``l + 1`` the haplotype keeps its cluster with probability
   ``1 - r_l`` (no recombination in the interval) or *jumps* with probability ``r_l`` to a
   cluster drawn from row ``z_l`` of a jump matrix ``Q_{p,b}`` (``K × K``, shared by the
   ``block_sites`` intervals of block ``b``);
3. each site's allele is a Bernoulli of its cluster's frequency: ``x_l ~ Bernoulli(θ_{l,z_l})``;
   with ``emission_order`` 1, of its cluster's frequency after the allele the haplotype carries
   at the site's *context site* ``c(l) < l``: ``x_l ~ Bernoulli(θ_{l,z_l,x_{c(l)}})``. The
   context site is, among the ``context_window`` sites before ``l``, the one with the most
   mutual information with it given the initial cluster on the training haplotypes (the parent
   a Chow-Liu tree restricted to earlier sites would pick; with a window of 1, the site before).
   A cluster then is not one ancestral haplotype blurred by independent noise but a tree of
   dependencies along its sites, so the sub-lineages within a cluster keep their alleles
   together (a rare allele follows the allele it travels with). With ``emission_order`` 2 the
   allele depends on the alleles at two context sites, ``θ_{l,z,x_{c(l)},x_{c'(l)}}``, the
   second chosen among the same window by its information given the cluster and the first (a
   2-dependence Bayesian network within each cluster). The alleles are observed, so the forward
   recursion, its cost and its exactness are unchanged; only the emission table grows (two or
   four columns instead of one).

So ``P(z_{l+1} = j | z_l = i) = (1 - r_l) δ_ij + r_l Q_{p,b(l)}(i, j)``. Staying in a cluster
copies a haplotype segment: long-range LD along a contiguous region, as long as the segments
real haplotypes share. The jump matrix remembers where a haplotype came from: a jump from a
cluster common in one ancestry lands mostly in clusters of the same ancestry, so population
structure carries across jumps (fastPHASE draws every jump from one distribution and forgets
it). With population labels each population has its own ``π_p`` and ``Q_{p,b}``, drawn toward
the pooled ones by a Dirichlet prior, so ``generate --population YRI`` walks YRI's mosaic.
The clusters' frequencies are shared by the populations, so populations that share clusters
(the five of a continent in one ancestry group) could differ only in how they mix them; with
``population_offsets`` each population also shifts every cluster's log-odds of ALT at a site
by an offset of its own, ``θ_{l,k,p} = σ(logit θ_{l,k} + δ_{l,p})`` (L x P numbers), drawn
toward 0 by a normal prior of variance ``F / (f (1 - f))``: a population drifted by ``F`` from
the pooled frequency ``f`` (Balding-Nichols). The M-step of the offsets is a Newton step on the
expected log-likelihood (its gradient and curvature summed by the E-step per population and site).

Ancestry groups. With ``n_groups`` = G > 1 the clusters are split into G groups of K / G
and every jump matrix is zero between groups (EM keeps a zero a zero), so a haplotype keeps its
group over its whole length: the model is a mixture of G HMMs, the group a latent ancestry held
from the first site to the last (as mixar's ancestry type), the clusters within it a mosaic. The
initial groups are k-means clusters of whole haplotypes; each group's clusters come from k-means
within it. The E-step runs each group's forward-backward recursion on its own, normalised on its
own (a group that fits the start of a haplotype badly may fit its end well), and weighs the
group's statistics by its posterior probability; a step costs ``O(K² / G)``. With
``group_switches`` a jump leaves the group with probability ``σ_p`` (each population's own,
learnt) and lands in a cluster drawn from ``π_p``, so an admixed haplotype is a mosaic of
ancestries along the genome: ``T = (1 - r_l) I + r_l ((1 - σ_p) Q_{p,b} + σ_p 1 π_pᵀ)``. The
groups are then coupled and one recursion runs over all K clusters (a step costs ``O(K²)``);
the E-step splits each expected move into a jump within the group and a switch (whose landings
count toward ``π_p``, with the first site's posterior).

Likelihood. The forward recursion gives the exact ``log p(x | p)``; the likelihood of an
unlabelled haplotype sums over the populations with their training shares. A step costs
``O(K²)``, so a haplotype costs ``O(L K²)``: linear in the number of sites. Sampling walks the
chain left to right (linear too).

Training is expectation-maximisation (Baum-Welch) with conjugate priors: the E-step is the
forward-backward recursion in batches of haplotypes, the M-step is closed form (expected jump
counts for ``r`` and ``Q``, expected allele counts for ``θ``, pulled toward the site's allele
frequency by ``emission_prior``). With ``minibatch`` smaller than the training set, training is
*stepwise* EM (Sato & Ishii 2000, Cappé & Moulines 2009, Liang & Klein 2009): after each
mini-batch of haplotypes the running statistics move toward the mini-batch's (scaled to the
whole set) by a step ``(k + 1) ** -stepwise_decay`` and the M-step follows, so a pass over the
data makes many updates instead of one. On 10,000 SNPs x 9,000 training haplotypes, one pass of
mini-batches of 1,024 reached the validation log-likelihood that three passes of batch EM had
not (0.0398 against 0.0445 nats per site). Given rows streamed from a VCF Zarr store
(:class:`haplogen.io.streamed.StreamedHaplotypes`), each batch's rows are read when it is
needed, so the matrix is never held whole. The forward pass keeps its state only at the start of every
``segment_sites`` sites and recomputes a segment during the backward pass, so memory is
``O(batch × K × (L / segment + segment))``, not ``O(batch × L × K)``. The initial clusters
come from k-means on the training haplotypes (in windows of ``init_window`` sites, or over
the whole sequence when it is 0). A share of the training individuals is held out as a
validation set; the iteration with the best validation log-likelihood is the model released,
and training stops after ``patience`` iterations without improvement.

Related models: fastPHASE (one jump distribution per interval, no memory), Li-Stephens (one
state per reference haplotype, which copies donors: not a model to release), GPC (Anand et al.
2026: latent Chow-Liu trees, the chain here being a fixed tree over the sites in their order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Collection, Iterator

import numpy as np
import torch

from ..errors import InputError, ModelError
from . import distributed as dist
from .base import GenerativeModel, ValidationEarlyStopping
from .config import ModelConfig, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Range

__all__ = ["HaplotypeHMMConfig", "HaplotypeHMM"]

FAMILY = "hmm"


@dataclass(frozen=True)
class HaplotypeHMMConfig(ModelConfig):
    """Hyper-parameters of :class:`HaplotypeHMM` (see benchmarks/README.md for how they were chosen)."""

    # EM iterations, an upper bound: early stopping ends most runs sooner
    epochs: NonNegativeInt = 100
    # hidden haplotype clusters K (a step costs K², or K² / G with n_groups = G). 16 in one group
    # serves data of fewer than GROUPED_FROM haplotypes; from there on a run that sets neither this
    # nor n_groups takes 32 in 4 groups (data_settings). With emissions of order 1 on the 805-SNP
    # panel (GPC's split, context the site before): 16 -389.06 nats per held-out haplotype, 32
    # -390.19, 8 -388.46 but near copies on the demo's data and a worse train-on-artificial
    # accuracy. On a densely typed region (DENSE_SPACING) it takes 48, 96 or 144 in 3 groups, far better there (README)
    n_states: PositiveInt = 16
    # site intervals that share one jump matrix Q (K² numbers per block and population)
    block_sites: PositiveInt = 32
    # Dirichlet pseudo-count of each row of a jump matrix, spread evenly over the K clusters
    transition_prior: NonNegativeFloat = 1.0
    # Beta pseudo-count pulling each cluster's allele frequency toward the site's frequency
    emission_prior: NonNegativeFloat = 1.0
    # pseudo-count pulling each population's jump rows and start distribution toward the pooled ones
    population_prior: NonNegativeFloat = 10.0
    # sites per k-means window of the initial clusters; 0 clusters whole haplotypes
    init_window: NonNegativeInt = 0
    # training haplotypes clustered for the initial clusters (a random subset when more)
    init_haplotypes: PositiveInt = 4000
    # sites a k-means window is clustered on at most (spread evenly over it): bounds its memory
    init_sites: PositiveInt = 2048
    # share of training individuals held out to choose the iteration and stop early (0: none)
    validation_fraction: Annotated[float, Range(ge=0, lt=1)] = 0.1
    # iterations without a better validation log-likelihood before training stops
    patience: PositiveInt = 5
    # haplotypes in one E-step batch (memory: batch × K × (L / segment_sites + segment_sites) floats)
    batch_size: PositiveInt = 1024
    # training haplotypes per parameter update (stepwise EM); 0, or as many as the training set:
    # one update per pass over the data (batch EM). 1,024: on GPC's split of the 805-SNP panel
    # -391.9 nats in 74 s against -392.2 in 112 s for batch EM; on 10,000 SNPs x 9,000 haplotypes
    # one pass reached what three passes of batch EM had not (benchmarks/results/scaling)
    minibatch: NonNegativeInt = 1024
    # stepwise EM's step size after k updates is (k + 1) ** -stepwise_decay (0.5 < decay <= 1)
    stepwise_decay: Annotated[float, Range(gt=0.5, le=1)] = 0.6
    # sites between the forward pass's stored states
    segment_sites: PositiveInt = 256
    # ancestry groups G (a divisor of n_states): the K clusters are split into G groups (K / G each) and a haplotype
    # never jumps from one group to another, so the model is a mixture of G HMMs and a
    # haplotype keeps its group (its ancestry) over its whole length; 1: any cluster can follow any
    n_groups: PositiveInt = 1
    # with n_groups > 1: a jump may also leave the haplotype's ancestry group, with probability σ_p
    # (learnt for each population), landing in a cluster drawn from the population's start
    # distribution π_p: admixed haplotypes are mosaics of ancestries along the genome. A step then
    # costs K² instead of K² / G (one recursion over all clusters). On the 805-SNP panel, two seeds:
    # PC1 W1 0.101-0.103 against 0.131, held-out 0.6973-0.6976 bits per SNP against 0.6975-0.6983,
    # the rest within the seeds' spread (README); off by default for the cost
    group_switches: bool = False
    # what a cluster's allele at a site depends on: 0, the cluster alone (a Bernoulli per cluster and
    # site, as fastPHASE); 1, the cluster and the haplotype's allele at the site's context site
    # (context_window; two Bernoullis per cluster and site), so that the sub-lineages within a
    # cluster keep their alleles together instead of drawing each one anew; 2, the cluster and the
    # alleles at two context sites (four Bernoullis) where the second passes context_significance.
    # Same cost per step. 2 against 1 (32 states, 8 passes): track B validation 0.0241 nats per
    # site against 0.0252 (every second context kept: 0.0240); demo's data 0.3078 against 0.3079;
    # 805 scattered SNPs (GPC's split) -389.66 nats per held-out haplotype against -389.59
    # (every second context kept: -391.05, fitted to noise)
    emission_order: Annotated[int, Range(ge=0, le=2)] = 2
    # pseudo-count pulling each of a cluster's allele frequencies at a site after the alleles at its
    # context sites toward the frequency after one context fewer (after the first context site's
    # allele alone; after none: the cluster's frequency there)
    context_prior: NonNegativeFloat = 1.0
    # emission_order 1: the site a site's emissions depend on (its context site) is, among the
    # context_window sites before it, the one whose allele tells most about its own beyond the
    # initial cluster (conditional mutual information on the training haplotypes, as a Chow-Liu
    # tree picks a parent); 1: the site before. 16: on track B (32 states, 8 passes) validation
    # 0.0252 nats per site against 0.0277 for the site before (unconditional information 0.0253,
    # a window of 64 0.0253); on the demo's data 0.3079 against 0.3077, on the 805 scattered SNPs
    # 0.4809 against 0.4805 (unconditional information: 0.3098 and 0.4806)
    context_window: PositiveInt = 16
    # emission_order 2: a site's second context site is kept only where its information given the
    # cluster and the first context allele passes a G-test of independence at this level
    # (Bonferroni over the window); elsewhere the site has one context site. 1 keeps every one
    context_significance: Annotated[float, Range(gt=0, le=1)] = 0.001
    # with population labels, each population's allele frequencies may differ from the pooled ones
    # by an offset per site, in log-odds, added to every cluster's: θ_{l,k,p} = σ(logit θ_{l,k} + δ_{l,p}).
    # The clusters are shared by the populations of an ancestry group and their mixing weights
    # (π_p, Q_p) cannot carry one population's drift at one site; the offsets can, at L x P numbers.
    # Off by default: on the 805-SNP panel (26 populations in 4 groups), with offset_prior 30, they
    # brought the train-on-artificial accuracy from 0.445 to 0.463-0.481 (two seeds) and pairwise
    # W1 from 1.28 to 1.01-1.09, but the held-out likelihood fell (validation 0.4850 nats per site
    # against 0.4841) and 55-56% of artificial haplotypes were nearer a training haplotype than a
    # held-out one (a privacy warning; 54% without; offset_prior 100: 0.457, 1.07, 54.5%); on the
    # demo's contiguous region (3 populations) they added noise alleles (pairwise W1 1.67 against
    # 0.41, AA truth / syn 0.56 / 0.45 against 0.53 / 0.52). README, "Which model family"
    population_offsets: bool = False
    # how far the offsets are drawn toward 0: a normal prior of variance F / (f (1 - f)) at a site of
    # pooled frequency f, the spread in log-odds of a population drifted by F (Balding-Nichols; a
    # Beta prior of 1 / F haplotypes' worth of the pooled frequency); this is 1 / F
    offset_prior: PositiveFloat = 30.0

    def validate(self) -> None:
        if self.emission_order == 2 and self.context_window < 2:
            raise InputError(
                f"the hmm setting emission_order 2 needs two context sites among the context_window sites "
                f"before a site, but context_window is {self.context_window}; pass --set context_window=16 "
                "(or more), or --set emission_order=1"
            )
        if self.n_states % self.n_groups:
            raise InputError(
                f"the hmm setting n_groups ({self.n_groups}) must divide n_states ({self.n_states}): every "
                f"group has n_states / n_groups clusters; pass --set n_groups=1, or a divisor of {self.n_states}"
            )


#: small settings that make the contract tests fast
TEST_SETTINGS = {
    "epochs": 3,
    "n_states": 3,
    "block_sites": 4,
    "batch_size": 16,
    "minibatch": 24,
    "segment_sites": 5,
    "patience": 2,
    "validation_fraction": 0.2,
    "init_haplotypes": 50,
}

#: training haplotypes from which a run that sets neither n_states nor n_groups trains 32 clusters
#: in 4 ancestry groups (data_settings). At the same cost per step as 16 in one group: on the 805-SNP
#: panel (4,004 haplotypes) PCA W1 0.124 / 0.131 against 0.346 / 0.255, pairwise W1 1.42 against
#: 6.55, LD r 0.994 against 0.988, the same held-out likelihood; on the demo's data (1,200) PCA W1
#: 0.094 / 0.077 against 0.175 / 0.159, AA truth / syn 0.532 / 0.523 against 0.589 / 0.447; on 1,332
#: CEU haplotypes of 10,000 SNPs -257.0 nats per held-out haplotype against -312.8; but on 288
#: haplotypes of 2,000 SNPs it fitted worse (held-out 0.167 bits per SNP against 0.152) and the
#: privacy audit failed (privacy loss 0.143, 61% of artificial haplotypes nearer a training
#: haplotype than a held-out one) where 16 in one group warned (0.106, 60%)
GROUPED_FROM = 1000
#: neighbouring SNPs at most this many bp apart (the median) make a densely typed region, where a
#: run of GROUPED_FROM training haplotypes or more that sets neither n_states nor n_groups takes
#: more clusters (DENSE_STATES, data_settings): a few hundred bp in a sequenced region, 10⁵ bp and
#: more for SNPs scattered over a genome (the 805-SNP panel) or thinned to 100 per 10 Mb (the
#: demo's data)
DENSE_SPACING = 10_000
#: the dense region's choice by the number of training haplotypes (the first tier reached; below
#: the last, 32 in 4 as elsewhere): 25 training haplotypes or more per cluster, fewer overfit the
#: donors. On simulated dense regions (benchmarks/results/dense_default/), 1,200 training
#: haplotypes: 48 in 3 held-out 0.0398 bits per SNP, LD r 0.909, imputation r² 0.671, privacy pass
#: (closer-to-train share 0.536), against 32 in 4's 0.0510, 0.865, 0.574, pass (0.505) and 96 in
#: 3's 0.0311, 0.938, 0.755 with a privacy warning (0.563); 2,400: 96 in 3 0.0282, 0.954, 0.794,
#: pass (0.523) against 48 in 3's 0.0358, 0.934, 0.716, pass (0.537); on the real chr15 region
#: (GPC's split) 96 in 3 -224.3 nats per held-out haplotype against GPC's -265.1 (README). 3,600:
#: on track B (3,996; benchmarks/results/track_b/hmm_k144g3/) 144 in 3 held-out 0.0204 bits per
#: SNP, LD r 0.956, PCA W1 0.094 / 0.105, imputation r² 0.837, pass (0.536, membership AUC 0.499)
#: against 96 in 3's 0.0235, 0.947, 0.147 / 0.137, 0.803, pass (0.523), at 2.25 times the cost
#: per pass (56 minutes for 32 passes on one thread, where 96 in 3 ran 35 in 30); on a simulated
#: region of exactly 3,600 (25 per cluster) 0.0235 against 0.0267, LD r 0.973 against 0.963 (the
#: real holdout's 0.971), imputation r² 0.829 against 0.801, both pass (0.510, 0.509)
DENSE_STATES = (
    (3600, {"n_states": 144, "n_groups": 3}),
    (2400, {"n_states": 96, "n_groups": 3}),
    (1200, {"n_states": 48, "n_groups": 3}),
)

_EPS = 1e-6


def _tempered(theta: torch.Tensor, temperature: float) -> torch.Tensor:
    """P(ALT) at ``temperature``: θ^(1/T) / (θ^(1/T) + (1-θ)^(1/T)), i.e. the log-odds divided by T."""
    theta = theta.double().clamp(_EPS, 1 - _EPS)
    return torch.sigmoid(torch.logit(theta) / temperature).to(torch.float32)


#: rows read together (one read of a store's chunks serves several E-step batches)
_READ_ROWS = 4096
#: forward states (and emissions) of one E-step batch kept whole up to this size
_KEEP_BYTES = 2**29


def _shifted(theta: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Frequencies ``theta`` shifted by ``offset`` in log-odds, σ(logit θ + δ) (a population's
    offsets, broadcast), kept within (ε, 1 - ε)."""
    return torch.sigmoid(torch.logit(theta) + offset).clamp(_EPS, 1 - _EPS)


def _column_sums(x: torch.Tensor, rows: int = 128) -> torch.Tensor:
    """Column sums of a 0/1 matrix (n, L) as float64 (L,), a few rows at a time: torch sums a
    uint8 tensor by converting all of it to int64 first (8 bytes per allele)."""
    out = torch.zeros(x.shape[1], dtype=torch.float64, device=x.device)
    for i in range(0, x.shape[0], rows):
        out += x[i:i + rows].sum(0, dtype=torch.float64)
    return out


class _Counts:
    """Expected sufficient statistics of one E-step (summed over haplotypes)."""

    #: the tensors, in the order of :meth:`tensors`
    FIELDS = ("jump_rows", "jumps", "first", "occupancy", "alt", "offset_grad", "offset_hess", "switch_to")

    def __init__(self, P: int, L: int, K: int, NB: int, device: torch.device, contexts: int = 1) -> None:
        self.jump_rows = torch.zeros(P, NB, K, K, dtype=torch.float64, device=device)  # expected jumps i -> j
        self.jumps = torch.zeros(max(L - 1, 0), dtype=torch.float64, device=device)  # expected jumps per interval
        self.first = torch.zeros(P, K, dtype=torch.float64, device=device)  # posterior of the first cluster
        # Σ posterior and Σ posterior × allele, by the allele at the context site (one context
        # with emission_order 0: both summed in [..., 0])
        self.occupancy = torch.zeros(L, K, contexts, dtype=torch.float64, device=device)
        self.alt = torch.zeros(L, K, contexts, dtype=torch.float64, device=device)
        # Σ posterior × (allele - θ'), Σ posterior × θ' (1 - θ') per population and site, θ' the
        # population's frequency: the gradient and curvature of the expected log-likelihood in the
        # population's offset at the site, a quadratic model of it around the current offsets
        # (the M-step moves the gradient with the offsets, so that blended statistics stay one)
        self.offset_grad = torch.zeros(P, L, dtype=torch.float64, device=device)
        self.offset_hess = torch.zeros(P, L, dtype=torch.float64, device=device)
        # group_switches: expected jumps that left for a cluster drawn from π_p, by the cluster landed in
        self.switch_to = torch.zeros(P, K, dtype=torch.float64, device=device)
        self.loglik = 0.0
        self.n: float = 0

    def shape(self) -> tuple[int, int, int, int, torch.device, int]:
        """(P, L, K, NB, device, contexts), as given to the constructor."""
        P, NB, K, _ = self.jump_rows.shape
        L, _, contexts = self.occupancy.shape
        return P, L, K, NB, self.occupancy.device, contexts

    def tensors(self) -> list[torch.Tensor]:
        return [getattr(self, key) for key in self.FIELDS]

    def blend(self, other: "_Counts", eta: float, scale: float) -> None:
        """Stepwise EM: ``self ← (1 - η) self + η · scale · other`` (``scale`` makes a mini-batch's
        statistics stand for the whole training set)."""
        for mine, theirs in zip(self.tensors(), other.tensors()):
            mine.mul_(1.0 - eta).add_(theirs, alpha=eta * scale)
        self.loglik = (1.0 - eta) * self.loglik + eta * scale * other.loglik
        self.n = (1.0 - eta) * self.n + eta * scale * other.n

    def state(self) -> dict[str, Any]:
        return {**{k: getattr(self, k).cpu() for k in self.FIELDS}, "loglik": float(self.loglik), "n": float(self.n)}

    @classmethod
    def from_state(cls, state: dict[str, Any], device: torch.device) -> "_Counts":
        out = cls.__new__(cls)
        (P, K), L = state["first"].shape, state["occupancy"].shape[0]
        for key in cls.FIELDS:
            if key not in state:  # a checkpoint of an older haplogen
                setattr(out, key, torch.zeros(P, K if key == "switch_to" else L, dtype=torch.float64, device=device))
                continue
            value = state[key].to(device=device, dtype=torch.float64)
            if key in ("occupancy", "alt") and value.dim() == 2:  # a checkpoint of an older haplogen
                value = value.unsqueeze(-1)
            setattr(out, key, value)
        out.loglik, out.n = float(state["loglik"]), float(state["n"])
        return out


class HaplotypeHMM(ValidationEarlyStopping, GenerativeModel):
    """Haplotype-cluster HMM with jump matrices, trained by EM (see the module docstring).

    Parameters
    ----------
    config : HaplotypeHMMConfig
    n_sites
        Number of sites.
    """

    name = FAMILY
    Config = HaplotypeHMMConfig
    conditional = True
    tractable = True
    # the training matrix stays 0/1 bytes; E-step batches are converted as they are used
    data_dtype = torch.uint8
    # under torchrun the E-step's batches are shared out and the statistics summed
    distributed = True
    # model files written before emission_order existed were made with emissions of the cluster alone
    legacy_settings = {"emission_order": 0, "population_offsets": False, "group_switches": False}

    @classmethod
    def data_settings(cls, n_haplotypes: int, n_sites: int, given: Collection[str], *,
                      median_spacing: float | None = None) -> dict[str, Any]:
        """From :data:`GROUPED_FROM` training haplotypes on, a run that sets neither ``n_states``
        nor ``n_groups`` trains 32 clusters in 4 ancestry groups instead of 16 in one: at the
        same cost per step, far closer population structure and spread (README, "Which model
        family"); below it, 16 in one, which overfit less. On a densely typed region (neighbouring
        SNPs at most :data:`DENSE_SPACING` bp apart), where haplotypes share long segments and
        there are many more distinct ones to describe, it takes more clusters in 3 groups: 48 from
        1,200 haplotypes, 96 from 2,400, 144 from 3,600 (:data:`DENSE_STATES`; 25 haplotypes or
        more per cluster)."""
        if n_haplotypes < GROUPED_FROM or {"n_states", "n_groups"} & set(given):
            return {}
        if median_spacing is not None and median_spacing <= DENSE_SPACING:
            for least, settings in DENSE_STATES:
                if n_haplotypes >= least:
                    return dict(settings)
        return {"n_states": 32, "n_groups": 4}
    # given rows streamed from a store, it reads the rows of each E-step batch as it needs them
    streaming = True
    # generate --temperature: each emission's log-odds divided by T
    tempered = True

    def __init__(self, config: HaplotypeHMMConfig, n_sites: int) -> None:
        super().__init__(config, n_sites)
        c = config
        L, K = self.n_sites, c.n_states
        self.n_blocks = max(1, math.ceil((L - 1) / c.block_sites))
        P = max(1, len(self.populations or ()))
        dev = self.device
        self.start = torch.full((P, K), 1.0 / K, device=dev)  # (P, K) π_p
        self.jump = torch.full((max(L - 1, 0),), 0.5, device=dev)  # (L-1,) r_l
        self.jump_matrix = torch.full((P, self.n_blocks, K, K), 1.0 / K, device=dev)  # (P, B, K, K) Q_{p,b}
        # θ_{l,k} = P(ALT | cluster), (L, K); with emission_order 1, θ_{l,k,a} = P(ALT | cluster,
        # allele a at the context site of l), (L, K, 2) (a site without one counts as after allele 0);
        # with emission_order 2, θ_{l,k,a+2b} after allele a at the first context site and b at the
        # second, (L, K, 4)
        shape = (L, K) if c.emission_order == 0 else (L, K, 2 ** c.emission_order)
        self.emission = torch.full(shape, 0.5, device=dev)
        # emission_order >= 1: the (first) context site of each site (-1: none, allele 0), (L,) int64
        self.context_site = torch.arange(-1, L - 1, device=dev)
        # emission_order 2: the second context site of each site (-1 at the first two sites), (L,) int64
        self.second_context_site = torch.arange(-2, L - 2, device=dev).clamp_min(-1)
        # δ_{p,l}: each population's offset of every cluster's log-odds of ALT at each site, (P, L)
        self.population_offset = torch.zeros(P, L, device=dev)
        # σ_p: each population's probability that a jump leaves its ancestry group (group_switches)
        self.switch = torch.full((P,), 0.001, device=dev)
        # (K, K) 1 where a jump stays within an ancestry group (all ones with one group)
        group = self.group_of_state()
        self._allowed = (group.unsqueeze(1) == group.unsqueeze(0)).to(torch.float64)
        self._state: dict[str, Any] = {}

    def group_of_state(self) -> torch.Tensor:
        """Ancestry group of each cluster, (K,) int64: contiguous runs of K / G clusters."""
        K, G = self.config.n_states, self.config.n_groups
        return torch.arange(K, device=self.device) // (K // G)

    @property
    def _switching(self) -> bool:
        """True when a jump may leave its ancestry group (``group_switches`` with groups)."""
        return bool(self.config.group_switches) and self.config.n_groups > 1

    @property
    def _chains(self) -> int:
        """Forward recursions run side by side, each normalised on its own: one per ancestry group,
        or one over every cluster when jumps may switch groups."""
        return 1 if self._switching else self.config.n_groups

    # ---------------------------------------------------------------- E-step
    def _block_of(self, l: int) -> int:
        """Block of the interval between site ``l`` and ``l + 1``."""
        return l // self.config.block_sites

    def _transitions(self, pop: int, l0: int, l1: int) -> torch.Tensor:
        """Transition matrices of the intervals ``l0 .. l1 - 1`` (interval ``l`` lies between sites
        ``l`` and ``l + 1``): ``(1 - r_l) I + r_l Q_{p, b(l)}``, shape (l1 - l0, K, K); with
        group switches ``(1 - r_l) I + r_l ((1 - σ_p) Q_{p, b(l)} + σ_p 1 π_pᵀ)``."""
        blocks = torch.arange(l0, l1, device=self.device) // self.config.block_sites
        r = self.jump[l0:l1]
        t = self.jump_matrix[pop, blocks] * r.view(-1, 1, 1)  # (n, K, K)
        if self._switching:
            sigma = self.switch[pop]
            t.mul_(1.0 - sigma).add_(r.view(-1, 1, 1) * sigma * self.start[pop].view(1, 1, -1))
        t.diagonal(dim1=1, dim2=2).add_((1.0 - r).unsqueeze(1))
        return t

    def _group_blocks(self, t: torch.Tensor) -> torch.Tensor:
        """The diagonal blocks of ``t`` (n, K, K), one per recursion (:attr:`_chains`): (n, G, K / G, K / G)."""
        G = self._chains
        if G == 1:
            return t.unsqueeze(1)
        n, K, _ = t.shape
        k = K // G
        return torch.diagonal(t.view(n, G, k, G, k), dim1=1, dim2=3).permute(0, 3, 1, 2).contiguous()

    def _dense_from_blocks(self, blocks: torch.Tensor) -> torch.Tensor:
        """(n, G, k, k) diagonal blocks into (n, G k, G k) matrices, zero between groups."""
        n, G, k, _ = blocks.shape
        if G == 1:
            return blocks[:, 0]
        out = blocks.new_zeros(n, G, k, G, k)
        torch.diagonal(out, dim1=1, dim2=3).copy_(blocks.permute(0, 2, 3, 1))
        return out.view(n, G * k, G * k)

    @property
    def _offsets(self) -> bool:
        """True when the populations' allele frequencies have offsets of their own (trained with
        labels of two populations or more, ``population_offsets`` on)."""
        return bool(self.config.population_offsets) and self.start.shape[0] > 1

    def _emission_table(self, s0: int, S: int, pop: int | torch.Tensor) -> torch.Tensor:
        """P(ALT | cluster, context alleles) at sites ``s0 .. s0 + S`` for population ``pop``:
        the pooled emission table shifted by the population's offsets in log-odds (as stored
        without offsets), shape (S, K) or (S, K, contexts)."""
        em = self.emission[s0:s0 + S]
        if not self._offsets:
            return em
        return _shifted(em, self.population_offset[pop, s0:s0 + S].view(S, *([1] * (em.dim() - 1))))

    @property
    def _contexts(self) -> int:
        """The context alleles an emission distinguishes: 1 (order 0), 2 (order 1) or 4 (order 2)."""
        return 2 ** self.config.emission_order

    def _previous_alleles(self, x: torch.Tensor, s0: int, S: int, dtype: torch.dtype,
                          second: bool = False) -> torch.Tensor:
        """The allele at the context site (``second``: the second context site) of each of sites
        ``s0 .. s0 + S`` of every row of ``x`` (B, L), site-major (S, B): 0 where there is none."""
        B = x.shape[0]
        out = torch.zeros(S, B, dtype=dtype, device=x.device)
        sites = (self.second_context_site if second else self.context_site)[s0:s0 + S]
        has = sites >= 0
        out[has] = x[:, sites[has]].T.to(dtype)
        return out

    def _choose_context_sites(
        self, x: torch.Tensor, windows: list[tuple[int, int, torch.Tensor]] | None = None,
        given: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The context site of every site (L,) int64: among the ``context_window`` sites before
        it, the one with the largest mutual information with it on the rows of ``x`` (n, L) 0/1
        (the nearest on a tie; -1 where there is none).

        Given the rows' initial clusters (``windows``, as :meth:`_initial_clusters` returns them),
        the information is conditional on the cluster, ``I(x_l; x_c | z) = Σ_z p(z) I(x_l; x_c | z)``:
        what the context site tells about a site beyond what the cluster already does, which is
        what an emission conditioned on it can use. Given ``given`` (L,), each site's first
        context site, this chooses the second: the information is conditional on the cluster and
        the allele at the first context site, ``I(x_l; x_c | z, x_given(l))``, and the first is
        not a candidate (-1 for the first two sites)."""
        n, L = x.shape
        W = self.config.context_window
        if windows is None:
            windows = [(0, L, torch.zeros(n, dtype=torch.int64, device=self.device))]
        best = torch.full((L,), -math.inf, dtype=torch.float64, device=self.device)
        best_df = torch.zeros(L, dtype=torch.float64, device=self.device)  # strata that can show dependence
        out = torch.full((L,), -1, dtype=torch.int64, device=self.device)
        step = 4096
        for w0, w1, assign in windows:
            onehot = torch.nn.functional.one_hot(assign).to(torch.float32)  # (n, clusters)
            for c0 in range(max(w0, 1), w1, step):  # sites c0 .. c1 - 1, a few thousand at a time (memory)
                c1 = min(w1, c0 + step)
                lo = max(0, c0 - W)
                block = x[:, lo:c1].to(torch.float32)  # (n, c1 - lo)
                mine = block[:, c0 - lo:]
                # the strata the information is conditional on beyond the cluster: none, or the
                # allele at each site's first context site (rows weighted 1 in their stratum)
                if given is None:
                    strata: list[torch.Tensor | None] = [None]
                else:
                    g = given[c0:c1]
                    has = g >= 0
                    first_allele = torch.zeros(n, c1 - c0, dtype=torch.float32, device=self.device)
                    first_allele[:, has] = x[:, g[has]].to(torch.float32)
                    strata = [first_allele, 1.0 - first_allele]
                parts = []  # per stratum: (its weights, rows per cluster and site, P(x_l = 1 | z, stratum))
                for w in strata:
                    if w is None:
                        size = onehot.sum(0).double().unsqueeze(1).expand(-1, c1 - c0)
                        ones = (onehot.T @ mine).double()
                    else:
                        size = (onehot.T @ w).double()
                        ones = (onehot.T @ (mine * w)).double()
                    parts.append((w, size, ones / size.clamp_min(1)))
                for d in range(1, W + 1):
                    first = max(c0, d)  # sites with a predecessor d back
                    if first >= c1:
                        break
                    here = mine[:, first - c0:]
                    there = block[:, first - d - lo:c1 - d - lo]
                    mi = torch.zeros(c1 - first, dtype=torch.float64, device=self.device)
                    df = torch.zeros(c1 - first, dtype=torch.float64, device=self.device)
                    both = here * there
                    for w, size_all, p1_all in parts:
                        t, tb = there, both
                        if w is not None:
                            wd = w[:, first - c0:]
                            t, tb = there * wd, both * wd
                        size = size_all[:, first - c0:]
                        h1 = p1_all[:, first - c0:]
                        q1 = (onehot.T @ t).double() / size.clamp_min(1)
                        p11 = (onehot.T @ tb).double() / size.clamp_min(1)
                        # the joint of (x_l, x_c) within each cluster, cells 00, 01, 10, 11
                        joint = torch.stack([1 - h1 - q1 + p11, q1 - p11, h1 - p11, p11]).clamp_min(0)
                        marg_here = torch.stack([1 - h1, 1 - h1, h1, h1])
                        marg_there = torch.stack([1 - q1, q1, 1 - q1, q1])
                        ratio = joint / (marg_here * marg_there).clamp_min(1e-300)
                        terms = torch.where(joint > 0, joint * torch.log(ratio.clamp_min(1e-300)),
                                            torch.zeros_like(joint))
                        mi += (terms.sum(0) * size / n).sum(0)  # weighted by the cell's share of the rows
                        # a stratum's 2 x 2 table has one degree of freedom where both alleles vary in it
                        df += (((h1 > 0) & (h1 < 1) & (q1 > 0) & (q1 < 1)).double()).sum(0)
                    candidate = torch.arange(first, c1, device=self.device) - d
                    if given is not None:
                        mi = torch.where(candidate == given[first:c1], -math.inf, mi)
                    better = mi > best[first:c1] + 1e-12
                    best[first:c1] = torch.where(better, mi, best[first:c1])
                    best_df[first:c1] = torch.where(better, df, best_df[first:c1])
                    out[first:c1] = torch.where(better, candidate, out[first:c1])
        level = self.config.context_significance
        if given is not None and level < 1:
            # the G-test of independence within the strata: 2 n I ~ χ²(df) when the second context
            # site tells nothing; kept where the best of the window's W - 1 candidates passes at
            # the level (Bonferroni), or its frequencies would be fitted to noise
            from scipy.stats import chi2

            df = best_df.cpu().numpy()
            limit = torch.from_numpy(chi2.isf(level / max(W - 1, 1), np.maximum(df, 1))).to(best.device)
            kept = (2.0 * n * best > limit) & (best_df > 0)
            out = torch.where(kept, out, torch.full_like(out, -1))
        return out

    def _emissions(self, x: torch.Tensor, s0: int, e: torch.Tensor, pop: int) -> None:
        """The emission probabilities of sites ``s0 .. s0 + S`` of ``x`` (B, L) 0/1, rows of
        population ``pop``, into ``e`` (S, G, B, k): each cluster's probability of the row's allele."""
        S, G, B, k = e.shape
        xs = x[:, s0:s0 + S].T.contiguous().to(e.dtype).view(S, 1, B, 1)
        if self.config.emission_order == 0:
            th = self._emission_table(s0, S, pop).view(S, G, 1, k)
            ref = 1.0 - th
            torch.addcmul(ref, xs, th - ref, out=e)
            return
        em = self._emission_table(s0, S, pop)  # (S, K, 2) or (S, K, 4)
        th0 = em[..., 0].reshape(S, G, 1, k)
        shift = (em[..., 1] - em[..., 0]).reshape(S, G, 1, k)
        before = self._previous_alleles(x, s0, S, e.dtype).view(S, 1, B, 1)
        torch.addcmul(th0, before, shift, out=e)  # P(ALT | cluster, allele at the context site)
        if self.config.emission_order == 2:
            # θ(a, b) = θ00 + a (θ10 - θ00) + b (θ01 - θ00) + a b (θ11 - θ10 - θ01 + θ00), index a + 2b
            second = self._previous_alleles(x, s0, S, e.dtype, second=True).view(S, 1, B, 1)
            e.addcmul_(second, (em[..., 2] - em[..., 0]).reshape(S, G, 1, k))
            e.addcmul_(before * second, (em[..., 3] - em[..., 2] - em[..., 1] + em[..., 0]).reshape(S, G, 1, k))
        e.mul_(2.0 * xs - 1.0).add_(1.0 - xs)  # P(allele): θ for ALT, 1 - θ for REF

    def _segment_forward(
        self, x: torch.Tensor, s0: int, prev: torch.Tensor | None, pop: int,
        out: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Scaled forward recursion over sites ``s0 .. s0 + S`` of ``x`` (B, L) 0/1, each ancestry
        group on its own (G groups of k = K / G clusters; one group: the plain chain).

        ``prev`` (G, B, k) is the normalised forward state of site ``s0 - 1`` (None at the first
        site). Returns, site-major so that a site's slice is contiguous, the states normalised
        within each group (S, G, B, k), the groups' scaling factors (S, G, B) (the logs of a
        group's sum to the log-likelihood of the haplotype within that group) and the emission
        probabilities (S, G, B, k); written into ``out`` (buffers of at least S sites, reused from
        segment to segment: fresh memory costs a page fault per 4 KB) when given.

        Each group is normalised on its own because no jump leaves a group: a group that fits
        the start of a haplotype badly may fit its end well, and a state scaled with the others'
        would underflow to zero and never come back.
        """
        B = x.shape[0]
        S = min(self.config.segment_sites, self.n_sites - s0)
        K, G = self.config.n_states, self._chains
        k = K // G
        if out is None:
            dtype, dev = self.emission.dtype, self.emission.device
            out = (torch.empty(S, G, B, k, dtype=dtype, device=dev), torch.empty(S, G, B, dtype=dtype, device=dev),
                   torch.empty(S, G, B, k, dtype=dtype, device=dev))
        alpha, scale, e = (t[:S] for t in out)
        # site-major: a site's (B, k) slice must be contiguous, or every per-site product is ~3x slower
        self._emissions(x, s0, e, pop)
        # the transition into site l is that of interval l - 1
        first = max(s0 - 1, 0)
        trans = self._group_blocks(self._transitions(pop, first, s0 + S - 1))  # (n, G, k, k)
        for i in range(S):
            l = s0 + i
            if l == 0:
                start = self.start[pop].view(G, 1, k)
                torch.mul(start / start.sum(-1, keepdim=True), e[0], out=alpha[0])
            else:
                torch.bmm(prev if i == 0 else alpha[i - 1], trans[l - 1 - first], out=alpha[i])
                alpha[i].mul_(e[i])
            torch.sum(alpha[i], -1, out=scale[i])
            alpha[i].div_(scale[i].unsqueeze(-1))
        return alpha, scale, e

    def _estep(self, x: torch.Tensor, pop: int, counts: _Counts | None) -> torch.Tensor:
        """log p(x | population ``pop``) of every row of ``x`` (B, L) 0/1 (float or uint8), float64 (B,);
        adds the expected statistics to ``counts`` when given.

        Each ancestry group runs its own forward-backward recursion; the groups' likelihoods,
        weighted by their start probabilities, give the haplotype's, and each group's statistics
        count with the posterior probability of the group."""
        B, L = x.shape
        seg = self.config.segment_sites
        starts = list(range(0, L, seg))
        K, G = self.config.n_states, self._chains
        k_g = K // G
        dtype, dev = self.emission.dtype, self.emission.device
        loglik_g = torch.zeros(G, B, dtype=torch.float64, device=dev)
        checkpoints: list[torch.Tensor | None] = []
        # the forward states of every segment are kept when they fit in _KEEP_BYTES (no
        # recomputation in the backward pass); otherwise only each segment's starting state
        keep = counts is not None and B * L * K * 12 <= _KEEP_BYTES
        kept: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        S_max = min(seg, L)
        # one set of segment buffers, reused (when the segments are not all kept)
        work = None if keep else (torch.empty(S_max, G, B, k_g, dtype=dtype, device=dev),
                                  torch.empty(S_max, G, B, dtype=dtype, device=dev),
                                  torch.empty(S_max, G, B, k_g, dtype=dtype, device=dev))
        prev: torch.Tensor | None = None
        for s0 in starts:
            checkpoints.append(prev)
            alpha, scale, e = self._segment_forward(x, s0, prev, pop, work)
            loglik_g += torch.log(scale).double().sum(0)
            prev = alpha[-1].clone()  # a copy: a view would keep the whole segment alive
            if keep or s0 == starts[-1]:
                kept.append((alpha, scale, e))
        if G == 1:
            loglik = loglik_g[0]
        else:
            group_mass = self.start[pop].double().view(G, k_g).sum(-1)
            joint = loglik_g + torch.log(group_mass).unsqueeze(1)  # (G, B) log p(x, group)
            loglik = torch.logsumexp(joint, 0)
        if counts is None:
            return loglik
        # posterior probability of each group, (G, B, 1)
        weight = None if G == 1 else torch.exp(joint - loglik).to(dtype).unsqueeze(-1)
        b = torch.ones_like(prev)
        beta_work = torch.empty(S_max, G, B, k_g, dtype=dtype, device=dev)
        for k in range(len(starts) - 1, -1, -1):
            s0 = starts[k]
            if keep or k == len(starts) - 1:
                alpha, scale, e = kept.pop()
            else:
                alpha, scale, e = self._segment_forward(x, s0, checkpoints[k], pop, work)
            S = alpha.shape[0]
            first = max(s0 - 1, 0)
            trans = self._group_blocks(self._transitions(pop, first, s0 + S - 1))  # (n, G, k, k)
            # e_l / c_l: the backward message of site l times its emission, before the transition
            e.div_(scale.unsqueeze(-1))
            beta = beta_work[:S]
            beta[S - 1] = b
            eb = torch.empty_like(b)
            for i in range(S - 1, 0, -1):
                torch.mul(e[i], beta[i], out=eb)
                torch.bmm(eb, trans[s0 + i - 1 - first].transpose(1, 2), out=beta[i - 1])
            # e_l β_l / c_l of every site, then for the interval into site l = s0 + i:
            # pair[i] = Σ_n α_{l-1}(n, ·)ᵀ (e_l β_l / c_l)(n, ·) (each group's, weighted by the
            # group's posterior), and the expected jumps i -> j are r Q(i, j) pair(i, j)
            eb_all = e.mul_(beta)
            lo = 1 if s0 == 0 else 0
            if s0 > 0:
                b = torch.bmm(eb_all[0], trans[0].transpose(1, 2))  # the backward message of site s0 - 1
            if weight is not None:
                eb_all.mul_(weight)
            if S > lo:
                if lo == 0:
                    pair = torch.empty(S, G, k_g, k_g, dtype=alpha.dtype, device=alpha.device)
                    torch.bmm(checkpoints[k].transpose(1, 2), eb_all[0], out=pair[0])
                    if S > 1:
                        torch.matmul(alpha[:-1].transpose(2, 3), eb_all[1:], out=pair[1:])
                else:
                    pair = torch.matmul(alpha[:-1].transpose(2, 3), eb_all[1:])
                intervals = torch.arange(s0 + lo - 1, s0 + S - 1, device=self.device)
                blocks = intervals // self.config.block_sites
                q = self._group_blocks(self.jump_matrix[pop, blocks])
                r = self.jump[intervals].view(-1, 1, 1, 1)
                if self._switching:
                    # the share of each i -> j move that is a switch, r σ π(j), and a jump within
                    # the group, r (1 - σ) Q(i, j)
                    sigma = self.switch[pop]
                    switched = (r * sigma * self.start[pop].view(1, 1, 1, -1) * pair).double()
                    counts.jumps[intervals] += switched.sum((1, 2, 3))
                    counts.switch_to[pop] += switched.sum((0, 1, 2))
                    r = r * (1.0 - sigma)
                moved = (q * r * pair).double()  # (n, G, k, k)
                counts.jumps[intervals] += moved.sum((1, 2, 3))
                counts.jump_rows[pop].index_add_(0, blocks, self._dense_from_blocks(moved))
            posterior = alpha.mul_(beta)  # (S, G, B, k): within a group, rows sum to 1
            if weight is not None:
                posterior.mul_(weight)
            xs = x[:, s0:s0 + S].T.to(posterior.dtype).reshape(S, 1, B)
            if self.config.emission_order == 0:
                occupancy = posterior.sum(2).reshape(S, K, 1)
                alt = torch.matmul(xs.unsqueeze(1), posterior).reshape(S, K, 1)
                counts.occupancy[s0:s0 + S] += occupancy
                counts.alt[s0:s0 + S] += alt
            else:
                # the sums split by the context alleles (index c = a + 2b): weights 1[c = j] and
                # 1[c = j] x for every j, one product
                a = self._previous_alleles(x, s0, S, posterior.dtype).view(S, 1, B)
                which = [1.0 - a, a]
                if self.config.emission_order == 2:
                    b2 = self._previous_alleles(x, s0, S, posterior.dtype, second=True).view(S, 1, B)
                    which = [w * (1.0 - b2) for w in which] + [w * b2 for w in which]
                C = len(which)
                w = torch.cat(which + [w * xs for w in which], dim=1).unsqueeze(1)  # (S, 1, 2C, B)
                sums = torch.matmul(w, posterior).transpose(2, 3).reshape(S, G * k_g, 2 * C)  # (S, K, 2C)
                occupancy, alt = sums[..., :C], sums[..., C:]
                counts.occupancy[s0:s0 + S] += occupancy
                counts.alt[s0:s0 + S] += alt
            if self._offsets:
                # the expected log-likelihood's gradient and curvature in this population's
                # offset at each site: Σ (allele - θ') and Σ θ' (1 - θ') over clusters and contexts
                th = self._emission_table(s0, S, pop).reshape(S, K, -1).to(occupancy.dtype)
                counts.offset_grad[pop, s0:s0 + S] += (alt - occupancy * th).sum((1, 2))
                counts.offset_hess[pop, s0:s0 + S] += (occupancy * th * (1.0 - th)).sum((1, 2))
            if s0 == 0:
                counts.first[pop] += posterior[0].sum(1).reshape(K)
        counts.loglik += float(loglik.sum())
        counts.n += B
        return loglik

    def _groups(self, rows: torch.Tensor, labels: torch.Tensor | None) -> list[tuple[int, torch.Tensor]]:
        """Rows by population code, in batches of ``batch_size``: [(population, rows)]."""
        out = []
        bs = self.config.batch_size
        pops = [0] if labels is None else sorted(set(labels[rows].tolist()))
        for p in pops:
            mine = rows if labels is None else rows[labels[rows] == p]
            out.extend((p, mine[i:i + bs]) for i in range(0, mine.numel(), bs))
        return out

    def _read_batches(self, parts: list[tuple[int, torch.Tensor]]) -> Iterator[tuple[int, torch.Tensor]]:
        """``(population, alleles (b, L) uint8)`` of each E-step batch of ``parts``. The rows of
        a few batches (up to ``max(batch_size, _READ_ROWS)`` rows) are read together: one read of
        a store's chunks serves them all."""
        limit = max(self.config.batch_size, _READ_ROWS)
        i = 0
        while i < len(parts):
            j, total = i, 0
            while j < len(parts) and (j == i or total + parts[j][1].numel() <= limit):
                total += parts[j][1].numel()
                j += 1
            block = self._x[torch.cat([part for _, part in parts[i:j]])]
            offset = 0
            for pop, part in parts[i:j]:
                yield pop, block[offset:offset + part.numel()]
                offset += part.numel()
            i = j

    def _expected_counts(self, rows: torch.Tensor) -> _Counts:
        """The E-step over ``rows``; under torchrun each process takes its share of the batches
        and the statistics are summed over the processes."""
        c = self.config
        counts = _Counts(self.start.shape[0], self.n_sites, c.n_states, self.n_blocks, self.device,
                         self._contexts)
        for pop, x in self._read_batches(dist.my_share(self._groups(rows, self._labels))):
            self._estep(x, pop, counts)
        totals = torch.tensor([counts.loglik, float(counts.n)], dtype=torch.float64, device=self.device)
        dist.all_sum([*counts.tensors(), totals])
        counts.loglik, counts.n = float(totals[0]), int(round(float(totals[1])))
        return counts

    # ---------------------------------------------------------------- M-step
    def _maximise(self, counts: _Counts) -> None:
        """The M-step from ``counts`` (whose offset gradient it moves with the offsets)."""
        c = self.config
        K = c.n_states
        f = self._state["frequency"].double()  # (L,)
        if self.n_sites > 1:
            n = float(counts.n)
            self.jump = ((counts.jumps + 1.0) / (n + 2.0)).clamp(_EPS, 1 - _EPS).float()
        pooled = (counts.jump_rows.sum(0) + c.transition_prior / K) * self._allowed  # (B, K, K)
        pooled = pooled / pooled.sum(-1, keepdim=True).clamp_min(1e-300)
        # the start distribution is also where a group switch lands: its statistics count both
        fresh = counts.first + counts.switch_to if self._switching else counts.first  # (P, K)
        first = fresh.sum(0) + 1.0 / K
        first = first / first.sum()
        if counts.jump_rows.shape[0] > 1:
            rows = (counts.jump_rows + c.population_prior * pooled.unsqueeze(0)) * self._allowed
            self.jump_matrix = (rows / rows.sum(-1, keepdim=True).clamp_min(1e-300)).float()
            # the prior draws a population's start toward the pooled one *within* each ancestry
            # group, spread over the groups as the population's own haplotypes are (and half a
            # haplotype's worth evenly): a prior spread as the pooled start would send about
            # population_prior / n_p of a population's haplotypes to other continents' groups
            # (on the 805-SNP panel 5% of artificial YRI haplotypes were not African)
            G = c.n_groups
            group = self.group_of_state()
            in_group = first / torch.zeros(G, dtype=first.dtype, device=first.device).index_add_(0, group, first)[group]
            own = torch.zeros(counts.first.shape[0], G, dtype=first.dtype, device=first.device)
            own.index_add_(1, group, fresh)
            share = (own + 0.5 / G) / (own + 0.5 / G).sum(-1, keepdim=True)  # (P, G)
            start = fresh + c.population_prior * in_group.unsqueeze(0) * share[:, group]
            self.start = (start / start.sum(-1, keepdim=True)).float()
        else:
            self.jump_matrix = pooled.unsqueeze(0).float()
            self.start = first.unsqueeze(0).float()
        if self._switching:
            # σ_p: the population's share of jumps that left the group, drawn toward the pooled share
            # (itself toward 0.001 by one jump's worth) by population_prior jumps' worth
            left = counts.switch_to.sum(1)  # (P,)
            jumps = counts.jump_rows.sum((1, 2, 3)) + left
            pooled_share = (left.sum() + 0.001) / (jumps.sum() + 1.0)
            share_p = (left + c.population_prior * pooled_share) / (jumps + c.population_prior)
            self.switch = share_p.clamp(1e-6, 1 - 1e-6).float()
        a = c.emission_prior
        occupancy, alt = counts.occupancy.clamp_min(0), counts.alt.clamp_min(0)  # (L, K, contexts)
        theta = (alt.sum(-1) + a * f.unsqueeze(1)) / (occupancy.sum(-1) + a).clamp_min(1e-300)  # (L, K)
        b = c.context_prior

        def after(alt: torch.Tensor, occupancy: torch.Tensor, parent: torch.Tensor) -> torch.Tensor:
            # after each context allele, drawn toward the frequency after one context fewer
            # (``parent``, broadcast); a context never seen keeps that frequency
            mass = occupancy + b
            return torch.where(mass > 0, (alt + b * parent) / mass.clamp_min(1e-300), parent)

        if c.emission_order >= 1:
            # order 2 (index a + 2b): the frequency after the first context allele a, summed over
            # the second's, is the parent of the four
            first = (alt.view(*alt.shape[:2], -1, 2).sum(-2), occupancy.view(*alt.shape[:2], -1, 2).sum(-2))
            theta = after(*first, theta.unsqueeze(-1))  # (L, K, 2)
            if c.emission_order == 2:
                theta = after(alt, occupancy, theta.repeat(1, 1, 2))  # (L, K, 4): index a + 2b
        self.emission = theta.clamp(_EPS, 1 - _EPS).float()
        if self._offsets:
            # each population's offset at each site: the maximum of the quadratic model of the
            # expected log-likelihood (a Newton step) with the normal prior of variance
            # F / (f (1 - f)), F = 1 / offset_prior;
            # the model's gradient then moves to the new offsets (g - h Δ), so that statistics
            # blended across stepwise updates describe the offsets they will be used with
            d = self.population_offset.double()
            g, h = counts.offset_grad, counts.offset_hess
            prior = (c.offset_prior * f * (1.0 - f)).unsqueeze(0)  # (1, L)
            step = (g - prior * d) / (h + prior).clamp_min(1e-6)
            new = (d + step).clamp(-20.0, 20.0)
            counts.offset_grad -= counts.offset_hess * (new - d)
            self.population_offset = new.float()

    # ---------------------------------------------------------------- hooks
    def _initialise(self, x: torch.Tensor, seed: int, labels: torch.Tensor | None) -> None:
        c = self.config
        generator = self._new_generator(seed)
        n = x.shape[0]
        # validation individuals: both haplotypes of an individual (consecutive rows) on one side
        train_rows, val_rows = self._validation_split(n, c.validation_fraction, generator)
        m = train_rows.numel()
        alt_count = torch.zeros(self.n_sites, dtype=torch.float64, device=self.device)
        step = max(c.batch_size, _READ_ROWS)
        for i in range(0, m, step):  # in batches: never the whole matrix
            alt_count += _column_sums(x[train_rows[i:i + step]])
        freq = ((alt_count + 0.5) / (m + 1.0)).clamp(_EPS, 1 - _EPS)  # (L,)
        self._x = x
        self._labels = labels
        self._generator = generator
        self._running: _Counts | None = None  # stepwise EM's running statistics
        self._updates = 0
        self._stopping_start(train_rows, val_rows, frequency=freq)
        # initial clusters: k-means of (a subset of) the training haplotypes, then one M-step
        # from the hard assignments, with sticky transitions
        pick = train_rows
        if m > c.init_haplotypes:
            pick = train_rows[torch.randperm(m, generator=generator, device=self.device)[: c.init_haplotypes]]
        K, L = c.n_states, self.n_sites
        chosen = x[pick]  # (n, L) uint8: the haplotypes clustered, read once
        windows = self._initial_clusters(chosen, seed)  # [(first site, last site + 1, cluster of each row)]
        if c.emission_order >= 1 and c.context_window > 1:
            self.context_site = self._choose_context_sites(chosen, windows)
            if c.emission_order == 2:
                self.second_context_site = self._choose_context_sites(chosen, windows, given=self.context_site)
        occupancy = torch.zeros(L, K, dtype=torch.float64, device=self.device)
        alt = torch.zeros(L, K, dtype=torch.float64, device=self.device)
        for w0, w1, assign in windows:
            onehot = torch.nn.functional.one_hot(assign, K).double()  # (n, K)
            occupancy[w0:w1] = onehot.sum(0)
            for s0 in range(w0, w1, 4096):  # the allele counts a few thousand sites at a time
                s1 = min(w1, s0 + 4096)
                alt[s0:s1] = (onehot.T @ chosen[:, s0:s1].double()).T
        a = max(c.emission_prior, 1.0)
        theta = ((alt + a * freq.double().unsqueeze(1)) / (occupancy + a)).clamp(_EPS, 1 - _EPS).float()
        # with emission_order >= 1 every context allele starts at the cluster's frequency (EM splits them)
        self.emission = theta if c.emission_order == 0 else theta.unsqueeze(-1).repeat(1, 1, self._contexts)
        # start: the clusters' shares at the first site (by population); transitions: a jump in
        # every other interval, back to the same cluster 4 times out of 5 (EM finds the real ones)
        P = self.start.shape[0]
        codes = None if labels is None else labels[pick]
        first = torch.zeros(P, K, dtype=torch.float64, device=self.device)
        for p in range(P):
            first_window = windows[0][2]
            mine = first_window if codes is None else first_window[codes == p]
            first[p] = torch.bincount(mine, minlength=K).double() + 1.0
        self.start = (first / first.sum(1, keepdim=True)).float()
        sticky = torch.full((K, K), 1.0 / K, device=self.device) + 4.0 * torch.eye(K, device=self.device)
        sticky = sticky * self._allowed.float()
        self.jump_matrix = (sticky / sticky.sum(1, keepdim=True)).expand(P, self.n_blocks, K, K).clone()
        self.jump = torch.full((max(L - 1, 0),), 0.5, device=self.device)

    def _initial_clusters(self, x: torch.Tensor, seed: int) -> list[tuple[int, int, torch.Tensor]]:
        """Initial cluster of every row of ``x`` (n, L) in each k-means window: ``[(w0, w1, cluster (n,))]``.

        With ancestry groups, the rows are first split into the groups by k-means of whole
        haplotypes, and each group's rows are clustered into that group's clusters."""
        c = self.config
        if c.n_groups == 1:
            return self._kmeans_windows(x, seed, c.n_states, c.init_window)
        n, L = x.shape
        k = c.n_states // c.n_groups  # group g holds clusters g k .. (g + 1) k - 1 (group_of_state)
        group_of_row = self._kmeans_windows(x, seed, c.n_groups, 0)[0][2]
        window = L if c.init_window == 0 else c.init_window
        out = [(w0, min(L, w0 + window), torch.zeros(n, dtype=torch.int64, device=self.device))
               for w0 in range(0, L, window)]
        for g in range(c.n_groups):
            rows = torch.nonzero(group_of_row == g).flatten()
            if rows.numel() == 0:
                continue
            mine = self._kmeans_windows(x[rows], seed + 7919 * (g + 1), k, c.init_window)
            for (_, _, assign), (_, _, cluster) in zip(out, mine):
                assign[rows] = cluster + g * k
        return out

    def _kmeans_windows(self, x: torch.Tensor, seed: int, n_clusters: int,
                        init_window: int) -> list[tuple[int, int, torch.Tensor]]:
        """Clusters of the rows of ``x`` (n, L) by k-means: ``[(w0, w1, cluster (n,))]`` for each
        window of ``init_window`` sites (one window of every site when 0), at most ``n_clusters``
        of them. A window longer than ``init_sites`` is clustered on that many sites spread evenly
        over it (memory)."""
        from sklearn.cluster import KMeans

        c = self.config
        n, L = x.shape
        K = min(n_clusters, n)
        window = L if init_window == 0 else init_window
        out = []
        for w0 in range(0, L, window):
            w1 = min(L, w0 + window)
            cols = np.arange(w0, w1)
            if cols.size > c.init_sites:
                cols = cols[np.linspace(0, cols.size - 1, c.init_sites).round().astype(np.int64)]
            index = torch.from_numpy(cols).to(x.device)
            part = x[:, index].cpu().numpy().astype(np.float32)  # (n, <= init_sites)
            distinct = np.unique(part, axis=0).shape[0]
            k = max(1, min(K, distinct))
            labels = KMeans(k, n_init=1, random_state=seed + w0, max_iter=50).fit_predict(part)
            out.append((w0, w1, torch.from_numpy(labels.astype(np.int64)).to(self.device)))
        return out

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        c = self.config
        rows = self._state["train_rows"]
        m = rows.numel()
        if c.minibatch == 0 or c.minibatch >= m:
            counts = self._expected_counts(rows)
            self._maximise(counts)
            losses = {"nll_train": -counts.loglik / max(counts.n, 1) / self.n_sites}
        else:
            # stepwise EM (Sato & Ishii 2000; Liang & Klein 2009): after each mini-batch, the
            # running statistics move toward the mini-batch's (scaled to the training set) by
            # a step that shrinks as (k + 1)^-decay, and the M-step follows them
            order = rows[torch.randperm(m, generator=self._generator, device=self.device)]
            parts = torch.tensor_split(order, math.ceil(m / c.minibatch))
            loglik = 0.0
            for part in parts:
                counts = self._expected_counts(part)
                loglik += counts.loglik
                k = self._updates
                eta = (k + 1.0) ** -c.stepwise_decay
                if self._running is None:  # the first update (η = 1) replaces the empty statistics
                    self._running = _Counts(*counts.shape())
                self._running.blend(counts, eta, m / part.numel())
                self._updates += 1
                self._maximise(self._running)
            losses = {"nll_train": -loglik / m / self.n_sites}
        val_rows = self._state["val_rows"]
        if val_rows.numel():
            self._record_validation(self._mean_loglik(val_rows), epoch, losses)
        return losses

    def _mean_loglik(self, rows: torch.Tensor) -> float:
        total = torch.zeros(1, dtype=torch.float64, device=self.device)
        for pop, x in self._read_batches(dist.my_share(self._groups(rows, self._labels))):
            total += self._estep(x, pop, None).sum()
        dist.all_sum([total])
        return float(total) / max(rows.numel(), 1)

    def _weights(self) -> dict[str, torch.Tensor]:
        out = {
            "start": self.start,
            "jump": self.jump,
            "jump_matrix": self.jump_matrix,
            "emission": self.emission,
        }
        if self.config.emission_order >= 1:
            out["context_site"] = self.context_site
        if self.config.emission_order == 2:
            out["second_context_site"] = self.second_context_site
        if self.config.population_offsets:
            out["population_offset"] = self.population_offset
        if self.config.group_switches:
            out["switch"] = self.switch
        return out

    def _set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        for key in ("start", "jump", "jump_matrix", "emission"):
            setattr(self, key, weights[key].to(device=self.device, dtype=torch.float32).clone())
        if self.config.population_offsets:
            self.population_offset = weights["population_offset"].to(device=self.device, dtype=torch.float32).clone()
        if self.config.group_switches:
            switch = weights["switch"].to(device=self.device, dtype=torch.float32).clone()
            if bool(((switch < 0) | (switch > 1)).any()):
                raise ModelError(f"the {self.name} model's group switch probabilities are not within 0 and 1: "
                                 "the file is corrupt or was edited; train the model again")
            self.switch = switch
        W = self.config.context_window
        corrupt = ModelError(
            f"the {self.name} model's context sites are not each 1 to {W} sites before their site "
            "(context_window), or its two context sites of a site are one: the file is corrupt or was "
            "edited; train the model again"
        )
        site = torch.arange(self.n_sites, device=self.device)
        if "context_site" in weights:
            stored = weights["context_site"]
            sites = stored.to(device=self.device, dtype=torch.int64).clone()
            gap = site - sites  # 1 .. W, and 1 at site 0 (none)
            if stored.is_floating_point() or bool((gap < 1).any()) or bool((gap[1:] > W).any()) or int(sites[0]) != -1:
                raise corrupt
            self.context_site = sites
        if self.config.emission_order == 2:
            stored = weights["second_context_site"]
            sites = stored.to(device=self.device, dtype=torch.int64).clone()
            gap = site - sites  # 1 .. W, or none (-1; always at the first two sites)
            some = sites >= 0
            if (stored.is_floating_point() or bool((gap[some] < 1).any()) or bool((gap[some] > W).any())
                    or bool((sites[:2] != -1).any()) or bool((sites[some] == self.context_site[some]).any())):
                raise corrupt
            self.second_context_site = sites

    def _training_state(self) -> dict[str, Any]:
        return {
            "generator": self._generator.get_state(),
            **self._stopping_checkpoint(),
            "running": None if self._running is None else self._running.state(),
            "updates": int(self._updates),
        }

    def _restore_training_state(
        self, state: dict[str, Any], x: torch.Tensor, seed: int, labels: torch.Tensor | None
    ) -> None:
        self._generator = self._restore_generator(state["generator"], seed)
        self._x = x
        self._labels = labels
        self._stopping_restore(state, "frequency")
        running = state.get("running")
        self._running = None if running is None else _Counts.from_state(running, self.device)
        self._updates = int(state.get("updates", 0))

    def _log_likelihood(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        n = x.shape[0]
        bs = self.config.batch_size
        out = torch.empty(n, dtype=torch.float64, device=self.device)
        if labels is not None:
            for p in sorted(set(labels.tolist())):
                rows = torch.nonzero(labels == p).flatten()
                for i in range(0, rows.numel(), bs):
                    part = rows[i:i + bs]
                    out[part] = self._estep(x[part], p, None)
            return out
        P = self.start.shape[0]
        if P == 1:
            for i in range(0, n, bs):
                out[i:i + bs] = self._estep(x[i:i + bs], 0, None)
            return out
        counts = torch.tensor(self.population_counts, dtype=torch.float64, device=self.device)
        log_share = torch.log(counts / counts.sum())
        for i in range(0, n, bs):
            per_pop = self._loglik_every_population(x[i:i + bs])  # (b, P)
            out[i:i + bs] = torch.logsumexp(per_pop + log_share, dim=1)
        return out

    def _loglik_every_population(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x | p) of every row of ``x`` (B, L) 0/1 under every population, (B, P) float64:
        one forward recursion per population, each on the E-step's site-major buffers (about
        1.4x faster than the P recursions batched per site, whose slices were strided)."""
        return torch.stack([self._estep(x, p, None) for p in range(self.start.shape[0])], dim=1)

    def _sample(
        self, n: int, generator: torch.Generator, batch_size: int, labels: torch.Tensor | None,
        temperature: float = 1.0,
    ) -> torch.Tensor:
        L = self.n_sites
        out = torch.empty(n, L, dtype=torch.uint8, device=self.device)
        if n == 0:
            return out
        pops_all = labels if labels is not None else torch.zeros(n, dtype=torch.int64, device=self.device)
        # cumulative sums divided by their last element, so that no uniform draw falls past the
        # end (rounding) into the last cluster, which a zero of the row (another group) may forbid
        start_cdf = self.start.double().cumsum(-1)  # (P, K)
        start_cdf = start_cdf / start_cdf[..., -1:]
        jump_cdf = self.jump_matrix.double().cumsum(-1)  # (P, B, K, K)
        jump_cdf = jump_cdf / jump_cdf[..., -1:]
        K = self.config.n_states
        context = self.context_site.tolist()
        second = self.second_context_site.tolist()
        order = self.config.emission_order
        switching, offsets = self._switching, self._offsets
        for s in range(0, n, batch_size):
            pops = pops_all[s:s + batch_size]
            k = pops.numel()
            u = torch.rand(k, 1, generator=generator, device=self.device, dtype=torch.float64)
            z = torch.searchsorted(start_cdf[pops], u, right=True).squeeze(1).clamp_max(K - 1)  # (k,)
            before = torch.zeros(k, dtype=torch.int64, device=self.device)  # the allele at the context site
            for l in range(L):
                if l > 0:
                    moved = torch.rand(k, generator=generator, device=self.device) < self.jump[l - 1]
                    idx = torch.nonzero(moved).flatten()
                    if idx.numel():
                        cdf = jump_cdf[pops[idx], self._block_of(l - 1), z[idx]]  # (m, K)
                        if switching:  # a switch draws the new cluster from π_p, in any group
                            left = torch.rand(idx.numel(), generator=generator, device=self.device) < self.switch[pops[idx]]
                            cdf = torch.where(left.unsqueeze(1), start_cdf[pops[idx]], cdf)
                        v = torch.rand(idx.numel(), 1, generator=generator, device=self.device, dtype=torch.float64)
                        z[idx] = torch.searchsorted(cdf, v, right=True).squeeze(1).clamp_max(K - 1)
                ul = torch.rand(k, generator=generator, device=self.device)
                if order == 0:
                    theta = self.emission[l, z]
                else:
                    if context[l] >= 0:
                        before = out[s:s + k, context[l]].long()
                    if order == 2 and second[l] >= 0:
                        theta = self.emission[l, z, before + 2 * out[s:s + k, second[l]].long()]
                    else:
                        theta = self.emission[l, z, before]
                if offsets:
                    theta = _shifted(theta, self.population_offset[pops, l])
                if temperature != 1.0:
                    theta = _tempered(theta, temperature)
                out[s:s + k, l] = (ul < theta).to(torch.uint8)
        return out
