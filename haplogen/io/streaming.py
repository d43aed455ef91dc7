"""Write artificial haplotypes that never sit in memory at once: a spill file and a VCF Zarr writer.

A generator draws haplotypes in batches of rows, ``(batch, n_sites)``, but a VCF is written
site by site, every haplotype of a site on one line, and a VCF Zarr store is chunked by sites
*and* samples. :class:`HaplotypeSpill` bridges the two orders on disk. Each batch appended is
stored transposed and bit-packed, one row of ``ceil(batch / 8)`` bytes per site::

    batch 0: site 0 [bits of rows 0..k0-1] | site 1 [...] | ... | site L-1 [...]
    batch 1: site 0 [bits of rows k0..k0+k1-1] | ...

so that the sites ``start:stop`` of one batch are one contiguous byte range, and a block of
sites across all ``n`` haplotypes is one read per batch (``os.pread``, never a memory map,
whose resident pages would count against the process). The file holds ``n * n_sites / 8``
bytes; memory holds one batch while writing and one block of sites while reading.

:func:`write_vcz` writes such blocks as a VCF Zarr store with the layout of bio2zarr's
``vcf2zarr`` (``call_genotype`` (variants, samples, ploidy) int8, ``variant_position``,
``variant_allele``, ``sample_id``, ``call_genotype_phased``, ..., the same compressors and the
``region_index``), so that every reader of that format, and haplogen's own store reader, take it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import InputError
from ..haplotypes import Sites

__all__ = ["HaplotypeSpill", "write_vcz", "default_batch_size"]

#: bytes of alleles (one byte per haplotype and site) that one sampling batch may hold by default
BATCH_BYTES = 1 << 26
#: the largest default batch: the models' own default batch, so that a set of up to this many
#: haplotypes is drawn exactly as one call of ``model.sample(n, seed=seed)`` draws it
MAX_DEFAULT_BATCH = 4096


def default_batch_size(n_sites: int) -> int:
    """Haplotypes drawn per batch by default: ``BATCH_BYTES // n_sites``, at most 4,096.

    Depends on the model only (its number of sites), never on ``n``, so that the draw of a
    given seed is the same for every ``n`` (the batches of a larger set begin with those of a
    smaller one).
    """
    return int(max(1, min(MAX_DEFAULT_BATCH, BATCH_BYTES // max(1, int(n_sites)))))


class HaplotypeSpill:
    """Batches of haplotype rows on disk, read back a block of sites at a time.

    Parameters
    ----------
    path
        The file to create (removed by :meth:`close` unless ``keep``); put it in the output's
        temporary folder.
    n_sites
        Sites of every batch.

    Examples
    --------
    >>> spill = HaplotypeSpill(tmp / "x.spill", n_sites=5)  # doctest: +SKIP
    >>> spill.append(batch_a); spill.append(batch_b)           # (k, 5) uint8 each
    >>> spill.sites(0, 2)                                       # (2, n) uint8, site-major
    """

    def __init__(self, path: str | os.PathLike, n_sites: int) -> None:
        self.path = Path(path)
        self.n_sites = int(n_sites)
        self._offsets: list[int] = []  # byte offset of each batch
        self._rows: list[int] = []  # haplotypes of each batch
        self._end = 0
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)

    # ------------------------------------------------------------------ writing
    @property
    def n_haplotypes(self) -> int:
        """Haplotypes appended so far."""
        return int(sum(self._rows))

    def append(self, batch: np.ndarray) -> None:
        """Append a batch of haplotypes, uint8 0/1 of shape (k, n_sites)."""
        batch = np.asarray(batch)
        if batch.ndim != 2 or batch.shape[1] != self.n_sites:
            raise InputError(f"a batch of haplotypes has shape {batch.shape}, expected (k, {self.n_sites})")
        k = batch.shape[0]
        if k == 0:
            return
        packed = np.packbits(batch.T.astype(np.uint8, copy=False), axis=1, bitorder="little")  # (n_sites, ceil(k/8))
        data = packed.tobytes()
        view = memoryview(data)
        written = 0
        while written < len(data):
            written += os.pwrite(self._fd, view[written:], self._end + written)
        self._offsets.append(self._end)
        self._rows.append(k)
        self._end += len(data)

    # ------------------------------------------------------------------ reading
    def _read(self, offset: int, size: int) -> bytes:
        parts = []
        got = 0
        while got < size:
            chunk = os.pread(self._fd, size - got, offset + got)
            if not chunk:
                raise OSError(f"{self.path} ended after {got} of {size} bytes")
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def sites(self, start: int, stop: int, rows: tuple[int, int] | None = None) -> np.ndarray:
        """The alleles of sites ``start:stop``, site-major.

        Parameters
        ----------
        start, stop
            A range of sites.
        rows
            ``(first, last)``: only haplotypes ``first:last`` (default: all).

        Returns
        -------
        ndarray of uint8, shape (stop - start, n_rows)
        """
        first, last = rows if rows is not None else (0, self.n_haplotypes)
        out = np.empty((stop - start, last - first), dtype=np.uint8)
        lo = 0
        for offset, k in zip(self._offsets, self._rows):
            hi = lo + k
            if hi > first and lo < last and stop > start:
                width = (k + 7) // 8
                raw = np.frombuffer(self._read(offset + start * width, (stop - start) * width), dtype=np.uint8)
                bits = np.unpackbits(raw.reshape(stop - start, width), axis=1, count=k, bitorder="little")
                a, b = max(first, lo), min(last, hi)
                out[:, a - first:b - first] = bits[:, a - lo:b - lo]
            lo = hi
            if lo >= last:
                break
        return out

    def haplotypes(self, first: int = 0, last: int | None = None) -> np.ndarray:
        """Haplotypes ``first:last`` as rows, uint8 of shape (last - first, n_sites)."""
        last = self.n_haplotypes if last is None else last
        return np.ascontiguousarray(self.sites(0, self.n_sites, rows=(first, last)).T)

    def close(self) -> None:
        """Close and remove the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "HaplotypeSpill":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# --------------------------------------------------------------------------- VCF Zarr
