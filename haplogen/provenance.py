"""Provenance: what made an output.

Every file that haplogen writes records the software version, the command line, the
parameters, the random seed and the checksums of its inputs, so that the output can be
rebuilt from its record (``haplogen`` re-run with the same command, seed and inputs gives
the same file). The record is a plain JSON-serialisable dict::

    {
      "schema": "haplogen.provenance/1",
      "software": {"haplogen": "0.1.0", "python": "3.11.7", "numpy": "...", ...},
      "command": ["haplogen", "train", ...],
      "parameters": {...},
      "seed": 1234,
      "inputs": [{"path": "...", "sha256": "...", "bytes": 123}],
      "timestamp": "2026-11-21T01:02:03+00:00",
      "platform": "Linux-...-x86_64"
    }

The timestamp (and the ``##fileDate`` of a VCF) is the time of the run, or the time given by
the ``SOURCE_DATE_EPOCH`` environment variable (seconds since 1970, the reproducible-builds
convention) when it is set: re-running the command of a record with the record's seed and
``SOURCE_DATE_EPOCH`` gives the same bytes.

Writing outputs safely also lives here, because a record is only worth something when the file
it describes is whole: :func:`atomic_path` writes one file through a temporary beside it, and
:class:`OutputSet` writes files that belong together (a VCF and its index, a split's three
files) into a temporary folder and moves them in together, refusing to replace an existing
output unless asked to. No temporary file outlives the run that made it: a run killed with
``kill -9`` leaves its temporary behind, and the next write into the same folder removes it
(temporaries carry the id of the process that made them, and only those of dead processes
are removed).
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import hashlib
import json
import os
import platform
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

__all__ = [
    "SCHEMA",
    "resolve_seed",
    "file_checksum",
    "input_record",
    "software_versions",
    "make_record",
    "atomic_path",
    "write_json_atomic",
    "now",
    "matrix_checksum",
    "OutputSet",
    "read_provenance",
]

SCHEMA = "haplogen.provenance/1"


def resolve_seed(seed: int | None) -> int:
    """Return ``seed``, or draw a fresh one from the operating system when it is None.

    The drawn seed must then be written into the provenance of every output so that the run
    can be repeated exactly.
    """
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**31 - 1))
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, found {seed}")
    return seed


def file_checksum(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def matrix_checksum(matrix: Any, labels: Sequence[str] | None = None) -> str:
    """sha256 of a haplotype matrix's shape and bytes (and of its labels when given).

    Parameters
    ----------
    matrix : ndarray, shape (n_haplotypes, n_sites), or rows streamed from a store
        0/1 alleles (taken as uint8). An object with ``iter_rows()`` (a
        :class:`haplogen.io.streamed.StoreRows`) is read in one pass of row blocks, never whole.
    labels : sequence of str, optional
        One label per haplotype, hashed after the alleles.

    Returns
    -------
    str
        Hex digest; two matrices have the same checksum exactly when they have the same shape
        and the same alleles in the same order, whatever file they were read from.
    """
    if hasattr(matrix, "iter_rows"):
        shape = tuple(matrix.shape)
        blocks: Iterable[np.ndarray] = (block for _, _, block in matrix.iter_rows())
    else:
        x = np.ascontiguousarray(matrix, dtype=np.uint8)
        if x.ndim != 2:
            raise ValueError(f"expected a 2-D haplotype matrix, found shape {x.shape}")
        shape, blocks = x.shape, (x,)
    digest = hashlib.sha256(f"{shape[0]}x{shape[1]}".encode())
    for block in blocks:
        digest.update(np.ascontiguousarray(block, dtype=np.uint8).tobytes())
    if labels is not None:
        digest.update(b"\0labels\0" + "\0".join(str(v) for v in labels).encode())
    return digest.hexdigest()


def now() -> datetime.datetime:
    """The time recorded in outputs: now (UTC), or ``SOURCE_DATE_EPOCH`` when it is set.

    Raises
    ------
    ValueError
        When ``SOURCE_DATE_EPOCH`` is set but is not a non-negative integer.
    """
    fixed = os.environ.get("SOURCE_DATE_EPOCH")
    if fixed:
        if not fixed.strip().isdigit():
            raise ValueError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, found {fixed!r}")
        return datetime.datetime.fromtimestamp(int(fixed), datetime.timezone.utc)
    return datetime.datetime.now(datetime.timezone.utc)


def input_record(path: str | os.PathLike) -> dict[str, Any]:
    """Provenance entry of one input file: its path, size and sha256."""
    p = Path(path)
    return {"path": str(p), "sha256": file_checksum(p), "bytes": p.stat().st_size}


def software_versions() -> dict[str, str]:
    """Versions of haplogen, Python and the libraries that shape its outputs."""
    from . import __version__

    versions = {"haplogen": __version__, "python": platform.python_version()}
    for name in ("numpy", "scipy", "torch", "cyvcf2", "pysam", "msprime", "stdpopsim", "sklearn"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = str(getattr(module, "__version__", "unknown"))
    return versions


def make_record(
    *,
    parameters: dict[str, Any],
    seed: int | None,
    inputs: Sequence[str | os.PathLike | dict[str, Any]] = (),
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Build the provenance record of an output.

    Parameters
    ----------
    parameters
        The options that shaped the output (JSON-serialisable).
    seed
        The resolved random seed (None only for deterministic outputs).
    inputs
        Paths of input files (checksummed here) or records already made by
        :func:`input_record`.
    command
        The command line. The command line interface passes ``["haplogen", *argv]``, the
        arguments that :func:`haplogen.cli.main` was given; None records ``sys.argv`` (the
        program that called the API).
    """
    records = [dict(i) if isinstance(i, dict) else input_record(i) for i in inputs]
    return {
        "schema": SCHEMA,
        "software": software_versions(),
        "command": list(sys.argv if command is None else command),
        "parameters": _jsonable(parameters),
        "seed": seed,
        "inputs": records,
        "timestamp": now().isoformat(timespec="seconds"),
        "platform": platform.platform(),
    }


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars, paths and tuples so that ``json.dumps`` accepts them."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _remove_stale(folder: Path, pattern: re.Pattern[str]) -> None:
    """Remove the entries of ``folder`` whose name matches ``pattern`` (group ``pid``) and
    whose process is gone: the temporaries of runs killed before they could clean up."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or _pid_alive(int(match.group("pid"))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def _disk_full(folder: Path) -> bool:
    """Whether the file system of ``folder`` has (almost) no room left."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    blocks = st.f_bfree if os.geteuid() == 0 else st.f_bavail
    return blocks * st.f_frsize < (1 << 20)


