"""Pieces shared by the training loops: progress, summaries, threads and checkpoint files.

A checkpoint (or a saved model) is one file written by ``torch.save`` holding a dict of
tensors, plain Python containers, strings and numbers only, and read back with
``torch.load(path, weights_only=True)``: loading a file never unpickles arbitrary objects, so a
model file received from someone else cannot run code. Its layout::

    {
      "format": "haplogen.model",       # tells a haplogen file from any other torch file
      "format_version": 1,
      "model": "rbm",                   # the family's name (haplogen.models.registry)
      "config": "{...}",                # JSON of the model's Config dataclass
      "n_sites": 805,
      "epochs_trained": 800,
      "weights": {name: tensor},        # the model's parameters, always CPU tensors
      "extra": "{...}",                 # JSON chosen by the caller (site table, provenance)
      "populations": "{...}",           # only for conditional families: JSON of the label
                                        # vocabulary and its training counts
      "training": {...},                # only in checkpoints: epoch, RNG and optimizer state
    }

Writes are atomic: the payload goes to a temporary file ``.<name>.<pid>.<random>.part`` beside
the target, held under an exclusive ``flock`` while it is written, synced to disk, then renamed
onto the target. A failure (a full disk, an exception, Ctrl-C) removes the temporary file and
leaves the previous file intact; a writer killed outright (``kill -9``, power loss) leaves its
temporary file behind, and the next write to the same target, or the next training run with
that checkpoint path, removes it (a ``.part`` file is removed only when no live process holds
its lock, so a concurrent writer is never disturbed).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import signal
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch

from ..errors import ModelError
from ..provenance import _jsonable

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "TrainingProgress",
    "TrainingSummary",
    "set_threads",
    "format_progress",
    "format_duration",
    "write_checkpoint",
    "read_checkpoint",
    "remove_stale_parts",
    "TrainingInterrupted",
    "TrainingDiverged",
    "stop_requests",
]

CHECKPOINT_FORMAT = "haplogen.model"
CHECKPOINT_VERSION = 1


@dataclass
class TrainingProgress:
    """State of a training run, reported after every epoch.

    Attributes
    ----------
    epoch : int
        Epochs completed so far (counting those of a resumed checkpoint).
    epochs : int or None
        Epochs the run aims at, or None when only a time budget bounds it.
    elapsed_s : float
        Seconds spent in this call of ``fit``.
    eta_s : float or None
        Estimated seconds left, None when unknown.
    losses : dict of str to float
        Mean losses (or monitoring statistics) of the last epoch.
    """

    epoch: int
    epochs: int | None
    elapsed_s: float
    eta_s: float | None
    losses: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainingSummary:
    """What a call of ``fit`` did.

    Attributes
    ----------
    epochs_run : int
        Epochs completed in total, including those of a resumed checkpoint.
    elapsed_s : float
        Seconds spent in this call.
    stopped_by : str
        ``"epochs"`` when the epoch target was reached, ``"time_budget"`` when the budget ran out.
    final_losses : dict of str to float
        Losses of the last epoch (empty when no epoch ran).
    resumed_from_epoch : int or None
        Epoch of the checkpoint that the run continued from, None for a fresh run.
    """

    epochs_run: int
    elapsed_s: float
    stopped_by: str
    final_losses: dict[str, float]
    resumed_from_epoch: int | None


def set_threads(n: int | None) -> int:
    """Set the number of threads torch uses for its CPU kernels.

    Parameters
    ----------
    n
        Number of threads, or None for every core this process may run on
        (``os.sched_getaffinity``, which respects container and ``taskset`` limits).

    Returns
    -------
    int
        The number of threads set.
    """
    if n is None:
        try:
            n = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            n = os.cpu_count() or 1
    n = int(n)
    if n < 1:
        raise ModelError(f"the number of threads must be at least 1, found {n}")
    torch.set_num_threads(n)
    return n


def format_duration(seconds: float) -> str:
    """``H:MM:SS`` of a duration in seconds."""
    total = int(round(max(seconds, 0.0)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def format_progress(p: TrainingProgress) -> str:
    """One line describing the progress of a training run.

    Example: ``epoch 12/200  loss_d 0.6931  loss_g 0.6931  elapsed 0:00:31  eta 0:08:05``.
    """
    epochs = "?" if p.epochs is None else str(p.epochs)
    parts = [f"epoch {p.epoch}/{epochs}"]
    parts += [f"{name} {value:.4f}" for name, value in p.losses.items()]
    parts.append(f"elapsed {format_duration(p.elapsed_s)}")
    parts.append("eta ?" if p.eta_s is None else f"eta {format_duration(p.eta_s)}")
    return "  ".join(parts)


def write_checkpoint(
    path: str | os.PathLike,
    *,
    model: str,
    config: dict[str, Any],
    n_sites: int,
    weights: dict[str, torch.Tensor],
    extra: dict[str, Any] | None,
    epochs_trained: int = 0,
    training: dict[str, Any] | None = None,
    populations: dict[str, Any] | None = None,
) -> None:
    """Write a model file (``training`` None) or a checkpoint atomically, with CPU tensors.

    Raises
    ------
    OSError
        When the file cannot be written (its ``filename`` is ``path``); the previous file at
        ``path`` is then left as it was and no temporary file remains.
    """
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "model": model,
        "config": json.dumps(config, sort_keys=True),
        "n_sites": int(n_sites),
        "epochs_trained": int(epochs_trained),
        "weights": {k: v.detach().cpu().clone() for k, v in weights.items()},
        "extra": json.dumps(_jsonable(extra if extra is not None else {})),
    }
    if populations is not None:
        payload["populations"] = json.dumps(populations, sort_keys=True)
    if training is not None:
        payload["training"] = _to_cpu(training)
    _atomic_save(payload, Path(path))


def _to_cpu(value: Any) -> Any:
    """``value`` with every tensor inside (dicts, lists, tuples) copied to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def _part_files(final: Path) -> list[Path]:
    return sorted(final.parent.glob(f".{final.name}.*.part"))


