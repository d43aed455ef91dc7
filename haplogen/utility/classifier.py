"""Train on artificial, test on real: a population classifier.

Artificial genomes are useful for a downstream model when a model trained on them works on
real people. The model here is a population classifier of single haplotypes, the simplest
job that needs the population structure to be right:

1. a PCA (``n_components``, 20 by default) fitted on the training panel itself, on the 0/1
   matrix centred per site (scikit-learn, randomized SVD seeded when the matrix is large);
2. the principal components standardised, then a multinomial logistic regression
   (scikit-learn's ``lbfgs``, L2 penalty ``C = 1``).

It is trained on each labelled artificial set (subsampled to the size of the real training
set when larger, so that every training panel holds as many haplotypes) and, as the
reference, on the real training set; each is scored on the real holdout haplotypes:
accuracy, macro-F1 and the confusion matrix (rows: true population, columns: predicted, in
the order of ``labels``). Haplotypes labelled ``unknown`` (individuals absent from a labels
table) take no part. An artificial set without labels, or with a single population, is
skipped with a reason.

Accuracy and macro-F1 are computed from the confusion matrix: macro-F1 is the mean, over
the populations that occur among the true or the predicted labels, of
``F1 = 2 TP / (2 TP + FP + FN)`` (scikit-learn's ``f1_score(average="macro")``).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..errors import InputError
from ..haplotypes import Haplotypes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from sklearn.pipeline import Pipeline

__all__ = [
    "N_COMPONENTS",
    "UNKNOWN",
    "population_classifier",
    "classification_scores",
    "train_on_synthetic",
    "plot_confusion",
]

#: principal components the classifier works on: enough for continental and most
#: within-continent structure, few enough that a few hundred haplotypes fit the regression
N_COMPONENTS = 20
#: the label of haplotypes whose individual is absent from the labels table
UNKNOWN = "unknown"


def _labels_of(h: Haplotypes, level: str) -> np.ndarray | None:
    if level not in ("population", "super_population"):
        raise InputError(f"level must be 'population' or 'super_population', found {level!r}")
    labels = getattr(h, level)
    if labels is None and level == "super_population":
        labels = h.population
    return labels


def population_classifier(h: Haplotypes, labels: np.ndarray, *, n_components: int = N_COMPONENTS,
                          seed: int = 0) -> "Pipeline":
    """Fit PCA + standardisation + multinomial logistic regression on the haplotypes of ``h``.

    Parameters
    ----------
    h : Haplotypes, shape (n_haplotypes, n_sites)
        Training haplotypes.
    labels : ndarray of str, shape (n_haplotypes,)
        Population of each haplotype (at least two distinct ones).
    n_components
        Principal components kept (fewer when the panel is smaller).
    seed
        Seed of the randomized SVD; the fit is otherwise deterministic.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``predict`` takes a float matrix of shape (n, n_sites).
    """
    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels = np.asarray(labels, dtype=object)
    if len(set(labels.tolist())) < 2:
        raise InputError("a population classifier needs at least two populations in its training set, found "
                         f"{sorted(set(labels.tolist()))}; pass a labelled set with several populations")
    k = max(1, min(int(n_components), h.n_haplotypes - 1, h.n_sites))
    model = make_pipeline(
        PCA(n_components=k, svd_solver="auto", random_state=int(seed)),
        StandardScaler(),
        LogisticRegression(C=1.0, max_iter=2000),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(h.matrix.astype(np.float32), labels.astype(str))
    return model


def classification_scores(y_true: Sequence[str] | np.ndarray, y_pred: Sequence[str] | np.ndarray,
                          labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and confusion matrix of predicted against true labels.

    Parameters
    ----------
    y_true, y_pred : array_like of str, shape (n,)
        True and predicted label of each item.
    labels : sequence of str, length n_labels
        Order of the rows and columns of the confusion matrix; must hold every label of
        ``y_true`` and ``y_pred``.

    Returns
    -------
    dict
        ``accuracy`` (share of items predicted right), ``macro_f1`` (mean F1 over the labels
        that occur in ``y_true`` or ``y_pred``), ``f1`` ({label: F1}, NaN for a label that
        occurs in neither) and ``confusion`` (int64, shape (n_labels, n_labels), rows true,
        columns predicted).
    """
    y_true = np.asarray(y_true, dtype=object).astype(str)
    y_pred = np.asarray(y_pred, dtype=object).astype(str)
    labels = [str(x) for x in labels]
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise InputError(f"true and predicted labels must be 1-D of one length, found {y_true.shape} and {y_pred.shape}")
    if y_true.size == 0:
        raise InputError("no items to score; pass at least one true and predicted label")
    index = {label: i for i, label in enumerate(labels)}
    stray = sorted((set(y_true.tolist()) | set(y_pred.tolist())) - set(index))
    if stray:
        raise InputError(f"labels {stray[:5]} are not in the label order {labels[:5]}...; add them to labels")
    n = len(labels)
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (np.array([index[t] for t in y_true]), np.array([index[p] for p in y_pred])), 1)
    tp = np.diag(confusion).astype(np.float64)
    fp = confusion.sum(axis=0) - tp  # predicted as the label, truly another
    fn = confusion.sum(axis=1) - tp  # truly the label, predicted as another
    denominator = 2 * tp + fp + fn
    occurs = denominator > 0
    f1 = np.full(n, np.nan)
    f1[occurs] = 2 * tp[occurs] / denominator[occurs]
    return {
        "accuracy": float(tp.sum() / y_true.size),
        "macro_f1": float(f1[occurs].mean()),
        "f1": {label: float(f1[i]) for i, label in enumerate(labels)},
        "confusion": confusion,
    }


