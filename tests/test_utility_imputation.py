"""Imputation utility: Beagle 5 on a small simulated region, checked against direct computations.

The tests that run Beagle skip, saying why, where it is not installed (``apt-get install
beagle``; ``.ci/run`` installs it). The error handling is tested everywhere with small fake
``beagle`` scripts that behave like Beagle's failures.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import numpy as np
import pytest

from haplogen.errors import HaplogenError, InputError
from haplogen.haplotypes import Haplotypes, Sites
from haplogen.simulate import SimulationConfig, simulate_haplotypes
from haplogen.utility.imputation import (
    MAF_BIN_LABELS,
    ToolError,
    array_sites,
    beagle_available,
    beagle_unavailable_reason,
    imputation_r2,
    imputation_utility,
    maf_bins,
    plot_imputation,
    run_beagle,
)

needs_beagle = pytest.mark.skipif(
    not beagle_available(), reason=f"Beagle 5 cannot run here: {beagle_unavailable_reason()}"
)


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def region() -> Haplotypes:
    """120 haplotypes (60 individuals, YRI/CEU/CHB) x 600 SNPs of one contiguous 300 kb region, seed 5."""
    config = SimulationConfig(individuals_per_population=20, sequence_length=300_000, max_sites=600)
    return simulate_haplotypes(config, seed=5)


@pytest.fixture(scope="module")
def split(region: Haplotypes) -> tuple[Haplotypes, Haplotypes]:
    """(train, holdout): every 4th individual is held out."""
    samples = region.samples
    holdout = samples[::4]
    train = [s for s in samples if s not in set(holdout)]
    return region.select_samples(train), region.select_samples(holdout)


def shuffled_columns(h: Haplotypes, seed: int) -> Haplotypes:
    """Each site's alleles permuted across haplotypes: same allele frequencies, no LD."""
    rng = np.random.default_rng(seed)
    matrix = h.matrix.copy()
    for j in range(matrix.shape[1]):
        matrix[:, j] = rng.permutation(matrix[:, j])
    return Haplotypes.from_matrix(matrix, h.sites, prefix="SHUF")


@pytest.fixture(scope="module")
def imputed(split: tuple[Haplotypes, Haplotypes]) -> dict:
    """Real, shuffled and real+shuffled panels imputed by Beagle, dosages kept."""
    if not beagle_available():
        pytest.skip(f"Beagle 5 cannot run here: {beagle_unavailable_reason()}")
    train, holdout = split
    return imputation_utility(train, {"shuffled": shuffled_columns(train, 1)}, holdout, seed=3, keep_dosage=True)


