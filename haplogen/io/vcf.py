"""Read and write phased haplotypes as VCF / BCF.

Reading goes through cyvcf2 (htslib): plain ``.vcf``, gzip or bgzip ``.vcf.gz`` and ``.bcf``
are all accepted. haplogen models biallelic SNPs with phased genotypes; everything else that a
real VCF contains is either handled by an option of :class:`ReadOptions` or rejected with one
line that names the file, the record, what was found and which option to use. The
:class:`ReadSummary` of a successful read says how many records were skipped and why.

Writing produces a bgzipped VCF 4.2 with a single ``FORMAT/GT`` field, phased ``a|b`` calls and
the provenance of the data in the header, tabix-indexed, written atomically.

Rules of the reader, in the order they are applied to each record
-------------------------------------------------------------------
1. ``--region`` / ``--samples`` restrict what htslib returns (a region needs an index).
2. Record order is checked on every record: positions must not decrease within a chromosome
   and a chromosome must not come back after another one (``--unsorted``).
3. ``--pass-only`` drops records whose FILTER is neither ``PASS`` nor ``.``.
4. More than one ALT allele is a multiallelic record (``--multiallelic``).
5. Anything but a single-base REF and ALT in ``ACGT`` is not an SNP (``--non-snp``): indels,
   MNPs, symbolic / structural alleles (``<DEL>``, breakends), the spanning deletion ``*`` and
   IUPAC codes such as ``N``. Lowercase bases are accepted and stored in uppercase. A record
   without ALT (``.``) is a reference-only site: it is kept as a monomorphic site.
6. Genotypes: a missing allele (``.``) is handled by ``--missing``; a haploid call by
   ``--haploid``; an unphased heterozygous diploid call (``0/1``) by ``--unphased``.
   Unphased *homozygous* calls (``0/0``, ``1/1``) are unambiguous and always accepted.
   A ploidy above 2 is always an error.
7. Two kept records at the same CHROM:POS are duplicates (``--duplicate-position``); records
   skipped by rules 3-6 do not count, so that an indel beside an SNP is no duplicate.
8. Sites where every kept haplotype carries the same allele are monomorphic (``--monomorphic``).

Haplotypes come out in sample order of the file (a ``--samples`` subset keeps file order):
a diploid sample ``S`` gives rows ``S_A`` and ``S_B`` (the alleles in written order); a sample
read with ``--haploid as-haplotype`` gives one row ``S``.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import os
import re
import sys
import tempfile
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..errors import InputError
from ..haplotypes import Haplotypes, Sites
from ..provenance import _disk_full, _jsonable, atomic_path, file_checksum, now

__all__ = ["ReadOptions", "ReadSummary", "read_vcf", "write_vcf", "write_vcf_blocks"]

# ----------------------------------------------------------------------------- options

_CHOICES: dict[str, tuple[str, ...]] = {
    "multiallelic": ("skip", "error"),
    "non_snp": ("skip", "error"),
    "missing": ("error", "skip-site", "ref"),
    "unphased": ("error", "skip-site", "accept"),
    "haploid": ("error", "skip-site", "as-haplotype"),
    "monomorphic": ("keep", "skip"),
    "unsorted": ("error", "sort"),
    "duplicate_position": ("error", "skip"),
}


def _flag(name: str) -> str:
    """Command-line flag of a ReadOptions field (``non_snp`` -> ``--non-snp``)."""
    return "--" + name.replace("_", "-")


@dataclass
class ReadOptions:
    """How :func:`read_vcf` treats what is not a phased biallelic SNP.

    Each field is also a command-line flag of the same name (``non_snp`` is ``--non-snp``).
    """

    #: records with more than one ALT allele: "skip" (counted in the summary) | "error"
    multiallelic: str = "skip"
    #: indels, MNPs, symbolic/structural alleles, '*', non-ACGT bases: "skip" | "error"
    non_snp: str = "skip"
    #: a missing allele ('.') in GT: "error" | "skip-site" | "ref" (impute REF)
    missing: str = "error"
    #: an unphased heterozygous diploid call (0/1): "error" | "skip-site" | "accept" (alleles
    #: in written order). Unphased homozygous calls (0/0, 1/1) are always accepted.
    unphased: str = "error"
    #: haploid calls (chrX/Y of males, chrM): "error" | "skip-site" | "as-haplotype" (one
    #: haplotype for that sample; only if the sample is haploid at every kept site)
    haploid: str = "error"
    #: sites without variation among the kept haplotypes: "keep" | "skip"
    monomorphic: str = "keep"
    #: records out of position order, or a chromosome seen again: "error" | "sort"
    unsorted: str = "error"
    #: two kept records at the same CHROM:POS: "error" | "skip" (keep the first)
    duplicate_position: str = "error"
    #: keep only records with FILTER PASS or '.'
    pass_only: bool = False
    #: "chrom", "chrom:start-end" or "chrom:start-" (1-based, inclusive); needs an index
    region: str | None = None
    #: subset of samples (haplotypes keep the order of the file)
    samples: list[str] | None = None

    def __post_init__(self) -> None:
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise InputError(
                    f"{_flag(name)} must be one of {', '.join(choices)}, found {value!r}"
                )
        if self.region is not None and not _REGION.fullmatch(self.region.replace(",", "")):
            raise InputError(
                f"--region must look like 'chrom', 'chrom:start-end' or 'chrom:start-', "
                f"found {self.region!r}"
            )
        if self.samples is not None:
            if isinstance(self.samples, str):
                self.samples = [s for s in self.samples.split(",") if s]
            self.samples = [str(s) for s in self.samples]
            if not self.samples:
                raise InputError("--samples is empty; give at least one sample name")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_REGION = re.compile(r"[^\s:]+(:\d+(-\d*)?)?")

# ----------------------------------------------------------------------------- summary

#: reason key -> (singular, plural) wording in ReadSummary.__str__
_REASONS: dict[str, tuple[str, str]] = {
    "filtered": ("record not PASS", "records not PASS"),
    "multiallelic": ("multiallelic", "multiallelic"),
    "indel": ("indel", "indels"),
    "mnp": ("MNP", "MNPs"),
    "symbolic": ("symbolic/structural allele", "symbolic/structural alleles"),
    "spanning-deletion": ("spanning deletion '*'", "spanning deletions '*'"),
    "non-acgt": ("non-ACGT allele", "non-ACGT alleles"),
    "missing": ("site with missing calls", "sites with missing calls"),
    "haploid": ("site with haploid calls", "sites with haploid calls"),
    "unphased": ("site with unphased calls", "sites with unphased calls"),
    "duplicate-position": ("duplicate position", "duplicate positions"),
    "monomorphic": ("monomorphic", "monomorphic"),
}


@dataclass
class ReadSummary:
    """What a read kept and what it skipped, and why.

    Attributes
    ----------
    n_records
        Records read from the file (inside ``--region`` when given).
    n_sites_kept
        Sites (columns of the haplotype matrix) kept.
    skipped
        Reason -> number of records skipped for it (``multiallelic``, ``indel``, ...).
    n_samples, n_haplotypes
        Individuals and haplotypes (rows) kept.
    handled
        Things changed rather than skipped (e.g. missing alleles imputed as REF, unphased
        calls accepted, records sorted): description -> count.
    """

    n_records: int = 0
    n_sites_kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    n_samples: int = 0
    n_haplotypes: int = 0
    handled: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    def skipped_text(self) -> str:
        parts = []
        for reason, count in self.skipped.items():
            if count:
                singular, plural = _REASONS.get(reason, (reason, reason))
                parts.append(f"{count:,} {singular if count == 1 else plural}")
        return ", ".join(parts)

    def __str__(self) -> str:
        text = (
            f"read {self.n_records:,} records: kept {self.n_sites_kept:,} biallelic SNPs of "
            f"{self.n_samples:,} individuals ({self.n_haplotypes:,} haplotypes)"
        )
        skipped = self.skipped_text()
        text += f"; skipped {skipped}" if skipped else "; skipped none"
        if self.handled:
            text += "; " + ", ".join(f"{n:,} {what}" for what, n in self.handled.items() if n)
        return text


# ----------------------------------------------------------------------------- helpers


def _check_readable(path: str | os.PathLike) -> Path:
    """Return ``path`` as a Path after checking that it is a readable regular file."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"cannot read {p}: Is a directory")
    try:
        with open(p, "rb"):
            pass
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or type(exc).__name__}") from None
    return p


