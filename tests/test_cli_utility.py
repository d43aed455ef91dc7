"""`haplogen evaluate --utility imputation` through the command line (Beagle; skips without it)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from haplogen.cli import main
from haplogen.io import write_haplotypes
from haplogen.simulate import SimulationConfig, simulate_haplotypes
from haplogen.utility.imputation import beagle_available, beagle_unavailable_reason


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A contiguous region split by individual; the 'artificial' set is a reshuffled copy of the
    training set (the real panel, reordered), so its imputation r² must equal the real panel's."""
    out = tmp_path_factory.mktemp("utility")
    h = simulate_haplotypes(SimulationConfig(individuals_per_population=16, sequence_length=300_000,
                                             max_sites=400), seed=9)
    samples = h.samples
    holdout = h.select_samples(samples[::4])
    train = h.select_samples([s for s in samples if s not in set(samples[::4])])
    order = np.random.default_rng(1).permutation(train.n_haplotypes)
    from haplogen.haplotypes import Haplotypes

    copy = Haplotypes.from_matrix(train.matrix[order], train.sites, prefix="AG")
    paths = {"train": out / "train.vcf.gz", "holdout": out / "holdout.vcf.gz", "ag": out / "ag.vcf.gz"}
    write_haplotypes(train, paths["train"], format="vcf")
    write_haplotypes(holdout, paths["holdout"], format="vcf")
    write_haplotypes(copy, paths["ag"], format="vcf")
    return paths, out


def test_utility_imputation_is_off_by_default_and_on_when_asked(files):
    paths, out = files
    base = ["evaluate", "--real", str(paths["train"]), "--holdout", str(paths["holdout"]),
            "--synthetic", str(paths["ag"]), "--statistics", "allele_frequency"]
    assert main([*base, "-o", str(out / "plain")]) == 0
    doc = json.loads((out / "plain" / "metrics.json").read_text())
    assert "imputation_r2" not in doc["statistics"]
    if not beagle_available():
        pytest.skip(f"Beagle 5 cannot run here: {beagle_unavailable_reason()}")
    assert main([*base, "--utility", "imputation", "--array-every", "5", "-o", str(out / "imp")]) == 0
    doc = json.loads((out / "imp" / "metrics.json").read_text())
    r2 = doc["statistics"]["imputation_r2"]["values"]["ag"]
    gap = doc["statistics"]["imputation_r2_gap"]["values"]["ag"]
    assert 0.2 < r2 <= 1.0
    # the same haplotypes in another order impute like the real panel (Beagle is seeded)
    assert abs(gap) < 0.02
    assert doc["provenance"]["parameters"]["options"] == {"imputation": {"array_every": 5}}
