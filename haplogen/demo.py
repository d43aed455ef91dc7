"""``haplogen demo``: the whole pipeline on simulated data, in a few minutes on 2 cores.

simulate (stdpopsim out-of-Africa, 3 populations) -> split by individual (stratified, 20%
held out) -> train the default model (RBM) -> generate as many artificial haplotypes as there
are training haplotypes -> evaluate against the training set, with the privacy audit against
the holdout -> ``report.html``.

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

__all__ = ["DEMO_EPOCHS", "run_demo", "demo_paths"]

#: 3 x 250 individuals and 1,000 common SNPs (MAF >= 2%) over 10 unlinked chromosomes of 10 Mb:
#: a genome-wide panel like the founding paper's 805 SNPs, small enough for minutes on 2 cores
DEMO_INDIVIDUALS = 250
DEMO_SITES = 1000
DEMO_CHROMOSOMES = 10
DEMO_LENGTH = 10_000_000
DEMO_EPOCHS: int | None = None  # None: the RBM's default number of epochs


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

    say("[3/5] training the RBM")
    record = train_from_file(split["train"], model="rbm", out_dir=paths["model"], seed=seed, epochs=DEMO_EPOCHS,
                             overwrite=overwrite, progress=progress_printer(indented, 10.0), **common)
    n_train = int(record["parameters"]["n_haplotypes"])

    say(f"[4/5] generating {n_train} artificial haplotypes")
    generate_to_file(paths["model"], n_train, paths["artificial"], seed=seed + 1, overwrite=overwrite, **common)

    say("[5/5] evaluating against the training set, privacy audit against the holdout")
    ev, outputs = evaluate_files(split["train"], [paths["artificial"]], paths["evaluation"],
                                 holdout=split["holdout"], names=["rbm"], labels=paths["labels"], model=paths["model"],
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
    say(
        "\nartificial genomes: {ag}\n"
        "allele frequency r = {af:.4f}   LD r = {ld:.4f}   AATS = {aats:.3f} (0.5 is ideal)   privacy: {v}\n"
        "report: {report}\n"
        "done in {t:.0f} s".format(
            ag=paths["artificial"], af=headline["allele_frequency_r"], ld=headline["ld_r"], aats=headline["aats"],
            v=verdict.upper(), report=outputs["report"], t=time.monotonic() - start,
        )
    )
    return headline
