"""``haplogen demo``: the whole pipeline on simulated data, in a few minutes on 2 cores.

simulate (stdpopsim out-of-Africa, 3 populations) -> split by individual (stratified, 20%
held out) -> train the default model (RBM) -> generate as many artificial haplotypes as there
are training haplotypes -> evaluate against the training set, with the privacy audit against
the holdout -> ``report.html``. Every file it writes is what the matching subcommand writes.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Callable

from .provenance import make_record

__all__ = ["DEMO_EPOCHS", "run_demo"]

#: 3 x 250 individuals and 1,000 common SNPs (MAF >= 2%) over 10 unlinked chromosomes of 10 Mb:
#: a genome-wide panel like the founding paper's 805 SNPs, small enough for minutes on 2 cores
DEMO_INDIVIDUALS = 250
DEMO_SITES = 1000
DEMO_CHROMOSOMES = 10
DEMO_EPOCHS: int | None = None  # None: the RBM's default number of epochs


def _simulation_config():
    from .simulate import SimulationConfig

    return SimulationConfig(
        individuals_per_population=DEMO_INDIVIDUALS,
        sequence_length=10_000_000,
        min_maf=0.02,
        max_sites=DEMO_SITES,
        n_chromosomes=DEMO_CHROMOSOMES,
    )


def run_demo(out_dir: str | Path, *, seed: int = 1, say: Callable[[str], None] = print) -> dict:
    """Run the demo pipeline into ``out_dir``; returns the headline statistics."""
    from .api import generate, train
    from .haplotypes import read_labels, write_labels
    from .evaluation import evaluate, summary_table, write_outputs
    from .io import write_haplotypes
    from .models.training import format_progress
    from .provenance import input_record
    from .simulate import simulate_haplotypes
    from .split import apply_split, split_individuals, write_split

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    command = list(sys.argv)

    config = _simulation_config()
    say(f"[1/5] simulating {3 * config.individuals_per_population} individuals (YRI, CEU, CHB) on "
        f"{config.n_chromosomes} chromosomes, seed {seed}")
    h = simulate_haplotypes(config, seed=seed)
    data_path = out / "data.vcf.gz"
    write_haplotypes(h, data_path, format="vcf",
                     provenance=make_record(parameters=dataclasses.asdict(config), seed=seed, command=command))
    labels_path = out / "data.samples.tsv"
    write_labels(h, labels_path)
    say(f"      {data_path}: {h.n_haplotypes} haplotypes x {h.n_sites} SNPs")

    say("[2/5] splitting individuals 80/20, stratified by population")
    split = split_individuals(h, holdout_fraction=0.2, seed=seed)
    train_h, holdout_h = apply_split(h, split)
    split_dir = out / "split"
    record = make_record(parameters={"holdout_fraction": 0.2, "stratify": True}, seed=seed,
                         inputs=[data_path], command=command)
    write_haplotypes(train_h, split_dir / "train.vcf.gz", format="vcf", provenance=record)
    write_haplotypes(holdout_h, split_dir / "holdout.vcf.gz", format="vcf", provenance=record)
    write_split(split, split_dir / "split.tsv", header_comment=f"demo split, seed {seed}")
    train_h = dataclasses.replace(train_h, source=input_record(split_dir / "train.vcf.gz"))
    say(f"      {train_h.n_haplotypes} training and {holdout_h.n_haplotypes} holdout haplotypes")

    say("[3/5] training the RBM")
    last = [0.0]

    def progress(p) -> None:
        now = time.monotonic()
        if now - last[0] >= 10 or (p.epochs is not None and p.epoch >= p.epochs):
            last[0] = now
            say("      " + format_progress(p))

    model_dir = out / "model"
    train(train_h, model="rbm", out_dir=model_dir, seed=seed, epochs=DEMO_EPOCHS, overwrite=True,
          progress=progress, command=command)

    say(f"[4/5] generating {train_h.n_haplotypes} artificial haplotypes")
    artificial, gen_record = generate(model_dir, train_h.n_haplotypes, seed=seed + 1, command=command)
    ag_path = out / "artificial.vcf.gz"
    write_haplotypes(artificial, ag_path, format="vcf", provenance=gen_record)

    say("[5/5] evaluating against the training set, privacy audit against the holdout")
    ev = evaluate(
        train_h,
        {"rbm": artificial},
        holdout=holdout_h,
        labels=read_labels(labels_path),
        seed=seed,
        progress=lambda m: say("      " + m),
        inputs=[input_record(p) for p in (split_dir / "train.vcf.gz", ag_path, split_dir / "holdout.vcf.gz")],
        command=command,
    )
    paths = write_outputs(ev, out / "evaluation")
    metrics = ev.metrics["rbm"]
    headline = {
        "allele_frequency_r": metrics.get("af_r"),
        "ld_r": metrics.get("ld_r"),
        "aats": metrics.get("aats"),
        "exact_copies": metrics.get("exact_copies"),
    }
    print(summary_table(ev))
    verdict = (ev.privacy or {}).get("rbm", {}).get("verdict", {}).get("status", "n/a")
    say(
        "\nartificial genomes: {ag}\n"
        "allele frequency r = {af:.4f}   LD r = {ld:.4f}   AATS = {aats:.3f} (0.5 is ideal)   privacy: {v}\n"
        "report: {report}\n"
        "done in {t:.0f} s".format(
            ag=ag_path, af=headline["allele_frequency_r"], ld=headline["ld_r"], aats=headline["aats"],
            v=verdict.upper(), report=paths["report"], t=time.monotonic() - start,
        )
    )
    return headline
