"""Privacy audit of artificial haplotypes against their training set (benchmark track P).

The audit answers one question for a data steward: do the artificial haplotypes reveal the
individuals whose haplotypes trained the model? It compares the artificial set with the
training set and with a *holdout* set of real haplotypes that the model never saw, drawn from
the same population. A model that generalises treats both alike; a model that memorises sits
closer to its training haplotypes than to the holdout ones.

Statistics (all on Hamming distances between 0/1 haplotypes; definitions in BENCHMARK.md):

* **privacy loss** = AATS(holdout, artificial) - AATS(train subset, artificial)
  (Yelmen et al. 2021). Memorised haplotypes pull AATS(train) below 0.5 and make the loss
  positive. Target 0.
* **closer-to-train share**: share of artificial haplotypes whose nearest neighbour in an
  equal-sized random training subset is nearer than their nearest neighbour in the holdout
  set (a tie counts 1/2). Target 0.5.
* **membership inference AUC**: an attacker scores each real haplotype (training subset and
  holdout, equal sizes) by minus its distance to the nearest artificial haplotype and guesses
  "member" for high scores; the AUC of that score for telling train from holdout. Target 0.5.
* **exact copies**: artificial haplotypes identical to a training haplotype. Target 0.
* **near copies**: artificial haplotypes whose distance to the nearest training haplotype is
  strictly below the 1st percentile of the leave-one-out nearest-neighbour distances among
  the training haplotypes themselves, that is closer to a donor than 99% of donors are to
  their nearest other donor. Exact copies are near copies too. By construction an
  independent sample from the same population has at most about 1% near copies; the audit
  reports the holdout set's own share as that baseline.

This module is pure numpy / scikit-learn; it never imports torch. Every nearest-neighbour
search works in blocks of query rows against all reference rows; with ``engine=`` (a
:class:`haplogen.blockwise.Blockwise`) the sets are Dask arrays and the searches, the AATS and
the copy checks run block by block on its cluster, with the same draws and the same results.

Cost at chromosome scale: a search of q queries among r references on L sites takes q r L
multiply-adds. Each search of the audit compares at most ``budget`` haplotype-site pairs
(:data:`~haplogen.metrics.aats.NEAREST_NEIGHBOUR_BUDGET`, 10¹²): the training / holdout
subsets are capped like the AATS subsample (:func:`~haplogen.metrics.aats.aats_size`), and the
queries of a search that would still exceed it (artificial haplotypes against the subsets or
the whole training set, holdout haplotypes against the training set) are a seeded random
subsample of them; the membership attacker then holds that subsample of the artificial set. Sets within the budget (10,000 haplotypes of 10,000 SNPs) are audited
whole, as before. Exact copies are always counted on every artificial haplotype (digests of
the haplotypes, no distances); the near-copy share is then estimated on the haplotypes
searched, which the audit records (``n_syn_copy_queries``, ``syn_copy_query_index``).
"""

from __future__ import annotations

import math

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..metrics.aats import NEAREST_NEIGHBOUR_BUDGET, aats_size, adversarial_accuracy
from ..metrics.base import MetricSpec, as_haplotype_matrix

__all__ = [
    "PRIVACY_METRICS",
    "PrivacyThresholds",
    "privacy_audit",
    "privacy_verdict",
    "nearest_with_index",
    "membership_figures",
    "nearest_membership",
]

