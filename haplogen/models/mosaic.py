"""Li-Stephens mosaics of the training haplotypes: exact likelihood, imputation-grade panels, sampling calibrated by a privacy self-audit.

The model (``--model mosaic``) is the copying model of Li & Stephens (2003) with the training
haplotypes as its reference panel (the *donors*). A haplotype ``x`` of population ``p`` (0/1,
length ``L``) is a mosaic of segments copied from the donors of ``p``:

1. the first donor ``z_1`` is drawn uniformly from the ``N_p`` donors of ``p``;
2. between neighbouring sites the copying switches with probability ``s`` (the *switch
   probability*, per site), to a donor drawn uniformly again (possibly the same);
3. each allele is the donor's, miscopied (flipped) with probability ``ε``.

Donor groups. Within each population the donors may be split into groups (k-means on their
principal components, ``donor_groups``; by default 1, 2, 4 or 8 chosen by the held-out
likelihood below); a haplotype then copies from one group, drawn with its share of the donors,
from its first site to its last, and its likelihood is the mixture over the groups. So an
artificial haplotype keeps an ancestry where no labels say it (a population of several
continents), instead of switching between all of them.

Likelihood. ``p(x | p)`` is the forward algorithm of this hidden Markov model over the donors;
as the switch target is uniform, a step costs ``O(N_p)``, so the exact log-likelihood of a
haplotype costs ``O(L N_p)``: linear in the number of SNPs, and in the number of donors. An
unlabelled haplotype's likelihood under a model trained with labels sums over the populations
with their training shares.

Fitting. ``s`` and ``ε`` are the two parameters; they are fitted by maximum likelihood of held-out
individuals (``validation_fraction`` of the training individuals, up to ``fit_haplotypes`` of their
haplotypes) copying from the others, by a pattern search in ``(log10 s, log10 ε)``: each epoch
scores the four neighbours of the best point so far at the current step, moves to the best of them,
or halves the step; the search ends when the step falls under ``min_step``. The released model
copies from *every* training haplotype.

Sampling, and why it is calibrated. A mosaic drawn at the likelihood's switch probability copies
segments as long as an unseen haplotype shares with the panel: on a dense region of a few
thousand haplotypes, hundreds of kb. Artificial haplotypes made of long exact segments of donors
lie closer to those donors than to anyone else, and a membership attack sees it (on the
benchmark's 10,000-SNP region, mean segments of 1 Mb: closer-to-train share 0.60, membership AUC
0.63; 200 kb: 0.54 and 0.51). So sampling uses its own switch probability, chosen at the end of
training by a *self-audit*: mosaics of the training side are drawn at ``s``, ``2s``, ``4s``...
and audited against the held-out individuals exactly as ``haplogen evaluate`` audits a set against
its holdout (the share of artificial haplotypes closer to a training haplotype than to a held-out
one, and the AUC of a nearest-distance membership attack); the longest segments whose two figures
are both within ``0.5 + privacy_margin`` are taken (when none is, the longest within the
self-audit's noise of the least leaky). The audited training haplotypes are a quarter
of the pool the audit's mosaics copy from (``audit_share``), as in ``haplogen evaluate`` after an
80/20 split (``sample_switch`` sets it by hand instead).
Longer segments make better imputation panels; shorter ones leak less.

Copying without replacement (``balanced``). Mosaics drawn independently copy donors with
replacement: at a site, a panel of N mosaics of N donors holds only about 1 - 1/e of the
donors' haplotypes, and a rare allele carried by one donor is missing from it a third of the
time. The artificial haplotypes of a cell (a batch of them) are therefore drawn together, as
crossovers between them: at the first site they take the donors in a random order, and at each
switch the haplotypes (and unused donors) that switch at a site pass their donors round among
themselves, so that at every site each donor is copied as often as any other, while each
haplotype alone is still a mosaic of segments of about ``1 / s`` (:func:`_balanced_copying`). On
track B (one model, the same sampling switch, ``benchmarks/mosaic_frontier.py``): imputation r²
0.887 (MAF <= 1%: 0.810) against 0.884 (0.790) with replacement at the self-audit's segments,
0.966 (0.952) against 0.965 (0.942) at the fitted ones, and at segments of the whole region 0.981
(0.970), the real panel's 0.982 (0.972), where drawing with replacement stays at 0.972 (0.942); the
audit's figures moved within their noise (closer-to-train 0.522 against 0.536, 0.577 against 0.597).

The model file holds the training haplotypes: it *is* the data. Share the artificial genomes,
never a mosaic model file (``haplogen evaluate`` shows why: its likelihood membership attack on a
copying model is near-perfect).

Related models: Li & Stephens (2003); the copying model behind Beagle, IMPUTE and SHAPEIT; HAPNEST
(Wharrie et al. 2023) resamples biobank haplotypes as mosaics. haplogen's ``hmm`` is the same chain
over a few dozen learnt haplotype clusters instead of the donors themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Iterator

import numpy as np
import torch

from ..errors import InputError, ModelError
from .base import GenerativeModel
from .config import ModelConfig, NonNegativeInt, PositiveFloat, PositiveInt, Range

__all__ = ["MosaicConfig", "Mosaic"]

FAMILY = "mosaic"

#: the search's bounds of the switch and miscopy probabilities (log10)
_LOG_SWITCH = (-7.0, 0.0)
_LOG_MISCOPY = (-7.0, math.log10(0.2))
#: the search's first miscopy probability (its first switch probability is 10 per L sites)
_INITIAL_MISCOPY = 1e-3
#: the first step of the search (log10 units) and the self-audit's largest number of doublings
_INITIAL_STEP = 0.5
_MAX_DOUBLINGS = 24
#: the numbers of donor groups tried when donor_groups is 0, the fewest donors a group keeps on
#: average, and the sites (at most) whose principal components the groups are found on
_GROUP_CHOICES = (1, 2, 4, 8)
_MIN_GROUP_DONORS = 20
_GROUP_SITES = 2000
_GROUP_PCS = 10
#: nats per held-out haplotype by which more donor groups must beat fewer to be taken
_GROUP_GAIN = 0.5


@dataclass(frozen=True)
class MosaicConfig(ModelConfig):
    """Hyper-parameters of :class:`Mosaic`."""

    # an upper bound on the steps of the search of the switch and miscopy probabilities; it ends
    # by itself when its step falls under min_step (10-15 steps on the benchmark's data)
    epochs: NonNegativeInt = 40
    # share of training individuals held out as the copying targets that fit the two
    # probabilities and as the holdout of the self-audit (both haplotypes of an individual stay
    # on one side). The released model copies from them too, so holding out more costs the
    # model nothing and makes the self-audit less noisy; with 0.2 its pool is the whole training
    # side (audit_share 0.25 of it are as many members as there are held-out haplotypes)
    validation_fraction: Annotated[float, Range(gt=0, lt=1)] = 0.2
    # held-out haplotypes whose likelihood is maximised (at most; the cost of a search step is
    # fit_haplotypes x donors x sites)
    fit_haplotypes: PositiveInt = 256
    # the search ends when its step (in log10 of the probabilities) falls under this
    min_step: PositiveFloat = 0.05
    # the self-audit takes the longest segments whose closer-to-train share and membership AUC
    # are both at most 0.5 + privacy_margin (haplogen evaluate's pass limit is 0.5 + 0.05; 0.03
    # leaves two standard errors of the self-audit below it)
    privacy_margin: Annotated[float, Range(ge=0, le=0.5)] = 0.03
    # the sampling switch probability per site, by hand (none: the self-audit's)
    sample_switch: Annotated[float, Range(gt=0, le=1)] | None = None
    # at every site the artificial haplotypes (of a batch, of a cell) copy the donors without
    # replacement: each donor as often as any other, by crossovers between the artificial
    # haplotypes (_balanced_copying). A panel of N mosaics of N donors then holds every donor's
    # haplotype at every site, where mosaics drawn independently hold 1 - 1/e of them: more of the
    # training haplotypes' local variation for an imputation panel, from the same segments (each
    # haplotype alone is still a mosaic of segments of about 1 / switch). On track B imputation r²
    # 0.887 (MAF <= 1%: 0.810) against 0.884 (0.790) at the same switch; see the module docstring.
    # false: independent Li-Stephens draws (model files made before this setting)
    balanced: bool = True
    # held-out haplotypes audited at each switch probability (at most)
    audit_haplotypes: PositiveInt = 1000
    # the self-audit's mosaics copy from a pool of training haplotypes of which the audited
    # members are this share, as haplogen evaluate audits as many training haplotypes as the
    # holdout has (0.25 after haplogen split's default 80/20). The closer-to-train share grows
    # with it: on track B the evaluation found 0.542 where a self-audit of 11% had found 0.500
    audit_share: Annotated[float, Range(gt=0, le=1)] = 0.25
    # audits of each switch probability, averaged (new pool, members and mosaics each time)
    audit_repeats: PositiveInt = 3
    # groups of donors within each population (k-means on the donors' principal components): an
    # artificial haplotype copies from one group from end to end, so that it keeps an ancestry
    # (without labels, a continent) instead of switching between all donors. 0: the number of
    # 1, 2, 4 or 8 that gives the held-out individuals the highest likelihood, by half a nat per
    # haplotype or more over fewer (each group keeps 20 donors or more); fewer when the
    # self-audit passes with none of the likelihood's
    donor_groups: NonNegativeInt = 0
    # haplotypes scored (or drawn) at once: memory is batch_size x donors x 4 bytes
    batch_size: PositiveInt = 256


#: small settings that make the contract tests fast
TEST_SETTINGS = {"epochs": 3, "validation_fraction": 0.25, "fit_haplotypes": 16, "batch_size": 16}


def _forward(targets: torch.Tensor, donors: torch.Tensor, switch: float, miscopy: float) -> torch.Tensor:
    """log p(target) under the copying model, (B,) float64.

    ``targets`` (L, B) and ``donors`` (L, N) are uint8 alleles, site-major. The forward
    probabilities are renormalised at every site, their sums' logs adding up to the likelihood.
    """
    L, B = targets.shape
    N = donors.shape[1]
    a = torch.full((B, N), 1.0 / N, dtype=torch.float32, device=targets.device)
    ll = torch.zeros(B, dtype=torch.float64, device=targets.device)
    flip = 1.0 - 2.0 * miscopy
    for l in range(L):
        if l:
            a.mul_(1.0 - switch).add_(switch / N)
        match = donors[l].unsqueeze(0) == targets[l].unsqueeze(1)  # (B, N)
        a.mul_(match.to(torch.float32).mul_(flip).add_(miscopy))
        c = a.sum(1)
        ll += c.double().log()
        a.div_(c.unsqueeze(1))
    return ll


def _smoothed(figures: np.ndarray) -> np.ndarray:
    """Each row of ``figures`` (n, k) averaged with its neighbours, weights 1/4, 1/2, 1/4 (at an
    end 2/3 itself, 1/3 its one neighbour)."""
    if len(figures) < 2:
        return figures.copy()
    padded = np.vstack([figures[:1], figures, figures[-1:]])
    out = (padded[:-2] + 2 * padded[1:-1] + padded[2:]) / 4
    out[0] = (2 * figures[0] + figures[1]) / 3
    out[-1] = (2 * figures[-1] + figures[-2]) / 3
    return out


def _preferred_groups(values: list[float]) -> int:
    """Index of the number of donor groups to take, given the held-out log-likelihood of each
    (in increasing numbers of groups): more only for a clear gain, _GROUP_GAIN nats per held-out
    haplotype over the best of fewer."""
    best = 0
    for i in range(1, len(values)):
        if values[i] > values[best] + _GROUP_GAIN:
            best = i
    return best


def _uniform_rows(lo: torch.Tensor, count: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A row drawn uniformly from ``lo[i] .. lo[i] + count[i] - 1`` for each i (int64; one
    float64 uniform each)."""
    u = torch.rand(lo.numel(), generator=generator, device=lo.device, dtype=torch.float64)
    return lo + torch.minimum((u * count.double()).long(), count - 1)


