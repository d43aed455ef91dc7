"""Training from a VCF Zarr store by rows read on demand (issue 8, part 3), and stepwise EM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from haplogen import api
from haplogen.errors import InputError
from haplogen.haplotypes import Haplotypes, write_labels
from haplogen.io import read_haplotypes, write_vcf
from haplogen.io import streamed as streamed_module
from haplogen.io.store import import_vcf
from haplogen.io.streamed import StoreRows, StreamedHaplotypes
from haplogen.models import hmm as hmm_module
from haplogen.models.base import data_fingerprint
from haplogen.models.hmm import HaplotypeHMM, HaplotypeHMMConfig, _Counts
from haplogen.provenance import matrix_checksum

SMALL = {"n_states": 4, "block_sites": 8, "batch_size": 40, "segment_sites": 16, "init_haplotypes": 200,
         "patience": 5}


@pytest.fixture(scope="module")
def small(sim_haplotypes) -> Haplotypes:
    """Every third individual of sim_haplotypes (200 haplotypes, 3 populations) at its first 120 SNPs."""
    keep = sim_haplotypes.samples[::3]
    return sim_haplotypes.select_samples(keep).take_sites(np.arange(120))


@pytest.fixture(scope="module")
def files(tmp_path_factory, small) -> tuple[Path, Path, Path]:
    """``small`` as a VCF, a store of small chunks (32 variants x 20 individuals) and a labels table."""
    d = tmp_path_factory.mktemp("streamed")
    vcf = d / "sim.vcf.gz"
    write_vcf(small, vcf)
    store = import_vcf(vcf, d / "sim.vcz", variants_chunk_size=32, samples_chunk_size=20)
    labels = d / "labels.tsv"
    write_labels(small, labels)
    return vcf, store, labels


def _weights(model_dir: Path) -> dict[str, torch.Tensor]:
    model, _, _ = api.load_trained(model_dir)
    return {k: v.clone() for k, v in model._weights().items()}


@pytest.fixture()
def reads(monkeypatch) -> list[int]:
    """The number of rows of every read of a store's rows (StoreRows.read), recorded."""
    seen: list[int] = []
    original = StoreRows.read

    def spy(self, index):
        seen.append(int(np.asarray(index).size))
        return original(self, index)

    monkeypatch.setattr(StoreRows, "read", spy)
    return seen


@pytest.mark.parametrize("minibatch", [0, 50])
def test_hmm_trained_from_a_store_by_rows_equals_training_in_memory(files, tmp_path, monkeypatch, reads, minibatch):
    vcf, store, labels = files
    # small reads: the model must never ask for more rows at once than these bounds
    monkeypatch.setattr(hmm_module, "_READ_ROWS", 64)
    monkeypatch.setattr(streamed_module, "_PASS_BYTES", 120 * 50)
    settings = {**SMALL, "minibatch": minibatch, "init_haplotypes": 60}
    common = dict(model="hmm", labels=labels, seed=3, overrides=settings, epochs=3)
    from_store = api.train_from_file(store, out_dir=tmp_path / "store", **common)
    assert reads, "the store was read whole instead of by rows"
    assert max(reads) <= 64, f"a read of {max(reads)} rows: more than the E-step's bound"
    reads.clear()
    from_vcf = api.train_from_file(vcf, out_dir=tmp_path / "vcf", **common)
    assert not reads  # the VCF path reads the matrix in memory
    a, b = _weights(tmp_path / "store"), _weights(tmp_path / "vcf")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)
    # the records name the same matrix, whatever it was read from
    assert from_store["training_data"]["matrix_sha256"] == from_vcf["training_data"]["matrix_sha256"]
    assert from_store["training_data"]["individuals"] == from_vcf["training_data"]["individuals"]
    assert from_store["populations"] == from_vcf["populations"]


def test_streamed_training_resumes_exactly(files, tmp_path):
    _, store, labels = files
    settings = {**SMALL, "minibatch": 50}
    api.train_from_file(store, out_dir=tmp_path / "whole", model="hmm", labels=labels, seed=5, overrides=settings,
                        epochs=4)
    api.train_from_file(store, out_dir=tmp_path / "parts", model="hmm", labels=labels, seed=5, overrides=settings,
                        epochs=2)
    api.train_from_file(store, out_dir=tmp_path / "parts", model="hmm", labels=labels, seed=5, overrides=settings,
                        epochs=4, resume=True)
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "parts")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_a_family_that_trains_in_memory_gets_the_loaded_matrix(files, tmp_path):
    vcf, store, _ = files
    rec_store = api.train_from_file(store, out_dir=tmp_path / "s", model="rbm", seed=1, epochs=1,
                                    overrides={"n_hidden": 4, "batch_size": 100})
    rec_vcf = api.train_from_file(vcf, out_dir=tmp_path / "v", model="rbm", seed=1, epochs=1,
                                  overrides={"n_hidden": 4, "batch_size": 100})
    assert rec_store["training_data"]["matrix_sha256"] == rec_vcf["training_data"]["matrix_sha256"]
    a, b = _weights(tmp_path / "s"), _weights(tmp_path / "v")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_streamed_haplotypes_select_rows_without_reading(files, small, reads):
    _, store, labels = files
    h = read_haplotypes(store, stream=True)
    assert isinstance(h, StreamedHaplotypes) and isinstance(h.matrix, StoreRows)
    assert (h.n_haplotypes, h.n_sites) == small.matrix.shape
    from haplogen.haplotypes import read_labels
    from haplogen.split import apply_split, split_individuals

    labelled = h.with_labels(read_labels(labels))
    train, holdout = apply_split(labelled, split_individuals(labelled, holdout_fraction=0.25, seed=2))
    assert not reads  # labels and a split select rows only
    loaded = small.with_labels(read_labels(labels))
    want_train, _ = apply_split(loaded, split_individuals(loaded, holdout_fraction=0.25, seed=2))
    assert isinstance(train, StreamedHaplotypes)
    np.testing.assert_array_equal(train.load().matrix, want_train.matrix)
    np.testing.assert_array_equal(train.population, want_train.population)
    np.testing.assert_allclose(train.allele_frequency(), want_train.allele_frequency())
    assert matrix_checksum(train.matrix) == matrix_checksum(want_train.matrix)
    assert data_fingerprint(train.matrix, ["a"] * train.n_haplotypes) == data_fingerprint(
        want_train.matrix, ["a"] * train.n_haplotypes)
    rows = train.matrix
    np.testing.assert_array_equal(rows.read([5, 0, 5]), want_train.matrix[[5, 0, 5]])
    with pytest.raises(TypeError, match="not converted to an array whole"):
        np.asarray(rows)
    with pytest.raises(InputError, match="by row only"):
        rows[:, 0:3]
    with pytest.raises(InputError, match=r"rows must lie in \[0, "):
        rows.read([rows.shape[0]])


