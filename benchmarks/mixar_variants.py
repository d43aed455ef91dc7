"""Which variant of the mixar family wins on held-out likelihood (track L, GPC's split of the 805-SNP panel).

Each variant is a setting of ``haplogen/models/mixar.py``, trained through the Python API on the
``train`` individuals of ``gpc_split.tsv`` (with its early stopping on 10% of them) and scored
on the ``holdout`` individuals, beside the baselines of :mod:`haplogen.metrics.compression` and
GPC's published figure (−389.76 nats per haplotype, its hidden Chow-Liu tree demo model):

* ``latent-class``: no window, one block, one ancestry type: a plain mixture of products of
  Bernoullis (population structure only);
* ``mixture+window``: one block and one type, with the window of 16 SNPs: a mixture of
  autoregressive models (structure + short-range LD);
* ``default``: the defaults (32 ancestry types, 16 clusters redrawn every 16-SNP block, window 16);
* ``default, labels``: the same trained on the 26 population labels, scored by its marginal;
* ``ensemble of 4``: the default with ``n_members=4``.

Usage::

    .venv/bin/python benchmarks/mixar_variants.py [--data ../shared/data/1000g-805] [--variants a,b]

Writes ``benchmarks/results/mixar_variants.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

VARIANTS = {
    "latent-class": ({"window": 0, "n_types": 1, "block_sites": 100_000}, False),
    "mixture+window": ({"n_types": 1, "block_sites": 100_000}, False),
    "default": ({}, False),
    "default, labels": ({}, True),
    "ensemble of 4": ({"n_members": 4}, False),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "1000g-805"))
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "mixar_variants.json"))
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not (data / "1000g_805snp.vcf.gz").exists():
        print(f"mixar_variants: {data} has no 1000g_805snp.vcf.gz; pass --data", file=sys.stderr)
        return 2

    import numpy as np
    import torch

    import haplogen
    from haplogen.metrics.compression import compression_baselines
    from haplogen.models.mixar import MixAR, MixARConfig
    from haplogen.split import apply_split, read_split

    torch.set_num_threads(args.threads)
    h = haplogen.read_input(data / "1000g_805snp.vcf.gz", labels=data / "samples.tsv")
    train, holdout = apply_split(h, read_split(data / "gpc_split.tsv"))
    baselines = compression_baselines(train.matrix, holdout.matrix)
    rows = []
    for name in args.variants.split(","):
        settings, labelled = VARIANTS[name]
        t0 = time.perf_counter()
        model = MixAR(MixARConfig(**settings), h.n_sites)
        summary = model.fit(train.matrix, seed=args.seed, labels=train.population if labelled else None)
        seconds = time.perf_counter() - t0
        ll_holdout = float(model.log_likelihood(holdout.matrix).mean())
        ll_train = float(model.log_likelihood(train.matrix).mean())
        row = {
            "variant": name, "settings": settings, "labels": labelled, "epochs_run": summary.epochs_run,
            "stopped_by": summary.stopped_by, "train_s": round(seconds, 1),
            "holdout_nats_per_haplotype": round(ll_holdout, 2), "train_nats_per_haplotype": round(ll_train, 2),
            "holdout_bits_per_snp": round(-ll_holdout / (h.n_sites * np.log(2)), 4),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {
        "benchmark": "mixar variants, track L on gpc_split.tsv",
        "haplogen": haplogen.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": args.threads,
        "seed": args.seed,
        "command": ["benchmarks/mixar_variants.py", *(argv if argv is not None else sys.argv[1:])],
        "n_train": train.n_haplotypes,
        "n_holdout": holdout.n_haplotypes,
        "reference_gpc_holdout_nats": -389.76,
        "baselines": baselines,
        "variants": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
