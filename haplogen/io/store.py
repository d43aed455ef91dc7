"""The chunked on-disk store: VCF Zarr, written by bio2zarr, read block by block.

A chromosome does not fit in one dense matrix: 10^6 SNPs x 10^5 haplotypes is 100 GB as
uint8. ``haplogen import data.vcf.gz -o data.vcz`` converts a VCF or BCF into the VCF Zarr
format (the layout of sgkit and bio2zarr: ``call_genotype`` of shape
``(variants, samples, ploidy)``, chunked by variants and samples), reading the VCF in chunks
and never whole. Every command that reads haplotypes then takes the store as it takes a VCF.

The store keeps every record of the VCF, unusual ones included; :class:`ReadOptions` decide,
when the store is opened, which records become sites, by the rules of
:mod:`haplogen.io.vcf` in the same order and with the same messages (multiallelic, non-SNP,
missing, unphased, haploid, duplicate, unsorted, monomorphic, ``--pass-only``, ``--region``,
``--samples``). Opening reads the per-variant columns only (positions, alleles, filters) and,
for the genotype rules, a per-variant table of counts that ``import`` computes once
(``variant_haplogen_counts``); a store made by another tool, or a ``--samples`` subset, has
those counts computed by one pass over the genotypes in chunks. :class:`StoreHaplotypes` then
hands out blocks of sites (:meth:`StoreHaplotypes.block`), haplotypes by row
(:meth:`StoreHaplotypes.rows`) or a Dask array (:meth:`StoreHaplotypes.to_dask`), reading
only the zarr chunks each needs; :meth:`StoreHaplotypes.load` gives the in-memory
:class:`~haplogen.haplotypes.Haplotypes` of small inputs.

Haplotype rows come in the order of the VCF reader: individual ``i`` gives rows ``2i`` and
``2i + 1`` (``S_A``, ``S_B``), a sample read with ``--haploid as-haplotype`` one row ``S``.

One difference from the VCF reader: bio2zarr stores a record without a GT field as missing
calls, so such a record falls under ``--missing`` instead of being refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from ..errors import InputError
from ..haplotypes import Haplotypes, Sites
from .vcf import _REASONS, ReadOptions, ReadSummary, _classify_non_snp, _gt_text, _NON_SNP_TEXT

if TYPE_CHECKING:  # pragma: no cover
    import dask.array

__all__ = ["STORE_SUFFIXES", "is_store", "import_vcf", "StoreHaplotypes", "read_store", "store_checksum"]

#: names a store may end in (``data.vcz`` is the convention of bio2zarr and sgkit)
STORE_SUFFIXES = (".vcz", ".zarr")

#: the per-variant counts that import writes into the store, one column each (see _scan_counts)
COUNTS_ARRAY = "variant_haplogen_counts"
COUNTS_COLUMNS = ("missing", "haploid", "unphased", "max_allele", "high_ploidy", "alt")
#: attribute of the store's root group holding haplogen's import record
ATTRS_KEY = "haplogen"

#: records scanned for phasing before a conversion starts (a wholly unphased file is refused)
_PRESCAN_RECORDS = 1000


# ----------------------------------------------------------------------------- what a store is


def _array_meta(folder: Path) -> bool:
    return (folder / ".zarray").is_file() or (folder / "zarr.json").is_file()


def is_store(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a directory holding a VCF Zarr store (it has ``call_genotype``).

    Parameters
    ----------
    path
        Any path; a file, a missing path or another directory gives False.
    """
    p = Path(path)
    return p.is_dir() and _array_meta(p / "call_genotype")


def _looks_like_store(p: Path) -> bool:
    """A directory that is a zarr group (a store without genotypes, or one being written)."""
    return p.is_dir() and ((p / ".zgroup").is_file() or (p / "zarr.json").is_file())


def _check_store(path: str | os.PathLike) -> Path:
    p = Path(path)
    if is_store(p):
        return p
    if not p.exists():
        raise InputError(f"cannot read {p}: No such file or directory")
    if _looks_like_store(p):
        raise InputError(
            f"{p.name}: a zarr store without genotypes (no call_genotype array); haplogen needs "
            "phased genotypes: import a VCF with FORMAT/GT and samples (haplogen import)"
        )
    raise InputError(
        f"{p.name}: expected a VCF Zarr store (a directory with a call_genotype array, written by "
        "haplogen import), found a directory without one; give the store or the VCF itself"
    )


