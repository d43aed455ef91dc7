"""Linkage disequilibrium: r² over all pairs of sites, on a window for the heatmap, and its decay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from ..haplotypes import Haplotypes
from ..metrics.base import MetricSpec
from ..metrics.ld import ld_comparison, ld_decay, ld_r2
from .registry import EvaluationContext, FigureSpec, Measurement, register_statistic

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["LDResult", "LD_WINDOW_SITES", "ld_window"]

#: sites in the window of the LD heatmap (a 300 x 300 r² matrix reads well on a page);
#: the option ``window_sites`` of the statistic ``ld`` changes it
LD_WINDOW_SITES = 300


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
        ``{set name: ld_decay(...)}`` for the real set and each synthetic set.
    comparisons
        ``{synthetic set name: ld_comparison(real, set)}``.
    """

    real_name: str
    window: np.ndarray
    window_position: np.ndarray
    window_r2: dict[str, np.ndarray]
    decay: dict[str, dict[str, Any]]
    comparisons: dict[str, dict[str, Any]]


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


def compute(ctx: EvaluationContext) -> Measurement:
    real, real_name = ctx.real, ctx.real_name
    chrom, position = real.sites.chrom, real.sites.position
    window = ld_window(real, int(ctx.option("ld", "window_sites", LD_WINDOW_SITES)))
    window_r2 = {real_name: ld_r2(real.matrix, window)}
    ctx.say(f"LD decay: {real_name}")
    decay = {real_name: ld_decay(real.matrix, chrom, position, seed=ctx.seed)}
    comparisons = {}
    for name, h in ctx.synthetic.items():
        ctx.say(f"LD r² over all pairs of sites: {name}")
        comparisons[name] = ld_comparison(real.matrix, h.matrix)
        window_r2[name] = ld_r2(h.matrix, window)
        ctx.say(f"LD decay: {name}")
        decay[name] = ld_decay(h.matrix, chrom, position, seed=ctx.seed)
    notes = []
    if decay[real_name].get("subsampled"):
        used = int(np.sum(decay[real_name]["n_pairs"]))
        notes.append(
            f"LD decay computed on a random sample of site pairs ({used:,} pairs with a defined r² in "
            f"the real set) out of {_pairs_on_same_chromosome(chrom):,} pairs of sites on a common chromosome."
        )
    notes.append(
        f"The LD heatmap shows {window.size} consecutive sites of chromosome {chrom[window[0]]} "
        f"({int(position[window[0]]):,}-{int(position[window[-1]]):,} bp)."
        if window.size else "There are no sites for the LD heatmap."
    )
    return Measurement(
        values={name: {"ld_r": res["ld_r"]} for name, res in comparisons.items()},
        result=LDResult(real_name, window, position[window], window_r2, decay, comparisons),
        notes=notes,
        parameters={"ld_window_sites": int(window.size)},
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
    description="r² between sites: all pairs, a window of the real chromosome, and its decay with distance",
    compute=compute,
    order=20,
    specs=[
        MetricSpec("ld_r", "LD r", "max", 1.0, (-1.0, 1.0),
                   "Pearson r of r² over all site pairs polymorphic in both sets, real vs artificial",
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
