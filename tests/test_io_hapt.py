"""The founding paper's hapt/legend format, and its agreement with the VCF of the same data."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from haplogen.haplotypes import Haplotypes, Sites
from haplogen.io import (
    detect_format,
    read_hapt,
    read_haplotypes,
    read_legend,
    read_vcf,
    write_hapt,
    write_haplotypes,
    write_vcf,
)
from haplogen.provenance import file_checksum

REAL = "805_SNP_1000G_real.hapt.gz"
LEGEND = "805_SNP.legend"


def slow_parse(text: str) -> tuple[list[str], list[str], np.ndarray]:
    """Obvious reference parser: split every line on white space."""
    rows = [line.split() for line in text.splitlines() if line.strip()]
    return [r[0] for r in rows], [r[1] for r in rows], np.array([[int(x) for x in r[2:]] for r in rows], dtype=np.uint8)


# ----------------------------------------------------------------------------- shared data


@pytest.fixture(scope="module")
def real_pair(shared_data):
    hapt = read_hapt(shared_data / REAL, legend=shared_data / LEGEND)
    vcf = read_vcf(shared_data / "1000g_805snp.vcf.gz")
    return hapt, vcf


def test_shared_vcf_equals_hapt(real_pair):
    hapt, vcf = real_pair
    assert hapt.matrix.shape == (5008, 805)
    assert np.array_equal(hapt.matrix, vcf.matrix)
    assert hapt.haplotype_id.tolist() == vcf.haplotype_id.tolist()
    assert hapt.haplotype_sample.tolist() == vcf.haplotype_sample.tolist()
    assert hapt.sites.same_as(vcf.sites)
    assert hapt.sites.id.tolist() == vcf.sites.id.tolist()
    assert hapt.source["hapt_tag"] == "Real"
    assert hapt.haplotype_id[:2].tolist() == ["HG00096_A", "HG00096_B"]
    assert hapt.haplotype_sample[0] == "HG00096" and hapt.n_samples == 2504
    # the README: three SNPs are monomorphic in the real data
    assert vcf.source["summary"]["handled"] == {"monomorphic sites kept": 3}
    assert vcf.source["summary"]["skipped"] == {}


def test_shared_matches_slow_parser(shared_data, real_pair):
    hapt, _ = real_pair
    tags, ids, matrix = slow_parse(gzip.open(shared_data / REAL, "rt").read())
    assert set(tags) == {"Real"}
    assert ids == hapt.haplotype_id.tolist()
    assert np.array_equal(matrix, hapt.matrix)
    legend = [ln.split() for ln in (shared_data / LEGEND).read_text().splitlines()[1:]]
    assert [int(r[1]) for r in legend] == hapt.sites.position.tolist()
    assert [r[0].split(":")[0] for r in legend] == hapt.sites.chrom.tolist()
    assert [r[2] for r in legend] == hapt.sites.ref.tolist()


def test_shared_hapt_vcf_hapt_is_lossless(shared_data, real_pair, tmp_path):
    hapt, _ = real_pair
    vcf_path = tmp_path / "real.vcf.gz"
    write_vcf(hapt, vcf_path)
    back = read_vcf(vcf_path)
    out = tmp_path / "real.hapt.gz"
    write_hapt(back, out, legend_path=tmp_path / "real.legend", tag="Real")
    # byte for byte the published files (after decompression)
    assert gzip.open(out).read() == gzip.open(shared_data / REAL).read()
    assert (tmp_path / "real.legend").read_bytes() == (shared_data / LEGEND).read_bytes()


def test_published_artificial_files(shared_data):
    h = read_haplotypes(shared_data / "published_ags" / "805_SNP_RBM_AG_800Epochs.hapt.gz")
    assert h.matrix.shape == (5000, 805)
    assert h.source["hapt_tag"] == "AG"
    assert h.haplotype_id[:3].tolist() == ["AG0", "AG1", "AG2"]
    assert h.haplotype_sample[:4].tolist() == ["AG0_AG1", "AG0_AG1", "AG2_AG3", "AG2_AG3"]
    assert h.sites.same_as(Sites.generic(805))


# ----------------------------------------------------------------------------- simulated data


def test_round_trip_simulated(sim_haplotypes, tmp_path):
    out = tmp_path / "sim.hapt.gz"
    legend = tmp_path / "sim.legend"
    write_hapt(sim_haplotypes, out, legend_path=legend, tag="Real")
    h = read_hapt(out, legend=legend)
    assert np.array_equal(h.matrix, sim_haplotypes.matrix)
    assert h.haplotype_id.tolist() == sim_haplotypes.haplotype_id.tolist()
    assert h.haplotype_sample.tolist() == sim_haplotypes.haplotype_sample.tolist()
    assert h.sites.same_as(sim_haplotypes.sites)
    assert h.sites.id.tolist() == sim_haplotypes.sites.id.tolist()
    assert h.source["hapt_tag"] == "Real"
    assert h.source["sha256"] == file_checksum(out)
    assert h.source["legend"]["sha256"] == file_checksum(legend)


def test_hapt_vcf_hapt_simulated(sim_haplotypes, tmp_path):
    write_hapt(sim_haplotypes, tmp_path / "a.hapt", legend_path=tmp_path / "a.legend")
    first = read_hapt(tmp_path / "a.hapt", legend=tmp_path / "a.legend")
    write_haplotypes(first, tmp_path / "b.vcf.gz")
    second = read_haplotypes(tmp_path / "b.vcf.gz")
    write_hapt(second, tmp_path / "c.hapt", legend_path=tmp_path / "c.legend")
    assert (tmp_path / "c.hapt").read_bytes() == (tmp_path / "a.hapt").read_bytes()
    assert (tmp_path / "c.legend").read_bytes() == (tmp_path / "a.legend").read_bytes()


def test_fast_parser_against_slow_parser(tmp_path):
    rng = np.random.default_rng(31)
    m = rng.integers(0, 2, (9, 57), dtype=np.uint8)
    lines = []
    for i, row in enumerate(m):
        sep = [" ", "  ", "\t", " \t "][i % 4]  # irregular white space takes the slow path
        lines.append(f"AG{sep}AG{i}{sep}" + sep.join(str(x) for x in row) + (" \r" if i == 3 else ""))
    text = "\n".join(lines) + "\n"
    path = tmp_path / "odd.hapt"
    path.write_text(text)
    h = read_hapt(path)
    tags, ids, matrix = slow_parse(text)
    assert np.array_equal(h.matrix, matrix) and np.array_equal(matrix, m)
    assert h.haplotype_id.tolist() == ids


def test_pairing_rule(tmp_path):
    ids = ["HG1_A", "HG1_B", "AG0", "AG1", "X_A", "HG2_A", "HG2_B", "AG2"]
    text = "".join(f"T {i} {k % 2} 1\n" for k, i in enumerate(ids))
    h = read_hapt(write_plain(tmp_path / "p.hapt", text))
    assert h.haplotype_sample.tolist() == ["HG1", "HG1", "AG0_AG1", "AG0_AG1", "X_A", "HG2", "HG2", "AG2"]
    # the unpaired 'X_A' (no X_B after it) stands alone: it is next to a real pair


def test_odd_artificial_rows(tmp_path):
    text = "".join(f"AG AG{i} 0 1 {i % 2}\n" for i in range(5))
    h = read_hapt(write_plain(tmp_path / "ag.hapt", text))
    assert h.haplotype_sample.tolist() == ["AG0_AG1", "AG0_AG1", "AG2_AG3", "AG2_AG3", "AG4"]
    assert h.sites.same_as(Sites.generic(3))
    assert h.matrix[:, 2].tolist() == [0, 1, 0, 1, 0]


def test_mixed_tags(tmp_path):
    h = read_hapt(write_plain(tmp_path / "t.hapt", "Real R_A 0 1\nReal R_B 1 1\nAG AG0 0 0\n"))
    assert h.source["hapt_tag"] == "Real,AG"


def write_plain(path, text):
    path.write_text(text)
    return path


def test_provenance_sidecar_and_atomic_write(tmp_path):
    h = Haplotypes.from_matrix(np.eye(4, dtype=np.uint8))
    record = {"seed": 3, "command": ["haplogen", "sample"]}
    out = tmp_path / "ag.hapt.gz"
    write_hapt(h, out, provenance=record)
    assert json.loads((tmp_path / "ag.hapt.gz.provenance.json").read_text()) == record
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ag.hapt.gz", "ag.hapt.gz.provenance.json"]
    assert gzip.open(out, "rt").read().splitlines()[0] == "AG AG0_A 1 0 0 0"
    plain = tmp_path / "ag.hapt"
    write_hapt(h, plain, tag="Real")
    assert plain.read_text().splitlines()[3] == "Real AG1_B 0 0 0 1"


def test_legend_ids_without_chromosome(tmp_path):
    sites = Sites(chrom=["2", "2"], position=[10, 20], id=["rs1", "2:20_C_T"], ref=["A", "C"], alt=["G", "T"])
    h = Haplotypes.from_matrix(np.array([[0, 1], [1, 1]], dtype=np.uint8), sites)
    write_hapt(h, tmp_path / "x.hapt", legend_path=tmp_path / "x.legend")
    assert (tmp_path / "x.legend").read_text() == "id position a0 a1\n2:10_A_G 10 A G\n2:20_C_T 20 C T\n"
    back = read_legend(tmp_path / "x.legend")
    assert back.same_as(sites)


def test_legend_extra_columns(tmp_path):
    path = write_plain(tmp_path / "l.legend", "id position a0 a1 afr eur\n3:5_A_T 5 A T 0.1 0.2\n")
    sites = read_legend(path)
    assert sites.chrom.tolist() == ["3"] and sites.position.tolist() == [5]


def test_detect_format_by_content(tmp_path, sim_haplotypes):
    write_hapt(sim_haplotypes, tmp_path / "data.txt")
    assert detect_format(tmp_path / "data.txt") == "hapt"
    write_vcf(sim_haplotypes, tmp_path / "calls.gz", index=False)
    assert detect_format(tmp_path / "calls.gz") == "vcf"
    h = read_haplotypes(tmp_path / "calls.gz")
    assert np.array_equal(h.matrix, sim_haplotypes.matrix)
