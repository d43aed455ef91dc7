"""Shared fixtures: small simulated data sets with fixed seeds, and the shared benchmark data."""

from __future__ import annotations

import os

# one compute thread per test process (and the commands they start): the tests' many small tensor
# operations are slower with two threads, and far slower when other work shares the cores
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from haplogen.haplotypes import Haplotypes  # noqa: E402
from haplogen.simulate import SimulationConfig, simulate_haplotypes  # noqa: E402

#: the shared benchmark data beside the project; tests that use it skip when it is absent
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "1000g-805"


@pytest.fixture(scope="session")
def sim_haplotypes() -> Haplotypes:
    """600 haplotypes (300 individuals: YRI, CEU, CHB) x 300 SNPs with MAF >= 1%, seed 7."""
    config = SimulationConfig(
        individuals_per_population=100, sequence_length=2_000_000, min_maf=0.01, max_sites=300
    )
    return simulate_haplotypes(config, seed=7)


@pytest.fixture(scope="session")
def sim_pair(sim_haplotypes: Haplotypes) -> tuple[Haplotypes, Haplotypes]:
    """Two disjoint halves of ``sim_haplotypes`` split by individual (a 'real' and a 'synthetic')."""
    samples = sim_haplotypes.samples
    rng = np.random.default_rng(11)
    chosen = rng.permutation(samples)
    half = len(chosen) // 2
    return sim_haplotypes.select_samples(chosen[:half]), sim_haplotypes.select_samples(chosen[half:])


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ``../shared/data/1000g-805``; skips the test when it is not there."""
    if not (SHARED_DATA / "1000g_805snp.vcf.gz").exists():
        pytest.skip("../shared/data/1000g-805 is not present (only on the project's machines)")
    return SHARED_DATA
