"""The interface shared by every haplogen model: ``fit`` / ``sample`` / ``save`` / ``load``.

A model learns the distribution of the rows of an ``(n_haplotypes, n_sites)`` uint8 matrix of
0/1 alleles and draws new rows from it. It never reads data files and never stores its training
data. The training loop (epochs, time budget, checkpoints, exact resume, progress) lives here;
a model family implements a handful of hooks:

``_initialise(x, seed)``
    fresh weights, optimiser and random state for a run on the data ``x``;
``_train_epoch(epoch)``
    one pass over the data, returning the epoch's losses;
``_weights()`` / ``_set_weights(weights)``
    the parameters, as a dict of tensors;
``_training_state()`` / ``_restore_training_state(state, x, seed)``
    everything else that a run needs to continue exactly (optimiser moments, generator
    states, persistent chains), as tensors and plain containers;
``_sample(n, generator, batch_size)``
    ``n`` new haplotypes.

Resuming is exact: a run stopped after ``k`` epochs and resumed gives the same weights, bit for
bit, as a run that never stopped (on the same machine and number of threads), because the
checkpoint holds every piece of random state. The learning-rate schedules are functions of the
epoch index only, never of the number of epochs asked for, so that stopping early or asking for
more epochs later does not change the epochs already run.
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import os
import time
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np
import torch

from ..errors import InputError, ModelError
from .training import (
    TrainingInterrupted,
    TrainingProgress,
    TrainingSummary,
    read_checkpoint,
    stop_requests,
    write_checkpoint,
)

__all__ = ["GenerativeModel", "data_fingerprint"]


def data_fingerprint(x: np.ndarray) -> str:
    """sha256 of a haplotype matrix's shape and bytes (tells a resumed run it has the same data)."""
    digest = hashlib.sha256(f"{x.shape[0]}x{x.shape[1]}".encode())
    digest.update(np.ascontiguousarray(x, dtype=np.uint8).tobytes())
    return digest.hexdigest()


