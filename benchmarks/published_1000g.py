"""Score the two published artificial genome files of Yelmen et al. 2021 against the real data.

Reads ``805_SNP_1000G_real.hapt.gz`` and the GAN and RBM files of ``published_ags/`` from the
shared 1000 Genomes 805-SNP data, computes the allele frequency r, the LD r² r over all SNP
pairs, and the AATS (ties 1/2 and strict) on 5,000 haplotypes of each set, and prints each
beside the reference figure of the data README with the difference. Saves JSON under
``benchmarks/results/published_1000g.json``.

Usage::

    python benchmarks/published_1000g.py [--data ../shared/data/1000g-805] [--repeats 5]
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from haplogen.metrics import (  # noqa: E402
    adversarial_accuracy,
    allele_frequency_comparison,
    exact_copies,
    ld_comparison,
)

#: the figures of the data README (5,008 real vs 5,000 artificial; AATS on 5,000 of each)
REFERENCE = {
    "GAN": {"af_r": 0.9818, "ld_r": 0.9239, "aats": 0.6095, "aa_truth": 0.2251, "aa_syn": 0.9939,
            "aats_strict": 0.6003, "exact_copies": 0},
    "RBM": {"af_r": 0.9937, "ld_r": 0.9770, "aats": 0.5522, "aa_truth": 0.5814, "aa_syn": 0.5230,
            "aats_strict": 0.5166, "exact_copies": 0},
}
FILES = {
    "GAN": "published_ags/805_SNP_GAN_AG_20000epochs.hapt.gz",
    "RBM": "published_ags/805_SNP_RBM_AG_800Epochs.hapt.gz",
}
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "1000g-805"


def read_hapt_matrix(path: Path) -> np.ndarray:
    """0/1 matrix (n_haplotypes, n_sites) of a hapt file: tag, id, then one 0/1 per site.

    Uses the library's reader (:func:`haplogen.io.hapt.read_hapt`) when it is importable,
    otherwise a minimal parser: after the two leading fields, each allele is one character.
    """
    try:
        from haplogen.io.hapt import read_hapt
    except ImportError:
        pass
    else:
        return read_hapt(path).matrix
    rows = []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            fields = line.split(None, 2)
            if len(fields) < 3:
                continue
            alleles = "".join(fields[2].split())
            rows.append(np.frombuffer(alleles.encode("ascii"), dtype=np.uint8) - ord("0"))
    matrix = np.vstack(rows)
    if matrix.max() > 1:
        raise ValueError(f"{path}: alleles must be 0 or 1")
    return matrix


def score(real: np.ndarray, syn: np.ndarray, *, repeats: int, seed: int = 0) -> dict[str, float]:
    """af_r, ld_r, AATS (½ and strict) and exact copies of ``syn`` against ``real``."""
    af = allele_frequency_comparison(real, syn)
    ld = ld_comparison(real, syn)
    aa = adversarial_accuracy(real, syn, n_repeats=repeats, size=5000, seed=seed)
    copies = exact_copies(real, syn)
    return {
        "af_r": af["af_r"],
        "ld_r": ld["ld_r"],
        "ld_n_pairs": ld["n_pairs"],
        "aats": aa["aats"],
        "aats_sd": aa["aats_sd"],
        "aa_truth": aa["aa_truth"],
        "aa_syn": aa["aa_syn"],
        "aats_strict": aa["aats_strict"],
        "aa_truth_strict": aa["aa_truth_strict"],
        "aa_syn_strict": aa["aa_syn_strict"],
        "exact_copies": copies["exact_copies"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=5, help="AATS subsamples (default 5)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "published_1000g.json")
    args = parser.parse_args(argv)

    real = read_hapt_matrix(args.data / "805_SNP_1000G_real.hapt.gz")
    results = {}
    for model, rel in FILES.items():
        syn = read_hapt_matrix(args.data / rel)
        start = time.perf_counter()
        measured = score(real, syn, repeats=args.repeats)
        elapsed = time.perf_counter() - start
        results[model] = {
            "measured": measured,
            "reference": REFERENCE[model],
            "difference": {k: measured[k] - v for k, v in REFERENCE[model].items()},
            "seconds": elapsed,
            "n_real": int(real.shape[0]),
            "n_syn": int(syn.shape[0]),
        }
        print(f"{model}: {syn.shape[0]} artificial vs {real.shape[0]} real, {real.shape[1]} SNPs ({elapsed:.1f} s)")
        print(f"  {'statistic':<14}{'haplogen':>10}{'README':>10}{'diff':>10}")
        for key, ref in REFERENCE[model].items():
            print(f"  {key:<14}{measured[key]:>10.4f}{ref:>10.4f}{measured[key] - ref:>+10.4f}")
    worst = max(abs(d) for r in results.values() for d in r["difference"].values())
    print(f"largest absolute difference from the README: {worst:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": "published_1000g",
        "data": str(args.data),
        "aats_size": 5000,
        "aats_repeats": args.repeats,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "results": results,
        "largest_abs_difference": worst,
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