def _independent_copying(
    codes: torch.Tensor, offsets: torch.Tensor, switch: float, L: int, generator: torch.Generator
) -> Iterator[torch.Tensor]:
    """The donor (a row of the panel split by ``offsets``) each of ``n`` haplotypes of cells
    ``codes`` (n,) copies at each of ``L`` sites, site after site: the Li-Stephens chain, a
    donor of the cell drawn uniformly at the first site and at every switch (probability
    ``switch`` per site), independently for every haplotype."""
    n, dev = codes.numel(), codes.device
    lo = offsets[codes]
    count = offsets[codes + 1] - lo
    current = _uniform_rows(lo, count, generator)
    for l in range(L):
        if l:
            moved = torch.nonzero(torch.rand(n, generator=generator, device=dev) < switch).flatten()
            if moved.numel():
                current[moved] = _uniform_rows(lo[moved], count[moved], generator)
        yield current.clone()


def _balanced_copying(
    codes: torch.Tensor, offsets: torch.Tensor, switch: float, L: int, generator: torch.Generator
) -> Iterator[torch.Tensor]:
    """As :func:`_independent_copying`, but every donor of a cell is copied as often as any other
    at every site: the ``n_c`` haplotypes of cell ``c`` and its ``N_c`` donors.

    Each cell has ``S_c = max(n_c, N_c)`` *slots*: the first ``n_c`` are the haplotypes drawn,
    the others (when ``n_c < N_c``) hold the donors no haplotype copies at the site. At the first
    site the slots take the donors in a random order (each donor ``S_c / N_c`` times, rounded);
    at each later site every slot breaks with probability ``switch``, and the breaking slots of a
    cell pass their donors round a cycle in a random order (each takes the next one's donor; a
    lone breaking slot takes a partner among the cell's other slots). A donor so leaves one slot
    only for another: at every site the haplotypes copy the donors without replacement (with
    replacement, a panel of N mosaics of N donors holds only 1 - 1/e of the donors' haplotypes at
    a site), while each haplotype alone is a mosaic whose switches come at about ``switch`` per
    site (a little more where a cell has few slots: the partners), each to a donor of the cell
    drawn uniformly among the others' current ones."""
    dev = codes.device
    C = offsets.numel() - 1
    wanted = torch.bincount(codes, minlength=C)
    donors = offsets[1:] - offsets[:-1]
    slot_donor, slot_cell, slot_row = [], [], []
    for c in torch.nonzero(wanted).flatten().tolist():
        n_c, N_c = int(wanted[c]), int(donors[c])
        S = max(n_c, N_c)
        order = torch.cat([torch.randperm(N_c, generator=generator, device=dev) for _ in range(-(-S // N_c))])
        slot_donor.append(order[:S] + offsets[c])
        slot_cell.append(torch.full((S,), c, dtype=torch.int64, device=dev))
        rows = torch.full((S,), -1, dtype=torch.int64, device=dev)
        rows[:n_c] = torch.nonzero(codes == c).flatten()
        slot_row.append(rows)
    donor, cell, row = torch.cat(slot_donor), torch.cat(slot_cell), torch.cat(slot_row)
    tracked = torch.nonzero(row >= 0).flatten()
    tracked = tracked[torch.argsort(row[tracked])]  # the slot of haplotype i is tracked[i]
    size = torch.bincount(cell, minlength=C)
    start = size.cumsum(0) - size
    T = donor.numel()
    for l in range(L):
        if l:
            moving = torch.nonzero(torch.rand(T, generator=generator, device=dev) < switch).flatten()
            if moving.numel():
                per_cell = torch.bincount(cell[moving], minlength=C)
                lone = (per_cell == 1) & (size > 1)
                if bool(lone.any()):
                    alone = moving[lone[cell[moving]]]
                    c = cell[alone]
                    skip = 1 + (torch.rand(alone.numel(), generator=generator, device=dev, dtype=torch.float64)
                                * (size[c] - 1).double()).long().clamp_max(size[c] - 2)
                    moving = torch.cat([moving, start[c] + (alone - start[c] + skip) % size[c]])
                # a random order within each cell: sort by cell, then by a uniform key in [0, 1/2)
                key = cell[moving].double() + 0.5 * torch.rand(moving.numel(), generator=generator, device=dev,
                                                                 dtype=torch.float64)
                moving = moving[torch.argsort(key)]
                c = cell[moving]
                first = torch.ones_like(c, dtype=torch.bool)
                first[1:] = c[1:] != c[:-1]
                at = torch.arange(c.numel(), device=dev)
                head = torch.cummax(torch.where(first, at, torch.zeros_like(at)), 0).values
                length = torch.bincount(c, minlength=C)[c]
                donor[moving] = donor[moving[head + (at - head + 1) % length]]
        yield donor[tracked]


class Mosaic(GenerativeModel):
    """Li-Stephens copying model over the training haplotypes (see the module docstring).

    Weights
    -------
    donors : uint8 (N, L)
        The training haplotypes, ordered by population.
    donor_offsets : int64 (C + 1,)
        The donors of *cell* ``c`` (a group of donors within a population) are rows
        ``donor_offsets[c]`` to ``donor_offsets[c + 1]``.
    cell_population : int64 (C,)
        The population of each cell (non-decreasing: a population's cells are consecutive).
    group_fit : float64 (len(_GROUP_CHOICES), 3)
        The numbers of donor groups tried, the held-out mean log-likelihood of each, and 1 for
        the one the model uses (rows of zeros: not tried).
    rates : float64 (3,)
        The fitted switch and miscopy probabilities per site, and the sampling switch probability.
    audit : float64 (_MAX_DOUBLINGS + 1, 5)
        The self-audit: each switch probability tried, its closer-to-train share and membership
        AUC (means over the repeats), and the two smoothed (rows of zeros: not tried).
    """

    name = FAMILY
    Config = MosaicConfig
    conditional = True
    tractable = True
    data_dtype = torch.uint8
    panel_weights = frozenset({"donors", "donor_offsets", "cell_population"})
    legacy_settings = {"balanced": False}

    def __init__(self, config: MosaicConfig, n_sites: int) -> None:
        super().__init__(config, n_sites)
        P = max(1, len(self.populations or ()))
        dev = self.device
        self.donors = torch.zeros(0, self.n_sites, dtype=torch.uint8, device=dev)
        self.donor_offsets = torch.zeros(P + 1, dtype=torch.int64, device=dev)
        self.cell_population = torch.arange(P, dtype=torch.int64, device=dev)
        self.group_fit = torch.zeros(len(_GROUP_CHOICES), 3, dtype=torch.float64, device=dev)
        start_switch = min(0.5, 10.0 / self.n_sites)
        self.rates = torch.tensor([start_switch, _INITIAL_MISCOPY, start_switch], dtype=torch.float64, device=dev)
        self.audit = torch.full((_MAX_DOUBLINGS + 1, 5), 0.0, dtype=torch.float64, device=dev)
        self._donors_t: torch.Tensor | None = None

    # ------------------------------------------------------------- helpers
    def _panel(self, rows: torch.Tensor, cells: torch.Tensor, C: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(donors (n, L) ordered by cell, offsets (C + 1,)) of the rows ``rows`` of the data, whose
        cells are ``cells`` (a code per row of the data)."""
        c = cells[rows]
        order = rows[torch.argsort(c, stable=True)]
        offsets = torch.zeros(C + 1, dtype=torch.int64, device=self.device)
        offsets[1:] = torch.bincount(c, minlength=C).cumsum(0)
        return self._x[order], offsets

    def _codes_of(self, rows: torch.Tensor) -> torch.Tensor:
        if self._labels is None:
            return torch.zeros(rows.numel(), dtype=torch.int64, device=self.device)
        return self._labels[rows]

    def _mixture(
        self, x_t: torch.Tensor, pops: torch.Tensor | None, donors_t: torch.Tensor, offsets: torch.Tensor,
        cell_pop: torch.Tensor, switch: float, miscopy: float,
    ) -> torch.Tensor:
        """log p(x | its population) of each column of ``x_t`` (L, B) (``pops`` (B,)), or the
        marginal log p(x) when ``pops`` is None: the mixture over the cells of the population (of
        every population), each weighted by its share of the donors. ``donors_t`` (L, N) are the
        donors, split into cells by ``offsets``; ``cell_pop`` (C,) is each cell's population.
        -inf where a population has no donor."""
        B = x_t.shape[1]
        counts = (offsets[1:] - offsets[:-1]).double()
        if pops is None:
            weights = counts / counts.sum()
        else:
            totals = torch.zeros(int(cell_pop.max()) + 1 if cell_pop.numel() else 1, dtype=torch.float64,
                                 device=self.device).index_add_(0, cell_pop, counts)
            weights = counts / totals[cell_pop].clamp_min(1.0)
        terms = torch.full((cell_pop.numel(), B), -math.inf, dtype=torch.float64, device=self.device)
        bs = self.config.batch_size
        for c in range(cell_pop.numel()):
            lo, hi = int(offsets[c]), int(offsets[c + 1])
            if hi <= lo:
                continue
            cols = (torch.arange(B, device=self.device) if pops is None
                    else torch.nonzero(pops == cell_pop[c]).flatten())
            panel = donors_t[:, lo:hi]
            for i in range(0, cols.numel(), bs):
                part = cols[i:i + bs]
                terms[c, part] = math.log(float(weights[c])) + _forward(x_t[:, part], panel, switch, miscopy)
        return torch.logsumexp(terms, dim=0)

    def _cells_for(self, pops: torch.Tensor, offsets: torch.Tensor, cell_pop: torch.Tensor,
                   generator: torch.Generator) -> torch.Tensor:
        """A cell for each haplotype of population ``pops``, drawn with the cells' shares of the
        population's donors (the cell of a donor of the population drawn uniformly)."""
        first = torch.searchsorted(cell_pop, pops)  # the population's first cell
        last = torch.searchsorted(cell_pop, pops, right=True)  # one past its last
        lo, hi = offsets[first], offsets[last]
        if bool((hi <= lo).any()):
            raise InputError("a population to sample has no donor haplotypes in the model")
        return torch.searchsorted(offsets, _uniform_rows(lo, hi - lo, generator), right=True) - 1

    def _fit_value(self, log_switch: float, log_miscopy: float) -> float:
        """Mean log-likelihood of the fitting targets at a point of the search (cached)."""
        key = (round(log_switch, 9), round(log_miscopy, 9))
        if key not in self._cache:
            ll = self._mixture(self._fit_t, self._fit_codes, self._train_t, self._train_offsets,
                               self._population_cells, 10.0**log_switch, 10.0**log_miscopy)
            self._cache[key] = float(ll.mean()) if ll.numel() else 0.0
        return self._cache[key]

    def _prepare(self, x: torch.Tensor, labels: torch.Tensor | None) -> None:
        """The run's data views, from ``x`` and the split in ``self._state`` (cells: the populations)."""
        self._x, self._labels = x, labels
        P = max(1, len(self.populations or ()))
        train_rows, fit_rows = self._state["train_rows"], self._state["fit_rows"]
        self._codes = self._codes_of(torch.arange(x.shape[0], device=self.device))  # (N,) population codes
        self._population_cells = torch.arange(P, dtype=torch.int64, device=self.device)
        train, self._train_offsets = self._panel(train_rows, self._codes, P)
        self._train_t = train.t().contiguous()
        self._fit_t = x[fit_rows].t().contiguous()
        self._fit_codes = self._codes_of(fit_rows)
        self._cache: dict[tuple[float, float], float] = {}
        self._use_cells(self._codes, self._population_cells)

    def _group_cells(self, groups: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(cell of every row of the data (N,), population of each cell (C,)) with up to ``groups``
        k-means groups of each population's haplotypes, on the principal components of up to
        _GROUP_SITES evenly spaced sites (each group 20 donors or more on average)."""
        from sklearn.cluster import KMeans

        N, L = self._x.shape
        codes = self._codes
        P = max(1, len(self.populations or ()))
        sites = torch.linspace(0, L - 1, min(L, _GROUP_SITES), device=self.device).round().long().unique()
        cells = torch.zeros(N, dtype=torch.int64, device=self.device)
        cell_pop: list[int] = []
        for p in range(P):
            rows = torch.nonzero(codes == p).flatten()
            k = max(1, min(groups, rows.numel() // _MIN_GROUP_DONORS))
            if k > 1:
                block = self._x[rows][:, sites].float()
                q = min(_GROUP_PCS, min(block.shape) - 1)
                seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator, device=self.device))
                with torch.random.fork_rng(devices=[]):  # a randomised SVD, seeded, leaving torch's own state alone
                    torch.manual_seed(seed)
                    u, sv, _ = torch.pca_lowrank(block, q=q, center=True)
                pcs = (u * sv).cpu().numpy()
                found = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(pcs)
                # groups numbered by size, largest first (a stable order for equal seeds)
                sizes = np.bincount(found, minlength=k)
                rank = np.empty(k, dtype=np.int64)
                rank[np.argsort(-sizes, kind="stable")] = np.arange(k)
                local = torch.from_numpy(rank[found]).to(self.device)
                k = int((sizes > 0).sum())
            else:
                local = torch.zeros(rows.numel(), dtype=torch.int64, device=self.device)
            cells[rows] = len(cell_pop) + local
            cell_pop.extend([p] * k)
        return cells, torch.tensor(cell_pop, dtype=torch.int64, device=self.device)

    def _group_options(self, switch: float, miscopy: float) -> list[tuple[int, torch.Tensor, torch.Tensor]]:
        """``(groups, cells, cell_pop)`` to try, in order: the number of donor groups with the
        best held-out likelihood (``donor_groups``, or the best of _GROUP_CHOICES, recorded in
        :attr:`group_fit`), then each smaller one tried, from the largest (privacy's fallbacks)."""
        generator = self._new_generator(self._seed + 2)
        choices = (self.config.donor_groups,) if self.config.donor_groups > 0 else _GROUP_CHOICES
        fit_rows, train_rows = self._state["fit_rows"], self._state["train_rows"]
        self.group_fit = torch.zeros(len(_GROUP_CHOICES), 3, dtype=torch.float64, device=self.device)
        options = []
        for i, groups in enumerate(choices):
            cells, cell_pop = self._group_cells(groups, generator)
            if len(choices) == 1 or not fit_rows.numel():
                value = 0.0
            else:
                train, offsets = self._panel(train_rows, cells, cell_pop.numel())
                value = float(self._mixture(self._fit_t, self._fit_codes, train.t().contiguous(), offsets, cell_pop,
                                            switch, miscopy).mean())
            self.group_fit[i] = torch.tensor([groups, value, 0.0], dtype=torch.float64)
            options.append((value, groups, cells, cell_pop))
        best = _preferred_groups([value for value, *_ in options])
        order = [best] + sorted((i for i in range(len(options)) if options[i][1] < options[best][1]),
                                key=lambda i: -options[i][1])
        return [options[i][1:] for i in order]

    def _use_cells(self, cells: torch.Tensor, cell_pop: torch.Tensor) -> None:
        """Make ``cells`` (a cell per row of the data) the model's groups of donors."""
        self._cells = cells
        self.donors, self.donor_offsets = self._panel(torch.arange(self._x.shape[0], device=self.device),
                                                      cells, cell_pop.numel())
        self.cell_population = cell_pop.clone()
        self._donors_t = None

    # -------------------------------------------------------------- hooks
    def _initialise(self, x: torch.Tensor, seed: int, labels: torch.Tensor | None) -> None:
        self._seed = int(seed)
        generator = self._new_generator(seed)
        train_rows, val_rows = self._validation_split(x.shape[0], self.config.validation_fraction, generator)
        # targets whose population has donors on the training side (a population held out whole
        # cannot be copied from)
        if labels is not None and val_rows.numel():
            have = torch.bincount(labels[train_rows], minlength=len(self.populations or ())) > 0
            val_rows = val_rows[have[labels[val_rows]]]
        fit_rows = val_rows
        if val_rows.numel() > self.config.fit_haplotypes:
            pick = torch.randperm(val_rows.numel(), generator=generator, device=self.device)[: self.config.fit_haplotypes]
            fit_rows = val_rows[torch.sort(pick).values]
        start = [math.log10(float(self.rates[0])), math.log10(_INITIAL_MISCOPY)]
        self._state = {
            "train_rows": train_rows, "val_rows": val_rows, "fit_rows": fit_rows,
            "point": start, "step": _INITIAL_STEP if fit_rows.numel() else 0.0, "best": -math.inf,
        }
        self._prepare(x, labels)
        self.rates = torch.tensor([10.0 ** start[0], 10.0 ** start[1], 10.0 ** start[0]],
                                  dtype=torch.float64, device=self.device)

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        st = self._state
        if st["step"] >= self.config.min_step:
            ls, le = st["point"]
            if st["best"] == -math.inf:
                st["best"] = self._fit_value(ls, le)
            step = st["step"]
            moves = [(ls + step, le), (ls - step, le), (ls, le + step), (ls, le - step)]
            moves = [(min(max(a, _LOG_SWITCH[0]), _LOG_SWITCH[1]), min(max(b, _LOG_MISCOPY[0]), _LOG_MISCOPY[1]))
                     for a, b in moves]
            values = [self._fit_value(a, b) for a, b in moves]
            k = int(np.argmax(values))
            if values[k] > st["best"] + 1e-9:
                st["point"], st["best"] = list(moves[k]), values[k]
            else:
                st["step"] = step / 2
        ls, le = st["point"]
        self.rates = torch.tensor([10.0**ls, 10.0**le, 10.0**ls], dtype=torch.float64, device=self.device)
        best = st["best"] if st["best"] > -math.inf else 0.0
        return {"nll_val": -best / self.n_sites, "switch": 10.0**ls, "miscopy": 10.0**le, "step": st["step"]}

    def _converged(self) -> bool:
        return self._state["step"] < self.config.min_step

    def _finish(self) -> None:
        """Choose the donor groups and the sampling switch probability: the self-audit of the
        groups the likelihood chose, then of fewer groups until one passes (the least leaky of all
        when none does); or ``sample_switch`` with the likelihood's groups."""
        switch, miscopy = float(self.rates[0]), float(self.rates[1])
        options = self._group_options(switch, miscopy)
        self.audit = torch.full((_MAX_DOUBLINGS + 1, 5), 0.0, dtype=torch.float64, device=self.device)
        chosen = self.config.sample_switch
        if chosen is not None or self._state["val_rows"].numel() < 2:
            self._use_cells(*options[0][1:])
            used = options[0][0]
            chosen = switch if chosen is None else chosen
        else:
            best = None
            for groups, cells, cell_pop in options:
                self._use_cells(cells, cell_pop)
                candidate, passed, leak, rows = self._self_audit(switch, miscopy)
                if best is None or passed or (not best[2] and leak < best[3]):
                    best = ((groups, cells, cell_pop), candidate, passed, leak, rows)
                if passed:
                    break
            (used, cells, cell_pop), chosen, _, _, self.audit = best
            self._use_cells(cells, cell_pop)
        self.group_fit[:, 2] = (self.group_fit[:, 0] == used).to(torch.float64)
        self.rates = torch.tensor([switch, miscopy, chosen], dtype=torch.float64, device=self.device)

    def training_notes(self) -> list[str]:
        switch, miscopy, sampling = (float(v) for v in self.rates)
        notes = [
            f"copying switch probability {switch:.3g} per site (mean segment {1 / switch:,.0f} SNPs) and miscopy "
            f"probability {miscopy:.2g}, fitted on held-out individuals; artificial haplotypes are drawn with a "
            f"switch probability of {sampling:.3g} (mean segment {1 / sampling:,.0f} SNPs)"
            + (", copying the donors without replacement at every site (within each batch of generate)"
               if self.config.balanced else ", each copying its donors independently of the others")
        ]
        P = max(1, len(self.populations or ()))
        fit = self.group_fit[self.group_fit[:, 0] > 0].tolist()
        if len(fit) > 1:
            best = fit[_preferred_groups([r[1] for r in fit])]
            used = next((r for r in fit if r[2] > 0), best)
            notes.append(
                f"up to {int(used[0])} group(s) of donors per population ({self.cell_population.numel()} in {P} "
                f"population(s); k-means on principal components), of held-out log-likelihood "
                + ", ".join(f"{int(g)}: {v:.3f}" for g, v, _ in fit)
                + (f" (fewer than the likelihood's {int(best[0])}: with more, no sampling passed the self-audit)"
                   if used[0] < best[0] else "")
            )
        tried = self.audit[self.audit[:, 0] > 0].tolist()
        limit = 0.5 + self.config.privacy_margin
        if self.config.sample_switch is not None:
            notes.append("the sampling switch probability was set by hand (sample_switch): no self-audit was run")
        elif tried:
            row = min(tried, key=lambda r: abs(r[0] - sampling))
            closer, auc = row[3], row[4]
            if closer <= limit + 1e-12 and auc <= limit + 1e-12:
                notes.append(
                    f"the self-audit against the held-out individuals passed there (closer-to-train share "
                    f"{closer:.3f}, membership AUC {auc:.3f}, smoothed over {len(tried)} switch probabilities; "
                    f"limit {limit:.2f})"
                )
            else:
                from ..privacy.audit import PrivacyThresholds

                t = PrivacyThresholds()  # haplogen evaluate's pass limits
                passes = closer <= 0.5 + t.closer_to_train_pass and auc <= 0.5 + t.mia_auc_pass
                notes.append(
                    f"no switch probability passed the self-audit against the held-out individuals (taken: the "
                    f"longest segments within its noise of the least leaky, closer-to-train share {closer:.3f}, "
                    f"membership AUC {auc:.3f}; limit {limit:.2f}"
                    + (", within haplogen evaluate's pass limits)" if passes else
                       ", beyond haplogen evaluate's pass limits): the artificial haplotypes may leak their donors")
                    + "; audit them with haplogen evaluate, and with few training haplotypes or scattered SNPs "
                    "prefer --model hmm"
                )
        else:
            notes.append("too few held-out individuals for a self-audit: the fitted switch probability is used")
        notes.append(
            "model.pt holds the training haplotypes (the model copies from them): keep it where the data "
            "may be kept, and share only the artificial genomes"
        )
        return notes

    def _self_audit(self, switch: float, miscopy: float) -> tuple[float, bool, float, torch.Tensor]:
        """``(switch probability, passed, leak, figures)``: the smallest ``switch * 2^k`` (up to 1)
        whose mosaics of the training side (in the model's groups) pass the audit against the
        held-out individuals within ``privacy_margin``; ``leak`` is its larger smoothed figure,
        ``figures`` the rows of :attr:`audit`.

        Each switch probability is audited ``audit_repeats`` times (a new pool, new members and
        new mosaics each time), and the mean figures are smoothed along the switch probabilities
        (weights 1/4, 1/2, 1/4 of the neighbours), so that the choice rests on the trend rather
        than on one noisy figure. The trend is not monotone: long segments leak by copying, and
        segments of a few SNPs leak too, the other way (independent sites at the pool's own allele
        frequencies, the members among them: Homer et al. 2008); on track B the closer-to-train
        share falls from 0.59 at the fitted switch to 0.52 at 16 times it and rises to 0.65 at 1.
        When no switch probability passes, the longest segments within one standard error of the
        least leaky are taken (and ``training_notes`` says so): on track B the least leaky of two
        draws of the self-audit was 128-SNP segments once and 257 the other, 0.003 apart; their
        imputation r² differ by 0.1."""
        from ..privacy.audit import nearest_membership

        generator = self._new_generator(self._seed + 1)
        st = self._state
        val_rows, train_rows = st["val_rows"], st["train_rows"]
        m = min(val_rows.numel(), self.config.audit_haplotypes)
        held = val_rows[torch.randperm(val_rows.numel(), generator=generator, device=self.device)[:m]]
        held_x = self._x[held].cpu().numpy()
        codes = self._codes_of(held)
        # the pool the mosaics copy from: audit_share of it are the members, each cell keeping
        # its share (and at least one donor)
        ratio = min(1.0, m / (self.config.audit_share * train_rows.numel()))
        cells_t = self._cells[train_rows]
        C = self.cell_population.numel()
        switches = []
        for k in range(_MAX_DOUBLINGS + 1):
            switches.append(min(1.0, switch * 2.0**k))
            if switches[-1] >= 1.0:
                break
        figures = np.zeros((len(switches), 2))
        for _ in range(self.config.audit_repeats):
            pool = []
            for c in range(C):
                rows = train_rows[cells_t == c]
                if rows.numel():
                    keep = max(1, round(rows.numel() * ratio))
                    pool.append(rows[torch.randperm(rows.numel(), generator=generator, device=self.device)[:keep]])
            pool_rows = torch.sort(torch.cat(pool)).values
            members = pool_rows[torch.randperm(pool_rows.numel(), generator=generator, device=self.device)[:m]]
            pool_x, pool_offsets = self._panel(pool_rows, self._cells, C)
            pool_t = pool_x.t().contiguous()
            member_x = self._x[members].cpu().numpy()
            for k, candidate in enumerate(switches):
                cells = self._cells_for(codes, pool_offsets, self.cell_population, generator)
                syn = self._draw(cells, generator, pool_t, pool_offsets, candidate, miscopy).cpu().numpy()
                audit = nearest_membership(member_x, held_x, syn)  # as haplogen evaluate audits
                figures[k] += (audit["closer_to_train"], audit["mia_auc"])
        figures /= self.config.audit_repeats
        smooth = _smoothed(figures)
        limit = 0.5 + self.config.privacy_margin
        passing = np.flatnonzero((smooth <= limit + 1e-12).all(axis=1))
        if passing.size:
            chosen = int(passing[0])
        else:
            # the longest segments within the self-audit's noise of the least leaky: one standard
            # error of a smoothed figure (a share of m haplotypes, over the repeats, through the
            # 1/4-1/2-1/4 weights: about 0.006 for 800 held-out haplotypes and three repeats)
            noise = math.sqrt(0.25 / (m * self.config.audit_repeats) * 0.375)
            leak = smooth.max(axis=1)
            chosen = int(np.flatnonzero(leak <= leak.min() + noise)[0])
        rows = torch.zeros(_MAX_DOUBLINGS + 1, 5, dtype=torch.float64, device=self.device)
        for k, candidate in enumerate(switches):
            rows[k] = torch.tensor([candidate, *figures[k], *smooth[k]], dtype=torch.float64)
        return switches[chosen], bool(passing.size), float(smooth[chosen].max()), rows

    def _draw(
        self, codes: torch.Tensor, generator: torch.Generator, donors_t: torch.Tensor, offsets: torch.Tensor,
        switch: float, miscopy: float,
    ) -> torch.Tensor:
        """Mosaics (n, L) uint8 of the donors ``donors_t`` (L, N) of each one's cell ``codes``."""
        n, L = codes.numel(), donors_t.shape[0]
        out = torch.empty(n, L, dtype=torch.uint8, device=self.device)
        if n == 0:
            return out
        if bool((offsets[codes + 1] == offsets[codes]).any()):
            raise InputError("a cell to sample has no donor haplotypes in the model")
        copying = _balanced_copying if self.config.balanced else _independent_copying
        for l, current in enumerate(copying(codes, offsets, switch, L, generator)):
            allele = donors_t[l, current]
            flip = torch.rand(n, generator=generator, device=self.device) < miscopy
            out[:, l] = allele ^ flip.to(torch.uint8)
        return out

    def _weights(self) -> dict[str, torch.Tensor]:
        return {"donors": self.donors, "donor_offsets": self.donor_offsets, "cell_population": self.cell_population,
                "rates": self.rates, "audit": self.audit, "group_fit": self.group_fit}

    def _set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        donors, offsets, cell_pop = weights["donors"], weights["donor_offsets"], weights["cell_population"]
        P = max(1, len(self.populations or ()))
        if (offsets.numel() != cell_pop.numel() + 1 or offsets[0] != 0 or int(offsets[-1]) != donors.shape[0]
                or bool((offsets[1:] <= offsets[:-1]).any())):
            raise ModelError(
                f"the mosaic model's donor offsets {offsets.tolist()[:20]} do not split its {donors.shape[0]} donors "
                f"into {cell_pop.numel()} non-empty groups; the file is corrupt or was edited"
            )
        if (bool((cell_pop[1:] < cell_pop[:-1]).any()) or bool((cell_pop < 0).any())
                or not torch.equal(torch.unique(cell_pop), torch.arange(P, device=cell_pop.device))):
            raise ModelError(
                f"the mosaic model's groups belong to populations {cell_pop.tolist()[:20]}, not to each of its {P} "
                "population(s) in order; the file is corrupt or was edited"
            )
        rates = weights["rates"]
        if not bool(((rates > 0) & (rates <= 1)).all()):
            raise ModelError(f"the mosaic model's probabilities {rates.tolist()} are not in (0, 1]; the file was edited")
        self.donors = donors.clone()
        self.donor_offsets = offsets.clone()
        self.cell_population = cell_pop.clone()
        self.rates = rates.clone()
        self.audit = weights["audit"].clone()
        self.group_fit = weights["group_fit"].clone()
        self._donors_t = None

    def _training_state(self) -> dict[str, Any]:
        st = self._state
        return {
            "train_rows": st["train_rows"].cpu(), "val_rows": st["val_rows"].cpu(), "fit_rows": st["fit_rows"].cpu(),
            "point": [float(v) for v in st["point"]], "step": float(st["step"]), "best": float(st["best"]),
            "seed": int(self._seed),
        }

    def _restore_training_state(
        self, state: dict[str, Any], x: torch.Tensor, seed: int, labels: torch.Tensor | None
    ) -> None:
        self._seed = int(state["seed"])
        self._state = {
            **{k: state[k].to(self.device) for k in ("train_rows", "val_rows", "fit_rows")},
            "point": [float(v) for v in state["point"]], "step": float(state["step"]), "best": float(state["best"]),
        }
        rates = self.rates.clone()
        self._prepare(x, labels)
        self.rates = rates

    # ------------------------------------------------------------ use
    def _site_major(self) -> torch.Tensor:
        if self._donors_t is None:
            self._donors_t = self.donors.t().contiguous()
        return self._donors_t

    def _log_likelihood(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        x_t = x.to(torch.uint8).t().contiguous()
        return self._mixture(x_t, labels, self._site_major(), self.donor_offsets, self.cell_population,
                             float(self.rates[0]), float(self.rates[1]))

    def _sample(
        self, n: int, generator: torch.Generator, batch_size: int, labels: torch.Tensor | None
    ) -> torch.Tensor:
        pops = labels if labels is not None else torch.zeros(n, dtype=torch.int64, device=self.device)
        donors_t = self._site_major()
        out = torch.empty(n, self.n_sites, dtype=torch.uint8, device=self.device)
        for s in range(0, n, batch_size):
            cells = self._cells_for(pops[s:s + batch_size], self.donor_offsets, self.cell_population, generator)
            out[s:s + batch_size] = self._draw(cells, generator, donors_t, self.donor_offsets,
                                               float(self.rates[2]), float(self.rates[1]))
        return out
