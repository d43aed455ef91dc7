import numpy as np
import pytest

from haplogen import InputError
from haplogen.split import Split, apply_split, read_split, split_individuals, write_split


def test_split_never_separates_the_two_haplotypes_of_an_individual(sim_haplotypes):
    split = split_individuals(sim_haplotypes, holdout_fraction=0.2, seed=3)
    train, holdout = apply_split(sim_haplotypes, split)
    assert not set(train.haplotype_sample) & set(holdout.haplotype_sample)
    assert train.n_haplotypes + holdout.n_haplotypes == sim_haplotypes.n_haplotypes
    # each individual contributes both of its haplotypes to its side
    _, counts = np.unique(holdout.haplotype_sample, return_counts=True)
    assert set(counts) == {2}


def test_split_is_seeded_and_stratified(sim_haplotypes):
    a = split_individuals(sim_haplotypes, holdout_fraction=0.2, seed=3)
    b = split_individuals(sim_haplotypes, holdout_fraction=0.2, seed=3)
    c = split_individuals(sim_haplotypes, holdout_fraction=0.2, seed=4)
    assert a == b and a != c
    _, holdout = apply_split(sim_haplotypes, a)
    pops, counts = np.unique(holdout.population, return_counts=True)
    # 100 individuals per population, 20% each: exactly 20 individuals = 40 haplotypes per population
    assert pops.tolist() == ["CEU", "CHB", "YRI"] and counts.tolist() == [40, 40, 40]


def test_split_round_trips_through_a_table(tmp_path, sim_haplotypes):
    split = split_individuals(sim_haplotypes, holdout_fraction=0.25, seed=1)
    path = tmp_path / "split.tsv"
    write_split(split, path, header_comment="test")
    assert read_split(path) == split


def test_split_table_errors(tmp_path, sim_haplotypes):
    bad = tmp_path / "bad.tsv"
    bad.write_text("sample\tset\nA\ttrain\nB\ttest\n")
    with pytest.raises(InputError, match="line 3: the set must be 'train' or 'holdout', found 'test'"):
        read_split(bad)
    with pytest.raises(InputError, match="individuals are on both sides"):
        Split(("A", "B"), ("B",))
    other = Split(("X",), ("Y",))
    with pytest.raises(InputError, match="300 individuals of the data are not in the split"):
        apply_split(sim_haplotypes, other)


def test_shared_split_file_matches_shared_data(shared_data):
    split = read_split(shared_data / "split.tsv")
    assert len(split.train) == 2002 and len(split.holdout) == 502
