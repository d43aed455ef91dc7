"""The haplotype data model shared by every part of haplogen.

A :class:`Haplotypes` holds an ``(n_haplotypes, n_sites)`` matrix of 0/1 alleles
(0 = REF, 1 = ALT), the table of its sites, the individual each haplotype belongs to and,
optionally, population labels. Data flow one way through it::

    io (VCF, hapt) -> Haplotypes -> models -> Haplotypes -> metrics / privacy -> report

Axes are fixed: axis 0 is the haplotype, axis 1 the site. The two haplotypes of a diploid
individual are adjacent rows and share one entry of ``haplotype_sample``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from .errors import InputError

__all__ = ["Sites", "Haplotypes", "read_labels", "write_labels"]


def _str_array(values: Sequence[Any] | np.ndarray, name: str, n: int) -> np.ndarray:
    array = np.asarray(values, dtype=object)
    if array.shape != (n,):
        raise InputError(f"{name} must have {n} entries, found shape {array.shape}")
    return np.array([str(v) for v in array], dtype=object)


@dataclass(frozen=True, eq=False)
class Sites:
    """Table of sites, one row per column of the haplotype matrix.

    Attributes
    ----------
    chrom : ndarray of str, shape (n_sites,)
        Chromosome (contig) name, as in the VCF ``CHROM`` column.
    position : ndarray of int64, shape (n_sites,)
        1-based position.
    id : ndarray of str, shape (n_sites,)
        Site identifier (``.`` when the source had none).
    ref, alt : ndarray of str, shape (n_sites,)
        Reference allele (coded 0) and alternative allele (coded 1).
    """

    chrom: np.ndarray
    position: np.ndarray
    id: np.ndarray
    ref: np.ndarray
    alt: np.ndarray

    def __post_init__(self) -> None:
        position = np.asarray(self.position)
        if position.ndim != 1:
            raise InputError(f"site positions must be one-dimensional, found shape {position.shape}")
        n = position.shape[0]
        if n and not np.issubdtype(position.dtype, np.integer):
            raise InputError(f"site positions must be integers, found dtype {position.dtype}")
        object.__setattr__(self, "position", position.astype(np.int64))
        for name in ("chrom", "id", "ref", "alt"):
            object.__setattr__(self, name, _str_array(getattr(self, name), f"sites.{name}", n))

    @property
    def n_sites(self) -> int:
        return int(self.position.shape[0])

    def __len__(self) -> int:
        return self.n_sites

    def take(self, index: np.ndarray | Sequence[int] | slice) -> "Sites":
        """Sub-table of the sites selected by ``index`` (an index array, mask or slice)."""
        return Sites(
            chrom=self.chrom[index],
            position=self.position[index],
            id=self.id[index],
            ref=self.ref[index],
            alt=self.alt[index],
        )

    def to_dict(self) -> dict[str, list]:
        """Columns as plain lists (for JSON in checkpoints and reports)."""
        return {
            "chrom": self.chrom.tolist(),
            "position": self.position.tolist(),
            "id": self.id.tolist(),
            "ref": self.ref.tolist(),
            "alt": self.alt.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Sequence]) -> "Sites":
        return cls(
            chrom=np.asarray(data["chrom"], dtype=object),
            position=np.asarray(data["position"], dtype=np.int64),
            id=np.asarray(data["id"], dtype=object),
            ref=np.asarray(data["ref"], dtype=object),
            alt=np.asarray(data["alt"], dtype=object),
        )

    @classmethod
    def generic(cls, n_sites: int, chrom: str = "1") -> "Sites":
        """Placeholder table for a matrix without site information (positions 1..n, A>G)."""
        position = np.arange(1, n_sites + 1, dtype=np.int64)
        return cls(
            chrom=np.full(n_sites, chrom, dtype=object),
            position=position,
            id=np.full(n_sites, ".", dtype=object),
            ref=np.full(n_sites, "A", dtype=object),
            alt=np.full(n_sites, "G", dtype=object),
        )

    def median_spacing(self) -> float | None:
        """Median distance in bp between neighbouring sites on one chromosome: a few hundred bp in a
        densely typed region (haplotypes share long segments), 10⁵ bp and more for SNPs scattered
        over a genome. None without two sites on one chromosome, or for the placeholder table of
        :meth:`generic` (its positions say nothing)."""
        n = self.n_sites
        if n < 2 or self.same_as(Sites.generic(n, str(self.chrom[0]))):
            return None
        same = self.chrom[1:] == self.chrom[:-1]
        gaps = np.abs(np.diff(self.position))[same]
        return float(np.median(gaps)) if gaps.size else None

    def same_as(self, other: "Sites") -> bool:
        """True when both tables list the same sites (chromosome, position, REF, ALT) in order."""
        return (
            self.n_sites == other.n_sites
            and bool(np.all(self.chrom == other.chrom))
            and bool(np.array_equal(self.position, other.position))
            and bool(np.all(self.ref == other.ref))
            and bool(np.all(self.alt == other.alt))
        )


@dataclass(frozen=True, eq=False)
class Haplotypes:
    """Phased haplotypes: a 0/1 matrix with its sites, owners and labels.

    Attributes
    ----------
    matrix : ndarray of uint8, shape (n_haplotypes, n_sites)
        Allele of each haplotype at each site: 0 = REF, 1 = ALT.
    sites : Sites
        One row per column of ``matrix``.
    haplotype_sample : ndarray of str, shape (n_haplotypes,)
        The individual each haplotype belongs to; the two haplotypes of a diploid
        individual are adjacent rows with the same entry.
    haplotype_id : ndarray of str, shape (n_haplotypes,)
        Identifier of each haplotype (``HG00096_A``, ``HG00096_B``, ``AG0``, ...).
    population, super_population : ndarray of str, shape (n_haplotypes,), or None
        Optional population labels of each haplotype's individual.
    source : dict
        Provenance of the data (for example ``{"path": ..., "sha256": ..., "skipped": {...}}``).
    """

    matrix: np.ndarray
    sites: Sites
    haplotype_sample: np.ndarray
    haplotype_id: np.ndarray
    population: np.ndarray | None = None
    super_population: np.ndarray | None = None
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        matrix = np.asarray(self.matrix)
        if matrix.ndim != 2:
            raise InputError(
                f"a haplotype matrix must be 2-D (n_haplotypes, n_sites), found shape {matrix.shape}"
            )
        if matrix.dtype != np.uint8:
            if matrix.size and not np.isin(np.unique(matrix), (0, 1)).all():
                raise InputError(
                    "haplotype alleles must be 0 (REF) or 1 (ALT), found values "
                    f"{np.unique(matrix)[:10].tolist()}"
                )
            matrix = matrix.astype(np.uint8)
        elif matrix.size and matrix.max() > 1:
            raise InputError(f"haplotype alleles must be 0 or 1, found the value {int(matrix.max())}")
        object.__setattr__(self, "matrix", np.ascontiguousarray(matrix))
        n_hap, n_sites = matrix.shape
        if self.sites.n_sites != n_sites:
            raise InputError(
                f"the site table has {self.sites.n_sites} rows but the matrix has {n_sites} columns"
            )
        object.__setattr__(
            self, "haplotype_sample", _str_array(self.haplotype_sample, "haplotype_sample", n_hap)
        )
        object.__setattr__(self, "haplotype_id", _str_array(self.haplotype_id, "haplotype_id", n_hap))
        for name in ("population", "super_population"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _str_array(value, name, n_hap))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_matrix(
        cls,
        matrix: np.ndarray,
        sites: Sites | None = None,
        *,
        prefix: str = "AG",
        ploidy: int = 2,
        source: dict[str, Any] | None = None,
    ) -> "Haplotypes":
        """Wrap a bare matrix, pairing consecutive rows into artificial individuals.

        With ``ploidy=2`` rows ``2i`` and ``2i+1`` become individual ``{prefix}{i}`` with
        haplotype ids ``{prefix}{i}_A`` and ``{prefix}{i}_B``; an odd last row is a haploid
        individual. With ``ploidy=1`` each row is its own individual ``{prefix}{i}``.
        """
        matrix = np.asarray(matrix)
        n_hap = matrix.shape[0]
        if sites is None:
            sites = Sites.generic(matrix.shape[1])
        if ploidy == 1:
            samples = [f"{prefix}{i}" for i in range(n_hap)]
            ids = list(samples)
        elif ploidy == 2:
            samples = [f"{prefix}{i // 2}" for i in range(n_hap)]
            ids = [f"{prefix}{i // 2}_{'AB'[i % 2]}" for i in range(n_hap)]
        else:
            raise ValueError(f"ploidy must be 1 or 2, found {ploidy}")
        return cls(matrix, sites, samples, ids, source=dict(source or {}))

    # ------------------------------------------------------------------ shape
    @property
    def n_haplotypes(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def samples(self) -> np.ndarray:
        """Distinct individuals in order of first appearance, shape (n_samples,)."""
        _, first = np.unique(self.haplotype_sample, return_index=True)
        return self.haplotype_sample[np.sort(first)]

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[0])

    def __repr__(self) -> str:
        labels = "" if self.population is None else ", labelled"
        return (
            f"Haplotypes({self.n_haplotypes} haplotypes of {self.n_samples} individuals "
            f"x {self.n_sites} sites{labels})"
        )

    # ------------------------------------------------------------------ subsets
    def take(self, index: np.ndarray | Sequence[int] | slice) -> "Haplotypes":
        """Haplotypes (rows) selected by ``index`` (an index array, boolean mask or slice)."""
        return replace(
            self,
            matrix=self.matrix[index],
            haplotype_sample=self.haplotype_sample[index],
            haplotype_id=self.haplotype_id[index],
            population=None if self.population is None else self.population[index],
            super_population=None if self.super_population is None else self.super_population[index],
        )

    def take_sites(self, index: np.ndarray | Sequence[int] | slice) -> "Haplotypes":
        """Sites (columns) selected by ``index``."""
        return replace(self, matrix=self.matrix[:, index], sites=self.sites.take(index))

    def select_samples(self, samples: Sequence[str]) -> "Haplotypes":
        """All haplotypes of the given individuals, in the order of this object."""
        wanted = np.isin(self.haplotype_sample, np.asarray(list(samples), dtype=object))
        return self.take(np.flatnonzero(wanted))

    # ------------------------------------------------------------------ statistics
    def allele_frequency(self) -> np.ndarray:
        """Frequency of allele 1 (ALT) at each site, shape (n_sites,)."""
        if self.n_haplotypes == 0:
            return np.full(self.n_sites, np.nan)
        return self.matrix.mean(axis=0, dtype=np.float64)

    # ------------------------------------------------------------------ labels
    def with_labels(self, labels: dict[str, tuple[str, str]], *, on_missing: str = "error") -> "Haplotypes":
        """Attach population labels from a ``sample -> (pop, super_pop)`` mapping.

        Parameters
        ----------
        labels
            As returned by :func:`read_labels`.
        on_missing
            What to do with individuals absent from ``labels``: ``"error"`` (default),
            ``"drop"`` (remove their haplotypes) or ``"unknown"`` (label them ``unknown``).
        """
        if on_missing not in ("error", "drop", "unknown"):
            raise ValueError(f"on_missing must be error, drop or unknown, found {on_missing!r}")
        known = np.array([s in labels for s in self.haplotype_sample], dtype=bool)
        h = self
        if not known.all():
            missing = sorted(set(self.haplotype_sample[~known]))
            if on_missing == "error":
                shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
                raise InputError(
                    f"{len(missing)} of {self.n_samples} individuals are not in the labels table "
                    f"({shown}); fix the table, or pass --missing-labels drop (remove them) "
                    "or --missing-labels unknown (label them 'unknown')"
                )
            if on_missing == "drop":
                h = self.take(np.flatnonzero(known))
        pops = [labels.get(s, ("unknown", "unknown")) for s in h.haplotype_sample]
        return replace(
            h,
            population=np.array([p[0] for p in pops], dtype=object),
            super_population=np.array([p[1] for p in pops], dtype=object),
        )


def read_labels(path: str | os.PathLike) -> dict[str, tuple[str, str]]:
    """Read a samples table (tab-separated ``sample pop super_pop`` with a header line).

    A table with only two columns (``sample pop``) uses the population as super-population.
    Returns a mapping ``sample -> (pop, super_pop)``.
    """
    labels: dict[str, tuple[str, str]] = {}
    try:
        handle = open(path, newline="")
    except OSError as exc:
        raise InputError(f"cannot read the labels table {path}: {exc.strerror}") from None
    with handle:
        rows = [r for r in csv.reader(handle, delimiter="\t") if r and not r[0].startswith("#")]
    if not rows:
        raise InputError(f"the labels table {path} is empty; expected a header 'sample pop super_pop'")
    header = [c.strip().lower() for c in rows[0]]
    if len(header) < 2 or header[0] not in ("sample", "sample_id", "id", "iid"):
        raise InputError(
            f"{path}: expected a tab-separated header 'sample<TAB>pop<TAB>super_pop', "
            f"found {rows[0]!r}"
        )
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) < 2:
            raise InputError(
                f"{path}, line {line_no}: expected at least 2 tab-separated columns "
                f"(sample, pop), found {len(row)}"
            )
        sample, pop = row[0].strip(), row[1].strip()
        sup = row[2].strip() if len(row) > 2 and row[2].strip() else pop
        if sample in labels:
            raise InputError(f"{path}, line {line_no}: sample {sample!r} is listed twice")
        labels[sample] = (pop, sup)
    return labels


def write_labels(h: Haplotypes, path: str | os.PathLike) -> None:
    """Write the population labels of ``h`` as a ``sample pop super_pop`` table (atomically).

    One row per individual, in order of first appearance; the inverse of :func:`read_labels`.
    """
    from .provenance import atomic_path

    if h.population is None:
        raise InputError("these haplotypes carry no population labels to write")
    super_population = h.super_population if h.super_population is not None else h.population
    seen: set[str] = set()
    lines = ["sample\tpop\tsuper_pop"]
    for sample, pop, sup in zip(h.haplotype_sample, h.population, super_population):
        if sample not in seen:
            seen.add(sample)
            lines.append(f"{sample}\t{pop}\t{sup}")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
