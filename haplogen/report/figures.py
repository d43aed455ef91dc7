"""Figures of the evaluation report (matplotlib, Agg backend, no pyplot state).

Every function takes the result dicts of :mod:`haplogen.metrics` / :mod:`haplogen.privacy`
(held by each statistic's typed result, :mod:`haplogen.statistics`), draws into the axes it is
given (``ax=None`` / ``axes=None`` makes a new figure) and returns the
:class:`~matplotlib.figure.Figure`. Figures are made with :class:`matplotlib.figure.Figure`
directly, never with ``pyplot``, so that nothing is shown on screen and no global figure
registry grows in a long-running process; PNG files are drawn by the Agg renderer whatever
backend the caller's session uses (the global backend is left alone, so importing this
module in a notebook changes nothing there).
"""

from __future__ import annotations

import base64
import io
from typing import Any, Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "REAL_COLOUR",
    "set_colours",
    "figure_to_png",
    "figure_to_data_uri",
    "plot_allele_frequency",
    "plot_ld_heatmap",
    "plot_ld_difference",
    "plot_ld_decay",
    "plot_pca",
    "plot_pairwise_distances",
    "plot_three_point",
    "plot_aats",
    "plot_population",
    "plot_privacy_roc",
    "plot_privacy_distances",
]

#: colour of the real set in every figure
REAL_COLOUR = "#333333"
_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def set_colours(names: Sequence[str]) -> dict[str, str]:
    """One fixed colour per synthetic set, in the order given."""
    return {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(names)}


def _new_axes(n: int, *, ncols: int | None = None, panel: tuple[float, float] = (4.0, 3.6)) -> list[Axes]:
    ncols = min(n, 3) if ncols is None else ncols
    nrows = int(np.ceil(n / ncols))
    fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for extra in axes[n:]:
        extra.set_visible(False)
    return axes[:n]


def _axes_list(axes: Axes | Sequence[Axes] | None, n: int, **kwargs: Any) -> list[Axes]:
    if axes is None:
        return _new_axes(n, **kwargs)
    axes = [axes] if isinstance(axes, Axes) else list(np.ravel(np.asarray(axes, dtype=object)))
    if len(axes) < n:
        raise ValueError(f"this figure needs {n} axes, found {len(axes)}")
    return axes[:n]


