"""The workflows behind the command line: read, train, generate.

Each function here is what one ``haplogen`` subcommand does, callable from Python (a notebook,
a pipeline) with the same results. The command line in :mod:`haplogen.cli` only parses
arguments and calls these.

A *model directory* holds::

    model.pt          the trained model: config + weights + the site table + provenance
                      (a torch file of tensors and plain containers, loaded with weights_only=True)
    checkpoint.pt     the latest training checkpoint (weights, optimizer, RNG states), for --resume
    provenance.json   what made the model: software, command, parameters, seed, input checksums
    training_log.tsv  one line per epoch: epoch, elapsed seconds, losses
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import typing
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from .errors import InputError, ModelError
from .haplotypes import Haplotypes, Sites, read_labels
from .provenance import atomic_path, file_checksum, make_record, resolve_seed, write_json_atomic

__all__ = [
    "MODEL_FILE",
    "CHECKPOINT_FILE",
    "check_model_dir",
    "source_record",
    "read_input",
    "parse_overrides",
    "make_config",
    "train",
    "load_trained",
    "generate",
]

MODEL_FILE = "model.pt"
CHECKPOINT_FILE = "checkpoint.pt"
PROVENANCE_FILE = "provenance.json"
LOG_FILE = "training_log.tsv"
LOCK_FILE = ".haplogen.lock"


def read_input(
    path: str | os.PathLike,
    *,
    legend: str | os.PathLike | None = None,
    options: Any = None,
    labels: str | os.PathLike | None = None,
    missing_labels: str = "error",
) -> Haplotypes:
    """Read haplotypes from a VCF/BCF or hapt file and attach population labels.

    Parameters
    ----------
    path
        VCF, BCF (plain or bgzipped) or hapt file.
    legend
        Legend file of a hapt input (``id position a0 a1``).
    options
        :class:`haplogen.io.vcf.ReadOptions` for VCF input.
    labels
        A ``sample pop super_pop`` table; individuals missing from it are handled as
        ``missing_labels`` says (``error``, ``drop`` or ``unknown``).
    """
    from .io import read_haplotypes

    h = read_haplotypes(path, legend=legend, options=options)
    if labels is not None:
        h = h.with_labels(read_labels(labels), on_missing=missing_labels)
    return h


def _field_types(config_cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints.get(f.name, str) for f in dataclasses.fields(config_cls)}


def parse_overrides(items: Sequence[str], config_cls: type) -> dict[str, Any]:
    """Parse ``key=value`` strings into typed config overrides for ``config_cls``.

    Values are converted to the type of the config field (int, float, bool, str, or an
    optional of those; ``none`` gives None).
    """
    types = _field_types(config_cls)
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise InputError(f"expected KEY=VALUE for --set, found {item!r}")
        if key not in types:
            raise InputError(
                f"{config_cls.__name__} has no setting {key!r}; known settings: {', '.join(sorted(types))}"
            )
        out[key] = _convert(raw.strip(), types[key], key)
    return out


def _convert(raw: str, kind: Any, key: str) -> Any:
    args = typing.get_args(kind)
    if args and type(None) in args:
        if raw.lower() in ("none", "null", ""):
            return None
        kind = next(a for a in args if a is not type(None))
    try:
        if kind is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if typing.get_origin(kind) is tuple or kind is tuple:
            return tuple(int(v) for v in raw.split(","))
        return str(raw)
    except ValueError:
        raise InputError(f"setting {key} expects a value of type {getattr(kind, '__name__', kind)}, found {raw!r}") from None


def make_config(model: str, overrides: Mapping[str, Any] | None = None) -> Any:
    """The config of model family ``model`` with ``overrides`` applied."""
    from .models import MODELS

    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; choose one of {', '.join(sorted(MODELS))}")
    cls = MODELS[model]
    try:
        return dataclasses.replace(cls.Config(), **dict(overrides or {}))
    except (TypeError, ValueError) as exc:
        raise InputError(f"invalid settings for model {model}: {exc}") from None


def train(
    h: Haplotypes,
    *,
    model: str,
    out_dir: str | os.PathLike,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    epochs: int | None = None,
    time_budget_s: float | None = None,
    resume: bool = False,
    overwrite: bool = False,
    threads: int | None = None,
    checkpoint_every_s: float = 60.0,
    progress: Callable[[Any], None] | None = None,
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Train a model on ``h`` and save it to the model directory ``out_dir``.

    Returns the provenance record written to ``out_dir/provenance.json``, with the training
    summary under ``"training"``.
    """
    from .models import MODELS
    from .models.training import set_threads

    out = Path(out_dir)
    final = out / MODEL_FILE
    checkpoint = out / CHECKPOINT_FILE
    check_model_dir(out, resume=resume, overwrite=overwrite)
    if h.n_haplotypes < 2 or h.n_sites < 2:
        raise InputError(
            f"training needs at least 2 haplotypes and 2 sites, found {h.n_haplotypes} x {h.n_sites}"
        )
    stored_config: dict[str, Any] = {}
    if resume:
        # A resumed run continues the checkpoint's own run: same seed, same settings (the
        # model refuses a checkpoint whose seed, settings or data differ from the request).
        from .models.training import read_checkpoint

        payload = read_checkpoint(checkpoint)
        if payload["model"] != model:
            raise InputError(
                f"--resume: {checkpoint} is a checkpoint of a '{payload['model']}' model, not '{model}'; "
                f"pass --model {payload['model']}"
            )
        stored_seed = int(payload.get("training", {}).get("seed", -1))
        if seed is None:
            seed = stored_seed
        elif seed != stored_seed:
            raise InputError(f"--resume: {checkpoint} was trained with seed {stored_seed}, not {seed}; drop --seed or pass --seed {stored_seed}")
        stored_config = {k: v for k, v in payload["config"].items() if k != "epochs"}
    seed = resolve_seed(seed)
    config = make_config(model, {**stored_config, **dict(overrides or {})})
    n_threads = set_threads(threads)
    parameters = {
        "model": model,
        "config": dataclasses.asdict(config),
        "epochs": epochs if epochs is not None else config.epochs,
        "time_budget_s": time_budget_s,
        "threads": n_threads,
        "n_haplotypes": h.n_haplotypes,
        "n_sites": h.n_sites,
    }
    source = source_record(h)
    record = make_record(parameters=parameters, seed=seed, inputs=[source] if source else [], command=command)
    extra = {"sites": h.sites.to_dict(), "provenance": record}
    out.mkdir(parents=True, exist_ok=True)
    with _exclusive(out):
        instance = MODELS[model](config, h.n_sites)
        summary = instance.fit(
            h.matrix,
            seed=seed,
            epochs=epochs,
            time_budget_s=time_budget_s,
            checkpoint_path=checkpoint,
            checkpoint_every_s=checkpoint_every_s,
            resume=resume,
            progress=progress,
            extra=extra,
        )
        record["training"] = dataclasses.asdict(summary)
        instance.save(final, extra={"sites": h.sites.to_dict(), "provenance": record})
        write_json_atomic(out / PROVENANCE_FILE, record)
    return record


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold a lock on a model directory, so that two training runs never write into one.

    The lock is an advisory ``flock`` on ``.haplogen.lock``: the system drops it when the
    process ends, however it ends, so a killed run leaves no stale lock.
    """
    import fcntl

    with open(out / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise InputError(
                f"{out} is in use by another training run ({holder}); wait for it to finish, "
                "or train into another directory"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"haplogen train, pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_model_dir(out_dir: str | os.PathLike, *, resume: bool, overwrite: bool) -> None:
    """Refuse to train into ``out_dir`` when that would lose or misuse earlier work.

    Called before the (possibly slow) reading of the training data, so that the user hears
    at once.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"the model directory {out} is a file; choose a directory name for -o")
    if (out / MODEL_FILE).exists() and not (resume or overwrite):
        raise InputError(
            f"{out} already holds a trained model; choose another output directory, "
            "pass --resume to continue its training, or --overwrite to replace it"
        )
    if resume and not (out / CHECKPOINT_FILE).exists():
        raise InputError(f"--resume: no checkpoint in {out} ({CHECKPOINT_FILE}); train without --resume first")