def train_on_synthetic(
    real: Haplotypes,
    synthetic: Mapping[str, Haplotypes],
    holdout: Haplotypes,
    *,
    real_name: str = "real",
    level: str = "population",
    n_components: int = N_COMPONENTS,
    match_size: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Accuracy of a population classifier trained on each set and tested on the real holdout.

    Parameters
    ----------
    real : Haplotypes, shape (n_real, n_sites)
        The labelled real training set: the train-on-real reference.
    synthetic : mapping of str to Haplotypes, each shape (n_syn, n_sites)
        Artificial sets by name, labelled per haplotype (``population``, as a conditional
        model writes them); unlabelled ones are skipped with a reason.
    holdout : Haplotypes, shape (n_holdout, n_sites)
        Labelled real haplotypes absent from every training set: the test set.
    real_name
        Name of the real set in the result.
    level
        ``"population"`` or ``"super_population"`` (the population where a set has no
        super-population).
    n_components
        Principal components of each classifier.
    match_size
        Subsample an artificial set larger than the real one to ``n_real`` haplotypes.
    seed
        Seed of the subsamples and of the PCA.

    Returns
    -------
    dict
        ``sets`` (names scored, the real set first), ``labels`` (the order of the confusion
        matrices: populations of the real set and of the holdout, sorted, then any other
        predicted), ``level``, ``n_test`` (holdout haplotypes scored), and per set:
        ``accuracy``, ``macro_f1``, ``f1`` ({label: F1}), ``confusion`` (int64, shape
        (n_labels, n_labels), rows true, columns predicted), ``n_train``; ``skipped``
        ({set name: reason}), ``notes`` (sentences) and ``settings``.

    Raises
    ------
    InputError
        When the real set or the holdout carries no labels, the real set has a single
        population, or a set does not have the real set's number of sites.
    """
    real_labels = _labels_of(real, level)
    test_labels = _labels_of(holdout, level)
    if real_labels is None:
        raise InputError("train on artificial, test on real needs the population of each real training haplotype; "
                         "pass a samples table with --labels")
    if test_labels is None:
        raise InputError("train on artificial, test on real needs the population of each holdout haplotype; "
                         "pass a samples table with --labels that lists the holdout individuals")
    for name, h in [("holdout", holdout), *synthetic.items()]:
        if h.n_sites != real.n_sites:
            raise InputError(f"the {name} set has {h.n_sites} sites, the real set {real.n_sites}; "
                             "use sets with the real set's sites")
    notes: list[str] = []
    known = test_labels != UNKNOWN
    if not known.any():
        raise InputError("every holdout haplotype is labelled 'unknown'; pass the samples table of the holdout")
    if not known.all():
        notes.append(f"{int((~known).sum())} holdout haplotypes labelled 'unknown' are not scored.")
    x_test = holdout.matrix[known].astype(np.float32)
    y_test = test_labels[known].astype(str)

    training: dict[str, tuple[Haplotypes, np.ndarray]] = {}
    skipped: dict[str, str] = {}

    def usable(h: Haplotypes, labels: np.ndarray, name: str) -> tuple[Haplotypes, np.ndarray]:
        keep = labels != UNKNOWN
        if not keep.all():
            notes.append(f"{name}: {int((~keep).sum())} haplotypes labelled 'unknown' are left out of training.")
        return h.take(np.flatnonzero(keep)), labels[keep].astype(str)

    real_h, real_y = usable(real, real_labels, real_name)
    if len(set(real_y.tolist())) < 2:
        raise InputError(f"the real training set holds one population ({sorted(set(real_y.tolist()))}); "
                         "a population classifier needs at least two")
    training[real_name] = (real_h, real_y)
    for name, h in synthetic.items():
        labels = _labels_of(h, level)
        if labels is None:
            skipped[name] = "it carries no population labels (sample it from a conditional model)"
            continue
        h, y = usable(h, labels, name)
        if len(set(y.tolist())) < 2:
            skipped[name] = f"its haplotypes are labelled with {len(set(y.tolist()))} population; two are needed"
            continue
        if match_size and h.n_haplotypes > real_h.n_haplotypes:
            # a generator of its own: a set's subsample (and figure) does not depend on the sets before it
            rng = np.random.default_rng(seed)
            rows = np.sort(rng.choice(h.n_haplotypes, size=real_h.n_haplotypes, replace=False))
            notes.append(f"{name}: trained on a random {real_h.n_haplotypes} of its {h.n_haplotypes} haplotypes "
                         "(the size of the real training set).")
            h, y = h.take(rows), y[rows]
        training[name] = (h, y)
    for name, reason in skipped.items():
        notes.append(f"{name}: not scored, {reason}.")

    order = sorted(set(real_y.tolist()) | set(y_test.tolist()))
    result: dict[str, Any] = {
        "sets": list(training), "level": level, "n_test": int(y_test.size), "labels": order,
        "accuracy": {}, "macro_f1": {}, "f1": {}, "confusion": {}, "n_train": {},
        "skipped": skipped, "notes": notes,
        "settings": {"n_components": int(n_components), "seed": int(seed), "match_size": bool(match_size),
                     "model": "PCA fitted on the training set, standardised PCs, multinomial logistic regression"},
    }
    predictions = {}
    for name, (h, y) in training.items():
        model = population_classifier(h, y, n_components=n_components, seed=seed)
        predictions[name] = np.asarray(model.predict(x_test), dtype=object).astype(str)
        result["n_train"][name] = int(h.n_haplotypes)
    for labels in [*(set(y.tolist()) for _, y in training.values()), *(set(p.tolist()) for p in predictions.values())]:
        order.extend(sorted(labels - set(order)))
    for name, predicted in predictions.items():
        scores = classification_scores(y_test, predicted, order)
        for key in ("accuracy", "macro_f1", "f1", "confusion"):
            result[key][name] = scores[key]
    # matrices made before a later set added labels: pad them to the final order
    for name, matrix in result["confusion"].items():
        if matrix.shape[0] < len(order):
            padded = np.zeros((len(order), len(order)), dtype=np.int64)
            padded[: matrix.shape[0], : matrix.shape[1]] = matrix
            result["confusion"][name] = padded
    return result


def plot_confusion(result: Mapping[str, Any], *, axes: "Axes | Sequence[Axes] | None" = None) -> "Figure":
    """Confusion matrices of the holdout, one panel per training set, shaded by share of each true row.

    Parameters
    ----------
    result
        :func:`train_on_synthetic` result; reads ``sets``, ``labels``, ``confusion``,
        ``accuracy`` and ``macro_f1``.
    axes
        One axes per scored set (or one axes when a single set was scored); new ones when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    names = list(result["sets"])
    labels = list(result["labels"])
    if axes is None:
        ncols = min(len(names), 3)
        nrows = int(np.ceil(len(names) / ncols))
        side = max(3.2, 0.45 * len(labels) + 1.8)
        fig = Figure(figsize=(side * ncols, side * nrows), layout="constrained")
        axs = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
        for extra in axs[len(names):]:
            extra.set_visible(False)
    else:
        axs = [axes] if isinstance(axes, Axes) else list(np.ravel(np.asarray(axes, dtype=object)))
        if len(axs) < len(names):
            raise ValueError(f"this figure needs {len(names)} axes, found {len(axs)}")
    small = len(labels) <= 12
    for ax, name in zip(axs, names):
        matrix = np.asarray(result["confusion"][name], dtype=np.float64)
        totals = matrix.sum(axis=1, keepdims=True)
        share = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
        ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
        if small:
            for i in range(matrix.shape[0]):
                for j in range(matrix.shape[1]):
                    if matrix[i, j]:
                        ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=7,
                                color="white" if share[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set(xlabel="predicted", ylabel="true (holdout)",
               title=f"trained on {name}\naccuracy {result['accuracy'][name]:.3f}, "
                     f"macro-F1 {result['macro_f1'][name]:.3f}")
        ax.title.set_fontsize(9)
    return axs[0].figure