#: how each privacy statistic is read (same fields as the fidelity statistics' specs); the
#: privacy statistic of :mod:`haplogen.statistics.privacy` reports them. No grade bands: the
#: verdict (:func:`privacy_verdict`) grades them, with limits that depend on the set sizes
PRIVACY_METRICS: dict[str, MetricSpec] = {
    "privacy_loss": MetricSpec(
        key="privacy_loss",
        label="Privacy loss",
        goal="target",
        target=0.0,
        range=(-1.0, 1.0),
        description=(
            "AATS(holdout, artificial) - AATS(train subset, artificial); positive when the "
            "artificial haplotypes sit closer to the training haplotypes than to unseen ones"
        ),
    ),
    "closer_to_train": MetricSpec(
        key="closer_to_train",
        label="Closer-to-train share",
        goal="target",
        target=0.5,
        range=(0.0, 1.0),
        description=(
            "share of artificial haplotypes whose nearest neighbour in a training subset is "
            "nearer than in the equal-sized holdout set (ties count 1/2)"
        ),
    ),
    "mia_auc": MetricSpec(
        key="mia_auc",
        label="Membership inference AUC",
        goal="target",
        target=0.5,
        range=(0.0, 1.0),
        description=(
            "AUC of telling training from holdout haplotypes by their distance to the "
            "nearest artificial haplotype"
        ),
    ),
    "exact_copies_train": MetricSpec(
        key="exact_copies_train",
        label="Exact copies of training haplotypes",
        goal="min",
        target=0.0,
        range=(0.0, float("inf")),
        description="artificial haplotypes identical to a training haplotype",
        unit="haplotypes",
    ),
    "near_copies": MetricSpec(
        key="near_copies",
        label="Near copies of training haplotypes",
        goal="min",
        target=0.0,
        range=(0.0, float("inf")),
        description=(
            "artificial haplotypes closer to a training haplotype than the 1st percentile of "
            "training nearest-neighbour distances"
        ),
        unit="haplotypes",
    ),
}


@dataclass(frozen=True)
class PrivacyThresholds:
    """Limits that turn the audit's statistics into a pass / warn / fail verdict.

    A check passes when its statistic is within the ``*_pass`` limit of its target, warns
    when within the ``*_warn`` limit, and fails beyond. The defaults are set for the
    benchmark's held-out protocol (about 1,000 holdout haplotypes), where the sampling
    standard deviation of the closer-to-train share and of the AUC is about 0.015-0.02 for a
    model that does not memorise, so that a pass limit of 0.05 is two to three standard
    deviations. With a few hundred holdout haplotypes the statistics are noisier (the
    audit reports their standard errors) and a warning alone is weak evidence.
    """

    #: |privacy loss| up to this passes. 0.05 is the spread of AATS between random halves
    #: of the same real data (0.49-0.50) plus a margin; a memorising model reaches 0.2-0.5
    privacy_loss_pass: float = 0.05
    #: |privacy loss| up to this warns, beyond fails
    privacy_loss_warn: float = 0.10
    #: |closer-to-train share - 0.5| up to this passes
    closer_to_train_pass: float = 0.05
    #: |closer-to-train share - 0.5| up to this warns, beyond fails
    closer_to_train_warn: float = 0.10
    #: |membership inference AUC - 0.5| up to this passes (0.55 is a weak attacker)
    mia_auc_pass: float = 0.05
    #: |membership inference AUC - 0.5| up to this warns, beyond fails
    mia_auc_warn: float = 0.10
    #: more exact copies of training haplotypes than this, beyond the natural rate, fails.
    #: A copy of a donor's haplotype is that donor's data, so the default allows none. On
    #: few, closely linked sites some haplotypes are common in the population and unseen
    #: real individuals carry copies of training haplotypes too (the audit measures that
    #: rate on the holdout set); copies up to the number expected from it, plus three
    #: standard deviations (binomial noise of the count and of the rate), are then
    #: allowed. On real panels (1000 Genomes, 805 SNPs) that rate is 0 and the rule is strict
    exact_copies_max: int = 0
    #: share of near copies up to this passes: an independent sample from the same
    #: population has at most about 1% by construction of the threshold
    near_copies_pass: float = 0.01
    #: share of near copies up to this warns (three times the independent rate), beyond fails
    near_copies_warn: float = 0.03
    #: percentile of training leave-one-out nearest-neighbour distances that defines a near copy
    near_copy_percentile: float = 1.0
    #: sampling noise allowance: privacy loss, closer-to-train share and AUC also pass when
    #: their deviation from the target is within this many standard errors expected without
    #: any leak (and warn within one more), so that small sets are not failed for noise alone.
    #: Null standard errors: 0.5 / sqrt(n_syn) for the share, sqrt((2m + 1) / (12 m^2)) for the
    #: AUC of m vs m haplotypes (Hanley & McNeil), 0.5 / sqrt(m) for the privacy loss
    #: (two AATS of m vs m, each a mean of two shares). 0 disables the allowance
    noise_factor: float = 2.0

    def __post_init__(self) -> None:
        for name in ("privacy_loss", "closer_to_train", "mia_auc", "near_copies"):
            low, high = getattr(self, f"{name}_pass"), getattr(self, f"{name}_warn")
            if not 0 <= low <= high:
                raise InputError(
                    f"privacy thresholds for {name}: expected 0 <= pass <= warn, found "
                    f"pass={low} and warn={high}; fix the limits"
                )
        if not 0 < self.near_copy_percentile < 100:
            raise InputError(
                f"near_copy_percentile must be between 0 and 100, found {self.near_copy_percentile}"
            )

    def to_dict(self) -> dict[str, float]:
        """The limits as a plain dict (for metrics.json and the report)."""
        return asdict(self)


