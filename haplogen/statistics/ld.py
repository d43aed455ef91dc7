"""Linkage disequilibrium: r² over pairs of sites, on a window for the heatmap, and its decay.

LD r is measured over all pairs of sites up to :data:`ALL_PAIRS_MAX_SITES` sites (the
established figure of the reports and benchmarks, quadratic in the sites), and over the pairs
within ``pair_window`` sites of each other beyond (linear in the sites; LD lives there); the
provenance (``ld_pairs``) and a note say which. The windowed figure is computed in both cases
and given in a note, so that sets of any size can be compared on it. With a block-wise engine
(:mod:`haplogen.blockwise`) the windowed pairs, the decay and the heatmap are computed on Dask
arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import blockwise
from ..errors import InputError
from ..haplotypes import Haplotypes
from ..metrics.base import MetricSpec
from ..metrics.ld import DEFAULT_PAIR_WINDOW, ld_comparison, ld_decay, ld_r2, ld_window_comparison
from .registry import EvaluationContext, FigureSpec, Measurement, register_statistic

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["LDResult", "LD_WINDOW_SITES", "ALL_PAIRS_MAX_SITES", "ld_window", "ld_pairs_mode"]

#: sites in the window of the LD heatmap (a 300 x 300 r² matrix reads well on a page);
#: the option ``window_sites`` of the statistic ``ld`` changes it
LD_WINDOW_SITES = 300

#: LD r over all pairs of sites up to this many sites (43 s at 10,000 SNPs x 10,000 haplotypes
#: on one core, the size of the benchmark's simulated region, whose published figure it keeps);
#: over the pairs within a window of ``pair_window`` sites beyond. Options of the statistic
#: ``ld``: ``pairs`` (``auto``, ``all``, ``window``), ``pair_window``, ``all_pairs_max_sites``
ALL_PAIRS_MAX_SITES = 10_000


@dataclass(frozen=True)
class LDResult:
    """Result of the LD statistic.

    Attributes
    ----------
    real_name
        Name of the real set (a key of :attr:`window_r2` and :attr:`decay`).
    window : ndarray of int, shape (k,)
        Columns of the heatmap window.
    window_position : ndarray of int, shape (k,)
        Their positions.
    window_r2
        ``{set name: r² matrix, shape (k, k)}`` for the real set and each synthetic set.
    decay
        ``{set name: ld_decay(...)}`` for the real set and each synthetic set (over the windowed
        pairs when :attr:`pairs` is ``"window"``).
    comparisons
        ``{synthetic set name: ld_comparison(real, set)}`` (or its windowed counterpart), with
        ``pairs``: ``"all"`` or ``"window"``.
    pairs
        The pairs LD r was measured on: ``"all"`` or ``"window"``.
    pair_window
        The window of the windowed pairs, in sites.
    windowed
        ``{synthetic set name: LD r over the windowed pairs}`` (always computed: it is cheap).
    """

    real_name: str
    window: np.ndarray
    window_position: np.ndarray
    window_r2: dict[str, np.ndarray]
    decay: dict[str, dict[str, Any]]
    comparisons: dict[str, dict[str, Any]]
    pairs: str = "all"
    pair_window: int = DEFAULT_PAIR_WINDOW
    windowed: dict[str, float] | None = None


def ld_window(real: Haplotypes, max_sites: int = LD_WINDOW_SITES) -> np.ndarray:
    """Up to ``max_sites`` consecutive sites in the middle of the chromosome with the most sites.

    Returns
    -------
    ndarray of int, shape (k,)
        Column indices, k = min(max_sites, sites on that chromosome).
    """
    chrom = real.sites.chrom
    names, counts = np.unique(chrom, return_counts=True)
    on_chrom = np.flatnonzero(chrom == names[np.argmax(counts)])
    k = min(max_sites, on_chrom.size)
    start = (on_chrom.size - k) // 2
    return on_chrom[start:start + k]


def _pairs_on_same_chromosome(chrom: np.ndarray) -> int:
    _, counts = np.unique(chrom, return_counts=True)
    return int(sum(int(c) * (int(c) - 1) // 2 for c in counts))


def ld_pairs_mode(n_sites: int, mode: str = "auto", all_pairs_max_sites: int = ALL_PAIRS_MAX_SITES) -> str:
    """Which pairs of sites LD r is measured on: ``"all"`` or ``"window"``.

    ``"auto"`` is ``"all"`` up to ``all_pairs_max_sites`` sites (today's established figure,
    quadratic in the sites) and ``"window"`` beyond (linear in the sites).
    """
    if mode not in ("auto", "all", "window"):
        raise InputError(f"the LD option pairs must be 'auto', 'all' or 'window', found {mode!r}")
    if mode != "auto":
        return mode
    return "all" if n_sites <= all_pairs_max_sites else "window"


def compute(ctx: EvaluationContext) -> Measurement:
    real, real_name = ctx.real, ctx.real_name
    engine = ctx.blockwise
    chrom, position = real.sites.chrom, real.sites.position
    window = ld_window(real, int(ctx.option("ld", "window_sites", LD_WINDOW_SITES)))
    pair_window = int(ctx.option("ld", "pair_window", DEFAULT_PAIR_WINDOW))
    mode = ld_pairs_mode(real.n_sites, str(ctx.option("ld", "pairs", "auto")),
                         int(ctx.option("ld", "all_pairs_max_sites", ALL_PAIRS_MAX_SITES)))
    if engine is not None:
        window_r2 = {real_name: blockwise.ld_r2_columns(engine.array(real), window, engine=engine)}
        for name, h in ctx.synthetic.items():
            window_r2[name] = blockwise.ld_r2_columns(engine.array(h), window, engine=engine)
    else:
        window_r2 = {real_name: ld_r2(real.matrix, window)}
        for name, h in ctx.synthetic.items():
            window_r2[name] = ld_r2(h.matrix, window)

    # LD r and the decay over the pairs within pair_window sites (linear in the sites)
    ctx.say(f"LD r² over pairs of sites within {pair_window} sites"
            + (f" ({engine.description})" if engine is not None else ""))
    if engine is not None:
        windowed = blockwise.ld_window_comparison(
            engine.array(real), {name: engine.array(h) for name, h in ctx.synthetic.items()}, chrom, position,
            window_sites=pair_window, real_name=real_name, engine=engine)
    else:
        windowed = ld_window_comparison(real.matrix, {name: h.matrix for name, h in ctx.synthetic.items()},
                                        chrom, position, window_sites=pair_window, real_name=real_name)

    notes = []
    if mode == "all":
        ctx.say(f"LD decay: {real_name}")
        decay = {real_name: ld_decay(real.matrix, chrom, position, seed=ctx.seed)}
        comparisons = {}
        for name, h in ctx.synthetic.items():
            ctx.say(f"LD r² over all pairs of sites: {name}")
            comparisons[name] = {**ld_comparison(real.matrix, h.matrix), "pairs": "all"}
            ctx.say(f"LD decay: {name}")
            decay[name] = ld_decay(h.matrix, chrom, position, seed=ctx.seed)
        if decay[real_name].get("subsampled"):
            used = int(np.sum(decay[real_name]["n_pairs"]))
            notes.append(
                f"LD decay computed on a random sample of site pairs ({used:,} pairs with a defined r² in "
                f"the real set) out of {_pairs_on_same_chromosome(chrom):,} pairs of sites on a common chromosome."
            )
        notes.append(
            f"LD r over all pairs of sites polymorphic in both sets ({real.n_sites:,} sites, at most "
            f"{int(ctx.option('ld', 'all_pairs_max_sites', ALL_PAIRS_MAX_SITES)):,} for all pairs); over the pairs "
            f"within {pair_window} sites only: "
            + ", ".join(f"{name} {res['ld_r']:.4f}" for name, res in windowed["comparisons"].items()) + "."
        )
    else:
        decay = windowed["decay"]
        comparisons = {name: {**res, "pairs": "window"} for name, res in windowed["comparisons"].items()}
        first = next(iter(comparisons.values()))
        notes.append(
            f"LD r and LD decay over the pairs of sites within {pair_window} sites of each other on one chromosome "
            f"({first['n_pairs']:,} pairs polymorphic in both sets for {next(iter(comparisons))}), not all pairs: "
            f"the set has {real.n_sites:,} sites"
            + (f", more than {int(ctx.option('ld', 'all_pairs_max_sites', ALL_PAIRS_MAX_SITES)):,}"
               if str(ctx.option("ld", "pairs", "auto")) == "auto" else "")
            + ". The decay covers distances up to the window's."
        )
    notes.append(
        f"The LD heatmap shows {window.size} consecutive sites of chromosome {chrom[window[0]]} "
        f"({int(position[window[0]]):,}-{int(position[window[-1]]):,} bp)."
        if window.size else "There are no sites for the LD heatmap."
    )
    return Measurement(
        values={name: {"ld_r": res["ld_r"]} for name, res in comparisons.items()},
        result=LDResult(real_name, window, position[window], window_r2, decay, comparisons,
                        pairs=mode, pair_window=pair_window,
                        windowed={name: res["ld_r"] for name, res in windowed["comparisons"].items()}),
        notes=notes,
        parameters={"ld_window_sites": int(window.size), "ld_pairs": mode,
                    **({"ld_pair_window": pair_window} if mode == "window" else {})},
    )


def draw_window(result: LDResult, name: str) -> "Figure":
    from matplotlib.figure import Figure

    from ..report.figures import plot_ld_difference, plot_ld_heatmap

    fig = Figure(figsize=(11, 4.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    real_r2 = result.window_r2[result.real_name]
    plot_ld_heatmap(real_r2, result.window_r2[name], name=name, position=result.window_position, ax=ax1)
    plot_ld_difference(real_r2, result.window_r2[name], name=name, ax=ax2)
    return fig


def draw_decay(result: LDResult) -> "Figure":
    from ..report.figures import plot_ld_decay

    return plot_ld_decay(result.decay, real_name=result.real_name)


register_statistic(
    "ld",
    title="Linkage disequilibrium",
    description="r² between sites: all pairs (or the pairs within a window of sites, at scale), a window of "
                "the real chromosome, and its decay with distance",
    compute=compute,
    order=20,
    specs=[
        MetricSpec("ld_r", "LD r", "max", 1.0, (-1.0, 1.0),
                   "Pearson r of r² over the site pairs polymorphic in both sets, real vs artificial: all pairs up "
                   "to 10,000 sites, the pairs within 200 sites beyond (the notes say which)",
                   bands=(0.05, 0.15)),
    ],
    figures=[
        FigureSpec(
            "ld-window", "Linkage disequilibrium", draw_window,
            "Linkage disequilibrium (r²) between the sites of one window: the real set below the diagonal, the "
            "synthetic set above; a good model mirrors the blocks. The right panel shows synthetic minus real r² "
            "(red: too much LD, blue: too little).",
            per_set=True,
        ),
        FigureSpec(
            "ld-decay", "LD decay", draw_decay,
            "Mean r² against the distance between sites: the synthetic curves should follow the real one; a "
            "curve above it links distant sites too strongly, one below breaks haplotype blocks.",
        ),
    ],
)
