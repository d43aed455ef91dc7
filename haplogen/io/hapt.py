"""Read and write the founding paper's ``hapt`` / ``legend`` format (Yelmen et al. 2021).

A hapt file has one haplotype per line, fields separated by white space (plain text or gzip)::

    Real HG00096_A 1 1 0 1 ...
    Real HG00096_B 0 1 0 1 ...

the group tag (``Real`` for real data, ``AG`` for artificial genomes), the haplotype id, then
one allele per SNP: 0 = REF (legend ``a0``), 1 = ALT (legend ``a1``). It has no header and no
site information; the optional legend file gives the sites, one line per SNP column after a
header ``id position a0 a1``, with ids ``CHROM:POS_REF_ALT``.

Individuals are not written in a hapt file; :func:`read_hapt` rebuilds them with this rule:

* two adjacent lines with ids ``X_A`` then ``X_B`` are the two haplotypes of individual ``X``
  (the real 1000 Genomes file: ``HG00096_A``, ``HG00096_B``);
* every other line (the published artificial files: ``AG0``, ``AG1``, ...) carries no
  individual: consecutive such lines are paired into an artificial individual named
  ``{first id}_{second id}`` (``AG0_AG1``), as :meth:`Haplotypes.from_matrix` pairs rows; an
  odd one left over is a haploid individual named by its id.

Haplotype ids must be unique.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..haplotypes import Haplotypes, Sites
from ..provenance import atomic_path, file_checksum, write_json_atomic
from .vcf import _check_readable

__all__ = ["read_hapt", "write_hapt", "read_legend", "write_legend"]

_LEGEND_HEADER = ["id", "position", "a0", "a1"]


def _read_bytes(p: Path) -> bytes:
    """Whole content of a plain or gzipped (also multi-member / bgzip) file."""
    with open(p, "rb") as handle:
        magic = handle.read(2)
    if magic != b"\x1f\x8b":
        return p.read_bytes()
    try:
        # GzipFile streams through the members; gzip.decompress would copy the rest of the
        # data once per member (quadratic on bgzip files made of 64 KiB blocks)
        with gzip.open(p, "rb") as handle:
            return handle.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(
            f"{p.name}: the gzip stream is corrupt or truncated ({exc}); get a complete copy "
            "of the file (check it with `gzip -t`)"
        ) from None


def read_legend(path: str | os.PathLike) -> Sites:
    """Read a legend file (header ``id position a0 a1``; ids ``CHROM:POS_REF_ALT``).

    The chromosome is the part of the id before ``:``; REF is ``a0`` (coded 0), ALT is ``a1``.
    Extra columns after the first four are ignored.

    Returns
    -------
    Sites
        One row per legend line, shape (n_sites,).
    """
    p = _check_readable(path)
    text = _read_bytes(p).decode("utf-8", errors="replace")
    lines = [(no, line.split()) for no, line in enumerate(text.splitlines(), start=1)]
    lines = [(no, f) for no, f in lines if f]
    if not lines:
        raise InputError(f"{p.name}: the legend is empty; expected a header 'id position a0 a1'")
    header = [c.lower() for c in lines[0][1][:4]]
    if header != _LEGEND_HEADER:
        raise InputError(
            f"{p.name}, line {lines[0][0]}: expected the legend header 'id position a0 a1', "
            f"found {' '.join(lines[0][1][:4])!r}"
        )
    chrom, pos, ids, ref, alt = [], [], [], [], []
    for no, f in lines[1:]:
        if len(f) < 4:
            raise InputError(
                f"{p.name}, line {no}: expected 4 fields (id position a0 a1), found {len(f)}"
            )
        if ":" not in f[0]:
            raise InputError(
                f"{p.name}, line {no}: the id {f[0]!r} does not start with 'CHROM:'; haplogen takes "
                "the chromosome from ids like '1:12345_A_G'"
            )
        if not f[1].isdigit() or int(f[1]) < 1:
            raise InputError(
                f"{p.name}, line {no}: expected a positive integer position, found {f[1]!r}"
            )
        chrom.append(f[0].split(":", 1)[0])
        ids.append(f[0])
        pos.append(int(f[1]))
        ref.append(f[2])
        alt.append(f[3])
    return Sites(
        chrom=np.array(chrom, dtype=object),
        position=np.array(pos, dtype=np.int64),
        id=np.array(ids, dtype=object),
        ref=np.array(ref, dtype=object),
        alt=np.array(alt, dtype=object),
    )


def _individuals_from_ids(ids: list[str]) -> list[str]:
    """Individual of each haplotype id by the rule in the module documentation."""
    n = len(ids)
    owner: list[str | None] = [None] * n
    i = 0
    while i < n:
        if i + 1 < n and ids[i].endswith("_A") and ids[i + 1] == ids[i][:-2] + "_B" and len(ids[i]) > 2:
            owner[i] = owner[i + 1] = ids[i][:-2]
            i += 2
        else:
            i += 1
    i = 0
    while i < n:
        if owner[i] is not None:
            i += 1
            continue
        if i + 1 < n and owner[i + 1] is None:
            owner[i] = owner[i + 1] = f"{ids[i]}_{ids[i + 1]}"
            i += 2
        else:
            owner[i] = ids[i]
            i += 1
    return [str(o) for o in owner]


def read_hapt(
    path: str | os.PathLike, legend: str | os.PathLike | None = None
) -> Haplotypes:
    """Read a hapt file (plain or gzipped), with its legend when given.

    Parameters
    ----------
    path
        ``.hapt`` or ``.hapt.gz``: per line a group tag, a haplotype id, then 0/1 per SNP.
    legend
        Legend file with one line per SNP column; without it the sites are
        :meth:`Sites.generic` (chromosome 1, positions 1..n, A>G).

    Returns
    -------
    Haplotypes
        ``matrix`` of shape (n_haplotypes, n_sites); individuals by the rule of the module
        documentation. ``source`` holds ``path``, ``sha256``, ``format`` ("hapt"), ``hapt_tag``
        (the group tag, or the distinct tags joined by ``,``) and ``legend`` when given.

    Raises
    ------
    InputError
        For an empty file, lines of different lengths, alleles other than 0/1, no SNP column,
        duplicate ids, or a legend that does not match; the message names file and line.
    """
    p = _check_readable(path)
    data = _read_bytes(p)
    if b"\x00" in data[:4096]:
        raise InputError(
            f"{p.name}: binary content; expected a hapt text file (tag, haplotype id, then 0/1 "
            "per SNP on each line)"
        )
    lines = data.split(b"\n")
    if lines and lines[-1].strip() == b"":
        lines.pop()
    if not lines:
        raise InputError(
            f"{p.name}: the file is empty; expected one haplotype per line (tag, id, then 0/1 per SNP)"
        )
    n_hap = len(lines)
    tags: list[str] = []
    ids: list[str] = []
    n_sites = -1
    matrix: np.ndarray | None = None
    for row, raw in enumerate(lines):
        line_no = row + 1
        line = raw.rstrip(b"\r")
        head = line.split(None, 2)
        if len(head) < 3:
            raise InputError(
                f"{p.name}, line {line_no}: expected a tag, a haplotype id and at least one 0/1 "
                f"SNP column, found {len(head)} field(s)"
            )
        tags.append(head[0].decode("utf-8", errors="replace"))
        ids.append(head[1].decode("utf-8", errors="replace"))
        rest = head[2].rstrip()
        # fast path: single-space separated digits, 0/1 at the even bytes
        values = np.frombuffer(rest, dtype=np.uint8)
        alleles = values[0::2] - np.uint8(ord("0"))
        if not (
            values.size % 2 == 1
            and alleles.max(initial=0) <= 1
            and (values.size == 1 or bool((values[1::2] == ord(" ")).all()))
        ):
            fields = rest.split()
            bad = [k for k, f in enumerate(fields) if f not in (b"0", b"1")]
            if bad:
                k = bad[0]
                raise InputError(
                    f"{p.name}, line {line_no}, SNP column {k + 1} (field {k + 3}): expected 0 or "
                    f"1, found {fields[k].decode('utf-8', errors='replace')!r}"
                )
            alleles = np.array([f == b"1" for f in fields], dtype=np.uint8)
        if matrix is None:
            n_sites = int(alleles.size)
            matrix = np.empty((n_hap, n_sites), dtype=np.uint8)
        elif alleles.size != n_sites:
            raise InputError(
                f"{p.name}, line {line_no}: expected {n_sites + 2} fields (tag, id and "
                f"{n_sites} SNPs, as on line 1), found {alleles.size + 2}"
            )
        matrix[row] = alleles
    assert matrix is not None
    seen: dict[str, int] = {}
    for row, hid in enumerate(ids):
        if hid in seen:
            raise InputError(
                f"{p.name}, line {row + 1}: haplotype id {hid} already used on line "
                f"{seen[hid] + 1}; ids must be unique"
            )
        seen[hid] = row
    owners = _individuals_from_ids(ids)
    first_row: dict[str, int] = {}
    for row, o in enumerate(owners):
        if o in first_row and first_row[o] < row - 1:
            raise InputError(
                f"{p.name}, line {row + 1}: individual {o} (from id {ids[row]}) already appears "
                f"on line {first_row[o] + 1}; rename the haplotype ids"
            )
        first_row.setdefault(o, row)

    source: dict[str, Any] = {"path": str(p), "sha256": file_checksum(p), "format": "hapt"}
    distinct = list(dict.fromkeys(tags))
    source["hapt_tag"] = distinct[0] if len(distinct) == 1 else ",".join(distinct)
    if legend is not None:
        sites = read_legend(legend)
        if sites.n_sites != n_sites:
            raise InputError(
                f"{Path(legend).name}: the legend lists {sites.n_sites} SNPs but {p.name} has "
                f"{n_sites} SNP columns; use the legend made with this hapt file"
            )
        source["legend"] = {"path": str(legend), "sha256": file_checksum(legend)}
    else:
        sites = Sites.generic(n_sites)
    return Haplotypes(matrix, sites, owners, ids, source=source)


def _legend_ids(sites: Sites) -> list[str]:
    """Legend ids: the site id when it already reads ``CHROM:...``, else ``CHROM:POS_REF_ALT``."""
    out = []
    for c, pos, i, r, a in zip(sites.chrom, sites.position.tolist(), sites.id, sites.ref, sites.alt):
        out.append(i if i.startswith(f"{c}:") and not re.search(r"\s", i) else f"{c}:{pos}_{r}_{a}")
    return out


def write_legend(sites: Sites, path: str | os.PathLike) -> None:
    """Write a legend (header ``id position a0 a1``) atomically.

    Ids are the site ids when they start with ``CHROM:`` (the chromosome is read back from
    them); other ids (``rs123``, ``.``) are replaced by ``CHROM:POS_REF_ALT``.
    """
    lines = ["id position a0 a1"]
    for lid, pos, r, a in zip(_legend_ids(sites), sites.position.tolist(), sites.ref, sites.alt):
        lines.append(f"{lid} {pos} {r} {a}")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def write_hapt(
    h: Haplotypes,
    path: str | os.PathLike,
    *,
    legend_path: str | os.PathLike | None = None,
    tag: str = "AG",
    provenance: dict[str, Any] | None = None,
) -> None:
    """Write haplotypes as a hapt file (gzipped when ``path`` ends with ``.gz``), atomically.

    A ``.gz`` output is bgzip-compressed at level 1 (readable by gzip, zcat and Python's gzip).

    Parameters
    ----------
    h
        Haplotypes, matrix of shape (n_haplotypes, n_sites); one line per row with
        ``tag``, ``h.haplotype_id`` and the alleles.
    path
        Output path.
    legend_path
        Also write the sites as a legend there (see :func:`write_legend`).
    tag
        Group tag of every line (``AG`` for artificial genomes, ``Real`` for real data).
    provenance
        Written as JSON beside the output, to ``path + ".provenance.json"`` (hapt has no header).
    """
    if not tag or re.search(r"\s", tag):
        raise InputError(f"the hapt tag must be one word, found {tag!r}")
    bad = [i for i in h.haplotype_id if not i or re.search(r"\s", i)]
    if bad:
        raise InputError(
            f"haplotype id {bad[0]!r} cannot be written to a hapt file (empty or with white "
            "space); rename the haplotypes"
        )
    n_hap, n_sites = h.matrix.shape
    # (n_haplotypes, 2 * n_sites) bytes: ' a' per site, each line then ends with '\n'
    body = np.empty((n_hap, 2 * n_sites + 1), dtype=np.uint8)
    body[:, 0:-1:2] = ord(" ")
    body[:, 1:-1:2] = h.matrix + np.uint8(ord("0"))
    body[:, -1] = ord("\n")
    width = body.shape[1]
    text = body.tobytes()
    prefix = [f"{tag} {i}".encode() for i in h.haplotype_id]
    with atomic_path(path) as tmp:
        if str(path).endswith(".gz"):
            import pysam

            # bgzip (a gzip file made of blocks that any gzip reader reads), level 1: several
            # times faster than gzip level 6 on 0/1 text, for files about 1.3 times larger
            out = pysam.BGZFile(str(tmp), "wb1")
        else:
            out = open(tmp, "wb")
        with out:
            step = max(1, (1 << 24) // width)
            for lo in range(0, n_hap, step):
                hi = min(n_hap, lo + step)
                out.write(b"".join(prefix[r] + text[r * width : (r + 1) * width] for r in range(lo, hi)))
    if legend_path is not None:
        write_legend(h.sites, legend_path)
    if provenance is not None:
        write_json_atomic(str(path) + ".provenance.json", provenance)
