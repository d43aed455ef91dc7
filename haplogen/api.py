"""The workflows behind the command line: simulate, split, read, train, generate, evaluate.

Each ``*_to_file(s)`` / ``*_files`` function here is what one ``haplogen`` subcommand does,
callable from Python (a notebook, a pipeline, :mod:`haplogen.demo`) with the same results and
the same files. The command line in :mod:`haplogen.cli` only parses arguments, calls these and
prints what they report: progress lines go to a ``say`` callable, warnings to a ``warn``
callable (by default a :class:`~haplogen.errors.HaplogenWarning`), and every provenance record
stores the ``command`` it is given (the command line passes ``["haplogen", *argv]``).

Rules that every workflow keeps:

* **Nothing is overwritten silently.** An existing output is refused with one line unless
  ``overwrite=True`` (``--overwrite``), and this is checked before any long work.
* **Outputs that belong together are written together**: to a temporary folder, then moved in
  as a whole (:class:`haplogen.provenance.OutputSet`); after a failure (a full disk, an
  interrupt) nothing new and nothing temporary is left, and the old outputs are intact.
* **Privacy figures are tied to the model's own training data.** Every model records the
  individuals and the checksum of the data it was trained on (``training_data`` in its
  provenance); ``generate --audit`` and ``evaluate`` refuse a holdout that shares individuals
  with it, and warn when the real set is not that data (:func:`check_training_data`).
* **Suspicious but well-formed input is named** (:func:`input_warnings`): every individual
  homozygous at every site, most sites monomorphic, individuals that are exact copies.

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
import errno
import hashlib
import json
import math
import os
import time
import typing
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from .errors import HaplogenWarning, InputError, ModelError, OutputError
from .haplotypes import Haplotypes, Sites, read_labels
from .provenance import (
    OutputSet,
    atomic_path,
    file_checksum,
    input_record,
    make_record,
    matrix_checksum,
    read_provenance,
    resolve_seed,
    write_json_atomic,
)

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
    "population_record",
    "parse_population_shares",
    "assign_populations",
    "describe_read",
    "input_warnings",
    "training_data_record",
    "model_training_data",
    "check_training_data",
    "progress_printer",
    "simulate_to_files",
    "import_to_store",
    "split_to_files",
    "train_from_file",
    "generate_to_file",
    "audit_release",
    "evaluate_files",
    "score_file",
]

#: a callable that receives one line of progress or warning text
Say = Callable[[str], None]

MODEL_FILE = "model.pt"
CHECKPOINT_FILE = "checkpoint.pt"
PROVENANCE_FILE = "provenance.json"
LOG_FILE = "training_log.tsv"
LOCK_FILE = ".haplogen.lock"
SPLIT_TABLE = "split.tsv"
#: the samples table written beside a data file (``x.vcf.gz`` -> ``x.samples.tsv``)
SAMPLES_TABLE_SUFFIX = ".samples.tsv"
REPORT_FILES = ("report.html", "metrics.json")


def _quiet(message: str) -> None:
    """The default ``say``: progress is not shown."""


def _warner(warn: Say | None) -> Say:
    """``warn``, or one that raises a :class:`HaplogenWarning` through :mod:`warnings`."""
    if warn is not None:
        return warn

    def default(message: str) -> None:
        warnings.warn(message, HaplogenWarning, stacklevel=3)

    return default


def read_input(
    path: str | os.PathLike,
    *,
    legend: str | os.PathLike | None = None,
    options: Any = None,
    labels: str | os.PathLike | None = None,
    missing_labels: str = "error",
    warn: Say | None = None,
    stream: bool = False,
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
    stream
        For a VCF Zarr store: rows read on demand (:class:`haplogen.io.streamed.StreamedHaplotypes`).
    labels
        A ``sample pop super_pop`` table; individuals missing from it are handled as
        ``missing_labels`` says (``error``, ``drop`` or ``unknown``).
    warn
        Receives one line per suspicious finding of :func:`input_warnings` (default: a
        :class:`~haplogen.errors.HaplogenWarning`).

    Returns
    -------
    Haplotypes
        matrix of shape (n_haplotypes, n_sites); ``source`` holds the file's checksum and the
        reader's summary.
    """
    from .io import read_haplotypes

    h = read_haplotypes(path, legend=legend, options=options, stream=stream)
    if labels is not None:
        h = h.with_labels(read_labels(labels), on_missing=missing_labels)
    say_warning = _warner(warn)
    for message in input_warnings(h):
        say_warning(f"{Path(path).name}: {message}")
    return h


def _read(
    path: str | os.PathLike,
    *,
    what: str,
    legend: str | os.PathLike | None = None,
    options: Any = None,
    labels: str | os.PathLike | None = None,
    missing_labels: str = "error",
    say: Say = _quiet,
    warn: Say | None = None,
    stream: bool = False,
) -> Haplotypes:
    """:func:`read_input`, with a legend that applies to hapt inputs only, then one summary line."""
    from .io import detect_format

    # a legend describes the sites of hapt inputs; a VCF among the inputs has its own
    if legend is not None and (Path(path).is_file() or Path(path).is_dir()) and detect_format(path) != "hapt":
        legend = None
    h = read_input(path, legend=legend, options=options, labels=labels, missing_labels=missing_labels, warn=warn,
                   stream=stream)
    say(describe_read(h, path, what))
    return h


def describe_read(h: Haplotypes, path: str | os.PathLike, what: str = "input") -> str:
    """One line saying what was read from ``path``: records kept and skipped (VCF), or the shape.

    Parameters
    ----------
    h : Haplotypes, shape (n_haplotypes, n_sites)
        As returned by :func:`read_input`.
    path
        The file it was read from.
    what
        How to name the input (``"training set"``, ``"holdout set"``).
    """
    summary = (h.source or {}).get("summary")
    if summary:
        from .io.vcf import ReadSummary

        return f"{what} {path}: {ReadSummary(**summary)}"
    return f"{what} {path}: {h.n_haplotypes} haplotypes of {h.n_samples} individuals x {h.n_sites} sites"


def _diploid_pairs(h: Haplotypes) -> np.ndarray:
    """Row indices ``(n_pairs, 2)`` of the individuals that have exactly two adjacent haplotypes."""
    owner = h.haplotype_sample
    if owner.size < 2:
        return np.empty((0, 2), dtype=np.int64)
    first = np.flatnonzero(owner[:-1] == owner[1:])
    # a run of three rows of one owner is not a diploid individual: keep pairs only
    ok = np.ones(first.size, dtype=bool)
    ok &= (first + 2 >= owner.size) | (owner[np.minimum(first + 2, owner.size - 1)] != owner[first])
    ok &= (first == 0) | (owner[np.maximum(first - 1, 0)] != owner[first])
    first = first[ok]
    return np.stack([first, first + 1], axis=1)


