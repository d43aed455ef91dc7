"""Statistics that scale: windowed LD against the slow all-pairs definition, and every block-wise
statistic on Dask against its in-memory counterpart on the same simulated data.

The references are the slow obvious versions: r² of each pair by ``np.corrcoef`` in a loop,
restricted to the window; and the in-memory statistics of :mod:`haplogen.metrics`, which
have their own tests against loops and scikit-allel. The block-wise path draws the same
pairs, triplets and subsamples from the same seeds and computes exact integer counts, so
its values must be equal, not close; only the PCA (a randomized SVD instead of
scikit-learn's solver) is compared with a tolerance. Most tests run on a ``LocalCluster`` of
2 thread workers (one per core of this machine); one runs process workers that read a Zarr
store themselves.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import three_sets

from haplogen.blockwise import (
    Blockwise,
    adversarial_accuracy,
    allele_frequency_comparison,
    exact_copies,
    ld_r2_columns,
    ld_window_comparison,
    nearest_neighbours,
    open_blockwise,
    pairwise_distance_comparison,
    pca_comparison,
    population_comparison,
    row_digests,
    site_counts,
    three_point_comparison,
)
from haplogen.errors import InputError
from haplogen.evaluation import evaluate
from haplogen.haplotypes import Haplotypes
from haplogen.metrics import aats as mem_aats
from haplogen.metrics import correlation as mem_corr
from haplogen.metrics import distance as mem_distance
from haplogen.metrics import frequency as mem_frequency
from haplogen.metrics import ld as mem_ld
from haplogen.metrics import pca as mem_pca
from haplogen.metrics import population as mem_population
from haplogen.privacy.audit import nearest_with_index, privacy_audit
from haplogen.statistics.ld import ld_pairs_mode



# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def sets(sim_haplotypes: Haplotypes) -> dict[str, Haplotypes]:
    """sim_haplotypes split by individual: real 150, synthetic 75, holdout 75 individuals."""
    return three_sets(sim_haplotypes, 3)


def slow_window_reference(x, y, chrom, position, window_sites, window_bp=None):
    """(u, v, distances) of the windowed pairs defined in both sets, by the textbook r² in loops."""

    def r2(m, i, j):
        a, b = m[:, i].astype(float), m[:, j].astype(float)
        if a.std() == 0 or b.std() == 0:
            return float("nan")
        return float(np.corrcoef(a, b)[0, 1] ** 2)

    u, v, dist, ux, dx = [], [], [], [], []
    n_sites = x.shape[1]
    for i in range(n_sites):
        for j in range(i + 1, min(i + window_sites, n_sites - 1) + 1):
            if chrom[j] != chrom[i]:
                break
            d = abs(int(position[j]) - int(position[i]))
            if window_bp is not None and d > window_bp:
                continue
            a, b = r2(x, i, j), r2(y, i, j)
            if not math.isnan(a):
                ux.append(a)
                dx.append(d)
            if not (math.isnan(a) or math.isnan(b)):
                u.append(a)
                v.append(b)
                dist.append(d)
    return np.array(u), np.array(v), np.array(dx), np.array(ux)


# ---------------------------------------------------------------------------- windowed LD, in memory
def test_windowed_ld_equals_the_all_pairs_definition_restricted_to_the_window():
    rng = np.random.default_rng(5)
    x = (rng.random((90, 70)) < 0.3).astype(np.uint8)
    y = (rng.random((60, 70)) < 0.35).astype(np.uint8)
    x[:, 4] = 0  # monomorphic in the real set
    y[:, 30] = 1  # monomorphic in the synthetic set
    chrom = np.array(["1"] * 40 + ["2"] * 30)
    position = np.concatenate([np.arange(40) * 150 + 10, np.arange(30) * 60 + 5])
    for window, window_bp, block in ((6, None, 7), (6, 500, 64), (1, None, 1), (25, None, 11)):
        out = mem_ld.ld_window_comparison(x, y, chrom, position, window_sites=window, window_bp=window_bp,
                                          block_size=block, row_chunk=17)
        u, v, _, _ = slow_window_reference(x, y, chrom, position, window, window_bp)
        assert out["n_pairs"] == u.size
        assert out["ld_r"] == pytest.approx(np.corrcoef(u, v)[0, 1], abs=1e-9)


def test_windowed_decay_is_the_mean_r2_of_the_windowed_pairs_per_bin():
    rng = np.random.default_rng(8)
    x = (rng.random((80, 50)) < 0.4).astype(np.uint8)
    chrom = np.array(["1"] * 50)
    position = np.cumsum(rng.integers(1, 400, size=50))
    out = mem_ld.ld_window_comparison(x, x, chrom, position, window_sites=9, n_bins=6, block_size=8)
    _, _, dist, r2 = slow_window_reference(x, x, chrom, position, 9)
    edges = out["decay_real"]["bin_edges"]
    assert edges[0] == max(1, dist[dist > 0].min()) and edges[-1] == pytest.approx(dist.max())
    index = np.clip(np.searchsorted(edges, dist, side="right") - 1, 0, 5)
    for b in range(6):
        inside = r2[index == b]
        assert out["decay_real"]["n_pairs"][b] == inside.size
        if inside.size:
            assert out["decay_real"]["mean_r2"][b] == pytest.approx(inside.mean(), abs=1e-9)
    assert out["ld_r"] == pytest.approx(1.0)


def test_a_window_as_wide_as_the_chromosome_gives_the_all_pairs_figure(sim_pair):
    real, syn = (h.matrix for h in sim_pair)
    chrom, position = sim_pair[0].sites.chrom, sim_pair[0].sites.position
    out = mem_ld.ld_window_comparison(real, syn, chrom, position, window_sites=real.shape[1], block_size=64)
    reference = mem_ld.ld_comparison(real, syn)
    assert out["n_pairs"] == reference["n_pairs"]
    assert out["ld_r"] == pytest.approx(reference["ld_r"], abs=1e-6)  # float32 r² in the all-pairs version


def test_windowed_ld_refuses_bad_settings():
    x = np.zeros((4, 5), dtype=np.uint8)
    with pytest.raises(InputError, match="window_sites must be at least 1, found 0"):
        mem_ld.ld_window_comparison(x, x, ["1"] * 5, range(5), window_sites=0)
    with pytest.raises(InputError, match="one entry per site \\(5\\)"):
        mem_ld.ld_window_comparison(x, x, ["1"] * 4, range(5))
    with pytest.raises(InputError, match="'auto', 'all' or 'window', found 'some'"):
        ld_pairs_mode(10, "some")


def test_ld_statistic_uses_all_pairs_when_small_and_the_window_when_large(sets, tmp_path):
    real, syn = sets["real"], sets["syn"]
    small = evaluate(real, {"syn": syn}, statistics=["ld"])
    assert small.provenance["parameters"]["ld_pairs"] == "all"
    assert small.metrics["syn"]["ld_r"] == pytest.approx(mem_ld.ld_comparison(real, syn)["ld_r"], abs=1e-12)
    assert any("over the pairs within 200 sites only: syn" in n for n in small.notes)
    large = evaluate(real, {"syn": syn}, statistics=["ld"], options={"ld": {"all_pairs_max_sites": 100,
                                                                            "pair_window": 30}})
    assert large.provenance["parameters"]["ld_pairs"] == "window"
    assert large.provenance["parameters"]["ld_pair_window"] == 30
    windowed = mem_ld.ld_window_comparison(real, syn, real.sites.chrom, real.sites.position, window_sites=30)
    assert large.metrics["syn"]["ld_r"] == pytest.approx(windowed["ld_r"], abs=1e-12)
    assert any("within 30 sites" in n and "more than 100" in n for n in large.notes)
    decay = large.results["ld"].result.decay
    assert set(decay) == {"real", "syn"}
    assert np.array_equal(decay["syn"]["n_pairs"], windowed["decay_syn"]["n_pairs"])
    assert ld_pairs_mode(10_000) == "all" and ld_pairs_mode(10_001) == "window"
    from haplogen.report import write_outputs

    paths = write_outputs(large, tmp_path)  # the report draws the windowed decay like the sampled one
    assert "LD decay" in paths["report"].read_text()
    assert json.loads(paths["metrics"].read_text())["provenance"]["parameters"]["ld_pairs"] == "window"


def test_audit_nearest_search_in_blocks_of_rows_and_sites_equals_the_full_matrix():
    rng = np.random.default_rng(2)
    a = (rng.random((37, 101)) < 0.3).astype(np.uint8)
    b = (rng.random((53, 101)) < 0.3).astype(np.uint8)
    b[10] = b[3]
    a[0] = b[3]  # a tie across blocks: the first row wins
    full = mem_distance.hamming_distances(a, b)
    query = np.arange(20)
    own = mem_distance.hamming_distances(b[query], b).astype(float)
    own[query, query] = np.inf
    for rows, sites in ((5, 7), (1024, 8192), (1, 1), (16, 50)):
        dist, index = nearest_with_index(a, b, block_size=rows, block_sites=sites)
        assert np.array_equal(dist, full.min(axis=1)) and np.array_equal(index, full.argmin(axis=1))
        dist, index = nearest_with_index(b[query], b, self_index=query, block_size=rows, block_sites=sites)
        assert np.array_equal(dist, own.min(axis=1)) and np.array_equal(index, own.argmin(axis=1))
    with pytest.raises(InputError, match="at least 1 reference haplotype, found 0"):
        nearest_with_index(a, b[:0])


# ---------------------------------------------------------------------------- block-wise = in memory
def test_blockwise_allele_frequencies_and_copies_equal_in_memory(sets, engine):
    real, syn = sets["real"].matrix, sets["syn"].matrix
    syn = np.concatenate([syn, real[[3, 9]]])  # two exact copies
    got = allele_frequency_comparison(real, syn, engine=engine)
    want = mem_frequency.allele_frequency_comparison(real, syn)
    for key in ("af_r", "af_rmse", "af_fixed", "af_lost"):
        assert got[key] == want[key]
    assert np.array_equal(got["syn_freq"], want["syn_freq"])
    assert np.array_equal(site_counts(real, engine=engine), real.sum(axis=0))
    copies = exact_copies(real, syn, engine=engine)
    reference = mem_distance.exact_copies(real, syn)
    assert copies["exact_copies"] == reference["exact_copies"] >= 2
    assert np.array_equal(copies["copy_index"], reference["copy_index"])
    digests = row_digests(real, engine=engine)
    assert len(digests) == real.shape[0] and len(set(digests)) == len({r.tobytes() for r in real})


def test_blockwise_windowed_ld_equals_in_memory(sets, engine):
    real, syn, hold = sets["real"], sets["syn"], sets["holdout"]
    chrom, position = real.sites.chrom, real.sites.position
    got = ld_window_comparison(real, {"syn": syn, "hold": hold}, chrom, position, window_sites=40, block_size=33,
                               engine=engine)
    for name, h in (("syn", syn), ("hold", hold)):
        want = mem_ld.ld_window_comparison(real.matrix, h.matrix, chrom, position, window_sites=40)
        assert got["comparisons"][name]["n_pairs"] == want["n_pairs"]
        assert got["comparisons"][name]["ld_r"] == pytest.approx(want["ld_r"], abs=1e-12)
        assert np.allclose(got["decay"][name]["mean_r2"], want["decay_syn"]["mean_r2"], atol=1e-12, equal_nan=True)
    window = np.arange(100, 140)
    assert np.array_equal(ld_r2_columns(real, window, engine=engine), mem_ld.ld_r2(real.matrix, window))


def test_blockwise_pairwise_and_three_point_use_the_same_draws(sets, engine):
    real, syn = sets["real"].matrix, sets["syn"].matrix
    got = pairwise_distance_comparison(real, syn, max_pairs=4000, seed=5, engine=engine)
    want = mem_distance.pairwise_distance_comparison(real, syn, max_pairs=4000, seed=5)
    assert got["subsampled"] and got["pairwise_w1"] == want["pairwise_w1"]
    for key in ("hist_real", "hist_syn", "hist_between"):
        assert np.array_equal(got[key], want[key])
    got = three_point_comparison(real, syn, n_triplets=400, seed=6, engine=engine)
    want = mem_corr.three_point_comparison(real, syn, n_triplets=400, seed=6)
    assert got["n_triplets"] == want["n_triplets"]
    for key, (rv, sv) in want["values"].items():
        assert np.allclose(got["values"][key][0], rv, atol=1e-12)
        assert np.allclose(got["values"][key][1], sv, atol=1e-12)
        assert got["three_point_r"][key] == pytest.approx(want["three_point_r"][key], abs=1e-9)


def test_blockwise_nearest_neighbours_and_aats_are_exact(sets, engine):
    real, syn = sets["real"].matrix, sets["syn"].matrix
    assert np.array_equal(nearest_neighbours(real, engine=engine), mem_distance.nearest_neighbour_distances(real))
    dist, index = nearest_neighbours(syn, real, return_index=True, engine=engine)
    want_dist, want_index = nearest_with_index(syn, real)
    assert np.array_equal(dist, want_dist) and np.array_equal(index, want_index)  # the first row on ties
    query = np.array([0, 5, 77, 299])
    dist, index = nearest_neighbours(real[query], real, self_index=query, return_index=True, engine=engine)
    want_dist, want_index = nearest_with_index(real[query], real, self_index=query)
    assert np.array_equal(dist, want_dist) and np.array_equal(index, want_index)
    got = adversarial_accuracy(real, syn, n_repeats=3, seed=2, engine=engine)
    want = mem_aats.adversarial_accuracy(real, syn, n_repeats=3, seed=2)
    for key in ("aats", "aa_truth", "aa_syn", "aats_strict", "aats_sd", "size", "n_repeats"):
        assert got[key] == want[key], key
    for key in ("d_rr", "d_rs", "d_ss", "d_sr"):
        assert np.array_equal(got[key], want[key]), key


def test_blockwise_pca_matches_scikit_learn(sets, engine):
    real, syn = sets["real"].matrix, sets["syn"].matrix
    got = pca_comparison(real, {"syn": syn}, seed=1, engine=engine)
    want = mem_pca.pca_comparison(real, {"syn": syn}, seed=1)
    assert got["real_coords"].shape == want["real_coords"].shape and not got["fit_subsampled"]
    for c in range(2):  # the two components the report draws and grades: same axes, same signs
        assert np.corrcoef(got["real_coords"][:, c], want["real_coords"][:, c])[0, 1] > 0.999
        assert np.corrcoef(got["syn_coords"]["syn"][:, c], want["syn_coords"]["syn"][:, c])[0, 1] > 0.999
        key = f"pc{c + 1}"
        assert got["w1"]["syn"][key] == pytest.approx(want["w1"]["syn"][key], rel=0.02)
    assert np.allclose(got["explained_variance_ratio"][:2], want["explained_variance_ratio"][:2], rtol=1e-3)


def test_blockwise_populations_equal_in_memory(sets, engine):
    real, syn = sets["real"], sets["syn"]
    got = population_comparison(real.matrix, real.population, syn.matrix, syn_pop=syn.population, engine=engine)
    want = mem_population.population_comparison(real.matrix, real.population, syn.matrix, syn_pop=syn.population)
    assert got["pop_af_r"] == want["pop_af_r"] and got["fst_r"] == want["fst_r"]
    assert np.array_equal(got["fst_syn"], want["fst_syn"], equal_nan=True)
    # unlabelled: assigned by nearest neighbours on the block-wise PCA, nearly always as in memory
    got = population_comparison(real.matrix, real.population, syn.matrix, engine=engine)
    want = mem_population.population_comparison(real.matrix, real.population, syn.matrix)
    assert np.mean(got["syn_labels"] == want["syn_labels"]) >= 0.98


def test_blockwise_privacy_audit_equals_in_memory(sets, engine):
    real, syn, hold = sets["real"].matrix, sets["syn"].matrix, sets["holdout"].matrix
    syn = np.concatenate([syn, real[:4]])  # memorised haplotypes: copies and near copies to find
    want = privacy_audit(real, hold, syn, n_repeats=2, seed=3, max_train_queries=100)
    got = privacy_audit(engine.array(real), engine.array(hold), engine.array(syn), n_repeats=2, seed=3,
                        max_train_queries=100, engine=engine)
    assert want["exact_copies_train"] >= 4
    for key, value in want.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(got[key], value), key
        else:
            assert got[key] == value, key


def test_evaluate_blockwise_gives_the_in_memory_metrics(sets, engine):
    real, syn, hold = sets["real"], sets["syn"], sets["holdout"]
    want = evaluate(real, {"syn": syn}, holdout=hold, aats_repeats=2, seed=1)
    got = evaluate(real, {"syn": syn}, holdout=hold, aats_repeats=2, seed=1, blockwise=engine)
    assert got.provenance["parameters"]["blockwise"] == "a local Dask cluster of 2 workers (threads)"
    assert want.provenance["parameters"]["blockwise"] is None
    assert set(got.metrics["syn"]) == set(want.metrics["syn"])
    for key, value in want.metrics["syn"].items():
        if key.startswith("pca_w1"):
            assert got.metrics["syn"][key] == pytest.approx(value, rel=0.02), key
        else:
            assert got.metrics["syn"][key] == pytest.approx(value, abs=1e-12, nan_ok=True), key


# ---------------------------------------------------------------------------- a store read by process workers
def test_process_workers_read_a_store_and_agree_with_memory(sets, tmp_path):
    from haplogen.io import StoreHaplotypes, import_vcf, write_vcf

    real, syn = sets["real"], sets["syn"]
    write_vcf(real, tmp_path / "real.vcf.gz")
    import_vcf(tmp_path / "real.vcf.gz", tmp_path / "real.vcz", variants_chunk_size=64, samples_chunk_size=40)
    store = StoreHaplotypes.open(tmp_path / "real.vcz")
    assert np.array_equal(store.load().matrix, real.matrix)
    with open_blockwise(n_workers=2, processes=True, memory_limit=None) as eng:
        assert eng.description == "a local Dask cluster of 2 workers (processes)"
        x = eng.array(store)
        assert len(x.chunks[1]) > 1  # the store's own chunks, read by the workers
        got = allele_frequency_comparison(store, syn, engine=eng)
        assert got["af_r"] == mem_frequency.allele_frequency_comparison(real.matrix, syn.matrix)["af_r"]
        dist, index = nearest_neighbours(syn, store, return_index=True, engine=eng)
        want = nearest_with_index(syn.matrix, real.matrix)
        assert np.array_equal(dist, want[0]) and np.array_equal(index, want[1])


# ---------------------------------------------------------------------------- the engine and the command line
def test_engine_wraps_inputs_once_and_refuses_a_vector():
    eng = Blockwise(chunk_bytes=1000)
    x = np.zeros((50, 300), dtype=np.uint8)
    a = eng.array(x)
    assert eng.array(x) is a and a.chunks == ((3,) * 16 + (2,), (300,))  # whole haplotypes, 900 bytes a block
    assert eng.rows_per_block(300) == 3 and eng.cols_per_block(50) == 20
    with pytest.raises(InputError, match="2-D matrix"):
        eng.array(np.zeros(5, dtype=np.uint8))


def test_cli_evaluate_blockwise_on_a_local_cluster(sets, tmp_path, capsys):
    from haplogen.cli import main
    from haplogen.io import write_vcf

    write_vcf(sets["real"], tmp_path / "real.vcf.gz")
    write_vcf(sets["syn"], tmp_path / "syn.vcf.gz")
    argv = ["evaluate", "--real", str(tmp_path / "real.vcf.gz"), "--synthetic", str(tmp_path / "syn.vcf.gz"),
            "--aats-repeats", "1", "--exclude", "pca", "population"]
    assert main([*argv, "-o", str(tmp_path / "mem")]) == 0
    assert main([*argv, "--blockwise", "on", "--workers", "2", "--memory-limit", "2GB",
                 "-o", str(tmp_path / "dask")]) == 0
    err = capsys.readouterr().err
    assert "statistics block by block on a local Dask cluster of 2 workers (threads)" in err
    mem = json.loads((tmp_path / "mem" / "metrics.json").read_text())
    dask = json.loads((tmp_path / "dask" / "metrics.json").read_text())
    assert dask["statistics"] == mem["statistics"]
    assert any("block by block on Dask arrays" in n for n in dask["notes"])


def test_evaluate_files_on_an_existing_cluster_by_its_address(sets, tmp_path):
    from distributed import LocalCluster

    from haplogen.api import evaluate_files
    from haplogen.io import write_vcf

    write_vcf(sets["real"], tmp_path / "real.vcf.gz")
    write_vcf(sets["syn"], tmp_path / "syn.vcf.gz")
    kept = ["allele_frequency", "ld", "aats"]
    with LocalCluster(n_workers=2, processes=False, dashboard_address=":0") as cluster:
        ev, _ = evaluate_files(tmp_path / "real.vcf.gz", [tmp_path / "syn.vcf.gz"], tmp_path / "remote",
                               statistics=kept, aats_repeats=1, scheduler=cluster.scheduler_address)
    assert ev.provenance["parameters"]["blockwise"] == f"the Dask scheduler at {cluster.scheduler_address}"
    local, _ = evaluate_files(tmp_path / "real.vcf.gz", [tmp_path / "syn.vcf.gz"], tmp_path / "local",
                              statistics=kept, aats_repeats=1)
    assert local.provenance["parameters"]["blockwise"] is None  # 300 sites: in memory unless asked
    assert ev.metrics == local.metrics


def test_cli_refuses_an_unreachable_scheduler_in_one_line(sets, tmp_path, capsys):
    from haplogen.cli import main
    from haplogen.io import write_vcf

    write_vcf(sets["real"], tmp_path / "real.vcf.gz")
    argv = ["evaluate", "--real", str(tmp_path / "real.vcf.gz"), "--synthetic", str(tmp_path / "real.vcf.gz"),
            "-o", str(tmp_path / "e")]
    assert main([*argv, "--scheduler", "tcp://127.0.0.1:9", "--statistics", "allele_frequency"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("haplogen: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert main([*argv, "--scheduler", "tcp://127.0.0.1:9", "--blockwise", "off"]) == 2
    assert "drop --scheduler or --blockwise off" in capsys.readouterr().err
    assert not (tmp_path / "e" / "report.html").exists()
