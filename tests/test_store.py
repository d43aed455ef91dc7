"""The VCF Zarr store: import with bio2zarr, and reading that matches the VCF reader exactly.

The reference is :func:`haplogen.io.read_vcf` on the same file: for every reading option the
store must give the same matrix, sites, individuals and summary, or refuse with the same
message. Block, row and Dask reads are checked against slices of the whole matrix; that they
touch only the chunks they need is checked by corrupting every other chunk file.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pysam
import pytest
import zarr

from haplogen.cli import main
from haplogen.errors import InputError
from haplogen.io import (
    ReadOptions,
    StoreHaplotypes,
    detect_format,
    import_vcf,
    is_store,
    read_haplotypes,
    read_store,
    read_vcf,
    write_vcf,
)
from haplogen.io.store import COUNTS_ARRAY, store_checksum

GT_HEADER = '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'


def vcf_text(records: list[str], samples: list[str], meta: str = "##contig=<ID=1>\n##contig=<ID=2>\n") -> str:
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]
    head = "##fileformat=VCFv4.2\n" + meta + '##FILTER=<ID=q10,Description="low">\n' + GT_HEADER
    return head + "\t".join(columns) + "\n" + "".join("\t".join(r) + "\n" for r in records)


def unusual_vcf(path: Path, seed: int, n_records: int = 160, n_samples: int = 23) -> Path:
    """A random VCF with every kind of unusual record, one chromosome, sorted.

    About one record in six is multiallelic, an indel, a symbolic allele, lower case or
    without ALT, or is filtered; missing alleles (``.``, ``./.``, ``0|.``), unphased
    heterozygous calls and haploid calls are sprinkled over a tenth of the records each, and a
    few positions repeat.
    """
    rng = np.random.default_rng(seed)
    samples = [f"S{i}" for i in range(n_samples)]
    records = []
    pos = 100
    for k in range(n_records):
        pos += int(rng.integers(0, 3)) if rng.random() < 0.05 else int(rng.integers(1, 50))
        ref, alt, filt = "A", "G", "PASS"
        kind = rng.random()
        if kind < 0.04:
            alt = "G,T"
        elif kind < 0.07:
            ref, alt = "AT", "A"
        elif kind < 0.09:
            alt = "<DEL>"
        elif kind < 0.11:
            ref, alt = "c", "t"
        elif kind < 0.12:
            alt = "."
        elif kind < 0.16:
            filt = "q10"
        n_alt = 0 if alt == "." else alt.count(",") + 1
        p_alt = rng.uniform(0, 1)
        a = (rng.random((n_samples, 2)) < p_alt).astype(int)
        if n_alt == 2:
            a[rng.random((n_samples, 2)) < 0.2] = 2
        if n_alt == 0:
            a[:] = 0
        calls = [f"{x}|{y}" for x, y in a]
        if rng.random() < 0.1:
            i = int(rng.integers(n_samples))
            calls[i] = str(rng.choice([".", "./.", "0|.", ".|1"]))
        if rng.random() < 0.1:
            i = int(rng.integers(n_samples))
            calls[i] = str(rng.choice(["0/1", "1/0", "1/1", "0/0"]))
        if rng.random() < 0.08:
            i = int(rng.integers(n_samples))
            calls[i] = str(rng.choice(["0", "1"]))
        records.append(["1", str(pos), f"r{k}", ref, alt, ".", filt, ".", "GT", *calls])
    text = vcf_text(records, samples)
    if path.name.endswith(".gz"):  # bgzipped and indexed, for --region
        plain = path.with_name(path.name[:-3])
        plain.write_text(text)
        pysam.tabix_compress(str(plain), str(path), force=True)
        pysam.tabix_index(str(path), preset="vcf", force=True)
        plain.unlink()
    else:
        path.write_text(text)
    return path


OPTION_SETS = [
    {},
    {"missing": "ref"},
    {"missing": "ref", "unphased": "accept"},
    {"missing": "ref", "unphased": "accept", "haploid": "skip-site"},
    {"missing": "skip-site", "unphased": "skip-site", "haploid": "skip-site", "duplicate_position": "skip"},
    {"missing": "ref", "unphased": "accept", "haploid": "skip-site", "duplicate_position": "skip",
     "pass_only": True, "monomorphic": "skip"},
    {"missing": "ref", "unphased": "accept", "haploid": "skip-site", "duplicate_position": "skip",
     "multiallelic": "error"},
    {"missing": "ref", "unphased": "accept", "haploid": "skip-site", "duplicate_position": "skip",
     "non_snp": "error"},
    {"missing": "ref", "unphased": "skip-site", "haploid": "skip-site", "duplicate_position": "skip",
     "samples": ["S7", "S2", "S11", "S3"]},
    {"missing": "skip-site", "unphased": "accept", "haploid": "skip-site", "duplicate_position": "skip",
     "region": "1:400-3000"},
    {"missing": "ref", "unphased": "accept", "haploid": "as-haplotype", "duplicate_position": "skip"},
]


def assert_same(vcf: Path, store: Path, options: ReadOptions) -> None:
    """read_store equals read_vcf, or both refuse with the same message (past the file name)."""
    try:
        expected = read_vcf(vcf, options)
    except InputError as exc:
        with pytest.raises(InputError) as caught:
            read_store(store, options)
        assert str(caught.value).replace(store.name, "FILE") == str(exc).replace(vcf.name, "FILE")
        return
    got = read_store(store, options)
    np.testing.assert_array_equal(got.matrix, expected.matrix)
    assert got.matrix.dtype == np.uint8
    for column in ("chrom", "position", "id", "ref", "alt"):
        assert getattr(got.sites, column).tolist() == getattr(expected.sites, column).tolist(), column
    assert got.haplotype_sample.tolist() == expected.haplotype_sample.tolist()
    assert got.haplotype_id.tolist() == expected.haplotype_id.tolist()
    assert got.population is None and got.super_population is None
    assert got.source["summary"] == expected.source["summary"]
    assert got.source["format"] == "vcz"


@pytest.fixture(scope="module")
def unusual(tmp_path_factory) -> tuple[Path, Path]:
    """A random unusual VCF and its store, cut in small chunks (32 variants x 5 individuals)."""
    d = tmp_path_factory.mktemp("unusual")
    vcf = unusual_vcf(d / "u.vcf.gz", seed=3)
    store = import_vcf(vcf, d / "u.vcz", variants_chunk_size=32, samples_chunk_size=5)
    return vcf, store


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults")
def test_store_reads_what_the_vcf_reader_reads_under_every_option(unusual, options):
    vcf, store = unusual
    assert_same(vcf, store, ReadOptions(**options))


def test_another_random_file_agrees_too(tmp_path):
    vcf = unusual_vcf(tmp_path / "v.vcf", seed=11, n_records=90, n_samples=9)
    store = import_vcf(vcf, tmp_path / "v.vcz", variants_chunk_size=16, samples_chunk_size=4)
    for options in OPTION_SETS[:6] + OPTION_SETS[-1:]:
        assert_same(vcf, store, ReadOptions(**options))


def test_error_messages_match_the_vcf_reader(unusual):
    vcf, store = unusual
    # the defaults stop at the first unusual call, naming the store, the record, the sample and the option
    with pytest.raises(InputError, match=r"^u\.vcz, record 2 \(1:121\): haploid genotype 1 of sample S14; pass --haploid"):
        read_store(store)
    with pytest.raises(InputError, match=r"^u\.vcz, record \d+ \(1:\d+\): (missing|unphased) genotype \S+ of sample S\d+; "
                       r".*pass --(missing skip-site\|ref|unphased accept\|skip-site)$"):
        read_store(store, ReadOptions(haploid="skip-site"))


def test_haploid_samples_and_unsorted_records(tmp_path):
    # one chromosome, unsorted with a duplicate: --unsorted sort and --duplicate-position skip;
    # S3 haploid at every site: --haploid as-haplotype gives it one row
    records = [
        ["1", "30", "a", "A", "G", ".", "PASS", ".", "GT", "0|1", "1|1", "1"],
        ["1", "20", "b", "A", "G", ".", "PASS", ".", "GT", "0|1", "1|0", "0"],
        ["1", "20", "c", "A", "T", ".", "PASS", ".", "GT", "1|1", "1|1", "0"],
        ["1", "50", "d", "A", "G", ".", "PASS", ".", "GT", "0|0", "0|0", "."],
        ["1", "40", "e", "A", "C", ".", "PASS", ".", "GT", "0|1", "1|1", "1"],
    ]
    vcf = tmp_path / "h.vcf"
    vcf.write_text(vcf_text(records, ["S1", "S2", "S3"]))
    store = import_vcf(vcf, tmp_path / "h.vcz", variants_chunk_size=2, samples_chunk_size=2)
    for options in (
        {},
        {"haploid": "as-haplotype"},
        {"haploid": "as-haplotype", "unsorted": "sort"},
        {"haploid": "as-haplotype", "unsorted": "sort", "duplicate_position": "skip"},
        {"haploid": "as-haplotype", "unsorted": "sort", "duplicate_position": "skip", "missing": "ref"},
        {"haploid": "skip-site", "unsorted": "sort", "duplicate_position": "skip", "missing": "ref"},
    ):
        assert_same(vcf, store, ReadOptions(**options))
    s = StoreHaplotypes.open(store, ReadOptions(haploid="as-haplotype", unsorted="sort",
                                                duplicate_position="skip", missing="ref"))
    assert s.haplotype_id.tolist() == ["S1_A", "S1_B", "S2_A", "S2_B", "S3"]
    assert s.sites.position.tolist() == [20, 30, 40, 50]
    full = s.load().matrix
    np.testing.assert_array_equal(s.rows([4, 0, 4]), full[[4, 0, 4]])
    np.testing.assert_array_equal(s.to_dask().compute(), full)
    np.testing.assert_array_equal(s.block(1, 3), full[:, 1:3])


# ----------------------------------------------------------------------------- blocks, rows, dask


@pytest.fixture(scope="module")
def simulated(tmp_path_factory, sim_haplotypes) -> tuple[Path, Path]:
    """sim_haplotypes (600 haplotypes x 300 SNPs) as a VCF and a store of 64 variants x 40 individuals."""
    d = tmp_path_factory.mktemp("sim")
    vcf = d / "sim.vcf.gz"
    write_vcf(sim_haplotypes, vcf)
    store = import_vcf(vcf, d / "sim.vcz", variants_chunk_size=64, samples_chunk_size=40)
    return vcf, store


def test_simulated_store_loads_as_the_vcf(simulated, sim_haplotypes):
    vcf, store = simulated
    assert_same(vcf, store, ReadOptions())
    np.testing.assert_array_equal(read_store(store).matrix, sim_haplotypes.matrix)


def test_blocks_rows_and_dask_are_slices_of_the_matrix(simulated, sim_haplotypes):
    _, store = simulated
    s = StoreHaplotypes.open(store)
    full = sim_haplotypes.matrix
    assert (s.n_haplotypes, s.n_sites) == full.shape
    assert s.samples.tolist() == sim_haplotypes.samples.tolist()
    for start, stop in ((0, 0), (0, 1), (63, 65), (10, 200), (299, 300), (0, 300)):
        block = s.block(start, stop)
        assert block.dtype == np.uint8 and block.shape == (600, stop - start)
        np.testing.assert_array_equal(block, full[:, start:stop])
    rng = np.random.default_rng(0)
    index = rng.integers(0, 600, size=37)
    np.testing.assert_array_equal(s.rows(index), full[index])
    assert s.rows([]).shape == (0, 300)
    blocks = list(s.iter_site_blocks(128))
    assert [(a, b) for a, b, _ in blocks] == [(0, 128), (128, 256), (256, 300)]
    np.testing.assert_array_equal(np.concatenate([b for _, _, b in blocks], axis=1), full)
    x = s.to_dask()
    assert x.shape == full.shape and x.dtype == np.uint8
    assert x.chunks[0][0] == 80 and x.chunks[1][0] == 64  # 40 individuals, 64 variants
    np.testing.assert_array_equal(x.compute(scheduler="synchronous"), full)
    np.testing.assert_array_equal(x[5:70, 100:170].compute(scheduler="synchronous"), full[5:70, 100:170])
    assert int(x.sum(axis=0).compute()[17]) == int(full[:, 17].sum())
    # workers of a distributed cluster receive the array pickled
    again = pickle.loads(pickle.dumps(s))
    np.testing.assert_array_equal(again.block(3, 9), full[:, 3:9])


def test_haplotype_batches_cover_every_row_once(simulated):
    s = StoreHaplotypes.open(simulated[1])
    ordered = list(s.iter_haplotype_batches(250))
    assert [b.size for b in ordered] == [250, 250, 100]
    np.testing.assert_array_equal(np.concatenate(ordered), np.arange(600))
    shuffled = np.concatenate(list(s.iter_haplotype_batches(250, seed=4)))
    assert sorted(shuffled.tolist()) == list(range(600)) and not np.array_equal(shuffled, np.arange(600))
    np.testing.assert_array_equal(shuffled, np.concatenate(list(s.iter_haplotype_batches(250, seed=4))))
    with pytest.raises(InputError, match="positive"):
        next(s.iter_haplotype_batches(0))
    # chunk_local: sample chunks (80 rows, 40 in the last) in a shuffled order, rows shuffled inside
    local = list(s.iter_haplotype_batches(80, seed=4, chunk_local=True))
    flat = np.concatenate(local)
    assert sorted(flat.tolist()) == list(range(600))
    assert all(len(set((b // 80).tolist())) <= 2 for b in local)
    assert not np.array_equal(flat, np.arange(600))
    np.testing.assert_array_equal(flat, np.concatenate(list(s.iter_haplotype_batches(80, seed=4, chunk_local=True))))


def _corrupt_chunks(store: Path, keep) -> int:
    """Overwrite every call_genotype chunk file whose (variant chunk, sample chunk) ``keep``
    rejects with bytes that cannot be decompressed; returns how many were corrupted."""
    n = 0
    for f in (store / "call_genotype").iterdir():
        if f.name.startswith("."):
            continue
        v, s, _ = (int(x) for x in f.name.split("."))
        if not keep(v, s):
            f.write_bytes(b"not a chunk")
            n += 1
    return n


def test_block_and_rows_read_only_the_chunks_they_need(simulated, sim_haplotypes, tmp_path):
    full = sim_haplotypes.matrix
    broken = tmp_path / "broken.vcz"
    shutil.copytree(simulated[1], broken)
    # sites 64..127 are variant chunk 1; rows 0..79 are individuals 0..39, sample chunk 0
    assert _corrupt_chunks(broken, lambda v, s: v == 1 or s == 0) > 0
    s = StoreHaplotypes.open(broken)  # the per-variant counts of import spare a genotype pass
    np.testing.assert_array_equal(s.block(64, 128), full[:, 64:128])
    np.testing.assert_array_equal(s.rows([3, 79, 0]), full[[3, 79, 0]])
    np.testing.assert_array_equal(s.to_dask()[:80].compute(scheduler="synchronous"), full[:80])
    with pytest.raises(Exception):  # the corrupted chunks are really there, and would be read
        s.block(0, 64)


# ----------------------------------------------------------------------------- stores of other origins


def test_a_store_written_by_bio2zarr_alone_reads_the_same(unusual, tmp_path):
    vcf, store = unusual
    bare = tmp_path / "bare.vcz"
    shutil.copytree(store, bare)
    shutil.rmtree(bare / COUNTS_ARRAY)
    meta = bare / ".zmetadata"
    if meta.exists():
        meta.unlink()
    assert is_store(bare)
    for options in OPTION_SETS[3:6]:
        assert_same(vcf, bare, ReadOptions(**options))


def test_import_records_provenance_and_counts(unusual):
    vcf, store = unusual
    attrs = zarr.open_group(str(store), mode="r").attrs.asdict()
    record = attrs["haplogen"]
    assert record["variants_chunk_size"] == 32 and record["samples_chunk_size"] == 5
    assert record["source"]["name"] == "u.vcf.gz"
    counts = zarr.open_group(str(store), mode="r")[COUNTS_ARRAY]
    assert counts.shape == (160, 6)
    # the slow obvious count of unphased heterozygous calls, from the text of the VCF
    import gzip

    text = gzip.decompress(vcf.read_bytes()).decode()
    lines = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    expected = [sum(1 for c in line[9:] if "/" in c and len(set(c.split("/"))) == 2 and "." not in c) for line in lines]
    assert counts[:, 2].tolist() == expected


def test_checksum_is_stable_and_follows_the_content(simulated, tmp_path):
    store = simulated[1]
    a = StoreHaplotypes.open(store).checksum
    assert a == StoreHaplotypes.open(store).checksum == store_checksum(store)
    copy = tmp_path / "copy.vcz"
    shutil.copytree(store, copy)
    assert store_checksum(copy) == a
    chunk = next(f for f in (copy / "call_genotype").iterdir() if not f.name.startswith("."))
    chunk.write_bytes(chunk.read_bytes() + b"\0")
    assert store_checksum(copy) != a
    h = read_store(store)
    assert h.source["sha256"] == a and h.source["bytes"] > 0


def test_two_imports_of_one_vcf_have_one_checksum(unusual, tmp_path):
    vcf, store = unusual
    again = import_vcf(vcf, tmp_path / "again.vcz", variants_chunk_size=32, samples_chunk_size=5,
                       provenance={"command": ["another", "run"]})
    assert store_checksum(again) == store_checksum(store)  # other chunk sizes give another: see below


# ----------------------------------------------------------------------------- import: refusals


def test_import_is_atomic_and_refuses_to_replace_silently(tmp_path):
    vcf = tmp_path / "small.vcf"
    vcf.write_text(vcf_text([["1", str(p), ".", "A", "G", ".", ".", ".", "GT", "0|1", "1|1"] for p in (5, 9, 12)],
                            ["S1", "S2"]))
    out = tmp_path / "a.vcz"
    import_vcf(vcf, out)
    assert is_store(out) and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with pytest.raises(InputError, match="already exists; .* --overwrite"):
        import_vcf(vcf, out)
    before = store_checksum(out)
    import_vcf(vcf, out, overwrite=True, variants_chunk_size=1)  # other chunks: another checksum
    assert store_checksum(out) != before and sorted(p.name for p in tmp_path.iterdir()) == ["a.vcz", "small.vcf"]
    folder = tmp_path / "mine.vcz"
    folder.mkdir()
    (folder / "notes.txt").write_text("precious")
    with pytest.raises(InputError, match="is not a zarr store; --overwrite replaces a store only"):
        import_vcf(vcf, folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "precious"
    with pytest.raises(InputError, match=r"name it b\.vcf\.gz\.vcz"):
        import_vcf(vcf, tmp_path / "b.vcf.gz")
    with pytest.raises(InputError, match="positive"):
        import_vcf(vcf, tmp_path / "c.vcz", variants_chunk_size=0)


def test_import_refuses_what_no_option_reads(tmp_path):
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    bad = write("bad.vcf", "this is not a VCF\n")
    with pytest.raises(InputError, match="bad.vcf"):
        import_vcf(bad, tmp_path / "bad.vcz")
    hapt = write("x.hapt", "Real S1_A 0 1 0\nReal S1_B 1 1 0\n")
    with pytest.raises(InputError, match="hapt file; import converts VCF/BCF only: convert it to VCF first"):
        import_vcf(hapt, tmp_path / "x.vcz")
    nogt = write("nogt.vcf", "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
                 '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="d">\n'
                 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n1\t5\t.\tA\tG\t.\t.\t.\tDP\t3\n")
    with pytest.raises(InputError, match="declares no FORMAT/GT"):
        import_vcf(nogt, tmp_path / "nogt.vcz")
    nosamples = write("ns.vcf", "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
                      "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t5\t.\tA\tG\t.\t.\t.\n")
    with pytest.raises(InputError, match="no sample columns"):
        import_vcf(nosamples, tmp_path / "ns.vcz")
    unphased = write("unphased.vcf", vcf_text([["1", str(p), ".", "A", "G", ".", ".", ".", "GT", "0/1", "1/1"]
                                               for p in (5, 9)], ["S1", "S2"]))
    with pytest.raises(InputError, match="none of the 2 heterozygous calls .* is phased .* phase the data first"):
        import_vcf(unphased, tmp_path / "unphased.vcz")
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".vcz" or p.name.startswith(".")]


def test_several_chromosomes_without_index(tmp_path):
    rows = [["1", "5", ".", "A", "G", ".", ".", ".", "GT", "0|1", "1|1"],
            ["2", "3", ".", "A", "G", ".", ".", ".", "GT", "1|1", "0|1"]]
    vcf = tmp_path / "two.vcf"
    vcf.write_text(vcf_text(rows, ["S1", "S2"]))
    store = import_vcf(vcf, tmp_path / "two.vcz")  # bio2zarr needs an index: made on a copy
    assert_same(vcf, store, ReadOptions())
    # a region of a store needs no index (the VCF reader needs one)
    assert read_store(store, ReadOptions(region="2")).sites.chrom.tolist() == ["2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two.vcf", "two.vcz"]
    bcf = tmp_path / "two.bcf"  # BCF, unindexed too
    with pysam.VariantFile(str(vcf)) as reader, pysam.VariantFile(str(bcf), "wb", header=reader.header) as writer:
        for record in reader:
            writer.write(record)
    assert_same(bcf, import_vcf(bcf, tmp_path / "two_bcf.vcz"), ReadOptions())
    vcf.write_text(vcf_text([rows[1], rows[0], rows[1][:1] + ["9"] + rows[1][2:]], ["S1", "S2"]))
    with pytest.raises(InputError, match="cannot index it .*sort it with `bcftools sort`"):
        import_vcf(vcf, tmp_path / "unsorted.vcz")


# ----------------------------------------------------------------------------- dispatch and commands


def test_read_haplotypes_and_detect_format_take_a_store(simulated, tmp_path):
    vcf, store = simulated
    assert detect_format(store) == "vcz"
    np.testing.assert_array_equal(read_haplotypes(store).matrix, read_haplotypes(vcf).matrix)
    with pytest.raises(InputError, match="store, which has its own sites; .* leave out the legend"):
        read_haplotypes(store, legend=tmp_path / "x.legend")
    other = tmp_path / "folder"
    other.mkdir()
    with pytest.raises(InputError, match="expected a VCF Zarr store .* found a directory without one"):
        detect_format(other)
    with pytest.raises(InputError, match="No such file"):
        StoreHaplotypes.open(tmp_path / "absent.vcz")


def test_cli_import_then_split_a_store_as_a_vcf(simulated, tmp_path, capsys):
    vcf, _ = simulated
    store = tmp_path / "data.vcz"
    assert main(["import", str(vcf), "-o", str(store), "--variants-chunk-size", "100"]) == 0
    err = capsys.readouterr().err
    assert "wrote" in err and "with the default reading options: read 300 records" in err
    record = zarr.open_group(str(store), mode="r").attrs["haplogen"]["provenance"]
    assert record["command"][:2] == ["haplogen", "import"]
    assert record["parameters"]["variants_chunk_size"] == 100
    assert record["inputs"][0]["sha256"] and json.dumps(record)
    assert main(["import", str(vcf), "-o", str(store)]) == 2
    assert "already exists" in capsys.readouterr().err
    # split takes the store and writes VCFs: the same split as from the VCF itself
    assert main(["split", str(store), "-o", str(tmp_path / "from_store"), "--seed", "5"]) == 0
    assert main(["split", str(vcf), "-o", str(tmp_path / "from_vcf"), "--seed", "5"]) == 0
    for side in ("train", "holdout"):
        a = read_vcf(tmp_path / "from_store" / f"{side}.vcf.gz")
        b = read_vcf(tmp_path / "from_vcf" / f"{side}.vcf.gz")
        np.testing.assert_array_equal(a.matrix, b.matrix)
        assert a.samples.tolist() == b.samples.tolist()
    provenance = read_vcf(tmp_path / "from_store" / "train.vcf.gz")
    assert provenance.n_sites == 300
    assert (tmp_path / "from_store" / "split.tsv").read_text() == (tmp_path / "from_vcf" / "split.tsv").read_text()


def test_cli_import_warns_when_the_defaults_cannot_read_it(unusual, tmp_path, capsys):
    vcf, _ = unusual
    assert main(["import", str(vcf), "-o", str(tmp_path / "u.vcz")]) == 0
    err = capsys.readouterr().err
    assert "haplogen: warning: the store was written, but reading it with the default options stops" in err
    assert "record 2 (1:121): haploid genotype 1 of sample S14; pass --haploid as-haplotype" in err
    assert main(["import", str(tmp_path / "nothing.vcf"), "-o", str(tmp_path / "n.vcz")]) == 2
    assert "haplogen: error: cannot read" in capsys.readouterr().err


def test_import_help_shows_an_example(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and "haplogen import data.vcf.gz -o data.vcz" in out and "--samples-chunk-size" in out
