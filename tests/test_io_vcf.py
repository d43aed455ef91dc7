"""VCF reading and writing: round trips, and the output checked by independent readers.

``write_vcf`` output is read back by cyvcf2 directly (its list-of-lists genotype API, not the
array path that ``read_vcf`` uses), by scikit-allel's own VCF parser and by bcftools (through
pysam), which must not print any warning.
"""

from __future__ import annotations

import json

import numpy as np
import pysam
import pysam.bcftools
import pytest

from haplogen.haplotypes import Haplotypes, Sites
from haplogen.io import ReadOptions, read_haplotypes, read_vcf, write_haplotypes, write_vcf
from haplogen.provenance import file_checksum, make_record


@pytest.fixture(scope="module")
def written(tmp_path_factory, sim_haplotypes):
    """sim_haplotypes written once as VCF with a provenance record."""
    path = tmp_path_factory.mktemp("vcf") / "sim.vcf.gz"
    record = make_record(parameters={"model": "none", "n": 600}, seed=42, command=["haplogen", "demo", "--seed", "42"])
    write_vcf(sim_haplotypes, path, provenance=record)
    return path, record


def test_round_trip_simulated(written, sim_haplotypes, capfd):
    path, _ = written
    capfd.readouterr()
    h = read_vcf(path)
    assert capfd.readouterr().err == ""
    assert np.array_equal(h.matrix, sim_haplotypes.matrix)
    assert h.haplotype_id.tolist() == sim_haplotypes.haplotype_id.tolist()
    assert h.haplotype_sample.tolist() == sim_haplotypes.haplotype_sample.tolist()
    assert h.sites.same_as(sim_haplotypes.sites)
    assert h.sites.id.tolist() == sim_haplotypes.sites.id.tolist()
    assert h.source["format"] == "vcf"
    assert h.source["sha256"] == file_checksum(path)
    assert h.source["summary"]["skipped"] == {}
    assert h.source["summary"]["n_sites_kept"] == sim_haplotypes.n_sites


def test_cyvcf2_reads_output(written, sim_haplotypes, capfd):
    import cyvcf2

    path, _ = written
    capfd.readouterr()
    vcf = cyvcf2.VCF(str(path))
    assert vcf.samples == sim_haplotypes.samples.tolist()
    rows, pos, ids, ref, alt = [], [], [], [], []
    for v in vcf:
        # list-of-lists API: [allele_a, allele_b, phased] per sample
        calls = v.genotypes
        assert all(c[2] for c in calls)
        rows.append([a for c in calls for a in c[:2]])
        pos.append(v.POS)
        ids.append(v.ID)
        ref.append(v.REF)
        alt.append(v.ALT[0])
    vcf.close()
    assert np.array_equal(np.array(rows, dtype=np.uint8).T, sim_haplotypes.matrix)
    assert pos == sim_haplotypes.sites.position.tolist()
    assert ids == sim_haplotypes.sites.id.tolist()
    assert ref == sim_haplotypes.sites.ref.tolist() and alt == sim_haplotypes.sites.alt.tolist()
    assert capfd.readouterr().err == ""


def test_scikit_allel_reads_output(written, sim_haplotypes):
    allel = pytest.importorskip("allel")
    path, _ = written
    data = allel.read_vcf(str(path), fields=["samples", "calldata/GT", "variants/POS", "variants/ID", "variants/REF", "variants/ALT"])
    gt = data["calldata/GT"]  # (n_sites, n_samples, 2)
    matrix = gt.reshape(gt.shape[0], -1).T
    assert np.array_equal(matrix, sim_haplotypes.matrix)
    assert data["samples"].tolist() == sim_haplotypes.samples.tolist()
    assert data["variants/POS"].tolist() == sim_haplotypes.sites.position.tolist()
    assert data["variants/ALT"][:, 0].tolist() == sim_haplotypes.sites.alt.tolist()


def test_bcftools_reads_output_without_warning(written, sim_haplotypes, capfd):
    path, record = written
    capfd.readouterr()
    body = pysam.bcftools.view("-H", str(path))
    err = capfd.readouterr().err
    assert err == "" and not pysam.bcftools.view.stderr
    lines = body.splitlines()
    assert len(lines) == sim_haplotypes.n_sites
    first = lines[0].split("\t")
    assert first[5:9] == [".", "PASS", ".", "GT"]
    assert first[9] == "{}|{}".format(*sim_haplotypes.matrix[:2, 0])
    # bcftools' own consistency check of the stats on the file
    stats = pysam.bcftools.stats(str(path))
    assert capfd.readouterr().err == ""
    snps = [ln for ln in stats.splitlines() if ln.startswith("SN\t0\tnumber of SNPs:")]
    assert snps and int(snps[0].split("\t")[-1]) == sim_haplotypes.n_sites


def test_header_and_provenance(written, sim_haplotypes, capfd):
    path, record = written
    header = pysam.bcftools.view("-h", str(path)).splitlines()
    assert capfd.readouterr().err == ""
    assert header[0] == "##fileformat=VCFv4.2"
    assert any(ln.startswith("##fileDate=20") for ln in header)
    assert "##source=haplogen-0.1.0" in header
    max_pos = int(sim_haplotypes.sites.position.max())
    assert f"##contig=<ID=1,length={max_pos}>" in header
    assert "##haplogen_command=haplogen demo --seed 42" in header
    line = [ln for ln in header if ln.startswith("##haplogen_provenance=")]
    assert len(line) == 1
    assert json.loads(line[0].split("=", 1)[1]) == json.loads(json.dumps(record))
    columns = [ln for ln in header if ln.startswith("#CHROM")][0].split("\t")
    assert columns[9:] == sim_haplotypes.samples.tolist()


