"""Track P on the 1000 Genomes 805-SNP data, end to end through the command line.

The held-out privacy protocol of BENCHMARK.md: split the individuals with the shared
``split.tsv`` (2,002 train, 502 holdout), train the RBM with its defaults on the train side
only, sample as many haplotypes as the holdout has (1,004), and run ``haplogen evaluate`` with
the holdout (privacy loss, closer-to-train share, membership inference AUC, copies, verdict).

Usage::

    .venv/bin/python benchmarks/track_p_1000g.py [--data ../shared/data/1000g-805] [--seed 1]

Writes ``benchmarks/results/track_p_1000g.json``; the run stays under
``benchmarks/runs/track_p_1000g/``.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from track_f_1000g import HERE, ROOT, haplogen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "1000g-805"))
    parser.add_argument("--out", default=str(HERE / "runs" / "track_p_1000g"))
    parser.add_argument("--seed", default="1")
    args = parser.parse_args()
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    timings = {
        "split_s": haplogen("split", str(data / "1000g_805snp.vcf.gz"), "--split-file", str(data / "split.tsv"),
                            "-o", str(out / "split"), "--seed", args.seed, "--overwrite"),
    }
    timings["train_s"] = haplogen("train", str(out / "split" / "train.vcf.gz"), "--model", "rbm", "-o", str(out / "rbm"),
                                  "--seed", args.seed, "--overwrite", "--threads", "2")
    timings["generate_s"] = haplogen("generate", str(out / "rbm"), "-n", "1004", "-o", str(out / "rbm_ag.vcf.gz"), "--overwrite",
                                     "--seed", str(int(args.seed) + 1))
    timings["evaluate_s"] = haplogen(
        "evaluate", "--real", str(out / "split" / "train.vcf.gz"), "--holdout", str(out / "split" / "holdout.vcf.gz"),
        "--synthetic", str(out / "rbm_ag.vcf.gz"), "--labels", str(data / "samples.tsv"), "--seed", "0",
        "-o", str(out / "evaluation"), "--overwrite",
    )
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    result = {
        "benchmark": "track P, 1000 Genomes 805 SNPs, shared split.tsv",
        "machine": {"platform": platform.platform()},
        "timings_s": timings,
        "training": json.loads((out / "rbm" / "provenance.json").read_text()).get("training"),
        "metrics": metrics.get("sets", metrics),
        "privacy": metrics.get("privacy"),
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "track_p_1000g.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps({"timings_s": timings}, indent=2))


if __name__ == "__main__":
    main()