def _write_error(exc: BaseException, path: Path, probe: Path) -> BaseException:
    """The OSError to raise for a failed write of ``path``: with the file's name, and with
    ENOSPC when a library reported a bare failure ("Error closing BGZFile object") on a full
    disk (checked on ``probe``, the folder written to, before the partial file is removed)."""
    if isinstance(exc, RuntimeError) and "fail" in str(exc) and "writ" in str(exc) and _disk_full(probe):
        # torch.save reports a full disk as "PytorchStreamWriter failed writing file ..."
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    if not isinstance(exc, OSError):
        return exc
    if exc.errno is None and _disk_full(probe):
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    if exc.errno is not None and exc.filename is None:
        return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))
    return exc


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only on success.

    A crash or an exception inside the block removes the temporary file, so that a
    half-written output never appears under the final name. The temporary is named
    ``.NAME.PID.XXXX.part``; those of processes that no longer exist (killed with ``kill -9``)
    are removed on the next write of the same name.

    Raises
    ------
    OSError
        When writing fails; it names ``path`` (not the temporary), and a full disk is reported
        as ENOSPC even when the writing library hid the reason.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    _remove_stale(final.parent, re.compile(re.escape(f".{final.name}.") + r"(?P<pid>\d+)\.[^.]+\.part"))
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.{pid}.", suffix=".part", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates the file readable by its owner only; give the output the permissions
    # that an ordinary open() would (0666 less the umask), so that collaborators can read it.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException as exc:
        reported = _write_error(exc, final, final.parent)
        tmp_path.unlink(missing_ok=True)
        if reported is not exc:
            raise reported from exc
        raise


#: name of a staging folder of :class:`OutputSet`: ``.haplogen-tmp-PID-XXXX``
_STAGING = re.compile(r"\.haplogen-tmp-(?P<pid>\d+)-[A-Za-z0-9_]+")