def source_record(h: Haplotypes) -> dict[str, Any] | None:
    """Provenance record of the file ``h`` was read from, from the checksum its reader took.

    None when ``h`` was not read from a file (simulated, generated).
    """
    src = h.source or {}
    if "path" in src and "sha256" in src:
        path = Path(src["path"])
        size = src.get("bytes", path.stat().st_size if path.is_file() else None)
        return {"path": str(path), "sha256": src["sha256"], "bytes": size}
    return None


def load_trained(model_dir: str | os.PathLike) -> tuple[Any, Sites, dict[str, Any]]:
    """Load a trained model from a model directory (or a model file).

    Returns ``(model, sites, provenance)``.
    """
    from .models import load_model

    path = Path(model_dir)
    if path.is_dir():
        candidate = path / MODEL_FILE
        if not candidate.exists():
            hint = (
                f" (training has not finished: {CHECKPOINT_FILE} is there; continue it with haplogen train --resume)"
                if (path / CHECKPOINT_FILE).exists()
                else ""
            )
            raise ModelError(f"{path} holds no trained model: {MODEL_FILE} is missing{hint}")
        path = candidate
    elif not path.exists():
        raise ModelError(f"cannot read the model {path}: no such file or directory")
    model, extra = load_model(path)
    try:
        sites = Sites.from_dict(extra["sites"])
    except (KeyError, TypeError) as exc:
        raise ModelError(f"{path} has no site table ({exc}); it was not written by haplogen train") from None
    if sites.n_sites != model.n_sites:
        raise ModelError(f"{path}: the site table has {sites.n_sites} sites but the model {model.n_sites}")
    provenance = extra.get("provenance", {})
    provenance = dict(provenance, model_file={"path": str(path), "sha256": file_checksum(path)})
    return model, sites, provenance


def generate(
    model_dir: str | os.PathLike,
    n: int,
    *,
    seed: int | None = None,
    prefix: str = "AG",
    command: Sequence[str] | None = None,
) -> tuple[Haplotypes, dict[str, Any]]:
    """Sample ``n`` artificial haplotypes from a trained model.

    Consecutive pairs of haplotypes form artificial diploid individuals ``AG0``, ``AG1``, ...
    Returns the haplotypes and their provenance record (which nests the model's own).
    """
    if n < 1:
        raise InputError(f"the number of haplotypes to generate must be at least 1, found {n}")
    model, sites, model_provenance = load_trained(model_dir)
    seed = resolve_seed(seed)
    matrix = model.sample(n, seed=seed)
    record = make_record(
        parameters={"n": n, "model": model.name, "prefix": prefix},
        seed=seed,
        inputs=[model_provenance["model_file"]],
        command=command,
    )
    record["model_provenance"] = {k: v for k, v in model_provenance.items() if k != "model_file"}
    h = Haplotypes.from_matrix(matrix, sites, prefix=prefix, source={"generated_by": record})
    return h, record
