"""Is a real imputation panel ahead because it copies the targets? (issue 9)

On a short contiguous region many held-out haplotypes equal a training one (shared by descent),
and a real reference panel imputes such a target from its copy. This program splits the
imputation r² of ``haplogen evaluate --utility imputation`` by target individual: those of which
neither haplotype equals a training haplotype, and the others. When the real panel's lead over
an artificial one is as large on the first group as on the second, the copies are not what the
artificial panel lacks. It also gives the distance from each held-out and each artificial
haplotype to its nearest training haplotype (Hamming, in differing SNPs), the measure of how far
artificial haplotypes lie from every real one.

Usage::

    .venv/bin/python benchmarks/panel_copies.py --real split/train.vcf.gz --holdout split/holdout.vcf.gz \\
        --synthetic hmm=hmm.vcf.gz [NAME=PATH ...] [--array-every 10] [--seed 1] [--threads 1] \\
        --out benchmarks/results/track_b/panel_copies.json

Needs Beagle 5 (``apt-get install beagle``). Writes the JSON and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from haplogen.io import read_haplotypes  # noqa: E402
from haplogen.metrics.distance import exact_copies, nearest_neighbour_distances  # noqa: E402
from haplogen.provenance import file_checksum, write_json_atomic  # noqa: E402
from haplogen.utility.imputation import imputation_r2, imputation_utility  # noqa: E402

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def copied_haplotypes(train: np.ndarray, holdout: np.ndarray) -> np.ndarray:
    """bool (n_holdout,): the held-out haplotype equals some training haplotype."""
    copied = np.zeros(len(holdout), dtype=bool)
    copied[exact_copies(train, holdout)["copy_index"]] = True
    return copied


def split_r2(dosage: np.ndarray, truth: np.ndarray, bins: np.ndarray, groups: dict[str, np.ndarray]) -> dict[str, Any]:
    """Mean per-site r² overall and by MAF bin, on the target individuals of each group."""
    out = {}
    for name, keep in groups.items():
        r2 = imputation_r2(dosage[:, keep], truth[:, keep])
        by_bin = [float(np.nanmean(r2[bins == b])) if np.any(np.isfinite(r2[bins == b])) else None for b in range(3)]
        out[name] = {"individuals": int(keep.sum()), "r2": float(np.nanmean(r2)), "r2_by_bin": by_bin}
    return out


def nearest_summary(d: np.ndarray) -> dict[str, Any]:
    return {
        "share_zero": float(np.mean(d == 0)),
        "quantiles": dict(zip([str(q) for q in QUANTILES], np.quantile(d, QUANTILES).round(1).tolist())),
        "mean": float(d.mean()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", required=True, help="training set (the real panel)")
    ap.add_argument("--holdout", required=True, help="held-out individuals (the targets)")
    ap.add_argument("--synthetic", nargs="+", required=True, metavar="NAME=PATH", help="artificial panels")
    ap.add_argument("--array-every", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="Beagle's threads")
    ap.add_argument("--out", required=True, help="JSON written here")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        ap.error(f"{out} exists; remove it or name another --out")
    sets = {}
    for item in args.synthetic:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            ap.error(f"--synthetic takes NAME=PATH, found {item!r}")
        sets[name] = path
    train = read_haplotypes(args.real)
    holdout = read_haplotypes(args.holdout)
    synthetic = {name: read_haplotypes(path) for name, path in sets.items()}

    copied = copied_haplotypes(train.matrix, holdout.matrix)
    per_individual = copied[: copied.size // 2 * 2].reshape(-1, 2).sum(axis=1)
    groups = {"no haplotype copied": per_individual == 0, "one or two copied": per_individual > 0, "all": per_individual >= 0}
    result = imputation_utility(train, synthetic, holdout, combined=False, keep_dosage=True,
                                array_every=args.array_every, seed=args.seed, nthreads=args.threads)
    bins = result["maf_bin"]
    imputation = {panel: split_r2(result["dosage"][panel], result["truth"], bins, groups) for panel in result["panels"]}

    nearest = {"train (leave one out)": nearest_summary(nearest_neighbour_distances(train.matrix)),
               "holdout": nearest_summary(nearest_neighbour_distances(holdout.matrix, train.matrix))}
    for name, h in synthetic.items():
        nearest[name] = nearest_summary(nearest_neighbour_distances(h.matrix, train.matrix))

    record = {
        "benchmark": "panel_copies",
        "command": [sys.executable, *sys.argv],
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": {"real": {"path": args.real, "sha256": file_checksum(args.real)},
                   "holdout": {"path": args.holdout, "sha256": file_checksum(args.holdout)},
                   **{name: {"path": p, "sha256": file_checksum(p)} for name, p in sets.items()}},
        "seed": args.seed, "array_every": args.array_every, "n_sites": int(train.n_sites),
        "held_out_haplotypes_copied": int(copied.sum()), "held_out_haplotypes": int(copied.size),
        "bin_labels": result["bin_labels"], "n_masked_by_bin": result["n_masked_by_bin"],
        "imputation": imputation, "nearest_training_distance": nearest, "beagle": result["settings"]["beagle"],
    }
    write_json_atomic(out, record)

    print(f"{copied.sum()} of {copied.size} held-out haplotypes equal a training one; "
          f"target individuals: " + ", ".join(f"{k} {int(v.sum())}" for k, v in groups.items() if k != "all"))
    print("\n| panel | " + " | ".join(f"r² {g} (" + " / ".join(result["bin_labels"]) + ")" for g in groups) + " |")
    print("| --- |" + " --- |" * len(groups))
    for panel, rows in imputation.items():
        cells = [f"{rows[g]['r2']:.3f} (" + " / ".join("–" if v is None else f"{v:.3f}" for v in rows[g]["r2_by_bin"]) + ")"
                 for g in groups]
        print(f"| {panel} | " + " | ".join(cells) + " |")
    print("\n| haplotypes | share at distance 0 | nearest training haplotype: " + " / ".join(f"q{q:g}" for q in QUANTILES) + " |")
    print("| --- | --- | --- |")
    for name, s in nearest.items():
        print(f"| {name} | {s['share_zero']:.3f} | " + " / ".join(f"{v:g}" for v in s["quantiles"].values()) + " |")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
