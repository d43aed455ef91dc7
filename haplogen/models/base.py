"""The interface shared by every haplogen model: ``fit`` / ``sample`` / ``save`` / ``load``.

A model learns the distribution of the rows of an ``(n_haplotypes, n_sites)`` uint8 matrix of
0/1 alleles and draws new rows from it. It never reads data files, and stores its training data
only when it is a copying model whose reference panel they are (:attr:`GenerativeModel.panel_weights`:
the mosaic family, whose model files must then stay where the data may be kept). The training loop (epochs, time budget, checkpoints, exact resume, progress, divergence
checks, labels, device) lives here; a model family (one file, see
:mod:`haplogen.models.registry`) implements a handful of hooks:

``_initialise(x, seed, labels)``
    fresh weights, optimiser and random state for a run on the data ``x``;
``_train_epoch(epoch)``
    one pass over the data, returning the epoch's losses;
``_weights()`` / ``_set_weights(weights)``
    the parameters, as a dict of tensors;
``_training_state()`` / ``_restore_training_state(state, x, seed, labels)``
    everything else that a run needs to continue exactly (optimiser moments, generator
    states, persistent chains), as tensors and plain containers;
``_sample(n, generator, batch_size, labels)``
    ``n`` new haplotypes.

Shapes and devices: ``x`` is float32 of shape (n_haplotypes, n_sites) on :attr:`device`;
``labels`` is None for a family that is not :attr:`conditional`, else an int64 tensor on
:attr:`device` of population codes, shape (n_haplotypes,) for training and (n,) for sampling,
indexing :attr:`populations` (the sorted label vocabulary, stored in the model file with its
training counts). :attr:`populations` is already set when a family's ``__init__`` runs (after
``super().__init__``) whenever it is known, so a conditional family sizes its per-population
weights there with ``len(self.populations or ())``: ``load`` builds the model with the file's
vocabulary, and ``fit`` rebuilds the model (runs ``__init__`` again) once the labels give it. A
family creates its tensors with ``device=self.device`` and its random
generators with :meth:`_new_generator`, and restores a saved generator state with
:meth:`_restore_generator`. Checkpoints and model files always hold CPU tensors, so that a
model trained on a GPU loads on a machine without one.

Resuming is exact: a run stopped after ``k`` epochs and resumed gives the same weights, bit for
bit, as a run that never stopped (on the same machine, device and number of threads), because
the checkpoint holds every piece of random state. The learning-rate schedules are functions of
the epoch index only, never of the number of epochs asked for, so that stopping early or asking
for more epochs later does not change the epochs already run.

Training stops with :class:`~haplogen.models.training.TrainingDiverged` at the end of the first
epoch whose losses or weights are not finite; checkpoints are written only after that check
(and :meth:`GenerativeModel.save` refuses non-finite weights), so the newest checkpoint on disk
is always a good one. Loading refuses non-finite weights, and checks the shapes that a file's
header claims against its stored tensors before building the model (on torch's ``meta``
device, which allocates nothing), so a hostile header cannot make haplogen allocate memory.
"""

from __future__ import annotations

import abc
import contextvars
import dataclasses
import json
import math
import numbers
import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable, ClassVar, Collection, Sequence

import numpy as np
import torch

from ..errors import InputError, ModelError
from .config import ModelConfig
from . import distributed as dist
from .training import (
    TrainingDiverged,
    TrainingInterrupted,
    TrainingProgress,
    TrainingSummary,
    read_checkpoint,
    remove_stale_parts,
    stop_requests,
    write_checkpoint,
)

__all__ = ["GenerativeModel", "ValidationEarlyStopping", "data_fingerprint", "resolve_device"]

#: set while a model is built on the meta device to learn the shapes of its weights
_SHAPES_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("haplogen_shapes_only", default=False)
#: the label vocabulary that a conditional model being built will have
_POPULATIONS: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "haplogen_populations", default=None
)


def data_fingerprint(x: Any, labels: Sequence[str] | None = None) -> str:
    """sha256 of a haplotype matrix's shape and bytes, and of its labels when given
    (:func:`haplogen.provenance.matrix_checksum`; rows streamed from a store are read in one pass).

    Tells a resumed run that it has the same data (and the same populations).
    """
    from ..provenance import matrix_checksum

    return matrix_checksum(x, labels)


