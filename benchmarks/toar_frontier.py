"""How much train-on-artificial accuracy and pairwise-distance fidelity can a set reach and still pass the privacy audit? (issues 7, 9)

A population classifier needs each population's own allele frequencies; the only source of them
is the training sample, and a sample's allele frequencies are themselves a membership signal
(Homer et al. 2008). This program draws *frequency oracles*: artificial haplotypes whose sites
are independent, each a Bernoulli of the population's frequency pulled toward its
super-population's,

    f_p(w) = f_super + w (f_p,train - f_super),

for a few weights w (0: the continent only; 1: the training sample's own frequencies). Each
oracle set is scored like a model's set, by the train-on-artificial accuracy of
``haplogen evaluate`` (PCA + logistic regression trained on the set, tested on the real
holdout), by the privacy audit's verdict and closer-to-train share, and by two fidelity
statistics of ``haplogen evaluate`` against the training set: the pairwise-distance W1 and the
nearest-neighbour accuracies AA truth / syn (issue 7's goals on the 805-SNP panel). The real
holdout is scored the same way (its floor). The curve is the frontier a generator of that
accuracy must cross; artificial sets given with ``--synthetic`` (with their samples tables) are
placed beside it. The oracles have no LD: where even the sample's own frequencies (w = 1) leave
the pairwise W1 above the holdout's, the rest is LD and relatedness within populations, which a
generator can only learn from the same sample.

Usage::

    .venv/bin/python benchmarks/toar_frontier.py --real split/train.vcf.gz --holdout split/holdout.vcf.gz \\
        --labels samples.tsv [--synthetic hmm=hmm.vcf.gz ...] [--weights 0,0.25,0.5,0.75,1] \\
        [-n 5000] [--seed 1] --out benchmarks/results/toar_frontier.json

Writes the JSON and prints a Markdown table.
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

from haplogen.api import _individuals_by_share  # noqa: E402
from haplogen.haplotypes import Haplotypes, read_labels  # noqa: E402
from haplogen.io import read_haplotypes  # noqa: E402
from haplogen.metrics.aats import adversarial_accuracy  # noqa: E402
from haplogen.metrics.distance import pairwise_distance_comparison  # noqa: E402
from haplogen.privacy.audit import privacy_audit, privacy_verdict  # noqa: E402
from haplogen.provenance import file_checksum, write_json_atomic  # noqa: E402
from haplogen.utility.classifier import train_on_synthetic  # noqa: E402


def population_counts(train: Haplotypes, n: int) -> dict[str, int]:
    """Haplotypes per population for ``n``, in the training proportions (largest remainder, as
    ``haplogen generate`` gives them)."""
    names, counts = np.unique(np.asarray(train.population), return_counts=True)
    drawn = _individuals_by_share([str(k) for k in names], counts.astype(np.float64), n)
    return {str(k): int(np.sum(drawn == k)) for k in names}


def oracle_set(train: Haplotypes, weight: float, n: int, seed: int) -> Haplotypes:
    """``n`` haplotypes of independent sites at each population's frequency pulled toward its
    super-population's by ``1 - weight``; rows in population order, two per individual."""
    pops = np.asarray(train.population)
    supers = np.asarray(train.super_population)
    x = train.matrix
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for pop, count in population_counts(train, n).items():
        own = pops == pop
        continent = supers == supers[own][0]
        freq = x[continent].mean(axis=0) + weight * (x[own].mean(axis=0) - x[continent].mean(axis=0))
        rows.append((rng.random((count, x.shape[1])) < freq).astype(np.uint8))
        labels += [(pop, str(supers[own][0]))] * count
    h = Haplotypes.from_matrix(np.concatenate(rows), train.sites, ploidy=1)
    return h.with_labels({sample: labels[i] for i, sample in enumerate(h.samples)})


