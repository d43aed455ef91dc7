"""Track F on the 1000 Genomes 805-SNP data, end to end through the command line.

What it runs (the founding paper's protocol, BENCHMARK.md track F):

1. ``haplogen train 1000g_805snp.vcf.gz --model rbm`` with the default settings (timed);
2. ``haplogen generate -n 5000`` (timed);
3. ``haplogen evaluate`` of our set and of the two published artificial files against the
   5,008 real haplotypes, in the same run, with the same code.

Usage::

    .venv/bin/python benchmarks/track_f_1000g.py [--data ../shared/data/1000g-805] [--seed 1]

Writes ``benchmarks/results/track_f_1000g.json`` and keeps the run under
``benchmarks/runs/track_f_1000g/`` (model, artificial VCF, report).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def haplogen(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "haplogen.cli", *args], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "1000g-805"))
    parser.add_argument("--out", default=str(HERE / "runs" / "track_f_1000g"))
    parser.add_argument("--seed", default="1")
    parser.add_argument("--skip-train", action="store_true", help="reuse the model of an earlier run")
    args = parser.parse_args()
    data, out = Path(args.data), Path(args.out)
    vcf = data / "1000g_805snp.vcf.gz"
    out.mkdir(parents=True, exist_ok=True)

    timings = {}
    if not args.skip_train:
        timings["train_s"] = haplogen("train", str(vcf), "--model", "rbm", "-o", str(out / "rbm"),
                                      "--seed", args.seed, "--overwrite", "--threads", "2")
    timings["generate_s"] = haplogen("generate", str(out / "rbm"), "-n", "5000", "-o", str(out / "rbm_ag.vcf.gz"), "--overwrite",
                                     "--seed", str(int(args.seed) + 1))
    published = data / "published_ags"
    timings["evaluate_s"] = haplogen(
        "evaluate", "--real", str(vcf), "--legend", str(data / "805_SNP.legend"),
        "--synthetic", str(out / "rbm_ag.vcf.gz"),
        str(published / "805_SNP_GAN_AG_20000epochs.hapt.gz"), str(published / "805_SNP_RBM_AG_800Epochs.hapt.gz"),
        "--labels", str(data / "samples.tsv"), "--seed", "0", "-o", str(out / "evaluation"), "--overwrite",
    )
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    provenance = json.loads((out / "rbm" / "provenance.json").read_text())
    result = {
        "benchmark": "track F, 1000 Genomes 805 SNPs",
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
        "timings_s": timings,
        "training": provenance.get("training"),
        "metrics": metrics.get("sets", metrics),
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "track_f_1000g.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps({"timings_s": timings}, indent=2))


if __name__ == "__main__":
    main()