def resolve_device(name: str) -> torch.device:
    """The torch device for a ``device`` setting (``cpu``, ``cuda`` or ``cuda:N``).

    Raises
    ------
    InputError
        When a GPU is asked for and torch finds none (or not that many).
    """
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(
                f"device {name!r} was asked for but torch finds no CUDA GPU on this machine "
                "(torch.cuda.is_available() is False); use --set device=cpu or run on a machine with a GPU"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise InputError(
                f"device {name!r} was asked for but this machine has {count} CUDA GPU(s), "
                f"numbered 0 to {count - 1}; use --set device=cuda:0"
            )
    elif device.type != "cpu":
        raise InputError(f"device {name!r} is not supported; use --set device=cpu or --set device=cuda")
    return device


def _finite_number(value: Any, what: str, *, positive: bool, need: str | None = None) -> float:
    """``value`` as a float, refused unless it is a finite real number > 0 (``positive``) or >= 0;
    ``need`` says what was expected (default: a number of seconds)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))
    if not ok or (float(value) <= 0 if positive else float(value) < 0):
        need = need or ("a finite number of seconds > 0" if positive else "a finite number of seconds >= 0")
        raise InputError(f"{what} must be {need}, found {value!r}")
    return float(value)


def check_temperature(value: Any) -> float:
    """A sampling temperature: a finite number > 0 (1 draws from the model itself)."""
    return _finite_number(value, "the sampling temperature", positive=True,
                          need="a finite number > 0 (1: the model's own distribution)")


def _families() -> Any:
    from .registry import MODELS  # the registry imports this module

    return MODELS


class StreamedRows:
    """Training rows read on demand, as a streaming family sees them.

    ``rows[index]`` (a 1-d tensor of row numbers) reads those rows from the store and returns
    them as a tensor of the family's ``data_dtype`` on its device, shape (len(index), n_sites).

    Parameters
    ----------
    rows
        A lazy (n_haplotypes, n_sites) source with ``shape`` and ``read(index) -> uint8 ndarray``
        (:class:`haplogen.io.streamed.StoreRows`).
    device, dtype
        Where and as what the rows are returned.
    """

    def __init__(self, rows: Any, device: torch.device, dtype: torch.dtype) -> None:
        self.rows = rows
        self.device = device
        self.dtype = dtype
        self.shape = torch.Size(rows.shape)

    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        if not isinstance(index, torch.Tensor) or index.dim() != 1:
            raise TypeError("streamed training rows are read by a 1-d tensor of row numbers")
        block = self.rows.read(index.cpu().numpy())
        return torch.from_numpy(block).to(device=self.device, dtype=self.dtype)


class GenerativeModel(abc.ABC):
    """A generative model of haplotypes.

    Parameters
    ----------
    config
        An instance of the family's ``Config`` dataclass.
    n_sites
        Number of sites (columns) of the haplotype matrices the model learns and draws.

    Attributes
    ----------
    device : torch.device
        Where the model computes (from ``config.device``).
    populations : tuple of str or None
        The label vocabulary of a trained conditional model (sorted), None otherwise.
    population_counts : tuple of int or None
        Training haplotypes of each population (the proportions of unlabelled sampling).
    """

    #: the family's name: the --model choice and the key in model files (= its module's FAMILY)
    name: ClassVar[str]
    #: the family's frozen configuration dataclass, a subclass of ModelConfig
    Config: ClassVar[type[ModelConfig]]
    #: whether the family learns p(haplotype | population) and so takes labels
    conditional: ClassVar[bool] = False
    #: whether the family computes the exact likelihood of a haplotype (:meth:`log_likelihood`)
    tractable: ClassVar[bool] = False
    #: the dtype of the training matrix handed to ``_initialise``: float32, or uint8 for a family
    #: that converts its batches itself (a quarter of the memory on long sequences)
    data_dtype: ClassVar[torch.dtype] = torch.float32
    #: whether the family shares an epoch's work between the processes of a torchrun launch
    #: (:mod:`haplogen.models.distributed`)
    distributed: ClassVar[bool] = False
    #: True when the family trains on rows read on demand (:class:`StreamedRows`): given data
    #: streamed from a store, it never holds the whole matrix
    streaming: ClassVar[bool] = False
    #: True when the family can sample at a temperature other than 1 (:meth:`sample`): each
    #: allele's probability given the model's state, p, is drawn as p^(1/T) / (p^(1/T) + (1-p)^(1/T))
    tempered: ClassVar[bool] = False
    #: settings added to the family after model files were written without them, with the value
    #: such a file was made with (which may differ from today's default): :meth:`load` fills
    #: them in, so that an older model file loads as the model it was
    legacy_settings: ClassVar[dict[str, Any]] = {}
    #: weights whose first dimension is the number of haplotypes of the data the model was trained
    #: on (a copying model's reference panel), which the configuration cannot give: loading checks
    #: every other dimension of them (a model built on ``meta`` holds them with 0 rows)
    panel_weights: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def data_settings(cls, n_haplotypes: int, n_sites: int, given: Collection[str], *,
                      median_spacing: float | None = None) -> dict[str, Any]:
        """Settings a training run takes from its data where the user set none of them
        (``given``: the settings set): the family's choice for data of ``n_haplotypes`` x
        ``n_sites`` whose neighbouring SNPs lie ``median_spacing`` bp apart (the median over
        pairs on one chromosome; None when unknown), recorded in the model's configuration like
        any other. None by default."""
        return {}

    @classmethod
    def stored_settings(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The settings a model file or checkpoint was made with: its stored ``config``, with the
        :attr:`legacy_settings` it predates filled in."""
        return {**cls.legacy_settings, **config}

    def __init__(self, config: Any, n_sites: int) -> None:
        if not isinstance(config, self.Config):
            raise ModelError(
                f"{self.name} expects a {self.Config.__qualname__} configuration, "
                f"found {type(config).__name__}; build it with {type(self).__name__}.Config(...)"
            )
        if isinstance(n_sites, bool) or not isinstance(n_sites, numbers.Integral):
            raise InputError(f"n_sites must be an integer, found {n_sites!r}")
        n_sites = int(n_sites)
        if n_sites < 1:
            raise InputError(f"a model needs at least 1 site, found n_sites={n_sites}")
        self.config = config
        self.n_sites = n_sites
        self.device = torch.device("meta") if _SHAPES_ONLY.get() else resolve_device(config.device)
        #: True once the weights come from training or a model file
        self.fitted = False
        #: epochs of training behind the current weights
        self.epochs_trained = 0
        self.populations: tuple[str, ...] | None = _POPULATIONS.get() if self.conditional else None
        self.population_counts: tuple[int, ...] | None = None
        self._device_changed_on_resume = False

    def _rebuild_for(self, populations: tuple[str, ...] | None) -> None:
        """Run the family's ``__init__`` again, with :attr:`populations` known (fresh weights)."""
        token = _POPULATIONS.set(populations)
        try:
            type(self).__init__(self, self.config, self.n_sites)
        finally:
            _POPULATIONS.reset(token)

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _initialise(self, x: torch.Tensor, seed: int, labels: torch.Tensor | None) -> None:
        """Fresh weights and training state for data ``x`` (N, n_sites) and codes ``labels`` (N,)."""

    @abc.abstractmethod
    def _train_epoch(self, epoch: int) -> dict[str, float]:
        """Run epoch number ``epoch`` (0-based); return its mean losses."""

    @abc.abstractmethod
    def _weights(self) -> dict[str, torch.Tensor]:
        """The parameters, by name."""

    @abc.abstractmethod
    def _set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        """Replace the parameters (shapes and dtypes already checked against ``_weights``, on device)."""

    @abc.abstractmethod
    def _training_state(self) -> dict[str, Any]:
        """Everything besides the weights that an exact resume needs (tensors and plain types)."""

    @abc.abstractmethod
    def _restore_training_state(
        self, state: dict[str, Any], x: torch.Tensor, seed: int, labels: torch.Tensor | None
    ) -> None:
        """Undo :meth:`_training_state` for data ``x``, the run's ``seed`` and codes ``labels``."""

    @abc.abstractmethod
    def _sample(
        self, n: int, generator: torch.Generator, batch_size: int, labels: torch.Tensor | None
    ) -> np.ndarray | torch.Tensor:
        """``n`` haplotypes, 0/1 of shape (n, n_sites); ``labels`` (n,) codes for a conditional family."""

    # ---------------------------------------------------------- optional hooks
    def _converged(self) -> bool:
        """True when training should stop before its epochs are spent (early stopping); checked
        after every epoch. The default never stops early."""
        return False

    def _finish(self) -> None:
        """Called once when a run ends normally, after its last checkpoint: a family that keeps
        the best weights of a validation set puts them in place here. The default does nothing."""

    def training_notes(self) -> list[str]:
        """What a user should know about the trained model, one sentence each (printed by
        ``haplogen train`` and recorded in its provenance). None by default."""
        return []

    def _log_likelihood(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Natural-log likelihood of each row of ``x`` (B, n_sites), float64 of shape (B,).

        ``labels`` (B,) are population codes for a conditional model trained with labels, or None
        (the likelihood then sums over the populations, weighted by their training shares). Only
        families with :attr:`tractable` likelihoods implement it.
        """
        raise NotImplementedError

    def log_likelihood(
        self,
        x: np.ndarray,
        *,
        labels: Sequence[str] | np.ndarray | None = None,
        batch_size: int = 1024,
    ) -> np.ndarray:
        """Exact log-likelihood of every haplotype, in nats.

        Parameters
        ----------
        x : ndarray of uint8, shape (n_haplotypes, n_sites)
            Alleles, 0 (REF) or 1 (ALT), at the model's sites.
        labels : sequence of str, shape (n_haplotypes,), optional
            Populations, for a conditional model trained with labels: gives
            log p(haplotype | population). Without them the likelihood is the marginal
            log p(haplotype), summed over the populations with their training shares.
        batch_size
            Haplotypes scored at once (bounds memory).

        Returns
        -------
        ndarray of float64, shape (n_haplotypes,)

        Raises
        ------
        ModelError
            When the family has no tractable likelihood, or the model is not trained.
        InputError
            For malformed data, or labels the model cannot use.
        """
        if not self.tractable:
            raise ModelError(
                f"the {self.name} family has no tractable likelihood; score a model of a family that has one "
                "(haplogen train --help lists them)"
            )
        if not self.fitted:
            raise ModelError(f"the {self.name} model is not trained: call fit() or load a model file first")
        x = self._check_data(x, min_rows=0)
        codes = None
        if labels is not None:
            if not self.conditional:
                raise self._not_conditional()
            if self.populations is None:
                raise InputError(
                    f"this {self.name} model was trained without population labels; score without labels"
                )
            names = self._label_array(labels, x.shape[0], "scored")
            unknown = sorted(set(names) - set(self.populations))
            if unknown:
                raise InputError(
                    f"the model was not trained on the population {unknown[0]!r}; it knows {', '.join(self.populations)}"
                )
            codes = self._encode(names)
        out = np.empty(x.shape[0], dtype=np.float64)
        step = max(1, int(batch_size))
        with torch.no_grad():
            for start in range(0, x.shape[0], step):
                xb = torch.from_numpy(x[start:start + step]).to(device=self.device, dtype=torch.float32)
                cb = None if codes is None else codes[start:start + step]
                out[start:start + step] = self._log_likelihood(xb, cb).double().cpu().numpy()
        return out

    # ------------------------------------------------------------ for families
    def _validation_split(
        self, n: int, fraction: float, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(training rows, validation rows) of ``n`` haplotypes for early stopping.

        A random ``fraction`` of the *individuals* (rows ``2i`` and ``2i + 1``, consecutive, stay
        on one side) is held out; at least one individual stays on the training side.
        """
        n_groups = (n + 1) // 2
        order = torch.randperm(n_groups, generator=generator, device=self.device)
        n_val = int(round(n_groups * fraction)) if fraction > 0 else 0
        n_val = min(n_val, n_groups - 1)
        group = torch.arange(n, device=self.device) // 2
        is_val = torch.zeros(n_groups, dtype=torch.bool, device=self.device)
        is_val[order[:n_val]] = True
        return torch.nonzero(~is_val[group]).flatten(), torch.nonzero(is_val[group]).flatten()

    def _new_generator(self, seed: int) -> torch.Generator:
        """A torch random generator on the model's device, seeded with ``seed``."""
        return torch.Generator(device=self.device).manual_seed(int(seed))

    def _restore_generator(self, state: torch.Tensor, seed: int) -> torch.Generator:
        """A generator on the model's device in the saved ``state`` (``Generator.get_state()``).

        When the checkpoint was written on another kind of device (a GPU run resumed on a CPU),
        its state cannot continue here: the generator restarts from ``seed`` and the epoch,
        and the run is no longer identical to an uninterrupted one (a warning says so).
        """
        if self._device_changed_on_resume:
            return self._new_generator(hash((int(seed), self.epochs_trained)) % (2**63))
        generator = torch.Generator(device=self.device)
        generator.set_state(state.cpu())
        return generator

    def _divergence_hint(self) -> str:
        """How to avoid a divergence: by default, lower the settings that look like step sizes."""
        steps = [
            f"{f.name} (now {getattr(self.config, f.name)})"
            for f in dataclasses.fields(self.config)
            if ("learning_rate" in f.name or f.name == "lr" or f.name.endswith("_lr"))
            and isinstance(getattr(self.config, f.name), float)
        ]
        if steps:
            return "lower " + " or ".join(steps) + " with --set"
        return "lower the learning rate with --set"

    # ------------------------------------------------------------- validation
    def _check_data(self, x: np.ndarray, *, min_rows: int = 2) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2:
            raise InputError(
                f"training data must be a 2-d (n_haplotypes, n_sites) 0/1 matrix, found {x.ndim} dimension(s)"
            )
        if x.shape[1] != self.n_sites:
            raise InputError(
                f"the model was built for {self.n_sites} sites but the data have {x.shape[1]}; "
                f"build the model with n_sites={x.shape[1]}"
            )
        if x.shape[0] < min_rows:
            raise InputError(f"training needs at least {min_rows} haplotypes, found {x.shape[0]}")
        if x.dtype != np.uint8:
            if not (np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_):
                raise InputError(f"training data must hold integer 0/1 alleles, found dtype {x.dtype}")
        bad = (x != 0) & (x != 1)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise InputError(
                f"training data must hold only 0/1 alleles, found {x[row, col]} at haplotype {row}, "
                f"site {col}; recode multi-allelic or missing calls before training"
            )
        return np.ascontiguousarray(x, dtype=np.uint8)

    def _check_streamed(self, x: Any) -> Any:
        """Rows streamed from a store (:class:`haplogen.io.streamed.StoreRows`): the family must
        train on rows read on demand; the shape is checked here, the alleles as they are read."""
        if not self.streaming:
            raise InputError(
                f"the {self.name} family trains on the matrix in memory, and was given rows streamed from a store; "
                "load them first (StreamedHaplotypes.load)"
            )
        n, m = x.shape
        if m != self.n_sites:
            raise InputError(
                f"the model was built for {self.n_sites} sites but the data have {m}; build the model with n_sites={m}"
            )
        if n < 2:
            raise InputError(f"training needs at least 2 haplotypes, found {n}")
        return x

    def _not_conditional(self) -> InputError:
        from .registry import conditional_families

        others = conditional_families()
        hint = (
            "train a conditional family (" + ", ".join(f"--model {o}" for o in others) + ")"
            if others
            else "no conditional family is installed"
        )
        return InputError(f"the {self.name} family is not conditional on population; {hint} or drop --labels")

    @staticmethod
    def _label_array(labels: Any, n: int, what: str) -> np.ndarray:
        """``labels`` as a 1-d array of ``n`` str (a single str is repeated ``n`` times)."""
        if isinstance(labels, str):
            return np.full(n, labels, dtype=object)
        array = np.asarray(labels, dtype=object)
        if array.ndim != 1 or array.shape[0] != n:
            raise InputError(
                f"{what} needs one population label per haplotype: expected a 1-d sequence of {n}, "
                f"found shape {array.shape}"
            )
        for value in array:
            if not isinstance(value, (str, np.str_)) or not str(value):
                raise InputError(f"{what}: population labels must be non-empty text, found {value!r}")
        return np.array([str(v) for v in array], dtype=object)

    def _config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    # ------------------------------------------------------------------- fit
    def fit(
        self,
        x: np.ndarray,
        *,
        seed: int,
        labels: Sequence[str] | np.ndarray | None = None,
        epochs: int | None = None,
        time_budget_s: float | None = None,
        checkpoint_path: str | os.PathLike | None = None,
        checkpoint_every_s: float = 60.0,
        resume: bool = False,
        progress: Callable[[TrainingProgress], None] | None = None,
        extra: dict | None = None,
    ) -> TrainingSummary:
        """Train the model on the haplotypes ``x``.

        Parameters
        ----------
        x : ndarray of uint8, shape (n_haplotypes, n_sites)
            Alleles, 0 (REF) or 1 (ALT).
        seed
            Seed of every random draw of the run (initial weights, data order, noise, chains).
        labels : sequence of str, shape (n_haplotypes,), optional
            The population of each haplotype; required by a :attr:`conditional` family and
            refused by the others.
        epochs
            Total number of epochs to reach (counting those of a resumed checkpoint);
            None means ``config.epochs``.
        time_budget_s
            Stop at the end of the first epoch that ends after this many seconds of this call
            (finite, > 0).
        checkpoint_path
            Where to write a checkpoint every ``checkpoint_every_s`` seconds and at the end.
        checkpoint_every_s
            Seconds between checkpoints (finite, >= 0; 0 writes one after every epoch).
        resume
            Continue from ``checkpoint_path`` when that file exists (a fresh run otherwise).
        progress
            Called with a :class:`TrainingProgress` after every epoch.
        extra
            JSON-serialisable data stored in the checkpoint (the site table, provenance).

        Returns
        -------
        TrainingSummary

        Raises
        ------
        InputError
            For malformed data or labels, labels given to a family that is not conditional
            (or missing for one that is), or bad epochs / time budget / checkpoint interval.
        ModelError
            When ``resume`` finds a checkpoint of another model, configuration, data or labels.
        TrainingDiverged
            At the end of the first epoch with a non-finite loss or weight (a ModelError).
        TrainingInterrupted
            On Ctrl-C or SIGTERM (a KeyboardInterrupt); see its ``checkpoint_path``.
        """
        streamed = not isinstance(x, np.ndarray) and hasattr(x, "read")
        if streamed:
            x = self._check_streamed(x)
        else:
            x = self._check_data(x)
        if dist.world()[1] > 1 and not self.distributed:
            raise InputError(
                f"{self.name} trains in one process, but this is one of {dist.world()[1]} processes started by "
                "torchrun; run it without torchrun, or use a family that trains on several (hmm)"
            )
        seed = int(seed)
        if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral)):
            raise InputError(f"epochs must be a non-negative integer, found {epochs!r}")
        target = int(self.config.epochs if epochs is None else epochs)
        if target < 0:
            raise InputError(f"epochs must be a non-negative integer, found {target}")
        if time_budget_s is not None:
            time_budget_s = _finite_number(time_budget_s, "the time budget", positive=True)
        checkpoint_every_s = _finite_number(checkpoint_every_s, "the checkpoint interval", positive=False)
        if resume and checkpoint_path is None:
            raise InputError("resume=True needs a checkpoint_path to resume from")

        names: np.ndarray | None = None
        if labels is not None and not self.conditional:
            raise self._not_conditional()
        if self.conditional and labels is None:
            # a conditional family learns p(haplotype) when no labels are given: one implicit
            # population, no vocabulary stored, and sampling by population is refused later
            if self.populations is not None:
                self._rebuild_for(None)
            self.population_counts = None
        elif self.conditional:
            names = self._label_array(labels, x.shape[0], "training")
            vocabulary, counts = np.unique(names.astype(str), return_counts=True)
            populations = tuple(str(v) for v in vocabulary)
            if populations != self.populations:
                self._rebuild_for(populations)
            self.population_counts = tuple(int(c) for c in counts)
        fingerprint = data_fingerprint(x, None if names is None else list(names))
        if streamed:
            xt = StreamedRows(x, self.device, self.data_dtype)  # (N, n_sites), read by rows
        else:
            xt = torch.from_numpy(x).to(device=self.device, dtype=self.data_dtype)  # (N, n_sites)
        codes = None if names is None else self._encode(names)  # (N,) int64

        start_epoch = 0
        resumed_from: int | None = None
        if checkpoint_path is not None:
            remove_stale_parts(checkpoint_path)
        if resume and Path(checkpoint_path).is_file():  # type: ignore[arg-type]
            payload = read_checkpoint(checkpoint_path)  # type: ignore[arg-type]
            seed, start_epoch = self._check_resumable(payload, checkpoint_path, x.shape, fingerprint, seed)
            self._set_checked_weights(payload["weights"], checkpoint_path)
            stored_device = payload["training"].get("device_type", "cpu")
            self._device_changed_on_resume = stored_device != self.device.type
            if self._device_changed_on_resume:
                warnings.warn(
                    f"{checkpoint_path} was written by a run on {stored_device}, this run is on "
                    f"{self.device.type}: training continues, but its random draws restart from the seed, "
                    "so the result will differ from an uninterrupted run",
                    stacklevel=2,
                )
            self.epochs_trained = start_epoch
            self._restore_training_state(payload["training"]["state"], xt, seed, codes)
            self._device_changed_on_resume = False
            if extra is None:
                extra = payload["extra"]
            resumed_from = start_epoch
        else:
            self._initialise(xt, seed, codes)
        self.fitted = True
        self.epochs_trained = start_epoch
        # the newest good checkpoint of this run on disk, and its epoch
        saved: dict[str, Any] = {"epoch": resumed_from, "path": None if resumed_from is None else str(checkpoint_path)}

        def checkpoint() -> None:
            if checkpoint_path is None:
                return
            if not dist.is_writer():  # the processes of a torchrun launch hold the same weights
                saved.update(epoch=self.epochs_trained, path=str(checkpoint_path))
                return
            training = {
                "epoch": self.epochs_trained,
                "seed": seed,
                "n_haplotypes": int(x.shape[0]),
                "data_sha256": fingerprint,
                "device_type": self.device.type,
                "state": self._training_state(),
            }
            self._write(checkpoint_path, extra=extra, training=training)
            saved.update(epoch=self.epochs_trained, path=str(checkpoint_path))

        started = time.monotonic()
        last_checkpoint = started
        losses: dict[str, float] = {}
        stopped_by = "epochs"
        # Ctrl-C or SIGTERM (a batch scheduler's warning) stops at the end of the epoch, after a
        # checkpoint, so that --resume continues exactly; a second signal stops at once.
        try:
            with stop_requests() as stop:
                for epoch in range(start_epoch, target):
                    losses = self._train_epoch(epoch)
                    self.epochs_trained = epoch + 1
                    self._check_finite(losses, saved)
                    now = time.monotonic()
                    elapsed = now - started
                    done_here = self.epochs_trained - start_epoch
                    eta = elapsed / done_here * (target - self.epochs_trained)
                    if time_budget_s is not None:
                        eta = min(eta, max(time_budget_s - elapsed, 0.0))
                    if progress is not None:
                        progress(TrainingProgress(self.epochs_trained, target, elapsed, eta, dict(losses)))
                    if self._converged() and self.epochs_trained < target:
                        stopped_by = "early_stopping"
                        break
                    # every process of a torchrun launch takes the same decisions (clocks and
                    # signals differ between them)
                    over_budget = time_budget_s is not None and elapsed >= time_budget_s
                    if dist.agree(over_budget, self.device) and self.epochs_trained < target:
                        stopped_by = "time_budget"
                        break
                    if dist.agree(stop["signal"] is not None, self.device) and self.epochs_trained < target:
                        checkpoint()
                        raise TrainingInterrupted(self.epochs_trained, saved["path"])
                    if now - last_checkpoint >= checkpoint_every_s and self.epochs_trained < target:
                        checkpoint()
                        last_checkpoint = time.monotonic()
        except KeyboardInterrupt as exc:
            if isinstance(exc, TrainingInterrupted):
                raise
            # a second signal: stop at once; only a checkpoint already on disk can be resumed
            epoch = saved["epoch"] if saved["path"] is not None else self.epochs_trained
            raise TrainingInterrupted(epoch, saved["path"], at_once=True) from None
        checkpoint()
        # the checkpoint holds the run as it is (an exact resume continues it); the model that is
        # released may differ, e.g. the weights of the best validation epoch
        self._finish()
        return TrainingSummary(
            epochs_run=self.epochs_trained,
            elapsed_s=time.monotonic() - started,
            stopped_by=stopped_by,
            final_losses=dict(losses),
            resumed_from_epoch=resumed_from,
        )

    def _encode(self, names: np.ndarray) -> torch.Tensor:
        index = {name: code for code, name in enumerate(self.populations or ())}
        return torch.tensor([index[str(v)] for v in names], dtype=torch.int64, device=self.device)

    def _nonfinite_weight(self) -> str | None:
        """Name of the first weight holding NaN or an infinity, None when all are finite."""
        for key, value in self._weights().items():
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                return key
        return None

    def _check_finite(self, losses: dict[str, float], saved: dict[str, Any]) -> None:
        bad_losses = [f"{k} {v}" for k, v in losses.items() if not math.isfinite(float(v))]
        bad_weight = self._nonfinite_weight()
        if not bad_losses and bad_weight is None:
            return
        what = ", ".join(bad_losses) if bad_losses else f"non-finite values in the weight {bad_weight}"
        if saved["path"] is not None:
            kept = f"the last good checkpoint, of epoch {saved['epoch']}, is kept in {saved['path']}"
        else:
            kept = "no checkpoint had been written"
        raise TrainingDiverged(
            f"training diverged at epoch {self.epochs_trained} ({what}): {self._divergence_hint()}; {kept}",
            epoch=self.epochs_trained,
            checkpoint_path=saved["path"],
            last_good_epoch=saved["epoch"],
        )

    def _check_resumable(
        self,
        payload: dict[str, Any],
        path: str | os.PathLike,
        shape: tuple[int, int],
        fingerprint: str,
        seed: int,
    ) -> tuple[int, int]:
        """Return (seed, epoch) of a checkpoint after checking that it belongs to this run."""
        if payload["model"] != self.name:
            raise ModelError(
                f"cannot resume from {path}: it is a checkpoint of a '{payload['model']}' model, "
                f"this is a '{self.name}' model; use another checkpoint path or resume=False"
            )
        if "training" not in payload:
            raise ModelError(
                f"cannot resume from {path}: it is a saved model without training state; "
                "train with a checkpoint path to be able to resume"
            )
        ignored = set(getattr(self.Config, "RUN_SETTINGS", ("epochs", "device")))
        # compared as JSON, as stored (tuples read back as lists)
        mine = {k: v for k, v in json.loads(json.dumps(self._config_dict())).items() if k not in ignored}
        theirs = {k: v for k, v in self.stored_settings(payload["config"]).items() if k not in ignored}
        if mine != theirs:
            diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            shown = ", ".join(f"{k}={theirs.get(k)!r} (now {mine.get(k)!r})" for k in diff)
            raise ModelError(
                f"cannot resume from {path}: it was trained with a different configuration "
                f"({shown}); use the same configuration or resume=False"
            )
        training = payload["training"]
        found = (int(training["n_haplotypes"]), int(payload["n_sites"]))
        if found != tuple(shape):
            raise ModelError(
                f"cannot resume from {path}: it was trained on {found[0]} haplotypes x {found[1]} sites, "
                f"the data have {shape[0]} x {shape[1]}; use the same data or resume=False"
            )
        stored = (payload.get("populations") or {}).get("names")
        stored = None if stored is None else tuple(stored)
        if stored != self.populations:
            raise ModelError(
                f"cannot resume from {path}: it was trained with the populations "
                f"{', '.join(stored) if stored else '(none)'}, the labels now give "
                f"{', '.join(self.populations) if self.populations else '(none)'}; use the same labels or resume=False"
            )
        if training["data_sha256"] != fingerprint:
            raise ModelError(
                f"cannot resume from {path}: it was trained on other data or labels of the same shape "
                "(checksums differ); use the same data or resume=False"
            )
        if int(training["seed"]) != seed:
            raise ModelError(
                f"cannot resume from {path}: it was trained with seed {training['seed']}, "
                f"not {seed}; pass seed={training['seed']} or resume=False"
            )
        return seed, int(training["epoch"])

    def _set_checked_weights(self, weights: dict[str, torch.Tensor], path: str | os.PathLike) -> None:
        """Check ``weights`` (names, shapes, finite values) against this model's, then set them."""
        expected = self._weights()
        _check_weight_shapes(
            {k: tuple(v.shape) if isinstance(v, torch.Tensor) else None for k, v in weights.items()},
            {k: tuple(v.shape) for k, v in expected.items()},
            self.name,
            path,
            panel=self.panel_weights,
        )
        for key, value in weights.items():
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise ModelError(
                    f"{path} holds non-finite values (NaN or infinity) in the weight '{key}': the training "
                    "that wrote it diverged; train again with a lower learning rate, or use an earlier checkpoint"
                )
        self._set_weights(
            {k: v.to(device=self.device, dtype=expected[k].dtype) for k, v in weights.items()}
        )

    # ---------------------------------------------------------------- sample
    def sample(
        self,
        n: int,
        *,
        seed: int,
        labels: Sequence[str] | np.ndarray | str | None = None,
        batch_size: int = 4096,
        temperature: float = 1.0,
    ) -> np.ndarray:
        """Draw ``n`` artificial haplotypes.

        Parameters
        ----------
        n
            Number of haplotypes.
        seed
            Seed of the draw: the same seed (and ``batch_size``, and device) gives the same
            haplotypes.
        labels : sequence of str, shape (n,), or str, optional
            For a conditional family, the population wanted for each haplotype (one name is
            repeated ``n`` times); None draws the populations in their training proportions.
            Refused by a family that is not conditional.
        batch_size
            Haplotypes drawn at once (bounds memory).
        temperature
            1 draws from the model itself. Below 1, for a family that allows it (``tempered``),
            each allele's probability given the model's state, p, becomes p^(1/T) / (p^(1/T) +
            (1-p)^(1/T)): fewer rare alleles off the model's clusters, haplotypes a little
            closer to each other (README, "Sampling temperature").

        Returns
        -------
        ndarray of uint8, shape (n, n_sites)
            Alleles, 0 or 1.

        Raises
        ------
        InputError
            For labels given to a family that is not conditional, a population the model was
            not trained on (the known ones are listed), or a bad ``n`` / ``batch_size``.
        """
        if not self.fitted:
            raise ModelError(f"the {self.name} model is not trained: call fit() or load a model file first")
        n = int(n)
        if n < 0:
            raise InputError(f"the number of haplotypes to sample must be >= 0, found {n}")
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be at least 1, found {batch_size}")
        if labels is not None and not self.conditional:
            raise self._not_conditional()
        temperature = self.checked_temperature(temperature)
        generator = self._new_generator(int(seed))
        codes = None
        if self.conditional and self.populations is None:
            if labels is not None:
                raise InputError(
                    f"this {self.name} model was trained without population labels, so it cannot sample "
                    "by population; train it with --labels TABLE, or sample without --population"
                )
        elif self.conditional:
            known = self.populations or ()
            if labels is None:
                counts = torch.tensor(self.population_counts, dtype=torch.float64, device=self.device)
                codes = (
                    torch.multinomial(counts / counts.sum(), n, replacement=True, generator=generator)
                    if n
                    else torch.zeros(0, dtype=torch.int64, device=self.device)
                )
            else:
                names = self._label_array(labels, n, "sampling")
                unknown = sorted(set(names) - set(known))
                if unknown:
                    raise InputError(
                        f"the model was not trained on the population {unknown[0]!r}; "
                        f"it knows {', '.join(known)}"
                    )
                codes = self._encode(names)
        with torch.no_grad():
            if temperature == 1.0:
                out = self._sample(n, generator, int(batch_size), codes)
            else:
                out = self._sample(n, generator, int(batch_size), codes, temperature=temperature)
        if isinstance(out, torch.Tensor):
            out = out.detach().cpu().numpy()
        return np.ascontiguousarray(out, dtype=np.uint8)

    def checked_temperature(self, temperature: Any) -> float:
        """``temperature`` as a float, refused (:class:`InputError`) unless it is a finite number
        > 0 that this family can sample at (any for a ``tempered`` family, else only 1)."""
        temperature = check_temperature(temperature)
        if temperature != 1.0 and not self.tempered:
            tempered = ", ".join(sorted(name for name, cls in _families().items() if cls.tempered)) or "none"
            raise InputError(
                f"the {self.name} model cannot sample at a temperature (found {temperature:g}); "
                f"leave --temperature at 1, or use a family that can: {tempered}"
            )
        return temperature

    # ------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike, *, extra: dict | None = None) -> None:
        """Write the configuration and weights (and ``extra`` as JSON) to ``path`` atomically.

        Raises
        ------
        ModelError
            When the model is not trained or its weights are not finite.
        """
        if not self.fitted:
            raise ModelError(f"the {self.name} model is not trained: nothing to save")
        self._write(path, extra=extra)

    def _write(self, path: str | os.PathLike, *, extra: dict | None, training: dict | None = None) -> None:
        """Write config, weights and ``extra`` (and, for a checkpoint, the training state) to ``path``."""
        bad = self._nonfinite_weight()
        if bad is not None:
            raise ModelError(
                f"refusing to write {path}: the weight '{bad}' holds non-finite values (the training diverged)"
            )
        populations = None
        if self.conditional and self.populations is not None:
            populations = {"names": list(self.populations), "counts": list(self.population_counts or ())}
        write_checkpoint(
            path,
            model=self.name,
            config=self._config_dict(),
            n_sites=self.n_sites,
            weights=self._weights(),
            extra=extra,
            epochs_trained=self.epochs_trained,
            training=training,
            populations=populations,
        )

    @classmethod
    def _weight_shapes(
        cls, config: Any, n_sites: int, populations: tuple[str, ...] | None = None
    ) -> dict[str, tuple[int, ...]]:
        """Shapes of the weights of a model of ``config``, ``n_sites`` and ``populations``, allocating nothing."""
        token = _SHAPES_ONLY.set(True)
        token_populations = _POPULATIONS.set(populations)
        try:
            with torch.device("meta"):
                model = cls(config, n_sites)
                return {k: tuple(v.shape) for k, v in model._weights().items()}
        finally:
            _POPULATIONS.reset(token_populations)
            _SHAPES_ONLY.reset(token)

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str = "cpu") -> tuple["GenerativeModel", dict]:
        """Rebuild a model from a model file or a checkpoint.

        Parameters
        ----------
        path
            A model file or checkpoint written by haplogen.
        device
            Where the loaded model computes (``cpu`` by default, whatever it was trained on).

        Returns
        -------
        model : GenerativeModel
        extra : dict
            The JSON data stored beside the weights.

        Raises
        ------
        ModelError
            For a file that is not a haplogen model, of an unknown family, whose header does not
            match its weights (checked before building the model), or with non-finite weights.
        """
        from .registry import families, get_family

        payload = read_checkpoint(path)
        family = payload["model"]
        if cls is GenerativeModel:
            if not isinstance(family, str) or family not in families():
                raise ModelError(
                    f"{path} holds a '{family}' model, which this haplogen does not know "
                    f"(known: {', '.join(families())}); use a newer haplogen"
                )
            cls = get_family(family)
        elif family != cls.name:
            raise ModelError(
                f"{path} holds a '{family}' model, not a '{cls.name}' model; "
                "load it with haplogen.models.load_model()"
            )
        n_sites = payload["n_sites"]
        if isinstance(n_sites, bool) or not isinstance(n_sites, int) or n_sites < 1:
            raise ModelError(f"{path} is not a haplogen model checkpoint: n_sites is {n_sites!r}")
        try:
            config = cls.Config(**{**cls.stored_settings(payload["config"]), "device": device})
        except (TypeError, InputError) as error:
            raise ModelError(
                f"{path} is not a haplogen model checkpoint: bad {cls.name} configuration ({error})"
            ) from None
        names: tuple[str, ...] | None = None
        counts: tuple[int, ...] | None = None
        if cls.conditional and payload.get("populations") is not None:
            populations = payload.get("populations")
            try:
                names = tuple(str(v) for v in populations["names"])
                counts = tuple(int(c) for c in populations["counts"])
            except (TypeError, KeyError, ValueError):
                raise ModelError(
                    f"{path} holds a conditional '{cls.name}' model without its populations; "
                    "it was not written by haplogen train"
                ) from None
            if not names or len(names) != len(counts) or min(counts) < 1 or len(set(names)) != len(names):
                raise ModelError(f"{path}: the populations entry of the model is malformed ({populations})")
        # the header's claims (n_sites, the configuration, the populations) against the stored
        # tensors, before building the model: a header claiming 10^8 sites must not allocate
        try:
            expected = cls._weight_shapes(config, n_sites, names)
        except (RuntimeError, ValueError, OverflowError) as error:  # sizes beyond what torch can describe
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ModelError(
                f"{path} is not a haplogen model checkpoint: its header claims {n_sites} sites, a "
                f"{cls.name} model that cannot be built ({first}); the file is corrupt or was edited"
            ) from None
        _check_weight_shapes(
            {k: tuple(v.shape) if isinstance(v, torch.Tensor) else None for k, v in payload["weights"].items()},
            expected,
            cls.name,
            path,
            n_sites=n_sites,
            panel=cls.panel_weights,
        )
        token = _POPULATIONS.set(names)
        try:
            model = cls(config, n_sites)
        finally:
            _POPULATIONS.reset(token)
        model.population_counts = counts
        model._set_checked_weights(payload["weights"], path)
        model.fitted = True
        model.epochs_trained = int(payload.get("epochs_trained", 0))
        return model, payload["extra"]