def store_checksum(path: str | os.PathLike) -> str:
    """sha256 of a store's data: every array's metadata and chunk files, in path order.

    The files at the top of the store (the root group's attributes, which hold the import's
    provenance and time, and the consolidated metadata) are left out, so that two imports of
    one VCF with the same chunk sizes have the same checksum; two stores have the same
    checksum exactly when their arrays hold the same bytes, wherever they lie. The compressed
    chunks are read once (about a second per 500 MB), never decompressed.

    Parameters
    ----------
    path
        The store directory.
    """
    root = Path(path)
    digest = hashlib.sha256(b"vcz")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.parent != root)
    for f in files:
        rel = f.relative_to(root).as_posix()
        digest.update(f"\n{rel}\t{f.stat().st_size}\n".encode())
        with open(f, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _store_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ----------------------------------------------------------------------------- per-variant counts


def _scan_counts(gt: np.ndarray, phased: np.ndarray) -> np.ndarray:
    """Per-variant counts that decide the genotype rules, for one block of calls.

    Parameters
    ----------
    gt : ndarray of int8, shape (n_variants, n_samples, ploidy)
        ``call_genotype``: allele indices, -1 missing, -2 absent (a sample of lower ploidy).
    phased : ndarray of bool, shape (n_variants, n_samples)
        ``call_genotype_phased``.

    Returns
    -------
    ndarray of int64, shape (n_variants, 6)
        Columns :data:`COUNTS_COLUMNS`: missing alleles among the first two (the VCF reader's
        "missing alleles imputed as REF" count), haploid calls (second allele absent, first not
        missing), unphased heterozygous calls (both alleles present and different, not phased),
        the largest allele index, calls of ploidy above two, and ALT alleles (``1``) among the
        first two.
    """
    n_v = gt.shape[0]
    out = np.zeros((n_v, len(COUNTS_COLUMNS)), dtype=np.int64)
    if n_v == 0 or gt.shape[1] == 0:
        out[:, 3] = -1
        return out
    first = gt[:, :, 0]
    second = gt[:, :, 1] if gt.shape[2] > 1 else np.full_like(first, -2)
    out[:, 0] = (first == -1).sum(axis=1) + (second == -1).sum(axis=1)
    out[:, 1] = ((second == -2) & (first != -1)).sum(axis=1)
    het = (first != second) & (first >= 0) & (second >= 0)
    out[:, 2] = (het & ~phased).sum(axis=1)
    out[:, 3] = gt.max(axis=(1, 2))
    if gt.shape[2] > 2:
        out[:, 4] = (gt[:, :, 2:] != -2).any(axis=2).sum(axis=1)
    out[:, 5] = (first == 1).sum(axis=1) + (second == 1).sum(axis=1)
    return out


def _compute_counts(group: Any, sample_index: np.ndarray | None, variant_chunk: int) -> np.ndarray:
    """:func:`_scan_counts` over the whole store, a chunk of variants and samples at a time.

    ``sample_index`` (sorted) restricts the samples; None takes them all. Memory is one chunk.
    """
    gt_arr = group["call_genotype"]
    ph_arr = group["call_genotype_phased"] if "call_genotype_phased" in group else None
    n_v, n_s = gt_arr.shape[:2]
    s_chunk = int(gt_arr.chunks[1])
    samples = np.arange(n_s) if sample_index is None else np.asarray(sample_index)
    total = np.zeros((n_v, len(COUNTS_COLUMNS)), dtype=np.int64)
    total[:, 3] = -1
    for lo in range(0, n_v, variant_chunk):
        hi = min(lo + variant_chunk, n_v)
        for s_lo in range(0, len(samples), s_chunk):
            chosen = samples[s_lo : s_lo + s_chunk]
            gt = _read_calls(gt_arr, lo, hi, chosen, all_ploidy=True)
            ph = (
                _read_phased(ph_arr, lo, hi, chosen)
                if ph_arr is not None
                else np.zeros(gt.shape[:2], dtype=bool)
            )
            part = _scan_counts(gt, ph)
            total[lo:hi, [0, 1, 2, 4, 5]] += part[:, [0, 1, 2, 4, 5]]
            total[lo:hi, 3] = np.maximum(total[lo:hi, 3], part[:, 3])
    return total


def _contiguous(index: np.ndarray) -> bool:
    return index.size > 0 and int(index[-1]) - int(index[0]) + 1 == index.size


def _read_calls(gt_arr: Any, lo: int, hi: int, samples: np.ndarray, *, all_ploidy: bool = False) -> np.ndarray:
    """``call_genotype[lo:hi, samples, :2]`` (all ploidy columns with ``all_ploidy``), int8."""
    ploidy = slice(None) if all_ploidy else slice(0, 2)
    first, last = int(samples[0]), int(samples[-1]) + 1
    if _contiguous(samples):
        out = gt_arr[lo:hi, first:last, ploidy]
    elif last - first <= 4 * samples.size:  # a dense subset: one slice, then numpy picks (faster)
        out = np.asarray(gt_arr[lo:hi, first:last, ploidy])[:, samples - first]
    else:
        out = gt_arr.oindex[lo:hi, samples, ploidy]
    out = np.asarray(out, dtype=np.int8)
    if not all_ploidy and out.shape[2] == 1:  # a wholly haploid store
        out = np.concatenate([out, np.full_like(out, -2)], axis=2)
    return out


def _read_phased(ph_arr: Any, lo: int, hi: int, samples: np.ndarray) -> np.ndarray:
    if _contiguous(samples):
        return np.asarray(ph_arr[lo:hi, int(samples[0]) : int(samples[-1]) + 1], dtype=bool)
    return np.asarray(ph_arr.oindex[lo:hi, samples], dtype=bool)


# ----------------------------------------------------------------------------- import


def _prescan(path: Path) -> None:
    """Refuse, before a long conversion, what no reading option can read.

    Checks the header (samples, FORMAT/GT) and the first :data:`_PRESCAN_RECORDS` records:
    a file whose heterozygous calls are all unphased is unphased data, to be phased first.
    """
    from .vcf import _capture_c_stderr, _open_vcf

    vcf = _open_vcf(path)
    try:
        if not list(vcf.samples):
            raise InputError(
                f"{path.name}: the VCF header has no sample columns; haplogen needs phased genotypes "
                "(FORMAT/GT) of at least one sample"
            )
        try:
            vcf.get_header_type("GT")
        except KeyError:
            raise InputError(
                f"{path.name}: the VCF header declares no FORMAT/GT field; haplogen needs phased "
                "genotypes: phase the data first (SHAPEIT, Beagle), or add the GT header line if the "
                "records carry GT"
            ) from None
        n_het = n_phased_het = 0
        with _capture_c_stderr(), contextlib.suppress(Exception):
            for k, variant in enumerate(vcf):
                if k >= _PRESCAN_RECORDS:
                    break
                gt = variant.genotype.array()
                if gt.shape[1] < 3:
                    continue
                het = (gt[:, 0] != gt[:, 1]) & (gt[:, 0] >= 0) & (gt[:, 1] >= 0)
                n_het += int(het.sum())
                n_phased_het += int((het & (gt[:, -1] == 1)).sum())
        if n_het and not n_phased_het:
            raise InputError(
                f"{path.name}: none of the {n_het:,} heterozygous calls of its first "
                f"{_PRESCAN_RECORDS:,} records is phased (0/1, not 0|1); haplogen needs phased "
                "haplotypes: phase the data first (SHAPEIT, Beagle) and import the phased VCF"
            )
    finally:
        vcf.close()


_TMP = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.import-tmp")


def _remove_stale_temporaries(out: Path) -> None:
    """Remove the temporary folders of imports to ``out`` whose process is gone (kill -9)."""
    from ..provenance import _pid_alive

    with contextlib.suppress(OSError):
        for entry in out.parent.iterdir():
            match = _TMP.fullmatch(entry.name)
            if match and match.group("name") == out.name and not _pid_alive(int(match.group("pid"))):
                shutil.rmtree(entry, ignore_errors=True)


def check_store_output(out_path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Check that ``out_path`` may receive a new store; return it as a Path.

    Raises
    ------
    InputError
        When the name does not end in .vcz or .zarr, or something is there already and
        ``overwrite`` is false, or what is there is not a store (never replaced).
    """
    out = Path(out_path)
    if not out.name.lower().endswith(STORE_SUFFIXES):
        raise InputError(
            f"a store is a directory named NAME.vcz (or .zarr), found the output name {out.name}; "
            f"name it {out.name}.vcz"
        )
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise InputError(f"{out} already exists; choose another name or pass --overwrite to replace it")
        if not (is_store(out) or _looks_like_store(out)):
            raise InputError(
                f"{out} exists and is not a zarr store; --overwrite replaces a store only: remove it "
                "yourself or choose another name"
            )
    return out


def import_vcf(
    vcf_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    variants_chunk_size: int = 10_000,
    samples_chunk_size: int = 1_000,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Convert a VCF or BCF into a VCF Zarr store with bio2zarr, reading it in chunks.

    bio2zarr first "explodes" the VCF into its intermediate columnar format (one pass over the
    records, written in small column chunks), then encodes the zarr arrays chunk by chunk, so
    that memory stays bounded whatever the file's size. haplogen then adds one array,
    ``variant_haplogen_counts`` (n_variants, 6), the per-variant counts that its reading rules
    need (:func:`_scan_counts`), and the attribute ``haplogen`` of the root group: the
    ``provenance`` record given (version, command, parameters, input checksum), the source
    file and the chunk sizes. Everything is built in a temporary folder beside the output
    (``.NAME.PID.import-tmp``) and renamed into place at the end: a failed or interrupted
    import leaves no partial store.

    Parameters
    ----------
    vcf_path
        ``.vcf``, ``.vcf.gz`` (gzip or bgzip) or ``.bcf``; an index beside it lets bio2zarr show
        progress, none is needed. Records may hold anything: unusual records are kept in the
        store and handled by :class:`ReadOptions` when it is read.
    out_path
        The store, a directory named ``NAME.vcz`` or ``NAME.zarr``.
    variants_chunk_size
        Variants per chunk (the unit of site blocks read later).
    samples_chunk_size
        Individuals per chunk (two haplotypes each).
    overwrite
        Replace an existing store (anything else at ``out_path`` is refused).
    progress
        Receives one line per stage.
    provenance
        Record from :func:`haplogen.provenance.make_record`, stored in the attributes.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    InputError
        When the input is not a VCF/BCF (a hapt file, another store), has no samples or no
        FORMAT/GT, its heterozygous calls are all unphased, or the output is taken.
    """
    import bio2zarr.vcf as b2z
    import zarr

    say = progress or (lambda message: None)
    for name, value in (("variants chunk size", variants_chunk_size), ("samples chunk size", samples_chunk_size)):
        if int(value) < 1:
            raise InputError(f"the {name} must be a positive integer, found {value}")
    src = Path(vcf_path)
    if is_store(src) or _looks_like_store(src):
        raise InputError(f"{src.name} is already a zarr store; give it directly to the commands that read haplotypes")
    from . import detect_format

    if detect_format(src) != "vcf":
        raise InputError(
            f"{src.name} is a hapt file; import converts VCF/BCF only: convert it to VCF first "
            "(haplogen reads hapt with --legend; write it as VCF with haplogen.io.write_vcf)"
        )
    out = check_store_output(out_path, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    _prescan(src)

    _remove_stale_temporaries(out)
    tmp = out.parent / f".{out.name}.{os.getpid()}.import-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    staged = tmp / out.name
    bio_logger = logging.getLogger("bio2zarr")
    level = bio_logger.level
    try:
        t0 = time.monotonic()
        say(f"importing {src} into {out}: reading the VCF in chunks (bio2zarr explode) ...")
        bio_logger.setLevel(logging.ERROR)  # "total records unknown" for a file without index
        try:
            try:
                b2z.explode(tmp / "icf", [str(src)], worker_processes=0, show_progress=False)
            except ValueError as exc:
                if "index" not in str(exc).lower():
                    raise
                # several chromosomes and no index: bio2zarr needs one to split the work
                say("  the file has several chromosomes and no index: writing an indexed bgzipped copy ...")
                shutil.rmtree(tmp / "icf", ignore_errors=True)
                copy = _indexed_copy(src, tmp)
                b2z.explode(tmp / "icf", [str(copy)], worker_processes=0, show_progress=False)
                copy.unlink()
        except InputError:
            raise
        except Exception as exc:
            raise InputError(
                f"{src.name}: bio2zarr could not read it ({type(exc).__name__}: {str(exc).replace(str(src), src.name)}); "
                "check it with `bcftools view`"
            ) from None
        say(f"  read in {time.monotonic() - t0:.0f} s; writing zarr chunks of {variants_chunk_size:,} variants "
            f"x {samples_chunk_size:,} individuals (bio2zarr encode) ...")
        b2z.encode(
            tmp / "icf",
            staged,
            variants_chunk_size=int(variants_chunk_size),
            samples_chunk_size=int(samples_chunk_size),
            worker_processes=0,
            show_progress=False,
        )
        shutil.rmtree(tmp / "icf", ignore_errors=True)
        bio_logger.setLevel(level)
        group = zarr.open_group(str(staged), mode="r+")
        if "call_genotype" not in group:
            raise InputError(
                f"{src.name}: no genotypes were found (bio2zarr wrote no call_genotype); haplogen needs "
                "phased FORMAT/GT calls"
            )
        say("  counting missing, unphased and haploid calls per variant ...")
        counts = _compute_counts(group, None, int(variants_chunk_size))
        arr = group.create_array(
            COUNTS_ARRAY,
            shape=counts.shape,
            chunks=(int(variants_chunk_size), len(COUNTS_COLUMNS)),
            dtype="int32",
            overwrite=True,
        )
        arr[:] = counts.astype(np.int32)
        arr.attrs["columns"] = list(COUNTS_COLUMNS)
        arr.attrs["_ARRAY_DIMENSIONS"] = ["variants", "haplogen_counts"]
        arr.attrs["description"] = (
            "haplogen: per-variant counts over all samples (missing alleles, haploid calls, unphased "
            "heterozygous calls, largest allele index, calls of ploidy > 2, ALT alleles)"
        )
        from .. import __version__

        group.attrs[ATTRS_KEY] = {
            "version": __version__,
            "source": {"path": str(src), "name": src.name},
            "variants_chunk_size": int(variants_chunk_size),
            "samples_chunk_size": int(samples_chunk_size),
            "provenance": _json_safe(provenance) if provenance is not None else None,
        }
        with contextlib.suppress(Exception):
            zarr.consolidate_metadata(str(staged))
        n_records, n_individuals = group["call_genotype"].shape[:2]
        _publish(staged, out, overwrite=overwrite)
        say(f"wrote {out} ({n_records:,} records x {n_individuals:,} individuals) in {time.monotonic() - t0:.0f} s")
    finally:
        bio_logger.setLevel(level)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _indexed_copy(src: Path, folder: Path) -> Path:
    """A bgzipped, tabix-indexed copy of ``src`` in ``folder``, streamed record by record.

    Raises
    ------
    InputError
        When the records are not sorted (tabix cannot index them).
    """
    import pysam

    from .vcf import _capture_c_stderr, _htslib_reason

    copy = folder / "input.vcf.gz"
    with pysam.VariantFile(str(src)) as reader, pysam.VariantFile(str(copy), "wz", header=reader.header) as writer:
        for record in reader:
            writer.write(record)
    with _capture_c_stderr(replay_warnings=False) as captured:
        try:
            pysam.tabix_index(str(copy), preset="vcf", force=True)
        except Exception as exc:
            reason = _htslib_reason(captured, exc)
            raise InputError(
                f"{src.name}: cannot index it ({reason}); a VCF with several chromosomes is imported in "
                "position order: sort it with `bcftools sort`, then import the sorted file"
            ) from None
    return copy


def _json_safe(value: Any) -> Any:
    from ..provenance import _jsonable

    return _jsonable(value)


def _publish(staged: Path, out: Path, *, overwrite: bool) -> None:
    """Rename the finished store onto ``out``; an existing store is moved aside first."""
    if not (out.exists() or out.is_symlink()):
        try:
            os.rename(staged, out)
            return
        except OSError as exc:  # another import got there first
            if out.exists() and not overwrite:
                raise InputError(f"{out} appeared while importing (another import?); nothing was replaced") from None
            if not out.exists():
                raise
    if not overwrite:
        raise InputError(f"{out} appeared while importing (another import?); nothing was replaced")
    old = out.parent / f".{out.name}.{os.getpid()}.import-tmp-old"
    os.rename(out, old)
    try:
        os.rename(staged, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


# ----------------------------------------------------------------------------- reading


def _strings(values: Any) -> np.ndarray:
    """An array of Python str (object dtype) from zarr's string arrays (StringDType, vlen, bytes)."""
    array = np.asarray(values)
    if array.dtype.kind == "S":
        array = np.char.decode(array, "utf-8")
    array = array.astype(object)
    if array.size and not isinstance(array.flat[0], str):
        array = np.array([str(v) for v in array.ravel()], dtype=object).reshape(array.shape)
    return array


def _parse_region(region: str) -> tuple[str, int, float]:
    text = region.replace(",", "")
    chrom, _, rest = text.partition(":")
    if not rest:
        return chrom, 1, float("inf")
    start, _, end = rest.partition("-")
    return chrom, int(start), float(end) if end else float("inf")


class StoreHaplotypes:
    """Haplotypes backed by a VCF Zarr store: blocks of sites and rows read on demand.

    Open with :meth:`open`; the sites kept and the rows are those that :func:`read_vcf` with
    the same :class:`ReadOptions` gives for the source VCF. Nothing but per-variant columns
    is held in memory.

    Attributes
    ----------
    path : Path
        The store directory.
    sites : Sites
        The kept sites, one per column, in order.
    samples : ndarray of str, shape (n_samples,)
        Individual ids in row order.
    haplotype_sample, haplotype_id : ndarray of str, shape (n_haplotypes,)
        The individual and the id (``S_A``, ``S_B``; ``S`` for a haploid sample) of each row.
    n_sites, n_haplotypes : int
        Shape of the matrix the store stands for, (n_haplotypes, n_sites).
    summary : ReadSummary
        What the options kept and skipped, as the VCF reader counts it.
    options : ReadOptions
    """

    def __init__(self) -> None:  # use StoreHaplotypes.open
        self._group: Any = None
        self._checksum: str | None = None

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | os.PathLike, options: ReadOptions | None = None) -> "StoreHaplotypes":
        """Open a store and apply ``options`` to its records.

        Parameters
        ----------
        path
            The store directory (``NAME.vcz``).
        options
            As for :func:`haplogen.io.read_vcf`; defaults to ``ReadOptions()``.

        Raises
        ------
        InputError
            For a path that is not a store, and for every record or sample that the VCF reader
            would refuse under the same options, with the same message (the record number is
            the record's rank in the store, within ``--region``).
        """
        opts = ReadOptions() if options is None else options
        if not isinstance(opts, ReadOptions):
            raise TypeError(f"options must be a ReadOptions, found {type(opts).__name__}")
        self = cls()
        self.path = _check_store(path)
        self.options = opts
        self._name = self.path.name
        group = self._open_group()
        if "call_genotype_phased" not in group:
            raise InputError(f"{self._name}: the store has no call_genotype_phased array; re-import it with haplogen import")
        gt = group["call_genotype"]
        self._variant_chunk = int(gt.chunks[0])
        self._sample_chunk = int(gt.chunks[1])
        file_samples = _strings(group["sample_id"][:]).tolist()
        if not file_samples:
            raise InputError(
                f"{self._name}: the store has no samples; haplogen needs phased genotypes of at least one sample"
            )
        self._sample_index = self._choose_samples(file_samples)
        self.samples = np.array([file_samples[i] for i in self._sample_index], dtype=object)
        self._classify(group)
        return self

    def _open_group(self) -> Any:
        if self._group is None:
            import zarr

            try:
                self._group = zarr.open_group(str(self.path), mode="r")
            except Exception as exc:
                raise InputError(f"{self.path.name}: not a readable zarr store ({type(exc).__name__}: {exc})") from None
        return self._group

    def __getstate__(self) -> dict[str, Any]:  # picklable for Dask workers: the zarr handle is reopened
        state = dict(self.__dict__)
        state["_group"] = None
        return state

    def _choose_samples(self, file_samples: list[str]) -> np.ndarray:
        opts = self.options
        if opts.samples is None:
            return np.arange(len(file_samples))
        present = set(file_samples)
        absent = [s for s in opts.samples if s not in present]
        if absent:
            shown = ", ".join(absent[:3]) + (" ..." if len(absent) > 3 else "")
            raise InputError(
                f"{self._name}: {len(absent)} of the {len(opts.samples)} samples given to --samples "
                f"are not in the file ({shown}); the file has {len(file_samples)} samples "
                f"(first: {', '.join(file_samples[:3])}); check the names given to --samples"
            )
        dupes = sorted({s for s in opts.samples if opts.samples.count(s) > 1})
        if dupes:
            raise InputError(f"--samples lists {', '.join(dupes[:3])} more than once; list each sample once")
        wanted = set(opts.samples)
        return np.array([i for i, s in enumerate(file_samples) if s in wanted], dtype=np.int64)

    def _where(self, k: int) -> str:
        return f"{self._name}, record {k + 1} ({self._chrom_all[k]}:{int(self._pos_all[k])})"

    def _classify(self, group: Any) -> None:
        """Decide the fate of every record, as the VCF reader does, from per-variant columns."""
        opts = self.options
        contig_names = _strings(group["contig_id"][:])
        contig = np.asarray(group["variant_contig"][:], dtype=np.int64)
        pos = np.asarray(group["variant_position"][:], dtype=np.int64)
        records = np.arange(pos.size)
        if opts.region is not None:
            r_chrom, r_start, r_end = _parse_region(opts.region)
            code = np.flatnonzero(contig_names == r_chrom)
            inside = (contig == (code[0] if code.size else -1)) & (pos >= r_start) & (pos <= r_end)
            records = np.flatnonzero(inside)
        self._records = records  # store index of each record read, in order
        n = records.size
        contig_r = contig[records]
        self._chrom_all = contig_names[contig_r] if n else np.array([], dtype=object)
        self._pos_all = pos[records]
        alleles = _strings(group["variant_allele"][:] if n else np.empty((0, 2), dtype=object))
        alleles = alleles[records] if n else alleles
        ids = _strings(group["variant_id"][:])[records] if n else np.array([], dtype=object)
        if "variant_id_mask" in group and n:
            ids = np.where(np.asarray(group["variant_id_mask"][:], dtype=bool)[records], ".", ids)

        counts = self._counts(group)[records] if n else np.zeros((0, len(COUNTS_COLUMNS)), np.int64)

        fate = np.zeros(n, dtype=np.int8)  # 0 undecided/kept, 1 skipped
        skipped_at: dict[str, np.ndarray] = {}
        handled: dict[str, int] = {}
        errors: list[tuple[int, Callable[[int], str]]] = []  # (record, message maker)

        def first(mask: np.ndarray) -> int | None:
            hit = np.flatnonzero(mask & (fate == 0))
            return int(hit[0]) if hit.size else None

        def skip(mask: np.ndarray, reason: str) -> None:
            hit = mask & (fate == 0)
            if hit.any():
                skipped_at[reason] = np.flatnonzero(hit)
                fate[hit] = 1

        # rule 2: order (checked on every record, before any skip)
        order_problem = self._order_problems(contig_r)
        self._is_unsorted = bool(order_problem.any())
        if order_problem.any() and opts.unsorted == "error":
            k = int(np.flatnonzero(order_problem)[0])
            errors.append((k, self._order_message))
        # rule 3: FILTER
        if opts.pass_only and n:
            filter_ids = _strings(group["filter_id"][:])
            flt = np.asarray(group["variant_filter"][:], dtype=bool)[records]
            not_pass = (flt & (filter_ids != "PASS")[None, :]).any(axis=1)
            skip(not_pass, "filtered")
        # rule 4: multiallelic
        alt_present = alleles[:, 1:] != "" if n else np.zeros((0, 1), bool)
        n_alt = alt_present.sum(axis=1) if n else np.zeros(0, np.int64)
        multi = n_alt > 1
        if opts.multiallelic == "error":
            k = first(multi)
            if k is not None:
                errors.append((k, lambda k, a=alleles: (
                    f"{self._where(k)}: multiallelic site {a[k, 0]}>{','.join(x for x in a[k, 1:] if x)}; "
                    "split it with `bcftools norm -m-` or pass --multiallelic skip")))
                multi = multi & (np.arange(n) < k)
        skip(multi, "multiallelic")
        # rule 5: non-SNP
        ref_u = np.array([r.upper() for r in alleles[:, 0]], dtype=object) if n else np.array([], object)
        alt_u = np.array([a.upper() if a else "." for a in alleles[:, 1]], dtype=object) if n else np.array([], object)
        reasons = np.full(n, None, dtype=object)
        acgt = set("ACGT")
        for k in np.flatnonzero(fate == 0):
            r, a = ref_u[k], alt_u[k]
            if len(r) == 1 and r in acgt and len(a) == 1 and a in acgt:
                continue
            reasons[k] = _classify_non_snp(r, a) if n_alt[k] else (None if len(r) == 1 and r in acgt else "non-acgt")
        non_snp = reasons != None  # noqa: E711 (elementwise)
        if opts.non_snp == "error":
            k = first(non_snp)
            if k is not None:
                errors.append((k, lambda k, a=alleles: (
                    f"{self._where(k)}: {_NON_SNP_TEXT[reasons[k]]} {a[k, 0]}>{alt_u[k]}; haplogen models "
                    "biallelic SNPs only: keep them with `bcftools view -v snps -m2 -M2` or pass --non-snp skip")))
                non_snp = non_snp & (np.arange(n) < k)
        for reason in _REASONS:
            skip(non_snp & (reasons == reason), reason)
        # rule 6: genotypes
        missing, haploid, unphased, max_allele, high_ploidy, alt_count = (counts[:, j] for j in range(6))
        k = first(max_allele > n_alt)
        if k is not None:
            errors.append((k, lambda k: self._allele_message(k, int(n_alt[k]))))
            fate[k:] = 2
        k = first(high_ploidy > 0)
        if k is not None:
            errors.append((k, self._ploidy_message))
            fate[k:] = 2
        k = first(missing > 0)
        if k is not None and opts.missing == "error":
            errors.append((k, lambda k: self._call_message(k, "missing")))
            fate[k:] = 2
        if opts.missing == "skip-site":
            skip(missing > 0, "missing")
        elif opts.missing == "ref":
            imputed = int(missing[(missing > 0) & (fate == 0)].sum())
            if imputed:
                handled["missing alleles imputed as REF"] = imputed
        k = first(haploid > 0)
        if k is not None and opts.haploid == "error":
            errors.append((k, lambda k: self._call_message(k, "haploid")))
            fate[k:] = 2
        if opts.haploid == "skip-site":
            skip(haploid > 0, "haploid")
        k = first(unphased > 0)
        if k is not None and opts.unphased == "error":
            errors.append((k, lambda k: self._call_message(k, "unphased")))
            fate[k:] = 2
        if opts.unphased == "skip-site":
            skip(unphased > 0, "unphased")
        elif opts.unphased == "accept":
            accepted = int(unphased[(unphased > 0) & (fate == 0)].sum())
            if accepted:
                handled["unphased heterozygous calls taken in written order"] = accepted
        if errors:
            k, message = min(errors, key=lambda e: e[0])
            raise InputError(message(k))

        kept = np.flatnonzero(fate == 0)
        summary = ReadSummary(n_records=int(n))
        # rule 2 with --unsorted sort: chromosomes in order of first appearance, positions ascending
        if self._is_unsorted and kept.size:
            names = self._chrom_all[kept]
            _, first_seen = np.unique(names, return_index=True)
            rank = {c: i for i, c in enumerate(names[np.sort(first_seen)])}
            chrom_rank = np.array([rank[c] for c in names], dtype=np.int64)
            order = np.lexsort((self._pos_all[kept], chrom_rank))
            moved = int((order != np.arange(kept.size)).sum())
            kept = kept[order]
            if moved:
                handled["records moved into position order"] = moved
        # rule 7: duplicates among kept records
        if kept.size > 1:
            c, p = self._chrom_all[kept], self._pos_all[kept]
            dup = np.flatnonzero((c[1:] == c[:-1]) & (p[1:] == p[:-1])) + 1
            if dup.size:
                if opts.duplicate_position == "error":
                    i = int(dup[0])
                    raise InputError(
                        f"{self._where(int(kept[i]))}: duplicate position, already seen at record "
                        f"{int(kept[i - 1]) + 1} ({len(dup)} duplicates in all); merge or remove them (e.g. "
                        "`bcftools norm -m+` or `bcftools norm -d all`) or pass --duplicate-position skip "
                        "(keeps the first)"
                    )
                skipped_at["duplicate-position"] = kept[dup]
                kept = np.delete(kept, dup)
        # ploidy of each sample (--haploid as-haplotype)
        n_s = len(self._sample_index)
        self._is_haploid = np.zeros(n_s, dtype=bool)
        if kept.size and opts.haploid == "as-haplotype" and (haploid[kept] > 0).any():
            self._is_haploid = self._sample_ploidy(kept)
            handled["haploid samples read as one haplotype"] = int(self._is_haploid.sum())
        n_hap = 2 * n_s - int(self._is_haploid.sum())
        # rule 8: monomorphic
        if kept.size:
            ac = alt_count[kept]
            mono = (ac == 0) | (ac == n_hap)
            if mono.any() and opts.monomorphic == "keep":
                handled["monomorphic sites kept"] = int(mono.sum())
            elif mono.any():
                skipped_at["monomorphic"] = kept[mono]
                kept = kept[~mono]
        first_of = {reason: int(at[0]) for reason, at in skipped_at.items()}
        late = ("duplicate-position", "monomorphic")
        ordered = sorted((r for r in skipped_at if r not in late), key=lambda r: first_of[r])
        summary.skipped = {r: int(skipped_at[r].size) for r in [*ordered, *[x for x in late if x in skipped_at]]}
        summary.handled = handled
        summary.n_sites_kept = int(kept.size)
        summary.n_samples = n_s
        summary.n_haplotypes = n_hap
        self.summary = summary
        if kept.size == 0:
            why = summary.skipped_text()
            where = f" in region {opts.region}" if opts.region else ""
            if opts.region:
                shown = ", ".join(contig_names[:5]) + (" ..." if len(contig_names) > 5 else "")
                where += f" (the file's chromosomes: {shown})"
            raise InputError(
                f"{self._name}: no sites left to read: {summary.n_records:,} records{where}"
                + (f", all skipped ({why})" if why else "")
                + "; check the file and the options (--region, --pass-only, --multiallelic, "
                "--non-snp, --missing, --unphased, --haploid, --monomorphic)"
            )
        self._kept = kept  # index into self._records of each site
        self._variant_index = records[kept]  # store index of each site
        self.sites = Sites(
            chrom=self._chrom_all[kept],
            position=self._pos_all[kept],
            id=ids[kept],
            ref=ref_u[kept],
            alt=alt_u[kept],
        )
        self.n_sites = int(kept.size)
        self.n_haplotypes = n_hap
        # row -> (position of its sample among the chosen ones, allele column 0/1)
        per_sample = np.where(self._is_haploid, 1, 2)
        self._row_sample = np.repeat(np.arange(n_s), per_sample)
        starts = np.concatenate([[0], np.cumsum(per_sample)[:-1]])
        self._row_allele = np.arange(n_hap) - starts[self._row_sample]
        self.haplotype_sample = self.samples[self._row_sample]
        self.haplotype_id = np.array(
            [s if self._is_haploid[j] else f"{s}_{'AB'[a]}" for s, j, a in
             zip(self.haplotype_sample, self._row_sample, self._row_allele)],
            dtype=object,
        )

    def _counts(self, group: Any) -> np.ndarray:
        """The per-variant counts: from import, or computed for the chosen samples."""
        if COUNTS_ARRAY in group and self.options.samples is None:
            arr = group[COUNTS_ARRAY]
            if list(arr.attrs.get("columns", [])) == list(COUNTS_COLUMNS) and arr.shape[0] == group["call_genotype"].shape[0]:
                return np.asarray(arr[:], dtype=np.int64)
        return _compute_counts(group, self._sample_index, self._variant_chunk)

    def _order_problems(self, contig_r: np.ndarray) -> np.ndarray:
        """Records that the VCF reader's order check flags: a position below the running
        maximum of its chromosome, or a chromosome that comes back after another."""
        n = contig_r.size
        problem = np.zeros(n, dtype=bool)
        if n < 2:
            return problem
        change = np.flatnonzero(contig_r[1:] != contig_r[:-1]) + 1
        run_starts = np.concatenate([[0], change])
        run_ends = np.concatenate([change, [n]])
        seen: set[int] = set()
        for lo, hi in zip(run_starts, run_ends):
            c = int(contig_r[lo])
            if c in seen:
                problem[lo] = True
            seen.add(c)
            p = self._pos_all[lo:hi]
            problem[lo + 1 : hi] |= p[1:] < np.maximum.accumulate(p)[:-1]
        return problem

    def _order_message(self, k: int) -> str:
        c, p = self._chrom_all[k], int(self._pos_all[k])
        if k > 0 and self._chrom_all[k - 1] == c:
            same = np.flatnonzero(self._chrom_all[:k] == c)
            problem = f"position {p} comes after {c}:{int(self._pos_all[same].max())}"
        else:
            problem = f"chromosome {c} appears again after {self._chrom_all[k - 1]}"
        return (
            f"{self._where(k)}: {problem}; records must be sorted by position within each chromosome, "
            "each chromosome in one block: sort the file with `bcftools sort` or pass --unsorted sort"
        )

    def _record_calls(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """All ploidy columns and the phase of record ``k`` for the chosen samples."""
        group = self._open_group()
        v = int(self._records[k])
        gt = _read_calls(group["call_genotype"], v, v + 1, self._sample_index, all_ploidy=True)[0]
        ph = _read_phased(group["call_genotype_phased"], v, v + 1, self._sample_index)[0]
        return gt, ph

    def _allele_message(self, k: int, n_alt: int) -> str:
        gt, _ = self._record_calls(k)
        return (
            f"{self._where(k)}: a genotype refers to allele {int(gt.max())} but the record has {n_alt} ALT "
            "allele(s); fix the file (e.g. `bcftools norm --check-ref`)"
        )

    def _ploidy_message(self, k: int) -> str:
        gt, ph = self._record_calls(k)
        i = int(np.flatnonzero((gt[:, 2:] != -2).any(axis=1))[0])
        return (
            f"{self._where(k)}: genotype {_gt_text(gt[i], bool(ph[i]))} of sample {self.samples[i]} has ploidy "
            f"{int((gt[i] != -2).sum())}; haplogen reads haploid and diploid calls only: remove these samples "
            "or sites (bcftools view)"
        )

    def _call_message(self, k: int, what: str) -> str:
        gt, ph = self._record_calls(k)
        a, b = gt[:, 0], (gt[:, 1] if gt.shape[1] > 1 else np.full_like(gt[:, 0], -2))
        if what == "missing":
            i = int(np.flatnonzero((a == -1) | (b == -1))[0])
            return (
                f"{self._where(k)}: missing genotype {_gt_text(gt[i, :2], bool(ph[i]))} of sample "
                f"{self.samples[i]}; impute the data (e.g. Beagle) or pass --missing skip-site|ref"
            )
        if what == "haploid":
            i = int(np.flatnonzero((b == -2) & (a != -1))[0])
            return (
                f"{self._where(k)}: haploid genotype {int(a[i])} of sample {self.samples[i]}; pass --haploid "
                "as-haplotype (one haplotype per haploid sample) or --haploid skip-site, or restrict the "
                "samples/region (--samples, --region)"
            )
        i = int(np.flatnonzero(~ph & (a != b) & (a >= 0) & (b >= 0))[0])
        return (
            f"{self._where(k)}: unphased genotype {int(a[i])}/{int(b[i])} of sample {self.samples[i]}; "
            "phase the data (e.g. SHAPEIT, Beagle) or pass --unphased accept|skip-site"
        )

    def _sample_ploidy(self, kept: np.ndarray) -> np.ndarray:
        """Which chosen samples are haploid at the kept records (mixed ploidy is refused)."""
        n_s = len(self._sample_index)
        haploid_at = np.full(n_s, -1, dtype=np.int64)  # first kept record (rank) where haploid
        diploid_at = np.full(n_s, -1, dtype=np.int64)
        variants = self._records[kept]
        gt_arr = self._open_group()["call_genotype"]
        for lo in range(0, kept.size, self._variant_chunk):
            v = variants[lo : lo + self._variant_chunk]
            calls = self._calls_at(gt_arr, v, self._sample_index)  # (k, n_s, 2)
            second = calls[:, :, 1]
            for flags, at in (((second == -2) & (calls[:, :, 0] != -1), haploid_at), (second >= 0, diploid_at)):
                any_here = flags.any(axis=0)
                new = any_here & (at < 0)
                if new.any():
                    at[new] = lo + flags[:, new].argmax(axis=0)
        mixed = (haploid_at >= 0) & (diploid_at >= 0)
        if mixed.any():
            j = int(np.flatnonzero(mixed)[0])
            h, d = int(kept[haploid_at[j]]), int(kept[diploid_at[j]])
            raise InputError(
                f"{self._name}: sample {self.samples[j]} is haploid at record {h + 1} "
                f"({self._chrom_all[h]}:{int(self._pos_all[h])}) but diploid at record {d + 1} "
                f"({self._chrom_all[d]}:{int(self._pos_all[d])}) (mixed ploidy); --haploid as-haplotype needs one "
                "ploidy per sample: restrict --region/--samples, or pass --haploid skip-site"
            )
        return haploid_at >= 0

    # ------------------------------------------------------------------ reading blocks
    @staticmethod
    def _calls_at(gt_arr: Any, variants: np.ndarray, samples: np.ndarray) -> np.ndarray:
        """``call_genotype[variants, samples, :2]`` reading the range of variants they span."""
        if variants.size == 0:
            return np.zeros((0, samples.size, 2), dtype=np.int8)
        lo, hi = int(variants.min()), int(variants.max()) + 1
        calls = _read_calls(gt_arr, lo, hi, samples)
        if hi - lo == variants.size and (np.diff(variants) == 1).all():
            return calls
        return calls[variants - lo]

    def _matrix(self, sites: np.ndarray, sample_pos: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """uint8 (n_rows, len(sites)): the kept sites ``sites`` (indices of columns) of the rows
        of the samples at positions ``sample_pos`` (sorted) among the chosen ones; ``rows``
        (global row indices, all belonging to those samples) picks and orders the rows, None
        takes every row of those samples in order."""
        gt_arr = self._open_group()["call_genotype"]
        calls = self._calls_at(gt_arr, self._variant_index[sites], self._sample_index[sample_pos])
        calls = np.maximum(calls, 0, out=calls)  # missing (-1) -> REF; haploid (-2) dropped below
        k, m = calls.shape[0], sample_pos.size
        flat = calls.reshape(k, 2 * m)  # (k, 2m): sample j's alleles in columns 2j, 2j+1
        if rows is None:
            if self._is_haploid[sample_pos].any():
                keep = np.ones(2 * m, dtype=bool)
                keep[1::2] = ~self._is_haploid[sample_pos]
                flat = flat[:, keep]
            return np.ascontiguousarray(flat.T).view(np.uint8)
        where = np.searchsorted(sample_pos, self._row_sample[rows])
        column = 2 * where + self._row_allele[rows]
        return np.ascontiguousarray(flat[:, column].T).view(np.uint8)

    def block(self, start: int, stop: int) -> np.ndarray:
        """The alleles of every haplotype at sites ``start`` to ``stop`` (a block of columns).

        Reads only the zarr chunks of those sites (all samples).

        Parameters
        ----------
        start, stop
            Site (column) range, ``0 <= start <= stop <= n_sites``.

        Returns
        -------
        ndarray of uint8, shape (n_haplotypes, stop - start)
        """
        start, stop = self._site_range(start, stop)
        return self._matrix(np.arange(start, stop), np.arange(len(self._sample_index)))

    def _site_range(self, start: int, stop: int) -> tuple[int, int]:
        start, stop = int(start), int(stop)
        if not 0 <= start <= stop <= self.n_sites:
            raise InputError(f"a block of sites must satisfy 0 <= start <= stop <= {self.n_sites}, found {start}:{stop}")
        return start, stop

    def rows(self, index: Sequence[int] | np.ndarray) -> np.ndarray:
        """Haplotypes by row index, every site, read a store chunk of variants at a time.

        Only the zarr chunks of the samples those rows belong to are read.

        Parameters
        ----------
        index : array of int, shape (n,)
            Row indices in ``[0, n_haplotypes)``, in any order, repeats allowed.

        Returns
        -------
        ndarray of uint8, shape (n, n_sites)
        """
        index = np.asarray(index, dtype=np.int64).ravel()
        if index.size and (index.min() < 0 or index.max() >= self.n_haplotypes):
            raise InputError(
                f"haplotype rows must lie in [0, {self.n_haplotypes}), found {int(index.min())}..{int(index.max())}"
            )
        out = np.empty((index.size, self.n_sites), dtype=np.uint8)
        if index.size == 0:
            return out
        sample_pos = np.unique(self._row_sample[index])
        step = self._variant_chunk
        for lo in range(0, self.n_sites, step):
            hi = min(lo + step, self.n_sites)
            out[:, lo:hi] = self._matrix(np.arange(lo, hi), sample_pos, index)
        return out

    def iter_site_blocks(self, size: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """Blocks of ``size`` consecutive sites, in order: ``(start, stop, block)``.

        ``block`` is :meth:`block` ``(start, stop)``, shape (n_haplotypes, stop - start).
        """
        size = int(size)
        if size < 1:
            raise InputError(f"a block size must be a positive number of sites, found {size}")
        for lo in range(0, self.n_sites, size):
            hi = min(lo + size, self.n_sites)
            yield lo, hi, self.block(lo, hi)

    def iter_haplotype_batches(
        self, batch_size: int, *, seed: int | None = None, chunk_local: bool = False
    ) -> Iterator[np.ndarray]:
        """Row indices in batches of ``batch_size`` (the last may be smaller), covering every row once.

        With ``seed`` the rows are shuffled (``numpy.random.default_rng(seed)``); without, they
        come in order. Read each batch with :meth:`rows`.

        A batch of rows drawn from the whole set touches every sample chunk of the store, so
        reading it decompresses about the whole store. ``chunk_local=True`` (with a seed)
        shuffles the order of the sample chunks and the rows within each chunk instead, so that
        a batch spans one or two chunks: a cheaper read, for batches that are less mixed.

        Yields
        ------
        ndarray of int64, shape (<= batch_size,)
        """
        batch_size = int(batch_size)
        if batch_size < 1:
            raise InputError(f"a batch size must be a positive number of haplotypes, found {batch_size}")
        order = np.arange(self.n_haplotypes)
        if seed is not None and chunk_local:
            rng = np.random.default_rng(seed)
            bounds = np.cumsum((0, *self.chunk_bounds()[0]))
            pieces = [rng.permutation(np.arange(lo, hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]
            order = np.concatenate([pieces[i] for i in rng.permutation(len(pieces))])
        elif seed is not None:
            order = np.random.default_rng(seed).permutation(self.n_haplotypes)
        for lo in range(0, self.n_haplotypes, batch_size):
            yield order[lo : lo + batch_size]

    def chunk_bounds(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Dask chunks of the (n_haplotypes, n_sites) matrix that follow the store's chunks.

        Rows are cut at the store's sample chunks (two rows per diploid individual); sites
        where the store's variant chunk changes (every ``variants_chunk_size`` records when
        the sites are in store order).
        """
        per_sample = np.where(self._is_haploid, 1, 2)
        row_chunks = [
            int(per_sample[lo : lo + self._sample_chunk].sum())
            for lo in range(0, per_sample.size, self._sample_chunk)
        ]
        v = self._variant_index
        if (np.diff(v) > 0).all():
            cut = np.flatnonzero(np.diff(v // self._variant_chunk)) + 1
            edges = np.concatenate([[0], cut, [v.size]])
        else:
            edges = np.unique(np.concatenate([np.arange(0, v.size, self._variant_chunk), [v.size]]))
        return tuple(row_chunks), tuple(int(b - a) for a, b in zip(edges[:-1], edges[1:]))

    def to_dask(self) -> "dask.array.Array":
        """The matrix as a lazy Dask array, one task per store chunk.

        Returns
        -------
        dask.array.Array of uint8, shape (n_haplotypes, n_sites)
            Chunks from :meth:`chunk_bounds`; each chunk reads its own zarr chunks when
            computed (also on the workers of a distributed cluster that see the same path).
        """
        import dask.array as da

        return da.from_array(
            _StoreArray(self),
            chunks=self.chunk_bounds(),
            name=f"haplogen-store-{self._token()}",
            asarray=False,
            fancy=False,
            lock=False,
            meta=np.empty((0, 0), dtype=np.uint8),
        )

    def _token(self) -> str:
        digest = hashlib.sha256(str(self.path.resolve()).encode())
        digest.update(repr(sorted(self.options.as_dict().items())).encode())
        with contextlib.suppress(OSError):
            digest.update(str(os.stat(self.path / "call_genotype").st_mtime_ns).encode())
        return digest.hexdigest()[:16]

    def _read_window(self, rows: slice, sites: slice) -> np.ndarray:
        """uint8 (rows, sites) for slices with step 1: the reader behind :meth:`to_dask`."""
        r0, r1, _ = rows.indices(self.n_haplotypes)
        s0, s1, _ = sites.indices(self.n_sites)
        if r1 <= r0 or s1 <= s0:
            return np.zeros((max(r1 - r0, 0), max(s1 - s0, 0)), dtype=np.uint8)
        index = np.arange(r0, r1)
        sample_pos = np.unique(self._row_sample[index])
        return self._matrix(np.arange(s0, s1), sample_pos, index)

    # ------------------------------------------------------------------ whole
    @property
    def checksum(self) -> str:
        """sha256 of the store's files (:func:`store_checksum`), computed on first use."""
        if self._checksum is None:
            self._checksum = store_checksum(self.path)
        return self._checksum

    def source(self) -> dict[str, Any]:
        """Provenance of the data, as the VCF reader records it (``format`` is ``"vcz"``)."""
        return {
            "path": str(self.path),
            "sha256": self.checksum,
            "bytes": _store_bytes(self.path),
            "format": "vcz",
            "options": self.options.as_dict(),
            "summary": self.summary.as_dict(),
        }

    def load(self) -> Haplotypes:
        """The whole set in memory, as :func:`haplogen.io.read_vcf` gives it (small inputs).

        Returns
        -------
        Haplotypes
            matrix of shape (n_haplotypes, n_sites); ``source`` from :meth:`source`.
        """
        matrix = self.block(0, self.n_sites)
        return Haplotypes(matrix, self.sites, self.haplotype_sample, self.haplotype_id, source=self.source())

    def __repr__(self) -> str:
        return f"StoreHaplotypes({str(self.path)!r}: {self.n_haplotypes} haplotypes x {self.n_sites} sites)"


class _StoreArray:
    """The array-like that :meth:`StoreHaplotypes.to_dask` wraps: shape, dtype, slicing."""

    def __init__(self, store: StoreHaplotypes) -> None:
        self.store = store
        self.shape = (store.n_haplotypes, store.n_sites)
        self.dtype = np.dtype(np.uint8)
        self.ndim = 2

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (2 - len(key))
        if not all(isinstance(k, slice) and k.step in (None, 1) for k in key):
            rows = np.arange(self.shape[0])[key[0]]
            sites = np.arange(self.shape[1])[key[1]]
            return self.store.rows(np.atleast_1d(rows))[:, np.atleast_1d(sites)].reshape(
                np.shape(rows) + np.shape(sites)
            )
        return self.store._read_window(key[0], key[1])


def read_store(path: str | os.PathLike, options: ReadOptions | None = None) -> Haplotypes:
    """Read a whole store into memory: ``StoreHaplotypes.open(path, options).load()``.

    Parameters
    ----------
    path
        The store directory.
    options
        As for :func:`haplogen.io.read_vcf`.

    Returns
    -------
    Haplotypes
        matrix of shape (n_haplotypes, n_sites), the same as :func:`read_vcf` of the source VCF.
    """
    return StoreHaplotypes.open(path, options).load()
