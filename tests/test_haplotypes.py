import numpy as np
import pytest

from haplogen import Haplotypes, InputError, Sites, read_labels


def test_from_matrix_pairs_rows_into_individuals():
    h = Haplotypes.from_matrix(np.array([[0, 1], [1, 1], [0, 0]], dtype=np.uint8))
    assert h.haplotype_sample.tolist() == ["AG0", "AG0", "AG1"]
    assert h.haplotype_id.tolist() == ["AG0_A", "AG0_B", "AG1_A"]
    assert h.n_samples == 2
    np.testing.assert_allclose(h.allele_frequency(), [1 / 3, 2 / 3])


def test_rejects_non_binary_alleles():
    with pytest.raises(InputError, match="must be 0 \\(REF\\) or 1 \\(ALT\\)"):
        Haplotypes.from_matrix(np.array([[0, 2]]))


def test_rejects_site_table_of_wrong_length():
    with pytest.raises(InputError, match="site table has 3 rows but the matrix has 2 columns"):
        Haplotypes(np.zeros((2, 2), np.uint8), Sites.generic(3), ["a", "a"], ["a_A", "a_B"])


def test_select_samples_keeps_both_haplotypes(sim_haplotypes):
    chosen = sim_haplotypes.samples[[0, 5]]
    sub = sim_haplotypes.select_samples(chosen)
    assert sub.n_haplotypes == 4
    assert set(sub.haplotype_sample) == set(chosen)
    assert sub.population is not None and sub.population.shape == (4,)


def test_labels_missing_is_an_error_unless_asked(tmp_path, sim_haplotypes):
    table = tmp_path / "samples.tsv"
    rows = [f"{s}\tPOP\tSUP" for s in sim_haplotypes.samples[1:]]
    table.write_text("sample\tpop\tsuper_pop\n" + "\n".join(rows) + "\n")
    labels = read_labels(table)
    with pytest.raises(InputError, match="1 of 300 individuals are not in the labels table"):
        sim_haplotypes.with_labels(labels)
    dropped = sim_haplotypes.with_labels(labels, on_missing="drop")
    assert dropped.n_haplotypes == sim_haplotypes.n_haplotypes - 2
    unknown = sim_haplotypes.with_labels(labels, on_missing="unknown")
    assert (unknown.population == "unknown").sum() == 2


def test_simulation_is_seeded(sim_haplotypes):
    from haplogen.simulate import SimulationConfig, simulate_haplotypes

    config = SimulationConfig(individuals_per_population=100, sequence_length=2_000_000, min_maf=0.01, max_sites=300)
    again = simulate_haplotypes(config, seed=7)
    assert np.array_equal(again.matrix, sim_haplotypes.matrix)
    assert np.array_equal(again.sites.position, sim_haplotypes.sites.position)
    assert sorted(set(again.super_population)) == ["AFR", "EAS", "EUR"]


def test_atomic_path_leaves_nothing_on_failure_and_uses_normal_permissions(tmp_path):
    import os

    from haplogen.provenance import atomic_path

    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_simulation_of_unlinked_chromosomes():
    from haplogen.simulate import SimulationConfig, simulate_haplotypes

    config = SimulationConfig(individuals_per_population=10, sequence_length=200_000, max_sites=30, n_chromosomes=3)
    h = simulate_haplotypes(config, seed=2)
    assert h.n_sites == 30 and h.n_haplotypes == 60
    assert h.sites.chrom.tolist() == ["1"] * 10 + ["2"] * 10 + ["3"] * 10
    for chrom in "123":
        assert np.all(np.diff(h.sites.position[h.sites.chrom == chrom]) > 0)
    # the chromosomes are independent simulations, not copies of one
    assert not np.array_equal(h.matrix[:, :10], h.matrix[:, 10:20])


def test_labels_round_trip(tmp_path, sim_haplotypes):
    from haplogen import write_labels

    write_labels(sim_haplotypes, tmp_path / "labels.tsv")
    labels = read_labels(tmp_path / "labels.tsv")
    assert len(labels) == sim_haplotypes.n_samples
    again = sim_haplotypes.with_labels(labels)
    assert np.array_equal(again.population, sim_haplotypes.population)
    assert np.array_equal(again.super_population, sim_haplotypes.super_population)


def test_median_spacing_is_the_median_gap_between_neighbours_on_one_chromosome():
    rng = np.random.default_rng(4)
    chrom = np.repeat(["1", "2", "X"], [30, 1, 25])
    position = np.concatenate([np.sort(rng.choice(10**6, 30, replace=False)), [5],
                               np.sort(rng.choice(10**7, 25, replace=False))]) + 1
    sites = Sites(chrom=chrom, position=position, id=["."] * 56, ref=["A"] * 56, alt=["T"] * 56)
    gaps = [position[i + 1] - position[i] for i in range(55) if chrom[i + 1] == chrom[i]]  # 29 + 24 pairs
    assert len(gaps) == 53
    assert sites.median_spacing() == pytest.approx(sorted(gaps)[26])
    # one site per chromosome, a single site, and the placeholder table: unknown
    assert Sites(chrom=["1", "2"], position=[10, 10], id=["."] * 2, ref=["A"] * 2, alt=["T"] * 2).median_spacing() is None
    assert sites.take([0]).median_spacing() is None
    assert Sites.generic(40).median_spacing() is None