def figure_to_png(fig: Figure, *, dpi: int = 90) -> bytes:
    """PNG bytes of a figure."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def figure_to_data_uri(fig: Figure, *, dpi: int = 90) -> str:
    """``data:image/png;base64,...`` URI of a figure, to embed in a self-contained page."""
    return "data:image/png;base64," + base64.b64encode(figure_to_png(fig, dpi=dpi)).decode("ascii")


def _fmt(value: Any, digits: int = 3) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not np.isfinite(value) else f"{value:.{digits}f}"


# ---------------------------------------------------------------------------- fidelity
def plot_allele_frequency(results: Mapping[str, Mapping[str, Any]], *, axes: Sequence[Axes] | None = None) -> Figure:
    """Allele frequency of each site, real (x) vs synthetic (y), one panel per set.

    Parameters
    ----------
    results
        ``{set name: allele_frequency_comparison(real, syn)}``; reads ``real_freq``,
        ``syn_freq`` (shape (n_sites,)) and ``af_r``.
    axes
        One axes per set; new ones when None.
    """
    colours = set_colours(list(results))
    axs = _axes_list(axes, len(results))
    for ax, (name, res) in zip(axs, results.items()):
        ax.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--")
        ax.scatter(res["real_freq"], res["syn_freq"], s=5, alpha=0.5, color=colours[name], linewidths=0)
        ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel="real allele-1 frequency",
               ylabel=f"{name} allele-1 frequency", title=f"{name}: r = {_fmt(res['af_r'], 4)}")
        ax.set_aspect("equal")
    return axs[0].figure


def plot_ld_heatmap(real_r2: np.ndarray, syn_r2: np.ndarray, *, name: str, position: np.ndarray | None = None,
                    ax: Axes | None = None) -> Figure:
    """LD (r²) of a window of sites: real below the diagonal, synthetic above.

    Parameters
    ----------
    real_r2, syn_r2 : ndarray of float, shape (k, k)
        r² between the window's sites in the real and in the synthetic set
        (:func:`haplogen.metrics.ld.ld_r2`).
    name
        Name of the synthetic set.
    position : ndarray of int, shape (k,), optional
        Positions of the window's sites, for the axis labels.
    """
    ax = ax or _new_axes(1, panel=(5.2, 4.6))[0]
    k = real_r2.shape[0]
    combined = np.where(np.tril(np.ones((k, k), dtype=bool), -1), real_r2, syn_r2)
    np.fill_diagonal(combined, np.nan)
    image = ax.imshow(combined, vmin=0, vmax=1, cmap="YlOrRd", interpolation="nearest", origin="upper")
    ax.figure.colorbar(image, ax=ax, label="r²", shrink=0.8)
    ax.set(title=f"LD r²: real (lower left) vs {name} (upper right)", xlabel="site in window", ylabel="site in window")
    ax.set_facecolor("#bbbbbb")  # grey: monomorphic sites (r² undefined)
    if position is not None and k:
        ax.set_xlabel(f"site in window ({int(position[0]):,}–{int(position[-1]):,} bp)")
    return ax.figure


def plot_ld_difference(real_r2: np.ndarray, syn_r2: np.ndarray, *, name: str, ax: Axes | None = None) -> Figure:
    """Synthetic minus real r² on a window of sites (red: more LD in the synthetic set).

    Parameters
    ----------
    real_r2, syn_r2 : ndarray of float, shape (k, k)
    name
        Name of the synthetic set.
    """
    ax = ax or _new_axes(1, panel=(5.2, 4.6))[0]
    diff = np.asarray(syn_r2, dtype=float) - np.asarray(real_r2, dtype=float)
    np.fill_diagonal(diff, np.nan)
    limit = max(0.1, float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 0.1)
    image = ax.imshow(diff, vmin=-limit, vmax=limit, cmap="RdBu_r", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=f"r²({name}) − r²(real)", shrink=0.8)
    ax.set(title=f"LD difference, {name} − real", xlabel="site in window", ylabel="site in window")
    return ax.figure


def plot_ld_decay(decays: Mapping[str, Mapping[str, Any]], *, real_name: str = "real", ax: Axes | None = None) -> Figure:
    """Mean r² against the distance between sites, one curve per set.

    Parameters
    ----------
    decays
        ``{set name: ld_decay(...)}`` with the real set under ``real_name``; reads
        ``bin_edges`` (shape (n_bins + 1,), log-spaced) and ``mean_r2`` (shape (n_bins,)).
    real_name
        Key of the real set, drawn in black.
    """
    ax = ax or _new_axes(1, panel=(6.0, 4.0))[0]
    colours = set_colours([n for n in decays if n != real_name])
    for name, res in decays.items():
        edges = np.asarray(res["bin_edges"], dtype=float)
        centres = np.sqrt(np.clip(edges[:-1], 1, None) * edges[1:])  # geometric centres of log bins
        ax.plot(centres, res["mean_r2"], marker="o", ms=3, label=name,
                color=REAL_COLOUR if name == real_name else colours[name], lw=2 if name == real_name else 1.2)
    if np.isfinite(np.asarray(decays[next(iter(decays))]["bin_edges"], dtype=float)).any():
        ax.set_xscale("log")
    ax.set(xlabel="distance between sites (bp)", ylabel="mean r²", title="LD decay")
    ax.legend(frameon=False)
    return ax.figure


def plot_pca(pca: Mapping[str, Any], *, real_population: np.ndarray | None = None,
             syn_population: Mapping[str, np.ndarray] | None = None,
             axes: Sequence[Axes] | None = None) -> Figure:
    """Real haplotypes (coloured by population when known) and each synthetic set on PC1/PC2.

    A synthetic set with labels in ``syn_population`` (and real labels) is coloured by
    population with the real panel's colours, over the real haplotypes in grey, so that each
    population can be seen to land on its real cluster; other sets take their set colour.

    Parameters
    ----------
    pca
        :func:`haplogen.metrics.pca.pca_comparison` result: ``real_coords`` (shape
        (n_real, n_components)), ``syn_coords`` ({name: (n_syn, n_components)}),
        ``explained_variance_ratio``.
    real_population : ndarray of str, shape (n_real,), optional
        Population of each real haplotype.
    syn_population : mapping of str to ndarray of str, optional
        ``{set name: population of each of its haplotypes}`` (same level as ``real_population``).
    axes
        ``1 + len(syn_coords)`` axes: the real set alone, then each synthetic set over it.
    """
    syn = pca["syn_coords"]
    axs = _axes_list(axes, 1 + len(syn), panel=(4.2, 4.0))
    real = np.asarray(pca["real_coords"])
    evr = np.asarray(pca.get("explained_variance_ratio", [np.nan, np.nan]))
    xlabel = f"PC1 ({evr[0]:.1%})" if np.isfinite(evr[0]) else "PC1"
    ylabel = f"PC2 ({evr[1]:.1%})" if len(evr) > 1 and np.isfinite(evr[1]) else "PC2"
    limits = [real[:, 0].min(), real[:, 0].max(), real[:, 1].min(), real[:, 1].max()]
    colours = set_colours(list(syn))
    distinct = [] if real_population is None else sorted(set(np.asarray(real_population).tolist()))
    cmap = matplotlib.colormaps["tab10" if len(distinct) <= 10 else "tab20"]
    syn_population = {n: np.asarray(p) for n, p in (syn_population or {}).items()
                      if real_population is not None and n in syn and len(p) == len(syn[n])}

    def draw_real(target: Axes, alpha: float, grey: bool = False) -> None:
        if real_population is None or grey:
            target.scatter(real[:, 0], real[:, 1], s=4, color=REAL_COLOUR, alpha=alpha, linewidths=0, label="real")
            return
        pops = np.asarray(real_population)
        for i, pop in enumerate(distinct):
            chosen = pops == pop
            target.scatter(real[chosen, 0], real[chosen, 1], s=4, alpha=alpha, linewidths=0,
                           color=cmap(i % cmap.N), label=f"real {pop}")

    draw_real(axs[0], 0.7)
    axs[0].set(title="real", xlabel=xlabel, ylabel=ylabel)
    n_groups = 1 if real_population is None else len(set(np.asarray(real_population).tolist()))
    if n_groups <= 8:
        axs[0].legend(frameon=False, fontsize=7, markerscale=2, loc="best")
    else:  # many populations: a compact legend beside the panel
        axs[0].legend(frameon=False, fontsize=6, markerscale=2, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                      ncol=2 if n_groups > 14 else 1, handletextpad=0.1, columnspacing=0.5)
    for a, (name, coords) in zip(axs[1:], syn.items()):
        coords = np.asarray(coords)
        labels = syn_population.get(name)
        if labels is None:
            draw_real(a, 0.15)
            a.scatter(coords[:, 0], coords[:, 1], s=4, color=colours[name], alpha=0.6, linewidths=0, label=name)
        else:  # by population, with the real panel's colours, over the real set in grey
            draw_real(a, 0.12, grey=True)
            for i, pop in enumerate(distinct):
                chosen = labels == pop
                if chosen.any():
                    a.scatter(coords[chosen, 0], coords[chosen, 1], s=4, alpha=0.6, linewidths=0,
                              color=cmap(i % cmap.N), label=f"{name} {pop}")
            other = ~np.isin(labels, distinct)
            if other.any():
                a.scatter(coords[other, 0], coords[other, 1], s=4, alpha=0.6, linewidths=0, color="black",
                          label=f"{name}, other labels")
        w1 = pca.get("w1", {}).get(name, {})
        a.set(title=f"{name}\nW1 PC1 {_fmt(w1.get('pc1'), 2)}, PC2 {_fmt(w1.get('pc2'), 2)}",
              xlabel=xlabel, ylabel=ylabel)
    pad_x = 0.05 * (limits[1] - limits[0] or 1)
    pad_y = 0.05 * (limits[3] - limits[2] or 1)
    for a in axs:
        a.set_xlim(limits[0] - pad_x, limits[1] + pad_x)
        a.set_ylim(limits[2] - pad_y, limits[3] + pad_y)
    return axs[0].figure


def _histogram_line(ax: Axes, counts: np.ndarray, *, label: str, colour: str, ls: str = "-") -> None:
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    share = counts / total if total > 0 else counts
    ax.step(np.arange(counts.shape[0]), share, where="mid", label=label, color=colour, ls=ls, lw=1.3)


def _occupied_range(*histograms: np.ndarray) -> tuple[float, float]:
    """x limits that cover every non-empty bin of the histograms, with a margin."""
    nonzero = np.concatenate([np.flatnonzero(np.asarray(h)) for h in histograms])
    if nonzero.size == 0:
        return (0.0, 1.0)
    low, high = int(nonzero.min()), int(nonzero.max())
    margin = max(1, (high - low) // 20)
    return (max(low - margin, 0) - 0.5, high + margin + 0.5)


def plot_pairwise_distances(results: Mapping[str, Mapping[str, Any]], *, axes: Sequence[Axes] | None = None) -> Figure:
    """Distributions of pairwise Hamming distances: within real, within synthetic, between.

    Parameters
    ----------
    results
        ``{set name: pairwise_distance_comparison(real, syn)}``; reads ``hist_real``,
        ``hist_syn``, ``hist_between`` (counts per distance 0, 1, 2, ...) and ``pairwise_w1``.
    """
    colours = set_colours(list(results))
    axs = _axes_list(axes, len(results))
    for ax, (name, res) in zip(axs, results.items()):
        _histogram_line(ax, res["hist_real"], label="within real", colour=REAL_COLOUR)
        _histogram_line(ax, res["hist_syn"], label=f"within {name}", colour=colours[name])
        _histogram_line(ax, res["hist_between"], label="real vs " + name, colour="#999999", ls="--")
        ax.set_xlim(*_occupied_range(res["hist_real"], res["hist_syn"], res["hist_between"]))
        ax.set(xlabel="Hamming distance (sites)", ylabel="share of pairs",
               title=f"{name}: W1 = {_fmt(res['pairwise_w1'], 2)}")
        ax.legend(frameon=False, fontsize=8)
    return axs[0].figure


def plot_three_point(results: Mapping[str, Mapping[str, Any]], *, axes: Sequence[Axes] | None = None) -> Figure:
    """3-point correlation: r per spacing for every set, and real vs synthetic on random triplets.

    Parameters
    ----------
    results
        ``{set name: three_point_comparison(real, syn)}``; reads ``three_point_r``
        ({spacing or "random": r}) and ``values["random"]`` ((real values, synthetic values)).
    axes
        ``1 + len(results)`` axes: the r-per-spacing panel, then one scatter per set.
    """
    colours = set_colours(list(results))
    axs = _axes_list(axes, 1 + len(results))
    for name, res in results.items():
        keys = list(res["three_point_r"])
        ax = axs[0]
        ax.plot(range(len(keys)), [res["three_point_r"][k] for k in keys], marker="o", label=name, color=colours[name])
        ax.set_xticks(range(len(keys)), keys)
    axs[0].set(xlabel="spacing between sites (site index)", ylabel="Pearson r", title="3-point correlation r",
               ylim=(min(0.0, axs[0].get_ylim()[0]), 1.02))
    axs[0].legend(frameon=False)
    for ax, (name, res) in zip(axs[1:], results.items()):
        values = res.get("values", {}).get("random")
        if values is not None:
            real_v, syn_v = (np.asarray(v, dtype=float) for v in values)
            ax.scatter(real_v, syn_v, s=4, alpha=0.4, color=colours[name], linewidths=0)
            finite = np.concatenate([real_v, syn_v])
            finite = finite[np.isfinite(finite)]
            if finite.size:
                lo, hi = finite.min(), finite.max()
                ax.plot([lo, hi], [lo, hi], color="#999999", lw=0.8, ls="--")
        ax.set(xlabel="real C(a, b, c)", ylabel=f"{name} C(a, b, c)",
               title=f"{name}\nrandom triplets: r = {_fmt(res['three_point_r'].get('random'), 3)}")
    return axs[0].figure


def plot_aats(results: Mapping[str, Mapping[str, Any]], *, axes: Sequence[Axes] | None = None) -> Figure:
    """Nearest-neighbour distances behind AATS, and AATS with its spread over subsamples.

    Parameters
    ----------
    results
        ``{set name: adversarial_accuracy(real, syn)}``; reads ``d_rr``, ``d_rs``, ``d_ss``,
        ``d_sr`` (nearest-neighbour distances, shape (size,)), ``aats``, ``aats_sd``,
        ``aa_truth``, ``aa_syn``, ``aats_strict``.
    axes
        ``len(results) + 1`` axes: one distance panel per set, then the AATS panel.
    """
    colours = set_colours(list(results))
    axs = _axes_list(axes, len(results) + 1)
    styles = {"d_rr": ("real → nearest real", REAL_COLOUR, "-"), "d_rs": ("real → nearest synthetic", REAL_COLOUR, "--"),
              "d_ss": ("synthetic → nearest synthetic", None, "-"), "d_sr": ("synthetic → nearest real", None, "--")}
    for ax, (name, res) in zip(axs, results.items()):
        top = max(int(np.max(np.asarray(res[k]))) for k in styles if np.size(res[k]))
        width = max(1, int(np.ceil((top + 1) / 40)))  # at most ~40 bins of whole distances
        bins = np.arange(0, top + width + 1, width) - 0.5
        for key, (label, colour, ls) in styles.items():
            ax.hist(np.asarray(res[key]), bins=bins, histtype="step", lw=1.3, ls=ls, density=True,
                    color=colour or colours[name], label=label)
        ax.set(xlabel="Hamming distance to nearest neighbour (sites)", ylabel="density",
               title=f"{name}\nAA truth {_fmt(res['aa_truth'], 2)}, AA syn {_fmt(res['aa_syn'], 2)}")
        ax.legend(frameon=False, fontsize=7)
    ax = axs[-1]
    names = list(results)
    x = np.arange(len(names))
    ax.bar(x - 0.2, [results[n]["aats"] for n in names], width=0.4, yerr=[results[n].get("aats_sd", 0) for n in names],
           color=[colours[n] for n in names], capsize=3, label="AATS (tie ½)")
    ax.bar(x + 0.2, [results[n]["aats_strict"] for n in names], width=0.4, color=[colours[n] for n in names],
           alpha=0.45, label="strict (tie 0)")
    ax.axhline(0.5, color="#999999", ls="--", lw=1)
    ax.set_xticks(x, names)
    ax.set(ylim=(0, 1), ylabel="AATS", title="AATS (0.5 ideal)\n< 0.5 copying, > 0.5 poor coverage")
    ax.legend(frameon=False, fontsize=8)
    return axs[0].figure


def plot_population(results: Mapping[str, Mapping[str, Any]], *, axes: Sequence[Axes] | None = None) -> Figure:
    """Per-population allele-frequency r, and the pairwise Fst matrices of real and synthetic.

    Parameters
    ----------
    results
        ``{set name: population_comparison(...)}``; reads ``populations``, ``pop_af_r``
        ({population: r}), ``fst_real`` and ``fst_syn`` (shape (n_pop, n_pop)) and ``fst_r``.
    axes
        ``1 + 2 * len(results)`` axes: the r bars, then real and synthetic Fst per set.
    """
    colours = set_colours(list(results))
    axs = _axes_list(axes, 1 + 2 * len(results), ncols=3)
    first = next(iter(results.values()))
    pops = [str(p) for p in first["populations"]]
    width = 0.8 / max(len(results), 1)
    for i, (name, res) in enumerate(results.items()):
        values = [res["pop_af_r"].get(p, np.nan) for p in pops]
        axs[0].bar(np.arange(len(pops)) + i * width - 0.4 + width / 2, values, width=width, color=colours[name], label=name)
    axs[0].set_xticks(range(len(pops)), pops, rotation=90 if len(pops) > 6 else 0, fontsize=7 if len(pops) > 6 else None)
    values = np.array([r for res in results.values() for r in res["pop_af_r"].values()], dtype=float)
    low = float(np.nanmin(values)) if np.isfinite(values).any() else 0.0
    axs[0].set(ylabel="allele frequency r", title="allele frequency r per population",
               ylim=(max(min(low - 0.05, 0.9), -1.0), 1.01))
    axs[0].legend(frameon=True, fontsize=8, loc="lower right")
    for j, (name, res) in enumerate(results.items()):
        fst_real = np.asarray(res["fst_real"], dtype=float)
        fst_syn = np.asarray(res["fst_syn"], dtype=float)
        vmax = np.nanmax(np.concatenate([fst_real.ravel(), fst_syn.ravel(), [1e-6]]))
        for ax, matrix, title in ((axs[1 + 2 * j], fst_real, "Fst, real"),
                                  (axs[2 + 2 * j], fst_syn, f"Fst, {name} (r = {_fmt(res.get('fst_r'), 3)})")):
            image = ax.imshow(matrix, vmin=0, vmax=vmax, cmap="magma_r")
            ax.set_xticks(range(len(pops)), pops, rotation=90, fontsize=7)
            ax.set_yticks(range(len(pops)), pops, fontsize=7)
            ax.set_title(title)
            ax.figure.colorbar(image, ax=ax, shrink=0.8)
    return axs[0].figure


# ---------------------------------------------------------------------------- privacy
def plot_privacy_roc(audits: Mapping[str, Mapping[str, Any]], *, ax: Axes | None = None) -> Figure:
    """ROC curve of the membership-inference attacker, one curve per set.

    Parameters
    ----------
    audits
        ``{set name: privacy_audit(...)}``; reads ``roc_fpr``, ``roc_tpr`` and ``mia_auc``.
    """
    ax = ax or _new_axes(1, panel=(4.6, 4.4))[0]
    colours = set_colours(list(audits))
    ax.plot([0, 1], [0, 1], color="#999999", ls="--", lw=1, label="chance (AUC 0.5)")
    for name, audit in audits.items():
        ax.plot(audit["roc_fpr"], audit["roc_tpr"], color=colours[name], lw=1.5,
                label=f"{name}: AUC {_fmt(audit['mia_auc'], 3)}")
    ax.set(xlabel="false positive rate (holdout called member)", ylabel="true positive rate (train called member)",
           title="membership inference ROC", xlim=(0, 1), ylim=(0, 1))
    ax.set_aspect("equal")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return ax.figure


def plot_privacy_distances(audits: Mapping[str, Mapping[str, Any]], *, axes: Sequence[Axes] | None = None) -> Figure:
    """Distance of training and holdout haplotypes to their nearest synthetic one, per set.

    Parameters
    ----------
    audits
        ``{set name: privacy_audit(...)}``; reads ``dist_train_to_syn``,
        ``dist_holdout_to_syn`` (shape (size,)) and ``near_copy_threshold``.
    """
    colours = set_colours(list(audits))
    axs = _axes_list(axes, len(audits))
    for ax, (name, audit) in zip(axs, audits.items()):
        train = np.asarray(audit["dist_train_to_syn"])
        holdout = np.asarray(audit["dist_holdout_to_syn"])
        top = int(max(train.max(initial=0), holdout.max(initial=0)))
        width = max(1, int(np.ceil((top + 1) / 40)))
        bins = np.arange(0, top + width + 1, width) - 0.5
        ax.hist(train, bins=bins, histtype="stepfilled", alpha=0.5, color=colours[name], label="training haplotypes")
        ax.hist(holdout, bins=bins, histtype="step", lw=1.5, color=REAL_COLOUR, label="holdout haplotypes")
        ax.axvline(audit["near_copy_threshold"], color="#d62728", ls=":", lw=1.2, label="near-copy threshold")
        ax.set(xlabel=f"Hamming distance to the nearest {name} haplotype", ylabel="haplotypes",
               title=f"{name}: train vs holdout")
        ax.legend(frameon=False, fontsize=8)
    return axs[0].figure
