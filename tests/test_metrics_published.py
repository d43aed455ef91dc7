"""The published artificial genomes of Yelmen et al. 2021 score as in the data README (± 0.005)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from haplogen.metrics import adversarial_accuracy, allele_frequency_comparison, ld_comparison

#: README figures: af_r, ld_r, AATS (ties 1/2), AA_truth, AA_syn, AATS strict
REFERENCE = {
    "805_SNP_GAN_AG_20000epochs.hapt.gz": (0.9818, 0.9239, 0.6095, 0.2251, 0.9939, 0.6003),
    "805_SNP_RBM_AG_800Epochs.hapt.gz": (0.9937, 0.9770, 0.5522, 0.5814, 0.5230, 0.5166),
}


def read_matrix(path) -> np.ndarray:
    """Alleles of a hapt file (tag, id, then one 0/1 per SNP), parsed independently of haplogen.io."""
    with gzip.open(path, "rt") as handle:
        return np.array([line.split()[2:] for line in handle if line.strip()], dtype=np.uint8)


@pytest.fixture(scope="module")
def real_matrix(shared_data):
    return read_matrix(shared_data / "805_SNP_1000G_real.hapt.gz")


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_published_file_matches_readme(shared_data, real_matrix, name):
    syn = read_matrix(shared_data / "published_ags" / name)
    assert real_matrix.shape == (5008, 805) and syn.shape == (5000, 805)
    af_r, ld_r, aats, aa_truth, aa_syn, strict = REFERENCE[name]
    assert allele_frequency_comparison(real_matrix, syn)["af_r"] == pytest.approx(af_r, abs=0.005)
    assert ld_comparison(real_matrix, syn)["ld_r"] == pytest.approx(ld_r, abs=0.005)
    out = adversarial_accuracy(real_matrix, syn, n_repeats=2, size=5000, seed=0)
    assert out["aats"] == pytest.approx(aats, abs=0.005)
    assert out["aa_truth"] == pytest.approx(aa_truth, abs=0.005)
    assert out["aa_syn"] == pytest.approx(aa_syn, abs=0.005)
    assert out["aats_strict"] == pytest.approx(strict, abs=0.005)
