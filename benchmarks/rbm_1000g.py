"""Acceptance benchmark of the RBM on the founding paper's data (1000 Genomes, 805 SNPs).

Trains :class:`haplogen.models.RBM` with its DEFAULT configuration on all 5,008 real haplotypes,
samples 5,000 artificial haplotypes and scores them against the real ones with the statistics
of ``../shared/BENCHMARK.md`` (track F); the paper's published RBM haplotypes are scored by the
same code in the same run as the reference. Prints the figures and writes them as JSON to
``benchmarks/results/rbm_1000g.json``.

Run::

    .venv/bin/python benchmarks/rbm_1000g.py [--threads 2] [--seed 1] [--epochs N]

Acceptance (issue): allele-frequency r >= 0.99, LD r >= 0.95, AATS (ties 1/2) in [0.45, 0.60],
no exact copies, training in at most 15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from haplogen.models import RBM, format_progress, set_threads  # noqa: E402
from haplogen.provenance import make_record, write_json_atomic  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "1000g-805"


def read_hapt(path: Path) -> np.ndarray:
    """(n_haplotypes, n_sites) uint8 matrix of a paper-format .hapt.gz (2 leading label columns)."""
    with gzip.open(path, "rt") as handle:
        rows = [line.split()[2:] for line in handle if line.strip()]
    return np.array(rows, dtype=np.uint8)


def allele_frequency_r(real: np.ndarray, art: np.ndarray) -> float:
    return float(np.corrcoef(real.mean(0), art.mean(0))[0, 1])


def ld_r(real: np.ndarray, art: np.ndarray) -> float:
    """Pearson r of r^2 over all SNP pairs polymorphic in both sets."""
    keep = (real.std(0) > 0) & (art.std(0) > 0)
    iu = np.triu_indices(int(keep.sum()), k=1)
    r2_real = np.corrcoef(real[:, keep].T.astype(np.float64))[iu] ** 2
    r2_art = np.corrcoef(art[:, keep].T.astype(np.float64))[iu] ** 2
    return float(np.corrcoef(r2_real, r2_art)[0, 1])


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) Hamming distances of 0/1 rows, by matrix products."""
    af = a.astype(np.float32)
    bf = b.astype(np.float32)
    d = af.sum(1)[:, None] + bf.sum(1)[None, :] - 2 * (af @ bf.T)
    return np.rint(d).astype(np.int32)


def aats(real: np.ndarray, art: np.ndarray) -> dict[str, float]:
    """Nearest-neighbour adversarial accuracy (Yale et al. 2020) on equal-sized sets."""
    d_rr = hamming(real, real).astype(np.float64)
    np.fill_diagonal(d_rr, np.inf)
    d_aa = hamming(art, art).astype(np.float64)
    np.fill_diagonal(d_aa, np.inf)
    d_ra = hamming(real, art)
    rr, aa = d_rr.min(1), d_aa.min(1)
    ra, ar = d_ra.min(1), d_ra.min(0)
    truth = float(np.mean((ra > rr) + 0.5 * (ra == rr)))
    syn = float(np.mean((ar > aa) + 0.5 * (ar == aa)))
    truth_strict = float(np.mean(ra > rr))
    syn_strict = float(np.mean(ar > aa))
    return {
        "aats": (truth + syn) / 2,
        "aa_truth": truth,
        "aa_syn": syn,
        "aats_strict": (truth_strict + syn_strict) / 2,
    }


def exact_copies(real: np.ndarray, art: np.ndarray) -> int:
    seen = {row.tobytes() for row in real}
    return int(sum(row.tobytes() in seen for row in art))