def slow_r2(dosage: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-site r² by np.corrcoef, one site at a time (0 for a constant dosage, NaN for a constant truth)."""
    out = np.full(dosage.shape[0], np.nan)
    for i in range(dosage.shape[0]):
        d, t = dosage[i].astype(float), truth[i].astype(float)
        if np.all(t == t[0]):
            continue
        out[i] = 0.0 if np.all(d == d[0]) else np.corrcoef(d, t)[0, 1] ** 2
    return out


# ---------------------------------------------------------------------------- with Beagle
@needs_beagle
def test_r2_matches_a_direct_computation_from_the_dosages(imputed, split):
    train, holdout = split
    masked = imputed["masked_index"]
    # the truth, rebuilt from the holdout matrix: allele count of each individual at each masked SNP
    truth = np.array([[holdout.matrix[2 * k, j] + holdout.matrix[2 * k + 1, j] for k in range(holdout.n_samples)]
                      for j in masked])
    np.testing.assert_array_equal(imputed["truth"], truth)
    # the MAF bins, from the real panel, with a loop
    for i, j in enumerate(masked):
        alt = int(train.matrix[:, j].sum())
        maf = min(alt, train.n_haplotypes - alt) / train.n_haplotypes
        expected = 0 if maf <= 0.01 + 1e-12 else (1 if maf <= 0.05 + 1e-12 else 2)
        assert imputed["maf_bin"][i] == expected
    for panel in imputed["panels"]:
        dosage = imputed["dosage"][panel]
        assert dosage.shape == (masked.size, holdout.n_samples)
        assert np.all((dosage >= 0) & (dosage <= 2))
        slow = slow_r2(dosage, truth)
        np.testing.assert_allclose(imputed["per_site_r2"][panel], slow, rtol=1e-6, atol=1e-9, equal_nan=True)
        scored = np.isfinite(slow)
        assert imputed["n_scored"][panel] == int(scored.sum())
        assert imputed["r2"][panel] == pytest.approx(slow[scored].mean(), rel=1e-9)
        for k in range(len(MAF_BIN_LABELS)):
            inside = scored & (imputed["maf_bin"] == k)
            assert imputed["n_scored_by_bin"][panel][k] == int(inside.sum())
            if inside.any():
                assert imputed["r2_by_bin"][panel][k] == pytest.approx(slow[inside].mean(), rel=1e-9)
            else:
                assert np.isnan(imputed["r2_by_bin"][panel][k])


@needs_beagle
def test_the_real_panel_beats_a_panel_without_linkage(imputed):
    real, shuffled = imputed["r2"]["real"], imputed["r2"]["shuffled"]
    assert real > 0.4, imputed["r2"]
    assert real > shuffled + 0.2, imputed["r2"]
    common = MAF_BIN_LABELS.index("> 5%")
    assert imputed["r2_by_bin"]["real"][common] > imputed["r2_by_bin"]["shuffled"][common] + 0.3


@needs_beagle
def test_panels_targets_and_sizes_are_reported(imputed, split):
    train, holdout = split
    assert imputed["panels"] == ["real", "shuffled", "real+shuffled"]
    assert imputed["panel_role"] == {"real": "real", "shuffled": "synthetic", "real+shuffled": "combined"}
    assert imputed["panel_haplotypes"] == {"real": train.n_haplotypes, "shuffled": train.n_haplotypes,
                                           "real+shuffled": 2 * train.n_haplotypes}
    assert imputed["n_targets"] == holdout.n_samples
    assert imputed["n_array"] + imputed["n_masked"] == train.n_sites
    assert sum(imputed["n_masked_by_bin"]) == imputed["n_masked"]
    np.testing.assert_array_equal(np.setdiff1d(np.arange(train.n_sites), imputed["masked_index"]),
                                  np.arange(0, train.n_sites, 10))
    assert imputed["settings"]["genetic_map"] is None
    assert "version 5" in imputed["settings"]["beagle"]
    assert any("1 cM per Mb" in note for note in imputed["notes"])


@needs_beagle
def test_a_larger_artificial_set_is_subsampled_to_the_real_panel_size(split):
    train, holdout = split
    big = Haplotypes.from_matrix(np.concatenate([train.matrix, train.matrix[::-1]]), train.sites)
    result = imputation_utility(train, {"big": big}, holdout, combined=False)
    assert result["panel_haplotypes"]["big"] == train.n_haplotypes
    assert any("random" in note and "big" in note for note in result["notes"])


@needs_beagle
def test_a_sets_panel_does_not_depend_on_the_sets_imputed_before_it(split):
    """A larger set's panel is drawn with a generator of its own: the same set imputes the same
    alone and after another subsampled set."""
    train, holdout = split
    big = Haplotypes.from_matrix(np.concatenate([train.matrix, shuffled_columns(train, 2).matrix]), train.sites)
    wide = Haplotypes.from_matrix(np.concatenate([shuffled_columns(train, 3).matrix, train.matrix]), train.sites)
    alone = imputation_utility(train, {"big": big}, holdout, combined=False, seed=3, keep_dosage=True)
    second = imputation_utility(train, {"wide": wide, "big": big}, holdout, combined=False, seed=3, keep_dosage=True)
    assert alone["r2"]["big"] == second["r2"]["big"]
    np.testing.assert_array_equal(alone["dosage"]["big"], second["dosage"]["big"])


@needs_beagle
def test_several_chromosomes_are_imputed_in_one_run():
    config = SimulationConfig(individuals_per_population=8, sequence_length=200_000, max_sites=300, n_chromosomes=2)
    h = simulate_haplotypes(config, seed=2)
    train, holdout = h.take(slice(0, 36)), h.take(slice(36, 48))
    dosage = run_beagle(train, holdout.take_sites(array_sites(h, 5)), seed=1)
    assert dosage.shape == (h.n_sites, holdout.n_samples)
    assert np.isfinite(dosage).all()
    # typed sites come back as the typed genotypes (Beagle keeps them), on both chromosomes
    typed = array_sites(h, 5)
    truth = (holdout.matrix[0::2] + holdout.matrix[1::2]).T
    np.testing.assert_allclose(dosage[typed], truth[typed], atol=0.02)
    assert set(h.sites.chrom[typed]) == {"1", "2"}


@needs_beagle
def test_the_temporary_directory_is_removed(split, tmp_path, monkeypatch):
    train, holdout = split
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    run_beagle(train, holdout.take_sites(array_sites(train)), seed=1)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- pure functions
def test_imputation_r2_against_corrcoef():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=(50, 20))
    dosage = np.clip(truth + rng.normal(0, 0.6, size=truth.shape), 0, 2)
    truth[3] = 1  # constant truth: undefined
    dosage[7] = 0.4  # constant dosage, varying truth: 0
    expected = slow_r2(dosage, truth)
    r2 = imputation_r2(dosage, truth)
    np.testing.assert_allclose(r2, expected, rtol=1e-10, equal_nan=True)
    assert np.isnan(r2[3]) and r2[7] == 0.0
    assert np.nanmax(r2) <= 1.0


def test_maf_bins_compare_counts_exactly():
    # 200 haplotypes: 2 carriers is exactly 1% (first bin), 3 is above; 10 is exactly 5%
    counts = [0, 1, 2, 3, 10, 11, 100, 198, 190, 189]
    matrix = np.zeros((200, len(counts)), dtype=np.uint8)
    for j, c in enumerate(counts):
        matrix[:c, j] = 1
    maf, bins = maf_bins(matrix)
    assert bins.tolist() == [0, 0, 0, 1, 1, 2, 2, 0, 1, 2]
    np.testing.assert_allclose(maf, np.minimum(counts, 200 - np.array(counts)) / 200)


def test_array_sites_restart_on_each_chromosome():
    sites = Sites(chrom=["1"] * 12 + ["2"] * 7, position=list(range(1, 13)) + list(range(1, 8)),
                  id=["."] * 19, ref=["A"] * 19, alt=["G"] * 19)
    h = Haplotypes.from_matrix(np.zeros((2, 19), dtype=np.uint8), sites)
    assert array_sites(h, 5).tolist() == [0, 5, 10, 12, 17]
    assert array_sites(h, 5, 2).tolist() == [2, 7, 14]
    with pytest.raises(InputError, match="array_every must be at least 2"):
        array_sites(h, 1)
    with pytest.raises(InputError, match="array_offset must be between 0 and array_every - 1 = 4"):
        array_sites(h, 5, 5)


def test_the_figure_has_one_group_of_bars_per_panel():
    result = {
        "panels": ["real", "rbm", "real+rbm"], "bin_labels": list(MAF_BIN_LABELS),
        "r2": {"real": 0.8, "rbm": 0.7, "real+rbm": 0.82},
        "r2_by_bin": {"real": [0.3, 0.6, 0.9], "rbm": [np.nan, 0.5, 0.85], "real+rbm": [0.35, 0.6, 0.9]},
        "n_scored": {"real": 90, "rbm": 90, "real+rbm": 90},
        "n_scored_by_bin": {"real": [10, 20, 60], "rbm": [10, 20, 60], "real+rbm": [10, 20, 60]},
        "n_masked": 100, "n_targets": 30,
    }
    fig = plot_imputation(result)
    ax = fig.axes[0]
    assert len(ax.patches) == 3 * 4  # 3 panels x (3 bins + all)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["real", "rbm", "real+rbm"]
    heights = sorted(round(p.get_height(), 3) for p in ax.patches)
    assert heights[0] == 0.0 and heights[-1] == 0.9  # NaN drawn as an empty bar
    assert any("MAF <= 1% (10 SNPs)" == t.get_text() for t in ax.get_legend().get_texts())


# ---------------------------------------------------------------------------- errors (no Beagle needed)
def fake_beagle(tmp_path: Path, body: str) -> str:
    """A ``beagle`` script that prints Beagle's version line without arguments, else runs ``body``."""
    path = tmp_path / "beagle"
    path.write_text("#!/bin/sh\n"
                    'if [ $# -eq 0 ]; then echo "beagle.22Jul22.46e.jar (version 5.4)"; exit 0; fi\n'
                    f"{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def tiny() -> tuple[Haplotypes, Haplotypes]:
    rng = np.random.default_rng(3)
    sites = Sites(chrom=["1"] * 30, position=np.arange(1, 31) * 100, id=["."] * 30, ref=["A"] * 30, alt=["C"] * 30)
    real = Haplotypes.from_matrix(rng.integers(0, 2, size=(20, 30)), sites, prefix="R")
    holdout = Haplotypes.from_matrix(rng.integers(0, 2, size=(8, 30)), sites, prefix="H")
    return real, holdout


@pytest.fixture
def with_java(monkeypatch, tmp_path):
    """A fake ``java`` on the PATH (the fake beagle scripts do not call it)."""
    if os.name != "posix":
        pytest.skip("fake programs are shell scripts")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = bin_dir / "java"
    java.write_text("#!/bin/sh\nexit 0\n")
    java.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return bin_dir


def test_missing_beagle_is_a_one_line_tool_error(tiny):
    real, holdout = tiny
    reason = beagle_unavailable_reason("/nonexistent/beagle")
    assert "apt-get install beagle" in reason and not beagle_available("/nonexistent/beagle")
    with pytest.raises(ToolError, match=r"cannot impute with Beagle: the program /nonexistent/beagle is not on the "
                                        r"PATH; install it with 'apt-get install beagle'") as info:
        imputation_utility(real, {}, holdout, beagle="/nonexistent/beagle")
    assert "\n" not in str(info.value)
    assert isinstance(info.value, HaplogenError) and info.value.exit_code == 6


def test_a_program_that_is_not_beagle_5_is_refused(tmp_path, with_java):
    old = tmp_path / "beagle4"
    old.write_text("#!/bin/sh\necho 'beagle.r1399.jar (version 4.1)'\n")
    old.chmod(0o755)
    assert "Beagle 4.1; Beagle 5 is needed" in beagle_unavailable_reason(str(old))
    other = tmp_path / "other"
    other.write_text("#!/bin/sh\necho hello\n")
    other.chmod(0o755)
    assert "did not print a Beagle version" in beagle_unavailable_reason(str(other))


def test_a_beagle_error_is_one_line_naming_the_panel(tiny, tmp_path, with_java):
    real, holdout = tiny
    beagle = fake_beagle(tmp_path, 'echo "Exception in thread \\"main\\" java.lang.IllegalArgumentException: '
                                   'ERROR: unphased or missing genotype for reference sample REF0" >&2\n'
                                   'echo "\tat vcf.RefIt.parseLines(RefIt.java:210)" >&2\nexit 1')
    with pytest.raises(ToolError, match=r"^Beagle failed on the real panel \(exit status 1\): ERROR: unphased or "
                                        r"missing genotype for reference sample REF0; check that the panel is phased"):
        imputation_utility(real, {}, holdout, beagle=beagle)


def test_a_beagle_that_hangs_after_an_exception_is_stopped(tiny, tmp_path, with_java, monkeypatch):
    # Beagle 5.4 keeps its JVM alive after an uncaught exception in the main thread
    real, holdout = tiny
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    beagle = fake_beagle(tmp_path, 'echo "Exception in thread \\"main\\" java.lang.IllegalArgumentException: '
                                   'ERROR: duplicate marker" >&2\nexec sleep 600')
    with pytest.raises(ToolError, match=r"Beagle failed on the real panel \(exit status -?\d+\): ERROR: duplicate marker"):
        run_beagle(real, holdout.take_sites(array_sites(real, 3)), beagle=beagle, what="real")
    assert list((tmp_path / "tmp").iterdir()) == []  # removed after a failure too


def test_a_beagle_that_runs_too_long_is_stopped(tiny, tmp_path, with_java):
    real, holdout = tiny
    beagle = fake_beagle(tmp_path, "exec sleep 600")
    with pytest.raises(ToolError, match=r"Beagle ran longer than 0.5 s on the rbm panel and was stopped"):
        run_beagle(real, holdout.take_sites(array_sites(real, 3)), beagle=beagle, what="rbm", timeout_s=0.5)


def test_input_errors(tiny, tmp_path, with_java):
    real, holdout = tiny
    beagle = fake_beagle(tmp_path, "exit 0")
    other_sites = Haplotypes.from_matrix(real.matrix, Sites.generic(real.n_sites))
    with pytest.raises(InputError, match=r"the holdout set has 30 sites that are not the 30 sites of the real panel"):
        imputation_utility(real, {}, other_sites, beagle=beagle)
    with pytest.raises(InputError, match=r"the artificial 'rbm' set has 30 sites that are not"):
        imputation_utility(real, {"rbm": other_sites}, holdout, beagle=beagle)
    unsorted = real.take_sites(np.r_[1, 0, 2:30])
    with pytest.raises(InputError, match=r"out of order at 1:100 after 1:200; read the VCF with --unsorted sort"):
        imputation_utility(unsorted, {}, holdout.take_sites(np.r_[1, 0, 2:30]), beagle=beagle)
    twice = Haplotypes.from_matrix(real.matrix, Sites(chrom=["1"] * 30, position=[100] * 2 + list(range(2, 30)),
                                                      id=["."] * 30, ref=["A"] * 30, alt=["C"] * 30))
    with pytest.raises(InputError, match=r"a second record at 1:100 after 1:100; .*--duplicate-position skip"):
        run_beagle(twice, twice.take_sites([0]), beagle=beagle)
    with pytest.raises(InputError, match=r"the holdout has 1 individual; .* needs at least 2"):
        imputation_utility(real, {}, holdout.take(slice(0, 2)), beagle=beagle)
    haploid = Haplotypes.from_matrix(holdout.matrix[:3], holdout.sites, ploidy=1)
    with pytest.raises(InputError, match=r"imputation targets must be diploid individuals"):
        imputation_utility(real, {}, haploid, beagle=beagle)
    with pytest.raises(InputError, match=r"2 of the 3 target sites are not in the real panel \(first 1:9999 A>C\)"):
        odd = Sites(chrom=["1"] * 3, position=[100, 9999, 10000], id=["."] * 3, ref=["A"] * 3, alt=["C"] * 3)
        run_beagle(real, Haplotypes.from_matrix(holdout.matrix[:, :3], odd), beagle=beagle, what="real")
    with pytest.raises(InputError, match=r"the artificial set name 'real' clashes with a panel name"):
        imputation_utility(real, {"real": real}, holdout, beagle=beagle)


# ---------------------------------------------------------------------------- as a statistic of the evaluation
@pytest.fixture
def utility_registered():
    """The utility statistics registered for one test, and unregistered after it."""
    from haplogen.statistics.registry import load_statistics, unregister_statistic
    from haplogen.utility.registration import UTILITY_STATISTICS, register_utility_statistics

    before = {s.name for s in load_statistics()}
    register_utility_statistics()
    yield
    for name in UTILITY_STATISTICS:
        if name not in before:
            unregister_statistic(name)


@needs_beagle
def test_imputation_shows_in_metrics_json_when_asked_for(utility_registered, split, tmp_path):
    import json

    from haplogen.evaluation import evaluate
    from haplogen.report import write_outputs

    train, holdout = split
    shuffled = shuffled_columns(train, 1)
    # the holdout itself passed as a set (reordered, renamed), as a benchmark's floor row does: as a
    # panel it would impute the targets from themselves, so it is left out with a note
    itself = Haplotypes.from_matrix(holdout.matrix[::-1], holdout.sites, prefix="H")
    ev = evaluate(train, {"shuffled": shuffled, "itself": itself}, holdout=holdout, seed=3,
                  statistics=["imputation"], options={"imputation": {"array_every": 8}}, reference=False)
    result = ev.results["imputation"].result
    assert result["array_every"] == 8 and result["panels"] == ["real", "shuffled", "real+shuffled"]
    assert "imputation_r2" not in ev.metrics["itself"]
    assert any(n.startswith("Imputation: set 'itself' holds the holdout's own haplotypes") for n in ev.notes)
    paths = write_outputs(ev, tmp_path)
    document = json.loads(Path(paths["metrics"]).read_text())
    stats = document["statistics"]
    assert stats["imputation_r2"]["values"]["shuffled"] == pytest.approx(result["r2"]["shuffled"])
    # the real panel is the reference column, by bin too, even when the holdout is not scored as a set
    assert stats["imputation_r2"]["reference"] == pytest.approx(result["r2"]["real"])
    for k, key in enumerate(("imputation_r2_maf_le1", "imputation_r2_maf_1to5", "imputation_r2_maf_gt5")):
        expected = result["r2_by_bin"]["shuffled"][k]
        assert stats[key]["values"]["shuffled"] == (None if np.isnan(expected) else pytest.approx(expected))
        real = result["r2_by_bin"]["real"][k]
        assert stats[key]["reference"] == (None if np.isnan(real) else pytest.approx(real))
    assert stats["imputation_r2_gap"]["values"]["shuffled"] == pytest.approx(
        result["r2"]["shuffled"] - result["r2"]["real"])
    assert stats["imputation_r2_gap"]["values"]["shuffled"] < -0.2  # no LD, no imputation
    assert stats["imputation_r2_combined_gain"]["values"]["shuffled"] == pytest.approx(
        result["r2"]["real+shuffled"] - result["r2"]["real"])
    assert any(note.startswith("Imputation with the real panel") for note in document["notes"])
    assert "Imputation r² by minor allele frequency" in Path(paths["report"]).read_text()


def test_imputation_is_opt_in_and_skipped_without_beagle(utility_registered, tiny):
    from haplogen.evaluation import evaluate

    real, holdout = tiny
    other = Haplotypes.from_matrix(real.matrix[::-1], real.sites, prefix="AG")
    ev = evaluate(real, {"other": other}, holdout=holdout, statistics=["allele_frequency"])
    assert "not among the statistics asked for" in ev.skipped["imputation"]
    ev = evaluate(real, {"other": other}, holdout=holdout, statistics=["allele_frequency", "imputation"],
                  options={"imputation": {"beagle": "/nonexistent/beagle"}})
    assert ev.skipped["imputation"].startswith("Imputation reference panel skipped: Beagle 5 cannot run: the program "
                                               "/nonexistent/beagle is not on the PATH; install it with 'apt-get")
    assert "imputation_r2" not in ev.metrics["other"]
