"""Are artificial genomes useful? Two jobs that real genomes do, done with artificial ones.

* :mod:`haplogen.utility.imputation`: serve as a **reference panel for imputation**. Held-out
  real individuals keep a sparse "array" subset of their SNPs, Beagle 5 imputes the rest from
  a panel (the real training set, each artificial set, real + artificial), and the imputed
  dosages are scored against the truth (r² per SNP, by minor allele frequency bin).
* :mod:`haplogen.utility.classifier`: **train on artificial, test on real**. A population
  classifier (PCA then multinomial logistic regression) trained on each labelled artificial
  set and on the real training set is scored on the real holdout (accuracy, macro-F1,
  confusion matrix).

Both are pure functions of :class:`~haplogen.haplotypes.Haplotypes` that return plain dicts
(scalars and arrays), with a figure function each that takes that dict and ``ax=None``.
"""

from __future__ import annotations

from .classifier import classification_scores, plot_confusion, train_on_synthetic
from .imputation import (
    ToolError,
    beagle_available,
    beagle_unavailable_reason,
    imputation_r2,
    imputation_utility,
    plot_imputation,
    run_beagle,
)

__all__ = [
    "ToolError",
    "beagle_available",
    "beagle_unavailable_reason",
    "run_beagle",
    "imputation_r2",
    "imputation_utility",
    "plot_imputation",
    "classification_scores",
    "train_on_synthetic",
    "plot_confusion",
]
