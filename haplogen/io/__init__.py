"""Reading and writing haplotypes: VCF/BCF (through cyvcf2 and pysam), the paper's hapt format,
and the chunked VCF Zarr store (through bio2zarr and zarr).

:func:`read_haplotypes` and :func:`write_haplotypes` pick the format; :func:`read_vcf`,
:func:`write_vcf`, :func:`read_hapt`, :func:`write_hapt` and :func:`read_store` are the
format-specific functions; :func:`import_vcf` converts a VCF into a store and
:class:`StoreHaplotypes` reads one block by block.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..haplotypes import Haplotypes
from .hapt import read_hapt, read_legend, write_hapt, write_legend
from .store import STORE_SUFFIXES, StoreHaplotypes, _check_store, import_vcf, is_store, read_store
from .vcf import ReadOptions, ReadSummary, _check_readable, read_vcf, write_vcf

__all__ = [
    "ReadOptions",
    "ReadSummary",
    "read_vcf",
    "write_vcf",
    "read_hapt",
    "write_hapt",
    "read_legend",
    "write_legend",
    "read_haplotypes",
    "read_store",
    "import_vcf",
    "is_store",
    "StoreHaplotypes",
    "STORE_SUFFIXES",
    "write_haplotypes",
    "detect_format",
    "check_output_path",
    "legend_path_for",
    "output_files",
]

_VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")
_HAPT_SUFFIXES = (".hapt", ".hapt.gz")


def _head(p: Path, n: int = 4096) -> bytes:
    """First ``n`` bytes of the file, decompressed when it is gzip/bgzip ('' when unreadable)."""
    with open(p, "rb") as handle:
        raw = handle.read(65536)
    if raw[:2] != b"\x1f\x8b":
        return raw[:n]
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, n)
    except zlib.error:
        return b""


def _looks_like_hapt(head: bytes) -> bool:
    line = head.split(b"\n", 1)[0]
    fields = line.split()
    return len(fields) >= 3 and all(f in (b"0", b"1") for f in fields[2:])


def detect_format(path: str | os.PathLike) -> str:
    """Format of a haplotype input, ``"vcf"`` (VCF or BCF), ``"hapt"`` or ``"vcz"`` (a store).

    A directory is a VCF Zarr store (``haplogen import``) or refused. For a file the content
    decides (a ``##fileformat=VCF`` header, BCF magic bytes, or a first line made of a tag, an
    id and 0/1 fields); the extension (.vcf, .vcf.gz, .bcf, .hapt, .hapt.gz) decides when the
    content is empty or unrecognisable, so that the reader of that format reports the problem.

    Raises
    ------
    InputError
        When the file cannot be read, a directory is not a store, or neither the content nor
        the extension says.
    """
    if Path(path).is_dir():
        _check_store(path)
        return "vcz"
    p = _check_readable(path)
    head = _head(p)
    if head.startswith(b"##fileformat=VCF") or head.startswith(b"BCF\x02") or head.startswith(b"BCF\x04"):
        return "vcf"
    if _looks_like_hapt(head):
        return "hapt"
    name = p.name.lower()
    if name.endswith(_VCF_SUFFIXES):
        return "vcf"
    if name.endswith(_HAPT_SUFFIXES):
        return "hapt"
    shown = head[:40].decode("ascii", errors="replace").split("\n")[0]
    found = f"content starting {shown!r}" if shown.isprintable() and shown else "unrecognised content"
    raise InputError(
        f"{p.name}: expected a VCF/BCF or a hapt file, found {found}; give a .vcf, .vcf.gz, "
        ".bcf, .hapt or .hapt.gz file, or a .vcz store (haplogen import)"
    )


def read_haplotypes(
    path: str | os.PathLike,
    *,
    legend: str | os.PathLike | None = None,
    options: ReadOptions | None = None,
    stream: bool = False,
) -> Haplotypes:
    """Read haplotypes from a VCF/BCF, a hapt file or a store (format from :func:`detect_format`).

    Parameters
    ----------
    path
        The file, or the store directory (read whole: :func:`read_store`).
    legend
        Legend of a hapt file (see :func:`read_hapt`); an error for a VCF or a store.
    options
        :class:`ReadOptions` of a VCF or a store; an error for a hapt file.
    stream
        For a store: return :class:`haplogen.io.streamed.StreamedHaplotypes`, whose rows are
        read on demand, instead of reading the matrix (other formats are read whole).

    Returns
    -------
    Haplotypes
        matrix of shape (n_haplotypes, n_sites).
    """
    fmt = detect_format(path)
    if fmt == "vcz":
        if legend is not None:
            raise InputError(
                f"{Path(path).name} is a VCF Zarr store, which has its own sites; a legend belongs with "
                "a hapt file only: leave out the legend"
            )
        if stream:
            from .store import StoreHaplotypes
            from .streamed import streamed_from_store

            return streamed_from_store(StoreHaplotypes.open(path, options))
        return read_store(path, options)
    if fmt == "vcf":
        if legend is not None:
            raise InputError(
                f"{Path(path).name} is a VCF/BCF, which has its own sites; a legend belongs with "
                "a hapt file only: leave out the legend"
            )
        return read_vcf(path, options)
    if options is not None and options != ReadOptions():
        raise InputError(
            f"{Path(path).name} is a hapt file; the VCF reading options (--multiallelic, "
            "--missing, ...) do not apply to it: leave them out"
        )
    return read_hapt(path, legend=legend)


def write_haplotypes(
    h: Haplotypes,
    path: str | os.PathLike,
    *,
    format: str | None = None,
    provenance: dict[str, Any] | None = None,
    legend_path: str | os.PathLike | None = None,
) -> None:
    """Write haplotypes as VCF (bgzipped, indexed) or hapt.

    Parameters
    ----------
    h
        Haplotypes, matrix of shape (n_haplotypes, n_sites).
    path
        Output path.
    format
        ``"vcf"`` or ``"hapt"``; None takes it from the extension (``.vcf.gz``/``.vcf`` -> vcf,
        ``.hapt``/``.hapt.gz`` -> hapt).
    provenance
        Provenance record (VCF header lines, or a ``.provenance.json`` sidecar for hapt).
    legend_path
        Legend to write beside a hapt file; an error for VCF.
    """
    format = check_output_path(path, format)
    if format == "vcf" and legend_path is not None:
        raise InputError("a legend is written with hapt output only; leave out the legend")
    if format == "vcf":
        write_vcf(h, path, provenance=provenance)
    else:
        write_hapt(h, path, legend_path=legend_path, provenance=provenance)


def _format_of_name(name: str) -> str | None:
    """The format a file name announces by its extension, None when it announces none."""
    name = name.lower()
    if name.endswith((".vcf.gz", ".vcf.bgz", ".vcf", ".bcf")):
        return "vcf"
    if name.endswith(_HAPT_SUFFIXES):
        return "hapt"
    return None


def check_output_path(path: str | os.PathLike, format: str | None = None) -> str:
    """Check that ``path`` suits an output of ``format`` and return the format.

    Called before long work (sampling, simulation), so that a wrong name fails at once.
    ``format`` None takes it from the extension (``.vcf.gz`` -> vcf, ``.hapt``/``.hapt.gz`` -> hapt).
    A format that contradicts the extension (``format="hapt"`` with ``x.vcf.gz``) is refused: the
    file would be misread by every tool that trusts the name.

    Raises
    ------
    InputError
        When the format cannot be told, contradicts the name, or the name is a folder or a
        plain ``.vcf`` (haplogen writes VCF bgzipped).
    """
    shown = Path(path).name
    name = shown.lower()
    announced = _format_of_name(name)
    if format is None:
        if announced is None:
            raise InputError(
                f"cannot tell the output format from the name {shown}; use a name "
                "ending in .vcf.gz or .hapt(.gz), or give the format (vcf or hapt)"
            )
        format = announced
    if format not in ("vcf", "hapt"):
        raise InputError(f"the output format must be vcf or hapt, found {format!r}")
    if announced is not None and announced != format:
        stem = _strip_extension(shown)
        better = f"{stem}.hapt.gz" if format == "hapt" else f"{stem}.vcf.gz"
        raise InputError(
            f"the output name {shown} says {announced.upper()} but the format asked for is {format}; "
            f"name it {better}, or leave out --format to write {announced.upper()}"
        )
    if format == "vcf" and name.endswith(".bcf"):
        raise InputError(f"haplogen writes VCF, not BCF: name it {_strip_extension(shown)}.vcf.gz instead of {shown}")
    if format == "vcf" and name.endswith(".vcf"):
        raise InputError(f"VCF output is bgzipped: name it {shown}.gz instead of {shown}")
    if format == "vcf" and announced is None:
        raise InputError(f"VCF output is a bgzipped VCF: name it {shown}.vcf.gz (or end the name in .vcf.gz)")
    if Path(path).is_dir():
        raise InputError(f"the output {path} is a directory; give a file name")
    return format


def _strip_extension(name: str) -> str:
    for ext in (".gz", ".bgz", ".vcf", ".bcf", ".hapt"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return name


def legend_path_for(path: str | os.PathLike) -> Path:
    """The legend written beside a hapt output: ``x.hapt.gz`` -> ``x.legend``."""
    p = Path(path)
    base = p.name[:-3] if p.name.endswith(".gz") else p.name
    base = base[:-5] if base.endswith(".hapt") else base
    return p.with_name(base + ".legend")


def output_files(path: str | os.PathLike, format: str | None = None) -> dict[str, Path]:
    """Every file that writing haplotypes to ``path`` makes, by role.

    Returns
    -------
    dict
        ``{"data": path}`` plus ``"index"`` (``.tbi``) for VCF, or ``"legend"`` and
        ``"provenance"`` (``.provenance.json``) for hapt.
    """
    format = check_output_path(path, format)
    p = Path(path)
    if format == "vcf":
        return {"data": p, "index": Path(str(p) + ".tbi")}
    return {"data": p, "legend": legend_path_for(p), "provenance": Path(str(p) + ".provenance.json")}