class ValidationEarlyStopping:
    """Early stopping on held-out individuals, for a :class:`GenerativeModel` family that keeps
    some of its training individuals out (mixar, hmm; its config has ``patience``).

    The family builds ``self._state`` with :meth:`_stopping_start`, calls
    :meth:`_record_validation` at the end of each epoch, and saves and restores the state with
    :meth:`_stopping_checkpoint` / :meth:`_stopping_restore`; :meth:`_converged` and
    :meth:`_finish` (the hooks of :meth:`GenerativeModel.fit`) then stop after ``patience`` epochs
    without a better validation log-likelihood and put the best epoch's weights in place.
    """

    #: the state's entries besides the rows and the family's own tensors
    _STOPPING_NUMBERS = {"best_val": float, "best_epoch": int, "bad_epochs": int}

    def _stopping_start(self, train_rows: torch.Tensor, val_rows: torch.Tensor, **tensors: torch.Tensor) -> None:
        """A fresh state: the rows of each side, the family's own ``tensors`` (kept and
        checkpointed with it), and no best epoch yet."""
        self._state: dict[str, Any] = {
            "train_rows": train_rows,
            "val_rows": val_rows,
            **tensors,
            "best_val": -math.inf,
            "best_epoch": -1,
            "bad_epochs": 0,
            "best": None,
        }

    def _record_validation(self, val: float, epoch: int, losses: dict[str, float]) -> None:
        """Add the validation mean log-likelihood ``val`` (nats per haplotype) of epoch ``epoch``
        (0-based) to ``losses``, keeping the weights when it is the best so far."""
        losses["nll_val"] = -val / self.n_sites
        if val > self._state["best_val"] + 1e-6:
            best = {k: v.detach().clone() for k, v in self._weights().items()}
            self._state.update(best_val=val, best_epoch=epoch + 1, bad_epochs=0, best=best)
        else:
            self._state["bad_epochs"] += 1
        losses["best_epoch"] = float(self._state["best_epoch"])

    def _converged(self) -> bool:
        val_rows = self._state.get("val_rows")
        return bool(val_rows is not None and val_rows.numel() and self._state["bad_epochs"] >= self.config.patience)

    def _finish(self) -> None:
        best = self._state.get("best")
        if best is not None:
            self._set_weights(best)

    def _stopping_checkpoint(self) -> dict[str, Any]:
        """The state as checkpoint entries (tensors on the CPU)."""
        out: dict[str, Any] = {}
        for key, value in self._state.items():
            if key in self._STOPPING_NUMBERS:
                out[key] = self._STOPPING_NUMBERS[key](value)
            elif key == "best":
                out[key] = None if value is None else {k: v.cpu() for k, v in value.items()}
            else:
                out[key] = value.cpu()
        return out

    def _stopping_restore(self, state: dict[str, Any], *tensors: str) -> None:
        """Undo :meth:`_stopping_checkpoint` from a checkpoint's ``state``; ``tensors`` names the
        family's own tensors given to :meth:`_stopping_start`."""
        best = state.get("best")
        self._state = {
            **{key: state[key].to(self.device) for key in ("train_rows", "val_rows", *tensors)},
            **{key: kind(state[key]) for key, kind in self._STOPPING_NUMBERS.items()},
            "best": None if best is None else {k: v.to(self.device) for k, v in best.items()},
        }


def _check_weight_shapes(
    found: dict[str, tuple[int, ...] | None],
    expected: dict[str, tuple[int, ...]],
    family: str,
    path: str | os.PathLike,
    *,
    n_sites: int | None = None,
    panel: Collection[str] = (),
) -> None:
    """Refuse stored weights whose names or shapes differ from the model's (one line); the
    weights named in ``panel`` may have any number of rows (their first dimension)."""
    claim = "" if n_sites is None else f" (its header claims {n_sites} sites)"
    if set(found) != set(expected):
        raise ModelError(
            f"{path} is not a haplogen model checkpoint: weights {sorted(found)} "
            f"do not match the {family} layers {sorted(expected)}"
        )
    for key, shape in found.items():
        if shape is None:
            raise ModelError(f"{path} is not a haplogen model checkpoint: weight '{key}' is not a tensor")
        want = expected[key]
        if key in panel and len(shape) == len(want) >= 1:
            same = shape[1:] == want[1:]
        else:
            same = shape == want
        if not same:
            raise ModelError(
                f"{path} is not a haplogen model checkpoint: weight '{key}' has shape {shape}, "
                f"expected {expected[key]}{claim}; the file is corrupt or was edited"
            )