def test_index_and_region(written, sim_haplotypes):
    path, _ = written
    assert (path.parent / (path.name + ".tbi")).exists()
    pos = sim_haplotypes.sites.position
    lo, hi = int(pos[10]), int(pos[19])
    h = read_vcf(path, ReadOptions(region=f"1:{lo}-{hi}"))
    assert h.sites.position.tolist() == pos[10:20].tolist()
    assert np.array_equal(h.matrix, sim_haplotypes.matrix[:, 10:20])


def test_samples_option_matches_select(written, sim_haplotypes):
    path, _ = written
    chosen = sim_haplotypes.samples[[5, 2, 200]].tolist()
    h = read_vcf(path, ReadOptions(samples=chosen))
    expected = sim_haplotypes.select_samples(chosen)
    assert h.haplotype_id.tolist() == expected.haplotype_id.tolist()
    assert np.array_equal(h.matrix, expected.matrix)


def test_bcf_and_plain_gzip_inputs(written, sim_haplotypes, tmp_path):
    path, _ = written
    bcf = tmp_path / "sim.bcf"
    pysam.bcftools.view("-Ob", "-o", str(bcf), str(path), catch_stdout=False)
    h = read_haplotypes(bcf)
    assert np.array_equal(h.matrix, sim_haplotypes.matrix)
    import gzip

    plain_gz = tmp_path / "sim_gzip.vcf.gz"
    with pysam.BGZFile(str(path), "rb") as src:
        plain_gz.write_bytes(gzip.compress(src.read()))
    h = read_haplotypes(plain_gz)
    assert np.array_equal(h.matrix, sim_haplotypes.matrix)


def test_haploid_and_mixed_individuals(tmp_path, capfd):
    rng = np.random.default_rng(17)
    m = rng.integers(0, 2, (5, 40), dtype=np.uint8)
    # individuals: A (diploid), B (haploid), C (diploid)
    h = Haplotypes(m, Sites.generic(40), ["A", "A", "B", "C", "C"], ["A_A", "A_B", "B", "C_A", "C_B"])
    out = tmp_path / "mixed.vcf.gz"
    write_haplotypes(h, out)
    body = pysam.bcftools.view("-H", str(out)).splitlines()
    assert capfd.readouterr().err == ""
    first = body[0].split("\t")[9:]
    assert first == [f"{m[0, 0]}|{m[1, 0]}", f"{m[2, 0]}", f"{m[3, 0]}|{m[4, 0]}"]
    back = read_vcf(out, ReadOptions(haploid="as-haplotype"))
    assert np.array_equal(back.matrix, m)
    assert back.haplotype_id.tolist() == h.haplotype_id.tolist()
    assert back.haplotype_sample.tolist() == h.haplotype_sample.tolist()


def test_several_chromosomes_and_ids(tmp_path):
    rng = np.random.default_rng(23)
    sites = Sites(
        chrom=["1", "1", "2", "X"],
        position=[100, 2000, 5, 77],
        id=["rs1", ".", "2:5_C_T", "rsX"],
        ref=["A", "C", "C", "G"],
        alt=["G", "T", "T", "A"],
    )
    h = Haplotypes.from_matrix(rng.integers(0, 2, (6, 4), dtype=np.uint8), sites)
    out = tmp_path / "chroms.vcf.gz"
    write_vcf(h, out)
    header = pysam.bcftools.view("-h", str(out))
    for contig in ("##contig=<ID=1,length=2000>", "##contig=<ID=2,length=5>", "##contig=<ID=X,length=77>"):
        assert contig in header
    back = read_vcf(out)
    assert back.sites.same_as(sites)
    assert back.sites.id.tolist() == sites.id.tolist()
    assert np.array_equal(back.matrix, h.matrix)
    assert read_vcf(out, ReadOptions(region="X")).sites.id.tolist() == ["rsX"]


def test_write_replaces_old_index(tmp_path):
    out = tmp_path / "o.vcf.gz"
    h = Haplotypes.from_matrix(np.eye(4, dtype=np.uint8))
    write_vcf(h, out)
    assert (tmp_path / "o.vcf.gz.tbi").exists()
    write_vcf(h, out, index=False)  # a stale index would describe the old file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.vcf.gz"]


def test_uneven_and_chunked_write(tmp_path, monkeypatch):
    # blocks of 7 lines (the last one shorter), mixed ploidy (the general byte-layout path)
    import haplogen.io.vcf as vcf_module

    monkeypatch.setattr(vcf_module, "_CHUNK_BYTES", 7 * 2002)
    rng = np.random.default_rng(29)
    m = rng.integers(0, 2, (1001, 3000), dtype=np.uint8)  # odd: last individual haploid
    h = Haplotypes.from_matrix(m)
    out = tmp_path / "wide.vcf.gz"
    write_vcf(h, out)
    back = read_vcf(out, ReadOptions(haploid="as-haplotype"))
    assert np.array_equal(back.matrix, m)
    assert back.haplotype_id[-1] == "AG500"


def test_reads_the_shared_vcf(shared_data):
    """The 805-SNP VCF of 2,504 samples reads whole (its read time is measured by
    ``benchmarks/read_time_805.py``, not here: no unit test depends on wall-clock time)."""
    h = read_vcf(shared_data / "1000g_805snp.vcf.gz")
    assert h.matrix.shape == (5008, 805)
    assert h.source["summary"]["n_sites_kept"] == 805
