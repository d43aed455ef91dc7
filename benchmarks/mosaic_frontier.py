"""Imputation against privacy along the mosaic family's sampling switch probability (issues 7, 9).

A mosaic model (``haplogen train --model mosaic``) copies segments of its training haplotypes;
the shorter the segments it samples, the less an artificial haplotype resembles any donor, and
the less it serves as an imputation panel. This program draws sets from one trained model at
several sampling switch probabilities (the model's own fitted one times 1, 2, 4... by default)
and gives, for each, the privacy audit of ``haplogen evaluate`` against the real holdout and the
imputation r² of the holdout by Beagle 5 with the set as reference panel: the frontier on which
the model's self-audit chose its point.

Usage::

    .venv/bin/python benchmarks/mosaic_frontier.py --model MODEL_DIR --real split/train.vcf.gz \\
        --holdout split/holdout.vcf.gz [--factors 1,2,4,8,16] [--copying balanced|independent] \\
        [--seed 1] [--threads 1] --out frontier.json

Needs Beagle 5 (``apt-get install beagle``) for the imputation; writes the JSON and prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import sys
from pathlib import Path
from typing import Any


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from haplogen.models import load_model  # noqa: E402
from haplogen.haplotypes import Haplotypes  # noqa: E402
from haplogen.io import read_haplotypes  # noqa: E402
from haplogen.privacy.audit import privacy_audit  # noqa: E402
from haplogen.provenance import file_checksum, write_json_atomic  # noqa: E402
from haplogen.utility.imputation import imputation_utility  # noqa: E402


def frontier_point(model: Any, train: Haplotypes, holdout: Haplotypes, switch: float, *, n: int, seed: int,
                   threads: int, imputation: bool) -> dict[str, Any]:
    """The audit and imputation r² of ``n`` haplotypes drawn at the sampling switch ``switch``."""
    model.rates[2] = float(switch)
    x = model.sample(n, seed=seed)
    syn = Haplotypes.from_matrix(x, train.sites)
    audit = privacy_audit(train.matrix, holdout.matrix, x, seed=seed)
    point = {
        "switch": float(switch),
        "mean_segment_snps": 1.0 / float(switch),
        "verdict": audit["verdict"]["status"],
        **{k: float(audit[k]) for k in ("closer_to_train", "mia_auc", "privacy_loss")},
        "exact_copies_train": int(audit["exact_copies_train"]),
        "exact_copies_allowed": int(audit["exact_copies_allowed"]),
    }
    if imputation:
        result = imputation_utility(train, {"mosaic": syn}, holdout, combined=False, seed=seed, nthreads=threads)
        point["imputation_r2"] = result["r2"]["mosaic"]
        point["imputation_r2_by_bin"] = result["r2_by_bin"]["mosaic"]
        point["real_panel_r2"] = result["r2"]["real"]
        point["real_panel_r2_by_bin"] = result["r2_by_bin"]["real"]
        point["bin_labels"] = result["bin_labels"]
    return point


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a mosaic model directory (haplogen train --model mosaic)")
    ap.add_argument("--real", required=True, help="its training set")
    ap.add_argument("--holdout", required=True, help="held-out individuals (the audit's holdout, the imputation targets)")
    ap.add_argument("--factors", default="1,2,4,8,16", help="multiples of the fitted switch probability (default: %(default)s)")
    ap.add_argument("--n", type=int, default=None, help="haplotypes per set (default: as many as --real)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="Beagle's threads")
    ap.add_argument("--no-imputation", action="store_true", help="the audit only")
    ap.add_argument("--copying", choices=("model", "balanced", "independent"), default="model",
                    help="draw without replacement (balanced) or one by one (independent); default: as the model does")
    ap.add_argument("--out", required=True, help="JSON written here")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        ap.error(f"{out} exists; remove it or name another --out")
    model, _ = load_model(Path(args.model) / "model.pt")
    if model.name != "mosaic":
        ap.error(f"{args.model} holds a {model.name} model, not a mosaic one")
    if args.copying != "model":
        model.config = dataclasses.replace(model.config, balanced=args.copying == "balanced")
    train, holdout = read_haplotypes(args.real), read_haplotypes(args.holdout)
    fitted, chosen = float(model.rates[0]), float(model.rates[2])
    factors = [float(f) for f in args.factors.split(",")]
    n = args.n or train.n_haplotypes
    points = []
    for factor in factors:
        point = frontier_point(model, train, holdout, min(1.0, fitted * factor), n=n, seed=args.seed,
                               threads=args.threads, imputation=not args.no_imputation)
        point["factor"] = factor
        points.append(point)
        print(f"x{factor:g}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                          for k, v in point.items() if not isinstance(v, list)), flush=True)
    record = {
        "benchmark": "mosaic_frontier",
        "command": [sys.executable, *sys.argv],
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": {name: {"path": str(p), "sha256": file_checksum(p)}
                   for name, p in (("model", Path(args.model) / "model.pt"), ("real", args.real), ("holdout", args.holdout))},
        "seed": args.seed, "n": n, "balanced": bool(model.config.balanced), "fitted_switch": fitted, "self_audit_switch": chosen, "points": points,
    }
    write_json_atomic(out, record)
    print("\n| switch (x fitted) | mean segment (SNPs) | closer-to-train | membership AUC | privacy loss | verdict | imputation r² all (bins) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for p in points:
        imp = ("–" if "imputation_r2" not in p else f"{p['imputation_r2']:.3f} ("
               + " / ".join(f"{v:.3f}" for v in p["imputation_r2_by_bin"]) + ")")
        mark = " (self-audit's)" if abs(p["switch"] - chosen) < 1e-12 else ""
        print(f"| {p['switch']:.3g} (x{p['factor']:g}){mark} | {p['mean_segment_snps']:,.0f} | {p['closer_to_train']:.3f} | "
              f"{p['mia_auc']:.3f} | {p['privacy_loss']:.3f} | {p['verdict']} | {imp} |")
    if points and "real_panel_r2" in points[0]:
        p = points[0]
        print(f"\nreal panel: {p['real_panel_r2']:.3f} (" + " / ".join(f"{v:.3f}" for v in p["real_panel_r2_by_bin"]) + ")")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