_DESCRIPTIONS = {
    "variant_contig": "An identifier from the reference genome or an angle-bracketed ID"
    " string pointing to a contig in the assembly file",
    "variant_position": "The reference position",
    "variant_length": "The length of the variant measured in bases",
    "variant_id": "List of unique identifiers where applicable",
    "variant_allele": "List of the reference and alternate alleles",
    "variant_quality": "Phred-scaled quality score",
    "variant_filter": "Filter status of the variant",
}


def write_vcz(
    sites: Sites,
    sample_names: Sequence[str],
    alleles: Callable[[int, int, int, int], np.ndarray],
    path: str | os.PathLike,
    *,
    provenance: dict[str, Any] | None = None,
    variants_chunk_size: int = 10_000,
    samples_chunk_size: int = 1_000,
) -> None:
    """Write diploid phased haplotypes as a VCF Zarr store (bio2zarr's layout), chunk by chunk.

    Sample ``j`` owns haplotype rows ``2j`` and ``2j + 1`` (``call_genotype[:, j] = (a, b)``).
    Every chunk of ``call_genotype`` is built from one call of ``alleles``, so memory holds
    ``variants_chunk_size x 2 samples_chunk_size`` alleles at a time, whatever the size of the set.

    Parameters
    ----------
    sites : Sites, length n_sites
        CHROM, POS, ID, REF, ALT of the variants, sorted by chromosome block and position.
    sample_names : sequence of str, length n_samples
        ``sample_id``.
    alleles
        ``alleles(start, stop, first, last)`` returns sites ``start:stop`` of haplotype rows
        ``first:last``, uint8 0/1 of shape (stop - start, last - first): site-major.
    path
        The store to create (a folder; it must not exist). Write it in a temporary place and
        move it in (:class:`haplogen.provenance.OutputSet` with ``folders``).
    provenance
        Stored in the root attributes as ``haplogen_provenance`` (and, as a VCF header line
        would carry it, in ``vcf_meta_information``).
    variants_chunk_size, samples_chunk_size
        Chunk sizes along variants and samples.

    Raises
    ------
    InputError
        For no samples, a bad chunk size, or a block of the wrong shape.
    """
    import zarr
    from bio2zarr import core, vcz, zarr_utils

    from .. import __version__
    from ..provenance import _jsonable

    sample_names = [str(s) for s in sample_names]
    n_samples, n_sites = len(sample_names), sites.n_sites
    if n_samples == 0:
        raise InputError("no haplotypes to write; a VCF Zarr store needs at least one sample")
    for name, value in (("variants_chunk_size", variants_chunk_size), ("samples_chunk_size", samples_chunk_size)):
        if int(value) < 1:
            raise InputError(f"{name} must be at least 1, found {value}")
    vchunk, schunk = int(variants_chunk_size), int(samples_chunk_size)  # as given, like bio2zarr (not clipped)
    path = Path(path)
    fmt = zarr_utils.DEFAULT_ZARR_FORMAT
    root = zarr.open_group(store=str(path), mode="w-", zarr_format=fmt)
    record = _jsonable(provenance) if provenance is not None else None
    meta = [["fileformat", "VCFv4.2"], ["source", f"haplogen-{__version__}"]]
    if record is not None:
        meta.append(["haplogen_provenance", json.dumps(record, separators=(",", ":"))])
    root.attrs.update({"vcf_zarr_version": "0.5", "source": f"haplogen-{__version__}", "vcf_meta_information": meta})
    if record is not None:
        root.attrs["haplogen_provenance"] = record

    plain = dict(zarr_utils.DEFAULT_COMPRESSOR_CONFIG)
    bits = dict(zarr_utils.DEFAULT_COMPRESSOR_BOOL_CONFIG)
    genotypes = dict(zarr_utils.DEFAULT_COMPRESSOR_GENOTYPES_CONFIG)
    text = zarr_utils.STRING_DTYPE_NAME

    def small(name: str, data: Any, dtype: Any, dims: list[str], compressor: dict = plain) -> None:
        zarr_utils.create_group_array(
            root, name, data=data, shape=len(data), dtype=dtype, compressor=compressor, dimension_names=dims,
            **({"chunks": (schunk,)} if dims == ["samples"] else {}),
        )

    def array(name: str, dims: list[str], dtype: Any, compressor: dict, description: str = "") -> Any:
        sizes = {"variants": n_sites, "samples": n_samples, "ploidy": 2, "alleles": 2, "filters": 1}
        chunks = {"variants": vchunk, "samples": schunk, "ploidy": 2, "alleles": 2, "filters": 1}
        a = zarr_utils.create_empty_group_array(
            root, name=name, shape=[sizes[d] for d in dims], chunks=[chunks[d] for d in dims], dtype=dtype,
            compressor=compressor, dimension_names=dims, fill_value=None,
        )
        a.attrs.update({"description": description or _DESCRIPTIONS.get(name, "")})
        return a

    small("sample_id", sample_names, text, ["samples"])
    contigs = list(dict.fromkeys(sites.chrom.tolist()))
    lengths = [int(sites.position[sites.chrom == c].max()) for c in contigs]
    small("contig_id", contigs, text, ["contigs"])
    small("contig_length", lengths, np.int64, ["contigs"])
    small("filter_id", ["PASS"], text, ["filters"])
    small("filter_description", ["All filters passed"], text, ["filters"])

    max_position = int(sites.position.max()) if n_sites else 0
    contig_index = {c: i for i, c in enumerate(contigs)}
    columns = {
        "variant_position": (["variants"], core.min_int_dtype(0, max_position), plain),
        "variant_contig": (["variants"], core.min_int_dtype(0, len(contigs)), plain),
        "variant_id": (["variants"], text, plain),
        "variant_id_mask": (["variants"], "bool", bits),
        "variant_allele": (["variants", "alleles"], text, plain),
        "variant_length": (["variants"], np.int8, plain),
        "variant_quality": (["variants"], np.float32, plain),
        "variant_filter": (["variants", "filters"], "bool", bits),
        "call_genotype": (["variants", "samples", "ploidy"], np.int8, genotypes),
        "call_genotype_mask": (["variants", "samples", "ploidy"], "bool", bits),
        "call_genotype_phased": (["variants", "samples"], "bool", bits),
    }
    arrays = {name: array(name, dims, dtype, comp) for name, (dims, dtype, comp) in columns.items()}
    for lo in range(0, n_sites, vchunk):
        hi = min(lo + vchunk, n_sites)
        part = sites.take(slice(lo, hi))
        arrays["variant_position"][lo:hi] = part.position
        arrays["variant_contig"][lo:hi] = np.array([contig_index[c] for c in part.chrom])
        ids = np.asarray(part.id, dtype=object)
        arrays["variant_id"][lo:hi] = ids.astype(str)
        arrays["variant_id_mask"][lo:hi] = ids == "."
        arrays["variant_allele"][lo:hi] = np.stack([np.asarray(part.ref, dtype=str), np.asarray(part.alt, dtype=str)], axis=1)
        arrays["variant_length"][lo:hi] = np.array([len(r) for r in part.ref], dtype=np.int8)
        arrays["variant_quality"][lo:hi] = np.full(hi - lo, np.nan, dtype=np.float32)
        arrays["variant_filter"][lo:hi] = np.ones((hi - lo, 1), dtype=bool)
        for s0 in range(0, n_samples, schunk):
            s1 = min(s0 + schunk, n_samples)
            got = np.asarray(alleles(lo, hi, 2 * s0, 2 * s1))
            if got.shape != (hi - lo, 2 * (s1 - s0)):
                raise InputError(
                    f"the alleles of sites {lo}:{hi}, rows {2 * s0}:{2 * s1} have shape {got.shape}, "
                    f"expected ({hi - lo}, {2 * (s1 - s0)}) (sites x haplotypes)"
                )
            arrays["call_genotype"][lo:hi, s0:s1] = got.reshape(hi - lo, s1 - s0, 2).astype(np.int8)
            arrays["call_genotype_mask"][lo:hi, s0:s1] = np.zeros((hi - lo, s1 - s0, 2), dtype=bool)
            arrays["call_genotype_phased"][lo:hi, s0:s1] = np.ones((hi - lo, s1 - s0), dtype=bool)
    if n_sites:
        vcz.VcfZarrIndexer(path).create_index()

