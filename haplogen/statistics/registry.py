"""The statistic registry: what a statistic declares, what it receives, what it returns.

A statistic of the evaluation is one :func:`register_statistic` call that declares, in one
place:

* ``compute``: a function of an :class:`EvaluationContext` (the real set, the synthetic
  sets, the holdout, the seed, the trained models, ...) that returns a :class:`Measurement`:
  the scalar values per synthetic set, the statistic's own typed result (arrays and all, for
  its figures) and sentences for the report's notes. It receives the sets through the
  context, never through globals, so that another back end (block-wise, Dask) can provide
  the same statistic from another context;
* ``specs``: the :class:`~haplogen.metrics.base.MetricSpec` of every scalar it produces
  (goal, range, target, grade bands);
* ``figures``: :class:`FigureSpec` s, each a drawing function of the typed result with its
  title and how-to-read text;
* ``needs``: the :class:`Need` s that must be met for it to run (a holdout set, population
  labels, the trained models, an external program); when one is not met the statistic is
  skipped, and the report and ``metrics.json`` say why in one sentence;
* ``order``: its place in the report, and ``default``: whether it runs unless switched off
  (an expensive statistic is opt-in: ``default=False``, run with
  ``evaluate(..., statistics=[name, ...])``).

This module imports neither :mod:`haplogen.evaluation` nor :mod:`haplogen.report`; both
import it. The built-in statistics live one per module beside it and are registered by
:func:`load_statistics`.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from ..metrics.base import METRICS, MetricSpec, register_metric

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ..haplotypes import Haplotypes
    from ..privacy.audit import PrivacyThresholds

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


# ---------------------------------------------------------------------------- what compute receives
@dataclass(frozen=True)
class EvaluationContext:
    """Everything a statistic may use, handed to its ``compute`` function.

    Attributes
    ----------
    real : Haplotypes, shape (n_real, n_sites)
        The real set (the training set when a holdout is given), with population labels
        when they were given.
    synthetic : mapping of str to Haplotypes, each shape (n_syn, n_sites)
        The artificial sets by name, in the order given; same sites as ``real``.
    real_name
        Name of the real set in tables and figures.
    holdout : Haplotypes, shape (n_holdout, n_sites), optional
        Real individuals the model never saw.
    seed
        Seed of every random subsample.
    aats_repeats
        Random equal-sized subsamples averaged in nearest-neighbour statistics.
    thresholds
        Limits of the privacy verdict.
    models
        ``{synthetic set name: trained model}`` for statistics that need the model itself
        (held-out likelihood); empty when none was given.
    options
        ``{statistic name: {option: value}}``: settings of individual statistics.
    progress
        Called with one line before each step (a command-line progress display).
    blockwise : haplogen.blockwise.Blockwise, optional
        When given, the statistics that have a block-wise path compute on Dask arrays of the
        sets (``blockwise.array(set)``), block by block with bounded memory, on its cluster;
        None computes in memory.
    """

    real: "Haplotypes"
    synthetic: Mapping[str, "Haplotypes"]
    real_name: str = "real"
    holdout: "Haplotypes | None" = None
    seed: int = 0
    aats_repeats: int = 5
    thresholds: "PrivacyThresholds | None" = None
    models: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    progress: Callable[[str], None] | None = None
    blockwise: Any = None

    @property
    def names(self) -> list[str]:
        """Names of the synthetic sets, in the order given."""
        return list(self.synthetic)

    def say(self, message: str) -> None:
        """Report one step to :attr:`progress` (nothing when there is none)."""
        if self.progress is not None:
            self.progress(message)

    def option(self, statistic: str, name: str, default: Any = None) -> Any:
        """The option ``name`` of ``statistic`` from :attr:`options`, or ``default``."""
        return self.options.get(statistic, {}).get(name, default)


# ---------------------------------------------------------------------------- what compute returns
@dataclass
class Measurement:
    """What a statistic's ``compute`` returns.

    Attributes
    ----------
    values
        ``{synthetic set name: {key: value}}``; every key must be the key of one of the
        statistic's specs. A value that is undefined for a set (too few sites for a spacing)
        is NaN, or left out.
    result
        The statistic's own typed result (arrays included), handed to its figure functions.
    notes
        Sentences on subsampling and other choices that shape the numbers.
    parameters
        Settings it chose (``{"ld_window_sites": 300}``), added to the provenance.
    reference
        ``{key: value}`` that the statistic measured for real data in the place of an artificial
        set (train on real, the real imputation panel): the reference column of a statistic
        that cannot score the holdout like a synthetic set (it needs the holdout itself).
    """

    values: dict[str, dict[str, float]]
    result: Any = None
    notes: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------- needs
@dataclass(frozen=True)
class Need:
    """A condition a statistic needs to run.

    Attributes
    ----------
    name
        Short name (``"holdout"``), shown in ``metrics.json``.
    unmet
        ``unmet(context)`` returns None when the need is met, otherwise a clause that says
        what is missing and how to provide it (``"no holdout set was given (pass ...)"``).
    """

    name: str
    unmet: Callable[[EvaluationContext], str | None]


HOLDOUT = Need(
    "holdout",
    lambda ctx: None if ctx.holdout is not None
    else "no holdout set was given (pass real individuals the model never saw with --holdout)",
)
POPULATION_LABELS = Need(
    "labels",
    lambda ctx: None if ctx.real.population is not None
    else "the real set carries no population labels (pass a samples table with --labels)",
)


def _synthetic_labels(ctx: EvaluationContext) -> str | None:
    unlabelled = [n for n, h in ctx.synthetic.items() if h.population is None]
    if not unlabelled:
        return None
    return (f"the synthetic set{'s' if len(unlabelled) > 1 else ''} {', '.join(unlabelled)} "
            "carry no population labels (sample them from a conditional model)")


SYNTHETIC_LABELS = Need("synthetic labels", _synthetic_labels)


def _models(ctx: EvaluationContext) -> str | None:
    missing = [n for n in ctx.synthetic if n not in ctx.models]
    if not missing:
        return None
    return (f"no trained model was given for {', '.join(missing)} (pass models={{set name: model}} "
            "to evaluate)")


MODELS = Need("models", _models)


def program(name: str, how_to_install: str) -> Need:
    """A need for an external program on the ``PATH``.

    Parameters
    ----------
    name
        The executable (``"beagle"``).
    how_to_install
        What to do when it is missing (``"apt-get install beagle"``).
    """
    return Need(
        f"program {name}",
        lambda ctx: None if shutil.which(name) else f"the program {name} is not on the PATH ({how_to_install})",
    )


# ---------------------------------------------------------------------------- figures
@dataclass(frozen=True)
class FigureSpec:
    """One figure of a statistic in the report.

    Attributes
    ----------
    name
        Identifier of the figure in the page (``"ld-decay"``): letters, digits and ``-``.
    title
        Section title (``"LD decay"``).
    draw
        ``draw(result)`` returns a :class:`matplotlib.figure.Figure` from the statistic's
        typed result; with :attr:`per_set`, ``draw(result, set_name)``.
    how_to_read
        What the figure shows and what a good synthetic set looks like in it.
    per_set
        One figure per synthetic set, named ``f"{name}-{set}"`` and titled
        ``f"{title}: {set}"``.
    """

    name: str
    title: str
    draw: Callable[..., "Figure"]
    how_to_read: str
    per_set: bool = False

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c == "-" for c in self.name):
            raise ValueError(
                f"a figure name must hold only letters, digits and '-', found {self.name!r}; rename the figure"
            )
        if not self.how_to_read.strip():
            raise ValueError(f"figure {self.name!r} has no how-to-read text; say what the figure shows")


# ---------------------------------------------------------------------------- the statistic
@dataclass(frozen=True)
class Statistic:
    """A registered statistic (see the module docstring and :func:`register_statistic`)."""

    name: str
    title: str
    compute: Callable[[EvaluationContext], Measurement]
    specs: tuple[MetricSpec, ...] = ()
    figures: tuple[FigureSpec, ...] = ()
    needs: tuple[Need, ...] = ()
    order: float = 100.0
    default: bool = True
    description: str = ""

    def unmet(self, ctx: EvaluationContext) -> str | None:
        """None when every need is met, else one sentence saying why the statistic cannot run."""
        for need in self.needs:
            clause = need.unmet(ctx)
            if clause:
                return f"{self.title} skipped: {clause}."
        return None


_REGISTRY: dict[str, Statistic] = {}


def register_statistic(
    name: str,
    *,
    title: str,
    compute: Callable[[EvaluationContext], Measurement],
    specs: Sequence[MetricSpec] = (),
    figures: Sequence[FigureSpec] = (),
    needs: Sequence[Need] = (),
    order: float = 100.0,
    default: bool = True,
    description: str = "",
) -> Statistic:
    """Register a statistic of the evaluation; every later :func:`~haplogen.evaluation.evaluate` runs it.

    Parameters
    ----------
    name
        Identifier (``"allele_frequency"``): its key in ``metrics.json``'s ``skipped``, in
        ``evaluate(statistics=..., exclude=...)`` and in :attr:`Evaluation.results`.
    title
        Human-readable name (``"Allele frequencies"``).
    compute
        ``compute(context) -> Measurement``.
    specs
        Specs of the scalar values it reports; their keys must be new.
    figures
        Its figures in the report, in order.
    needs
        Conditions to run; unmet ones skip it with their reason.
    order
        Place in the report and in ``metrics.json`` (built-ins: 10, 20, ... 80).
    default
        False for an opt-in statistic that runs only when named in ``statistics=``.
    description
        One sentence on what it measures.

    Returns
    -------
    Statistic

    Raises
    ------
    ValueError
        When ``name`` is taken by another statistic, a spec key or figure name by another
        statistic, or a field has the wrong type.
    """
    statistic = Statistic(
        name=name, title=title, compute=compute, specs=tuple(specs), figures=tuple(figures),
        needs=tuple(needs), order=float(order), default=bool(default), description=description,
    )
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"a statistic name must hold only letters, digits and '_', found {name!r}")
    for what, items, kind in (("spec", statistic.specs, MetricSpec), ("figure", statistic.figures, FigureSpec),
                              ("need", statistic.needs, Need)):
        for item in items:
            if not isinstance(item, kind):
                raise ValueError(
                    f"statistic {name!r}: every {what} must be a {kind.__name__}, found {type(item).__name__}"
                )
    if not callable(compute):
        raise ValueError(f"statistic {name!r}: compute must be a function of the context, found {compute!r}")
    existing = _REGISTRY.get(name)
    if existing is not None:
        if existing == statistic:
            return existing  # the same module imported twice
        raise ValueError(
            f"a statistic named {name!r} is already registered (title {existing.title!r}); choose another "
            "name, or unregister_statistic() the old one first"
        )
    keys = [s.key for s in statistic.specs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"statistic {name!r} declares a spec key twice: {keys}")
    figure_names = {f.name for f in statistic.figures}
    for other in _REGISTRY.values():
        taken = set(keys) & {s.key for s in other.specs}
        if taken:
            raise ValueError(
                f"statistic {name!r} reports {sorted(taken)}, already reported by statistic {other.name!r}; "
                "give the values other keys"
            )
        clash = figure_names & {f.name for f in other.figures}
        if clash:
            raise ValueError(
                f"statistic {name!r} draws a figure named {sorted(clash)}, already drawn by {other.name!r}; "
                "rename the figure"
            )
    for spec in statistic.specs:
        register_metric(spec)
    _REGISTRY[name] = statistic
    return statistic


def unregister_statistic(name: str) -> Statistic:
    """Remove a registered statistic (and its specs from :data:`~haplogen.metrics.base.METRICS`)."""
    try:
        statistic = _REGISTRY.pop(name)
    except KeyError:
        raise ValueError(f"no statistic named {name!r} is registered") from None
    for spec in statistic.specs:
        if METRICS.get(spec.key) == spec:
            del METRICS[spec.key]
    return statistic


def registered_statistics() -> list[Statistic]:
    """Every registered statistic, in report order (``order``, then name)."""
    return sorted(_REGISTRY.values(), key=lambda s: (s.order, s.name))


def get_statistic(name: str) -> Statistic:
    """The registered statistic called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"no statistic named {name!r} is registered; known: {', '.join(s.name for s in registered_statistics())}"
        ) from None


def _builtin_modules() -> Iterator[str]:
    package = __name__.rpartition(".")[0]
    path = importlib.import_module(package).__path__
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if info.name != "registry" and not info.name.startswith("_"):
            yield f"{package}.{info.name}"


def load_statistics() -> list[Statistic]:
    """Import every module of :mod:`haplogen.statistics`, which registers the built-in statistics.

    A new statistic is one new module in that package (it is found here, by name), or a
    :func:`register_statistic` call in any module imported before :func:`evaluate` runs.
    Importing twice is harmless.

    Returns
    -------
    list of Statistic
        Every registered statistic, in report order.
    """
    for module in _builtin_modules():
        importlib.import_module(module)
    return registered_statistics()
