"""Shared fixtures: small simulated data sets with fixed seeds, and the shared benchmark data."""

from __future__ import annotations

import os

# one compute thread per test process (and the commands they start): the tests' many small tensor
# operations are slower with two threads, and far slower when other work shares the cores
os.environ.setdefault("OMP_NUM_THREADS", "1")

import importlib.util  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from haplogen.haplotypes import Haplotypes  # noqa: E402
from haplogen.simulate import SimulationConfig, simulate_haplotypes  # noqa: E402

#: the shared benchmark data beside the project; tests that use it skip when it is absent
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "1000g-805"
#: the benchmark programs (not a package: each runs as a script)
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """The program ``benchmarks/NAME.py`` as a module, for tests of its functions; the folder is
    on ``sys.path`` while it loads, for the programs that import ``bench_models``."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


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


def three_sets(h: Haplotypes, seed: int) -> dict[str, Haplotypes]:
    """``h`` split by individual at random: ``real`` 150, ``syn`` 75 and ``holdout`` the rest."""
    samples = np.random.default_rng(seed).permutation(h.samples)
    return {
        "real": h.select_samples(samples[:150]),
        "syn": h.select_samples(samples[150:225]),
        "holdout": h.select_samples(samples[225:]),
    }


def straight_and_resumed(make, x: np.ndarray, labels: np.ndarray | None, *, seed: int, first_epochs: int,
                         checkpoint: Path):
    """Two models from ``make()``: one trained straight through, one stopped after
    ``first_epochs`` epochs (a checkpoint at ``checkpoint``) and resumed from it with a fresh
    model. An exact resume gives the two the same weights."""
    straight = make()
    straight.fit(x, seed=seed, labels=labels)
    make().fit(x, seed=seed, labels=labels, epochs=first_epochs, checkpoint_path=checkpoint)
    resumed = make()
    resumed.fit(x, seed=seed, labels=labels, checkpoint_path=checkpoint, resume=True)
    return straight, resumed


#: block size of the block-wise tests: far smaller than the sets, so that every statistic is cut
#: into many blocks of rows and sites
SMALL_BLOCKS = 24_000


@pytest.fixture(scope="module")
def engine():
    """A LocalCluster of 2 thread workers, with blocks far smaller than the sets."""
    from haplogen.blockwise import open_blockwise

    with open_blockwise(n_workers=2, processes=False, memory_limit=None, chunk_bytes=SMALL_BLOCKS) as eng:
        yield eng


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ``../shared/data/1000g-805``; skips the test when it is not there."""
    if not (SHARED_DATA / "1000g_805snp.vcf.gz").exists():
        pytest.skip("../shared/data/1000g-805 is not present (only on the project's machines)")
    return SHARED_DATA