def fidelity(train: Haplotypes, h: Haplotypes, seed: int) -> dict[str, float]:
    """Pairwise-distance W1 and AA truth / syn of ``h`` against the training set, as ``haplogen
    evaluate`` computes them (its defaults: all pairs up to 500,000, five AATS subsamples of the
    smaller set's size)."""
    aa = adversarial_accuracy(train.matrix, h.matrix, n_repeats=5, seed=seed)
    return {
        "pairwise_w1": float(pairwise_distance_comparison(train.matrix, h.matrix, seed=seed)["pairwise_w1"]),
        "aa_truth": float(aa["aa_truth"]), "aa_syn": float(aa["aa_syn"]),
    }


def score(train: Haplotypes, holdout: Haplotypes, sets: dict[str, Haplotypes], seed: int) -> dict[str, dict[str, Any]]:
    toar = train_on_synthetic(train, sets, holdout, seed=seed)
    out = {
        "real": {"accuracy": float(toar["accuracy"]["real"]), "macro_f1": float(toar["macro_f1"]["real"])},
        "real holdout": fidelity(train, holdout, seed),
    }
    for name, h in sets.items():
        verdict = privacy_verdict(privacy_audit(train.matrix, holdout.matrix, h.matrix, seed=seed))
        out[name] = {
            "accuracy": float(toar["accuracy"][name]), "macro_f1": float(toar["macro_f1"][name]),
            "privacy": verdict["status"], "closer_to_train": float(verdict["checks"]["closer_to_train"]["value"]),
            "privacy_loss": float(verdict["checks"]["privacy_loss"]["value"]),
            **fidelity(train, h, seed),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", required=True, help="labelled training set")
    ap.add_argument("--holdout", required=True, help="labelled held-out individuals (the test set and the audit's holdout)")
    ap.add_argument("--labels", required=True, help="sample pop super_pop table of the real individuals")
    ap.add_argument("--synthetic", nargs="*", default=[], metavar="NAME=PATH",
                    help="artificial sets, each with its NAME.samples.tsv beside it")
    ap.add_argument("--weights", default="0,0.25,0.5,0.75,1", help="oracle weights w, comma-separated")
    ap.add_argument("-n", type=int, default=5000, help="haplotypes per oracle set")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="JSON written here")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        ap.error(f"{out} exists; remove it or name another --out")
    try:
        weights = [float(w) for w in args.weights.split(",")]
    except ValueError:
        ap.error(f"--weights takes numbers separated by commas, found {args.weights!r}")
    labels = read_labels(args.labels)
    train = read_haplotypes(args.real).with_labels(labels)
    holdout = read_haplotypes(args.holdout).with_labels(labels)
    sets: dict[str, Haplotypes] = {}
    inputs = {"real": args.real, "holdout": args.holdout, "labels": args.labels}
    for item in args.synthetic:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            ap.error(f"--synthetic takes NAME=PATH, found {item!r}")
        table = Path(path[: -len(".vcf.gz")] + ".samples.tsv" if path.endswith(".vcf.gz") else path + ".samples.tsv")
        if not table.exists():
            ap.error(f"{name}: no samples table {table} beside {path}; the classifier needs the set's populations")
        sets[name] = read_haplotypes(path).with_labels(read_labels(table))
        inputs[name] = path
    for w in weights:
        sets[f"oracle w={w:g}"] = oracle_set(train, w, args.n, args.seed)
    results = score(train, holdout, sets, args.seed)
    record = {
        "benchmark": "toar_frontier", "command": [sys.executable, *sys.argv],
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": {k: {"path": p, "sha256": file_checksum(p)} for k, p in inputs.items()},
        "seed": args.seed, "n": args.n, "weights": weights, "results": results,
    }
    write_json_atomic(out, record)
    print("| set | train-on-artificial accuracy | macro-F1 | privacy | closer-to-train share | pairwise W1 | AA truth / syn |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        if name == "real":
            print(f"| train on real | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | | | | |")
        elif name == "real holdout":
            print(f"| real holdout (floor) | | | | | {r['pairwise_w1']:.2f} | {r['aa_truth']:.3f} / {r['aa_syn']:.3f} |")
        else:
            print(f"| {name} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r['privacy']} | {r['closer_to_train']:.3f} "
                  f"| {r['pairwise_w1']:.2f} | {r['aa_truth']:.3f} / {r['aa_syn']:.3f} |")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
