"""Compression baselines (haplogen.metrics.compression) against slow obvious loops, and on the 805-SNP panel."""

from __future__ import annotations

import itertools
import lzma
import math
import shutil
import subprocess

import numpy as np
import pytest

from haplogen.errors import InputError
from haplogen.metrics import compression as cz


# ---------------------------------------------------------------------------- slow references
def slow_independent(train: np.ndarray, test: np.ndarray, a: float) -> np.ndarray:
    n, n_sites = train.shape
    out = []
    for row in test:
        total = 0.0
        for l in range(n_sites):
            ones = sum(int(train[i, l]) for i in range(n))
            p1 = (ones + a) / (n + 2 * a)
            total += math.log(p1) if row[l] == 1 else math.log(1 - p1)
        out.append(total)
    return np.array(out)


def slow_markov(train: np.ndarray, test: np.ndarray, a: float) -> np.ndarray:
    n, n_sites = train.shape
    out = []
    for row in test:
        ones = sum(int(train[i, 0]) for i in range(n))
        p1 = (ones + a) / (n + 2 * a)
        total = math.log(p1) if row[0] == 1 else math.log(1 - p1)
        for l in range(1, n_sites):
            i, j = int(row[l - 1]), int(row[l])
            n_ij = sum(1 for k in range(n) if train[k, l - 1] == i and train[k, l] == j)
            n_i = sum(1 for k in range(n) if train[k, l - 1] == i)
            total += math.log((n_ij + a) / (n_i + 2 * a))
        out.append(total)
    return np.array(out)


def slow_pack(x: np.ndarray) -> bytes:
    """8 alleles per byte, row after row, the first allele in the most significant bit."""
    bits = [int(v) for row in x for v in row]
    bits += [0] * (-len(bits) % 8)
    return bytes(sum(bit << (7 - k) for k, bit in enumerate(bits[i:i + 8])) for i in range(0, len(bits), 8))


@pytest.fixture(scope="module")
def small() -> tuple[np.ndarray, np.ndarray]:
    """Correlated random haplotypes: 40 training and 15 test rows x 13 sites (not a multiple of 8)."""
    rng = np.random.default_rng(3)
    base = rng.random(13)
    x = (rng.random((55, 13)) < base).astype(np.uint8)
    x[:, 1:] ^= (rng.random((55, 12)) < 0.2).astype(np.uint8) & x[:, :-1]  # some neighbour dependence
    x[:, 5] = 0  # a site where allele 1 is never seen in training
    x[-1, 5] = 1  # ... but is in the test set
    return x[:40], x[40:]


@pytest.mark.parametrize("a", [0.5, 1.0, 0.01])
def test_independent_sites_matches_the_loop(small, a):
    train, test = small
    got = cz.independent_sites_log_likelihood(train, test, pseudocount=a)
    np.testing.assert_allclose(got, slow_independent(train, test, a), rtol=0, atol=1e-10)
    assert np.isfinite(got).all()  # the pseudocount keeps an allele unseen in training finite


@pytest.mark.parametrize("a", [0.5, 1.0, 0.01])
def test_markov_chain_matches_the_loop(small, a):
    train, test = small
    got = cz.markov_chain_log_likelihood(train, test, pseudocount=a)
    np.testing.assert_allclose(got, slow_markov(train, test, a), rtol=0, atol=1e-10)


def test_blocks_give_the_same_values(small, monkeypatch):
    train, test = small
    whole = cz.markov_chain_log_likelihood(train, test), cz.independent_sites_log_likelihood(train, test)
    monkeypatch.setattr(cz, "_BLOCK_ROWS", 4)
    np.testing.assert_array_equal(cz.markov_chain_log_likelihood(train, test), whole[0])
    np.testing.assert_array_equal(cz.independent_sites_log_likelihood(train, test), whole[1])


@pytest.mark.parametrize("fn", [cz.independent_sites_log_likelihood, cz.markov_chain_log_likelihood])
def test_each_baseline_is_a_distribution(small, fn):
    """Summed over every possible haplotype of 5 sites, the probabilities make 1."""
    train = small[0][:, :5]
    every = np.array(list(itertools.product((0, 1), repeat=5)), dtype=np.uint8)
    ll = fn(train, every)
    assert np.exp(ll).sum() == pytest.approx(1.0, abs=1e-12)