# ---------------------------------------------------------------------------- helpers
def _as_matrix(x: Any, name: str) -> np.ndarray:
    matrix = as_haplotype_matrix(x, name)  # 2-D, 0/1, uint8
    if matrix.shape[0] < 2:
        raise InputError(
            f"the {name} set has {matrix.shape[0]} haplotypes; the privacy audit needs at least 2"
        )
    return np.ascontiguousarray(matrix, dtype=np.uint8)


def nearest_with_index(
    a: np.ndarray,
    b: np.ndarray,
    *,
    self_index: np.ndarray | None = None,
    block_size: int = 1024,
    block_sites: int = 8192,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance to, and index of, each row's nearest neighbour in another set.

    Blocks of ``block_size`` query rows against blocks of ``block_size`` reference rows; the
    products ``a·b`` of each pair of blocks are summed over blocks of ``block_sites`` sites, so
    neither set is ever converted to float whole and memory does not grow with the number of
    haplotypes or of sites. Hamming distances are ``|a| + |b| - 2 a·b``, exact in float32
    below 2^24 sites (see :mod:`haplogen.metrics.distance`).

    Parameters
    ----------
    a : ndarray of uint8, shape (n_a, n_sites)
        Query haplotypes.
    b : ndarray of uint8, shape (n_b, n_sites)
        Reference haplotypes.
    self_index : ndarray of int, shape (n_a,), optional
        Row of ``b`` that is the query itself, excluded from its search (leave one out).
    block_size
        Query rows, and reference rows, per block; memory is ``block_size² * 4`` bytes of
        distances plus ``2 * block_size * block_sites * 4`` bytes of float blocks.
    block_sites
        Sites per block of the products.

    Returns
    -------
    distance : ndarray of int32, shape (n_a,)
        Hamming distance to the nearest row of ``b``.
    index : ndarray of int64, shape (n_a,)
        Row of ``b`` at that distance (the first one on ties).
    """
    if block_size < 1 or block_sites < 1:
        raise InputError(f"block_size and block_sites must be at least 1, found {block_size} and {block_sites}")
    n_a, n_b, m = a.shape[0], b.shape[0], a.shape[1]
    if n_b == 0:
        raise InputError("a nearest-neighbour search needs at least 1 reference haplotype, found 0; pass a larger set")
    dtype = np.float32 if m < 2**24 else np.float64
    count_a = a.sum(axis=1, dtype=np.int64).astype(dtype)
    count_b = b.sum(axis=1, dtype=np.int64).astype(dtype)
    distance = np.full(n_a, np.inf, dtype=dtype)
    index = np.zeros(n_a, dtype=np.int64)
    for start in range(0, n_a, block_size):
        stop = min(start + block_size, n_a)
        best = distance[start:stop]  # a view: updated in place
        where = index[start:stop]
        for ref in range(0, n_b, block_size):
            end = min(ref + block_size, n_b)
            dot = np.zeros((stop - start, end - ref), dtype=dtype)  # (block, block) shared 1s
            for c in range(0, m, block_sites):
                dot += a[start:stop, c : c + block_sites].astype(dtype) @ b[ref:end, c : c + block_sites].astype(dtype).T
            d = (count_a[start:stop, None] - dot) + (count_b[None, ref:end] - dot)
            if self_index is not None:
                own = self_index[start:stop] - ref
                inside = (own >= 0) & (own < end - ref)
                d[np.flatnonzero(inside), own[inside]] = np.inf
            k = d.argmin(axis=1)  # the first row of this block at its minimum
            nearest = d[np.arange(stop - start), k]
            closer = nearest < best  # strictly: an earlier block keeps a tie
            best[closer] = nearest[closer]
            where[closer] = ref + k[closer]
    # a query whose only reference is itself has no neighbour: the largest int32, as before
    distance = np.where(np.isfinite(distance), distance, np.iinfo(np.int32).max)
    return np.rint(distance).astype(np.int32), index


def _row_keys(x: np.ndarray) -> list[bytes]:
    """One hashable key per haplotype (its packed bits)."""
    packed = np.packbits(x, axis=1)
    return [row.tobytes() for row in packed]


class _InMemory:
    """The operations of the audit on in-memory matrices (a Blockwise engine has the same methods)."""

    def matrix(self, x: Any, name: str) -> np.ndarray:
        return _as_matrix(x, name)

    def take(self, x: np.ndarray, index: np.ndarray) -> np.ndarray:
        return x[index]

    def nearest(self, a: np.ndarray, b: np.ndarray, *, self_index: np.ndarray | None = None):
        return nearest_with_index(a, b, self_index=self_index)

    def aats(self, real: np.ndarray, syn: np.ndarray, *, n_repeats: int, size: int, seed: int) -> dict[str, Any]:
        return adversarial_accuracy(real, syn, n_repeats=n_repeats, size=size, seed=seed)

    def row_keys(self, x: np.ndarray) -> list[bytes]:
        return _row_keys(x)

    def cross(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from ..metrics.distance import _nn_cross

        return _nn_cross(a, b, 2048)


def _auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley & McNeil (1982) standard error of an AUC."""
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    return float(np.sqrt(max(var, 0.0)))


def membership_figures(
    d_syn_train: np.ndarray, d_syn_holdout: np.ndarray, d_train_syn: np.ndarray, d_holdout_syn: np.ndarray
) -> dict[str, Any]:
    """The audit's closer-to-train share and nearest-distance membership attack, from distances.

    Parameters
    ----------
    d_syn_train, d_syn_holdout : ndarray, shape (n_syn,)
        Each artificial haplotype's distance to its nearest training (member) and held-out
        haplotype.
    d_train_syn, d_holdout_syn : ndarray, shapes (n_members,) and (n_held,)
        Each member's and each held-out haplotype's distance to its nearest artificial one.

    Returns
    -------
    dict
        ``closer_to_train`` (ties count half), ``closer_to_train_strict``, ``mia_auc`` (a member
        is a real haplotype near some artificial one) and its ROC curve, ``roc_fpr``, ``roc_tpr``.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    closer = d_syn_train < d_syn_holdout
    tie = d_syn_train == d_syn_holdout
    is_member = np.concatenate([np.ones(len(d_train_syn), dtype=np.int8), np.zeros(len(d_holdout_syn), dtype=np.int8)])
    score = -np.concatenate([d_train_syn, d_holdout_syn]).astype(np.float64)
    fpr, tpr, _ = roc_curve(is_member, score)
    return {
        "closer_to_train": float(np.mean(closer + 0.5 * tie)),
        "closer_to_train_strict": float(np.mean(closer)),
        "mia_auc": float(roc_auc_score(is_member, score)),
        "roc_fpr": fpr,
        "roc_tpr": tpr,
    }


def nearest_membership(members: np.ndarray, held: np.ndarray, syn: np.ndarray) -> dict[str, Any]:
    """:func:`membership_figures` of the artificial haplotypes ``syn`` against the whole sets
    ``members`` and ``held`` (uint8 matrices in memory; two nearest-neighbour searches)."""
    ops = _InMemory()
    d_syn_members, d_members_syn = ops.cross(syn, members)
    d_syn_held, d_held_syn = ops.cross(syn, held)
    return membership_figures(d_syn_members, d_syn_held, d_members_syn, d_held_syn)


# ---------------------------------------------------------------------------- audit
def privacy_audit(
    train: np.ndarray,
    holdout: np.ndarray,
    syn: np.ndarray,
    *,
    n_repeats: int = 5,
    seed: int = 0,
    thresholds: PrivacyThresholds = PrivacyThresholds(),
    max_train_queries: int = 2000,
    size: int | None = None,
    budget: int | None = NEAREST_NEIGHBOUR_BUDGET,
    engine: Any = None,
) -> dict[str, Any]:
    """Audit artificial haplotypes for leaks of their training haplotypes.

    Parameters
    ----------
    train : ndarray of uint8, shape (n_train, n_sites)
        Haplotypes the model was trained on (a :class:`~haplogen.haplotypes.Haplotypes` is
        accepted too).
    holdout : ndarray of uint8, shape (n_holdout, n_sites)
        Real haplotypes of other individuals from the same population, never seen by the model.
    syn : ndarray of uint8, shape (n_syn, n_sites)
        Artificial haplotypes.
    n_repeats
        Random subsamples averaged in each AATS.
    seed
        Seed of every random draw (subsets, AATS subsamples).
    thresholds
        Limits of the verdict.
    max_train_queries
        Training haplotypes (drawn at random) whose leave-one-out nearest-neighbour distance
        estimates the near-copy threshold; all of them when the training set is smaller.
    size
        Haplotypes of the equal-sized training and holdout subsets (and of each AATS
        subsample); None: the smallest set, capped by ``budget``
        (:func:`~haplogen.metrics.aats.aats_size`).
    budget
        Most haplotype-site comparisons (queries x references x sites) of one search; the
        queries of a search beyond it are a seeded random subsample. None: no cap (every
        search on whole sets, whatever it costs).
    engine : haplogen.blockwise.Blockwise, optional
        Run on Dask arrays (the sets may then be Dask arrays or stores), block by block on
        the engine's cluster; the results are the in-memory ones.

    Returns
    -------
    dict
        Scalars: ``privacy_loss``, ``aats_train``, ``aats_holdout`` (and their ``_strict``
        versions, a tie counting 0), ``closer_to_train`` (+ ``closer_to_train_se``,
        ``closer_to_train_strict``), ``mia_auc`` (+ ``mia_auc_se``), ``exact_copies_train``,
        ``exact_copies_holdout``, ``holdout_copy_rate`` (share of holdout haplotypes identical
        to a training one: the natural rate), ``exact_copies_allowed``, ``near_copies``, ``near_copies_share``,
        ``near_copy_threshold``, ``near_copies_holdout_share`` (the rate of real held-out
        haplotypes, the baseline), ``size``, ``n_train``, ``n_holdout``, ``n_syn``,
        ``n_repeats``, ``seed``, ``budget``, ``n_syn_queries`` (artificial haplotypes of the
        closer-to-train and membership searches), ``n_syn_copy_queries`` (of the near-copy
        search), ``n_holdout_copy_queries``. Lists: ``at_risk`` (dicts ``syn_index``,
        ``nearest_train_index``, ``distance``, nearest first). Arrays for figures:
        ``roc_fpr``, ``roc_tpr`` (shape (n_thresholds,)), ``dist_train_to_syn``,
        ``dist_holdout_to_syn`` (shape (size,)), ``dist_syn_to_train`` (shape (n_syn,)),
        ``train_nn_distances`` (shape (n_queries,)); the rows drawn: ``train_subset_index``,
        ``holdout_subset_index`` (shape (size,)), ``train_query_index`` (shape (n_queries,)),
        ``syn_query_index``, ``syn_copy_query_index``, ``holdout_copy_query_index`` (positions
        in the artificial set and in the holdout subset). ``dist_syn_to_train`` then has one
        entry per near-copy query.
        And ``verdict`` from :func:`privacy_verdict`.

    Raises
    ------
    InputError
        When a set is not a 2-D matrix, has fewer than 2 haplotypes, or the sets differ in
        their number of sites.
    """
    ops = _InMemory() if engine is None else engine
    train_m = ops.matrix(train, "training")
    holdout_m = ops.matrix(holdout, "holdout")
    syn_m = ops.matrix(syn, "artificial")
    n_sites = train_m.shape[1]
    for name, m in (("holdout", holdout_m), ("artificial", syn_m)):
        if m.shape[1] != n_sites:
            raise InputError(
                f"the {name} set has {m.shape[1]} sites, the training set has {n_sites}; "
                "audit artificial haplotypes against the real data of the same sites"
            )
    n_train, n_holdout, n_syn = train_m.shape[0], holdout_m.shape[0], syn_m.shape[0]
    smallest = min(n_train, n_holdout, n_syn)
    if budget is not None and budget < 1:
        raise InputError(f"the nearest-neighbour budget must be a positive number of comparisons, found {budget}")
    if size is None:
        size = aats_size(min(n_train, n_holdout), n_syn, n_sites, budget=budget)
    elif not 2 <= int(size) <= smallest:
        raise InputError(
            f"the privacy audit's subset size must be between 2 and the smallest set's size ({smallest}), "
            f"found {size}; pass size=None for the automatic size"
        )
    size = int(size)

    def queries(n_query: int, n_reference: int) -> int:
        """Queries of a search of n_query among n_reference haplotypes within the budget."""
        if budget is None:
            return n_query
        return max(1, min(n_query, int(budget) // max(1, n_reference * n_sites)))

    # independent streams for the subsets and for each AATS, all from one seed; the query
    # subsamples of capped searches from a fourth, so that uncapped audits draw as before
    state = np.random.SeedSequence(seed).generate_state(3)
    rng = np.random.default_rng(state[0])
    capped_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])

    def draw(n: int, k: int) -> np.ndarray:
        return np.arange(n) if k >= n else np.sort(capped_rng.choice(n, size=k, replace=False))

    train_idx = np.sort(rng.choice(n_train, size=size, replace=False))
    holdout_idx = np.sort(rng.choice(n_holdout, size=size, replace=False))
    train_sub = ops.take(train_m, train_idx)
    holdout_sub = ops.take(holdout_m, holdout_idx)

    # 1. privacy loss: AATS of holdout vs artificial minus AATS of train vs artificial, on
    #    equal-sized random subsets (adversarial_accuracy draws them anew in each repeat)
    aa_train = ops.aats(train_m, syn_m, n_repeats=n_repeats, size=size, seed=int(state[1]))
    aa_holdout = ops.aats(holdout_m, syn_m, n_repeats=n_repeats, size=size, seed=int(state[2]))
    privacy_loss = float(aa_holdout["aats"] - aa_train["aats"])
    privacy_loss_strict = float(aa_holdout["aats_strict"] - aa_train["aats_strict"])

    # 2. closer-to-train share: each artificial haplotype's nearest neighbour in the training
    #    subset against that in the equal-sized holdout subset; 3. membership inference: a
    #    member is a real haplotype near some artificial one. Both from the same two searches
    #    (artificial x training subset, artificial x holdout subset), read both ways
    syn_query = draw(n_syn, queries(n_syn, size))
    syn_q = syn_m if syn_query.size == n_syn else ops.take(syn_m, syn_query)
    d_syn_train_sub, d_train_syn = ops.cross(syn_q, train_sub)
    d_syn_holdout_sub, d_holdout_syn = ops.cross(syn_q, holdout_sub)
    del syn_q
    membership = membership_figures(d_syn_train_sub, d_syn_holdout_sub, d_train_syn, d_holdout_syn)
    closer_to_train, closer_strict = membership["closer_to_train"], membership["closer_to_train_strict"]
    mia_auc, fpr, tpr = membership["mia_auc"], membership["roc_fpr"], membership["roc_tpr"]

    # 4. exact copies of every artificial haplotype, by their keys (no distances); near copies
    #    from a search against the whole training set (of a subsample of the artificial
    #    haplotypes when that search exceeds the budget)
    holdout_row_keys, syn_row_keys = ops.row_keys(holdout_m), ops.row_keys(syn_m)
    train_keys: dict[bytes, int] = {}
    for k, key in enumerate(ops.row_keys(train_m)):
        train_keys.setdefault(key, k)  # the first training row of each haplotype, as the search
    copy_of = {i: train_keys[key] for i, key in enumerate(syn_row_keys) if key in train_keys}
    exact_train = len(copy_of)
    holdout_keys = set(holdout_row_keys)
    exact_holdout = int(sum(key in holdout_keys for key in syn_row_keys))
    # natural rate: unseen real haplotypes that are identical to a training haplotype
    holdout_copy_rate = float(np.mean([key in train_keys for key in holdout_row_keys]))
    syn_copy_query = draw(n_syn, queries(n_syn, n_train))
    d_syn_train, nearest_train = ops.nearest(
        syn_m if syn_copy_query.size == n_syn else ops.take(syn_m, syn_copy_query), train_m)
    # copies expected from that rate, and their variance: binomial noise of the synthetic
    # count plus the uncertainty of the rate itself, estimated on n_holdout haplotypes
    expected = n_syn * holdout_copy_rate
    variance = expected * (1 - holdout_copy_rate) * (1 + n_syn / n_holdout)
    exact_allowed = int(thresholds.exact_copies_max + np.ceil(expected + 3 * np.sqrt(variance)))
    n_queries = min(n_train, max_train_queries, queries(n_train, n_train))
    n_queries = max(n_queries, min(n_train, 2))
    query = np.sort(rng.choice(n_train, size=n_queries, replace=False)) if n_queries < n_train else np.arange(n_train)
    d_train_train, _ = ops.nearest(ops.take(train_m, query), train_m, self_index=query)
    threshold = float(np.percentile(d_train_train, thresholds.near_copy_percentile))
    near = d_syn_train < threshold
    near_copies = int(np.count_nonzero(near))
    holdout_copy_query = draw(size, queries(size, n_train))
    d_holdout_train, _ = ops.nearest(
        holdout_sub if holdout_copy_query.size == size else ops.take(holdout_sub, holdout_copy_query), train_m)
    near_holdout_share = float(np.mean(d_holdout_train < threshold))

    # at risk: the near copies found, and every exact copy (found by its key)
    risky = {int(syn_copy_query[k]): (int(d_syn_train[k]), int(nearest_train[k])) for k in np.flatnonzero(near)}
    risky.update({i: (0, j) for i, j in copy_of.items()})
    at_risk = [
        {"syn_index": i, "nearest_train_index": j, "distance": d}
        for i, (d, j) in sorted(risky.items(), key=lambda item: (item[1][0], item[0]))
    ]
    near_share = near_copies / syn_copy_query.size

    audit: dict[str, Any] = {
        "privacy_loss": privacy_loss,
        "privacy_loss_strict": privacy_loss_strict,
        "aats_train": float(aa_train["aats"]),
        "aats_holdout": float(aa_holdout["aats"]),
        "aats_train_strict": float(aa_train["aats_strict"]),
        "aats_holdout_strict": float(aa_holdout["aats_strict"]),
        "closer_to_train": closer_to_train,
        "closer_to_train_se": float(np.sqrt(closer_to_train * (1 - closer_to_train) / syn_query.size)),
        "closer_to_train_strict": closer_strict,
        "mia_auc": mia_auc,
        "mia_auc_se": _auc_standard_error(mia_auc, size, size),
        "exact_copies_train": exact_train,
        "exact_copies_holdout": exact_holdout,
        "holdout_copy_rate": holdout_copy_rate,
        "exact_copies_allowed": exact_allowed,
        "near_copies": near_copies,
        "near_copies_share": near_share,
        "near_copy_threshold": threshold,
        "near_copies_holdout_share": near_holdout_share,
        "size": int(size),
        "n_train": int(n_train),
        "n_holdout": int(n_holdout),
        "n_syn": int(n_syn),
        "n_sites": int(n_sites),
        "n_repeats": int(n_repeats),
        "n_train_queries": int(n_queries),
        "n_syn_queries": int(syn_query.size),
        "n_syn_copy_queries": int(syn_copy_query.size),
        "n_holdout_copy_queries": int(holdout_copy_query.size),
        "budget": None if budget is None else int(budget),
        "seed": int(seed),
        "at_risk": at_risk,
        "roc_fpr": fpr,
        "roc_tpr": tpr,
        "dist_train_to_syn": d_train_syn,
        "dist_holdout_to_syn": d_holdout_syn,
        "dist_syn_to_train": d_syn_train,
        "train_nn_distances": d_train_train,
        "train_subset_index": train_idx,
        "holdout_subset_index": holdout_idx,
        "train_query_index": query,
        "syn_query_index": syn_query,
        "syn_copy_query_index": syn_copy_query,
        "holdout_copy_query_index": holdout_copy_query,
    }
    audit["verdict"] = privacy_verdict(audit, thresholds)
    return audit


def _grade(deviation: float, pass_limit: float, warn_limit: float) -> str:
    if deviation <= pass_limit:
        return "pass"
    if deviation <= warn_limit:
        return "warn"
    return "fail"


def privacy_verdict(audit: dict[str, Any], thresholds: PrivacyThresholds = PrivacyThresholds()) -> dict[str, Any]:
    """Turn the statistics of :func:`privacy_audit` into pass / warn / fail.

    Parameters
    ----------
    audit
        The dict returned by :func:`privacy_audit` (only its scalar statistics are read).
    thresholds
        The limits of each check.

    Returns
    -------
    dict
        ``status``: the worst status of the checks (``"pass"``, ``"warn"`` or ``"fail"``);
        ``reasons``: one sentence per check that did not pass; ``checks``: per statistic its
        ``value``, ``status`` and ``rule`` (with the limits actually applied, after the
        noise allowance); ``thresholds``: the configured limits.
    """
    t = thresholds
    size = int(audit.get("size", 0)) or 1
    # the closer-to-train share is a mean over the artificial haplotypes searched
    n_syn = int(audit.get("n_syn_queries", audit.get("n_syn", size))) or 1
    # standard errors of each statistic when nothing leaks (see PrivacyThresholds.noise_factor)
    null_se = {
        "privacy_loss": 0.5 / np.sqrt(size),
        "closer_to_train": 0.5 / np.sqrt(n_syn),
        "mia_auc": float(np.sqrt((2 * size + 1) / (12.0 * size * size))),
    }

    def limits(key: str) -> tuple[float, float]:
        low, high = getattr(t, f"{key}_pass"), getattr(t, f"{key}_warn")
        if t.noise_factor > 0:
            low = max(low, t.noise_factor * null_se[key])
            high = max(high, (t.noise_factor + 1) * null_se[key])
        return round(float(low), 4), round(float(high), 4)

    checks: dict[str, dict[str, Any]] = {}
    reasons: list[str] = []

    def add(key: str, value: float, status: str, rule: str, meaning: str) -> None:
        checks[key] = {"value": value, "status": status, "rule": rule}
        if status != "pass":
            reasons.append(f"{PRIVACY_METRICS[key].label} {value:.4g} ({status}; {rule}): {meaning}")

    pl = float(audit["privacy_loss"])
    low, high = limits("privacy_loss")
    add(
        "privacy_loss",
        pl,
        _grade(abs(pl), low, high),
        f"pass if |loss| <= {low:g}, warn if <= {high:g}",
        "the artificial haplotypes are closer to the training haplotypes than to held-out ones"
        if pl > 0
        else "the artificial haplotypes are closer to the held-out haplotypes than to the training ones",
    )
    ct = float(audit["closer_to_train"])
    low, high = limits("closer_to_train")
    add(
        "closer_to_train",
        ct,
        _grade(abs(ct - 0.5), low, high),
        f"pass if |share - 0.5| <= {low:g}, warn if <= {high:g}",
        f"{ct:.0%} of artificial haplotypes are nearer to a training haplotype than to a held-out one",
    )
    auc = float(audit["mia_auc"])
    low, high = limits("mia_auc")
    add(
        "mia_auc",
        auc,
        _grade(abs(auc - 0.5), low, high),
        f"pass if |AUC - 0.5| <= {low:g}, warn if <= {high:g}",
        "an attacker holding the artificial set can tell who was in the training set",
    )
    exact = int(audit["exact_copies_train"])
    allowed = int(audit.get("exact_copies_allowed", t.exact_copies_max))
    rate = float(audit.get("holdout_copy_rate", 0.0))
    add(
        "exact_copies_train",
        exact,
        "pass" if exact <= allowed else "fail",
        f"fail if more than {allowed}"
        + (f", the natural rate: {rate:.1%} of held-out haplotypes copy a training one" if rate > 0 else ""),
        "artificial haplotypes reproduce a donor's haplotype exactly",
    )
    share = float(audit["near_copies_share"])
    # real people the model never saw are "near copies" at a natural rate (by construction about
    # near_copy_percentile % of them): an artificial set at or below that rate is no closer to the
    # donors than unseen real people are, so the limits never fall below the holdout's own share
    natural = float(audit.get("near_copies_holdout_share", 0.0))
    natural = natural if math.isfinite(natural) else 0.0
    pass_limit = max(t.near_copies_pass, natural)
    warn_limit = max(t.near_copies_warn, natural + (t.near_copies_warn - t.near_copies_pass))
    add(
        "near_copies",
        int(audit["near_copies"]),
        _grade(share, pass_limit, warn_limit),
        f"pass if share <= {pass_limit:.1%}, warn if <= {warn_limit:.1%}"
        + (" (the held-out real haplotypes' own share)" if pass_limit > t.near_copies_pass else ""),
        f"{share:.1%} of artificial haplotypes are closer to a donor than "
        f"{100 - t.near_copy_percentile:g}% of donors are to each other "
        f"(held-out real haplotypes: {float(audit.get('near_copies_holdout_share', float('nan'))):.1%})",
    )
    order = {"pass": 0, "warn": 1, "fail": 2}
    status = max((c["status"] for c in checks.values()), key=order.__getitem__)
    return {"status": status, "reasons": reasons, "checks": checks, "thresholds": t.to_dict()}
