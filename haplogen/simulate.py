"""Simulated phased data sets, made with stdpopsim and msprime, for the demo and the tests.

The default is the three-population out-of-Africa model of Gutenkunst et al. 2009
(stdpopsim ``HomSap/OutOfAfrica_3G09``: YRI, CEU, CHB) on contigs with uniform
recombination, so that nothing is downloaded at run time. The result is a
:class:`~haplogen.haplotypes.Haplotypes` with population labels; ``haplogen simulate``
writes it as a phased VCF and a ``sample pop super_pop`` table.

With ``n_chromosomes > 1`` each chromosome is an independent simulation (unlinked, as
chromosomes are), which gives a genome-wide SNP panel like the founding paper's 805 SNPs:
population structure without the genome-long identity by descent of one short region.
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
    #: length of each simulated chromosome in base pairs
    sequence_length: int = 5_000_000
    #: per-base, per-generation recombination rate (uniform; no genetic map is needed)
    recombination_rate: float = 1e-8
    #: per-base, per-generation mutation rate; None uses the demographic model's own rate
    mutation_rate: float | None = None
    #: keep sites whose minor allele frequency is at least this (0 keeps all polymorphic sites)
    min_maf: float = 0.0
    #: keep at most this many sites in all, chosen evenly along each chromosome (None keeps all)
    max_sites: int | None = None
    #: name of the (first) simulated chromosome; further ones are numbered on from it when it is a number
    chromosome: str = "1"
    #: independent (unlinked) chromosomes simulated, each of sequence_length bp
    n_chromosomes: int = 1


def _chromosome_names(config: SimulationConfig) -> list[str]:
    if config.n_chromosomes == 1:
        return [config.chromosome]
    if config.chromosome.isdigit():
        first = int(config.chromosome)
        return [str(first + i) for i in range(config.n_chromosomes)]
    return [f"{config.chromosome}_{i + 1}" for i in range(config.n_chromosomes)]


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
        Biallelic SNPs only, sorted by chromosome and position, labelled with population
        (YRI, CEU, CHB) and super-population (AFR, EUR, EAS). Individuals are named
        ``YRI_0001`` ...
    """
    import stdpopsim

    if config.individuals_per_population < 1:
        raise InputError(
            f"individuals per population must be at least 1, found {config.individuals_per_population}"
        )
    if config.sequence_length < 1000:
        raise InputError(f"sequence length must be at least 1000 bp, found {config.sequence_length}")
    if config.n_chromosomes < 1:
        raise InputError(f"the number of chromosomes must be at least 1, found {config.n_chromosomes}")
    species = stdpopsim.get_species("HomSap")
    model = species.get_demographic_model("OutOfAfrica_3G09")
    mutation_rate = model.mutation_rate if config.mutation_rate is None else config.mutation_rate
    contig = stdpopsim.Contig.basic_contig(
        length=config.sequence_length,
        mutation_rate=mutation_rate,
        recombination_rate=config.recombination_rate,
    )
    samples = {p.name: config.individuals_per_population for p in model.populations}
    engine = stdpopsim.get_engine("msprime")
    names = _chromosome_names(config)
    # one seed per chromosome; the single-chromosome case keeps the seed itself
    seeds = (
        [seed]
        if config.n_chromosomes == 1
        else [int(s.generate_state(1)[0] % (2**31 - 1)) + 1 for s in np.random.SeedSequence(seed).spawn(len(names))]
    )
    quota = None
    if config.max_sites is not None:
        quota = np.diff(np.linspace(0, config.max_sites, len(names) + 1).round().astype(int))
    matrices, tables, pop_names = [], [], None
    for i, (name, chrom_seed) in enumerate(zip(names, seeds)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts = engine.simulate(model, contig, samples, seed=chrom_seed)
        matrix, sites = _biallelic_snps(ts, config, name, None if quota is None else int(quota[i]))
        matrices.append(matrix)
        tables.append(sites)
        if pop_names is None:
            # Sample nodes come in order: individual i owns nodes 2i and 2i+1.
            pop_of_node = ts.tables.nodes.population[ts.samples()]
            pop_names = [ts.population(int(p)).metadata.get("name", str(p)) for p in pop_of_node]
    matrix = np.ascontiguousarray(np.concatenate(matrices, axis=1))
    sites = Sites(
        chrom=np.concatenate([t.chrom for t in tables]),
        position=np.concatenate([t.position for t in tables]),
        id=np.concatenate([t.id for t in tables]),
        ref=np.concatenate([t.ref for t in tables]),
        alt=np.concatenate([t.alt for t in tables]),
    )

    counters: dict[str, int] = {}
    sample_names = []
    for node in range(0, len(pop_names), 2):
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


def _biallelic_snps(ts, config: SimulationConfig, chromosome: str, max_sites: int | None) -> tuple[np.ndarray, Sites]:
    """The kept biallelic SNPs of one simulated chromosome: (n_haplotypes, n_kept) matrix and sites."""
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
    if max_sites is not None and keep.size > max_sites:
        pick = np.unique(np.linspace(0, keep.size - 1, max_sites).round().astype(int))
        keep = keep[pick]
    keep_ids = np.array(site_ids, dtype=np.int64)[keep]
    drop = np.setdiff1d(np.arange(ts.num_sites), keep_ids)
    kept_ts = ts.delete_sites(drop)
    matrix = kept_ts.genotype_matrix().T.astype(np.uint8)  # (n_haplotypes, n_kept)
    positions = np.array(positions_all, dtype=np.int64)[keep]
    refs = [site.ancestral_state for site in kept_ts.sites()]
    alts = [site.mutations[0].derived_state for site in kept_ts.sites()]
    sites = Sites(
        chrom=np.full(keep.size, chromosome, dtype=object),
        position=positions,
        id=np.array([f"{chromosome}:{p}" for p in positions], dtype=object),
        ref=np.array(refs, dtype=object),
        alt=np.array(alts, dtype=object),
    )
    return matrix, sites