def test_markov_beats_independent_on_linked_sites():
    rng = np.random.default_rng(0)
    # each site copies its left neighbour 90% of the time: a strong first-order chain
    x = np.zeros((400, 50), dtype=np.uint8)
    x[:, 0] = rng.random(400) < 0.5
    for l in range(1, 50):
        keep = rng.random(400) < 0.9
        x[:, l] = np.where(keep, x[:, l - 1], 1 - x[:, l - 1])
    ind = cz.independent_sites_log_likelihood(x[:300], x[300:]).mean()
    mar = cz.markov_chain_log_likelihood(x[:300], x[300:]).mean()
    assert cz.bits_per_snp(ind, 50) == pytest.approx(1.0, abs=0.02)  # frequencies near 1/2
    # the chain's entropy rate: H(0.9) = 0.469 bits per step
    h = -(0.9 * math.log2(0.9) + 0.1 * math.log2(0.1))
    assert cz.bits_per_snp(mar, 50) == pytest.approx(h, abs=0.05)


def test_xz_packs_like_the_loop_and_counts_the_container(small):
    train, test = small
    x = np.vstack([train, test])
    assert np.packbits(x, axis=None).tobytes() == slow_pack(x)
    expected = len(lzma.compress(slow_pack(x), format=lzma.FORMAT_XZ, preset=9))
    assert cz.xz_compressed_bytes(x) == expected
    assert cz.xz_bits_per_snp(x) == pytest.approx(8 * expected / x.size)
    assert math.isnan(cz.xz_bits_per_snp(np.zeros((0, 4), dtype=np.uint8)))


@pytest.mark.skipif(shutil.which("xz") is None, reason="the xz program is not installed")
def test_xz_matches_the_xz_program(tmp_path):
    rng = np.random.default_rng(1)
    x = (rng.random((300, 97)) < 0.3).astype(np.uint8)
    packed = tmp_path / "packed.bin"
    packed.write_bytes(np.packbits(x, axis=None).tobytes())
    out = subprocess.run(["xz", "-9", "-c", str(packed)], check=True, capture_output=True).stdout
    assert cz.xz_compressed_bytes(x) == len(out)


def test_conversions_and_the_summary(small):
    train, test = small
    assert cz.nats_per_haplotype(cz.bits_per_snp(-100.0, 50), 50) == pytest.approx(-100.0)
    assert cz.bits_per_snp(np.array([-10.0, -30.0]), 10) == pytest.approx(20 / (10 * math.log(2)))
    out = cz.compression_baselines(train, test)
    assert set(cz.BASELINES) <= set(out)
    n_sites = test.shape[1]
    for key in ("independent", "markov"):
        fn = cz.independent_sites_log_likelihood if key == "independent" else cz.markov_chain_log_likelihood
        mean = fn(train, test).mean()
        assert out[key]["nats_per_haplotype"] == pytest.approx(mean)
        assert out[key]["bits_per_snp"] == pytest.approx(-mean / (n_sites * math.log(2)))
    assert out["xz"]["bits_per_snp"] == pytest.approx(8 * cz.xz_compressed_bytes(test) / test.size)
    assert out["xz"]["nats_per_haplotype"] == pytest.approx(-out["xz"]["bits_per_snp"] * n_sites * math.log(2))
    assert (out["pseudocount"], out["n_train"], out["n_holdout"], out["n_sites"]) == (0.5, 40, 15, 13)


def test_refusals(small):
    train, test = small
    with pytest.raises(InputError, match="held-out haplotypes have 12 sites and the training haplotypes 13"):
        cz.markov_chain_log_likelihood(train, test[:, 1:])
    with pytest.raises(InputError, match="pseudocount must be a finite number > 0.*found 0"):
        cz.independent_sites_log_likelihood(train, test, pseudocount=0)
    with pytest.raises(InputError, match="needs at least 1 training haplotypes"):
        cz.compression_baselines(train[:0], test)
    with pytest.raises(InputError, match="must hold only 0 and 1"):
        cz.independent_sites_log_likelihood(train * 2, test)


def test_benchmark_figures_on_the_805_snp_panel(shared_data):
    """BENCHMARK.md track L: -492.6 (independent), -466.2 (Markov), -558.3 (xz) nats per holdout haplotype."""
    import haplogen
    from haplogen.split import apply_split, read_split

    h = haplogen.read_input(shared_data / "1000g_805snp.vcf.gz")
    train, holdout = apply_split(h, read_split(shared_data / "gpc_split.tsv"))
    assert (train.n_haplotypes, holdout.n_haplotypes, holdout.n_sites) == (4006, 1002, 805)
    out = cz.compression_baselines(train.matrix, holdout.matrix)
    assert out["independent"]["nats_per_haplotype"] == pytest.approx(-492.6, abs=0.5)
    assert out["markov"]["nats_per_haplotype"] == pytest.approx(-466.2, abs=0.5)
    assert out["xz"]["nats_per_haplotype"] == pytest.approx(-558.3, abs=0.5)
