"""``haplogen demo``: the whole pipeline on simulated data, in a few minutes on 2 cores.

simulate (stdpopsim out-of-Africa, 3 populations) -> split by individual (stratified, 20%
held out) -> train the best family (:data:`DEMO_MODEL`, conditional on population) -> generate
as many artificial haplotypes as there are training haplotypes, in the training proportions of
the populations -> evaluate against the training set, with the privacy audit against the
holdout -> ``report.html``. The headline figures are printed beside the same figures of the
real holdout scored against the training set: the floor that an honest generator can reach.

Each step calls the same function of :mod:`haplogen.api` as the matching subcommand
(:func:`~haplogen.api.simulate_to_files`, :func:`~haplogen.api.split_to_files`,
:func:`~haplogen.api.train_from_file`, :func:`~haplogen.api.generate_to_file`,
:func:`~haplogen.api.evaluate_files`), so every file it writes is what that subcommand writes,
provenance included.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, Sequence

__all__ = ["DEMO_EPOCHS", "DEMO_MODEL", "run_demo", "demo_paths"]

#: 3 x 250 individuals and 1,000 common SNPs (MAF >= 2%) over 10 unlinked chromosomes of 10 Mb:
#: a genome-wide panel like the founding paper's 805 SNPs, small enough for minutes on 2 cores
DEMO_INDIVIDUALS = 250
DEMO_SITES = 1000
DEMO_CHROMOSOMES = 10
DEMO_LENGTH = 10_000_000
DEMO_EPOCHS: int | None = None  # None: the family's default (hmm stops early on its validation set)
#: the family the demo trains: the best on the demo's data (README, "Which model family"): hmm's
#: defaults (32 clusters in 4 ancestry groups for its 1,200 training haplotypes) against mixar's,
#: LD r 0.810 against 0.786, PCA W1 0.038 / 0.045 against 0.242 / 0.143, pairwise W1 0.34 against
#: 4.60, AA truth / syn 0.534 / 0.510 against 0.605 / 0.419, held-out 0.461 bits per SNP against
#: 0.464; hmm's privacy verdict is a warning on this small set (privacy loss about 0.065 against
#: a limit of 0.058, README)
DEMO_MODEL = "hmm"


def _simulation_config():
    from .simulate import SimulationConfig

    return SimulationConfig(
        individuals_per_population=DEMO_INDIVIDUALS,
        sequence_length=DEMO_LENGTH,
        min_maf=0.02,
        max_sites=DEMO_SITES,
        n_chromosomes=DEMO_CHROMOSOMES,
    )


def demo_paths(out_dir: str | Path) -> dict[str, Path]:
    """Every output of the demo, by step: ``data``, ``labels``, ``split``, ``model``,
    ``artificial`` and ``evaluation``."""
    out = Path(out_dir)
    return {
        "data": out / "data.vcf.gz",
        "labels": out / "data.samples.tsv",
        "split": out / "split",
        "model": out / "model",
        "artificial": out / "artificial.vcf.gz",
        "evaluation": out / "evaluation",
    }


def run_demo(
    out_dir: str | Path,
    *,
    seed: int = 1,
    say: Callable[[str], None] = print,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
) -> dict:
    """Run the demo pipeline into ``out_dir``.

    Parameters
    ----------
    out_dir
        Output folder (created).
    seed
        Seed of the simulation, the split and the training; generation uses ``seed + 1``.
    say
        Receives progress lines and warnings.
    overwrite
        Replace the outputs of an earlier demo in ``out_dir`` (refused otherwise, before any work).
    command
        The command line recorded in every output's provenance (default: ``sys.argv``).

    Returns
    -------
    dict
        The headline statistics: ``allele_frequency_r``, ``ld_r``, ``aats``, ``exact_copies``.
    """
    from .api import (
        evaluate_files,
        generate_to_file,
        progress_printer,
        simulate_to_files,
        split_files,
        split_to_files,
        train_from_file,
    )
    from .report import summary_table
    from .errors import InputError

    paths = demo_paths(out_dir)
    command = list(sys.argv if command is None else command)
    if not overwrite:  # every step refuses on its own; say so once, before any work
        taken = [p for p in paths.values() if p.exists()]
        if taken:
            raise InputError(
                f"{Path(out_dir)} already holds demo outputs ({', '.join(p.name for p in taken[:3])}); "
                "choose another folder, or pass --overwrite to replace them"
            )
    start = time.monotonic()

    def indented(message: str) -> None:
        say("      " + message)

    common = {"command": command, "say": indented, "warn": lambda m: say("      warning: " + m)}

    config = _simulation_config()
    say(f"[1/5] simulating {3 * config.individuals_per_population} individuals (YRI, CEU, CHB) on "
        f"{config.n_chromosomes} chromosomes, seed {seed}")
    simulate_to_files(paths["data"], config=config, seed=seed, labels_out=paths["labels"],
                      overwrite=overwrite, command=command, say=indented)

    say("[2/5] splitting individuals 80/20, stratified by population")
    split_to_files(paths["data"], paths["split"], holdout_fraction=0.2, seed=seed, labels=paths["labels"],
                   overwrite=overwrite, **common)
    split = split_files(paths["split"])

    say(f"[3/5] training {DEMO_MODEL}, conditional on population")
    record = train_from_file(split["train"], model=DEMO_MODEL, out_dir=paths["model"], seed=seed, epochs=DEMO_EPOCHS,
                             labels=paths["labels"], overwrite=overwrite, progress=progress_printer(indented, 10.0),
                             **common)
    n_train = int(record["parameters"]["n_haplotypes"])

    say(f"[4/5] generating {n_train} artificial haplotypes")
    generate_to_file(paths["model"], n_train, paths["artificial"], seed=seed + 1, overwrite=overwrite, **common)

    say("[5/5] evaluating against the training set, privacy audit against the holdout")
    ev, outputs = evaluate_files(split["train"], [paths["artificial"]], paths["evaluation"],
                                 holdout=split["holdout"], names=[DEMO_MODEL], labels=paths["labels"], model=paths["model"],
                                 seed=seed, overwrite=overwrite, **common)
    name = ev.synthetic_names[0]
    metrics = ev.metrics[name]
    headline = {
        "allele_frequency_r": metrics.get("af_r"),
        "ld_r": metrics.get("ld_r"),
        "aats": metrics.get("aats"),
        "exact_copies": metrics.get("exact_copies"),
    }
    print(summary_table(ev))
    verdict = (ev.privacy or {}).get(name, {}).get("verdict", {}).get("status", "n/a")
    floor = {k: float(ev.reference.get(k, float("nan"))) for k in ("af_r", "ld_r", "aats", "aa_truth", "aa_syn")}
    headline["floor"] = floor
    say(
        "\nartificial genomes: {ag}\n"
        "{name:>16}: allele frequency r = {af:.4f}   LD r = {ld:.4f}   AATS = {aats:.3f} "
        "(AA truth {at:.3f} / AA syn {asy:.3f})   privacy: {v}\n"
        "{floor_name:>16}: allele frequency r = {faf:.4f}   LD r = {fld:.4f}   AATS = {faats:.3f} "
        "(AA truth {fat:.3f} / AA syn {fasy:.3f})   (0.5 is ideal)\n"
        "report: {report}\n"
        "done in {t:.0f} s".format(
            ag=paths["artificial"], name=name, af=headline["allele_frequency_r"], ld=headline["ld_r"],
            aats=headline["aats"], at=metrics.get("aa_truth", float("nan")), asy=metrics.get("aa_syn", float("nan")),
            v=verdict.upper(), floor_name="real holdout", faf=floor["af_r"], fld=floor["ld_r"], faats=floor["aats"],
            fat=floor["aa_truth"], fasy=floor["aa_syn"], report=outputs["report"], t=time.monotonic() - start,
        )
    )
    return headline
