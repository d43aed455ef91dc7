"""Training data read from a VCF Zarr store by rows, on demand: never the whole matrix in memory.

:class:`StreamedHaplotypes` is a :class:`~haplogen.haplotypes.Haplotypes` whose ``matrix`` is a
:class:`StoreRows`: a lazy ``(n_haplotypes, n_sites)`` view of some rows of a
:class:`~haplogen.io.store.StoreHaplotypes`. Everything that works on rows without looking at
the alleles (``take``, ``select_samples``, ``with_labels``, :func:`haplogen.split.apply_split`)
works on it unchanged and reads nothing; the alleles are read when a batch of rows is asked for
(:meth:`StoreRows.read`) or in passes over every row (:meth:`StoreRows.iter_rows`, which
:func:`haplogen.provenance.matrix_checksum` uses). A model
family that declares ``streaming = True`` (hmm) trains on it reading mini-batches; the others get
:meth:`StreamedHaplotypes.load`, the matrix in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np

from ..errors import InputError
from ..haplotypes import Haplotypes, _str_array
from .store import StoreHaplotypes

__all__ = ["StoreRows", "StreamedHaplotypes", "streamed_from_store"]

#: rows read at once by the passes over every row (iter_rows): 2,000 rows of 100,000 sites = 200 MB
_PASS_BYTES = 2**28


class StoreRows:
    """Some rows of a store, as a lazy (n, n_sites) 0/1 matrix.

    Indexing (``rows[index]``) selects rows and reads nothing; :meth:`read` reads them.

    Parameters
    ----------
    store : StoreHaplotypes
    index : array of int, shape (n,), optional
        Rows of ``store`` in this order (default: every row).
    """

    ndim = 2
    dtype = np.dtype(np.uint8)

    def __init__(self, store: StoreHaplotypes, index: np.ndarray | None = None) -> None:
        self.store = store
        self.index = np.arange(store.n_haplotypes) if index is None else np.asarray(index, dtype=np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.index.size), int(self.store.n_sites)

    def __len__(self) -> int:
        return int(self.index.size)

    def __getitem__(self, key: Any) -> "StoreRows":
        if isinstance(key, tuple):
            raise InputError(
                "rows streamed from a store can be selected by row only; load the data (StreamedHaplotypes.load) "
                "to select sites"
            )
        return StoreRows(self.store, np.atleast_1d(self.index[key]))

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(
            "StoreRows streams rows from a store and is not converted to an array whole; "
            "use read(index) or iter_rows(), or StreamedHaplotypes.load() for small data"
        )

    def read(self, index: Sequence[int] | np.ndarray) -> np.ndarray:
        """The alleles of rows ``index`` (positions in this view), uint8 (len(index), n_sites)."""
        index = np.asarray(index, dtype=np.int64).reshape(-1)
        if index.size and (index.min() < 0 or index.max() >= self.index.size):
            raise InputError(f"rows must lie in [0, {self.index.size}), found {int(index.min())}..{int(index.max())}")
        block = self.store.rows(self.index[index])
        if block.size and block.max() > 1:
            raise InputError(f"{self.store.path}: expected 0/1 alleles, found the value {int(block.max())}")
        return block

    def batch_rows(self) -> int:
        """Rows read at once by :meth:`iter_rows` (an even number, so individuals stay whole)."""
        per_row = max(1, self.shape[1])
        return max(2, (_PASS_BYTES // per_row) // 2 * 2)

    def iter_rows(self, size: int | None = None) -> Iterator[tuple[int, int, np.ndarray]]:
        """Every row in order, in blocks: ``(start, stop, alleles (stop - start, n_sites))``."""
        size = self.batch_rows() if size is None else int(size)
        for lo in range(0, self.index.size, size):
            hi = min(lo + size, self.index.size)
            yield lo, hi, self.read(np.arange(lo, hi))

    def column_counts(self) -> np.ndarray:
        """ALT count of every site, int64 (n_sites,)."""
        counts = np.zeros(self.shape[1], dtype=np.int64)
        for _, _, block in self.iter_rows():
            counts += block.sum(axis=0, dtype=np.int64)
        return counts

    def __repr__(self) -> str:
        return f"StoreRows({self.shape[0]} rows x {self.shape[1]} sites of {self.store.path})"


@dataclass(frozen=True, repr=False)
class StreamedHaplotypes(Haplotypes):
    """:class:`Haplotypes` whose ``matrix`` is a :class:`StoreRows` (see the module docstring)."""

    def __post_init__(self) -> None:
        if not isinstance(self.matrix, StoreRows):
            raise TypeError(f"StreamedHaplotypes needs a StoreRows matrix, found {type(self.matrix).__name__}")
        n_hap, n_sites = self.matrix.shape
        if self.sites.n_sites != n_sites:
            raise InputError(f"the site table has {self.sites.n_sites} rows but the store has {n_sites} sites")
        object.__setattr__(self, "haplotype_sample", _str_array(self.haplotype_sample, "haplotype_sample", n_hap))
        object.__setattr__(self, "haplotype_id", _str_array(self.haplotype_id, "haplotype_id", n_hap))
        for name in ("population", "super_population"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _str_array(value, name, n_hap))

    def take_sites(self, index: Any) -> Haplotypes:
        return self.load().take_sites(index)

    def allele_frequency(self) -> np.ndarray:
        if self.n_haplotypes == 0:
            return np.full(self.n_sites, np.nan)
        return self.matrix.column_counts() / self.n_haplotypes

    def load(self) -> Haplotypes:
        """The same haplotypes with their matrix in memory."""
        rows = self.matrix
        matrix = np.empty(rows.shape, dtype=np.uint8)
        for lo, hi, block in rows.iter_rows():
            matrix[lo:hi] = block
        return Haplotypes(
            matrix, self.sites, self.haplotype_sample, self.haplotype_id,
            population=self.population, super_population=self.super_population, source=dict(self.source),
        )

    def __repr__(self) -> str:
        return "Streamed" + super().__repr__() + f" from {self.matrix.store.path}"


def streamed_from_store(store: StoreHaplotypes) -> StreamedHaplotypes:
    """Every row of ``store`` as :class:`StreamedHaplotypes` (reads no alleles)."""
    return StreamedHaplotypes(
        StoreRows(store), store.sites, store.haplotype_sample, store.haplotype_id, source=store.source()
    )
