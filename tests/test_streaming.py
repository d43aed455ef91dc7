"""Streaming generate: batches drawn with derived seeds, a bit-packed spill file read back by
blocks of sites, VCF records and VCF Zarr chunks written a block at a time, outputs atomic.

Each piece is checked against the slow obvious version: the spill against numpy slicing, the
block writer against a VCF built line by line with string joins, the draw against the model's
own ``sample`` called batch by batch, and the VCF Zarr store against bio2zarr's own conversion
of the same haplotypes written as VCF.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from haplogen import api
from haplogen.cli import main
from haplogen.errors import InputError, OutputError
from haplogen.haplotypes import Haplotypes, Sites, read_labels
from haplogen.io import ReadOptions, read_haplotypes
from haplogen.io.streaming import MAX_DEFAULT_BATCH, HaplotypeSpill, default_batch_size, write_vcz
from haplogen.io.vcf import write_vcf, write_vcf_blocks
from haplogen.models.mixar import TEST_SETTINGS
from haplogen.simulate import SimulationConfig

SMALL = SimulationConfig(individuals_per_population=12, sequence_length=300_000, max_sites=30, min_maf=0.02)
MIXAR_SETTINGS = [arg for k, v in TEST_SETTINGS.items() for arg in ("--set", f"{k}={v}")]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def two_chromosome_sites(n_sites: int) -> Sites:
    half = n_sites // 2
    return Sites(
        chrom=np.array(["1"] * half + ["2"] * (n_sites - half), dtype=object),
        position=np.r_[np.arange(1, half + 1) * 10, np.arange(1, n_sites - half + 1) * 7],
        id=np.array([f"rs{i}" if i % 3 else "." for i in range(n_sites)], dtype=object),
        ref=np.array(["ACGT"[i % 4] for i in range(n_sites)], dtype=object),
        alt=np.array(["CGTA"[i % 4] for i in range(n_sites)], dtype=object),
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A labelled panel and two tiny models on it: mixar with labels (fast to sample) and rbm (unconditional)."""
    d = tmp_path_factory.mktemp("streaming")
    api.simulate_to_files(d / "sim.vcf.gz", config=SMALL, seed=5, command=["test"])
    api.split_to_files(d / "sim.vcf.gz", d / "split", labels=d / "sim.samples.tsv", seed=5)
    train = d / "split" / "train.vcf.gz"
    assert main(["train", str(train), "--model", "mixar", "--labels", str(d / "sim.samples.tsv"), "--seed", "1",
                 "-o", str(d / "mixar"), *MIXAR_SETTINGS]) == 0
    assert main(["train", str(train), "--model", "rbm", "--epochs", "2", "--set", "n_hidden=8", "--seed", "1",
                 "-o", str(d / "rbm")]) == 0
    return d