def remove_stale_parts(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that dead writers left beside ``path``; returns those removed.

    A temporary file is stale when no process holds its ``flock`` (its writer died: a file
    being written by a live process is locked and kept).
    """
    final = Path(path)
    removed = []
    for part in _part_files(final):
        try:
            fd = os.open(part, os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live writer holds it
            try:
                part.unlink()
                removed.append(part)
            except FileNotFoundError:
                pass
        finally:
            os.close(fd)
    return removed


def _locked_part(final: Path) -> tuple[int, Path]:
    """Create and lock a fresh temporary file beside ``final``; returns ``(fd, path)``."""
    umask = os.umask(0)
    os.umask(umask)
    while True:
        part = final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~umask)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:  # a cleaner may have removed it between creation and locking: then start again
            if os.stat(part).st_ino == os.fstat(fd).st_ino:
                return fd, part
        except FileNotFoundError:
            pass
        os.close(fd)


def _atomic_save(payload: dict[str, Any], final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(final)
    fd, part = _locked_part(final)
    try:
        with open(fd, "wb", closefd=False) as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(fd)
        os.replace(part, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            part.unlink()
        os.close(fd)
        if isinstance(exc, OSError) and not isinstance(exc, ModelError):
            raise OSError(exc.errno or errno.EIO, exc.strerror or str(exc), str(final)) from exc
        raise
    os.close(fd)
    # make the rename itself durable (best effort: not every file system allows it)
    with contextlib.suppress(OSError):
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a model file or checkpoint with ``weights_only=True`` and check its header.

    Raises
    ------
    ModelError
        When the file is missing, is not a torch file, is truncated or corrupt, or is a torch
        file of some other kind.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p} does not exist: expected a haplogen model file; check the path")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(
            f"{p} is not a haplogen model checkpoint: torch could not read it ({first}); "
            "it may be truncated or of another kind, train the model again or use the right file"
        ) from None
    except Exception as error:  # the weights-only unpickler refusing an object, among others
        raise ModelError(
            f"{p} is not a haplogen model checkpoint: it could not be loaded safely "
            f"({type(error).__name__}); only files written by haplogen can be loaded"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(
            f"{p} is not a haplogen model checkpoint: it is a torch file without the "
            f"'{CHECKPOINT_FORMAT}' header; use a file written by haplogen train"
        )
    version = payload.get("format_version")
    if version != CHECKPOINT_VERSION:
        raise ModelError(
            f"{p} is a haplogen model of format version {version}, this haplogen reads version "
            f"{CHECKPOINT_VERSION}; use a matching haplogen version"
        )
    for key in ("model", "config", "n_sites", "weights", "extra"):
        if key not in payload:
            raise ModelError(f"{p} is not a haplogen model checkpoint: the entry '{key}' is missing")
    try:
        payload["config"] = json.loads(payload["config"])
        payload["extra"] = json.loads(payload["extra"])
        if "populations" in payload:
            payload["populations"] = json.loads(payload["populations"])
    except (TypeError, json.JSONDecodeError):
        raise ModelError(
            f"{p} is not a haplogen model checkpoint: its config, extra or populations entry is not valid JSON"
        ) from None
    if not isinstance(payload["config"], dict) or not isinstance(payload["weights"], dict):
        raise ModelError(f"{p} is not a haplogen model checkpoint: its config or weights entry is not a mapping")
    return payload


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on a signal (Ctrl-C, SIGTERM).

    The first signal stops at the end of the epoch, after writing a checkpoint; a second one
    stops at once, keeping the newest checkpoint already on disk (if any).

    Attributes
    ----------
    epoch : int
        Epochs in the checkpoint that a resumed run continues from (the epochs completed when
        there is no checkpoint).
    checkpoint_path : str or None
        The checkpoint that the run can be resumed from; None when no checkpoint of this run
        exists (no checkpoint path was given, or the run was stopped before its first
        checkpoint), so the run cannot be resumed.
    """

    def __init__(self, epoch: int, checkpoint_path: str | None, *, at_once: bool = False) -> None:
        self.epoch = epoch
        self.checkpoint_path = checkpoint_path
        self.at_once = at_once
        if at_once:
            head = f"training interrupted at once, during epoch {epoch + 1}"
            if checkpoint_path:
                head = f"training interrupted at once; the checkpoint of epoch {epoch} in {checkpoint_path} is kept"
            else:
                head += "; no checkpoint had been written, so the run cannot be resumed"
        elif checkpoint_path:
            head = f"training interrupted after epoch {epoch}; checkpoint of epoch {epoch} saved in {checkpoint_path}"
        else:
            head = f"training interrupted after epoch {epoch}; no checkpoint path was given, so the run cannot be resumed"
        super().__init__(head)


class TrainingDiverged(ModelError):
    """Training produced a non-finite loss or weight; the run stopped and nothing was saved from it.

    The newest checkpoint written before the divergence stays on disk untouched (no
    checkpoint with non-finite weights is ever written). The command line exits with status
    5 for this error (1: other errors, 2: input, 3: model files, 4: privacy audit).

    Attributes
    ----------
    epoch : int
        The epoch (1-based) at the end of which the non-finite value was found.
    checkpoint_path : str or None
        The last good checkpoint, None when none was written.
    last_good_epoch : int or None
        Epochs in that checkpoint.
    """

    exit_code = 5

    def __init__(self, message: str, *, epoch: int, checkpoint_path: str | None, last_good_epoch: int | None) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.checkpoint_path = checkpoint_path
        self.last_good_epoch = last_good_epoch


@contextlib.contextmanager
def stop_requests() -> Iterator[dict[str, str | None]]:
    """Turn the first SIGINT or SIGTERM into a request to stop at the end of the epoch.

    Yields a dict whose ``"signal"`` entry becomes the signal's name when one arrives. A
    second signal interrupts at once (KeyboardInterrupt). Outside the main thread, where
    handlers cannot be installed, it yields a dict that never changes.
    """
    state: dict[str, str | None] = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum: int, frame: Any) -> None:
        if state["signal"] is not None:
            raise KeyboardInterrupt
        state["signal"] = signal.Signals(signum).name

    # a signal that the process was started to ignore (nohup, a background job) stays ignored
    watched = [sig for sig in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(sig) is not signal.SIG_IGN]
    previous = {sig: signal.signal(sig, handler) for sig in watched}
    try:
        yield state
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