class _Captured:
    """What C code (htslib) wrote to file descriptor 2 inside :func:`_capture_c_stderr`."""

    def __init__(self, fd: int) -> None:
        self.fd = fd  # the temporary file that stands in for fd 2
        self.text = ""

    def read(self) -> str:
        """Everything written so far (also while the block is still running)."""
        size = os.fstat(self.fd).st_size
        self.text = os.pread(self.fd, size, 0).decode("utf-8", errors="replace") if size else ""
        return self.text

    def lines(self) -> list[str]:
        return [line.strip() for line in self.read().splitlines() if line.strip()]

    def errors(self) -> list[str]:
        return [line for line in self.lines() if line.startswith("[E::")]

    def warnings(self) -> list[str]:
        return [line for line in self.lines() if not line.startswith("[E::")]


@contextlib.contextmanager
def _capture_c_stderr(replay_warnings: bool = True) -> Iterator[_Captured]:
    """Collect what htslib prints on file descriptor 2 while the block runs.

    htslib reports problems by printing to file descriptor 2, out of Python's reach. Inside this
    block those lines are collected, so that an ``[E::...]`` line can become part of an
    :class:`InputError`. Every other line (htslib ``[W::...]`` warnings) is written back to the
    real stderr at the end when ``replay_warnings`` is true: nothing is hidden from the user.
    """
    with contextlib.suppress(AttributeError, ValueError):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 (a detached process): nothing to capture
        with tempfile.TemporaryFile(mode="w+b") as sink:
            yield _Captured(sink.fileno())
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        captured = _Captured(sink.fileno())
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            with contextlib.suppress(AttributeError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            warnings = captured.warnings()
            if replay_warnings:
                for line in warnings:
                    print(line, file=sys.stderr)


def _htslib_reason(captured: _Captured, exc: BaseException) -> str:
    errors = captured.errors()
    if errors:
        return errors[-1]
    return str(exc) or type(exc).__name__


def _classify_non_snp(ref: str, alt: str) -> str | None:
    """Reason key when REF>ALT is not a biallelic SNP, else None (both already uppercase)."""
    if alt == "*":
        return "spanning-deletion"
    if alt.startswith("<") or "[" in alt or "]" in alt or alt.startswith(".") or alt.endswith("."):
        return "symbolic"
    if len(ref) != len(alt):
        return "indel"
    if len(ref) > 1:
        return "mnp"
    if ref not in "ACGT" or alt not in "ACGT":
        return "non-acgt"
    return None


_NON_SNP_TEXT = {
    "spanning-deletion": "spanning-deletion allele",
    "symbolic": "symbolic/structural allele",
    "indel": "indel",
    "mnp": "MNP",
    "non-acgt": "non-ACGT allele",
}


def _gt_text(alleles: np.ndarray, phased: bool) -> str:
    parts = ["." if a == -1 else str(int(a)) for a in alleles if a != -2]
    return ("|" if phased else "/").join(parts) if parts else "."


# ----------------------------------------------------------------------------- reading


class _Reader:
    """One pass over a VCF: the state of :func:`read_vcf` (kept rows and their records)."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.name = path.name
        self.options = options
        self.summary = ReadSummary()
        self.skipped: dict[str, int] = {}
        self.handled: dict[str, int] = {}
        # kept sites
        self.chrom: list[str] = []
        self.pos: list[int] = []
        self.ids: list[str] = []
        self.ref: list[str] = []
        self.alt: list[str] = []
        self.record_no: list[int] = []
        self.rows: np.ndarray | None = None  # (capacity, 2 * n_samples) int8
        self.n_rows = 0
        # order checks
        self.current_chrom: str | None = None
        self.last_pos = 0
        self.seen_chroms: set[str] = set()
        self.is_unsorted = False
        self.seqnames: list[str] = []  # chromosomes named by the header or the index
        self.any_haploid = False  # a -2 stored: some sample haploid at some site
        self.any_unknown_ploidy = False  # a -3 stored: a wholly missing call imputed as REF

    # -- messages
    def where(self, record_no: int, chrom: str, pos: int) -> str:
        return f"{self.name}, record {record_no} ({chrom}:{pos})"

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def note(self, what: str, n: int = 1) -> None:
        self.handled[what] = self.handled.get(what, 0) + n

    # -- storage
    def store(self, row: np.ndarray) -> None:
        """Append one site: columns 0 and 1 of ``row`` (n_samples, >= 2), cast to int8."""
        if self.rows is None:
            self.rows = np.empty((1024, 2 * row.shape[0]), dtype=np.int8)
        elif self.n_rows == self.rows.shape[0]:
            grown = np.empty((2 * self.rows.shape[0], self.rows.shape[1]), dtype=np.int8)
            grown[: self.n_rows] = self.rows[: self.n_rows]
            self.rows = grown
        target = self.rows[self.n_rows]
        target[0::2] = row[:, 0]  # two strided copies are faster than one 2-D cast-copy
        target[1::2] = row[:, 1]
        self.n_rows += 1

    # -- per-record checks
    def check_order(self, record_no: int, chrom: str, pos: int) -> None:
        if chrom == self.current_chrom:
            if pos >= self.last_pos:
                self.last_pos = pos
                return
            problem = f"position {pos} comes after {chrom}:{self.last_pos}"
        elif chrom in self.seen_chroms:
            problem = f"chromosome {chrom} appears again after {self.current_chrom}"
        else:
            if self.current_chrom is not None:
                self.seen_chroms.add(self.current_chrom)
            self.current_chrom, self.last_pos = chrom, pos
            return
        if self.options.unsorted == "error":
            raise InputError(
                f"{self.where(record_no, chrom, pos)}: {problem}; records must be sorted by "
                "position within each chromosome, each chromosome in one block: sort the file "
                "with `bcftools sort` or pass --unsorted sort"
            )
        self.is_unsorted = True
        if chrom == self.current_chrom:
            return
        self.seen_chroms.add(self.current_chrom)  # type: ignore[arg-type]
        self.current_chrom, self.last_pos = chrom, pos

    def genotypes(
        self, gt: np.ndarray, n_alt: int, record_no: int, chrom: str, pos: int, samples: list[str]
    ) -> np.ndarray | None:
        """Turn cyvcf2's genotype array into one stored row, or None to skip the record.

        ``gt`` has shape (n_samples, max_ploidy + 1): allele indices (-1 missing, -2 absent
        in a sample of lower ploidy) then the phase flag (1 = phased).
        Returns shape (n_samples, >= 2) with both alleles of each sample in columns 0 and 1
        (``gt`` itself on the fast path), -2 where the sample is haploid
        and -3 for the second allele of a wholly missing call imputed as REF (REF if the sample
        turns out diploid, absent if haploid).
        """
        opts = self.options
        n_s = gt.shape[0]
        ploidy = gt.shape[1] - 1
        # fast path, one reduction over the whole contiguous array: every call diploid,
        # complete (no -1/-2, which read as 65535/65534 as uint16) and phased (flag 1)
        if (
            ploidy == 2
            and n_alt == 1
            and gt.flags.c_contiguous
            and int(gt.view(np.uint16).max()) <= 1
            and int(gt[:, 2].min()) == 1
        ):
            return gt
        alleles = gt[:, :ploidy]
        if int(alleles.max()) > n_alt:
            raise InputError(
                f"{self.where(record_no, chrom, pos)}: a genotype refers to allele "
                f"{int(alleles.max())} but the record has {n_alt} ALT allele(s); "
                "fix the file (e.g. `bcftools norm --check-ref`)"
            )
        if ploidy > 2:
            extra = gt[:, 2:ploidy] != -2
            if extra.any():
                i = int(np.flatnonzero(extra.any(axis=1))[0])
                raise InputError(
                    f"{self.where(record_no, chrom, pos)}: genotype "
                    f"{_gt_text(gt[i, :ploidy], bool(gt[i, ploidy]))} of sample {samples[i]} "
                    f"has ploidy {int((gt[i, :ploidy] != -2).sum())}; haplogen reads haploid "
                    "and diploid calls only: remove these samples or sites (bcftools view)"
                )
            gt = np.concatenate([gt[:, :2], gt[:, ploidy:]], axis=1)
            ploidy = 2
        if ploidy == 2:
            first, second, phase = gt[:, 0], gt[:, 1], gt[:, 2]
        else:  # every sample haploid in this record
            first, second, phase = gt[:, 0], np.full(n_s, -2, dtype=gt.dtype), np.ones(n_s, gt.dtype)
        unphased = (phase == 0) & (first != second) & (first >= 0) & (second >= 0)
        first = first.astype(np.int8)
        second = second.astype(np.int8)

        # missing alleles: '.', './.', '.|1', ... ('.' alone in a diploid record is [-1, -2])
        missing = (first == -1) | (second == -1)
        wholly = np.zeros(n_s, dtype=bool)
        if missing.any():
            if opts.missing == "error":
                i = int(np.flatnonzero(missing)[0])
                raise InputError(
                    f"{self.where(record_no, chrom, pos)}: missing genotype "
                    f"{_gt_text(gt[i, :ploidy], bool(phase[i]))} of sample {samples[i]}; impute "
                    "the data (e.g. Beagle) or pass --missing skip-site|ref"
                )
            if opts.missing == "skip-site":
                self.skip("missing")
                return None
            wholly = (first == -1) & (second == -2)
            self.note("missing alleles imputed as REF", int((first == -1).sum() + (second == -1).sum()))
            first = np.where(first == -1, 0, first).astype(np.int8)
            second = np.where(second == -1, 0, second).astype(np.int8)

        haploid = second == -2
        haploid &= ~wholly
        if haploid.any():
            if opts.haploid == "error":
                i = int(np.flatnonzero(haploid)[0])
                raise InputError(
                    f"{self.where(record_no, chrom, pos)}: haploid genotype {int(first[i])} "
                    f"of sample {samples[i]}; pass --haploid as-haplotype (one haplotype per "
                    "haploid sample) or --haploid skip-site, or restrict the samples/region "
                    "(--samples, --region)"
                )
            if opts.haploid == "skip-site":
                self.skip("haploid")
                return None

        if unphased.any():
            if opts.unphased == "error":
                i = int(np.flatnonzero(unphased)[0])
                raise InputError(
                    f"{self.where(record_no, chrom, pos)}: unphased genotype "
                    f"{int(first[i])}/{int(second[i])} of sample {samples[i]}; "
                    "phase the data (e.g. SHAPEIT, Beagle) or pass --unphased accept|skip-site"
                )
            if opts.unphased == "skip-site":
                self.skip("unphased")
                return None
            self.note("unphased heterozygous calls taken in written order", int(unphased.sum()))

        if wholly.any():
            second[wholly] = -3
            self.any_unknown_ploidy = True
        if haploid.any():
            self.any_haploid = True
        return np.stack([first, second], axis=1)


def _open_vcf(path: Path) -> Any:
    import cyvcf2

    with _capture_c_stderr() as captured:
        try:
            vcf = cyvcf2.VCF(str(path), gts012=False)
        except Exception as exc:  # cyvcf2 raises OSError or a bare Exception
            reason = _htslib_reason(captured, exc).replace(str(path), path.name)
            raise InputError(
                f"{path.name}: not a readable VCF/BCF file (htslib: {reason}); expected a VCF "
                "(.vcf, .vcf.gz) or BCF starting with a '##fileformat=VCF' header"
            ) from None
    return vcf


def read_vcf(path: str | os.PathLike, options: ReadOptions | None = None) -> Haplotypes:
    """Read the phased biallelic SNPs of a VCF or BCF file.

    Parameters
    ----------
    path
        ``.vcf``, ``.vcf.gz`` (bgzip or gzip) or ``.bcf``.
    options
        What to do with records that are not phased biallelic SNPs (see :class:`ReadOptions`
        and the module documentation for the rules); defaults to ``ReadOptions()``.

    Returns
    -------
    Haplotypes
        ``matrix`` of shape (n_haplotypes, n_sites), 0 = REF, 1 = ALT; diploid sample ``S`` gives
        rows ``S_A`` and ``S_B``. ``source`` holds ``path``, ``sha256``, ``format`` ("vcf") and
        ``summary`` (:meth:`ReadSummary.as_dict`).

    Raises
    ------
    InputError
        For an unreadable or malformed file, a record that the options reject, or when no site
        is left; the message names the file, the record and the option to use.
    """
    opts = ReadOptions() if options is None else options
    if not isinstance(opts, ReadOptions):
        raise TypeError(f"options must be a ReadOptions, found {type(opts).__name__}")
    p = _check_readable(path)
    name = p.name
    vcf = _open_vcf(p)
    try:
        file_samples = list(vcf.samples)
        if not file_samples:
            raise InputError(
                f"{name}: the VCF header has no sample columns; haplogen needs phased genotypes "
                "(FORMAT/GT) of at least one sample"
            )
        try:
            vcf.get_header_type("GT")
        except KeyError:
            raise InputError(
                f"{name}: the VCF header declares no FORMAT/GT field; haplogen needs phased "
                "genotypes: if the records carry GT, add the header line "
                "'##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">' "
                "(bcftools annotate --header-lines), otherwise phase the data first (SHAPEIT, Beagle)"
            ) from None
        samples = file_samples
        if opts.samples is not None:
            absent = [s for s in opts.samples if s not in set(file_samples)]
            if absent:
                shown = ", ".join(absent[:3]) + (" ..." if len(absent) > 3 else "")
                raise InputError(
                    f"{name}: {len(absent)} of the {len(opts.samples)} samples given to --samples "
                    f"are not in the file ({shown}); the file has {len(file_samples)} samples "
                    f"(first: {', '.join(file_samples[:3])}); check the names given to --samples"
                )
            dupes = sorted({s for s in opts.samples if opts.samples.count(s) > 1})
            if dupes:
                raise InputError(f"--samples lists {', '.join(dupes[:3])} more than once; list each sample once")
            vcf.set_samples(list(opts.samples))
            samples = list(vcf.samples)
        reader = _Reader(p, opts)
        with contextlib.suppress(Exception):  # seqnames needs a header with contigs or an index
            reader.seqnames = list(vcf.seqnames)
        _read_records(vcf, reader, samples)
    finally:
        vcf.close()
    return _finish(reader, p, samples)


def _read_records(vcf: Any, reader: _Reader, samples: list[str]) -> None:
    opts = reader.options
    name = reader.name
    if opts.region is not None:
        region = opts.region.replace(",", "")
        with _capture_c_stderr() as captured:
            try:
                # cyvcf2 looks the index up on the first next(), not on the call
                region_iter = iter(vcf(region))
                with warnings.catch_warnings():
                    # "no intervals found": reported below as "no sites left ... in region"
                    warnings.simplefilter("ignore", UserWarning)
                    first = next(region_iter, None)
            except Exception as exc:
                reason = _htslib_reason(captured, exc).replace(str(reader.path), name)
                raise InputError(
                    f"{name}: cannot read region {opts.region} ({reason}); a region needs an "
                    "index beside the file: make one with `bcftools index` (or `tabix -p vcf`), "
                    "or leave out --region"
                ) from None
        iterator: Any = iter(()) if first is None else itertools.chain([first], region_iter)
    else:
        iterator = iter(vcf)
    record_no = 0
    chrom, pos = "?", 0
    with _capture_c_stderr() as captured:
        try:
            for variant in iterator:
                record_no += 1
                chrom = variant.CHROM
                pos = variant.POS
                reader.check_order(record_no, chrom, pos)
                if opts.pass_only:
                    filt = variant.FILTER
                    if filt is not None and filt != "PASS":
                        reader.skip("filtered")
                        continue
                alts = variant.ALT
                ref = variant.REF.upper()
                if len(alts) > 1:
                    if opts.multiallelic == "error":
                        raise InputError(
                            f"{reader.where(record_no, chrom, pos)}: multiallelic site "
                            f"{variant.REF}>{','.join(alts)}; split it with `bcftools norm -m-` "
                            "or pass --multiallelic skip"
                        )
                    reader.skip("multiallelic")
                    continue
                alt = alts[0].upper() if alts else "."
                reason = _classify_non_snp(ref, alt) if alts else (
                    None if len(ref) == 1 and ref in "ACGT" else "non-acgt"
                )
                if reason is not None:
                    if opts.non_snp == "error":
                        raise InputError(
                            f"{reader.where(record_no, chrom, pos)}: {_NON_SNP_TEXT[reason]} "
                            f"{variant.REF}>{alt}; haplogen models biallelic SNPs only: keep them "
                            "with `bcftools view -v snps -m2 -M2` or pass --non-snp skip"
                        )
                    reader.skip(reason)
                    continue
                if "GT" not in variant.FORMAT:
                    raise InputError(
                        f"{reader.where(record_no, chrom, pos)}: the record has no GT field "
                        f"(FORMAT is {':'.join(variant.FORMAT) or 'empty'}); haplogen needs "
                        "phased genotypes at every site"
                    )
                gt = variant.genotype.array()
                row = reader.genotypes(gt, len(alts), record_no, chrom, pos, samples)
                if row is None:
                    continue
                reader.store(row)
                reader.chrom.append(chrom)
                reader.pos.append(pos)
                reader.ids.append(variant.ID or ".")
                reader.ref.append(ref)
                reader.alt.append(alt)
                reader.record_no.append(record_no)
        except InputError:
            raise
        except Exception as exc:
            reason = _htslib_reason(captured, exc)
            what = f"the record after record {record_no} ({chrom}:{pos})" if record_no else "the first record"
            raise InputError(
                f"{name}: cannot parse {what} (htslib: {reason}); the file is "
                "malformed or truncated: check it with `bcftools view`"
            ) from None
    reader.summary.n_records = record_no


def _finish(reader: _Reader, path: Path, samples: list[str]) -> Haplotypes:
    opts = reader.options
    name = reader.name
    n = reader.n_rows
    rows = reader.rows[:n] if reader.rows is not None else np.empty((0, 2 * len(samples)), np.int8)
    chrom = np.array(reader.chrom, dtype=object)
    pos = np.array(reader.pos, dtype=np.int64)
    ids = np.array(reader.ids, dtype=object)
    ref = np.array(reader.ref, dtype=object)
    alt = np.array(reader.alt, dtype=object)
    record_no = np.array(reader.record_no, dtype=np.int64)

    if reader.is_unsorted and n:
        # chromosomes in order of first appearance among the kept sites, positions ascending;
        # the sort is stable, so records at one position keep their file order
        _, first_seen = np.unique(chrom, return_index=True)
        names_in_order = chrom[np.sort(first_seen)]
        rank = {c: i for i, c in enumerate(names_in_order)}
        chrom_rank = np.array([rank[c] for c in chrom], dtype=np.int64)
        order = np.lexsort((pos, chrom_rank))
        moved = int((order != np.arange(n)).sum())
        rows, chrom, pos, ids, ref, alt, record_no = (
            a[order] for a in (rows, chrom, pos, ids, ref, alt, record_no)
        )
        reader.note("records moved into position order", moved)

    if n > 1:
        dup = np.flatnonzero((chrom[1:] == chrom[:-1]) & (pos[1:] == pos[:-1])) + 1
        if dup.size:
            if opts.duplicate_position == "error":
                i = int(dup[0])
                raise InputError(
                    f"{reader.where(int(record_no[i]), chrom[i], int(pos[i]))}: duplicate "
                    f"position, already seen at record {int(record_no[i - 1])} ({len(dup)} "
                    "duplicates in all); merge or remove them (e.g. `bcftools norm -m+` or "
                    "`bcftools norm -d all`) or pass --duplicate-position skip (keeps the first)"
                )
            keep = np.ones(n, dtype=bool)
            keep[dup] = False
            rows, chrom, pos, ids, ref, alt, record_no = (
                a[keep] for a in (rows, chrom, pos, ids, ref, alt, record_no)
            )
            reader.skipped["duplicate-position"] = int(dup.size)
            n = int(keep.sum())

    # ploidy of each sample: the second allele is -2 at its haploid sites, -3 when unknown
    n_s = len(samples)
    is_haploid = np.zeros(n_s, dtype=bool)
    if n and reader.any_haploid:
        second = rows[:, 1::2]
        haploid_at = second == -2
        diploid_at = second >= 0
        mixed = haploid_at.any(axis=0) & diploid_at.any(axis=0)
        if mixed.any():
            j = int(np.flatnonzero(mixed)[0])
            h = int(np.flatnonzero(haploid_at[:, j])[0])
            d = int(np.flatnonzero(diploid_at[:, j])[0])
            raise InputError(
                f"{name}: sample {samples[j]} is haploid at record {int(record_no[h])} "
                f"({chrom[h]}:{int(pos[h])}) but diploid at record {int(record_no[d])} "
                f"({chrom[d]}:{int(pos[d])}) (mixed ploidy); --haploid as-haplotype needs one "
                "ploidy per sample: restrict --region/--samples, or pass --haploid skip-site"
            )
        is_haploid = haploid_at.any(axis=0)
        reader.note("haploid samples read as one haplotype", int(is_haploid.sum()))
    if reader.any_unknown_ploidy:
        rows[rows == -3] = 0
    if not n:
        matrix = np.zeros((2 * n_s - int(is_haploid.sum()), 0), dtype=np.uint8)
    elif is_haploid.any():
        keep_cols = np.ones(2 * n_s, dtype=bool)
        keep_cols[1::2] = ~is_haploid
        matrix = np.ascontiguousarray(rows[:, keep_cols].T).view(np.uint8)
    else:
        matrix = np.ascontiguousarray(rows.T).view(np.uint8)

    if n:
        column_sum = matrix.sum(axis=0, dtype=np.int64)
        mono = (column_sum == 0) | (column_sum == matrix.shape[0])
        if mono.any() and opts.monomorphic == "keep":
            reader.note("monomorphic sites kept", int(mono.sum()))
        elif mono.any():
            reader.skipped["monomorphic"] = int(mono.sum())
            keep = ~mono
            matrix = np.ascontiguousarray(matrix[:, keep])
            chrom, pos, ids, ref, alt = (a[keep] for a in (chrom, pos, ids, ref, alt))
            n = int(keep.sum())

    summary = reader.summary
    summary.skipped = {k: v for k, v in reader.skipped.items() if v}
    summary.handled = {k: v for k, v in reader.handled.items() if v}
    summary.n_sites_kept = n
    summary.n_samples = n_s
    summary.n_haplotypes = int(matrix.shape[0])
    if n == 0:
        why = summary.skipped_text()
        where = f" in region {opts.region}" if opts.region else ""
        if opts.region and reader.seqnames:
            shown = ", ".join(reader.seqnames[:5]) + (" ..." if len(reader.seqnames) > 5 else "")
            where += f" (the file's chromosomes: {shown})"
        raise InputError(
            f"{name}: no sites left to read: {summary.n_records:,} records{where}"
            + (f", all skipped ({why})" if why else "")
            + "; check the file and the options (--region, --pass-only, --multiallelic, "
            "--non-snp, --missing, --unphased, --haploid, --monomorphic)"
        )

    hap_sample: list[str] = []
    hap_id: list[str] = []
    for j, s in enumerate(samples):
        if is_haploid[j]:
            hap_sample.append(s)
            hap_id.append(s)
        else:
            hap_sample += [s, s]
            hap_id += [f"{s}_A", f"{s}_B"]
    sites = Sites(chrom=chrom, position=pos, id=ids, ref=ref, alt=alt)
    source = {
        "path": str(path),
        "sha256": file_checksum(path),
        "format": "vcf",
        "options": opts.as_dict(),
        "summary": summary.as_dict(),
    }
    return Haplotypes(matrix, sites, hap_sample, hap_id, source=source)


# ----------------------------------------------------------------------------- writing


def _individuals(h: Haplotypes) -> list[tuple[str, list[int]]]:
    """Group consecutive rows that share ``haplotype_sample`` into (sample, rows) pairs."""
    names = h.haplotype_sample
    groups: list[tuple[str, list[int]]] = []
    for i, s in enumerate(names):
        if groups and groups[-1][0] == s:
            groups[-1][1].append(i)
        else:
            groups.append((s, [i]))
    seen: set[str] = set()
    for s, members in groups:
        if len(members) > 2:
            raise InputError(
                f"individual {s} has {len(members)} adjacent haplotypes; a VCF sample is haploid "
                "or diploid: give each haplotype pair its own haplotype_sample name"
            )
        if s in seen:
            raise InputError(
                f"the haplotypes of individual {s} are not adjacent rows; reorder the rows so that "
                "the two haplotypes of an individual follow each other"
            )
        if not s or re.search(r"\s", s):
            raise InputError(
                f"sample name {s!r} cannot be a VCF column name (empty or with white space); "
                "rename the individuals"
            )
        seen.add(s)
    return groups


def _check_sites_writable(sites: Sites, index: bool) -> None:
    for name in ("chrom", "id", "ref", "alt"):
        bad = [v for v in getattr(sites, name) if not v or re.search(r"\s", v)]
        if bad:
            raise InputError(
                f"site {name} {bad[0]!r} cannot be written to a VCF (empty or with white space); "
                "fix the site table"
            )
    if sites.n_sites and int(sites.position.min()) < 1:
        raise InputError(
            f"site positions must be >= 1 in a VCF, found {int(sites.position.min())}; "
            "fix the site table"
        )
    if index and sites.n_sites > 1:
        chrom, pos = sites.chrom, sites.position
        same = chrom[1:] == chrom[:-1]
        back = np.flatnonzero(same & (pos[1:] < pos[:-1]))
        if back.size:
            i = int(back[0]) + 1
            raise InputError(
                f"sites are not sorted: {chrom[i]}:{int(pos[i])} comes after "
                f"{chrom[i - 1]}:{int(pos[i - 1])}; a tabix index needs sorted sites: sort them "
                "(Haplotypes.take_sites) or write with index=False"
            )
        starts = chrom[np.r_[0, np.flatnonzero(~same) + 1]]
        if len(set(starts)) != len(starts):
            raise InputError(
                "the sites of a chromosome are not in one block; a tabix index needs each "
                "chromosome in one block: sort the sites or write with index=False"
            )


def _header(sites: Sites, sample_names: Sequence[str], provenance: dict[str, Any] | None) -> bytes:
    from .. import __version__

    lines = [
        "##fileformat=VCFv4.2",
        f"##fileDate={now():%Y%m%d}",  # SOURCE_DATE_EPOCH when set
        f"##source=haplogen-{__version__}",
    ]
    seen: dict[str, int] = {}
    for c, p in zip(sites.chrom, sites.position):
        seen[c] = max(seen.get(c, 0), int(p))
    for c, length in seen.items():
        lines.append(f"##contig=<ID={c},length={length}>")
    lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">')
    if provenance is not None:
        command = provenance.get("command")
        if command:
            text = " ".join(str(c) for c in command) if isinstance(command, (list, tuple)) else str(command)
            lines.append("##haplogen_command=" + text.replace("\n", " "))
        lines.append(
            "##haplogen_provenance="
            + json.dumps(_jsonable(provenance), separators=(",", ":"), sort_keys=False)
        )
    lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *sample_names]))
    return ("\n".join(lines) + "\n").encode()


#: bytes of genotype text built per block of lines when writing (bounds the memory used)
_CHUNK_BYTES = 1 << 25


def write_vcf(
    h: Haplotypes,
    path: str | os.PathLike,
    *,
    provenance: dict[str, Any] | None = None,
    index: bool = True,
    compresslevel: int = 1,
) -> None:
    """Write haplotypes as a bgzipped, tabix-indexed VCF 4.2 with phased GT.

    Consecutive rows sharing ``h.haplotype_sample`` form one individual (the sample column):
    two rows give a phased diploid call ``a|b`` (rows in order), one row a haploid call ``a``.
    Sites are written in the given order with their ID, REF and ALT, QUAL ``.``, FILTER
    ``PASS`` and INFO ``.``. The header carries ``##fileDate``, ``##source=haplogen-<version>``,
    one ``##contig`` per chromosome (length = its largest position) and, when ``provenance`` is
    given, ``##haplogen_command`` and ``##haplogen_provenance`` (one-line JSON).

    Parameters
    ----------
    h
        Haplotypes, matrix of shape (n_haplotypes, n_sites).
    path
        Output path (conventionally ``.vcf.gz``); written atomically, then indexed.
    provenance
        Record from :func:`haplogen.provenance.make_record`, stored in the header.
    index
        Write a tabix index ``path + ".tbi"`` (sites must be sorted, each chromosome in one
        block). When False, a stale index beside ``path`` is removed.
    compresslevel
        BGZF (zlib) compression level 0-9. The default 1 is about ten times faster than
        bgzip's default 6 on genotype text, for files about 1.5 times larger.

    Raises
    ------
    InputError
        When individuals, sample names or sites cannot be written as a valid (indexed) VCF.
        Nothing is left at ``path`` after a failure.
    """
    if h.n_haplotypes == 0:
        raise InputError("no haplotypes to write; a VCF needs at least one sample")
    groups = _individuals(h)
    matrix = h.matrix
    write_vcf_blocks(
        h.sites,
        [s for s, _ in groups],
        lambda lo, hi: matrix[:, lo:hi].T,
        path,
        ploidy=np.array([len(m) for _, m in groups], dtype=np.int64),
        provenance=provenance,
        index=index,
        compresslevel=compresslevel,
    )


def write_vcf_blocks(
    sites: Sites,
    sample_names: Sequence[str],
    alleles: Callable[[int, int], np.ndarray],
    path: str | os.PathLike,
    *,
    ploidy: int | np.ndarray = 2,
    provenance: dict[str, Any] | None = None,
    index: bool = True,
    compresslevel: int = 1,
    max_bytes: int = _CHUNK_BYTES,
) -> None:
    """Write a VCF a block of sites at a time, from a callback that returns each block.

    The streaming core of :func:`write_vcf` (same file, byte for byte): the haplotypes never
    need to be in memory at once, only ``alleles(start, stop)`` for one block of sites, whose
    size is chosen so that the block's genotype text stays within ``max_bytes`` (at least one
    site). Haplotype rows are laid out in sample order: sample ``j`` of ploidy 2 takes the
    next two rows (``a|b``), one of ploidy 1 the next row.

    Parameters
    ----------
    sites : Sites, length n_sites
        The records' CHROM, POS, ID, REF and ALT, in writing order.
    sample_names : sequence of str, length n_samples
        VCF sample columns.
    alleles
        ``alleles(start, stop)`` returns the alleles of sites ``start:stop``, uint8 0/1 of
        shape (stop - start, n_haplotypes): site-major. Called with increasing, adjacent ranges.
    path
        Output path (``.vcf.gz``); written atomically, then indexed.
    ploidy : int or ndarray of int, shape (n_samples,)
        1 or 2 per sample (one number: every sample).
    provenance, index, compresslevel
        As in :func:`write_vcf`.
    max_bytes
        Bytes of genotype text built per block (bounds the memory used; at least one line).

    Raises
    ------
    InputError
        When sample names, ploidies or sites cannot be written as a valid (indexed) VCF, or a
        block has the wrong shape. Nothing is left at ``path`` after a failure.
    """
    import pysam

    if not 0 <= int(compresslevel) <= 9:
        raise InputError(f"compresslevel must be 0-9, found {compresslevel}")
    sample_names = list(sample_names)
    n_samples = len(sample_names)
    if n_samples == 0:
        raise InputError("no haplotypes to write; a VCF needs at least one sample")
    ploidy = np.broadcast_to(np.asarray(ploidy, dtype=np.int64), (n_samples,))
    if not np.isin(ploidy, (1, 2)).all():
        raise InputError(f"a VCF sample here is haploid or diploid, found ploidy {int(ploidy[~np.isin(ploidy, (1, 2))][0])}")
    bad = next((s for s in sample_names if not s or re.search(r"\s", s)), None)
    if bad is not None:
        raise InputError(
            f"sample name {bad!r} cannot be a VCF column name (empty or with white space); rename the individuals"
        )
    _check_sites_writable(sites, index)
    header = _header(sites, sample_names, provenance)
    n_haplotypes = int(ploidy.sum())

    # Template of the genotype columns of one line: "a|b\t" per diploid, "a\t" per haploid,
    # ending in "\n"; allele_at[r] is the byte offset of haplotype row r in it.
    widths = np.where(ploidy == 2, 4, 2)
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
    width = int(widths.sum())
    template = np.full(width, ord("\t"), dtype=np.uint8)
    template[starts[ploidy == 2] + 1] = ord("|")
    template[-1] = ord("\n")
    all_diploid = bool((ploidy == 2).all())
    if all_diploid:
        allele_at = None
    else:
        first = np.repeat(starts, ploidy)  # (n_haplotypes,) the column of each row's sample
        second = np.zeros(n_haplotypes, dtype=np.int64)
        second[np.cumsum(ploidy)[ploidy == 2] - 1] = 2  # the second haplotype of a diploid
        allele_at = first + second

    n_sites = sites.n_sites
    chunk = max(1, min(n_sites, int(max_bytes) // width))

    index_path = Path(str(path) + ".tbi")
    with contextlib.ExitStack() as stack:
        # entered first, left last: the index replaces the old one only after the data file
        tmp_index = stack.enter_context(atomic_path(index_path)) if index else None
        tmp = stack.enter_context(atomic_path(path))
        with pysam.BGZFile(str(tmp), f"wb{int(compresslevel)}") as out:
            out.write(header)
            for lo in range(0, n_sites, chunk):
                hi = min(lo + chunk, n_sites)
                got = np.asarray(alleles(lo, hi))
                if got.shape != (hi - lo, n_haplotypes):
                    raise InputError(
                        f"the alleles of sites {lo}:{hi} have shape {got.shape}, expected "
                        f"({hi - lo}, {n_haplotypes}) (sites x haplotypes)"
                    )
                block = np.empty((hi - lo, width), dtype=np.uint8)
                block[:] = template
                got = got + np.uint8(ord("0"))  # (chunk, n_haplotypes)
                if all_diploid:
                    block[:, 0::4] = got[:, 0::2]
                    block[:, 2::4] = got[:, 1::2]
                else:
                    block[:, allele_at] = got
                text = block.tobytes()
                prefixes = [
                    f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\tGT\t".encode()
                    for c, p, i, r, a in zip(
                        sites.chrom[lo:hi], sites.position[lo:hi].tolist(), sites.id[lo:hi],
                        sites.ref[lo:hi], sites.alt[lo:hi],
                    )
                ]
                out.write(b"".join(prefixes[k] + text[k * width : (k + 1) * width] for k in range(hi - lo)))
        if tmp_index is not None:
            with _capture_c_stderr(replay_warnings=False) as captured:
                try:
                    pysam.tabix_index(str(tmp), preset="vcf", force=True, index=str(tmp_index))
                except Exception as exc:
                    if isinstance(exc, OSError) and (exc.errno is not None or _disk_full(Path(tmp).parent)):
                        raise  # the disk, not the sites: atomic_path names the file and the reason
                    reason = _htslib_reason(captured, exc)
                    raise InputError(
                        f"cannot index {path} with tabix ({reason}); nothing was written: "
                        "check the sites, or write with index=False"
                    ) from None
    if not index:
        index_path.unlink(missing_ok=True)
