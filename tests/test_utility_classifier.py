"""Train on artificial, test on real: scores against scikit-learn, and real sets as artificial ones."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from haplogen.errors import InputError
from haplogen.haplotypes import Haplotypes
from haplogen.utility.classifier import classification_scores, plot_confusion, train_on_synthetic


@pytest.fixture(scope="module")
def thirds(sim_haplotypes: Haplotypes) -> tuple[Haplotypes, Haplotypes, Haplotypes]:
    """(train, other real, holdout): three disjoint sets of individuals of ``sim_haplotypes``."""
    rng = np.random.default_rng(4)
    samples = rng.permutation(sim_haplotypes.samples)
    k = len(samples) // 3
    return tuple(sim_haplotypes.select_samples(samples[i * k:(i + 1) * k]) for i in range(3))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def scored(thirds) -> dict:
    train, other, holdout = thirds
    rng = np.random.default_rng(9)
    wrong = replace(other, population=rng.permutation(other.population))  # labels shuffled across haplotypes
    unlabelled = replace(other, population=None, super_population=None)
    one_pop = replace(other, population=np.full(other.n_haplotypes, "YRI", dtype=object))
    return train_on_synthetic(train, {"other real": other, "wrong labels": wrong, "unlabelled": unlabelled,
                                      "one population": one_pop}, holdout, seed=1)


# ---------------------------------------------------------------------------- the scores
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    labels = ["AFR", "EAS", "EUR", "SAS", "AMR"]
    y_true = rng.choice(labels[:4], size=200)  # AMR is never true ...
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.choice(labels, size=200))  # ... but predicted
    y_pred[y_pred == "SAS"] = "EUR"  # and SAS is true but never predicted
    scores = classification_scores(y_true, y_pred, labels)
    assert scores["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    assert scores["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0), abs=1e-12)
    np.testing.assert_array_equal(scores["confusion"], confusion_matrix(y_true, y_pred, labels=labels))
    per_label = f1_score(y_true, y_pred, labels=labels[:4] + ["AMR"], average=None, zero_division=0)
    for label, value in zip(labels, per_label):
        assert scores["f1"][label] == pytest.approx(value, abs=1e-12)


def test_scores_of_a_label_that_never_occurs_are_left_out_of_the_macro_mean():
    scores = classification_scores(["a", "a", "b"], ["a", "b", "b"], ["a", "b", "c"])
    assert np.isnan(scores["f1"]["c"])
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert scores["accuracy"] == pytest.approx(2 / 3)
    with pytest.raises(InputError, match=r"labels \['d'\] are not in the label order"):
        classification_scores(["a"], ["d"], ["a", "b"])


# ---------------------------------------------------------------------------- train on X, test on real
def test_a_set_of_real_haplotypes_scores_like_the_real_training_set(scored):
    assert scored["sets"] == ["real", "other real", "wrong labels"]
    assert scored["accuracy"]["real"] > 0.85, scored["accuracy"]
    assert abs(scored["accuracy"]["other real"] - scored["accuracy"]["real"]) < 0.05, scored["accuracy"]
    assert abs(scored["macro_f1"]["other real"] - scored["macro_f1"]["real"]) < 0.05, scored["macro_f1"]


def test_wrong_labels_score_near_chance(scored):
    # three balanced populations: chance is 1/3
    assert scored["accuracy"]["wrong labels"] < 0.55, scored["accuracy"]
    assert scored["accuracy"]["real"] - scored["accuracy"]["wrong labels"] > 0.3


def test_unlabelled_and_single_population_sets_are_skipped_with_a_reason(scored):
    assert set(scored["skipped"]) == {"unlabelled", "one population"}
    assert "no population labels" in scored["skipped"]["unlabelled"]
    assert "1 population; two are needed" in scored["skipped"]["one population"]
    assert any(note.startswith("unlabelled: not scored") for note in scored["notes"])


def test_the_confusion_matrix_has_true_rows_in_label_order(scored, thirds):
    _, _, holdout = thirds
    assert scored["labels"] == sorted(set(holdout.population))
    assert scored["n_test"] == holdout.n_haplotypes
    for name in scored["sets"]:
        matrix = scored["confusion"][name]
        assert matrix.shape == (3, 3)
        true_counts = [int(np.sum(holdout.population == label)) for label in scored["labels"]]
        assert matrix.sum(axis=1).tolist() == true_counts
        assert np.trace(matrix) / matrix.sum() == pytest.approx(scored["accuracy"][name])


def test_the_same_seed_gives_the_same_result(thirds):
    train, other, holdout = thirds
    big = Haplotypes(np.concatenate([other.matrix, train.matrix]), other.sites,
                     np.concatenate([other.haplotype_sample, train.haplotype_sample]),
                     np.concatenate([other.haplotype_id, train.haplotype_id]),
                     population=np.concatenate([other.population, train.population]))
    first = train_on_synthetic(train, {"big": big}, holdout, seed=5)
    again = train_on_synthetic(train, {"big": big}, holdout, seed=5)
    assert first["accuracy"] == again["accuracy"] and first["macro_f1"] == again["macro_f1"]
    np.testing.assert_array_equal(first["confusion"]["big"], again["confusion"]["big"])
    assert first["n_train"]["big"] == train.n_haplotypes  # subsampled to the real training size
    assert any("big: trained on a random" in note for note in first["notes"])


def test_a_sets_figure_does_not_depend_on_the_sets_evaluated_before_it(thirds):
    """Each set larger than the real training set is subsampled with a generator of its own: the
    same set scores the same alone and after another set that is subsampled too."""
    train, other, holdout = thirds

    def doubled(h: Haplotypes) -> Haplotypes:
        return Haplotypes(np.concatenate([h.matrix, train.matrix]), h.sites,
                          np.concatenate([h.haplotype_sample, train.haplotype_sample]),
                          np.concatenate([h.haplotype_id, train.haplotype_id]),
                          population=np.concatenate([h.population, train.population]))

    big, wide = doubled(other), doubled(holdout)
    alone = train_on_synthetic(train, {"big": big}, holdout, seed=5)
    second = train_on_synthetic(train, {"wide": wide, "big": big}, holdout, seed=5)
    assert second["n_train"]["wide"] == second["n_train"]["big"] == train.n_haplotypes
    assert alone["accuracy"]["big"] == second["accuracy"]["big"]
    np.testing.assert_array_equal(alone["confusion"]["big"], second["confusion"]["big"])


def test_super_population_level_and_unknown_holdout_labels(thirds):
    train, other, holdout = thirds
    population = holdout.population.copy()
    population[:4] = "unknown"
    result = train_on_synthetic(train, {"other": other}, replace(holdout, population=population),
                                level="super_population", seed=0)
    assert result["labels"] == ["AFR", "EAS", "EUR"]
    assert result["n_test"] == holdout.n_haplotypes  # super-population labels are all known
    result = train_on_synthetic(train, {"other": other}, replace(holdout, population=population), seed=0)
    assert result["n_test"] == holdout.n_haplotypes - 4
    assert any("4 holdout haplotypes labelled 'unknown'" in note for note in result["notes"])


def test_input_errors(thirds):
    train, other, holdout = thirds
    bare = replace(holdout, population=None, super_population=None)
    with pytest.raises(InputError, match="population of each holdout haplotype; pass a samples table"):
        train_on_synthetic(train, {}, bare)
    with pytest.raises(InputError, match="population of each real training haplotype"):
        train_on_synthetic(replace(train, population=None, super_population=None), {}, holdout)
    with pytest.raises(InputError, match="level must be 'population' or 'super_population', found 'pop'"):
        train_on_synthetic(train, {}, holdout, level="pop")
    with pytest.raises(InputError, match=r"the rbm set has 10 sites, the real set 300"):
        train_on_synthetic(train, {"rbm": other.take_sites(slice(0, 10))}, holdout)


def test_the_figure_draws_one_matrix_per_set(scored):
    fig = plot_confusion(scored)
    visible = [ax for ax in fig.axes if ax.get_visible() and ax.images]
    assert len(visible) == len(scored["sets"])
    assert "trained on other real" in visible[1].get_title()
    assert [t.get_text() for t in visible[0].get_yticklabels()] == scored["labels"]


# ---------------------------------------------------------------------------- as a statistic of the evaluation
@pytest.fixture
def utility_registered():
    """The utility statistics registered for one test, and unregistered after it."""
    from haplogen.statistics.registry import load_statistics, unregister_statistic
    from haplogen.utility.registration import UTILITY_STATISTICS, register_utility_statistics

    before = {s.name for s in load_statistics()}
    register_utility_statistics()
    yield
    for name in UTILITY_STATISTICS:
        if name not in before:
            unregister_statistic(name)


def test_train_on_artificial_shows_in_metrics_json(utility_registered, thirds, tmp_path):
    import json

    from haplogen.evaluation import evaluate
    from haplogen.report import write_outputs

    train, other, holdout = thirds
    unlabelled = replace(other, population=None, super_population=None)
    ev = evaluate(train, {"other real": other, "unlabelled": unlabelled}, holdout=holdout, seed=3,
                  statistics=["train_on_artificial"])
    paths = write_outputs(ev, tmp_path)
    document = json.loads(Path(paths["metrics"]).read_text())
    direct = train_on_synthetic(train, {"other real": other, "unlabelled": unlabelled}, holdout, seed=3)
    values = document["statistics"]["toar_accuracy"]["values"]
    assert values["other real"] == pytest.approx(direct["accuracy"]["other real"])
    assert values["unlabelled"] is None  # skipped for this set (NaN is written as null)
    gap = document["statistics"]["toar_accuracy_gap"]
    assert gap["goal"] == "target" and gap["bands"] == [0.02, 0.05]
    assert gap["values"]["other real"] == pytest.approx(direct["accuracy"]["other real"] - direct["accuracy"]["real"])
    assert document["statistics"]["toar_macro_f1"]["values"]["other real"] == pytest.approx(
        direct["macro_f1"]["other real"])
    # the reference column holds train on real, test on real (the gap has none: it is 0 by definition)
    assert document["statistics"]["toar_accuracy"]["reference"] == pytest.approx(direct["accuracy"]["real"])
    assert document["statistics"]["toar_macro_f1"]["reference"] == pytest.approx(direct["macro_f1"]["real"])
    assert gap["reference"] is None
    # measured anyway: it stays when the holdout is not scored as a set
    off = evaluate(train, {"other real": other}, holdout=holdout, seed=3, statistics=["train_on_artificial"],
                   reference=False)
    assert off.reference == {"toar_accuracy": pytest.approx(direct["accuracy"]["real"]),
                             "toar_macro_f1": pytest.approx(direct["macro_f1"]["real"])}
    assert any(note.startswith("Train on real, test on real: accuracy") for note in document["notes"])
    assert any("unlabelled: not scored" in note for note in document["notes"])
    assert "imputation" in document["skipped"]  # opt-in
    assert "Train on artificial, test on real" in Path(paths["report"]).read_text()


def test_train_on_artificial_is_skipped_without_labelled_sets(utility_registered, thirds):
    from haplogen.evaluation import evaluate

    train, other, holdout = thirds
    unlabelled = replace(other, population=None, super_population=None)
    ev = evaluate(train, {"unlabelled": unlabelled}, holdout=holdout, statistics=["train_on_artificial"])
    assert ev.skipped["train_on_artificial"] == (
        "Train on artificial, test on real skipped: no synthetic set carries population labels (sample them "
        "from a conditional model, which writes a samples table).")
