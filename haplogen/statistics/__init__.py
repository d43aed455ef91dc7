"""The statistics of an evaluation, one registration each.

Every statistic that :func:`haplogen.evaluation.evaluate` runs, and that the report and
``metrics.json`` show, is one :func:`register_statistic` call: its compute function, the
specs of its values (goal, range, target, grade bands), its figures with their how-to-read
text, its place in the report and what it needs to run. The built-in ones are the modules of
this package, one statistic each:

============== ===================================================== =====
module         statistic                                             order
============== ===================================================== =====
frequency      allele frequencies                                    10
ld             linkage disequilibrium: all pairs, a window, decay    20
pca            principal components of the real set                  30
pairwise       pairwise Hamming distances                            40
three_point    3-point correlations                                  50
aats           nearest-neighbour adversarial accuracy                60
copies         exact copies of real haplotypes                       65
population     per-population frequencies and Fst (needs labels)     70
privacy        the privacy audit (needs a holdout)                   80
============== ===================================================== =====

To add one (held-out likelihood, imputation accuracy, a classifier score), write a module
here with one :func:`register_statistic` call; :func:`load_statistics` finds it by name.
Importing this package registers nothing (and imports no matplotlib): the built-ins are
registered by :func:`load_statistics`, which ``evaluate`` calls.

Example
-------
>>> import numpy as np
>>> from haplogen.metrics.base import MetricSpec
>>> def compute(ctx):
...     real = ctx.real.matrix.mean()
...     return Measurement({n: {"toy_mean_gap": abs(h.matrix.mean() - real)} for n, h in ctx.synthetic.items()})
>>> toy = register_statistic("toy", title="Toy", compute=compute, specs=[
...     MetricSpec("toy_mean_gap", "mean allele-1 gap", "min", 0.0, (0.0, 1.0), "|mean - mean|")])
>>> toy.name, [s.key for s in toy.specs]
('toy', ['toy_mean_gap'])
>>> _ = unregister_statistic("toy")
"""

from .registry import (
    HOLDOUT,
    MODELS,
    POPULATION_LABELS,
    SYNTHETIC_LABELS,
    EvaluationContext,
    FigureSpec,
    Measurement,
    Need,
    Statistic,
    get_statistic,
    load_statistics,
    program,
    register_statistic,
    registered_statistics,
    unregister_statistic,
)

__all__ = [
    "EvaluationContext",
    "Measurement",
    "Need",
    "FigureSpec",
    "Statistic",
    "HOLDOUT",
    "POPULATION_LABELS",
    "SYNTHETIC_LABELS",
    "MODELS",
    "program",
    "register_statistic",
    "unregister_statistic",
    "registered_statistics",
    "get_statistic",
    "load_statistics",
]