# ---------------------------------------------------------------------------- the spill file
def test_the_spill_gives_back_every_block_of_sites_and_rows(tmp_path):
    rng = np.random.default_rng(3)
    matrix = rng.integers(0, 2, size=(61, 23), dtype=np.uint8)
    with HaplotypeSpill(tmp_path / "x.spill", 23) as spill:
        for start, stop in [(0, 7), (7, 8), (8, 8), (8, 40), (40, 61)]:  # uneven batches, an empty one
            spill.append(matrix[start:stop])
        assert spill.n_haplotypes == 61
        # the file is bit-packed: one bit per allele, rounded up to a byte per site and batch
        assert (tmp_path / "x.spill").stat().st_size == 23 * sum((k + 7) // 8 for k in (7, 1, 32, 21))
        for start, stop, rows in [(0, 23, None), (5, 9, (3, 45)), (22, 23, (60, 61)), (0, 1, (7, 8)), (4, 4, None)]:
            first, last = rows or (0, 61)
            assert np.array_equal(spill.sites(start, stop, rows), matrix[first:last, start:stop].T)
        assert np.array_equal(spill.haplotypes(), matrix)
        assert np.array_equal(spill.haplotypes(9, 41), matrix[9:41])
        with pytest.raises(InputError, match=r"shape \(2, 5\), expected \(k, 23\)"):
            spill.append(matrix[:2, :5])
    assert not (tmp_path / "x.spill").exists()  # closing removes it


# ---------------------------------------------------------------------------- the VCF written by blocks
def slow_vcf_body(matrix: np.ndarray, sites: Sites, ploidy: list[int]) -> list[str]:
    """The records of a VCF, one string join per line: what write_vcf_blocks must produce."""
    lines = []
    for j in range(sites.n_sites):
        calls, row = [], 0
        for p in ploidy:
            alleles = [str(int(matrix[row + k, j])) for k in range(p)]
            calls.append("|".join(alleles))
            row += p
        lines.append("\t".join([sites.chrom[j], str(int(sites.position[j])), sites.id[j], sites.ref[j], sites.alt[j],
                                ".", "PASS", ".", "GT", *calls]))
    return lines


def vcf_body(path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        return [line.rstrip("\n") for line in handle if not line.startswith("#")]


@pytest.mark.parametrize("max_bytes", [1, 50, 1 << 25])
def test_blocks_of_any_size_write_the_records_line_by_line(tmp_path, max_bytes):
    rng = np.random.default_rng(4)
    sites = two_chromosome_sites(17)
    ploidy = [2, 1, 2, 2, 1]  # haploid samples among diploid ones
    matrix = rng.integers(0, 2, size=(sum(ploidy), 17), dtype=np.uint8)
    asked = []

    def alleles(lo, hi):
        asked.append((lo, hi))
        return matrix[:, lo:hi].T

    write_vcf_blocks(sites, ["a", "b", "c", "d", "e"], alleles, tmp_path / "x.vcf.gz", ploidy=np.array(ploidy),
                     max_bytes=max_bytes)
    assert vcf_body(tmp_path / "x.vcf.gz") == slow_vcf_body(matrix, sites, ploidy)
    # adjacent blocks from the first site to the last, each within the budget (at least one site)
    assert [lo for lo, _ in asked] == [0] + [hi for _, hi in asked[:-1]] and asked[-1][1] == 17
    width = 4 * 3 + 2 * 2  # bytes of genotype text per line
    assert all(hi - lo == max(1, min(17, max_bytes // width)) for lo, hi in asked[:-1])
    assert (tmp_path / "x.vcf.gz.tbi").exists()


def test_write_vcf_is_the_in_memory_case_of_the_block_writer(tmp_path):
    rng = np.random.default_rng(5)
    h = Haplotypes.from_matrix(rng.integers(0, 2, size=(9, 12), dtype=np.uint8), two_chromosome_sites(12))
    write_vcf(h, tmp_path / "a.vcf.gz", provenance={"seed": 1})
    assert vcf_body(tmp_path / "a.vcf.gz") == slow_vcf_body(h.matrix, h.sites, [2, 2, 2, 2, 1])
    back = read_haplotypes(tmp_path / "a.vcf.gz", options=ReadOptions(haploid="as-haplotype"))
    assert np.array_equal(back.matrix, h.matrix)


def test_a_block_of_the_wrong_shape_is_refused_and_nothing_is_left(tmp_path):
    sites = two_chromosome_sites(6)
    with pytest.raises(InputError, match=r"sites 0:6 have shape \(6, 3\), expected \(6, 4\)"):
        write_vcf_blocks(sites, ["a", "b"], lambda lo, hi: np.zeros((hi - lo, 3), np.uint8), tmp_path / "x.vcf.gz")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- the draw
def test_default_batch_depends_on_the_sites_only():
    assert default_batch_size(805) == MAX_DEFAULT_BATCH == 4096
    assert default_batch_size(100_000) == (1 << 26) // 100_000 == 671
    assert default_batch_size(10**9) == 1


def test_batches_are_the_models_draws_with_derived_seeds(models):
    model, sites, _ = api.load_trained(models / "mixar")
    n, size, seed = 23, 5, 17
    got = np.concatenate([batch for _, _, batch in api.draw_batches(model, n, seed=seed, batch_size=size)])
    # the slow obvious version: batch b is the model's own sample with seed batch_seed(seed, b)
    expected = [model.sample(min(size, n - lo), seed=api.batch_seed(seed, b), batch_size=size)
                for b, lo in enumerate(range(0, n, size))]
    assert np.array_equal(got, np.concatenate(expected))
    assert api.batch_seed(seed, 0) == seed and len({api.batch_seed(seed, b) for b in range(100)}) == 100
    # one batch is exactly the model's sample of the whole set (the draw before streaming)
    one = next(api.draw_batches(model, n, seed=seed, batch_size=4096))[2]
    assert np.array_equal(one, model.sample(n, seed=seed))
    # a larger set begins with the full batches of a smaller one
    longer = np.concatenate([b for _, _, b in api.draw_batches(model, 40, seed=seed, batch_size=size)])
    assert np.array_equal(longer[:20], got[:20])


def test_generate_records_the_batch_size_and_rebuilds_from_it(models):
    h, record = api.generate(models / "mixar", 30, seed=4, batch_size=8)
    assert record["parameters"]["batch_size"] == 8
    again, _ = api.generate(models / "mixar", 30, seed=4, batch_size=record["parameters"]["batch_size"])
    assert np.array_equal(h.matrix, again.matrix)
    other, _ = api.generate(models / "mixar", 30, seed=4, batch_size=7)  # another batch size, another draw
    assert not np.array_equal(h.matrix, other.matrix)
    default, record = api.generate(models / "mixar", 30, seed=4)
    assert record["parameters"]["batch_size"] == default_batch_size(h.n_sites)
    with pytest.raises(InputError, match="--batch-size must be at least 1 haplotype, found 0"):
        api.generate(models / "mixar", 30, seed=4, batch_size=0)


# ---------------------------------------------------------------------------- generate to a VCF
@pytest.mark.parametrize("n", [31, 40])
def test_the_streamed_vcf_holds_the_in_memory_draw(models, tmp_path, monkeypatch, n):
    import cyvcf2

    expected, _ = api.generate(models / "mixar", n, seed=9, batch_size=6)
    out = tmp_path / "ag.vcf.gz"
    result = api.generate_to_file(models / "mixar", n, out, seed=9, batch_size=6)
    assert result["n_haplotypes"] == n and result["provenance"]["parameters"]["batch_size"] == 6
    back = read_haplotypes(out, options=ReadOptions(haploid="as-haplotype"))  # an odd n: the last one is haploid
    assert np.array_equal(back.matrix, expected.matrix)
    assert back.sites.same_as(expected.sites) and list(back.samples) == list(expected.samples)
    # another parser: cyvcf2 sees the same phased calls (an odd n leaves the last individual haploid)
    vcf = cyvcf2.VCF(str(out))
    assert vcf.samples == [f"AG{i}" for i in range((n + 1) // 2)]
    for j, record in enumerate(vcf):
        calls = [allele for g in record.genotypes for allele in g[:-1]]
        assert calls == expected.matrix[:, j].tolist()
        assert all(g[-1] for g in record.genotypes if len(g) == 3)  # phased
    # a tiny write budget (one site per block) writes the same bytes
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    api.generate_to_file(models / "mixar", n, tmp_path / "big" / "ag.vcf.gz", seed=9, batch_size=6)
    monkeypatch.setattr(api, "WRITE_BLOCK_BYTES", 1)
    api.generate_to_file(models / "mixar", n, tmp_path / "small" / "ag.vcf.gz", seed=9, batch_size=6)
    for name in ("ag.vcf.gz", "ag.samples.tsv"):
        assert (tmp_path / "big" / name).read_bytes() == (tmp_path / "small" / name).read_bytes()


def test_the_writer_reads_blocks_within_its_budget(models, tmp_path, monkeypatch):
    """Memory does not grow with n: the output is written from blocks of n x block <= the budget."""
    shapes = []
    real_sites = HaplotypeSpill.sites

    def recording(self, start, stop, rows=None):
        block = real_sites(self, start, stop, rows)
        shapes.append(block.shape)
        return block

    monkeypatch.setattr(HaplotypeSpill, "sites", recording)
    budget = 4 * 500 * 3  # three lines of 500 haplotypes (4 bytes of text per diploid call)
    monkeypatch.setattr(api, "WRITE_BLOCK_BYTES", budget)
    api.generate_to_file(models / "mixar", 1000, tmp_path / "ag.vcf.gz", seed=2, batch_size=128)
    assert shapes and all(sites * n <= budget // 2 for sites, n in shapes) and {n for _, n in shapes} == {1000}
    assert sum(sites for sites, _ in shapes) == read_haplotypes(tmp_path / "ag.vcf.gz").n_sites


def test_populations_and_the_samples_table_survive_streaming(models, tmp_path):
    expected, record = api.generate(models / "mixar", 26, seed=3, batch_size=4, populations={"YRI": 1, "CEU": 1})
    out = tmp_path / "mix.vcf.gz"
    result = api.generate_to_file(models / "mixar", 26, out, seed=3, batch_size=4, populations={"YRI": 1, "CEU": 1})
    assert np.array_equal(read_haplotypes(out).matrix, expected.matrix)
    table = read_labels(result["labels"])
    assert [table[f"AG{i}"][0] for i in range(13)] == expected.population[::2].tolist()
    assert result["provenance"]["individuals_per_population"] == record["individuals_per_population"] == {"YRI": 7, "CEU": 6}
    # a store (.zarr names one too) gets the same table beside it, and it names the table in its provenance
    import zarr

    store = api.generate_to_file(models / "mixar", 26, tmp_path / "store.zarr", seed=3, batch_size=4,
                                 populations={"YRI": 1, "CEU": 1})
    assert store["labels"] == tmp_path / "store.samples.tsv"
    assert store["labels"].read_text() == result["labels"].read_text()
    assert zarr.open(tmp_path / "store.zarr", mode="r").attrs["haplogen_provenance"]["samples_table"] == "store.samples.tsv"


def test_a_failure_while_writing_leaves_nothing(models, tmp_path, monkeypatch):
    import haplogen.io.vcf as vcf_module

    out = tmp_path / "ag.vcf.gz"
    out.write_bytes(b"an earlier release")
    real = vcf_module.write_vcf_blocks

    def full_disk(*args, **kwargs):
        real(*args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vcf_module, "write_vcf_blocks", full_disk)
    with pytest.raises(OutputError, match=r"cannot write .*ag.vcf.gz: No space left on device; nothing was written"):
        api.generate_to_file(models / "rbm", 20, out, seed=1, overwrite=True)
    assert out.read_bytes() == b"an earlier release"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ag.vcf.gz"]  # no spill, no staging folder


# ---------------------------------------------------------------------------- generate to a VCF Zarr store
def test_the_vcz_store_is_the_one_bio2zarr_makes_of_the_same_vcf(models, tmp_path):
    import zarr
    from bio2zarr import vcf as bio2zarr_vcf

    n = 24
    api.generate_to_file(models / "rbm", n, tmp_path / "ag.vcf.gz", seed=6, batch_size=5)
    result = api.generate_to_file(models / "rbm", n, tmp_path / "ag.vcz", seed=6, batch_size=5)
    bio2zarr_vcf.convert([str(tmp_path / "ag.vcf.gz")], str(tmp_path / "ref.vcz"), worker_processes=0,
                         variants_chunk_size=10_000, samples_chunk_size=1_000)
    ours, ref = zarr.open(tmp_path / "ag.vcz", mode="r"), zarr.open(tmp_path / "ref.vcz", mode="r")
    assert sorted(ours.array_keys()) == sorted(ref.array_keys())
    for name in ref.array_keys():
        a, b = ours[name], ref[name]
        assert (a.shape, a.dtype, a.chunks) == (b.shape, b.dtype, b.chunks), name
        if a.dtype.kind == "f":
            assert np.array_equal(a[:], b[:], equal_nan=True), name
        else:
            assert a[:].tolist() == b[:].tolist(), name
    assert ours.attrs["vcf_zarr_version"] == "0.5"
    assert ours.attrs["haplogen_provenance"]["seed"] == 6 == result["provenance"]["seed"]
    assert ours.attrs["haplogen_provenance"]["parameters"]["batch_size"] == 5
    expected, _ = api.generate(models / "rbm", n, seed=6, batch_size=5)
    genotypes = ours["call_genotype"][:]  # (variants, samples, ploidy)
    assert np.array_equal(genotypes.transpose(1, 2, 0).reshape(n, -1), expected.matrix)


def test_the_vcz_store_is_read_by_haplogens_store_reader(models, tmp_path):
    store = pytest.importorskip("haplogen.io.store", reason="the store reader (haplogen.io.store) is not there yet")
    api.generate_to_file(models / "rbm", 20, tmp_path / "ag.vcz", seed=6)
    expected, _ = api.generate(models / "rbm", 20, seed=6)
    loaded = store.StoreHaplotypes.open(tmp_path / "ag.vcz").load()
    assert np.array_equal(loaded.matrix, expected.matrix) and loaded.sites.same_as(expected.sites)


def test_the_vcz_store_chunks_are_written_within_their_size(tmp_path):
    """write_vcz asks for one chunk of variants x samples at a time, whatever the set's size."""
    rng = np.random.default_rng(8)
    sites = two_chromosome_sites(25)
    matrix = rng.integers(0, 2, size=(14, 25), dtype=np.uint8)
    asked = []

    def alleles(lo, hi, first, last):
        asked.append((hi - lo, last - first))
        return matrix[first:last, lo:hi].T

    write_vcz(sites, [f"s{i}" for i in range(7)], alleles, tmp_path / "x.vcz", variants_chunk_size=10,
              samples_chunk_size=3)
    assert max(asked) <= (10, 6) and len(asked) == 3 * 3
    import zarr

    gt = zarr.open(tmp_path / "x.vcz", mode="r")["call_genotype"]
    assert gt.chunks == (10, 3, 2) and np.array_equal(gt[:].transpose(1, 2, 0).reshape(14, 25), matrix)


def test_the_vcz_output_is_atomic_replaced_whole_and_refused_when_taken(models, tmp_path):
    out = tmp_path / "ag.vcz"
    api.generate_to_file(models / "rbm", 10, out, seed=1)
    with pytest.raises(InputError, match=r"ag.vcz already exists; choose another output name, or pass --overwrite"):
        api.generate_to_file(models / "rbm", 10, out, seed=2)
    (out / "stale-file").write_text("from an earlier run")
    api.generate_to_file(models / "rbm", 12, out, seed=2, overwrite=True)
    import zarr

    assert zarr.open(out, mode="r")["call_genotype"].shape[1] == 6 and not (out / "stale-file").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ag.vcz"]  # the old store went with the staging folder


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("ag.vcz", {"n": 11}, "a VCF Zarr store holds diploid individuals, and 11 haplotypes leave the last one haploid"),
        ("ag.vcz", {"format": "vcf"}, "the output name ag.vcz says VCF Zarr store but the format asked for is vcf"),
        ("ag.vcf.gz", {"format": "vcz"}, "a VCF Zarr store is a folder named .vcz"),
    ],
)
def test_bad_store_outputs_are_refused_before_sampling(models, tmp_path, name, kwargs, message):
    args = {"n": 10, **kwargs}
    with pytest.raises(InputError, match=message):
        api.generate_to_file(models / "rbm", args.pop("n"), tmp_path / name, seed=1, **args)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- the command line
def test_generate_cli_batch_size_and_store(models, tmp_path, capsys):
    code, _, err = run(capsys, "generate", models / "rbm", "-n", 16, "-o", tmp_path / "ag.vcz", "--batch-size", 3,
                       "--seed", 2)
    assert code == 0, err
    assert f"wrote {tmp_path / 'ag.vcz'}" in err
    import zarr

    record = zarr.open(tmp_path / "ag.vcz", mode="r").attrs["haplogen_provenance"]
    assert record["parameters"]["batch_size"] == 3 and "--batch-size" in record["command"]
    with pytest.raises(SystemExit) as stopped:  # argparse refuses it, with its usage
        main(["generate", str(models / "rbm"), "-n", "16", "-o", str(tmp_path / "x.vcf.gz"), "--batch-size", "0"])
    assert stopped.value.code == 2 and "--batch-size: expected a positive integer, found 0" in capsys.readouterr().err
    code, _, err = run(capsys, "generate", models / "rbm", "-n", 16, "-o", tmp_path / "ag.vcz", "--seed", 2)
    assert code == 2 and "already exists" in err and err.count("\n") == 1
