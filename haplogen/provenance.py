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
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

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
        The command line; defaults to ``sys.argv``.
    """
    records = [dict(i) if isinstance(i, dict) else input_record(i) for i in inputs]
    return {
        "schema": SCHEMA,
        "software": software_versions(),
        "command": list(sys.argv if command is None else command),
        "parameters": _jsonable(parameters),
        "seed": seed,
        "inputs": records,
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
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


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only on success.

    A crash or an exception inside the block removes the temporary file, so that a
    half-written output never appears under the final name.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
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
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(data), indent=2, sort_keys=False) + "\n")