class OutputSet:
    """Files that belong together, written to a temporary place and moved in as a whole.

    Each output is written under :meth:`path` (a file of the same name in a temporary folder
    beside its final folder); when the block ends without an error, every file of the
    temporary folders, including side files that the writers made themselves (a ``.tbi``
    index, a legend, a ``.provenance.json``), is moved to its final folder, and the temporary
    folders are removed. After an error nothing is moved and nothing is left behind.

    An existing output is refused (:class:`~haplogen.errors.InputError`) unless
    ``overwrite``, both when the block starts (before any long work) and again when the files
    are moved in, under a lock on the folder, so that of two runs writing the same output at
    the same time one wins whole and the other is refused whole.

    Parameters
    ----------
    paths
        Final paths of the outputs that must not be replaced silently.
    overwrite
        Replace existing outputs.
    remove
        Files to delete when the outputs are moved in (the outputs of an earlier run that the
        new ones replace under other names, such as a split written in the other format).
    hint
        How to avoid the refusal, appended to its message.
    folders
        Outputs among ``paths`` that are folders (a VCF Zarr store): accepted as folders, and
        an old one is replaced whole (under ``overwrite``) when the new one moves in.

    Examples
    --------
    >>> with OutputSet([out / "train.vcf.gz", out / "split.tsv"]) as outputs:  # doctest: +SKIP
    ...     write_vcf(train, outputs.path(out / "train.vcf.gz"))
    ...     write_split(split, outputs.path(out / "split.tsv"))
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike],
        *,
        overwrite: bool = False,
        remove: Sequence[str | os.PathLike] = (),
        hint: str = "choose another output name, or pass --overwrite to replace it",
        folders: Sequence[str | os.PathLike] = (),
    ) -> None:
        self.finals = [Path(p) for p in paths]
        self.folders = {Path(p) for p in folders}
        self.overwrite = bool(overwrite)
        self.remove = [Path(p) for p in remove]
        self.hint = hint
        self._stages: dict[Path, Path] = {}  # final folder -> its temporary folder
        self._current: Path | None = None  # the output asked for last: the one being written
        self._checked = False  # check() passed once: an output that appears later is another run's

    def check(self) -> None:
        """Refuse an output that is a folder, or that exists when ``overwrite`` is False."""
        from .errors import InputError

        for final in self.finals:
            if final.is_dir() and final not in self.folders:
                raise InputError(f"the output {final} is a folder; give a file name")
            if final in self.folders and final.exists() and not final.is_dir():
                raise InputError(f"the output {final} is a file, not a folder; give another name")
            for parent in final.parents:
                if parent.exists():
                    if not parent.is_dir():
                        raise InputError(f"cannot write {final}: {parent} is a file, not a folder")
                    break
        if not self.overwrite:
            existing = [f for f in self.finals if f.exists() or f.is_symlink()]
            if existing and self._checked:
                raise InputError(self._taken_message(existing[0]))
            if existing:
                more = f" (and {len(existing) - 1} more of its outputs)" if len(existing) > 1 else ""
                raise InputError(f"{existing[0]} already exists{more}; {self.hint}")
        self._checked = True

    @staticmethod
    def _taken_message(path: Path) -> str:
        return (
            f"{path} was written by another run while this one was working; "
            "this run's outputs were discarded, the other run's are kept whole"
        )

    def __enter__(self) -> "OutputSet":
        self.check()
        try:
            for final in self.finals:
                folder = final.parent
                if folder in self._stages:
                    continue
                anchor = folder
                while not anchor.exists():  # the folder is made only when the outputs move in
                    anchor = anchor.parent
                _remove_stale(anchor, _STAGING)
                self._stages[folder] = Path(
                    tempfile.mkdtemp(prefix=f".haplogen-tmp-{os.getpid()}-", dir=anchor)
                )
        except BaseException:
            self._clean()
            raise
        return self

    def path(self, final: str | os.PathLike) -> Path:
        """Where to write the output ``final`` (or a side file in the folder of an output)."""
        final = Path(final)
        stage = self._stages.get(final.parent)
        if stage is None:
            raise ValueError(f"{final} is not in the folder of any output of this set")
        self._current = final
        return stage / final.name

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        from .errors import HaplogenError

        try:
            if exc is None:
                self._publish()
            elif isinstance(exc, OSError):
                raise self._output_error(exc) from exc
            elif isinstance(exc, HaplogenError) and any(str(s) in str(exc) for s in self._stages.values()):
                # a writer's message names the temporary folder: name the output instead
                text = str(exc)
                for folder, stage in self._stages.items():
                    text = text.replace(str(stage), str(folder))
                try:
                    renamed = type(exc)(text)
                except TypeError:  # an error type with other arguments: keep it as it is
                    renamed = None
                if renamed is not None:
                    raise renamed from exc
        except OSError as error:
            raise self._output_error(error) from error
        finally:
            self._clean()
        return False

    # ------------------------------------------------------------------ internals
    def _final_name(self, name: str | os.PathLike | None) -> str | None:
        """The final path of a temporary path (messages name the output, not the temporary)."""
        if name is None:
            return None
        text = os.fspath(name)
        for folder, stage in self._stages.items():
            prefix = str(stage) + os.sep
            if text.startswith(prefix):
                rest = text[len(prefix):]
                # a writer's own temporary (.NAME.PID.XXXX.part) is reported as NAME
                match = re.fullmatch(r"\.(.+)\.\d+\.[^.]+\.part", rest)
                return str(folder / (match.group(1) if match else rest))
        return text

    def _output_error(self, exc: OSError) -> BaseException:
        from .errors import OutputError

        if isinstance(exc, OutputError):
            return exc
        name = self._final_name(exc.filename)
        if name is None:  # a writer that did not say which file: the one it was given last
            name = str(self._current) if self._current is not None else ", ".join(str(f) for f in self.finals)
        if exc.errno is None and any(_disk_full(s.parent) for s in self._stages.values()):
            reason = os.strerror(errno.ENOSPC)
        else:
            reason = exc.strerror or str(exc)
        return OutputError(f"cannot write {name}: {reason}; nothing was written")

    def _publish(self) -> None:
        from .errors import InputError

        with contextlib.ExitStack() as stack:
            for folder in sorted(self._stages):
                folder.mkdir(parents=True, exist_ok=True)
                stack.enter_context(_folder_lock(folder))
            if not self.overwrite:
                taken = [f for f in self.finals if f.exists() or f.is_symlink()]
                if taken:
                    raise InputError(self._taken_message(taken[0]))
            for old in self.remove:
                if old.is_file() or old.is_symlink():
                    old.unlink()
            for folder, stage in self._stages.items():
                for item in sorted(stage.iterdir(), key=lambda p: p.name):
                    if item.name.endswith(".part"):
                        continue  # a writer's temporary that was not moved: never an output
                    target = folder / item.name
                    if item.is_dir() and target in self.folders and target.is_dir():
                        # a folder output replaced under overwrite: the old one goes to the stage,
                        # removed with it
                        os.replace(target, stage / f".{item.name}.old.part")
                    os.replace(item, target)

    def _clean(self) -> None:
        for stage in self._stages.values():
            shutil.rmtree(stage, ignore_errors=True)
        self._stages.clear()


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on a folder while outputs move into it (released on exit, and
    by the system when the process dies). Where folders cannot be locked, no lock is held."""
    try:
        import fcntl

        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_provenance(path: str | os.PathLike) -> dict[str, Any] | None:
    """The provenance record of a file written by haplogen, or None when it has none.

    A VCF/BCF keeps it in its ``##haplogen_provenance`` header line, a hapt file in
    ``PATH.provenance.json`` beside it, a model directory in ``provenance.json``.

    Raises
    ------
    InputError
        When the record is there but is not valid JSON.
    """
    from .errors import InputError

    p = Path(path)
    if p.is_dir():
        sidecar = p / "provenance.json"
    else:
        sidecar = Path(str(p) + ".provenance.json")
    if sidecar.is_file():
        text, where = sidecar.read_text(), str(sidecar)
    elif p.is_file():
        from .io import detect_format

        if detect_format(p) != "vcf":
            return None
        import cyvcf2

        text, where = None, str(p)
        try:
            reader = cyvcf2.VCF(str(p), lazy=True)
        except OSError:
            return None
        try:
            for line in reader.raw_header.splitlines():
                if line.startswith("##haplogen_provenance="):
                    text = line.split("=", 1)[1]
        finally:
            reader.close()
        if text is None:
            return None
    else:
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: the haplogen provenance record is not valid JSON ({exc.msg}); "
                         "the file was changed after haplogen wrote it") from None
    return record if isinstance(record, dict) else None


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(data), indent=2, sort_keys=False) + "\n")
