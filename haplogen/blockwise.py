"""The statistics of ``evaluate`` block by block on Dask arrays, with bounded memory.

At chromosome scale (10⁵-10⁶ SNPs, 10⁴-10⁵ haplotypes) a set is a ``(n_haplotypes, n_sites)``
0/1 array that does not fit, or must not be copied, in memory: a Zarr store
(:class:`haplogen.io.store.StoreHaplotypes`, ``to_dask()``) or an in-memory
:class:`~haplogen.haplotypes.Haplotypes` wrapped with :func:`dask.array.from_array`. Every
function here takes such arrays (or anything :meth:`Blockwise.array` accepts) and returns the
same dictionary as its in-memory counterpart in :mod:`haplogen.metrics`, so that the
statistics, the report and ``metrics.json`` read either. Each one touches the data in blocks
whose size is set by :attr:`Blockwise.chunk_bytes`, never the whole matrix:

* allele frequencies: column sums over chunks (exactly the in-memory values);
* windowed LD and LD decay: blocks of sites ``[a, e)`` x ``[a, e + w)``, their 1-1 counts
  ``X_Iᵀ X_J`` summed over chunks of haplotypes (exactly
  :func:`~haplogen.metrics.ld.ld_window_comparison`);
* PCA: a randomized SVD of the centred real set in passes over blocks of haplotypes
  (:func:`randomized_pca`), projections by blocks of haplotypes (to the solver's accuracy);
* pairwise distances: the same seeded pairs, each block of sites adding the popcounts of its
  packed pairs (exactly);
* 3-point correlations: the same seeded triplets, the counts of 1-1-1, 1-1 and 1 summed over
  blocks of haplotypes (exactly);
* nearest neighbours (AATS, privacy audit): Hamming distances ``|a| + |b| - 2 a·b`` from products
  of 0/1 blocks, blocks of rows x all rows, the minimum per row (exactly; ties: the first row);
  within one set only the blocks on and above the diagonal (the matrix is symmetric). A
  subsample (AATS, the audit's subsets, whose size the nearest-neighbour budget of
  :func:`haplogen.metrics.aats.aats_size` bounds) is read into memory once, not from the
  store at every pair of blocks;
* exact copies: a 16-byte digest of each packed haplotype (exactly);
* populations: counts per population from indicators ᵀ X over chunks (exactly, given labels);
  unlabelled sets assigned on the block-wise PCA.

The work runs on a :mod:`dask.distributed` client: a :class:`~distributed.LocalCluster` by
default (:func:`open_blockwise`), or an existing cluster by its scheduler's address
(``haplogen evaluate --scheduler tcp://host:8786``). Arrays built from in-memory matrices live
in the client's process, so the local cluster runs its workers as threads of this process
unless asked for processes; a store-backed array is read by the workers themselves.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from .errors import InputError
from .metrics.base import check_same_sites, pearson_r

__all__ = [
    "Blockwise",
    "open_blockwise",
    "BLOCKWISE_MIN_CELLS",
    "site_counts",
    "allele_frequency_comparison",
    "ld_window_comparison",
    "ld_r2_columns",
    "pca_comparison",
    "randomized_pca",
    "pairwise_distance_comparison",
    "three_point_comparison",
    "nearest_neighbours",
    "adversarial_accuracy",
    "exact_copies",
    "row_digests",
    "population_comparison",
]

#: ``evaluate`` switches to the block-wise path on its own when a set holds more cells
#: (haplotypes x sites) than this: 2 x 10⁸ is 20,000 SNPs x 10,000 haplotypes, where the
#: in-memory PCA alone needs 8 bytes a cell (a float32 copy and its centred copy)
BLOCKWISE_MIN_CELLS = 200_000_000

_F32 = np.float32


def _dask():
    import dask
    import dask.array as da

    return dask, da


# ---------------------------------------------------------------------------- the engine
@dataclass
class Blockwise:
    """Where and how the block-wise statistics run.

    Attributes
    ----------
    client : distributed.Client or None
        The cluster's client; None runs on dask's local threaded scheduler.
    chunk_bytes
        Bytes of 0/1 data (one byte a cell) in one block of work; a worker holds a few such
        blocks plus their float32 copies (4x) at once.
    description
        Where the work runs, in words, for the report's notes.
    take_bytes
        Largest subset of a set (rows drawn by :meth:`take`) read into memory rather than
        read from its store at every search.
    blas_threads
        Threads of the BLAS library (matrix products) during a computation; None leaves them.
        Thread workers of this process set it to their own thread count: each worker's
        products would otherwise start a BLAS thread per core, oversubscribing the cores and
        multiplying the BLAS buffers.
    """

    client: Any = None
    chunk_bytes: int = 32 * 2**20
    description: str = "dask's threaded scheduler"
    blas_threads: int | None = None
    #: subsets of the privacy audit read into memory up to this size (bytes, one a cell):
    #: 1 GiB holds the capped subsets (at most sqrt(10¹² x n_sites) cells) up to 10⁶ SNPs
    take_bytes: int = 2**30
    _arrays: dict[int, Any] = field(default_factory=dict, repr=False)

    def array(self, x: Any) -> Any:
        """``x`` as a dask array of shape (n_haplotypes, n_sites), uint8.

        Parameters
        ----------
        x : Haplotypes, StoreHaplotypes, ndarray or dask array, shape (n_haplotypes, n_sites)
            A store-backed set gives its own chunks (``to_dask()``); an in-memory matrix is
            wrapped without a copy in blocks of whole haplotypes of about :attr:`chunk_bytes`
            (:meth:`rows_per_block`), so that the blocks of rows the statistics work on are
            views of it.
        """
        _, da = _dask()
        if isinstance(x, da.Array):
            out = x
        else:
            key = id(x)
            if key in self._arrays and self._arrays[key][0] is x:
                return self._arrays[key][1]
            if hasattr(x, "to_dask"):
                out = x.to_dask()
            else:
                matrix = x.matrix if hasattr(x, "matrix") and not isinstance(x, np.ndarray) else x
                out = self.wrap(matrix)
            self._arrays[key] = (x, out)
        if out.ndim != 2:
            raise InputError(f"haplotypes must be a 2-D array (n_haplotypes, n_sites), found shape {out.shape}")
        return out

    def wrap(self, matrix: np.ndarray) -> Any:
        """An in-memory 0/1 matrix as a dask array of blocks of whole haplotypes (views), not remembered.

        :meth:`array` keeps the sets it wrapped (the same set is wrapped once); a temporary
        matrix (a subsample) is wrapped here, so that it is freed with its dask array.

        Parameters
        ----------
        matrix : ndarray of 0/1, shape (n_haplotypes, n_sites)

        Returns
        -------
        dask array of uint8, shape (n_haplotypes, n_sites)
        """
        _, da = _dask()
        matrix = np.asarray(matrix)
        if matrix.ndim != 2:
            raise InputError(
                f"haplotypes must be a 2-D matrix (n_haplotypes, n_sites), found shape {matrix.shape}; "
                "pass Haplotypes, a store or a 2-D array"
            )
        if matrix.dtype == np.bool_:
            matrix = matrix.view(np.uint8)
        rows = max(1, min(matrix.shape[0], self.rows_per_block(matrix.shape[1])))
        cols = max(1, matrix.shape[1])
        return self._scatter(matrix, rows, cols) if self.client is not None else \
            da.from_array(matrix, chunks=(rows, cols))

    def _scatter(self, matrix: np.ndarray, rows: int, cols: int) -> Any:
        """An in-memory matrix handed to the cluster once, block by block.

        ``from_array`` would embed the data in every graph sent to the scheduler (a copy of
        the matrix per computation); scattered blocks are sent once (to thread workers of
        this process: not at all) and every graph refers to them by name.
        """
        _, da = _dask()
        n, m = matrix.shape
        if n == 0 or m == 0:
            return da.from_array(matrix, chunks=(max(1, rows), max(1, cols)))
        pieces = [[matrix[r : r + rows, c : c + cols] for c in range(0, m, cols)] for r in range(0, n, rows)]
        futures = iter(self.client.scatter([p for row in pieces for p in row]))
        return da.block([[da.from_delayed(next(futures), shape=p.shape, dtype=p.dtype) for p in row]
                         for row in pieces])

    def share(self, value: Any) -> Any:
        """``value`` (index arrays, ...) as an argument of many tasks: sent to the cluster once."""
        dask, _ = _dask()
        if self.client is not None:
            return self.client.scatter(value, broadcast=True, hash=False)
        return dask.delayed(value)

    def compute(self, *values: Any) -> tuple:
        """Compute dask collections (arrays, delayed values) on this engine's scheduler."""
        from threadpoolctl import threadpool_limits

        dask, _ = _dask()
        with contextlib.ExitStack() as stack:
            if self.blas_threads is not None:
                stack.enter_context(threadpool_limits(limits=self.blas_threads, user_api="blas"))
            if self.client is not None:
                return dask.compute(*values, scheduler=self.client)
            return dask.compute(*values, scheduler="threads")

    def rows_per_block(self, n_cols: int) -> int:
        """Haplotypes in a block of ``n_cols`` sites (about :attr:`chunk_bytes`)."""
        return max(1, self.chunk_bytes // max(1, n_cols))

    def cols_per_block(self, n_rows: int) -> int:
        """Sites in a block of ``n_rows`` haplotypes (about :attr:`chunk_bytes`)."""
        return max(1, self.chunk_bytes // max(1, n_rows))

    # -- the operations the privacy audit needs (see haplogen.privacy.audit)
    def matrix(self, x: Any, name: str) -> Any:
        """A set of the audit as a dask array with at least two haplotypes."""
        out = self.array(x)
        if out.shape[0] < 2:
            raise InputError(f"the {name} set has {out.shape[0]} haplotypes; the privacy audit needs at least 2")
        return out

    def take(self, x: Any, index: np.ndarray) -> Any:
        """Rows ``index`` (sorted) of a set: read into memory when they hold at most
        :attr:`take_bytes` (a subset searched many times is then read once), else lazily."""
        index = np.asarray(index, dtype=np.int64)
        if index.size * x.shape[1] <= self.take_bytes:
            return _rows_in_memory(x, index, self)
        return x[index]

    def cross(self, a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
        """Nearest-neighbour distances both ways, int32: (a to b, shape (na,)), (b to a, shape (nb,))."""
        a, b = self.array(a), self.array(b)
        _check_sets(a, b)
        return _nn_cross(a, b, self)

    def nearest(self, a: Any, b: Any, *, self_index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:func:`nearest_neighbours` with the index of each neighbour."""
        return nearest_neighbours(a, b, self_index=self_index, return_index=True, engine=self)

    def aats(self, real: Any, syn: Any, *, n_repeats: int, size: int, seed: int) -> dict[str, Any]:
        """:func:`adversarial_accuracy` on this engine."""
        return adversarial_accuracy(real, syn, n_repeats=n_repeats, size=size, seed=seed, engine=self)

    def row_keys(self, x: Any) -> list[bytes]:
        """:func:`row_digests` on this engine."""
        return row_digests(x, engine=self)


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def open_blockwise(
    scheduler: str | None = None,
    *,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | int | None = "auto",
    processes: bool = False,
    chunk_bytes: int = 32 * 2**20,
) -> Iterator[Blockwise]:
    """A :class:`Blockwise` engine on a local cluster, or on an existing one; closed on exit.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``tcp://host:8786``); None starts a
        :class:`~distributed.LocalCluster`.
    n_workers
        Workers of the local cluster (default: one per core).
    threads_per_worker
        Threads of each local worker.
    memory_limit
        Memory of each local worker (``"4GB"``, bytes, ``"auto"``: the machine's memory shared
        out, None: no limit); a worker spills to disk near it, and pauses beyond 80%. Thread
        workers share this process, whose memory holds the in-memory sets themselves, so
        ``"auto"`` sets no limit for them (a limit could pause them for the client's data).
    processes
        Local workers as processes (each reads its blocks itself: right for store-backed
        sets) instead of threads of this process (right for in-memory sets, which are then
        never copied).
    chunk_bytes
        See :attr:`Blockwise.chunk_bytes`.

    Raises
    ------
    InputError
        When the scheduler cannot be reached.
    """
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise InputError(
                f"cannot reach the Dask scheduler at {scheduler} ({err}); start one (dask scheduler) or "
                "leave --scheduler out to run on a local cluster"
            ) from None
        try:
            yield Blockwise(client, chunk_bytes, f"the Dask scheduler at {scheduler}")
        finally:
            client.close()
        return
    workers = n_workers or _cores()
    if not processes and memory_limit == "auto":
        memory_limit = None
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=threads_per_worker, processes=processes,
        memory_limit=memory_limit, dashboard_address=":0", silence_logs=logging.ERROR,
    )
    try:
        with Client(cluster) as client:
            kind = "processes" if processes else "threads"
            yield Blockwise(client, chunk_bytes, f"a local Dask cluster of {workers} workers ({kind})",
                            blas_threads=None if processes else threads_per_worker)
    finally:
        cluster.close()


def _engine(engine: Blockwise | None) -> Blockwise:
    return engine if engine is not None else Blockwise()


def _block(x: Any) -> Any:
    """A dask array as one delayed ndarray, for a task that only reads it.

    Passing the array itself to a delayed function would finalize it, and dask copies a
    single chunk then (a defensive copy of every block of an in-memory set); a block that
    spans several chunks is concatenated once (a new array either way).
    """
    single = x.rechunk(x.shape) if x.npartitions > 1 else x
    (value,) = single.to_delayed().ravel()
    return value


def _tree_sum(parts: list) -> Any:
    """A balanced tree of delayed additions (partial results are freed as they are added)."""
    dask, _ = _dask()
    add = dask.delayed(np.add, pure=True)
    while len(parts) > 1:
        parts = [add(parts[k], parts[k + 1]) if k + 1 < len(parts) else parts[k] for k in range(0, len(parts), 2)]
    return parts[0]


def _row_block_sum(x: Any, func: Callable[..., Any], engine: Blockwise, *args: Any) -> Any:
    """``sum over blocks of rows of func(rows as ndarray, *args)``, one block of about chunk_bytes at a time."""
    dask, _ = _dask()
    step = engine.rows_per_block(x.shape[1])
    delayed_args = [engine.share(a) if isinstance(a, np.ndarray) else a for a in args]
    f = dask.delayed(func, pure=True)
    parts = [f(_block(x[r : r + step]), *delayed_args) for r in range(0, x.shape[0], step)]
    (out,) = engine.compute(_tree_sum(parts))
    return out


def _check_sets(real: Any, syn: Any) -> None:
    check_same_sites(real, syn)


# ---------------------------------------------------------------------------- allele frequencies
def site_counts(x: Any, *, engine: Blockwise | None = None) -> np.ndarray:
    """Carriers of allele 1 at each site.

    Parameters
    ----------
    x : dask array (or Haplotypes, store, ndarray) of 0/1, shape (n_haplotypes, n_sites)

    Returns
    -------
    ndarray of int64, shape (n_sites,)
    """
    engine = _engine(engine)
    x = engine.array(x)
    (counts,) = engine.compute(x.sum(axis=0, dtype=np.int64))
    return np.asarray(counts, dtype=np.int64)


def allele_frequency_comparison(real: Any, syn: Any, *, engine: Blockwise | None = None,
                                real_counts: np.ndarray | None = None) -> dict[str, Any]:
    """:func:`haplogen.metrics.frequency.allele_frequency_comparison` from column sums over chunks.

    Parameters
    ----------
    real : shape (n_real, n_sites)
    syn : shape (n_syn, n_sites)
    real_counts : ndarray of int64, shape (n_sites,), optional
        :func:`site_counts` of ``real``, when already known (several synthetic sets).

    Returns
    -------
    dict
        ``af_r``, ``af_rmse``, ``af_fixed``, ``af_lost``, ``real_freq``, ``syn_freq``.
    """
    engine = _engine(engine)
    real, syn = engine.array(real), engine.array(syn)
    _check_sets(real, syn)
    for x, name in ((real, "real"), (syn, "synthetic")):
        if x.shape[0] < 1:
            raise InputError(f"comparing allele frequencies needs at least 1 {name} haplotypes, found 0; "
                             "pass a larger set")
    rc = real_counts if real_counts is not None else site_counts(real, engine=engine)
    sc = site_counts(syn, engine=engine)
    nr, ns = real.shape[0], syn.shape[0]
    real_freq, syn_freq = rc / nr, sc / ns
    polymorphic = (rc > 0) & (rc < nr)
    return {
        "af_r": pearson_r(real_freq, syn_freq),
        "af_rmse": float(np.sqrt(np.mean((real_freq - syn_freq) ** 2))) if real.shape[1] else float("nan"),
        "af_fixed": int(np.count_nonzero(polymorphic & (sc == ns))),
        "af_lost": int(np.count_nonzero(polymorphic & (sc == 0))),
        "real_freq": real_freq,
        "syn_freq": syn_freq,
    }


# ---------------------------------------------------------------------------- LD
def ld_window_comparison(
    real: Any,
    syns: Mapping[str, Any],
    chrom: Sequence[str] | np.ndarray,
    position: Sequence[int] | np.ndarray,
    *,
    window_sites: int = 200,
    window_bp: int | None = None,
    n_bins: int = 20,
    block_size: int = 512,
    real_name: str = "real",
    engine: Blockwise | None = None,
) -> dict[str, Any]:
    """:func:`haplogen.metrics.ld.ld_window_comparison` (several sets) on dask arrays.

    Each block of sites (:func:`~haplogen.metrics.ld.window_blocks`) is one task per set:
    the float32 product ``X[:, a:e]ᵀ X[:, a:stop]`` reduced over the chunks of haplotypes, then
    :func:`~haplogen.metrics.ld.window_block_summary`; the summaries are merged in the client.

    Parameters
    ----------
    real : shape (n_real, n_sites)
    syns : dict of str to arrays, each shape (n_syn, n_sites)
    chrom, position : shape (n_sites,)
    window_sites, window_bp, n_bins, block_size
        As in :func:`haplogen.metrics.ld.ld_window_comparison`.
    real_name
        Key of the real set's decay in the result.

    Returns
    -------
    dict
        ``comparisons`` ({name: {ld_r, n_pairs, window_sites}}), ``decay`` ({real_name and each
        name: decay}), ``window_sites``, ``window_bp``.
    """
    from .metrics.ld import (merge_window_summaries, window_block_summary, window_blocks, window_decay_edges,
                             window_result)

    dask, _ = _dask()
    engine = _engine(engine)
    if real_name in syns:
        raise InputError(f"a synthetic set is named {real_name!r}, the name of the real set; rename one of them")
    real = engine.array(real)
    arrays = {name: engine.array(x) for name, x in syns.items()}
    for x in arrays.values():
        _check_sets(real, x)
    n_sites = real.shape[1]
    chrom = np.asarray(chrom).astype(str)
    position = np.asarray(position, dtype=np.int64)
    if chrom.shape != (n_sites,) or position.shape != (n_sites,):
        raise InputError(
            f"chrom and position must have one entry per site ({n_sites}), found shapes "
            f"{chrom.shape} and {position.shape}; pass Haplotypes.sites.chrom and .position"
        )
    plan = window_blocks(chrom, window_sites, block_size)
    edges = window_decay_edges(chrom, position, window_sites, n_bins, window_bp)

    def counts(x: Any, a: int, e: int, stop: int) -> tuple:
        n = x.shape[0]
        dtype = _F32 if n < 2**24 else np.float64
        cols = x[:, a:stop]
        rows = engine.rows_per_block(stop - a)
        cols = cols.rechunk((rows, stop - a))
        f = cols.astype(dtype)
        return (f[:, : e - a].T @ f, cols.sum(axis=0, dtype=np.int64), n)

    summary = dask.delayed(window_block_summary, pure=True)
    tasks = []
    for a, e, stop in plan:
        tasks.append(summary((a, e, stop), position[a:stop], window_sites, window_bp, edges,
                             counts(real, a, e, stop), [counts(x, a, e, stop) for x in arrays.values()]))
    # in batches, so that the client never holds the graph of a whole chromosome at once
    summaries: list = []
    batch = 256
    for k in range(0, len(tasks), batch):
        summaries.extend(engine.compute(*tasks[k : k + batch]))
    merged = merge_window_summaries(summaries, len(arrays), n_bins)
    return window_result(merged, list(arrays), edges, window_sites, window_bp, real_name=real_name)


def ld_r2_columns(x: Any, columns: Sequence[int] | np.ndarray, *, engine: Blockwise | None = None) -> np.ndarray:
    """:func:`haplogen.metrics.ld.ld_r2` of a few columns (the heatmap window), read from the array.

    Returns
    -------
    ndarray of float32, shape (k, k)
    """
    from .metrics.ld import ld_r2

    engine = _engine(engine)
    x = engine.array(x)
    columns = np.asarray(columns, dtype=np.int64)
    (sub,) = engine.compute(x[:, columns])
    return ld_r2(np.asarray(sub, dtype=np.uint8))


# ---------------------------------------------------------------------------- PCA
def _times(rows: np.ndarray, right: np.ndarray, block_sites: int) -> np.ndarray:
    """``rows @ right`` (float64 result), the 0/1 rows made float one block of sites at a time."""
    out = np.zeros((rows.shape[0], right.shape[1]), dtype=np.float64)
    for c in range(0, rows.shape[1], block_sites):
        out += rows[:, c : c + block_sites].astype(_F32) @ right[c : c + block_sites]
    return out


def _transpose_times(rows: np.ndarray, start: int, left: np.ndarray, block_sites: int) -> np.ndarray:
    """``rowsᵀ @ left[start:start + len(rows)]`` (float64, shape (n_sites, l)), by blocks of sites."""
    part = left[start : start + rows.shape[0]].astype(_F32)
    out = np.empty((rows.shape[1], left.shape[1]), dtype=np.float64)
    for c in range(0, rows.shape[1], block_sites):
        out[c : c + block_sites] = rows[:, c : c + block_sites].astype(_F32).T @ part
    return out


def _row_passes(x: Any, engine: Blockwise) -> tuple[int, int, Any]:
    """Rows per block, sites per float block, and the blocks of rows of ``x`` (one task each)."""
    m = x.shape[1]
    step = engine.rows_per_block(m)
    block_sites = int(max(64, engine.chunk_bytes // (4 * step)))
    return step, block_sites, [(r, _block(x[r : r + step])) for r in range(0, x.shape[0], step)]


def _x_times(x: Any, right: np.ndarray, engine: Blockwise) -> np.ndarray:
    """``X @ right`` for a 0/1 dask array X (n, m) and a small float matrix (m, l): shape (n, l)."""
    dask, _ = _dask()
    _, block_sites, blocks = _row_passes(x, engine)
    shared = engine.share(np.ascontiguousarray(right, dtype=_F32))
    f = dask.delayed(_times, pure=True)
    parts = engine.compute(*[f(rows, shared, block_sites) for _, rows in blocks])
    return np.concatenate(parts) if parts else np.zeros((0, right.shape[1]))


def _xt_times(x: Any, left: np.ndarray, engine: Blockwise) -> np.ndarray:
    """``Xᵀ @ left`` for a 0/1 dask array X (n, m) and a small float matrix (n, l): shape (m, l)."""
    dask, _ = _dask()
    _, block_sites, blocks = _row_passes(x, engine)
    shared = engine.share(np.ascontiguousarray(left, dtype=_F32))
    f = dask.delayed(_transpose_times, pure=True)
    (out,) = engine.compute(_tree_sum([f(rows, r, shared, block_sites) for r, rows in blocks]))
    return out


def randomized_pca(x: Any, n_components: int, *, seed: int = 0, n_power_iter: int = 4, n_oversamples: int = 10,
                   engine: Blockwise | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top principal axes of the site-centred 0/1 matrix, by a randomized SVD in passes over blocks.

    Halko, Martinsson and Tropp (2011), algorithms 4.4 and 5.1, on ``A = X - 1 μᵀ`` (μ the
    allele frequencies) without forming it: ``A Ω = X Ω - 1 (μᵀ Ω)`` and
    ``Aᵀ Q = Xᵀ Q - μ (1ᵀ Q)``. Each product is one pass over blocks of haplotypes (a block
    made float one block of sites at a time), computed before the next starts, so that
    nothing but (n, l) and (n_sites, l) matrices (l = k + n_oversamples) outlives a pass.

    Parameters
    ----------
    x : shape (n, n_sites)
    n_components
        k, the axes kept.
    seed
        Seed of the random test matrix Ω.
    n_power_iter
        Power iterations (each two passes): more is closer to the exact axes.
    n_oversamples
        Extra columns of Ω.

    Returns
    -------
    components : float32, shape (k, n_sites)
        Unit axes, signed like scikit-learn's (largest loading positive).
    singular_values : float64, shape (k,)
    mean : float64, shape (n_sites,)
    """
    engine = _engine(engine)
    x = engine.array(x)
    n, m = x.shape
    mean = site_counts(x, engine=engine) / n
    k = min(n_components, n, m)
    width = min(k + n_oversamples, n, m)
    omega = np.random.default_rng(seed).standard_normal((m, width))

    def a_times(right: np.ndarray) -> np.ndarray:  # (n, l)
        return _x_times(x, right, engine) - (mean @ right)[None, :]

    def at_times(left: np.ndarray) -> np.ndarray:  # (m, l)
        return _xt_times(x, left, engine) - np.outer(mean, left.sum(axis=0))

    q, _ = np.linalg.qr(a_times(omega))
    for _ in range(n_power_iter):
        z, _ = np.linalg.qr(at_times(q))
        q, _ = np.linalg.qr(a_times(z))
    b = at_times(q).T  # (l, m) = Qᵀ A
    _, singular, vt = np.linalg.svd(b, full_matrices=False)
    components = vt[:k]
    # scikit-learn's sign convention (svd_flip, u_based_decision=False): largest |loading| positive
    signs = np.sign(components[np.arange(k), np.argmax(np.abs(components), axis=1)])
    signs[signs == 0] = 1
    return (components * signs[:, None]).astype(_F32), singular[:k], mean


def pca_comparison(
    real: Any,
    syns: Mapping[str, Any],
    *,
    n_components: int = 10,
    seed: int = 0,
    n_power_iter: int = 4,
    engine: Blockwise | None = None,
) -> dict[str, Any]:
    """:func:`haplogen.metrics.pca.pca_comparison` by a randomized SVD of the centred real set.

    The axes come from :func:`randomized_pca` on every real haplotype (no subsample); every
    haplotype is then projected, ``(x - μ) Vᵀ``, by blocks of haplotypes.

    Parameters
    ----------
    real : shape (n_real, n_sites)
    syns : dict of str to arrays, each shape (n_syn, n_sites)
    n_components, seed
        As in the in-memory function.
    n_power_iter
        Power iterations of the randomized SVD (more: closer to the exact components).

    Returns
    -------
    dict
        ``real_coords``, ``syn_coords``, ``explained_variance_ratio``, ``w1``, ``n_fit``,
        ``fit_subsampled`` (False), as :func:`haplogen.metrics.pca.pca_comparison`.
    """
    from scipy.stats import wasserstein_distance

    engine = _engine(engine)
    real = engine.array(real)
    arrays = {name: engine.array(x) for name, x in syns.items()}
    n = real.shape[0]
    if n < 2:
        raise InputError(f"a PCA needs at least 2 real haplotypes, found {n}; pass a larger set")
    if n_components < 1:
        raise InputError(f"n_components must be at least 1, found {n_components}")
    for name, x in arrays.items():
        _check_sets(real, x)
        if x.shape[0] < 1:
            raise InputError(f"a PCA projection needs at least 1 synthetic ({name}) haplotypes, found 0")
    components, singular, mean = randomized_pca(real, n_components, seed=seed, n_power_iter=n_power_iter,
                                                engine=engine)

    def project(x: Any) -> np.ndarray:
        return (_x_times(x, components.T, engine) - (mean @ components.T)[None, :]).astype(_F32)

    real_coords = project(real)
    syn_coords = {name: project(x) for name, x in arrays.items()}
    counts = mean * n
    total_variance = float(np.sum(counts * (n - counts) / n)) / (n - 1)
    ratio = (singular**2 / (n - 1)) / total_variance if total_variance > 0 else np.full(singular.size, np.nan)
    w1 = {
        name: {f"pc{c + 1}": float(wasserstein_distance(real_coords[:, c], coords[:, c]))
               for c in range(min(2, coords.shape[1]))}
        for name, coords in syn_coords.items()
    }
    return {"real_coords": real_coords, "syn_coords": syn_coords,
            "explained_variance_ratio": np.asarray(ratio, dtype=np.float64), "w1": w1, "n_fit": int(n),
            "fit_subsampled": False}


# ---------------------------------------------------------------------------- pairwise distances
def _pair_partials(xa: np.ndarray, xb: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray, bool]]) -> np.ndarray:
    """Hamming distances, on one block of sites, of the three pair sets (stacked, int32)."""
    from .metrics.distance import _pair_distances

    pa, pb = np.packbits(xa, axis=1), np.packbits(xb, axis=1)
    packed = {"aa": (pa, pa), "bb": (pb, pb), "ab": (pa, pb)}
    chunk = max(1024, 2**23 // max(1, pa.shape[1]))  # pairs at once: about 8 MB of packed rows per operand
    out = [_pair_distances(*packed[kind], i, j, chunk=chunk).astype(np.int32) for kind, (i, j) in pairs]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int32)


def pairwise_distance_comparison(real: Any, syn: Any, *, max_pairs: int = 500_000, seed: int = 0,
                                 engine: Blockwise | None = None) -> dict[str, Any]:
    """:func:`haplogen.metrics.distance.pairwise_distance_comparison`, by blocks of sites.

    The pairs are drawn exactly as the in-memory function draws them (same seed, same
    order); each block of sites adds its share of every pair's distance.

    Returns
    -------
    dict
        ``pairwise_w1``, ``hist_real``, ``hist_syn``, ``hist_between``, ``n_pairs``,
        ``n_pairs_real``, ``n_pairs_syn``, ``n_pairs_between``, ``subsampled``.
    """
    from scipy.stats import wasserstein_distance

    from .metrics.distance import _between_pairs, _within_pairs

    dask, _ = _dask()
    engine = _engine(engine)
    real, syn = engine.array(real), engine.array(syn)
    _check_sets(real, syn)
    for x, name in ((real, "real"), (syn, "synthetic")):
        if x.shape[0] < 2:
            raise InputError(f"a pairwise distance distribution needs at least 2 {name} haplotypes, "
                             f"found {x.shape[0]}; pass a larger set")
    if max_pairs < 1:
        raise InputError(f"max_pairs must be at least 1, found {max_pairs}")
    nr, ns, m = real.shape[0], syn.shape[0], real.shape[1]
    rng = np.random.default_rng(seed)
    drawn = {
        "real": ("aa", _within_pairs(nr, max_pairs, rng)),
        "syn": ("bb", _within_pairs(ns, max_pairs, rng)),
        "between": ("ab", _between_pairs(nr, ns, max_pairs, rng)),
    }
    pairs = engine.share([(kind, (i, j)) for kind, (i, j, _) in drawn.values()])
    step = engine.cols_per_block(max(nr, ns))
    step = max(8, step - step % 8)
    partial = dask.delayed(_pair_partials, pure=True)
    parts = [partial(_block(real[:, c : c + step]), _block(syn[:, c : c + step]), pairs) for c in range(0, m, step)]
    if parts:
        (d,) = engine.compute(_tree_sum(parts))
    else:
        d = np.zeros(sum(v[1][0].size for v in drawn.values()), dtype=np.int32)
    hists, counts, offset = {}, {}, 0
    for name, (_, (i, _, _)) in drawn.items():
        hists[name] = np.bincount(d[offset : offset + i.size], minlength=m + 1).astype(np.int64)
        counts[name] = int(i.size)
        offset += i.size
    support = np.arange(m + 1, dtype=np.float64)
    w1 = wasserstein_distance(support, support, u_weights=hists["real"], v_weights=hists["syn"])
    return {
        "pairwise_w1": float(w1), "hist_real": hists["real"], "hist_syn": hists["syn"],
        "hist_between": hists["between"], "n_pairs": int(sum(counts.values())),
        "n_pairs_real": counts["real"], "n_pairs_syn": counts["syn"], "n_pairs_between": counts["between"],
        "subsampled": bool(any(v[1][2] for v in drawn.values())),
    }


# ---------------------------------------------------------------------------- 3-point correlations
def _triplet_sets(m: int, spacings: Sequence[int], n_triplets: int, seed: int) -> dict[str, tuple[np.ndarray, bool]]:
    """The triplets of :func:`haplogen.metrics.correlation.three_point_comparison`, drawn the same way."""
    from .metrics.correlation import _random_triplets

    rng = np.random.default_rng(seed)
    sets: dict[str, tuple[np.ndarray, bool]] = {}
    for s in spacings:
        s = int(s)
        if s < 1:
            raise InputError(f"triplet spacings must be at least 1, found {s}")
        n_start = m - 2 * s
        if n_start < 1:
            continue
        if n_start > n_triplets:
            start = np.sort(rng.choice(n_start, size=n_triplets, replace=False))
        else:
            start = np.arange(n_start)
        sets[str(s)] = (np.stack([start, start + s, start + 2 * s], axis=1), n_start > n_triplets)
    if m >= 3:
        sets["random"] = (_random_triplets(m, n_triplets, rng), True)
    return sets


def _triplet_counts(rows: np.ndarray, triplets: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """int64 (4, k): haplotypes of ``rows`` carrying 1 at a and b, a and c, b and c, and all three."""
    out = np.zeros((4, triplets.shape[0]), dtype=np.int64)
    for c in range(0, triplets.shape[0], chunk):
        a, b, t = triplets[c : c + chunk].T
        xa, xb, xc = rows[:, a], rows[:, b], rows[:, t]
        ab = xa & xb
        out[0, c : c + chunk] = ab.sum(axis=0, dtype=np.int64)
        out[1, c : c + chunk] = (xa & xc).sum(axis=0, dtype=np.int64)
        out[2, c : c + chunk] = (xb & xc).sum(axis=0, dtype=np.int64)
        out[3, c : c + chunk] = (ab & xc).sum(axis=0, dtype=np.int64)
    return out


def _three_point_values(x: Any, triplets: np.ndarray, engine: Blockwise) -> np.ndarray:
    """Connected 3-point correlation of each triplet, from counts summed over blocks of haplotypes."""
    n = x.shape[0]
    if n == 0:
        return np.full(triplets.shape[0], np.nan)
    cols, local = np.unique(triplets, return_inverse=True)
    local = local.reshape(triplets.shape)
    sub = x[:, cols]
    counts = _row_block_sum(sub, _triplet_counts, engine, local)
    single = site_counts(sub, engine=engine)
    f = single / n
    f_ab, f_ac, f_bc, f_abc = (counts[k] / n for k in range(4))
    fa, fb, fc = f[local[:, 0]], f[local[:, 1]], f[local[:, 2]]
    return f_abc - f_ab * fc - f_ac * fb - f_bc * fa + 2 * fa * fb * fc


def three_point_comparison(real: Any, syn: Any, *, spacings: Sequence[int] = (1, 4, 16, 64, 256, 1024),
                           n_triplets: int = 5000, seed: int = 0,
                           engine: Blockwise | None = None) -> dict[str, Any]:
    """:func:`haplogen.metrics.correlation.three_point_comparison`, by blocks of haplotypes.

    The same triplets (same seed); the counts of 1 at one, two and three sites of each
    triplet are summed over blocks of haplotypes, so the values are the in-memory ones.

    Returns
    -------
    dict
        ``three_point_r``, ``values``, ``n_triplets``, ``subsampled``.
    """
    engine = _engine(engine)
    real, syn = engine.array(real), engine.array(syn)
    _check_sets(real, syn)
    for x, name in ((real, "real"), (syn, "synthetic")):
        if x.shape[0] < 1:
            raise InputError(f"three-point correlations needs at least 1 {name} haplotypes, found 0; "
                             "pass a larger set")
    if n_triplets < 1:
        raise InputError(f"n_triplets must be at least 1, found {n_triplets}")
    sets = _triplet_sets(real.shape[1], spacings, n_triplets, seed)
    result: dict[str, Any] = {"three_point_r": {}, "values": {}, "n_triplets": {}, "subsampled": {}}
    if not sets:
        return result
    keys = list(sets)
    everything = np.concatenate([sets[k][0] for k in keys])
    rv_all = _three_point_values(real, everything, engine)
    sv_all = _three_point_values(syn, everything, engine)
    offset = 0
    for key in keys:
        triplets, sub = sets[key]
        rv, sv = rv_all[offset : offset + len(triplets)], sv_all[offset : offset + len(triplets)]
        offset += len(triplets)
        result["three_point_r"][key] = pearson_r(rv, sv)
        result["values"][key] = (rv, sv)
        result["n_triplets"][key] = int(triplets.shape[0])
        result["subsampled"][key] = bool(sub)
    return result


# ---------------------------------------------------------------------------- nearest neighbours
def _block_nearest(
    xa: np.ndarray, xb: np.ndarray, b0: int, own: np.ndarray | None, block_sites: int, want_cols: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Nearest rows between two blocks of haplotypes.

    Parameters
    ----------
    xa : ndarray of uint8, shape (p, n_sites)
        Query rows.
    xb : ndarray of uint8, shape (q, n_sites)
        Reference rows; the first is row ``b0`` of the reference set.
    own : ndarray of int, shape (p,), optional
        Each query's own row in the reference set, left out.
    block_sites
        Sites per product: the 0/1 blocks become float one block of sites at a time.
    want_cols
        Also return each reference row's nearest query distance.

    Returns
    -------
    row_distance : float, shape (p,); row_index : int64, shape (p,) (the first on ties, as a
    row of the reference set); col_distance : float, shape (q,), or None.
    """
    m = xa.shape[1]
    dtype = _F32 if m < 2**24 else np.float64
    dot = np.zeros((xa.shape[0], xb.shape[0]), dtype=dtype)  # (p, q) sites where both carry 1
    for c in range(0, m, block_sites):
        dot += xa[:, c : c + block_sites].astype(dtype) @ xb[:, c : c + block_sites].astype(dtype).T
    ca = xa.sum(axis=1, dtype=np.int64).astype(dtype)
    cb = xb.sum(axis=1, dtype=np.int64).astype(dtype)
    # (|a| - a·b) + (|b| - a·b): each term exact below 2^24 sites
    d = (ca[:, None] - dot) + (cb[None, :] - dot)
    if own is not None:
        local = own - b0
        inside = (local >= 0) & (local < xb.shape[0])
        d[np.flatnonzero(inside), local[inside]] = np.inf
    k = d.argmin(axis=1) if d.shape[1] else np.zeros(d.shape[0], dtype=np.int64)
    row = d[np.arange(d.shape[0]), k] if d.shape[1] else np.full(d.shape[0], np.inf)
    return row, k.astype(np.int64) + b0, (d.min(axis=0) if want_cols and d.shape[0] else None)


def _merge_rows(left: tuple, right: tuple) -> tuple:
    """Nearest of two reference blocks, ``left`` the earlier: it keeps a tie (the first row wins)."""
    closer = right[0] < left[0]
    return np.where(closer, right[0], left[0]), np.where(closer, right[1], left[1])


def _tree(parts: list, combine: Callable[[Any, Any], Any]) -> Any:
    """A balanced tree of delayed ``combine`` of neighbours, in order (left is always the earlier)."""
    dask, _ = _dask()
    f = dask.delayed(combine, pure=True)
    while len(parts) > 1:
        parts = [f(parts[k], parts[k + 1]) if k + 1 < len(parts) else parts[k] for k in range(0, len(parts), 2)]
    return parts[0]


def _nearest_blocks(a: Any, b: Any, self_index: np.ndarray | None, want_cols: bool,
                    engine: Blockwise) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Blocks of query rows x blocks of reference rows, one task each; minima merged by ordered trees.

    A task holds two blocks of about :attr:`Blockwise.chunk_bytes` of 0/1 data (whole
    haplotypes: views of an in-memory set, whose blocks :meth:`Blockwise.array` aligns with
    these), float copies of one block of sites at a time and their (p, q) distances. One block
    of queries is computed at a time, so that the reference blocks read from a store are
    released in between: memory does not grow with the number of haplotypes.
    """
    dask, _ = _dask()
    n_a, n_b, m = a.shape[0], b.shape[0], a.shape[1]
    rows = engine.rows_per_block(m)
    block_sites = int(max(256, min(m, engine.chunk_bytes // (4 * rows)))) if m else 1
    task = dask.delayed(_block_nearest, pure=True, nout=3)
    blocks_b = [(j, _block(b[j : j + rows])) for j in range(0, n_b, rows)]
    distance, index = [], []
    cols = np.full(n_b, np.inf) if want_cols else None
    for i in range(0, n_a, rows):
        block_a = _block(a[i : i + rows])
        own = None if self_index is None else engine.share(self_index[i : i + rows])
        merged, col_parts = [], []
        for j, block_b in blocks_b:
            row_d, row_i, col_d = task(block_a, block_b, j, own, block_sites, want_cols)
            merged.append(dask.delayed(tuple)((row_d, row_i)))
            col_parts.append(col_d)
        pair = merged[0] if len(merged) == 1 else _tree(merged, _merge_rows)
        (best, *col_mins) = engine.compute(pair, *(col_parts if want_cols else []))
        distance.append(best[0])
        index.append(best[1])
        if want_cols:
            np.minimum(cols, np.concatenate(col_mins), out=cols)
    return (np.concatenate(distance) if distance else np.zeros(0),
            np.concatenate(index).astype(np.int64) if index else np.zeros(0, np.int64), cols)


def _as_int(distance: np.ndarray) -> np.ndarray:
    # a query whose only reference is itself has no neighbour: the largest int32 (as in memory)
    return np.rint(np.where(np.isfinite(distance), distance, np.iinfo(np.int32).max)).astype(np.int32)


def nearest_neighbours(
    a: Any,
    b: Any = None,
    *,
    self_index: np.ndarray | None = None,
    return_index: bool = False,
    engine: Blockwise | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Hamming distance of each row of ``a`` to its nearest row of ``b``, blocks of rows x blocks of rows.

    Parameters
    ----------
    a : shape (na, n_sites)
    b : shape (nb, n_sites), optional
        None searches within ``a``, leaving each row itself out (like
        :func:`haplogen.metrics.distance.nearest_neighbour_distances`).
    self_index : ndarray of int, shape (na,), optional
        The row of ``b`` that is each query itself, left out of its search.
    return_index
        Also return the row of ``b`` at that distance (the first one on ties).

    Returns
    -------
    distance : ndarray of int32, shape (na,)
    index : ndarray of int64, shape (na,), with ``return_index``
    """
    engine = _engine(engine)
    a = engine.array(a)
    within = b is None
    b = a if within else engine.array(b)
    _check_sets(a, b)
    if within and a.shape[0] < 2:
        raise InputError(f"a leave-one-out nearest-neighbour search needs at least 2 query haplotypes, "
                         f"found {a.shape[0]}; pass a larger set")
    if b.shape[0] < 1:
        raise InputError("a nearest-neighbour search needs at least 1 reference haplotypes, found 0; pass a larger set")
    if within:
        self_index = np.arange(a.shape[0])
    if self_index is not None:
        self_index = np.asarray(self_index, dtype=np.int64)
        if self_index.shape != (a.shape[0],):
            raise InputError(f"self_index must have one entry per query ({a.shape[0]}), found shape {self_index.shape}")
    distance, index, _ = _nearest_blocks(a, b, self_index, False, engine)
    return (_as_int(distance), index) if return_index else _as_int(distance)


def _nn_cross(a: Any, b: Any, engine: Blockwise) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour distances both ways (a to b, b to a) from one pass over the blocks."""
    a_to_b, _, b_to_a = _nearest_blocks(a, b, None, True, engine)
    return _as_int(a_to_b), _as_int(b_to_a)


def _nn_within(a: Any, engine: Blockwise) -> np.ndarray:
    """Leave-one-out nearest-neighbour distance of every row of ``a`` within ``a``, int32 (n,).

    The distance matrix is symmetric: only the blocks on and above the block diagonal are
    computed (about half the products of a search of ``a`` against itself), each giving the
    minima of its rows and of its columns. The values are those of
    ``nearest_neighbours(a)`` (exact minima; a row is left out of its own search, an identical
    other row is not). Pairs of blocks are computed a batch at a time (at least as many tasks
    as blocks), so that blocks read from a store are released in between.
    """
    dask, _ = _dask()
    n, m = a.shape
    if n < 2:
        raise InputError(f"a leave-one-out nearest-neighbour search needs at least 2 query haplotypes, "
                         f"found {n}; pass a larger set")
    rows = engine.rows_per_block(m)
    block_sites = int(max(256, min(m, engine.chunk_bytes // (4 * rows)))) if m else 1
    task = dask.delayed(_block_nearest, pure=True, nout=3)
    starts = list(range(0, n, rows))
    blocks = [_block(a[i : i + rows]) for i in starts]
    pairs = [(x, y) for x in range(len(starts)) for y in range(x, len(starts))]
    best = np.full(n, np.inf)
    batch = max(8, len(starts))
    for k in range(0, len(pairs), batch):
        chosen = pairs[k : k + batch]
        parts = []
        for x, y in chosen:
            own = engine.share(np.arange(starts[x], min(starts[x] + rows, n))) if x == y else None
            row_d, _, col_d = task(blocks[x], blocks[y], starts[y], own, block_sites, True)
            parts.append(dask.delayed(tuple)((row_d, col_d)))
        for (x, y), (row_d, col_d) in zip(chosen, engine.compute(*parts)):
            i, j = starts[x], starts[y]
            np.minimum(best[i : i + row_d.size], row_d, out=best[i : i + row_d.size])
            if x != y:
                np.minimum(best[j : j + col_d.size], col_d, out=best[j : j + col_d.size])
    return _as_int(best)


def _rows_in_memory(x: Any, index: np.ndarray, engine: Blockwise) -> Any:
    """Rows ``index`` (sorted) of a set, read once into memory and wrapped again (blocks of rows).

    A subsample is searched many times (each block of queries against every block of
    references): reading it once spares the store's chunks a decompression per block pair.
    It holds ``len(index) x n_sites`` bytes, which the nearest-neighbour budget bounds
    (:func:`haplogen.metrics.aats.aats_size`).
    """
    (rows,) = engine.compute(x[np.asarray(index, dtype=np.int64)])
    return engine.wrap(np.ascontiguousarray(rows, dtype=np.uint8))


def adversarial_accuracy(real: Any, syn: Any, *, n_repeats: int = 5, size: int | None = None, seed: int = 0,
                         engine: Blockwise | None = None) -> dict[str, Any]:
    """:func:`haplogen.metrics.aats.adversarial_accuracy` on dask arrays.

    The same subsamples (same seed, same draws) and exact distances, so the same values.
    A subsample is read into memory once (``size x n_sites`` bytes; the evaluation bounds
    ``size`` with :func:`haplogen.metrics.aats.aats_size`), and the searches within a set
    compute half of its symmetric distance matrix.

    Returns
    -------
    dict
        As the in-memory function: ``aats``, ``aa_truth``, ``aa_syn`` and their ``_strict``
        versions, ``aats_sd``, ``size``, ``n_repeats``, ``d_rr``, ``d_rs``, ``d_ss``, ``d_sr``.
    """
    from .metrics.aats import accuracy_from_distances

    engine = _engine(engine)
    real, syn = engine.array(real), engine.array(syn)
    _check_sets(real, syn)
    for x, name in ((real, "real"), (syn, "synthetic")):
        if x.shape[0] < 2:
            raise InputError(f"adversarial accuracy needs at least 2 {name} haplotypes, found {x.shape[0]}; "
                             "pass a larger set")
    largest = min(real.shape[0], syn.shape[0])
    if size is None:
        size = largest
    if not 2 <= size <= largest:
        raise InputError(
            f"the AATS subsample size must be between 2 and the smaller set's size ({largest}), "
            f"found {size}; pass size=None to use {largest}"
        )
    if n_repeats < 1:
        raise InputError(f"n_repeats must be at least 1, found {n_repeats}")
    if size == real.shape[0] and size == syn.shape[0]:
        n_repeats = 1
    rng = np.random.default_rng(seed)
    rows, first = [], None
    for _ in range(n_repeats):
        r = real if size == real.shape[0] else \
            _rows_in_memory(real, np.sort(rng.choice(real.shape[0], size, replace=False)), engine)
        s = syn if size == syn.shape[0] else \
            _rows_in_memory(syn, np.sort(rng.choice(syn.shape[0], size, replace=False)), engine)
        d_rr = _nn_within(r, engine)
        d_ss = _nn_within(s, engine)
        d_rs, d_sr = _nn_cross(r, s, engine)
        del r, s  # the next repeat's subsamples replace these
        rows.append(accuracy_from_distances(d_rr, d_rs, d_ss, d_sr))
        if first is None:
            first = {"d_rr": d_rr, "d_rs": d_rs, "d_ss": d_ss, "d_sr": d_sr}
    out: dict[str, Any] = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
    aats = np.array([row["aats"] for row in rows])
    out["aats_sd"] = float(aats.std(ddof=1)) if aats.size > 1 else 0.0
    out["size"] = int(size)
    out["n_repeats"] = int(n_repeats)
    out.update(first)
    return out


# ---------------------------------------------------------------------------- exact copies
def _digests(rows: np.ndarray) -> list[bytes]:
    packed = np.packbits(rows, axis=1)
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in packed]


def row_digests(x: Any, *, engine: Blockwise | None = None) -> list[bytes]:
    """A 16-byte BLAKE2b digest of each haplotype (its packed bits), by blocks of haplotypes.

    Two haplotypes are equal when their digests are (a collision has probability about
    2⁻¹²⁸ per pair).

    Returns
    -------
    list of bytes, length n_haplotypes
    """
    dask, _ = _dask()
    engine = _engine(engine)
    x = engine.array(x)
    step = engine.rows_per_block(x.shape[1])
    f = dask.delayed(_digests, pure=True)
    parts = engine.compute(*[f(_block(x[r : r + step])) for r in range(0, x.shape[0], step)])
    return [key for part in parts for key in part]


def exact_copies(real: Any, syn: Any, *, engine: Blockwise | None = None) -> dict[str, Any]:
    """:func:`haplogen.metrics.distance.exact_copies` from digests of the haplotypes.

    Returns
    -------
    dict
        ``exact_copies`` : int; ``copy_index`` : int64, shape (exact_copies,).
    """
    engine = _engine(engine)
    real, syn = engine.array(real), engine.array(syn)
    _check_sets(real, syn)
    known = set(row_digests(real, engine=engine))
    index = np.array([k for k, key in enumerate(row_digests(syn, engine=engine)) if key in known], dtype=np.int64)
    return {"exact_copies": int(index.size), "copy_index": index}


# ---------------------------------------------------------------------------- populations
def _group_counts(x: Any, labels: np.ndarray, populations: Sequence[str],
                  engine: Blockwise) -> tuple[np.ndarray, np.ndarray]:
    """Allele-1 carriers per population and site (one pass: Xᵀ by the indicators), and the population sizes."""
    onehot = (labels[:, None] == np.asarray(populations, dtype=str)[None, :]).astype(_F32)  # (n, P)
    counts = _xt_times(x, onehot, engine).T  # (P, n_sites), sums of 0/1 products: exact integers
    return np.rint(counts).astype(np.int64), onehot.sum(axis=0).astype(np.int64)


def population_comparison(real: Any, real_pop: Sequence[str] | np.ndarray, syn: Any, *, seed: int = 0,
                          syn_pop: Sequence[str] | np.ndarray | None = None,
                          engine: Blockwise | None = None) -> dict[str, Any]:
    """:func:`haplogen.metrics.population.population_comparison` on dask arrays.

    The counts per population come from one product of the population indicators with the
    haplotypes (exact); unlabelled synthetic haplotypes are assigned by the same 15-nearest-
    neighbour vote, on the top 10 components of the block-wise PCA (:func:`pca_comparison`,
    a randomized SVD, so an assignment near a boundary may differ from the in-memory one).

    Returns
    -------
    dict
        As the in-memory function.
    """
    from sklearn.neighbors import KNeighborsClassifier

    from .metrics.population import N_COMPONENTS, N_NEIGHBOURS, _labels, hudson_fst_matrix

    engine = _engine(engine)
    real, syn = engine.array(real), engine.array(syn)
    _check_sets(real, syn)
    if real.shape[0] < 2:
        raise InputError(f"a population comparison needs at least 2 real haplotypes, found {real.shape[0]}; "
                         "pass a larger set")
    if syn.shape[0] < 1:
        raise InputError("a population comparison needs at least 1 synthetic haplotypes, found 0; pass a larger set")
    real_labels = _labels(real_pop, real.shape[0], "real_pop")
    populations = sorted(set(real_labels.tolist()))
    if syn_pop is not None:
        syn_labels = _labels(syn_pop, syn.shape[0], "syn_pop")
        unknown = sorted(set(syn_labels.tolist()) - set(populations))
        if unknown:
            raise InputError(
                f"synthetic population labels must be real populations ({', '.join(populations[:5])}"
                f"{' ...' if len(populations) > 5 else ''}), found {', '.join(unknown[:3])}; "
                "label the synthetic haplotypes with the real set's populations"
            )
        classifier = "labels given by the model (syn_pop)"
    elif len(populations) == 1:
        syn_labels = np.full(syn.shape[0], populations[0])
        classifier = "single population: every synthetic haplotype assigned to it"
    else:
        pca = pca_comparison(real, {"syn": syn}, n_components=N_COMPONENTS, seed=seed, engine=engine)
        k = min(N_NEIGHBOURS, real.shape[0])
        knn = KNeighborsClassifier(n_neighbors=k)
        knn.fit(pca["real_coords"], real_labels)
        syn_labels = np.asarray(knn.predict(pca["syn_coords"]["syn"])).astype(str)
        classifier = (
            f"k-nearest neighbours (k={k}, majority vote) on the top {pca['real_coords'].shape[1]} principal "
            f"components of the real haplotypes (block-wise randomized SVD fitted on {pca['n_fit']})"
        )
    real_count, real_sizes = _group_counts(real, real_labels, populations, engine)
    syn_count, syn_sizes = _group_counts(syn, syn_labels, populations, engine)
    pop_af_r = {}
    for p, pop in enumerate(populations):
        if syn_sizes[p] == 0:
            pop_af_r[pop] = float("nan")
        else:
            pop_af_r[pop] = pearson_r(real_count[p] / real_sizes[p], syn_count[p] / syn_sizes[p])
    defined = [r for r in pop_af_r.values() if np.isfinite(r)]
    fst_real = hudson_fst_matrix(real_count, real_sizes)
    fst_syn = hudson_fst_matrix(syn_count, syn_sizes)
    iu = np.triu_indices(len(populations), 1)
    a, b = fst_real[iu], fst_syn[iu]
    ok = np.isfinite(a) & np.isfinite(b)
    return {
        "populations": populations, "real_counts": real_sizes, "syn_counts": syn_sizes, "pop_af_r": pop_af_r,
        "pop_af_r_mean": float(np.mean(defined)) if defined else float("nan"), "fst_real": fst_real,
        "fst_syn": fst_syn, "fst_r": pearson_r(a[ok], b[ok]), "classifier": classifier, "syn_labels": syn_labels,
    }