def test_input_warnings_are_the_same_streamed(tmp_path, sim_haplotypes):
    # two individuals copied under new names: the warning must be found in the streamed pass too
    m = sim_haplotypes.matrix[:80]
    copies = np.concatenate([m, m[10:14]])
    names = list(sim_haplotypes.haplotype_sample[:80]) + ["COPY1", "COPY1", "COPY2", "COPY2"]
    ids = list(sim_haplotypes.haplotype_id[:80]) + ["COPY1_A", "COPY1_B", "COPY2_A", "COPY2_B"]
    h = Haplotypes(copies, sim_haplotypes.sites, names, ids)
    vcf = tmp_path / "dup.vcf.gz"
    write_vcf(h, vcf)
    store = import_vcf(vcf, tmp_path / "dup.vcz", variants_chunk_size=50, samples_chunk_size=7)
    loaded = api.input_warnings(read_haplotypes(store))
    streamed = api.input_warnings(read_haplotypes(store, stream=True))
    assert any("carry exactly the two haplotypes of another individual" in w for w in loaded)
    assert streamed == loaded


def test_a_family_refuses_streamed_rows_it_cannot_train_on(files):
    from haplogen.models.registry import get_family

    _, store, _ = files
    rows = read_haplotypes(store, stream=True).matrix
    cls = get_family("rbm")
    model = cls(cls.Config(n_hidden=2), rows.shape[1])
    with pytest.raises(InputError, match="trains on the matrix in memory"):
        model.fit(rows, seed=0, epochs=1)


# ----------------------------------------------------------------------------- stepwise EM
def test_blend_is_the_stepwise_average():
    g = torch.Generator().manual_seed(0)

    def random_counts() -> _Counts:
        c = _Counts(2, 5, 3, 2, torch.device("cpu"))
        for t in c.tensors():
            t.copy_(torch.rand(t.shape, generator=g, dtype=torch.float64))
        c.loglik, c.n = float(torch.rand(1, generator=g)), 7
        return c

    run, batch = random_counts(), random_counts()
    want = [(1 - 0.3) * a + 0.3 * 4.0 * b for a, b in zip(run.tensors(), batch.tensors())]
    want_ll, want_n = 0.7 * run.loglik + 1.2 * batch.loglik, 0.7 * 7 + 1.2 * 7
    run.blend(batch, 0.3, 4.0)
    for got, exp in zip(run.tensors(), want):
        torch.testing.assert_close(got, exp)
    assert run.loglik == pytest.approx(want_ll) and run.n == pytest.approx(want_n)
    again = _Counts.from_state(run.state(), torch.device("cpu"))
    for got, exp in zip(again.tensors(), run.tensors()):
        torch.testing.assert_close(got, exp, rtol=0, atol=0)


def test_a_minibatch_as_large_as_the_training_set_is_batch_em(sim_haplotypes):
    x = sim_haplotypes.matrix
    results = []
    for minibatch in (0, 10_000):
        model = HaplotypeHMM(HaplotypeHMMConfig(**SMALL, minibatch=minibatch), x.shape[1])
        model.fit(x, seed=4, epochs=3)
        results.append(model._weights())
    for key in results[0]:
        torch.testing.assert_close(results[0][key], results[1][key], rtol=0, atol=0)


def test_stepwise_em_learns_faster_per_pass_than_batch_em(sim_haplotypes):
    """Two passes over the data: stepwise EM (mini-batches of 100 of ~540 training haplotypes)
    reaches a better validation log-likelihood than batch EM (Liang & Klein 2009)."""
    x = sim_haplotypes.matrix
    best = {}
    for minibatch in (0, 100):
        model = HaplotypeHMM(HaplotypeHMMConfig(**{**SMALL, "n_states": 8}, minibatch=minibatch), x.shape[1])
        model.fit(x, seed=6, epochs=2)
        best[minibatch] = model._state["best_val"]
    assert best[100] > best[0] + 1.0, best
