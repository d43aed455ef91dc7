"""Median time per epoch of the founding paper's GAN on the 1000 Genomes 805-SNP data.

Trains :class:`haplogen.models.GAN` (the published architecture and training loop) on all
5,008 real haplotypes for a few epochs with torch on 2 threads and reports the median seconds
per epoch; the original Keras script runs at about 6.4 s per epoch on these machines (2 CPU
cores), which is quoted beside it. Writes ``benchmarks/results/gan_epoch_time.json``.

Run::

    .venv/bin/python benchmarks/gan_epoch_time.py [--epochs 7] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from haplogen.models import GAN, set_threads  # noqa: E402
from haplogen.provenance import make_record, write_json_atomic  # noqa: E402
from rbm_1000g import DATA, read_hapt  # noqa: E402

#: seconds per epoch of the paper's Keras script on these machines (measured by the project lead)
KERAS_REFERENCE_S = 6.4


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gan_epoch_time.json"))
    args = parser.parse_args(argv)
    threads = set_threads(args.threads)
    real = read_hapt(DATA / "805_SNP_1000G_real.hapt.gz")
    model = GAN(GAN.Config(epochs=args.epochs), real.shape[1])
    stamps = [time.perf_counter()]
    losses = []

    def tick(p) -> None:
        stamps.append(time.perf_counter())
        losses.append(p.losses)

    model.fit(real, seed=args.seed, progress=tick)
    # the first interval also holds the data preparation and initialisation
    per_epoch = [b - a for a, b in zip(stamps, stamps[1:])]
    median = statistics.median(per_epoch[1:] if len(per_epoch) > 2 else per_epoch)
    result = {
        "benchmark": "gan_epoch_time",
        "threads": threads,
        "epochs": args.epochs,
        "seconds_per_epoch": [round(s, 3) for s in per_epoch],
        "median_seconds_per_epoch": round(median, 3),
        "keras_reference_seconds_per_epoch": KERAS_REFERENCE_S,
        "speedup_vs_keras_reference": round(KERAS_REFERENCE_S / median, 1),
        "last_losses": losses[-1] if losses else {},
        "parameters": model.n_parameters(),
        "provenance": make_record(parameters={"argv": sys.argv[1:]}, seed=args.seed,
                                  inputs=[DATA / "805_SNP_1000G_real.hapt.gz"]),
    }
    print(f"median {median:.3f} s per epoch over {len(per_epoch)} epochs on {threads} threads "
          f"(Keras reference {KERAS_REFERENCE_S} s, {KERAS_REFERENCE_S / median:.1f}x); per epoch {result['seconds_per_epoch']}")
    write_json_atomic(args.out, result)
    return result


if __name__ == "__main__":
    main()
