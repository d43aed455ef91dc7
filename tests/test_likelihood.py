"""The likelihood statistic of evaluate (haplogen.statistics.likelihood): values, notes, figures, needs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from haplogen.errors import InputError
from haplogen.evaluation import evaluate
from haplogen.metrics.compression import compression_baselines, independent_sites_log_likelihood
from haplogen.models.mixar import TEST_SETTINGS
from haplogen.models.registry import get_family, make_config
from haplogen.statistics.likelihood import draw_bits, draw_membership, likelihood_membership_auc


# ---------------------------------------------------------------------------- slow reference
def slow_auc(members: np.ndarray, others: np.ndarray) -> float:
    """Share of (member, non-member) pairs where the member scores higher; a tie counts 1/2."""
    wins = 0.0
    for a in members:
        for b in others:
            wins += 1.0 if a > b else 0.5 if a == b else 0.0
    return wins / (len(members) * len(others))


def test_auc_matches_the_pairwise_loop_with_ties():
    rng = np.random.default_rng(0)
    train = rng.integers(-20, -10, size=60).astype(float)  # few distinct values: many ties
    holdout = rng.integers(-21, -11, size=60).astype(float)
    out = likelihood_membership_auc(train, holdout, n_repeats=3, seed=1)
    assert out["size"] == 60 and out["aucs"].shape == (3,)
    # equal sizes: nothing is drawn, every repeat is the whole-set AUC
    np.testing.assert_allclose(out["aucs"], slow_auc(train, holdout), atol=1e-12)
    assert 0 < out["se"] < 0.1
    assert likelihood_membership_auc(holdout, train)["auc"] == pytest.approx(1 - out["auc"])


def test_auc_draws_the_larger_side_down_and_is_unbiased():
    rng = np.random.default_rng(1)
    train = rng.normal(0.3, 1.0, size=90)
    holdout = rng.normal(0.0, 1.0, size=30)
    out = likelihood_membership_auc(train, holdout, n_repeats=300, seed=4)
    assert out["size"] == 30
    assert out["auc"] == pytest.approx(slow_auc(train, holdout), abs=0.01)  # the mean of equal-sized draws
    assert len(set(np.round(out["aucs"], 12))) > 1  # each draw is another subset
    again = likelihood_membership_auc(train, holdout, n_repeats=300, seed=4)
    np.testing.assert_array_equal(again["aucs"], out["aucs"])
    # identical scores on both sides: no signal at all
    assert likelihood_membership_auc(np.zeros(10), np.zeros(7))["auc"] == 0.5


def test_auc_refusals():
    with pytest.raises(InputError, match="needs training and holdout haplotypes, found 3 and 0"):
        likelihood_membership_auc(np.zeros(3), np.zeros(0))
    with pytest.raises(InputError, match="must be finite"):
        likelihood_membership_auc(np.array([0.0, -np.inf]), np.zeros(2))


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def sets(sim_haplotypes):
    """Training (400 haplotypes), holdout (120) and an 'artificial' set (another 80) of 300 sites."""
    samples = np.random.default_rng(5).permutation(sim_haplotypes.samples)
    return (sim_haplotypes.select_samples(samples[:200]), sim_haplotypes.select_samples(samples[240:]),
            sim_haplotypes.select_samples(samples[200:240]))


@pytest.fixture(scope="module")
def mixar(sets):
    train, _, _ = sets
    model = get_family("mixar")(make_config("mixar", TEST_SETTINGS), train.n_sites)
    model.fit(train.matrix, seed=3)
    return model


@pytest.fixture(scope="module")
def conditional_mixar(sets):
    train, _, _ = sets
    model = get_family("mixar")(make_config("mixar", TEST_SETTINGS), train.n_sites)
    model.fit(train.matrix, seed=3, labels=train.population)
    return model


class IndependentSitesModel:
    """A tractable model whose likelihood is the independent-sites baseline fitted on ``train``."""

    name = "independent"
    tractable = True
    populations = None

    def __init__(self, train: np.ndarray) -> None:
        self.train = train
        self.n_sites = train.shape[1]

    def log_likelihood(self, x: np.ndarray, *, labels=None, batch_size: int = 1024) -> np.ndarray:
        return independent_sites_log_likelihood(self.train, x)


# ---------------------------------------------------------------------------- the statistic
def test_values_of_a_mixar_model(sets, mixar):
    train, holdout, artificial = sets
    ev = evaluate(train, {"mixar": artificial}, holdout=holdout, models={"mixar": mixar}, seed=2,
                  aats_repeats=3, statistics=["likelihood"])
    v = ev.metrics["mixar"]
    ll_h, ll_t = mixar.log_likelihood(holdout.matrix), mixar.log_likelihood(train.matrix)
    L = train.n_sites
    assert v["heldout_ll"] == pytest.approx(ll_h.mean())
    assert v["train_ll"] == pytest.approx(ll_t.mean())
    assert v["heldout_bits_per_snp"] == pytest.approx(-ll_h.mean() / (L * math.log(2)))
    assert v["train_bits_per_snp"] == pytest.approx(-ll_t.mean() / (L * math.log(2)))
    assert v["ll_gap"] == pytest.approx(ll_t.mean() - ll_h.mean())
    assert v["ll_mia_auc"] == pytest.approx(likelihood_membership_auc(ll_t, ll_h, n_repeats=3, seed=2)["auc"])
    base = compression_baselines(train.matrix, holdout.matrix)
    for key in ("independent", "markov", "xz"):
        assert v[f"baseline_{key}_bits_per_snp"] == pytest.approx(base[key]["bits_per_snp"])
    # bits per SNP of simulated data lie between 0 and 1 for the model (3 epochs learn the frequencies)
    assert 0 < v["heldout_bits_per_snp"] < 1
    result = ev.result("likelihood")
    assert set(result.scores) == {"mixar"} and not result.not_scored
    assert result.scores["mixar"]["holdout"].shape == (holdout.n_haplotypes,)
    assert any("Baselines fitted on the 400 real haplotypes and scored on the 120 holdout" in n for n in ev.notes)
    assert any(n.startswith("Privacy audit, likelihood membership inference") for n in ev.notes)
    # graded like the privacy audit's membership AUC; the log-likelihoods are not graded
    assert ev.specs["ll_mia_auc"].bands == (0.05, 0.10) and ev.specs["heldout_ll"].bands is None


def test_a_model_equal_to_the_baseline_scores_the_baseline(sets):
    train, holdout, artificial = sets
    model = IndependentSitesModel(train.matrix)
    ev = evaluate(train, {"ind": artificial}, holdout=holdout, models={"ind": model}, statistics=["likelihood"])
    v = ev.metrics["ind"]
    assert v["heldout_bits_per_snp"] == pytest.approx(v["baseline_independent_bits_per_snp"], rel=1e-12)
    in_sample = independent_sites_log_likelihood(train.matrix, train.matrix).mean()
    assert v["ll_gap"] == pytest.approx(in_sample - independent_sites_log_likelihood(train.matrix, holdout.matrix).mean())


def test_sets_without_a_tractable_model_or_any_model(sets, mixar):
    train, holdout, artificial = sets
    rbm = get_family("rbm")(make_config("rbm"), train.n_sites)  # never asked for a likelihood
    ev = evaluate(train, {"mixar": artificial, "rbm": artificial, "published": artificial}, holdout=holdout,
                  models={"mixar": mixar, "rbm": rbm}, statistics=["likelihood"])
    for name in ("rbm", "published"):
        values = ev.metrics[name]
        assert all(math.isnan(values[k]) for k in ("heldout_ll", "ll_gap", "ll_mia_auc", "train_bits_per_snp"))
        assert values["baseline_markov_bits_per_snp"] == ev.metrics["mixar"]["baseline_markov_bits_per_snp"]
    assert math.isfinite(ev.metrics["mixar"]["heldout_ll"])
    from haplogen.scoring import tractable_families

    assert "mixar" in tractable_families() and "rbm" not in tractable_families()
    assert any("rbm (its rbm model has no tractable likelihood): its values are n/a; the families with an exact "
               f"likelihood are: {', '.join(tractable_families())}" in n for n in ev.notes)
    assert any("no model was given for published" in n for n in ev.notes)
    assert ev.result("likelihood").not_scored == {
        "rbm": "its rbm model has no tractable likelihood", "published": "no model was given for it"}


def test_one_model_behind_two_sets_is_scored_once(sets, mixar):
    train, holdout, artificial = sets
    ev = evaluate(train, {"a": artificial, "b": artificial}, holdout=holdout, models={"a": mixar, "b": mixar},
                  statistics=["likelihood"])
    assert ev.metrics["a"] == pytest.approx(ev.metrics["b"])
    result = ev.result("likelihood")
    assert result.scores["a"] is result.scores["b"]


def test_a_conditional_model_is_scored_with_its_marginal_likelihood(sets, conditional_mixar):
    train, holdout, artificial = sets
    ev = evaluate(train, {"cond": artificial}, holdout=holdout, models={"cond": conditional_mixar},
                  statistics=["likelihood"])
    marginal = conditional_mixar.log_likelihood(holdout.matrix)
    assert ev.metrics["cond"]["heldout_ll"] == pytest.approx(marginal.mean())
    conditional = conditional_mixar.log_likelihood(holdout.matrix, labels=holdout.population)
    assert not np.allclose(marginal, conditional)  # the two differ: the figure says which it is
    assert any("conditional on population (CEU, CHB, YRI); it is scored with its marginal likelihood" in n
               for n in ev.notes)


def test_needs_and_refusals(sets, mixar):
    train, holdout, artificial = sets
    no_holdout = evaluate(train, {"m": artificial}, models={"m": mixar}, statistics=["likelihood"])
    assert no_holdout.skipped["likelihood"].startswith(
        "Held-out likelihood and compression skipped: no holdout set was given")
    no_model = evaluate(train, {"m": artificial}, holdout=holdout, statistics=["likelihood"])
    assert "no trained model was given for any synthetic set" in no_model.skipped["likelihood"]
    assert "heldout_ll" not in no_model.metrics["m"]
    small = get_family("mixar")(make_config("mixar", TEST_SETTINGS), train.n_sites - 1)
    with pytest.raises(InputError, match="the model given for the synthetic set m has 299 sites, the real set 300"):
        evaluate(train, {"m": artificial}, holdout=holdout, models={"m": small}, statistics=["likelihood"])


def test_report_and_metrics_json(sets, mixar, tmp_path):
    from haplogen.report import write_outputs

    train, holdout, artificial = sets
    rbm = get_family("rbm")(make_config("rbm"), train.n_sites)
    ev = evaluate(train, {"mixar": artificial, "rbm": artificial}, holdout=holdout,
                  models={"mixar": mixar, "rbm": rbm}, statistics=["likelihood"])
    paths = write_outputs(ev, tmp_path / "out")
    page = paths["report"].read_text()
    for section in ('id="likelihood-bits"', 'id="likelihood-membership"', "Part of the privacy audit",
                    "held-out bits per SNP", "likelihood membership-inference AUC (privacy)"):
        assert section in page, section
    doc = json.loads(paths["metrics"].read_text())
    entry = doc["statistics"]["heldout_bits_per_snp"]
    assert entry["values"]["rbm"] is None and entry["values"]["mixar"] == pytest.approx(
        ev.metrics["mixar"]["heldout_bits_per_snp"])
    assert doc["provenance"]["parameters"]["likelihood"] == {"pseudocount": 0.5, "likelihood": "marginal",
                                                             "mia_repeats": 5, "training_haplotypes_scored": 400}
    # the figures: one bar group per scored model and baseline, one panel per scored model
    fig = draw_bits(ev.result("likelihood"))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["mixar", "baseline: independent sites", "baseline: Markov chain (neighbouring SNPs)",
                      "baseline: xz -9 of the packed holdout"]
    assert len([a for a in draw_membership(ev.result("likelihood")).axes if a.get_visible()]) == 1


def test_a_large_training_set_is_scored_on_a_random_draw(sets, mixar, monkeypatch):
    """Above the bound of haplotype-sites the training side is a seeded draw of its rows, never
    smaller than the holdout; below it, every training haplotype is scored."""
    from haplogen.statistics import likelihood

    train, holdout, artificial = sets
    assert likelihood.training_rows(400, 120, 300, seed=1) is None  # 120,000 cells: all of them
    monkeypatch.setattr(likelihood, "TRAIN_SCORE_CELLS", 150 * train.n_sites)
    rows = likelihood.training_rows(train.n_haplotypes, holdout.n_haplotypes, train.n_sites, seed=2)
    assert rows.size == 150 and np.all(np.diff(rows) > 0) and rows.max() < train.n_haplotypes
    other = likelihood.training_rows(train.n_haplotypes, holdout.n_haplotypes, train.n_sites, seed=3)
    assert not np.array_equal(rows, other)
    # the holdout's size is the floor: the AUC keeps sides of the holdout's size
    assert likelihood.training_rows(train.n_haplotypes, 200, train.n_sites, seed=2).size == 200
    ev = evaluate(train, {"mixar": artificial}, holdout=holdout, models={"mixar": mixar}, seed=2,
                  aats_repeats=3, statistics=["likelihood"])
    v = ev.metrics["mixar"]
    ll_t = mixar.log_likelihood(train.matrix[rows])
    ll_h = mixar.log_likelihood(holdout.matrix)
    assert v["train_ll"] == pytest.approx(ll_t.mean())
    assert v["ll_mia_auc"] == pytest.approx(likelihood_membership_auc(ll_t, ll_h, n_repeats=3, seed=2)["auc"])
    assert ev.result("likelihood").scores["mixar"]["train"].shape == (150,)
    assert any("mean over 150 of the 400 real haplotypes drawn at random (seed 2)" in n for n in ev.notes)