class GenerativeModel(abc.ABC):
    """A generative model of haplotypes.

    Parameters
    ----------
    config
        An instance of the family's ``Config`` dataclass.
    n_sites
        Number of sites (columns) of the haplotype matrices the model learns and draws.
    """

    #: key of the family in :data:`haplogen.models.MODELS` and in model files
    name: ClassVar[str]
    #: the family's frozen configuration dataclass; it has an ``epochs`` field
    Config: ClassVar[type]

    def __init__(self, config: Any, n_sites: int) -> None:
        if not isinstance(config, self.Config):
            raise ModelError(
                f"{self.name} expects a {self.Config.__qualname__} configuration, "
                f"found {type(config).__name__}; build it with {type(self).__name__}.Config(...)"
            )
        n_sites = int(n_sites)
        if n_sites < 1:
            raise InputError(f"a model needs at least 1 site, found n_sites={n_sites}")
        self.config = config
        self.n_sites = n_sites
        #: True once the weights come from training or a model file
        self.fitted = False
        #: epochs of training behind the current weights
        self.epochs_trained = 0

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _initialise(self, x: torch.Tensor, seed: int) -> None:
        """Fresh weights and training state for data ``x``, float32 of shape (n_haplotypes, n_sites)."""

    @abc.abstractmethod
    def _train_epoch(self, epoch: int) -> dict[str, float]:
        """Run epoch number ``epoch`` (0-based); return its mean losses."""

    @abc.abstractmethod
    def _weights(self) -> dict[str, torch.Tensor]:
        """The parameters, by name."""

    @abc.abstractmethod
    def _set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        """Replace the parameters (shapes already checked against ``_weights``)."""

    @abc.abstractmethod
    def _training_state(self) -> dict[str, Any]:
        """Everything besides the weights that an exact resume needs (tensors and plain types)."""

    @abc.abstractmethod
    def _restore_training_state(self, state: dict[str, Any], x: torch.Tensor, seed: int) -> None:
        """Undo :meth:`_training_state` for data ``x`` and the run's ``seed``."""

    @abc.abstractmethod
    def _sample(self, n: int, generator: torch.Generator, batch_size: int) -> np.ndarray:
        """``n`` haplotypes, uint8 of shape (n, n_sites)."""

    # ------------------------------------------------------------- validation
    def _check_data(self, x: np.ndarray) -> np.ndarray:
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
        if x.shape[0] < 2:
            raise InputError(f"training needs at least 2 haplotypes, found {x.shape[0]}")
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

    def _config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    # ------------------------------------------------------------------- fit
    def fit(
        self,
        x: np.ndarray,
        *,
        seed: int,
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
        epochs
            Total number of epochs to reach (counting those of a resumed checkpoint);
            None means ``config.epochs``.
        time_budget_s
            Stop at the end of the first epoch that ends after this many seconds of this call.
        checkpoint_path
            Where to write a checkpoint every ``checkpoint_every_s`` seconds and at the end.
        checkpoint_every_s
            Seconds between checkpoints.
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
        ModelError
            When ``resume`` finds a checkpoint of another model, configuration or data shape.
        """
        x = self._check_data(x)
        seed = int(seed)
        target = int(self.config.epochs if epochs is None else epochs)
        if target < 0:
            raise InputError(f"epochs must be a non-negative integer, found {target}")
        if time_budget_s is not None and time_budget_s <= 0:
            raise InputError(f"the time budget must be positive seconds, found {time_budget_s}")
        if resume and checkpoint_path is None:
            raise InputError("resume=True needs a checkpoint_path to resume from")
        fingerprint = data_fingerprint(x)
        xt = torch.from_numpy(x).to(torch.float32)  # (N, n_sites)

        start_epoch = 0
        resumed_from: int | None = None
        if resume and Path(checkpoint_path).is_file():  # type: ignore[arg-type]
            payload = read_checkpoint(checkpoint_path)  # type: ignore[arg-type]
            seed, start_epoch = self._check_resumable(payload, checkpoint_path, x.shape, fingerprint, seed)
            self._set_checked_weights(payload["weights"], checkpoint_path)
            self._restore_training_state(payload["training"]["state"], xt, seed)
            if extra is None:
                extra = payload["extra"]
            resumed_from = start_epoch
        else:
            self._initialise(xt, seed)
        self.fitted = True
        self.epochs_trained = start_epoch

        def checkpoint() -> None:
            if checkpoint_path is None:
                return
            training = {
                "epoch": self.epochs_trained,
                "seed": seed,
                "n_haplotypes": int(x.shape[0]),
                "data_sha256": fingerprint,
                "state": self._training_state(),
            }
            self._write(checkpoint_path, extra=extra, training=training)

        started = time.monotonic()
        last_checkpoint = started
        losses: dict[str, float] = {}
        stopped_by = "epochs"
        # Ctrl-C or SIGTERM (a batch scheduler's warning) stops at the end of the epoch, after a
        # checkpoint, so that --resume continues exactly; a second signal stops at once.
        with stop_requests() as stop:
            for epoch in range(start_epoch, target):
                losses = self._train_epoch(epoch)
                self.epochs_trained = epoch + 1
                now = time.monotonic()
                elapsed = now - started
                done_here = self.epochs_trained - start_epoch
                eta = elapsed / done_here * (target - self.epochs_trained)
                if time_budget_s is not None:
                    eta = min(eta, max(time_budget_s - elapsed, 0.0))
                if progress is not None:
                    progress(TrainingProgress(self.epochs_trained, target, elapsed, eta, dict(losses)))
                if time_budget_s is not None and elapsed >= time_budget_s and self.epochs_trained < target:
                    stopped_by = "time_budget"
                    break
                if stop["signal"] is not None and self.epochs_trained < target:
                    checkpoint()
                    raise TrainingInterrupted(
                        self.epochs_trained, None if checkpoint_path is None else str(checkpoint_path)
                    )
                if now - last_checkpoint >= checkpoint_every_s and self.epochs_trained < target:
                    checkpoint()
                    last_checkpoint = time.monotonic()
        checkpoint()
        return TrainingSummary(
            epochs_run=self.epochs_trained,
            elapsed_s=time.monotonic() - started,
            stopped_by=stopped_by,
            final_losses=dict(losses),
            resumed_from_epoch=resumed_from,
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
        mine = {k: v for k, v in self._config_dict().items() if k != "epochs"}
        theirs = {k: v for k, v in payload["config"].items() if k != "epochs"}
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
        if training["data_sha256"] != fingerprint:
            raise ModelError(
                f"cannot resume from {path}: it was trained on other data of the same shape "
                "(checksums differ); use the same data or resume=False"
            )
        if int(training["seed"]) != seed:
            raise ModelError(
                f"cannot resume from {path}: it was trained with seed {training['seed']}, "
                f"not {seed}; pass seed={training['seed']} or resume=False"
            )
        return seed, int(training["epoch"])

    def _set_checked_weights(self, weights: dict[str, torch.Tensor], path: str | os.PathLike) -> None:
        expected = self._weights()
        if set(weights) != set(expected):
            raise ModelError(
                f"{path} is not a haplogen model checkpoint: weights {sorted(weights)} "
                f"do not match the {self.name} layers {sorted(expected)}"
            )
        for key, value in weights.items():
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != tuple(expected[key].shape):
                found = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                raise ModelError(
                    f"{path} is not a haplogen model checkpoint: weight '{key}' has shape {found}, "
                    f"expected {tuple(expected[key].shape)}"
                )
        self._set_weights({k: v.to(torch.float32) for k, v in weights.items()})

    # ---------------------------------------------------------------- sample
    def sample(self, n: int, *, seed: int, batch_size: int = 4096) -> np.ndarray:
        """Draw ``n`` artificial haplotypes.

        Parameters
        ----------
        n
            Number of haplotypes.
        seed
            Seed of the draw: the same seed (and ``batch_size``) gives the same haplotypes.
        batch_size
            Haplotypes drawn at once (bounds memory).

        Returns
        -------
        ndarray of uint8, shape (n, n_sites)
            Alleles, 0 or 1.
        """
        if not self.fitted:
            raise ModelError(f"the {self.name} model is not trained: call fit() or load a model file first")
        n = int(n)
        if n < 0:
            raise InputError(f"the number of haplotypes to sample must be >= 0, found {n}")
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be at least 1, found {batch_size}")
        generator = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            out = self._sample(n, generator, int(batch_size))
        return np.ascontiguousarray(out, dtype=np.uint8)

    # ------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike, *, extra: dict | None = None) -> None:
        """Write the configuration and weights (and ``extra`` as JSON) to ``path`` atomically."""
        if not self.fitted:
            raise ModelError(f"the {self.name} model is not trained: nothing to save")
        self._write(path, extra=extra)

    def _write(self, path: str | os.PathLike, *, extra: dict | None, training: dict | None = None) -> None:
        """Write config, weights and ``extra`` (and, for a checkpoint, the training state) to ``path``."""
        write_checkpoint(
            path,
            model=self.name,
            config=self._config_dict(),
            n_sites=self.n_sites,
            weights=self._weights(),
            extra=extra,
            epochs_trained=self.epochs_trained,
            training=training,
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> tuple["GenerativeModel", dict]:
        """Rebuild a model from a model file or a checkpoint.

        Returns
        -------
        model : GenerativeModel
        extra : dict
            The JSON data stored beside the weights.
        """
        payload = read_checkpoint(path)
        if cls is GenerativeModel:
            from . import MODELS

            if payload["model"] not in MODELS:
                raise ModelError(
                    f"{path} holds a '{payload['model']}' model, which this haplogen does not know "
                    f"(known: {', '.join(sorted(MODELS))}); use a newer haplogen"
                )
            cls = MODELS[payload["model"]]
        elif payload["model"] != cls.name:
            raise ModelError(
                f"{path} holds a '{payload['model']}' model, not a '{cls.name}' model; "
                "load it with haplogen.models.load_model()"
            )
        try:
            config = cls.Config(**payload["config"])
        except TypeError as error:
            raise ModelError(
                f"{path} is not a haplogen model checkpoint: bad {cls.name} configuration ({error})"
            ) from None
        model = cls(config, int(payload["n_sites"]))
        model._set_checked_weights(payload["weights"], path)
        model.fitted = True
        model.epochs_trained = int(payload.get("epochs_trained", 0))
        return model, payload["extra"]