def input_warnings(h: Haplotypes) -> list[str]:
    """What is suspicious in well-formed haplotypes: one sentence per finding, empty when none.

    Three findings are looked for, each a sign of data that was prepared wrongly:

    * every diploid individual is homozygous at every site (its two haplotypes are the same
      row twice): haploid data written as diploid, which counts every haplotype twice;
    * more than half of the sites are monomorphic (no information for a model);
    * individuals whose two haplotypes equal another individual's (the same person under two
      names, or a file merged twice); looked for with at least 50 polymorphic sites, where
      two people sharing every allele is not a coincidence.

    Parameters
    ----------
    h : Haplotypes, shape (n_haplotypes, n_sites)

    Returns
    -------
    list of str
    """
    found: list[str] = []
    if h.n_haplotypes == 0 or h.n_sites == 0:
        return found
    m = h.matrix
    streamed = not isinstance(m, np.ndarray)  # rows read from a store on demand, in chunks of pairs
    counts = m.column_counts() if streamed else m.sum(axis=0, dtype=np.int64)
    polymorphic = (counts > 0) & (counts < h.n_haplotypes)
    n_poly = int(polymorphic.sum())
    pairs = _diploid_pairs(h)
    step = max(1, m.batch_rows() // 2) if streamed else max(1, pairs.shape[0])

    def pair_rows() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(pairs, first haplotypes, second haplotypes) in chunks."""
        for lo in range(0, pairs.shape[0], step):
            part = pairs[lo:lo + step]
            rows = m.read(part.ravel()) if streamed else m[part.ravel()]
            yield part, rows[0::2], rows[1::2]

    if pairs.shape[0] >= 2 and n_poly >= 1:
        same = all(bool(np.all(a == b)) for _, a, b in pair_rows())
        if same:
            found.append(
                f"every one of its {pairs.shape[0]:,} diploid individuals is homozygous at every one of "
                f"its {h.n_sites:,} sites (the two haplotypes of each individual are identical): "
                "haploid data written as diploid? Each haplotype would count twice; write haploid "
                "calls (GT '0' or '1') and read them with --haploid as-haplotype"
            )
    n_mono = h.n_sites - n_poly
    if h.n_sites >= 4 and n_mono * 2 > h.n_sites:
        found.append(
            f"{n_mono:,} of its {h.n_sites:,} sites are monomorphic (every haplotype carries the same "
            "allele), which tells a model nothing; read with --monomorphic skip to drop them, or check "
            "that the right individuals were read"
        )
    if pairs.shape[0] >= 2 and n_poly >= 50:
        seen: dict[bytes, int] = {}
        copies: list[tuple[str, str]] = []
        for part, first, second in pair_rows():
            for (a, _), ra, rb in zip(part, first, second):
                # a digest per individual: a few bytes each, not the rows themselves
                two = sorted((hashlib.sha256(ra.tobytes()).digest(), hashlib.sha256(rb.tobytes()).digest()))
                key = two[0] + two[1]
                if key in seen:
                    copies.append((str(h.haplotype_sample[a]), str(h.haplotype_sample[seen[key]])))
                else:
                    seen[key] = int(a)
        if copies:
            shown = ", ".join(f"{x} = {y}" for x, y in copies[:3]) + (" ..." if len(copies) > 3 else "")
            found.append(
                f"{len(copies):,} individuals carry exactly the two haplotypes of another individual "
                f"({shown}): the same person under two names, or a file merged twice?"
            )
    return found


def _field_types(config_cls: type) -> dict[str, Any]:
    """The annotation of every setting of ``config_cls`` (see :mod:`haplogen.models.config`)."""
    from .models.config import field_types

    return field_types(config_cls)


def parse_overrides(items: Sequence[str], config_cls: type) -> dict[str, Any]:
    """Parse ``key=value`` strings into typed settings of ``config_cls``.

    A thin re-export of :func:`haplogen.models.config.parse_overrides`, which documents every
    supported setting type.
    """
    from .models.config import parse_overrides as parse

    return parse(items, config_cls)


def _convert(raw: str, kind: Any, key: str) -> Any:
    """``raw`` text as a value of the setting ``key`` of type ``kind`` (see :mod:`haplogen.models.config`)."""
    from .models.config import convert_text

    return convert_text(raw, kind, key)


def make_config(model: str, overrides: Mapping[str, Any] | None = None) -> Any:
    """The config of model family ``model`` with ``overrides`` applied.

    A thin re-export of :func:`haplogen.models.registry.make_config`.
    """
    from .models.registry import make_config as make

    return make(model, overrides)


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

    The directory receives ``model.pt`` and ``provenance.json`` together at the end (moved in as
    a whole), ``checkpoint.pt`` every ``checkpoint_every_s`` seconds, and ``training_log.tsv``,
    one line per epoch (``epoch``, ``elapsed_s``, the losses), flushed as it goes. A resumed run
    first cuts the log back to the checkpoint's epoch, so that no epoch is listed twice even
    after a ``kill -9``. With ``overwrite`` (and no ``resume``) the files of the earlier run are
    removed when the new run starts, so that a directory never mixes two runs.

    Parameters
    ----------
    h : Haplotypes, shape (n_haplotypes, n_sites)
        The training data; its individuals and checksum are recorded
        (``record["training_data"]``, see :func:`training_data_record`). When it carries
        population labels (``h.population``) and the family is conditional (``hmm``, ``mixar``), the
        model learns p(haplotype | population) from them, and the populations, their counts
        and super-populations are recorded (``record["populations"]``, see
        :func:`population_record`); other families do not use the labels.
    model
        Model family (``hmm``, ``mixar``, ``rbm``, ``gan``, ...).
    out_dir
        The model directory.
    seed
        Seed of the run; None draws one (recorded). A resumed run takes the checkpoint's.
    overrides
        Settings of the family's config to change.
    epochs, time_budget_s
        When to stop (the model's default number of epochs when both are None).
    resume
        Continue from ``out_dir/checkpoint.pt``.
    overwrite
        Replace a trained model, or an unfinished run, in ``out_dir``.
    threads
        torch CPU threads (None: every core this process may use).
    checkpoint_every_s
        Seconds between checkpoints: finite and >= 0 (0: after every epoch).
    progress
        Called after every epoch with a :class:`haplogen.models.training.TrainingProgress`.
        A progress display whose pipe was closed (``BrokenPipeError``) is dropped and
        training goes on.
    command
        The command line recorded in the provenance.

    Returns
    -------
    dict
        The provenance record written to ``out_dir/provenance.json``, with the training
        summary under ``"training"``.

    Raises
    ------
    InputError
        When ``out_dir`` holds a model or an unfinished run (without ``resume``/``overwrite``),
        the data are too small, or a setting is invalid.
    OutputError
        When a file of the model directory cannot be written (its name and the reason).
    """
    from .models import MODELS
    from .models import distributed as dist

    if dist.launched():
        # one of several processes started by torchrun: join their group for the whole run
        device = make_config(model, dict(overrides or {})).device
        with dist.process_group(device):
            return _train(h, model=model, out_dir=out_dir, seed=seed, overrides=overrides, epochs=epochs,
                          time_budget_s=time_budget_s, resume=resume, overwrite=overwrite, threads=threads,
                          checkpoint_every_s=checkpoint_every_s, progress=progress, command=command)
    return _train(h, model=model, out_dir=out_dir, seed=seed, overrides=overrides, epochs=epochs,
                  time_budget_s=time_budget_s, resume=resume, overwrite=overwrite, threads=threads,
                  checkpoint_every_s=checkpoint_every_s, progress=progress, command=command)


def _chosen_from_data(model: str, h: Haplotypes, overrides: Mapping[str, Any] | None,
                      resume: bool) -> dict[str, Any]:
    """The settings family ``model`` takes from the size of ``h`` where ``overrides`` set none
    (:meth:`GenerativeModel.data_settings`); none for a resumed run, which has its checkpoint's."""
    from .models.registry import get_family

    if resume:
        return {}
    return get_family(model).data_settings(h.n_haplotypes, h.n_sites, set(overrides or {}),
                                           median_spacing=h.sites.median_spacing())


def _train(
    h: Haplotypes,
    *,
    model: str,
    out_dir: str | os.PathLike,
    seed: int | None,
    overrides: Mapping[str, Any] | None,
    epochs: int | None,
    time_budget_s: float | None,
    resume: bool,
    overwrite: bool,
    threads: int | None,
    checkpoint_every_s: float,
    progress: Callable[[Any], None] | None,
    command: Sequence[str] | None,
) -> dict[str, Any]:
    """:func:`train` in this process (one of a torchrun group when one was joined)."""
    from .models import MODELS
    from .models import distributed as dist
    from .models.training import set_threads

    rank, size = dist.world()
    if not isinstance(h.matrix, np.ndarray) and not MODELS[model].streaming:
        h = h.load()  # rows streamed from a store, for a family that trains on the matrix in memory
    out = Path(out_dir)
    final = out / MODEL_FILE
    checkpoint = out / CHECKPOINT_FILE
    if rank == 0:
        check_model_dir(out, resume=resume, overwrite=overwrite)
    if not (isinstance(checkpoint_every_s, (int, float)) and np.isfinite(checkpoint_every_s) and checkpoint_every_s >= 0):
        raise InputError(
            f"the checkpoint interval must be a finite number of seconds >= 0, found {checkpoint_every_s!r}"
        )
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
        from .models.registry import get_family

        stored = get_family(model).stored_settings(payload["config"])  # with settings it predates
        stored_config = {k: v for k, v in stored.items() if k != "epochs"}
        resume_epoch = int(payload.get("training", {}).get("epoch", payload.get("epochs_trained", 0)))
    seed = resolve_seed(seed)
    if size > 1:
        # every process must start from the same seed: process 0's
        seed = dist.broadcast_int(seed)
        if threads is None:
            threads = max(1, (os.cpu_count() or 1) // size)
    chosen = _chosen_from_data(model, h, overrides, resume)
    config = make_config(model, {**stored_config, **chosen, **dict(overrides or {})})
    n_threads = set_threads(threads)
    parameters = {
        "model": model,
        "config": dataclasses.asdict(config),
        "chosen_from_data": dict(chosen),
        "epochs": epochs if epochs is not None else config.epochs,
        "time_budget_s": time_budget_s,
        "threads": n_threads,
        "n_haplotypes": h.n_haplotypes,
        "n_sites": h.n_sites,
    }
    source = source_record(h)
    record = make_record(parameters=parameters, seed=seed, inputs=[source] if source else [], command=command)
    record["training_data"] = training_data_record(h)
    # a conditional family learns p(haplotype | population) from the data's labels; the others
    # keep them with the data only (they take no part in training)
    fit_labels = h.population if MODELS[model].conditional and h.population is not None else None
    if fit_labels is not None:
        record["populations"] = population_record(h)
    extra = {"sites": h.sites.to_dict(), "provenance": record}
    record["processes"] = size
    if rank > 0:
        # another process of a torchrun launch: the same training, and nothing written (process
        # 0 writes the model directory, the checkpoints and the log)
        instance = MODELS[model](config, h.n_sites)
        summary = instance.fit(h.matrix, seed=seed, labels=fit_labels, epochs=epochs, time_budget_s=time_budget_s,
                               checkpoint_path=checkpoint if resume else None, resume=resume, extra=extra)
        record["training"] = dataclasses.asdict(summary)
        return record
    out.mkdir(parents=True, exist_ok=True)
    with _writing(out), _exclusive(out):
        if resume:
            _truncate_log(out / LOG_FILE, resume_epoch)
        else:
            # a fresh run: nothing of an earlier run may stay beside the new one
            for name in (MODEL_FILE, PROVENANCE_FILE, CHECKPOINT_FILE, LOG_FILE):
                (out / name).unlink(missing_ok=True)
        progress = _logging_progress(out / LOG_FILE, progress)
        instance = MODELS[model](config, h.n_sites)  # the registry's lazy mapping of families
        summary = instance.fit(
            h.matrix,
            seed=seed,
            labels=fit_labels,
            epochs=epochs,
            time_budget_s=time_budget_s,
            checkpoint_path=checkpoint,
            checkpoint_every_s=checkpoint_every_s,
            resume=resume,
            progress=progress,
            extra=extra,
        )
        record["training"] = {**dataclasses.asdict(summary), "notes": instance.training_notes()}
        # the model and its record move in together: never a new model.pt beside an old record
        with OutputSet([final, out / PROVENANCE_FILE], overwrite=True) as outputs:
            instance.save(outputs.path(final), extra={"sites": h.sites.to_dict(), "provenance": record})
            write_json_atomic(outputs.path(out / PROVENANCE_FILE), record)
    return record


@contextlib.contextmanager
def _writing(out: Path) -> Iterator[None]:
    """Report a failed write inside a model directory as an :class:`OutputError` naming the file."""
    try:
        yield
    except OSError as exc:
        name = exc.filename or out
        reason = exc.strerror or str(exc)
        resumable = (out / CHECKPOINT_FILE).exists()
        hint = f"; the checkpoint {out / CHECKPOINT_FILE} is intact: free space and continue with --resume" if resumable else ""
        raise OutputError(f"cannot write {name}: {reason}{hint}") from exc


def _truncate_log(path: Path, epoch: int) -> None:
    """Cut a training log back to the lines of epochs <= ``epoch`` (a resumed run re-runs the rest)."""
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines[:1]]
    for line in lines[1:]:
        first = line.split("\t", 1)[0]
        if first.isdigit() and int(first) <= epoch and line.endswith("\n"):
            kept.append(line)
    with atomic_path(path) as tmp:
        tmp.write_text("".join(kept))


def _logging_progress(path: Path, progress: Callable[[Any], None] | None) -> Callable[[Any], None]:
    """A progress callback that appends each epoch to the training log, then calls ``progress``.

    The log line is written and flushed before anything is shown; a display that fails with a
    closed pipe (``BrokenPipeError``, EPIPE) is dropped and training goes on.
    """
    shown = [progress]

    def callback(p: Any) -> None:
        keys = sorted(p.losses)
        new = not path.exists() or path.stat().st_size == 0
        with open(path, "a") as handle:
            if new:
                handle.write("epoch\telapsed_s\t" + "\t".join(keys) + "\n")
            handle.write(f"{p.epoch}\t{p.elapsed_s:.2f}\t" + "\t".join(f"{p.losses[k]:.6g}" for k in keys) + "\n")
        if shown[0] is not None:
            try:
                shown[0](p)
            except BrokenPipeError:
                shown[0] = None
            except OSError as exc:
                if exc.errno != errno.EPIPE:
                    raise
                shown[0] = None

    return callback


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
    if (out / CHECKPOINT_FILE).exists() and not (resume or overwrite):
        raise InputError(
            f"{out} holds an unfinished training run ({CHECKPOINT_FILE}); continue it with --resume, "
            "pass --overwrite to start again, or choose another output directory"
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
    threads: int | None = None,
    command: Sequence[str] | None = None,
    populations: str | Mapping[str, float] | None = None,
    batch_size: int | None = None,
    temperature: float = 1.0,
) -> tuple[Haplotypes, dict[str, Any]]:
    """Sample ``n`` artificial haplotypes from a trained model, in memory.

    Consecutive pairs of haplotypes form artificial diploid individuals ``AG0``, ``AG1``, ...
    From a conditional model trained with labels, both haplotypes of an individual come from
    one population (:func:`assign_populations` says how they are chosen), and the result
    carries ``population`` (and ``super_population``, when the model recorded them).
    The haplotypes are those :func:`generate_to_file` writes for the same seed and batch size
    (:func:`draw_batches` says how a draw is made); a set too large for memory is written
    with :func:`generate_to_file`, which never holds it whole.

    Parameters
    ----------
    model_dir
        A model directory written by :func:`train` (or its ``model.pt``).
    n
        Number of haplotypes.
    seed
        Seed of the draw; None draws one (recorded).
    prefix
        Prefix of the artificial individuals' names.
    threads
        torch CPU threads (None: every core this process may use).
    command
        The command line recorded in the provenance.
    populations
        For a conditional model trained with labels: one population (``"YRI"``), or shares
        ``{"YRI": 0.5, "CEU": 0.5}`` (normalised); None takes the training proportions
        (exact to one individual, shuffled). Refused by a model that cannot sample by population.
    batch_size
        Haplotypes drawn per batch (None: :func:`haplogen.io.streaming.default_batch_size`
        of the model's sites). Part of the draw: recorded, and a different batch size gives
        other haplotypes for the same seed.
    temperature
        1 (the default) draws from the model itself; below 1, for a family that allows it
        (hmm), each allele's log-odds given the model's state is divided by it, which draws
        fewer stray alleles (README, "Sampling temperature"). Recorded.

    Returns
    -------
    (Haplotypes, dict)
        The haplotypes, matrix of shape (n, n_sites), and their provenance record, which
        nests the model's own under ``"model_provenance"`` (its ``training_data`` included)
        and, when labelled, counts the individuals of each population
        (``"individuals_per_population"``).
    """
    if n < 1:
        raise InputError(f"the number of haplotypes to generate must be at least 1, found {n}")
    return _sample_from(load_trained(model_dir), n, seed=seed, prefix=prefix, threads=threads, command=command,
                        populations=populations, batch_size=batch_size, temperature=temperature)


def batch_seed(seed: int, batch: int) -> int:
    """The seed of batch ``batch`` of a draw seeded with ``seed``.

    Batch 0 takes ``seed`` itself, so that a set of one batch is ``model.sample(n, seed=seed)``;
    the others take a 63-bit seed derived from ``(seed, batch)`` by numpy's ``SeedSequence``
    (independent streams, none shared with another batch or another seed's batches).
    """
    if batch == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(batch)]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def draw_batches(
    model: Any,
    n: int,
    *,
    seed: int,
    batch_size: int,
    labels: np.ndarray | None = None,
    temperature: float = 1.0,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Draw ``n`` haplotypes from ``model`` a batch at a time.

    Batch ``b`` holds rows ``b * batch_size`` up to the next batch (the last one may be
    shorter) and is ``model.sample(k, seed=batch_seed(seed, b), labels=labels[rows],
    batch_size=batch_size)``. The draw depends on ``seed`` and ``batch_size`` only: the same
    pair gives the same haplotypes, and a larger ``n`` begins with the full batches of a smaller
    one. Memory holds one batch.

    Parameters
    ----------
    model
        A trained :class:`haplogen.models.base.GenerativeModel`.
    n
        Number of haplotypes.
    seed
        Seed of the draw.
    batch_size
        Haplotypes per batch.
    labels : ndarray of str, shape (n,), optional
        Population of each haplotype (:func:`assign_populations`).
    temperature
        The sampling temperature (:meth:`~haplogen.models.base.GenerativeModel.sample`).

    Yields
    ------
    (int, int, ndarray of uint8, shape (stop - start, n_sites))
        ``start``, ``stop`` and the batch.
    """
    if int(batch_size) < 1:
        raise InputError(f"the batch size must be at least 1 haplotype, found {batch_size}")
    batch_size = int(batch_size)
    for b, start in enumerate(range(0, n, batch_size)):
        stop = min(n, start + batch_size)
        part = None if labels is None else labels[start:stop]
        yield start, stop, model.sample(stop - start, seed=batch_seed(seed, b), labels=part, batch_size=batch_size,
                                        temperature=temperature)


def _generation_record(
    loaded: tuple[Any, Sites, dict[str, Any]],
    n: int,
    *,
    seed: int,
    prefix: str,
    n_threads: int,
    command: Sequence[str] | None,
    populations: str | Mapping[str, float] | None,
    batch_size: int,
    labels: np.ndarray | None,
    temperature: float = 1.0,
) -> dict[str, Any]:
    """The provenance record of an artificial set (before it is written)."""
    model, _, model_provenance = loaded
    asked = populations if populations is None or isinstance(populations, str) else {str(k): float(v) for k, v in populations.items()}
    record = make_record(
        parameters={"n": n, "model": model.name, "prefix": prefix, "threads": n_threads, "populations": asked,
                    "batch_size": batch_size, "temperature": temperature},
        seed=seed,
        inputs=[model_provenance["model_file"]],
        command=command,
    )
    record["model_provenance"] = {k: v for k, v in model_provenance.items() if k != "model_file"}
    if labels is not None:
        individuals = labels[::2]  # one entry per artificial individual
        record["individuals_per_population"] = {
            str(p): int(np.count_nonzero(individuals == p)) for p in dict.fromkeys(individuals.tolist())
        }
    return record


def _check_batch_size(batch_size: int | None, n_sites: int) -> int:
    from .io.streaming import default_batch_size

    if batch_size is None:
        return default_batch_size(n_sites)
    if isinstance(batch_size, bool) or int(batch_size) < 1:
        raise InputError(f"--batch-size must be at least 1 haplotype, found {batch_size}")
    return int(batch_size)


def _sample_from(
    loaded: tuple[Any, Sites, dict[str, Any]],
    n: int,
    *,
    seed: int | None,
    prefix: str,
    threads: int | None,
    command: Sequence[str] | None,
    populations: str | Mapping[str, float] | None = None,
    batch_size: int | None = None,
    temperature: float = 1.0,
) -> tuple[Haplotypes, dict[str, Any]]:
    from .models.training import set_threads

    model, sites, model_provenance = loaded
    seed = resolve_seed(seed)
    batch_size = _check_batch_size(batch_size, sites.n_sites)
    temperature = model.checked_temperature(temperature)
    labels = assign_populations(model, n, populations, seed=seed)  # (n,) or None; checked before any work
    n_threads = set_threads(threads)
    matrix = np.empty((n, sites.n_sites), dtype=np.uint8)
    for start, stop, batch in draw_batches(model, n, seed=seed, batch_size=batch_size, labels=labels,
                                           temperature=temperature):
        matrix[start:stop] = batch
    record = _generation_record(loaded, n, seed=seed, prefix=prefix, n_threads=n_threads, command=command,
                                populations=populations, batch_size=batch_size, labels=labels,
                                temperature=temperature)
    h = Haplotypes.from_matrix(matrix, sites, prefix=prefix, source={"generated_by": record})
    if labels is not None:
        supers = _super_populations(model_provenance)
        h = dataclasses.replace(
            h,
            population=labels,
            super_population=np.array([supers.get(p, p) for p in labels], dtype=object) if supers else None,
        )
    return h, record


# ---------------------------------------------------------------------------- populations
def population_record(h: Haplotypes) -> list[dict[str, Any]]:
    """What a conditional model records about the populations it was trained on.

    Parameters
    ----------
    h : Haplotypes, shape (n_haplotypes, n_sites)
        Training data with population labels.

    Returns
    -------
    list of dict
        One entry per population, sorted by name (the model's own vocabulary order):
        ``name``, ``n_haplotypes`` and ``super_population`` (None when the individuals of the
        population are not all given one and the same super-population).
    """
    if h.population is None:
        raise InputError("these haplotypes carry no population labels; read them with a labels table")
    names, counts = np.unique(h.population.astype(str), return_counts=True)
    entries = []
    for name, count in zip(names.tolist(), counts.tolist()):
        sup = None
        if h.super_population is not None:
            found = set(h.super_population[h.population == name].tolist())
            sup = str(found.pop()) if len(found) == 1 else None
        entries.append({"name": str(name), "n_haplotypes": int(count), "super_population": sup})
    return entries


def parse_population_shares(text: str) -> dict[str, float]:
    """Parse ``--populations`` text, ``YRI=0.5,CEU=0.5``, into ``{population: share}``.

    Shares are positive finite numbers, normalised later (``YRI=1,CEU=3`` is a quarter YRI).

    Raises
    ------
    InputError
        For an entry that is not ``NAME=SHARE``, a share that is not a positive finite
        number, or a population named twice.
    """
    shares: dict[str, float] = {}
    for item in str(text).split(","):
        name, sep, value = item.strip().partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(
                f"--populations: expected NAME=SHARE entries separated by commas (YRI=0.5,CEU=0.5), found {item.strip()!r}"
            )
        try:
            share = float(value)
        except ValueError:
            share = math.nan
        if not math.isfinite(share) or share <= 0:
            raise InputError(
                f"--populations: the share of {name} must be a positive finite number, found {value.strip()!r}"
            )
        if name in shares:
            raise InputError(f"--populations: {name} is named twice; give each population once")
        shares[name] = share
    return shares


def assign_populations(
    model: Any,
    n: int,
    populations: str | Mapping[str, float] | None,
    *,
    seed: int,
) -> np.ndarray | None:
    """The population of each of ``n`` artificial haplotypes, chosen per individual.

    Rows ``2i`` and ``2i + 1`` form the artificial individual ``i`` (an odd last row is a
    haploid individual), and both of its haplotypes always come from one population.

    * One name: every individual is of that population.
    * A mapping ``{population: share}``: shares are normalised and turned into numbers of
      individuals by the largest-remainder method (the floor of each exact count, then one
      more individual to the populations with the largest remainders, ties to the earlier
      population of the mapping), so the proportions are exact to one individual. The
      individuals are laid out in the mapping's order: the first population's individuals
      first (``AG0``, ``AG1``, ...), then the next.
    * None, for a model trained with labels: the training proportions, made exact to one
      individual in the same way, the individuals then shuffled (a numpy generator seeded with
      ``seed``) so that any run of rows mixes the populations. A stratified draw of the model's
      own mixture: drawing each individual's population at random instead added noise to
      every statistic of the set (805-SNP panel, 5,000 haplotypes, four seeds: pairwise W1
      0.92-1.90 against 1.14-1.22, allele-frequency r 0.9984-0.9992 against 0.9993-0.9994).

    Parameters
    ----------
    model
        A trained :class:`haplogen.models.base.GenerativeModel`.
    n
        Number of haplotypes.
    populations
        One population name, a ``{name: share}`` mapping, or None.
    seed
        Seed of the draws of the unlabelled case.

    Returns
    -------
    ndarray of str, shape (n,), or None
        None when ``populations`` is None and the model has no populations (an unconditional
        family, or a conditional one trained without labels).

    Raises
    ------
    InputError
        For populations asked of a model that cannot sample by population, a population the
        model was not trained on (the known ones are listed), or a share that is not positive
        and finite.
    """
    known = tuple(getattr(model, "populations", None) or ())
    if populations is None:
        if not (getattr(model, "conditional", False) and known):
            return None
        counts = np.asarray(model.population_counts, dtype=np.float64)
        per_individual = _individuals_by_share(known, counts, (n + 1) // 2)
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x706F70]))  # "pop": apart from the model's draws
        per_individual = per_individual[rng.permutation(per_individual.size)]
        return per_individual[np.arange(n) // 2]
    if not getattr(model, "conditional", False):
        raise InputError(
            f"the {model.name} family is not conditional on population, so it cannot sample by population; "
            "train a conditional family (--model hmm, mixar or mosaic) with --labels TABLE, or leave out --population(s)"
        )
    if not known:
        raise InputError(
            f"this {model.name} model was trained without population labels, so it cannot sample by population; "
            "train it with --labels TABLE, or leave out --population(s)"
        )
    shares = {populations: 1.0} if isinstance(populations, str) else dict(populations)
    if not shares:
        raise InputError("no population was given; name at least one (--populations YRI=0.5,CEU=0.5)")
    for name, share in shares.items():
        if str(name) not in known:
            raise InputError(
                f"the model was not trained on the population {name!r}; it knows {', '.join(known)}"
            )
        ok = isinstance(share, (int, float, np.integer, np.floating)) and not isinstance(share, bool)
        if not ok or not math.isfinite(float(share)) or float(share) <= 0:
            raise InputError(f"the share of {name} must be a positive finite number, found {share!r}")
    names = [str(k) for k in shares]
    weights = np.array([float(v) for v in shares.values()])
    per_individual = _individuals_by_share(names, weights, (n + 1) // 2)
    return per_individual[np.arange(n) // 2]


def _individuals_by_share(names: Sequence[str], weights: np.ndarray, n_individuals: int) -> np.ndarray:
    """``n_individuals`` population names in the shares ``weights`` (normalised), exact to one
    individual by the largest-remainder method (the floor of each exact count, then one more
    to the largest remainders, ties to the earlier name), laid out in the order of ``names``."""
    exact = weights / weights.sum() * n_individuals
    count = np.floor(exact).astype(np.int64)
    # a stable sort keeps the order of names among equal remainders
    extra = np.argsort(-(exact - count), kind="stable")[: n_individuals - int(count.sum())]
    count[extra] += 1
    return np.repeat(np.asarray(names, dtype=object), count)


def _super_populations(model_provenance: Mapping[str, Any]) -> dict[str, str]:
    """``{population: super_population}`` from a model's recorded populations (those known)."""
    found = {}
    for entry in model_provenance.get("populations") or []:
        if isinstance(entry, dict) and entry.get("name") is not None and entry.get("super_population") is not None:
            found[str(entry["name"])] = str(entry["super_population"])
    return found


# ---------------------------------------------------------------------------- training data
def training_data_record(h: Haplotypes) -> dict[str, Any]:
    """What a model records about the data it was trained on.

    Parameters
    ----------
    h : Haplotypes, shape (n_haplotypes, n_sites)
        The training data, as given to the model.

    Returns
    -------
    dict
        ``individuals`` (the sample ids, in order), ``n_haplotypes``, ``n_sites``,
        ``matrix_sha256`` (:func:`haplogen.provenance.matrix_checksum`: the same whatever file
        or format the data were read from) and ``file`` (path, sha256 and size of the input
        file, or None for data not read from a file).
    """
    return {
        "individuals": [str(s) for s in h.samples.tolist()],
        "n_haplotypes": int(h.n_haplotypes),
        "n_sites": int(h.n_sites),
        "matrix_sha256": matrix_checksum(h.matrix),
        "file": source_record(h),
    }


def model_training_data(model: str | os.PathLike) -> dict[str, Any] | None:
    """The ``training_data`` record of a trained model (directory or model file).

    Read from ``provenance.json`` when the directory has one (no torch needed), else from the
    model file. None when the model was trained by a haplogen that did not record it.

    Raises
    ------
    ModelError
        When ``model`` holds no trained model.
    """
    path = Path(model)
    record: dict[str, Any] | None = None
    if path.is_dir() and (path / PROVENANCE_FILE).is_file() and (path / MODEL_FILE).is_file():
        record = read_provenance(path)
    if record is None:
        _, _, record = load_trained(path)
    data = (record or {}).get("training_data")
    return data if isinstance(data, dict) else None


def _shown(items: Sequence[str], k: int = 3) -> str:
    return ", ".join(items[:k]) + (" ..." if len(items) > k else "")


def check_training_data(
    training: Mapping[str, Any] | None,
    *,
    model: str,
    real: Haplotypes | None = None,
    holdout: Haplotypes | None = None,
    real_name: str = "the real set",
    holdout_name: str = "the holdout set",
) -> list[str]:
    """Check a real set and a holdout against the data a model was trained on.

    Parameters
    ----------
    training
        The model's ``training_data`` record (:func:`training_data_record`), or None when the
        model did not record it.
    model
        How to name the model in messages (its directory).
    real : Haplotypes, shape (n_real, n_sites), optional
        The set given as the model's training data (``--real``).
    holdout : Haplotypes, shape (n_holdout, n_sites), optional
        Individuals said to be unseen by the model (``--holdout``).
    real_name, holdout_name
        How to name the two sets in messages (their files).

    Returns
    -------
    list of str
        Warnings: the real set is not the training data (other checksum, other individuals),
        or the model records nothing to check against.

    Raises
    ------
    InputError
        When the holdout shares individuals with the training data: every privacy figure
        against it would be wrong.
    """
    if training is None:
        return [
            f"the model {model} records no training data (it was trained by an older haplogen): "
            "the holdout and the real set could not be checked against it; train it again to check them"
        ]
    trained_on = [str(s) for s in training.get("individuals", [])]
    trained_set = set(trained_on)
    found: list[str] = []
    if holdout is not None:
        shared = [s for s in holdout.samples.tolist() if s in trained_set]
        if shared:
            raise InputError(
                f"{holdout_name} shares {len(shared)} of its {holdout.n_samples} individuals with the data "
                f"the model {model} was trained on ({_shown(shared)}): privacy figures against it would be "
                "wrong; pass the holdout of the split the model was trained on (see the model's "
                "provenance.json, training_data)"
            )
    if real is not None and matrix_checksum(real.matrix) != training.get("matrix_sha256"):
        mine = real.samples.tolist()
        mine_set = set(mine)
        absent = [s for s in trained_on if s not in mine_set]
        extra = [s for s in mine if s not in trained_set]
        if absent or extra:
            parts = []
            if extra:
                parts.append(f"{len(extra)} of its {len(mine)} individuals were not in it ({_shown(extra)})")
            if absent:
                parts.append(f"{len(absent)} of the model's {len(trained_on)} training individuals are missing")
            detail = "; ".join(parts)
        else:
            detail = (
                f"the same individuals, but other alleles, sites or order ({real.n_haplotypes} x {real.n_sites} "
                f"against {training.get('n_haplotypes')} x {training.get('n_sites')}, other checksum)"
            )
        found.append(
            f"{real_name} is not the data the model {model} was trained on ({detail}); figures that "
            "compare the model with its training data (privacy loss, copies) are then about another set"
        )
    return found


# ---------------------------------------------------------------------------- progress
def progress_printer(say: Say, every_s: float = 5.0, *, indent: str = "") -> Callable[[Any], None]:
    """A training ``progress`` callback that shows one line at most every ``every_s`` seconds.

    The first epoch and the last one are always shown.

    Parameters
    ----------
    say
        Receives each line.
    every_s
        Seconds between lines.
    indent
        Put before each line.
    """
    from .models.training import format_progress

    last = [float("-inf")]

    def progress(p: Any) -> None:
        now = time.monotonic()
        final = p.epochs is not None and p.epoch >= p.epochs
        if now - last[0] >= every_s or final or p.epoch <= 1:
            last[0] = now
            say(indent + format_progress(p))

    return progress


# ---------------------------------------------------------------------------- simulate
def _beside(path: str | os.PathLike, suffix: str) -> Path:
    """``x.vcf.gz`` (or the store ``x.vcz``) -> ``x`` + suffix, in the same folder."""
    p = Path(path)
    base = p.name
    for ext in (".vcz", ".zarr", ".gz", ".vcf", ".bcf", ".hapt"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    return p.with_name(base + suffix)


def simulate_to_files(
    output: str | os.PathLike,
    *,
    config: Any = None,
    seed: int | None = None,
    labels_out: str | os.PathLike | None = None,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    say: Say | None = None,
) -> dict[str, Any]:
    """Simulate a phased data set and write it as a VCF and a population table, together.

    Parameters
    ----------
    output
        The VCF to write (``.vcf.gz``, bgzipped and indexed).
    config
        A :class:`haplogen.simulate.SimulationConfig` (None: its defaults).
    seed
        Seed of the simulation; None draws one (recorded).
    labels_out
        The ``sample pop super_pop`` table (default: beside the VCF, ``NAME.samples.tsv``).
    overwrite
        Replace existing outputs (refused otherwise, before the simulation).
    command
        The command line recorded in the provenance.
    say
        Receives progress lines.

    Returns
    -------
    dict
        ``haplotypes`` (Haplotypes, shape (n_haplotypes, n_sites)), ``vcf`` and ``labels``
        (paths) and ``provenance`` (the record in the VCF header).
    """
    from .haplotypes import write_labels
    from .io import check_output_path, write_haplotypes
    from .simulate import SimulationConfig, simulate_haplotypes

    say = say or _quiet
    check_output_path(output, "vcf")
    vcf = Path(output)
    labels = Path(labels_out) if labels_out is not None else _beside(vcf, ".samples.tsv")
    if labels == vcf:
        raise InputError(f"the labels table and the VCF would both be {vcf}; give --labels-out another name")
    outputs = OutputSet([vcf, labels], overwrite=overwrite)
    outputs.check()  # before the (long) simulation
    config = config if config is not None else SimulationConfig()
    seed = resolve_seed(seed)
    say(
        f"simulating {3 * config.individuals_per_population} individuals (YRI, CEU, CHB) on "
        f"{config.n_chromosomes} x {int(config.sequence_length):,} bp, seed {seed} ..."
    )
    h = simulate_haplotypes(config, seed=seed)
    record = make_record(parameters=dataclasses.asdict(config), seed=seed, command=command)
    with outputs:
        write_haplotypes(h, outputs.path(vcf), format="vcf", provenance=record)
        write_labels(h, outputs.path(labels))
    say(f"wrote {vcf} ({h.n_haplotypes} haplotypes x {h.n_sites} SNPs) and {labels}")
    return {"haplotypes": h, "vcf": vcf, "labels": labels, "provenance": record}


# ---------------------------------------------------------------------------- import
def import_to_store(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    variants_chunk_size: int = 10_000,
    samples_chunk_size: int = 1_000,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    say: Say | None = None,
    warn: Say | None = None,
) -> dict[str, Any]:
    """Convert a VCF or BCF into a chunked VCF Zarr store (:func:`haplogen.io.import_vcf`).

    The store records this call's provenance (version, command, chunk sizes, the input's
    checksum) in its attributes. It keeps every record of the VCF; the reading options apply
    when it is read, as they do to the VCF. After the import the store is opened with the
    default options: their summary goes to ``say``, or, when they refuse a record (missing or
    unphased calls ...), the reason goes to ``warn``, naming the option that reads it.

    Parameters
    ----------
    input
        ``.vcf``, ``.vcf.gz`` or ``.bcf`` (a hapt file is refused: convert it to VCF first).
    output
        The store, a directory named ``NAME.vcz`` (or ``.zarr``).
    variants_chunk_size, samples_chunk_size
        Variants and individuals per zarr chunk.
    overwrite
        Replace an existing store (refused otherwise, before any work).
    command
        The command line recorded in the provenance.
    say, warn
        Receive progress lines and warnings.

    Returns
    -------
    dict
        ``store`` (the path), ``provenance`` (the record in its attributes) and ``summary``
        (:class:`haplogen.io.ReadSummary` under the default options, None when they refuse it).
    """
    from .io import StoreHaplotypes, detect_format, import_vcf
    from .io.store import check_store_output

    say = say or _quiet
    warn = _warner(warn)
    check_store_output(output, overwrite=overwrite)
    if detect_format(input) != "vcf":
        raise InputError(
            f"{Path(input).name} is not a VCF/BCF; import converts VCF/BCF only: convert a hapt file to VCF "
            "first (read it with its legend and write it with haplogen.io.write_vcf)"
        )
    record = make_record(
        parameters={"variants_chunk_size": int(variants_chunk_size), "samples_chunk_size": int(samples_chunk_size)},
        seed=None,
        inputs=[Path(input)],
        command=command,
    )
    store = import_vcf(
        input, output,
        variants_chunk_size=variants_chunk_size,
        samples_chunk_size=samples_chunk_size,
        overwrite=overwrite,
        progress=say,
        provenance=record,
    )
    summary = None
    try:
        summary = StoreHaplotypes.open(store).summary
        say(f"with the default reading options: {summary}")
    except InputError as exc:
        warn(f"the store was written, but reading it with the default options stops: {exc}")
    return {"store": store, "provenance": record, "summary": summary}


# ---------------------------------------------------------------------------- split
def split_files(out_dir: str | os.PathLike, format: str = "vcf") -> dict[str, Path]:
    """The files of a split folder: ``train``, ``holdout`` (data files) and ``table`` (split.tsv)."""
    from .io import check_output_path

    out = Path(out_dir)
    ext = {"vcf": ".vcf.gz", "hapt": ".hapt.gz"}.get(format)
    if ext is None:
        raise InputError(f"the split format must be vcf or hapt, found {format!r}")
    files = {"train": out / f"train{ext}", "holdout": out / f"holdout{ext}", "table": out / SPLIT_TABLE}
    check_output_path(files["train"], format)
    return files


def _all_split_files(out: Path) -> list[Path]:
    """Every file a split of either format leaves in ``out`` (the data, their side files, the table)."""
    from .io import output_files

    found = [out / SPLIT_TABLE]
    for fmt in ("vcf", "hapt"):
        files = split_files(out, fmt)
        for side in ("train", "holdout"):
            found += list(output_files(files[side], fmt).values())
    return found


def split_to_files(
    input: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    holdout_fraction: float = 0.2,
    stratify: bool = True,
    split_file: str | os.PathLike | None = None,
    seed: int | None = None,
    format: str = "vcf",
    labels: str | os.PathLike | None = None,
    missing_labels: str = "error",
    legend: str | os.PathLike | None = None,
    options: Any = None,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    say: Say | None = None,
    warn: Say | None = None,
) -> dict[str, Any]:
    """Split the individuals of a file into a training and a holdout set, written together.

    Both haplotypes of an individual stay on one side (:func:`haplogen.split.split_individuals`).
    ``out_dir`` receives ``train`` and ``holdout`` files and ``split.tsv``, moved in as a whole.
    A folder that already holds a split is refused unless ``overwrite``: a model trained on the
    old split would otherwise be audited against a holdout that it has seen. With ``overwrite``
    the replacement is announced through ``warn``, and the files of the old split (of either
    format) are removed as the new ones move in.

    Parameters
    ----------
    input
        VCF/BCF or hapt file.
    out_dir
        The split folder.
    holdout_fraction
        Share of individuals held out, in (0, 1).
    stratify
        Keep the population proportions on both sides (with ``labels``).
    split_file
        Take the split from a ``sample<TAB>set`` table instead of drawing one.
    seed
        Seed of the draw; None draws one (recorded).
    format
        ``"vcf"`` or ``"hapt"`` (the outputs' format).
    labels, missing_labels, legend, options
        As in :func:`read_input`.
    overwrite
        Replace a split already in ``out_dir``.
    command
        The command line recorded in the provenance.
    say, warn
        Receive progress lines and warnings.

    Returns
    -------
    dict
        ``train``, ``holdout``, ``table`` (the paths written), ``split``
        (:class:`haplogen.split.Split`) and ``provenance`` (the record of both data files).
    """
    from . import __version__
    from .io import output_files, write_haplotypes
    from .split import apply_split, read_split, split_individuals, write_split

    say = say or _quiet
    warn = _warner(warn)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"the split folder {out} is a file; choose a folder name for -o")
    files = split_files(out, format)
    previous = [f for f in _all_split_files(out) if f.exists()]
    if previous and not overwrite:
        raise InputError(
            f"{out} already holds a split ({', '.join(f.name for f in previous[:3])}); models trained on it "
            "would no longer match a new one: choose another folder, or pass --overwrite to replace it"
        )
    if holdout_fraction is None or not 0 < float(holdout_fraction) < 1:
        raise InputError(f"the holdout fraction must be between 0 and 1 (exclusive), found {holdout_fraction}")
    produced = set()
    for side in ("train", "holdout"):
        produced |= set(output_files(files[side], format).values())
    produced.add(files["table"])
    outputs = OutputSet(
        [files["train"], files["holdout"], files["table"]],
        overwrite=overwrite,
        remove=[f for f in previous if f not in produced],
    )
    outputs.check()

    h = _read(input, what="input", legend=legend, options=options, labels=labels,
              missing_labels=missing_labels, say=say, warn=warn)
    seed = resolve_seed(seed)
    if split_file is not None:
        split = read_split(split_file)
        how = f"from {split_file}"
    else:
        split = split_individuals(h, holdout_fraction=holdout_fraction, seed=seed, stratify=stratify)
        how = f"holdout fraction {holdout_fraction}, seed {seed}" + (
            ", stratified by population" if h.population is not None and stratify else ""
        )
    train_h, holdout_h = apply_split(h, split)
    source = source_record(h)
    inputs: list[Any] = [source if source is not None else Path(input)]
    inputs += [Path(p) for p in (split_file, labels) if p is not None]
    record = make_record(
        parameters={
            "holdout_fraction": holdout_fraction,
            "stratify": stratify,
            "split_file": None if split_file is None else str(split_file),
            "format": format,
        },
        seed=seed,
        inputs=inputs,
        command=command,
    )
    if previous:
        warn(
            f"replacing the split in {out}: a model trained on the old split must not be audited against "
            "the new holdout (evaluate and generate --audit refuse a holdout that shares individuals with a "
            "model's training data)"
        )
    with outputs:
        for side, part in (("train", train_h), ("holdout", holdout_h)):
            target = files[side]
            side_files = output_files(target, format)
            legend_out = outputs.path(side_files["legend"]) if format == "hapt" else None
            write_haplotypes(part, outputs.path(target), format=format, provenance=record, legend_path=legend_out)
        write_split(split, outputs.path(files["table"]), header_comment=f"haplogen {__version__} split: {how}")
    say(
        f"split {h.n_samples} individuals ({how}): {train_h.n_samples} train ({train_h.n_haplotypes} haplotypes), "
        f"{holdout_h.n_samples} holdout ({holdout_h.n_haplotypes} haplotypes) -> {out}/"
    )
    return {**files, "split": split, "provenance": record}


# ---------------------------------------------------------------------------- train from a file
def train_from_file(
    input: str | os.PathLike,
    *,
    model: str,
    out_dir: str | os.PathLike,
    split_file: str | os.PathLike | None = None,
    labels: str | os.PathLike | None = None,
    missing_labels: str = "error",
    legend: str | os.PathLike | None = None,
    options: Any = None,
    say: Say | None = None,
    warn: Say | None = None,
    **train_options: Any,
) -> dict[str, Any]:
    """Read a file (optionally only the ``train`` side of a split table) and :func:`train` on it.

    The model directory is checked before the data are read, so that a refusal comes at once.

    Parameters
    ----------
    input
        VCF/BCF or hapt file.
    model, out_dir
        As in :func:`train`.
    split_file
        Train only on the ``train`` individuals of this ``sample<TAB>set`` table.
    labels, missing_labels, legend, options
        As in :func:`read_input`.
    say, warn
        Receive progress lines and warnings.
    **train_options
        Passed to :func:`train` (``seed``, ``overrides``, ``epochs``, ``time_budget_s``,
        ``resume``, ``overwrite``, ``threads``, ``checkpoint_every_s``, ``progress``,
        ``command``).

    Returns
    -------
    dict
        The provenance record of the model (see :func:`train`).
    """
    from .models.registry import get_family

    say = say or _quiet
    check_model_dir(out_dir, resume=train_options.get("resume", False), overwrite=train_options.get("overwrite", False))
    # a family that trains on mini-batches reads a store's rows as it needs them, never whole
    h = _read(input, what="input", legend=legend, options=options, labels=labels,
              missing_labels=missing_labels, say=say, warn=warn, stream=get_family(model).streaming)
    if split_file is not None:
        from .split import apply_split, read_split

        h, _ = apply_split(h, read_split(split_file), strict=False)
        say(f"training on the 'train' side of {split_file}: {h.n_haplotypes} haplotypes of {h.n_samples} individuals")
    if labels is not None and h.population is not None:
        if get_family(model).conditional:
            pops, counts = np.unique(h.population.astype(str), return_counts=True)
            say(f"learning {len(pops)} populations: " + ", ".join(f"{p} ({c} haplotypes)" for p, c in zip(pops, counts)))
            if missing_labels == "unknown" and "unknown" in set(pops.tolist()):
                _warner(warn)(
                    f"{int(counts[pops.tolist().index('unknown')])} haplotypes of individuals absent from {labels} "
                    "are labelled 'unknown' and learnt as a population of their own; pass --missing-labels drop "
                    "to leave them out"
                )
    chosen = _chosen_from_data(model, h, train_options.get("overrides"), train_options.get("resume", False))
    if chosen:
        spacing = h.sites.median_spacing()
        where = "" if spacing is None else f" with neighbouring SNPs {spacing:,.0f} bp apart (median)"
        say(f"for {h.n_haplotypes} training haplotypes{where} {model} takes "
            + ", ".join(f"{k}={v}" for k, v in chosen.items()) + " (set them with --set to choose)")
    return train(h, model=model, out_dir=out_dir, **train_options)


# ---------------------------------------------------------------------------- generate
#: share of the machine's memory that the artificial set may take when generate --audit holds it whole
AUDIT_MEMORY_SHARE = 0.25


def physical_memory_bytes() -> int | None:
    """This machine's physical memory in bytes, or None where the system does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def _check_audit_fits(n: int, n_sites: int) -> None:
    """Refuse ``generate --audit`` before sampling when the set it holds whole would not fit.

    The audit reads the artificial set back as one ``n x n_sites`` byte matrix (beside the
    training and holdout sets); above :data:`AUDIT_MEMORY_SHARE` of the machine's memory the run
    would end killed for memory after sampling everything, so it stops here with what to do.
    """
    memory = physical_memory_bytes()
    need = int(n) * int(n_sites)
    if memory is None or need <= AUDIT_MEMORY_SHARE * memory:
        return
    raise InputError(
        f"generate --audit holds the {n:,} x {n_sites:,} artificial set in memory ({need / 1e9:.1f} GB), more than "
        f"{AUDIT_MEMORY_SHARE:.0%} of this machine's {memory / 1e9:.1f} GB; audit a smaller draw (-n), or generate "
        "without --audit and audit the written set with haplogen evaluate --holdout (--blockwise on: block by block)"
    )


def audit_release(
    artificial: Haplotypes,
    *,
    real: Haplotypes,
    holdout: Haplotypes,
    seed: int,
) -> dict[str, Any]:
    """The privacy verdict of an artificial set against the model's training set and a holdout.

    Parameters
    ----------
    artificial : Haplotypes, shape (n_artificial, n_sites)
    real : Haplotypes, shape (n_real, n_sites)
        The model's training data.
    holdout : Haplotypes, shape (n_holdout, n_sites)
        Individuals the model never saw.
    seed
        Seed of the audit's subsamples.

    Returns
    -------
    dict
        :func:`haplogen.privacy.audit.privacy_verdict`: ``status`` (``pass``, ``warn`` or
        ``fail``) and ``reasons``.

    Raises
    ------
    InputError
        When a set's sites differ from the artificial set's.
    """
    from .privacy.audit import privacy_audit

    for name, other in (("training", real), ("holdout", holdout)):
        if not other.sites.same_as(artificial.sites):
            raise InputError(
                f"the {name} set has {other.n_sites} sites that do not match the model's {artificial.n_sites}; "
                "audit with the data the model was trained on"
            )
    return privacy_audit(real.matrix, holdout.matrix, artificial.matrix, seed=seed)["verdict"]


#: output formats of generate, from the name: VCF, the founding paper's hapt, a VCF Zarr store
STORE_OUTPUT_SUFFIXES = (".vcz", ".zarr")
#: bytes of VCF genotype text built per block of sites when writing the output (the arrays of a block take about 4 times this)
WRITE_BLOCK_BYTES = 1 << 24


def _output_format(output: str | os.PathLike, format: str | None) -> str:
    """``vcf``, ``hapt`` or ``vcz`` (a VCF Zarr store) from the name and ``format``; refuses a
    format that contradicts the name."""
    from .io import check_output_path

    shown = Path(output).name
    is_store = shown.lower().endswith(STORE_OUTPUT_SUFFIXES)
    if format == "vcz" or (format is None and is_store):
        if not is_store:
            raise InputError(
                f"a VCF Zarr store is a folder named .vcz (or .zarr): name it {shown.split('.')[0]}.vcz instead of {shown}"
            )
        if Path(output).exists() and not Path(output).is_dir():
            raise InputError(f"the output {output} is a file; a VCF Zarr store is a folder: give another name")
        return "vcz"
    if is_store:
        raise InputError(
            f"the output name {shown} says VCF Zarr store but the format asked for is {format}; "
            "leave out --format to write a store, or name the output .vcf.gz or .hapt.gz"
        )
    return check_output_path(output, format)


def _write_samples_table(path: Path, prefix: str, labels: np.ndarray, supers: Mapping[str, str]) -> None:
    """The ``sample pop super_pop`` table of the artificial individuals ``{prefix}{i}``, written by
    :func:`haplogen.haplotypes.write_labels` from the labels alone (the matrix is not needed)."""
    import types

    from . import haplotypes

    rows = types.SimpleNamespace(
        haplotype_sample=(f"{prefix}{i // 2}" for i in range(len(labels))),
        population=labels,
        super_population=(supers.get(p, p) for p in labels.tolist()),
    )
    haplotypes.write_labels(rows, path)


def generate_to_file(
    model_dir: str | os.PathLike,
    n: int,
    output: str | os.PathLike,
    *,
    format: str | None = None,
    seed: int | None = None,
    prefix: str = "AG",
    threads: int | None = None,
    audit: bool = False,
    real: str | os.PathLike | None = None,
    holdout: str | os.PathLike | None = None,
    force: bool = False,
    legend: str | os.PathLike | None = None,
    options: Any = None,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    say: Say | None = None,
    warn: Say | None = None,
    populations: str | Mapping[str, float] | None = None,
    batch_size: int | None = None,
    temperature: float = 1.0,
) -> dict[str, Any]:
    """Sample artificial haplotypes and write them as they are drawn (VCF, a VCF Zarr store, or
    hapt with its legend), optionally audited.

    The haplotypes are drawn in batches (:func:`draw_batches`), and each batch goes to a
    bit-packed spill file in the output's temporary folder
    (:class:`haplogen.io.streaming.HaplotypeSpill`); the output is then written a block of
    sites at a time (a VCF is site-major), so the memory used does not grow with ``n`` beyond
    one VCF line (every haplotype of one site). ``--audit`` and hapt output read the set back
    whole (the audit compares every haplotype; hapt is the paper's small format).

    From a conditional model trained with labels, the artificial individuals' populations are
    written beside the data as a samples table, ``NAME.samples.tsv`` (``sample pop super_pop``,
    read by :func:`haplogen.read_labels`; ``haplogen evaluate`` picks it up), moved in with the
    data and named in their provenance (``samples_table``). An existing table there is refused
    like the data (unless ``overwrite``), and an ``overwrite`` that writes no table removes an old
    one, so that a table never describes another set.

    With ``audit``, the release is refused (:class:`~haplogen.errors.PrivacyError`, nothing
    written) when the privacy audit fails, unless ``force``. Before anything is sampled, the
    output name is checked, and the holdout is checked against the individuals the model
    records as its training data (refused when they overlap; a warning when ``real`` is not
    that data).

    Parameters
    ----------
    model_dir
        A model directory written by :func:`train`.
    n
        Number of haplotypes (pairs form individuals).
    output
        ``.vcf.gz``; ``.vcz`` (or ``.zarr``), a VCF Zarr store with bio2zarr's layout and the
        provenance in its attributes (``haplogen_provenance``; ``n`` must be even); or
        ``.hapt(.gz)`` (which also writes ``NAME.legend`` and ``NAME.hapt.gz.provenance.json``).
    format
        ``"vcf"``, ``"vcz"`` or ``"hapt"``; None: from the name. A format that contradicts the
        name is refused.
    seed, prefix, threads, batch_size, temperature
        As in :func:`generate`: the same seed, batch size and temperature give the same
        haplotypes as there.
    audit, real, holdout, force
        Run the privacy audit against the training set ``real`` and the ``holdout``.
    legend, options
        How to read ``real`` and ``holdout`` (:func:`read_input`).
    overwrite
        Replace existing outputs.
    command
        The command line recorded in the provenance.
    say, warn
        Receive progress lines and warnings.
    populations
        One population or ``{population: share}``, as in :func:`generate`.

    Returns
    -------
    dict
        ``output`` (path), ``n_haplotypes``, ``n_sites``, ``provenance`` (the record written,
        with ``privacy_audit`` when audited, and ``parameters.batch_size``), ``labels`` (the
        samples table written, or None). The haplotypes themselves are not returned (the set
        need not fit in memory): read the output, or call :func:`generate`.
    """
    from .errors import PrivacyError
    from .io import output_files, write_haplotypes
    from .io.streaming import HaplotypeSpill, write_vcz
    from .io.vcf import write_vcf_blocks
    from .models.training import set_threads

    say = say or _quiet
    warn = _warner(warn)
    if n < 1:
        raise InputError(f"the number of haplotypes to generate must be at least 1, found {n}")
    fmt = _output_format(output, format)
    if fmt == "vcz" and n % 2:
        raise InputError(
            f"a VCF Zarr store holds diploid individuals, and {n} haplotypes leave the last one haploid; "
            "give an even -n, or write a .vcf.gz"
        )
    files = {"data": Path(output)} if fmt == "vcz" else output_files(output, fmt)
    table = _beside(output, SAMPLES_TABLE_SUFFIX)
    checked = ([files["data"]] if fmt != "hapt" else list(files.values())) + [table]
    outputs = OutputSet(checked, overwrite=overwrite, remove=[table], folders=[files["data"]] if fmt == "vcz" else [])
    outputs.check()
    if audit and (real is None or holdout is None):
        raise InputError("--audit needs --holdout HOLDOUT (the individuals the model did not see) and --real TRAIN")
    if not audit and (real is not None or holdout is not None or force):
        raise InputError("--real, --holdout and --force belong with --audit; add --audit, or leave them out")
    loaded = load_trained(model_dir)
    model, sites, model_provenance = loaded
    batch_size = _check_batch_size(batch_size, sites.n_sites)
    temperature = model.checked_temperature(temperature)
    assign_populations(model, n, populations, seed=0)  # refuse a bad request before the audit reads its sets
    audit_warnings: list[str] = []
    if audit:
        _check_audit_fits(n, sites.n_sites)
        real_h = _read(real, what="training set", legend=legend, options=options, say=say, warn=warn)
        holdout_h = _read(holdout, what="holdout set", legend=legend, options=options, say=say, warn=warn)
        audit_warnings = check_training_data(
            model_provenance.get("training_data"), model=str(model_dir), real=real_h, holdout=holdout_h,
            real_name=f"--real {real}", holdout_name=f"--holdout {holdout}",
        )
        for message in audit_warnings:
            warn(message)
    seed = resolve_seed(seed)
    labels = assign_populations(model, n, populations, seed=seed)  # (n,) or None
    n_threads = set_threads(threads)
    record = _generation_record(loaded, n, seed=seed, prefix=prefix, n_threads=n_threads, command=command,
                                populations=populations, batch_size=batch_size, labels=labels,
                                temperature=temperature)
    supers = _super_populations(model_provenance)
    by_population = record.get("individuals_per_population")
    shown = (
        "; individuals by population: " + ", ".join(f"{k} {v}" for k, v in by_population.items())
        if by_population else ""
    )
    if labels is not None:
        record["samples_table"] = table.name  # beside the data
    n_individuals = (n + 1) // 2
    sample_names = [f"{prefix}{i}" for i in range(n_individuals)]
    with outputs:
        data = outputs.path(files["data"])
        with HaplotypeSpill(data.parent / f".{data.name}.spill.part", sites.n_sites) as spill:
            last = time.monotonic()
            for start, stop, batch in draw_batches(model, n, seed=seed, batch_size=batch_size, labels=labels,
                                                   temperature=temperature):
                spill.append(batch)
                if time.monotonic() - last > 10 and stop < n:
                    say(f"  sampled {stop:,} of {n:,} haplotypes")
                    last = time.monotonic()
            say(f"sampled {n} haplotypes x {sites.n_sites} sites from {model_dir} (seed {seed}){shown}")

            def in_memory() -> Haplotypes:
                h = Haplotypes.from_matrix(spill.haplotypes(), sites, prefix=prefix, source={"generated_by": record})
                if labels is not None:
                    h = dataclasses.replace(
                        h, population=labels,
                        super_population=np.array([supers.get(p, p) for p in labels], dtype=object) if supers else None,
                    )
                return h

            if audit:
                verdict = audit_release(in_memory(), real=real_h, holdout=holdout_h, seed=seed)
                say(f"privacy audit: {verdict['status'].upper()}" + (f" ({'; '.join(verdict['reasons'])})" if verdict["reasons"] else ""))
                if verdict["status"] == "fail" and not force:
                    raise PrivacyError(
                        f"the privacy audit failed ({'; '.join(verdict['reasons'])}); {output} was not written. "
                        "Train longer or with more regularisation, or pass --force to write it anyway"
                    )
                record["privacy_audit"] = dict(verdict, warnings=audit_warnings)
            if fmt == "vcf":
                ploidy = np.full(n_individuals, 2, dtype=np.int64)
                ploidy[-1] = 2 - n % 2  # an odd last haplotype is a haploid individual
                write_vcf_blocks(sites, sample_names, spill.sites, data, ploidy=ploidy, provenance=record,
                                 max_bytes=WRITE_BLOCK_BYTES)
            elif fmt == "vcz":
                # chunks of 10,000 variants x 1,000 samples (20 MB of alleles each), as haplogen import writes
                write_vcz(sites, sample_names, lambda lo, hi, a, b: spill.sites(lo, hi, (a, b)), data,
                          provenance=record)
            else:
                write_haplotypes(in_memory(), data, format=fmt, provenance=record,
                                 legend_path=outputs.path(files["legend"]))
        if labels is not None:
            _write_samples_table(outputs.path(table), prefix, labels, supers)
    written = table if labels is not None else None
    say(f"wrote {output}" + (f" and {written}" if written is not None else ""))
    return {"output": Path(output), "n_haplotypes": n, "n_sites": sites.n_sites, "provenance": record,
            "labels": written}


# ---------------------------------------------------------------------------- evaluate
def _set_name(path: str | os.PathLike, taken: set[str]) -> str:
    """A set's name from its file (``ag.vcf.gz`` -> ``ag``), made unique among ``taken``."""
    name = Path(path).name
    for ext in (".gz", ".vcf", ".bcf", ".hapt"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    base, k = name or "synthetic", 2
    while name in taken:
        name = f"{base}-{k}"
        k += 1
    taken.add(name)
    return name


def _training_records(
    model: str | os.PathLike | None, synthetic: Sequence[str | os.PathLike]
) -> tuple[list[tuple[str, dict[str, Any] | None]], list[str]]:
    """The training records to check an evaluation's inputs against, and notes on what was not found.

    From ``model`` when given; otherwise from each artificial set's own provenance (the
    ``model_provenance`` that ``haplogen generate`` writes into its header), once per model.
    """
    if model is not None:
        return [(str(model), model_training_data(model))], []
    found: dict[str, tuple[str, dict[str, Any] | None]] = {}
    without: list[str] = []
    for path in synthetic:
        record = read_provenance(path) or {}
        nested = record.get("model_provenance")
        if not isinstance(nested, dict):
            without.append(Path(path).name)
            continue
        model_file = next((i.get("path") for i in record.get("inputs", []) if isinstance(i, dict)), None)
        label = f"{model_file or 'unknown'} (the model named by {Path(path).name})"
        data = nested.get("training_data")
        key = json.dumps([model_file, (data or {}).get("matrix_sha256")])
        found.setdefault(key, (label, data if isinstance(data, dict) else None))
    notes = []
    if without:
        notes.append(
            f"{', '.join(without)} name no haplogen model in their provenance, so the holdout could not be checked "
            "against their model's training data; pass --model MODEL_DIR to check it"
        )
    return list(found.values()), notes


def _synthetic_tables(
    synthetic: Sequence[str | os.PathLike], given: Sequence[str | os.PathLike | None] | None
) -> list[Path | None]:
    """The samples table of each artificial set: the one given, else its own beside it, else None."""
    if given is not None:
        if len(given) != len(synthetic):
            raise InputError(
                f"--synthetic-labels needs one samples table per synthetic set ({len(synthetic)}), found "
                f"{len(given)}; give '-' for a set without one"
            )
        tables = [None if t is None or str(t) == "-" else Path(t) for t in given]
        for table in tables:
            if table is not None and not table.is_file():
                raise InputError(f"--synthetic-labels: cannot read {table}: no such file")
        return tables
    found: list[Path | None] = []
    for path in synthetic:
        beside = _beside(path, SAMPLES_TABLE_SUFFIX)
        found.append(beside if beside.is_file() else None)
    return found


def _label_synthetic(h: Haplotypes, path: str | os.PathLike, table: Path | None) -> tuple[Haplotypes, str]:
    """``h`` labelled from its own samples table (every individual must be in it), and how it was labelled."""
    if table is None:
        return h, (
            "no samples table of its own, so the population statistic assigns its haplotypes to populations by "
            "nearest neighbours on the real set, and train-on-artificial leaves it out"
        )
    rows = read_labels(table)
    missing = [s for s in h.samples.tolist() if s not in rows]
    if missing:
        raise InputError(
            f"{table} does not list {len(missing)} of the {h.n_samples} individuals of {Path(path).name} "
            f"({_shown(missing)}): it is not the samples table of this set; generate the set again, remove "
            "the table, or name the right one with --synthetic-labels"
        )
    return h.with_labels(rows), f"populations from its own samples table {table.name}"


def _chosen_statistics(statistics: Sequence[str] | None, utility: Sequence[str]) -> list[str] | None:
    """The statistics to run: the defaults (or ``statistics``) plus the opt-in ``utility`` ones."""
    if not utility:
        return None if statistics is None else list(statistics)
    from .statistics.registry import load_statistics

    base = list(statistics) if statistics is not None else [s.name for s in load_statistics() if s.default]
    return base + [u for u in utility if u not in base]


def evaluate_files(
    real: str | os.PathLike,
    synthetic: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    holdout: str | os.PathLike | None = None,
    names: Sequence[str] | None = None,
    labels: str | os.PathLike | None = None,
    missing_labels: str = "unknown",
    synthetic_labels: Sequence[str | os.PathLike | None] | None = None,
    model: str | os.PathLike | None = None,
    legend: str | os.PathLike | None = None,
    options: Any = None,
    seed: int | None = 0,
    aats_repeats: int = 5,
    statistics: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    utility: Sequence[str] = (),
    statistic_options: Mapping[str, Mapping[str, Any]] | None = None,
    blockwise: str = "auto",
    reference: bool = True,
    scheduler: str | None = None,
    workers: int | None = None,
    memory_limit: str | None = "auto",
    threads: int | None = None,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    say: Say | None = None,
    warn: Say | None = None,
) -> tuple[Any, dict[str, Path]]:
    """Read a real set, artificial sets and a holdout, evaluate them, and write the report.

    ``out_dir`` receives ``report.html`` and ``metrics.json``, moved in together; existing
    ones are refused unless ``overwrite`` (checked before any work). When the model behind the
    artificial sets is known (``model``, or the provenance that ``haplogen generate`` writes
    into each set), a holdout that shares individuals with its training data is refused, and a
    real set that is not its training data gives a warning and a note in the report.

    Parameters
    ----------
    real
        The real haplotypes (the model's training set when a holdout is given).
    synthetic
        One or more artificial sets (each named after its file).
    out_dir
        The output folder.
    holdout
        Held-out real haplotypes, for the privacy audit.
    names
        Names of the artificial sets in the report, one per file (default: from the file names,
        ``ag.vcf.gz`` -> ``ag``).
    labels, missing_labels
        A ``sample pop super_pop`` table for the real and holdout individuals, and what to do
        with individuals absent from it (``unknown``, ``drop`` or ``error``).
    synthetic_labels
        The samples table of each artificial set, one per set (None or ``"-"`` for a set to
        leave unlabelled). When not given, a set's own table beside it (``ag.vcf.gz`` ->
        ``ag.samples.tsv``, as ``haplogen generate`` writes it for a conditional model) is used
        when it exists. A labelled set is compared population by population under its own
        labels; an unlabelled one has its haplotypes assigned to populations by a
        nearest-neighbour classifier on the real set (the population statistic) and is left out
        of train-on-artificial. The report's notes say which set was labelled how.
    model
        The model directory the artificial sets came from.
    legend
        Legend of the hapt inputs (VCF inputs have their own sites).
    options
        :class:`haplogen.io.vcf.ReadOptions` of the VCF inputs.
    seed, aats_repeats
        As in :func:`haplogen.evaluation.evaluate`.
    statistics, exclude
        Run only these statistics / leave these out (names of the registry; as in
        :func:`haplogen.evaluation.evaluate`).
    utility
        Opt-in statistics to run beside the default ones (``["imputation"]``: Beagle).
    statistic_options
        ``{statistic: {option: value}}`` (e.g. ``{"imputation": {"array_every": 10}}``).
    blockwise
        ``"on"``: compute the statistics block by block on Dask arrays, with bounded memory
        (:mod:`haplogen.blockwise`); ``"off"``: in memory; ``"auto"`` (default): block-wise when
        a set holds more than :data:`haplogen.blockwise.BLOCKWISE_MIN_CELLS` haplotypes x sites,
        or when ``scheduler`` is given.
    reference
        With a holdout, score it like a synthetic set too: the report's reference column
        (:func:`haplogen.evaluation.evaluate`).
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``) for the block-wise path;
        None starts a local cluster of ``workers`` workers (default: one per core).
    workers, memory_limit
        Workers of the local cluster and the memory of each (``"4GB"``; ``"auto"`` shares the
        machine's memory out).
    threads
        torch CPU threads (None: the process's setting, all cores unless changed); recorded.
    overwrite
        Replace an existing report.
    command
        The command line recorded in the provenance.
    say, warn
        Receive progress lines and warnings.

    Returns
    -------
    (Evaluation, dict)
        The evaluation and ``{"report": path, "metrics": path}``.
    """
    from .evaluation import evaluate
    from .models.training import set_threads
    from .report import write_outputs

    say = say or _quiet
    warn = _warner(warn)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"the output folder {out} is a file; pass a folder path with -o")
    finals = {"report": out / "report.html", "metrics": out / "metrics.json"}
    outputs = OutputSet(list(finals.values()), overwrite=overwrite,
                        hint="choose another output folder, or pass --overwrite to replace the report")
    outputs.check()
    if blockwise not in ("auto", "on", "off"):
        raise InputError(f"blockwise must be 'auto', 'on' or 'off', found {blockwise!r}")
    if blockwise == "off" and scheduler is not None:
        raise InputError("a Dask scheduler was given with the block-wise path switched off; drop --scheduler "
                         "or --blockwise off")
    if not synthetic:
        raise InputError("no synthetic set was given; pass at least one set of artificial haplotypes")
    if names is not None and (len(names) != len(synthetic) or len(set(names)) != len(names)):
        raise InputError(f"expected {len(synthetic)} distinct names for the synthetic sets, found {list(names)}")
    tables = _synthetic_tables(synthetic, synthetic_labels)
    records, notes = _training_records(model, synthetic)
    if threads is not None:
        n_threads = set_threads(threads)
    else:  # leave the process's setting as it is (a notebook may have chosen one)
        import torch

        n_threads = torch.get_num_threads()

    label_table = read_labels(labels) if labels is not None else None
    real_h = _read(real, what="real set", legend=legend, options=options, labels=labels,
                   missing_labels=missing_labels, say=say, warn=warn)
    holdout_h = None
    if holdout is not None:
        holdout_h = _read(holdout, what="holdout set", legend=legend, options=options, labels=labels,
                          missing_labels=missing_labels, say=say, warn=warn)
    for label, data in records:
        for message in check_training_data(
            data, model=label, real=real_h, holdout=holdout_h,
            real_name=f"--real {real}", holdout_name=f"--holdout {holdout}",
        ):
            warn(message)
            notes.append(message[0].upper() + message[1:] + ".")
    if holdout_h is None:
        notes = [n for n in notes if "name no haplogen model" not in n]
    taken: set[str] = {"real"}
    sets: dict[str, Haplotypes] = {}
    for k, path in enumerate(synthetic):
        name = names[k] if names is not None else _set_name(path, taken)
        sets[name] = _read(path, what="synthetic set", legend=legend, options=options,
                                             say=say, warn=warn)
        sets[name], how = _label_synthetic(sets[name], path, tables[k])
        if labels is not None:
            notes.append(f"{name}: {how}.")
    # the readers already checksummed the haplotype files: reuse their records
    read_sets = [real_h, *sets.values(), *([holdout_h] if holdout_h is not None else [])]
    inputs = [source_record(h) for h in read_sets] + ([input_record(labels)] if labels is not None else [])
    inputs += [input_record(t) for t in tables if t is not None]
    # the models behind the sets, for the held-out likelihood (which needs a holdout)
    behind: dict[str, Any] = {"models": {}, "notes": [], "inputs": []}
    if holdout_h is not None:
        from .scoring import evaluation_models

        behind = evaluation_models(model, {n: synthetic[k] for k, n in enumerate(sets)}, real_h.sites)
        notes.extend(behind["notes"])
        inputs += behind["inputs"]
    from .blockwise import BLOCKWISE_MIN_CELLS, open_blockwise

    largest = max(h.n_haplotypes * h.n_sites for h in read_sets)
    use_blockwise = blockwise == "on" or (blockwise == "auto" and (scheduler is not None
                                                                    or largest > BLOCKWISE_MIN_CELLS))
    with contextlib.ExitStack() as stack:
        engine = None
        if use_blockwise:
            engine = stack.enter_context(open_blockwise(scheduler, n_workers=workers, memory_limit=memory_limit))
            say(f"statistics block by block on {engine.description}")
        ev = evaluate(
            real_h,
            sets,
            models=behind["models"],
            holdout=holdout_h,
            labels=label_table,
            seed=seed,
            aats_repeats=aats_repeats,
            statistics=_chosen_statistics(statistics, utility),
            exclude=list(exclude),
            options=dict(statistic_options or {}),
            progress=say,
            inputs=[i for i in inputs if i is not None],
            command=command,
            blockwise=engine,
            reference=reference,
        )
    if engine is not None:
        notes.append(f"Statistics computed block by block on Dask arrays ({engine.description}).")
    ev.provenance.setdefault("parameters", {})["threads"] = n_threads
    ev.notes.extend(notes)
    with outputs:
        write_outputs(ev, outputs.path(finals["report"]).parent)
    return ev, finals


# ---------------------------------------------------------------------------- score
def score_file(
    model_dir: str | os.PathLike,
    data: str | os.PathLike,
    output: str | os.PathLike,
    *,
    labels: str | os.PathLike | None = None,
    missing_labels: str = "error",
    legend: str | os.PathLike | None = None,
    options: Any = None,
    batch_size: int = 1024,
    threads: int | None = None,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    say: Say | None = None,
    warn: Say | None = None,
) -> dict[str, Any]:
    """Write the log-likelihood of every haplotype of ``data`` under a trained model (``haplogen score``).

    The output is refused when it exists (unless ``overwrite``) and the model when its family
    has no tractable likelihood, before the data are read; the data's sites must be the
    model's. The table (:func:`haplogen.scoring.write_scores`) is written atomically.

    Parameters
    ----------
    model_dir
        A model directory written by :func:`train` (or its ``model.pt``).
    data
        VCF/BCF or hapt file of the haplotypes to score.
    output
        The scores table (``.tsv``).
    labels, missing_labels
        A ``sample pop super_pop`` table: score ``log p(x | population)`` with each
        individual's population (a conditional model trained with labels) instead of the
        marginal ``log p(x)``; what to do with individuals absent from it.
    legend, options
        How to read ``data`` (:func:`read_input`).
    batch_size
        Haplotypes scored at once.
    threads
        torch CPU threads (recorded); None leaves the process's setting as it is (torch's
        default: every core, which crawls beside another job using them).
    overwrite
        Replace an existing table.
    command
        The command line recorded in the provenance.
    say, warn
        Receive progress lines and warnings.

    Returns
    -------
    dict
        ``log_likelihood`` (ndarray of float64, shape (n_haplotypes,), nats), ``mean_nats``
        (per haplotype), ``bits_per_snp``, ``likelihood`` (``"marginal"`` or
        ``"conditional"``), ``description``, ``haplotypes`` (shape (n_haplotypes, n_sites)),
        ``output`` (path) and ``provenance``.
    """
    from .metrics.compression import bits_per_snp
    from .models.training import set_threads
    from .scoring import check_scorable, check_sites, likelihood_description, score_haplotypes, write_scores

    say = say or _quiet
    outputs = OutputSet([output], overwrite=overwrite)
    outputs.check()
    model, sites, model_provenance = load_trained(model_dir)
    conditional = labels is not None
    check_scorable(model, conditional=conditional, model_name=str(model_dir))
    h = _read(data, what="data", legend=legend, options=options, labels=labels,
              missing_labels=missing_labels, say=say, warn=warn)
    check_sites(sites, h.sites, data_name=str(data), model_name=str(model_dir))
    if threads is not None:
        n_threads = set_threads(threads)
    else:  # leave the process's setting as it is (a notebook may have chosen one)
        import torch

        n_threads = torch.get_num_threads()
    ll = score_haplotypes(model, h, conditional=conditional, batch_size=batch_size)
    mean = float(ll.mean()) if ll.size else float("nan")
    bits = bits_per_snp(mean, h.n_sites)
    description = likelihood_description(model, conditional=conditional, labels=labels)
    source = source_record(h)
    record = make_record(
        parameters={"model": model.name, "likelihood": "conditional" if conditional else "marginal",
                    "n_haplotypes": h.n_haplotypes, "n_sites": h.n_sites, "batch_size": batch_size,
                    "threads": n_threads, "mean_log_likelihood_nats": mean, "bits_per_snp": bits},
        seed=None,
        inputs=[model_provenance["model_file"], *([source] if source else []),
                *([input_record(labels)] if labels is not None else [])],
        command=command,
    )
    with outputs:
        write_scores(outputs.path(output), h, ll, description=description, provenance=record)
    say(f"wrote {output}")
    return {"log_likelihood": ll, "mean_nats": mean, "bits_per_snp": bits,
            "likelihood": record["parameters"]["likelihood"], "description": description,
            "haplotypes": h, "output": Path(output), "provenance": record}
