"""Simulated phased data sets, made with stdpopsim and msprime, for the demo and the tests.

The default is the three-population out-of-Africa model of Gutenkunst et al. 2009
(stdpopsim ``HomSap/OutOfAfrica_3G09``: YRI, CEU, CHB) on a contig with uniform
recombination, so that nothing is downloaded at run time. The result is a
:class:`~haplogen.haplotypes.Haplotypes` with population labels; ``haplogen simulate``
writes it as a phased VCF and a ``sample pop super_pop`` table.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .haplotypes import Haplotypes, Sites

__all__ = ["SimulationConfig", "simulate_haplotypes", "SUPER_POPULATION"]

#: continental group of each population of the out-of-Africa model
SUPER_POPULATION = {"YRI": "AFR", "CEU": "EUR", "CHB": "EAS"}


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of a simulated data set."""

    #: diploid individuals simulated per population (YRI, CEU, CHB)
    individuals_per_population: int = 100
    #: length of the simulated contig in base pairs
    sequence_length: int = 5_000_000
    #: per-base, per-generation recombination rate (uniform; no genetic map is needed)
    recombination_rate: float = 1e-8
    #: per-base, per-generation mutation rate; None uses the demographic model's own rate
    mutation_rate: float | None = None
    #: keep sites whose minor allele frequency is at least this (0 keeps all polymorphic sites)
    min_maf: float = 0.0
    #: keep at most this many sites, chosen evenly along the contig (None keeps all)
    max_sites: int | None = None
    #: name of the simulated chromosome in the output
    chromosome: str = "1"


def simulate_haplotypes(config: SimulationConfig = SimulationConfig(), *, seed: int) -> Haplotypes:
    """Simulate phased haplotypes under the stdpopsim out-of-Africa model.

    Parameters
    ----------
    config
        Sizes and rates of the simulation.
    seed
        Random seed; the same seed and config give the same data.

    Returns
    -------
    Haplotypes, shape (2 * 3 * individuals_per_population, n_sites)
        Biallelic SNPs only, sorted by position, labelled with population (YRI, CEU, CHB)
        and super-population (AFR, EUR, EAS). Individuals are named ``YRI_0001`` ...
    """
    import stdpopsim

    if config.individuals_per_population < 1:
        raise InputError(
            f"individuals per population must be at least 1, found {config.individuals_per_population}"
        )
    if config.sequence_length < 1000:
        raise InputError(f"sequence length must be at least 1000 bp, found {config.sequence_length}")
    species = stdpopsim.get_species("HomSap")
    model = species.get_demographic_model("OutOfAfrica_3G09")
    mutation_rate = model.mutation_rate if config.mutation_rate is None else config.mutation_rate
    contig = stdpopsim.Contig.basic_contig(
        length=config.sequence_length,
        mutation_rate=mutation_rate,
        recombination_rate=config.recombination_rate,
    )
    populations = [p.name for p in model.populations]
    samples = {name: config.individuals_per_population for name in populations}
    engine = stdpopsim.get_engine("msprime")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = engine.simulate(model, contig, samples, seed=seed)

    # Choose the sites before decoding any genotype: a simulation of 20,000 haplotypes over tens
    # of Mb has ~10^5 sites, and decoding them all costs gigabytes. A site with exactly one
    # mutation is biallelic; its ALT count is the number of samples below the mutation's node.
    positions_all, counts, site_ids = [], [], []
    n_samples = ts.num_samples
    last_position = -1
    for tree in ts.trees():
        for site in tree.sites():
            if len(site.mutations) != 1:
                continue
            position = int(site.position) + 1  # VCF positions are 1-based
            if position <= last_position:  # positions are rounded to integers: keep the first
                continue
            last_position = position
            positions_all.append(position)
            counts.append(tree.num_samples(site.mutations[0].node))
            site_ids.append(site.id)
    freq = np.array(counts, dtype=np.float64) / n_samples
    maf = np.minimum(freq, 1 - freq)
    keep = np.flatnonzero((maf > 0) & (maf >= config.min_maf))
    if config.max_sites is not None and keep.size > config.max_sites:
        pick = np.unique(np.linspace(0, keep.size - 1, config.max_sites).round().astype(int))
        keep = keep[pick]
    keep_ids = np.array(site_ids, dtype=np.int64)[keep]
    drop = np.setdiff1d(np.arange(ts.num_sites), keep_ids)
    kept_ts = ts.delete_sites(drop)
    matrix = np.ascontiguousarray(kept_ts.genotype_matrix().T.astype(np.uint8))  # (n_haplotypes, n_sites)
    positions_arr = np.array(positions_all, dtype=np.int64)[keep]
    refs, alts = [], []
    for site in kept_ts.sites():
        refs.append(site.ancestral_state)
        alts.append(site.mutations[0].derived_state)
    sites = Sites(
        chrom=np.full(keep.size, config.chromosome, dtype=object),
        position=positions_arr,
        id=np.array([f"{config.chromosome}:{p}" for p in positions_arr], dtype=object),
        ref=np.array(refs, dtype=object),
        alt=np.array(alts, dtype=object),
    )

    # Sample nodes come in order: individual i owns nodes 2i and 2i+1.
    pop_of_node = ts.tables.nodes.population[ts.samples()]
    pop_names = [ts.population(int(p)).metadata.get("name", str(p)) for p in pop_of_node]
    counters: dict[str, int] = {}
    sample_names = []
    for node in range(0, ts.num_samples, 2):
        pop = pop_names[node]
        counters[pop] = counters.get(pop, 0) + 1
        sample_names.append(f"{pop}_{counters[pop]:04d}")
    haplotype_sample = np.repeat(np.array(sample_names, dtype=object), 2)
    haplotype_id = np.array([f"{s}_{'AB'[i % 2]}" for i, s in enumerate(haplotype_sample)], dtype=object)
    return Haplotypes(
        matrix=matrix,
        sites=sites,
        haplotype_sample=haplotype_sample,
        haplotype_id=haplotype_id,
        population=np.array(pop_names, dtype=object),
        super_population=np.array([SUPER_POPULATION.get(p, p) for p in pop_names], dtype=object),
        source={"simulation": "stdpopsim HomSap/OutOfAfrica_3G09 (msprime)", "seed": seed},
    )