def score(real: np.ndarray, art: np.ndarray, seed: int) -> dict[str, float]:
    """Track-F figures with haplogen.metrics when it is there (AATS: mean of 5 subsamples of
    5,000), else with the self-contained functions above (one subsample)."""
    try:
        from haplogen.metrics.aats import adversarial_accuracy
        from haplogen.metrics.distance import exact_copies as package_copies
        from haplogen.metrics.frequency import allele_frequency_comparison
        from haplogen.metrics.ld import ld_comparison
    except ImportError:
        return score_self_contained(real, art, seed)
    n = min(5000, len(real), len(art))
    acc = adversarial_accuracy(real, art, size=n, n_repeats=5, seed=seed)
    out = {
        "allele_frequency_r": float(allele_frequency_comparison(real, art)["af_r"]),
        "ld_r": float(ld_comparison(real, art)["ld_r"]),
    }
    out.update({k: float(acc[k]) for k in ("aats", "aa_truth", "aa_syn", "aats_strict", "aats_sd")})
    out["exact_copies"] = int(package_copies(real, art)["exact_copies"])
    out["metrics"] = "haplogen.metrics"
    return out


def score_self_contained(real: np.ndarray, art: np.ndarray, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    n = min(5000, len(real), len(art))
    real_sub = real[rng.choice(len(real), n, replace=False)]
    art_sub = art[rng.choice(len(art), n, replace=False)]
    out = {"allele_frequency_r": allele_frequency_r(real, art), "ld_r": ld_r(real, art)}
    out.update(aats(real_sub, art_sub))
    out["exact_copies"] = exact_copies(real, art)
    out["metrics"] = "self-contained (benchmarks/rbm_1000g.py)"
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs (for quick trials)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a config field (trials)")
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "rbm_1000g.json"))
    args = parser.parse_args(argv)
    threads = set_threads(args.threads)
    real = read_hapt(DATA / "805_SNP_1000G_real.hapt.gz")
    config = RBM.Config()
    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        field_type = type(getattr(config, key))
        overrides[key] = field_type(value)
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    config = dataclasses.replace(config, **overrides)
    model = RBM(config, real.shape[1])

    def report(p) -> None:
        if p.epoch % 10 == 0 or p.epoch == p.epochs:
            print(format_progress(p), flush=True)

    t0 = time.perf_counter()
    summary = model.fit(real, seed=args.seed, progress=report)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    art = model.sample(args.n_samples, seed=args.seed + 1)
    sample_s = time.perf_counter() - t0
    figures = score(real, art, seed=args.seed)
    check = score_self_contained(real, art, seed=args.seed)
    published = read_hapt(DATA / "published_ags" / "805_SNP_RBM_AG_800Epochs.hapt.gz")
    reference = score(real, published, seed=args.seed)
    result = {
        "benchmark": "rbm_1000g",
        "config": dataclasses.asdict(config),
        "default_config": not overrides,
        "threads": threads,
        "train_seconds": round(train_s, 1),
        "sample_seconds": round(sample_s, 1),
        "epochs_run": summary.epochs_run,
        "haplogen_rbm": figures,
        "published_rbm_800_epochs": reference,
        "haplogen_rbm_self_contained_check": check,
        "acceptance": {
            "allele_frequency_r>=0.99": figures["allele_frequency_r"] >= 0.99,
            "ld_r>=0.95": figures["ld_r"] >= 0.95,
            "0.45<=aats<=0.60": 0.45 <= figures["aats"] <= 0.60,
            "no_exact_copies": figures["exact_copies"] == 0,
            "train<=15min": train_s <= 900,
        },
        "provenance": make_record(parameters={"argv": sys.argv[1:]}, seed=args.seed,
                                  inputs=[DATA / "805_SNP_1000G_real.hapt.gz"]),
    }
    for name, values in (("haplogen RBM", figures), ("published RBM", reference)):
        print(name + ": " + "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items()))
    print("self-contained check: " + "  ".join(f"{k} {v:.4f}" for k, v in check.items() if isinstance(v, float)))
    print(f"train {train_s:.1f} s, sample {sample_s:.1f} s, threads {threads}")
    print("acceptance:", result["acceptance"])
    write_json_atomic(args.out, result)
    return result


if __name__ == "__main__":
    main()
