"""What real VCF and hapt files contain never crashes the readers nor disappears silently.

Each unusual case is either handled by a documented ReadOptions choice (checked through the
result and the ReadSummary counts) or rejected with one line naming the file, the record and
the option to use (checked with pytest.raises(match=...)). Test files are inline text.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pysam
import pytest

from haplogen.errors import InputError
from haplogen.haplotypes import Haplotypes, Sites
from haplogen.io import (
    ReadOptions,
    read_hapt,
    read_haplotypes,
    read_vcf,
    write_haplotypes,
    write_vcf,
)

GT_HEADER = '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'


def make_vcf(
    tmp_path: Path,
    records: list[str],
    samples: tuple[str, ...] = ("S1", "S2"),
    *,
    name: str = "data.vcf",
    meta: str = "##contig=<ID=1>\n##contig=<ID=2>\n" + GT_HEADER,
) -> Path:
    """Write a VCF from records given with single spaces between columns."""
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if samples:
        columns += ["FORMAT", *samples]
    text = "##fileformat=VCFv4.2\n" + meta + "\t".join(columns) + "\n"
    text += "".join(r.replace(" ", "\t") + "\n" for r in records)
    path = tmp_path / name
    if name.endswith(".gz"):
        plain = tmp_path / (name[:-3])
        plain.write_text(text)
        pysam.tabix_compress(str(plain), str(path), force=True)
        plain.unlink()
    else:
        path.write_text(text)
    return path


def rec(pos: int, ref: str = "A", alt: str = "G", gts: str = "0|1 1|1", chrom: str = "1", filt: str = "PASS") -> str:
    return f"{chrom} {pos} . {ref} {alt} . {filt} . GT {gts}"


# ----------------------------------------------------------------------------- files


@pytest.mark.parametrize("reader", [read_vcf, read_hapt, read_haplotypes])
def test_missing_file(tmp_path, reader):
    path = tmp_path / "absent.vcf.gz"
    with pytest.raises(InputError, match=r"^cannot read .*absent\.vcf\.gz: No such file or directory$"):
        reader(path)


def test_directory(tmp_path):
    with pytest.raises(InputError, match="cannot read .*: Is a directory"):
        read_vcf(tmp_path)


def test_empty_vcf(tmp_path):
    path = tmp_path / "empty.vcf"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.vcf: not a readable VCF/BCF file \(htslib: .*\); expected a VCF"):
        read_vcf(path)
    with pytest.raises(InputError, match=r"empty\.vcf: not a readable VCF/BCF file"):
        read_haplotypes(path)


def test_garbage_bytes(tmp_path):
    path = tmp_path / "garbage.vcf"
    path.write_bytes(np.random.default_rng(3).integers(0, 256, 600, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match=r"garbage\.vcf: not a readable VCF/BCF file"):
        read_vcf(path)


def test_text_that_is_not_vcf(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello world\nthis is not a VCF\n")
    with pytest.raises(InputError, match=r"notes\.txt: expected a VCF/BCF or a hapt file, found content starting 'hello world'"):
        read_haplotypes(path)
    with pytest.raises(InputError, match=r"notes\.txt: not a readable VCF/BCF file"):
        read_vcf(path)


def test_truncated_gzip_header(tmp_path):
    full = make_vcf(tmp_path, [rec(10), rec(20)], name="full.vcf.gz")
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(full.read_bytes()[:60])
    with pytest.raises(InputError, match=r"cut\.vcf\.gz: not a readable VCF/BCF file \(htslib: "):
        read_vcf(cut)


def test_truncated_bgzip_body(tmp_path):
    rng = np.random.default_rng(5)
    h = Haplotypes.from_matrix(rng.integers(0, 2, (200, 2000), dtype=np.uint8))
    full = tmp_path / "full.vcf.gz"
    write_vcf(h, full, index=False)
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(InputError, match=r"cut\.vcf\.gz: cannot parse the record after record \d+ \(1:\d+\) \(htslib: .*truncated"):
        read_vcf(cut)


def test_wrong_number_of_columns(tmp_path):
    path = make_vcf(tmp_path, [rec(10), "1 20 . A G . PASS . GT 0|1"])
    with pytest.raises(InputError, match=r"data\.vcf: cannot parse the record after record 1 \(1:10\) \(htslib: \[E::vcf_parse_format.*number of samples"):
        read_vcf(path)


def test_header_without_samples(tmp_path):
    path = make_vcf(tmp_path, ["1 10 . A G . PASS ."], samples=())
    with pytest.raises(InputError, match=r"data\.vcf: the VCF header has no sample columns"):
        read_vcf(path)


def test_header_only(tmp_path):
    path = make_vcf(tmp_path, [])
    with pytest.raises(InputError, match=r"data\.vcf: no sites left to read: 0 records; check the file"):
        read_vcf(path)


def test_duplicate_sample_names(tmp_path):
    path = make_vcf(tmp_path, [rec(10)], samples=("S1", "S1"))
    with pytest.raises(InputError, match=r"data\.vcf: not a readable VCF/BCF file \(htslib: .*"):
        read_vcf(path)


def test_header_without_gt(tmp_path):
    meta = "##contig=<ID=1>\n" + '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    path = make_vcf(tmp_path, ["1 10 . A G . PASS . DP 3 4"], meta=meta)
    with pytest.raises(InputError, match=r"data\.vcf: the VCF header declares no FORMAT/GT field"):
        read_vcf(path)


def test_record_without_gt(tmp_path):
    meta = "##contig=<ID=1>\n" + GT_HEADER + '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    path = make_vcf(tmp_path, [rec(10), "1 20 . A G . PASS . DP 3 4"], meta=meta)
    with pytest.raises(InputError, match=r"data\.vcf, record 2 \(1:20\): the record has no GT field \(FORMAT is DP\)"):
        read_vcf(path)


def test_htslib_warning_is_not_fatal(tmp_path, capfd):
    # FILTER q10 is not declared in the header: htslib warns, the read goes on, the warning shows
    path = make_vcf(tmp_path, [rec(10, filt="q10"), rec(20)])
    h = read_vcf(path)
    assert h.n_sites == 2
    assert "FILTER 'q10'" in capfd.readouterr().err


# ----------------------------------------------------------------------------- alleles


def test_multiallelic(tmp_path):
    path = make_vcf(tmp_path, [rec(10), rec(20, alt="G,T", gts="0|2 1|1"), rec(30)])
    h = read_vcf(path)
    assert h.sites.position.tolist() == [10, 30]
    summary = h.source["summary"]
    assert summary["skipped"] == {"multiallelic": 1}
    assert summary["n_records"] == 3 and summary["n_sites_kept"] == 2
    with pytest.raises(
        InputError,
        match=re.escape("data.vcf, record 2 (1:20): multiallelic site A>G,T; split it with `bcftools norm -m-` or pass --multiallelic skip"),
    ):
        read_vcf(path, ReadOptions(multiallelic="error"))


@pytest.mark.parametrize(
    "ref, alt, reason, text",
    [
        ("AT", "A", "indel", "indel AT>A"),
        ("A", "ACG", "indel", "indel A>ACG"),
        ("AT", "GC", "mnp", "MNP AT>GC"),
        ("A", "<DEL>", "symbolic", "symbolic/structural allele A><DEL>"),
        ("A", "A]2:300]", "symbolic", "symbolic/structural allele"),
        ("A", "*", "spanning-deletion", r"spanning-deletion allele A>\*"),
        ("N", "A", "non-acgt", "non-ACGT allele N>A"),
    ],
)
def test_non_snp(tmp_path, ref, alt, reason, text):
    path = make_vcf(tmp_path, [rec(10), rec(20, ref=ref, alt=alt), rec(30)])
    h = read_vcf(path)
    assert h.sites.position.tolist() == [10, 30]
    assert h.source["summary"]["skipped"] == {reason: 1}
    with pytest.raises(InputError, match=r"data\.vcf, record 2 \(1:20\): " + text + r".*pass --non-snp skip$"):
        read_vcf(path, ReadOptions(non_snp="error"))


def test_lowercase_alleles_are_uppercased(tmp_path):
    path = make_vcf(tmp_path, [rec(10, ref="a", alt="t"), rec(20, ref="c", alt="G")])
    h = read_vcf(path)
    assert h.sites.ref.tolist() == ["A", "C"] and h.sites.alt.tolist() == ["T", "G"]
    assert h.matrix[:, 0].tolist() == [0, 1, 1, 1]


def test_reference_only_record_is_monomorphic(tmp_path):
    path = make_vcf(tmp_path, [rec(10), rec(20, alt=".", gts="0|0 0|0")])
    h = read_vcf(path)
    assert h.sites.alt.tolist() == ["G", "."]
    assert h.matrix[:, 1].tolist() == [0, 0, 0, 0]
    h = read_vcf(path, ReadOptions(monomorphic="skip"))
    assert h.n_sites == 1 and h.source["summary"]["skipped"] == {"monomorphic": 1}


def test_allele_index_beyond_alt(tmp_path):
    path = make_vcf(tmp_path, [rec(10, gts="0|2 1|1")])
    with pytest.raises(InputError, match=r"record 1 \(1:10\): a genotype refers to allele 2 but the record has 1 ALT"):
        read_vcf(path)


# ----------------------------------------------------------------------------- genotypes


def test_missing_calls(tmp_path):
    records = [rec(10), rec(20, gts=".|1 1|1"), rec(30, gts="0|1 ./."), rec(40, gts="1|1 ."), rec(50)]
    path = make_vcf(tmp_path, records)
    with pytest.raises(
        InputError,
        match=re.escape(
            "data.vcf, record 2 (1:20): missing genotype .|1 of sample S1; impute the data (e.g. Beagle) "
            "or pass --missing skip-site|ref"
        ),
    ):
        read_vcf(path)
    h = read_vcf(path, ReadOptions(missing="skip-site"))
    assert h.sites.position.tolist() == [10, 50]
    assert h.source["summary"]["skipped"] == {"missing": 3}
    h = read_vcf(path, ReadOptions(missing="ref"))
    assert h.n_sites == 5 and h.n_haplotypes == 4
    # S1_A S1_B S2_A S2_B at each site; every '.' becomes 0 (REF), '.' alone in a diploid
    # record counts as a diploid missing call
    assert h.matrix.T.tolist() == [[0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 1]]
    assert h.source["summary"]["handled"] == {"missing alleles imputed as REF": 4}


def test_unphased_het_error_wording(tmp_path):
    records = [rec(12345 + i) for i in range(11)] + [rec(12345 + 11, gts="0|1 0/1")]
    path = make_vcf(tmp_path, records, samples=("HG00096", "HG00097"), name="data.vcf.gz")
    with pytest.raises(
        InputError,
        match=re.escape(
            "data.vcf.gz, record 12 (1:12356): unphased genotype 0/1 of sample HG00097; phase the data "
            "(e.g. SHAPEIT, Beagle) or pass --unphased accept|skip-site"
        ),
    ):
        read_vcf(path)


def test_unphased_options(tmp_path):
    path = make_vcf(tmp_path, [rec(10), rec(20, gts="1/0 0|1"), rec(30, gts="0/0 1/1")])
    h = read_vcf(path, ReadOptions(unphased="skip-site"))
    # homozygous unphased calls are unambiguous and always kept
    assert h.sites.position.tolist() == [10, 30]
    assert h.source["summary"]["skipped"] == {"unphased": 1}
    assert h.matrix[:, 1].tolist() == [0, 0, 1, 1]
    h = read_vcf(path, ReadOptions(unphased="accept"))
    assert h.matrix[:, 1].tolist() == [1, 0, 0, 1]  # alleles in written order
    assert h.source["summary"]["handled"] == {"unphased heterozygous calls taken in written order": 1}


def test_homozygous_unphased_accepted_by_default(tmp_path):
    path = make_vcf(tmp_path, [rec(10, gts="0/0 1/1"), rec(20, gts="1/1 0|1")])
    h = read_vcf(path)
    assert h.matrix.T.tolist() == [[0, 0, 1, 1], [1, 1, 0, 1]]


def test_haploid_calls(tmp_path):
    # chrX-like: S1 (male) haploid everywhere, S2 diploid
    path = make_vcf(tmp_path, [rec(10, gts="1 0|1"), rec(20, gts="0 1|1"), rec(30, gts="1 1|0")])
    with pytest.raises(
        InputError,
        match=re.escape("data.vcf, record 1 (1:10): haploid genotype 1 of sample S1; pass --haploid as-haplotype"),
    ):
        read_vcf(path)
    h = read_vcf(path, ReadOptions(haploid="as-haplotype"))
    assert h.haplotype_id.tolist() == ["S1", "S2_A", "S2_B"]
    assert h.haplotype_sample.tolist() == ["S1", "S2", "S2"]
    assert h.matrix.tolist() == [[1, 0, 1], [0, 1, 1], [1, 1, 0]]
    assert h.source["summary"]["handled"] == {"haploid samples read as one haplotype": 1}
    with pytest.raises(InputError, match=r"no sites left to read: 3 records, all skipped \(3 sites with haploid calls\)"):
        read_vcf(path, ReadOptions(haploid="skip-site"))


def test_all_haploid_record(tmp_path):
    path = make_vcf(tmp_path, [rec(10, gts="1 0"), rec(20, gts="0 1")])
    h = read_vcf(path, ReadOptions(haploid="as-haplotype"))
    assert h.haplotype_id.tolist() == ["S1", "S2"]
    assert h.matrix.tolist() == [[1, 0], [0, 1]]


def test_mixed_ploidy_of_one_sample(tmp_path):
    path = make_vcf(tmp_path, [rec(10, gts="1 0|1"), rec(20, gts="0|1 1|1")])
    with pytest.raises(
        InputError,
        match=re.escape(
            "data.vcf: sample S1 is haploid at record 1 (1:10) but diploid at record 2 (1:20) (mixed ploidy)"
        ),
    ):
        read_vcf(path, ReadOptions(haploid="as-haplotype"))
    h = read_vcf(path, ReadOptions(haploid="skip-site"))
    assert h.sites.position.tolist() == [20]


def test_missing_call_of_haploid_sample_imputed(tmp_path):
    path = make_vcf(tmp_path, [rec(10, gts="1 0|1"), rec(20, gts=". 1|1")])
    h = read_vcf(path, ReadOptions(haploid="as-haplotype", missing="ref"))
    assert h.haplotype_id.tolist() == ["S1", "S2_A", "S2_B"]
    assert h.matrix.tolist() == [[1, 0], [0, 1], [1, 1]]


def test_polyploid_call(tmp_path):
    path = make_vcf(tmp_path, [rec(10, gts="0|1|1 0|1")])
    with pytest.raises(InputError, match=r"record 1 \(1:10\): genotype 0\|1\|1 of sample S1 has ploidy 3"):
        read_vcf(path)


def test_monomorphic(tmp_path):
    path = make_vcf(tmp_path, [rec(10), rec(20, gts="1|1 1|1"), rec(30, gts="0|0 0|0"), rec(40)])
    h = read_vcf(path)
    assert h.n_sites == 4
    assert h.source["summary"]["handled"] == {"monomorphic sites kept": 2}
    h = read_vcf(path, ReadOptions(monomorphic="skip"))
    assert h.sites.position.tolist() == [10, 40]
    assert h.source["summary"]["skipped"] == {"monomorphic": 2}


# ----------------------------------------------------------------------------- order


def test_unsorted_positions(tmp_path):
    path = make_vcf(tmp_path, [rec(10), rec(30, gts="1|1 0|0"), rec(20, gts="0|0 1|0")])
    with pytest.raises(
        InputError,
        match=re.escape("data.vcf, record 3 (1:20): position 20 comes after 1:30; records must be sorted")
        + r".*sort the file with `bcftools sort` or pass --unsorted sort$",
    ):
        read_vcf(path)
    h = read_vcf(path, ReadOptions(unsorted="sort"))
    assert h.sites.position.tolist() == [10, 20, 30]
    assert h.matrix[:, 1].tolist() == [0, 0, 1, 0] and h.matrix[:, 2].tolist() == [1, 1, 0, 0]
    assert h.source["summary"]["handled"] == {"records moved into position order": 2}


def test_chromosome_seen_again(tmp_path):
    path = make_vcf(tmp_path, [rec(10), rec(5, chrom="2"), rec(20, gts="1|1 1|1")])
    with pytest.raises(InputError, match=r"record 3 \(1:20\): chromosome 1 appears again after 2; .*`bcftools sort`"):
        read_vcf(path)
    h = read_vcf(path, ReadOptions(unsorted="sort"))
    assert h.sites.chrom.tolist() == ["1", "1", "2"]
    assert h.sites.position.tolist() == [10, 20, 5]


def test_unsorted_skipped_record_still_counts(tmp_path):
    # the out-of-order record is an indel that would be skipped: the file is still unsorted
    path = make_vcf(tmp_path, [rec(10), rec(30), rec(20, ref="AT", alt="A")])
    with pytest.raises(InputError, match="position 20 comes after 1:30"):
        read_vcf(path)


def test_duplicate_position(tmp_path):
    path = make_vcf(tmp_path, [rec(10), rec(20, alt="G"), rec(20, alt="T", gts="1|1 0|0"), rec(30)])
    with pytest.raises(
        InputError,
        match=re.escape("data.vcf, record 3 (1:20): duplicate position, already seen at record 2")
        + r".*--duplicate-position skip \(keeps the first\)$",
    ):
        read_vcf(path)
    h = read_vcf(path, ReadOptions(duplicate_position="skip"))
    assert h.sites.position.tolist() == [10, 20, 30]
    assert h.sites.alt.tolist() == ["G", "G", "G"]
    assert h.source["summary"]["skipped"] == {"duplicate-position": 1}


def test_indel_beside_snp_is_no_duplicate(tmp_path):
    path = make_vcf(tmp_path, [rec(10), rec(20, ref="AT", alt="A"), rec(20)])
    h = read_vcf(path)
    assert h.sites.position.tolist() == [10, 20]
    assert h.source["summary"]["skipped"] == {"indel": 1}


# ----------------------------------------------------------------------------- selections


def test_pass_only(tmp_path):
    meta = "##contig=<ID=1>\n" + GT_HEADER + '##FILTER=<ID=q10,Description="Quality below 10">\n'
    path = make_vcf(tmp_path, [rec(10), rec(20, filt="q10"), rec(30, filt=".")], meta=meta)
    assert read_vcf(path).n_sites == 3
    h = read_vcf(path, ReadOptions(pass_only=True))
    assert h.sites.position.tolist() == [10, 30]
    assert h.source["summary"]["skipped"] == {"filtered": 1}


def test_samples_subset(tmp_path):
    path = make_vcf(tmp_path, [rec(10, gts="0|1 1|1 1|0"), rec(20, gts="1|1 0|0 0|1")], samples=("S1", "S2", "S3"))
    h = read_vcf(path, ReadOptions(samples=["S3", "S1"]))
    assert h.haplotype_id.tolist() == ["S1_A", "S1_B", "S3_A", "S3_B"]  # file order
    assert h.matrix.tolist() == [[0, 1], [1, 1], [1, 0], [0, 1]]
    with pytest.raises(
        InputError,
        match=r"data\.vcf: 1 of the 2 samples given to --samples are not in the file \(NA12878\); the file has 3 samples",
    ):
        read_vcf(path, ReadOptions(samples=["S1", "NA12878"]))


def test_region_needs_index(tmp_path):
    plain = make_vcf(tmp_path, [rec(10), rec(20), rec(30, chrom="2")])
    with pytest.raises(InputError, match=r"data\.vcf: cannot read region 1:15-25 .*needs an index.*`bcftools index`"):
        read_vcf(plain, ReadOptions(region="1:15-25"))
    indexed = make_vcf(tmp_path, [rec(10), rec(20), rec(30, chrom="2")], name="data.vcf.gz")
    pysam.tabix_index(str(indexed), preset="vcf", force=True)
    h = read_vcf(indexed, ReadOptions(region="1:15-25"))
    assert h.sites.position.tolist() == [20]
    assert read_vcf(indexed, ReadOptions(region="2")).sites.chrom.tolist() == ["2"]
    with pytest.raises(InputError, match=r"no sites left to read: 0 records in region 1:100-200"):
        read_vcf(indexed, ReadOptions(region="1:100-200"))
    with pytest.raises(InputError, match=r"no sites left to read: 0 records in region chr7 \(the file's chromosomes: 1, 2\)"):
        read_vcf(indexed, ReadOptions(region="chr7"))


def test_bad_option_values():
    with pytest.raises(InputError, match=r"--unphased must be one of error, skip-site, accept, found 'yes'"):
        ReadOptions(unphased="yes")
    with pytest.raises(InputError, match=r"--non-snp must be one of skip, error, found 'keep'"):
        ReadOptions(non_snp="keep")
    with pytest.raises(InputError, match=r"--region must look like 'chrom', 'chrom:start-end'"):
        ReadOptions(region="1:abc")


def test_no_sites_left_says_why(tmp_path):
    path = make_vcf(tmp_path, [rec(10, alt="G,T", gts="0|2 1|1"), rec(20, ref="AT", alt="A"), rec(30, ref="AC", alt="A")])
    with pytest.raises(
        InputError,
        match=re.escape("data.vcf: no sites left to read: 3 records, all skipped (1 multiallelic, 2 indels); check"),
    ):
        read_vcf(path)


def test_summary_line(tmp_path):
    records = [rec(i) for i in range(1, 11)]
    records[3] = rec(4, alt="G,T", gts="0|2 1|1")
    records[7] = rec(8, ref="AT", alt="A")
    records[8] = rec(9, ref="AT", alt="A")
    h = read_vcf(make_vcf(tmp_path, records))
    from haplogen.io import ReadSummary

    summary = ReadSummary(**h.source["summary"])
    assert str(summary) == (
        "read 10 records: kept 7 biallelic SNPs of 2 individuals (4 haplotypes); "
        "skipped 1 multiallelic, 2 indels"
    )
    assert str(ReadSummary(1000, 990, {"multiallelic": 6, "indel": 4}, 300, 600)) == (
        "read 1,000 records: kept 990 biallelic SNPs of 300 individuals (600 haplotypes); "
        "skipped 6 multiallelic, 4 indels"
    )


# ----------------------------------------------------------------------------- hapt


def write_text(path: Path, text: str) -> Path:
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_hapt_empty(tmp_path):
    path = write_text(tmp_path / "x.hapt", "")
    with pytest.raises(InputError, match=r"x\.hapt: the file is empty; expected one haplotype per line"):
        read_hapt(path)


def test_hapt_ragged_line(tmp_path):
    path = write_text(tmp_path / "x.hapt.gz", "AG AG0 0 1 1\nAG AG1 1 0 1\nAG AG2 1 0\n")
    with pytest.raises(InputError, match=r"x\.hapt\.gz, line 3: expected 5 fields \(tag, id and 3 SNPs, as on line 1\), found 4"):
        read_hapt(path)


def test_hapt_bad_allele(tmp_path):
    path = write_text(tmp_path / "x.hapt", "AG AG0 0 1 1\nAG AG1 1 2 1\n")
    with pytest.raises(InputError, match=r"x\.hapt, line 2, SNP column 2 \(field 4\): expected 0 or 1, found '2'"):
        read_hapt(path)


def test_hapt_no_snp(tmp_path):
    path = write_text(tmp_path / "x.hapt", "AG AG0\nAG AG1\n")
    with pytest.raises(InputError, match=r"x\.hapt, line 1: expected a tag, a haplotype id and at least one 0/1 SNP column, found 2 field"):
        read_hapt(path)


def test_hapt_duplicate_id(tmp_path):
    path = write_text(tmp_path / "x.hapt", "AG AG0 0 1\nAG AG1 1 1\nAG AG0 1 0\n")
    with pytest.raises(InputError, match=r"x\.hapt, line 3: haplotype id AG0 already used on line 1"):
        read_hapt(path)


def test_hapt_truncated_gzip(tmp_path):
    text = "".join(f"AG AG{i} " + " ".join("01"[(i * j) % 2] for j in range(300)) + "\n" for i in range(200))
    data = gzip.compress(text.encode())
    path = tmp_path / "x.hapt.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"x\.hapt\.gz: the gzip stream is corrupt or truncated"):
        read_hapt(path)


def test_legend_does_not_match(tmp_path):
    hapt = write_text(tmp_path / "x.hapt", "AG AG0 0 1 1\nAG AG1 1 0 1\n")
    legend = write_text(tmp_path / "x.legend", "id position a0 a1\n1:10_A_G 10 A G\n1:20_C_T 20 C T\n")
    with pytest.raises(InputError, match=r"x\.legend: the legend lists 2 SNPs but x\.hapt has 3 SNP columns"):
        read_hapt(hapt, legend)
    bad = write_text(tmp_path / "bad.legend", "rsid pos ref alt\n1:10_A_G 10 A G\n")
    with pytest.raises(InputError, match=r"bad\.legend, line 1: expected the legend header 'id position a0 a1', found 'rsid pos ref alt'"):
        read_hapt(hapt, bad)
    noprefix = write_text(tmp_path / "np.legend", "id position a0 a1\nrs1 10 A G\nrs2 20 A G\nrs3 30 A G\n")
    with pytest.raises(InputError, match=r"np\.legend, line 2: the id 'rs1' does not start with 'CHROM:'"):
        read_hapt(hapt, noprefix)


# ----------------------------------------------------------------------------- failed writes


def test_failed_vcf_write_leaves_nothing(tmp_path):
    sites = Sites(chrom=["1"] * 3, position=[30, 10, 20], id=["."] * 3, ref=["A"] * 3, alt=["G"] * 3)
    h = Haplotypes.from_matrix(np.zeros((4, 3), dtype=np.uint8), sites)
    out = tmp_path / "out.vcf.gz"
    with pytest.raises(InputError, match=r"sites are not sorted: 1:10 comes after 1:30; a tabix index needs sorted sites"):
        write_vcf(h, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    write_vcf(h, out, index=False)  # without an index, any order is fine
    assert [p.name for p in tmp_path.iterdir()] == ["out.vcf.gz"]


def test_failed_indexing_leaves_nothing(tmp_path, monkeypatch):
    h = Haplotypes.from_matrix(np.eye(4, dtype=np.uint8))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pysam, "tabix_index", broken)
    out = tmp_path / "out.vcf.gz"
    with pytest.raises(InputError, match=r"cannot index .*out\.vcf\.gz with tabix \(disk full\); nothing was written"):
        write_vcf(h, out)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_individuals(tmp_path):
    m = np.zeros((3, 2), dtype=np.uint8)
    h = Haplotypes(m, Sites.generic(2), ["X", "X", "X"], ["a", "b", "c"])
    with pytest.raises(InputError, match="individual X has 3 adjacent haplotypes"):
        write_vcf(h, tmp_path / "o.vcf.gz")
    h = Haplotypes(m, Sites.generic(2), ["X", "Y", "X"], ["a", "b", "c"])
    with pytest.raises(InputError, match="the haplotypes of individual X are not adjacent rows"):
        write_vcf(h, tmp_path / "o.vcf.gz")
    h = Haplotypes(m[:2], Sites.generic(2), ["my sample"] * 2, ["a", "b"])
    with pytest.raises(InputError, match="sample name 'my sample' cannot be a VCF column name"):
        write_vcf(h, tmp_path / "o.vcf.gz")
    assert list(tmp_path.iterdir()) == []


def test_write_format_from_extension(tmp_path):
    h = Haplotypes.from_matrix(np.eye(4, dtype=np.uint8))
    with pytest.raises(InputError, match=r"cannot tell the output format from the name out\.txt"):
        write_haplotypes(h, tmp_path / "out.txt")
    with pytest.raises(InputError, match=r"VCF output is bgzipped: name it out\.vcf\.gz"):
        write_haplotypes(h, tmp_path / "out.vcf")
    assert list(tmp_path.iterdir()) == []
