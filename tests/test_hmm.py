"""The hmm family: its forward likelihood and EM statistics against enumeration of every hidden
path, its sampler against its likelihood, EM's ascent, recovery of a known chain, and conditioning
on population (the generic contract is in test_model_contract)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

import haplogen.models.hmm as hmm_module
from conftest import straight_and_resumed
from haplogen.errors import InputError, ModelError
from haplogen.models.hmm import HaplotypeHMM, HaplotypeHMMConfig, _Counts


def _random_model(n_sites=5, K=3, P=1, block_sites=2, segment_sites=2, seed=0, G=1, order=0,
                  window=1, switches=False) -> HaplotypeHMM:
    """A model with random (valid) parameters, no training; with G ancestry groups its jump
    matrices are zero between groups; with order 1 its emissions depend on the allele at a
    context site (the site before, or with ``window`` > 1 a random one of the ``window`` before);
    with order 2 also on the allele at a second context site, another random one of the window."""
    g = torch.Generator().manual_seed(seed)
    m = HaplotypeHMM(HaplotypeHMMConfig(n_states=K, block_sites=block_sites, segment_sites=segment_sites,
                                        n_groups=G, emission_order=order, context_window=window,
                                        population_offsets=P > 1, group_switches=switches), n_sites)
    if window > 1:
        back = [1 + int(torch.randint(min(window, l), (1,), generator=g)) for l in range(1, n_sites)]
        m.context_site = torch.tensor([-1] + [l - b for l, b in zip(range(1, n_sites), back)])
        if order == 2:
            others = [[c for c in range(max(0, l - window), l) if c != int(m.context_site[l])] for l in range(n_sites)]
            m.second_context_site = torch.tensor(
                [-1 if not o else o[int(torch.randint(len(o), (1,), generator=g))] for o in others])
    m.fitted = True
    m.start = torch.softmax(torch.randn(P, K, generator=g), 1)
    m.jump = 0.1 + 0.8 * torch.rand(n_sites - 1, generator=g)
    q = torch.softmax(2 * torch.randn(P, m.n_blocks, K, K, generator=g), -1)
    group = m.group_of_state()
    q = q * (group.view(-1, 1) == group.view(1, -1))
    m.jump_matrix = q / q.sum(-1, keepdim=True)
    m.emission = 0.05 + 0.9 * torch.rand(n_sites, K, *([2 ** order] if order else []), generator=g)
    # each population's offsets of the log-odds at each site (one population: none)
    m.population_offset = torch.randn(P, n_sites, generator=g) if P > 1 else torch.zeros(P, n_sites)
    # each population's probability that a jump leaves the group (group switches)
    m.switch = 0.1 + 0.6 * torch.rand(P, generator=g)
    return m


def _with_offset(m: HaplotypeHMM, p: int, l: int, alt: float) -> float:
    """P(ALT) of population p at site l from the pooled ``alt``, by the definition:
    σ(logit alt + δ_{p,l})."""
    if m.start.shape[0] == 1:
        return alt
    return 1.0 / (1.0 + math.exp(-(math.log(alt / (1 - alt)) + float(m.population_offset[p, l]))))


def _transition(m: HaplotypeHMM, p: int, l: int) -> np.ndarray:
    """The full K x K transition between site l and l + 1, by the definition."""
    K = m.config.n_states
    r = float(m.jump[l])
    q = m.jump_matrix[p, l // m.config.block_sites].double().numpy()
    if m.config.group_switches and m.config.n_groups > 1:  # a jump leaves the group with probability σ_p
        sigma = float(m.switch[p])
        q = (1 - sigma) * q + sigma * np.outer(np.ones(K), m.start[p].double().numpy())
    return (1 - r) * np.eye(K) + r * q


def _paths(m: HaplotypeHMM, h: np.ndarray, p: int):
    """(path, joint probability p(h, path)) for every hidden path: the slow obvious way."""
    K, L = m.config.n_states, m.n_sites
    start = m.start[p].double().numpy()
    th = m.emission.double().numpy()
    for path in itertools.product(range(K), repeat=L):
        prob = start[path[0]]
        for l in range(L):
            if l:
                prob *= _transition(m, p, l - 1)[path[l - 1], path[l]]
            # P(ALT) of the cluster, and with order-1 emissions of the allele before (0 at the first site)
            alt = th[l, path[l]] if th.ndim == 2 else th[l, path[l], _context_index(m, h, l)]
            alt = _with_offset(m, p, l, alt)
            prob *= alt if h[l] else 1 - alt
        yield path, prob


def _context_index(m: HaplotypeHMM, h: np.ndarray, l: int) -> int:
    """The column of site l's emission table that haplotype h uses: a + 2b, a the allele at the
    context site and b at the second (order 2), 0 for a context site that is none."""
    if m.config.emission_order == 0:
        return 0
    first, second = int(m.context_site[l]), int(m.second_context_site[l])
    a = int(h[first]) if first >= 0 else 0
    b = int(h[second]) if m.config.emission_order == 2 and second >= 0 else 0
    return a + 2 * b


def _all_haplotypes(n_sites):
    return np.array(list(itertools.product([0, 1], repeat=n_sites)), dtype=np.uint8)


def _cases(small: bool) -> list[tuple[int, int, int, int, int, bool]]:
    """(keep_bytes, K, G, order, window, switches) of the enumeration tests: segment checkpoints
    recomputed (0) and kept, one to three ancestry groups, emissions of order 0 to 2 with context
    windows of 1 to 4, and jumps that may switch groups; ``small``: fewer clusters (the paths of
    the statistics' test are enumerated more slowly)."""
    one, three = (2, 4) if small else (3, 6)
    return [(0, one, 1, 0, 1, False), (2**29, one, 1, 0, 1, False), (0, 4, 2, 0, 1, False),
            (2**29, three, 3 if not small else 2, 0, 1, False), (0, one, 1, 1, 1, False), (2**29, 4, 2, 1, 1, False),
            (0, one, 1, 1, 3, False), (2**29, 4, 2, 1, 4, False), (0, one, 1, 2, 2, False), (2**29, 4, 2, 2, 3, False),
            (0, 4, 2, 0, 1, True), (2**29, three, 3 if not small else 2, 2, 3, True)]


@pytest.mark.parametrize("keep_bytes,K,G,order,window,switches", _cases(small=False))
def test_forward_likelihood_equals_the_sum_over_every_hidden_path(monkeypatch, keep_bytes, K, G, order, window,
                                                                  switches):
    monkeypatch.setattr(hmm_module, "_KEEP_BYTES", keep_bytes)
    m = _random_model(K=K, G=G, order=order, window=window, switches=switches)
    hs = _all_haplotypes(m.n_sites)
    fast = m._estep(torch.from_numpy(hs).float(), 0, None).numpy()
    slow = np.array([math.log(sum(pr for _, pr in _paths(m, h, 0))) for h in hs])
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-5)
    # a distribution: the 2^L haplotypes' probabilities sum to one
    assert np.exp(fast).sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("keep_bytes,K,G,order,window,switches", _cases(small=True))
def test_expected_counts_equal_posterior_expectations_by_enumeration(monkeypatch, keep_bytes, K, G, order, window,
                                                                     switches):
    """The E-step's statistics against posteriors over every hidden path, with the segment
    checkpoints both recomputed (keep_bytes 0) and kept, with one ancestry group and with two
    (each group's recursion on its own, weighted by the group's posterior), with emissions of
    the cluster alone, of the cluster and the allele at a context site, and of the cluster and
    the alleles at two context sites (statistics split by them), and with jumps that may leave
    their group (each move split into a jump within the group and a switch)."""
    monkeypatch.setattr(hmm_module, "_KEEP_BYTES", keep_bytes)
    m = _random_model(n_sites=5, K=K, G=G, order=order, window=window, switches=switches)
    L = m.n_sites
    rng = np.random.default_rng(1)
    hs = rng.integers(0, 2, (6, L)).astype(np.uint8)
    contexts = 2 ** order
    counts = _Counts(1, L, K, m.n_blocks, torch.device("cpu"), contexts)
    m._estep(torch.from_numpy(hs).float(), 0, counts)
    occupancy = np.zeros((L, K, contexts))
    alt = np.zeros((L, K, contexts))
    first = np.zeros(K)
    jump_rows = np.zeros((m.n_blocks, K, K))
    jumps = np.zeros(L - 1)
    switch_to = np.zeros(K)
    sigma = float(m.switch[0]) if switches else 0.0
    start = m.start[0].double().numpy()
    for h in hs:
        paths = list(_paths(m, h, 0))
        total = sum(pr for _, pr in paths)
        for path, pr in paths:
            w = pr / total
            first[path[0]] += w
            for l in range(L):
                before = _context_index(m, h, l)
                occupancy[l, path[l], before] += w
                alt[l, path[l], before] += w * h[l]
                if l:
                    i, j = path[l - 1], path[l]
                    r = float(m.jump[l - 1])
                    q = m.jump_matrix[0, (l - 1) // m.config.block_sites].double().numpy()
                    # the share of the i -> j move that is a jump (a stay, i == j, may be either)
                    # within the group, and that is a switch drawn from the start distribution
                    t = _transition(m, 0, l - 1)[i, j]
                    jumped = 0.0 if t == 0 else r * (1 - sigma) * q[i, j] / t
                    switched = 0.0 if t == 0 else r * sigma * start[j] / t
                    jump_rows[(l - 1) // m.config.block_sites, i, j] += w * jumped
                    jumps[l - 1] += w * (jumped + switched)
                    switch_to[j] += w * switched
    np.testing.assert_allclose(counts.occupancy.numpy(), occupancy, atol=1e-5)
    np.testing.assert_allclose(counts.alt.numpy(), alt, atol=1e-5)
    np.testing.assert_allclose(counts.first[0].numpy(), first, atol=1e-5)
    np.testing.assert_allclose(counts.jump_rows[0].numpy(), jump_rows, atol=1e-5)
    np.testing.assert_allclose(counts.jumps.numpy(), jumps, atol=1e-5)
    np.testing.assert_allclose(counts.switch_to[0].numpy(), switch_to, atol=1e-5)


@pytest.mark.parametrize("order,window,K,G,switches", [
    (0, 1, 3, 1, False), (1, 1, 3, 1, False), (1, 3, 3, 1, False), (2, 3, 3, 1, False), (2, 3, 4, 2, True)])
def test_sampler_draws_haplotypes_with_the_model_probabilities(order, window, K, G, switches):
    m = _random_model(n_sites=4, K=K, P=2, order=order, window=window, G=G, switches=switches)
    m.populations, m.population_counts = ("A", "B"), (30, 10)
    hs = _all_haplotypes(4)
    codes = {tuple(h): i for i, h in enumerate(hs)}
    n = 40_000
    for pop in ("A", "B"):
        x = m.sample(n, seed=5, labels=pop)
        freq = np.bincount([codes[tuple(h)] for h in x], minlength=len(hs)) / n
        expected = np.exp(m.log_likelihood(hs, labels=[pop] * len(hs)))
        # total variation distance against the model's own probabilities
        assert 0.5 * np.abs(freq - expected).sum() < 0.02
    # the marginal sums over populations with their training shares
    marginal = np.exp(m.log_likelihood(hs))
    a, b = (np.exp(m.log_likelihood(hs, labels=[p] * len(hs))) for p in ("A", "B"))
    np.testing.assert_allclose(marginal, 0.75 * a + 0.25 * b, rtol=1e-5)
    # the populations' recursions run side by side: each equals its own
    side = m._loglik_every_population(torch.from_numpy(hs).float()).numpy()
    np.testing.assert_allclose(np.exp(side[:, 0]), a, rtol=1e-5)
    np.testing.assert_allclose(np.exp(side[:, 1]), b, rtol=1e-5)


@pytest.mark.parametrize("order,window,K,G,switches", [(0, 1, 3, 1, False), (2, 3, 4, 2, True)])
def test_sampling_at_a_temperature_draws_from_the_model_with_each_emissions_log_odds_divided_by_it(
        order, window, K, G, switches):
    m = _random_model(n_sites=4, K=K, P=1, order=order, window=window, G=G, switches=switches)
    T = 0.5
    hs = _all_haplotypes(4)
    codes = {tuple(h): i for i, h in enumerate(hs)}
    # the slow obvious reference: the same model with every emission tempered by hand
    cold = _random_model(n_sites=4, K=K, P=1, order=order, window=window, G=G, switches=switches)
    theta = m.emission.double().numpy()
    cold.emission = torch.from_numpy(theta ** (1 / T) / (theta ** (1 / T) + (1 - theta) ** (1 / T))).float()
    n = 40_000
    x = m.sample(n, seed=5, temperature=T)
    freq = np.bincount([codes[tuple(h)] for h in x], minlength=len(hs)) / n
    expected = np.exp(cold.log_likelihood(hs))
    assert 0.5 * np.abs(freq - expected).sum() < 0.02
    # ... which is not the model at temperature 1 (so the test sees the temperature)
    assert 0.5 * np.abs(freq - np.exp(m.log_likelihood(hs))).sum() > 0.05
    # temperature 1 is the model itself, draw for draw
    assert np.array_equal(m.sample(500, seed=3, temperature=1.0), m.sample(500, seed=3))
    with pytest.raises(InputError, match="finite number > 0"):
        m.sample(5, seed=3, temperature=0.0)


def _chain_data(n, L, seed, K=4):
    """Haplotypes from a known sticky chain: long shared segments (strong LD along the region)."""
    truth = _random_model(n_sites=L, K=K, block_sites=8, segment_sites=16, seed=seed)
    truth.jump = torch.full((L - 1,), 0.05)
    truth.emission = torch.where(torch.rand(L, K, generator=torch.Generator().manual_seed(seed)) < 0.5, 0.03, 0.97)
    return truth, truth.sample(n, seed=seed + 1)


def test_em_climbs_and_recovers_a_known_chain():
    truth, x = _chain_data(600, 40, seed=2)
    _, held = truth.sample(400, seed=9), None
    held = truth.sample(400, seed=9)
    model = HaplotypeHMM(HaplotypeHMMConfig(n_states=4, block_sites=8, epochs=25, patience=25,
                                            validation_fraction=0.1, batch_size=256), 40)
    train_nll = []
    model.fit(x, seed=0, progress=lambda p: train_nll.append(p.losses["nll_train"]))
    # EM with conjugate priors climbs (small slack for the priors and float32)
    assert all(b <= a + 1e-4 for a, b in zip(train_nll, train_nll[1:]))
    fitted = model.log_likelihood(held).mean()
    best = truth.log_likelihood(held).mean()
    independent = float(np.sum(np.log(np.where(held == 1, x.mean(0), 1 - x.mean(0))), 1).mean())
    # most of the way from independent sites to the true model (within 1 nat per haplotype)
    assert fitted > independent + 0.8 * (best - independent)
    assert fitted > best - 1.0


def test_population_labels_give_each_population_its_own_haplotypes():
    rng = np.random.default_rng(0)
    L = 12
    a = (rng.random((200, L)) < 0.15).astype(np.uint8)
    b = (rng.random((200, L)) < 0.85).astype(np.uint8)
    x = np.vstack([a, b])
    labels = np.array(["A"] * 200 + ["B"] * 200)
    model = HaplotypeHMM(HaplotypeHMMConfig(n_states=4, block_sites=4, epochs=10, batch_size=64), L)
    model.fit(x, seed=1, labels=labels)
    assert model.sample(500, seed=2, labels="A").mean() < 0.3
    assert model.sample(500, seed=2, labels="B").mean() > 0.7
    # the conditional likelihood prefers the right population
    ll_a = model.log_likelihood(a[:20], labels=["A"] * 20)
    ll_b = model.log_likelihood(a[:20], labels=["B"] * 20)
    assert np.all(ll_a > ll_b)


@pytest.mark.parametrize("order,window", [(0, 1), (2, 3)])
def test_population_offset_statistics_equal_posterior_expectations_by_enumeration(order, window):
    """The gradient and curvature of the expected log-likelihood in a population's offsets, as
    the E-step sums them, against posteriors over every hidden path: Σ w (x_l - θ') and
    Σ w θ' (1 - θ'), θ' the population's frequency of the path's cluster after the context."""
    m = _random_model(n_sites=5, K=3, P=2, order=order, window=window)
    L, K = m.n_sites, 3
    hs = np.random.default_rng(2).integers(0, 2, (6, L)).astype(np.uint8)
    counts = _Counts(2, L, K, m.n_blocks, torch.device("cpu"), 2 ** order)
    m._estep(torch.from_numpy(hs).float(), 1, counts)
    th = m.emission.double().numpy()
    grad, hess = np.zeros(L), np.zeros(L)
    for h in hs:
        paths = list(_paths(m, h, 1))
        total = sum(pr for _, pr in paths)
        for path, pr in paths:
            w = pr / total
            for l in range(L):
                alt = th[l, path[l]] if th.ndim == 2 else th[l, path[l], _context_index(m, h, l)]
                alt = _with_offset(m, 1, l, alt)
                grad[l] += w * (h[l] - alt)
                hess[l] += w * alt * (1 - alt)
    np.testing.assert_allclose(counts.offset_grad[1].numpy(), grad, atol=1e-5)
    np.testing.assert_allclose(counts.offset_hess[1].numpy(), hess, atol=1e-5)
    assert float(counts.offset_grad[0].abs().max()) == 0.0  # population 0 had no rows


def test_population_offsets_give_each_population_its_own_frequencies():
    """Two populations that share their haplotype clusters (the same mosaic of two ancestral
    haplotypes) but differ in their frequencies at a third of the sites, as two populations of
    one continent differ by drift: with offsets each population's sampled frequencies follow its
    own and its held-out haplotypes are likelier; without them, the mixing weights of the shared
    clusters cannot carry a difference at one site."""
    rng = np.random.default_rng(4)
    L, n = 30, 400
    founders = (rng.random((2, L)) < 0.5).astype(np.uint8)
    drift = np.zeros((2, L))
    shifted = rng.permutation(L)[: L // 3]
    drift[0, shifted], drift[1, shifted] = 0.35, -0.35

    def draw(pop: int, m: int, seed: int) -> np.ndarray:
        g = np.random.default_rng(seed)
        which = g.integers(0, 2, (m, 1))  # one ancestral haplotype for the whole length
        base = np.where(founders[which[:, 0]] == 1, 0.8, 0.2)
        return (g.random((m, L)) < np.clip(base + drift[pop], 0.02, 0.98)).astype(np.uint8)

    x = np.vstack([draw(0, n, 1), draw(1, n, 2)])
    labels = np.array(["A"] * n + ["B"] * n)
    held = np.vstack([draw(0, 200, 3), draw(1, 200, 4)])
    held_labels = ["A"] * 200 + ["B"] * 200
    truth = np.vstack([draw(0, 20000, 5).mean(0), draw(1, 20000, 6).mean(0)])
    results = {}
    for offsets in (True, False):
        model = HaplotypeHMM(HaplotypeHMMConfig(n_states=2, block_sites=8, epochs=20, patience=20, batch_size=256,
                                                emission_order=0, population_offsets=offsets), L)
        model.fit(x, seed=1, labels=labels)
        error = max(float(np.abs(model.sample(4000, seed=2, labels=p).mean(0) - truth[i])[shifted].mean())
                    for i, p in enumerate("AB"))
        results[offsets] = error, float(model.log_likelihood(held, labels=held_labels).mean())
    (error_on, ll_on), (error_off, ll_off) = results[True], results[False]
    assert error_on < 0.05 < error_off
    assert ll_on > ll_off + 1.0


def test_a_model_with_population_offsets_and_group_switches_saves_and_loads_them(tmp_path):
    from haplogen.models import load_model

    rng = np.random.default_rng(7)
    x = (rng.random((120, 10)) < np.repeat([[0.2], [0.7]], 60, axis=0)).astype(np.uint8)
    labels = np.array(["A"] * 60 + ["B"] * 60)
    model = HaplotypeHMM(HaplotypeHMMConfig(n_states=2, n_groups=2, block_sites=4, epochs=3, batch_size=32,
                                            population_offsets=True, group_switches=True), 10)
    model.fit(x, seed=1, labels=labels)
    assert float(model.population_offset.abs().max()) > 0.05
    model.save(tmp_path / "m.pt")
    loaded, _ = load_model(tmp_path / "m.pt")
    assert torch.equal(loaded.population_offset, model.population_offset)
    assert torch.equal(loaded.switch, model.switch) and loaded._switching
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload["weights"]["switch"] = torch.tensor([0.5, 1.5])
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(ModelError, match="group switch probabilities are not within 0 and 1"):
        load_model(tmp_path / "bad.pt")
    np.testing.assert_array_equal(loaded.sample(40, seed=3, labels="B"), model.sample(40, seed=3, labels="B"))
    np.testing.assert_allclose(loaded.log_likelihood(x[:20]), model.log_likelihood(x[:20]), rtol=1e-6)


def test_a_run_with_offsets_and_switches_resumes_exactly(tmp_path):
    """Stepwise EM with population offsets and group switches, stopped after one pass and resumed
    from its checkpoint, ends with the weights and samples of the run that was never stopped: the
    running statistics of the offsets and the switches are part of the checkpoint."""
    rng = np.random.default_rng(11)
    x = (rng.random((240, 16)) < np.repeat([[0.15], [0.85], [0.5]], 80, axis=0)).astype(np.uint8)
    labels = np.repeat(list("ABC"), 80)
    config = HaplotypeHMMConfig(n_states=4, n_groups=2, block_sites=4, epochs=3, patience=3, batch_size=32,
                                minibatch=64, population_offsets=True, group_switches=True)
    straight, resumed = straight_and_resumed(lambda: HaplotypeHMM(config, 16), x, labels, seed=2, first_epochs=1,
                                             checkpoint=tmp_path / "run.ckpt")
    for key, value in straight._weights().items():
        assert torch.equal(value, resumed._weights()[key]), key
    np.testing.assert_array_equal(straight.sample(20, seed=3, labels="C"), resumed.sample(20, seed=3, labels="C"))


def test_early_stopping_releases_the_best_validation_iteration():
    truth, x = _chain_data(300, 20, seed=4)
    model = HaplotypeHMM(HaplotypeHMMConfig(n_states=6, epochs=40, patience=2, batch_size=128), 20)
    summary = model.fit(x, seed=0)
    best = model._state["best_epoch"]
    assert summary.stopped_by == "early_stopping"
    assert summary.epochs_run == best + 2
    rows = model._state["val_rows"]
    assert model._mean_loglik(rows) == pytest.approx(model._state["best_val"], abs=1e-6)


def test_ancestry_groups_hold_a_haplotype_in_one_group_over_its_whole_length():
    """Two populations whose sites are independent given the population: with two ancestry
    groups every jump matrix is zero between the groups after EM, and each sampled haplotype
    keeps one population's frequencies over its whole length, as the real ones do."""
    from haplogen.errors import InputError

    rng = np.random.default_rng(3)
    L = 30
    a = (rng.random((300, L)) < 0.15).astype(np.uint8)
    b = (rng.random((300, L)) < 0.85).astype(np.uint8)
    x = np.vstack([a, b])[rng.permutation(600)]
    model = HaplotypeHMM(HaplotypeHMMConfig(n_states=4, n_groups=2, block_sites=8, epochs=15, batch_size=128,
                                            minibatch=0), L)
    model.fit(x, seed=1)
    group = model.group_of_state()
    assert group.tolist() == [0, 0, 1, 1]
    across = (group.view(-1, 1) != group.view(1, -1))
    assert float(model.jump_matrix[..., across].abs().max()) == 0.0  # EM keeps the zeros
    means = model.sample(2000, seed=2).mean(1)
    assert np.mean((means > 0.35) & (means < 0.65)) < 0.02  # no haplotype half A, half B
    assert 0.4 < np.mean(means > 0.5) < 0.6
    with pytest.raises(InputError, match=r"n_groups \(3\) must divide n_states \(4\)"):
        HaplotypeHMMConfig(n_states=4, n_groups=3)


def test_a_population_keeps_its_own_share_of_each_ancestry_group():
    """Two populations, each in its own ancestry group: the prior that draws a population's start
    toward the pooled one must not send its haplotypes to the other group (a prior spread as the
    pooled start would send population_prior / 150, about 3%, of A's haplotypes to B's group)."""
    rng = np.random.default_rng(5)
    L = 30
    x = np.vstack([(rng.random((150, L)) < 0.15), (rng.random((150, L)) < 0.85)]).astype(np.uint8)
    labels = np.array(["A"] * 150 + ["B"] * 150)
    model = HaplotypeHMM(HaplotypeHMMConfig(n_states=4, n_groups=2, block_sites=8, epochs=10, batch_size=128,
                                            population_prior=10.0), L)
    model.fit(x, seed=1, labels=labels)
    for pop, other_group in (("A", lambda m: m > 0.5), ("B", lambda m: m < 0.5)):
        assert np.mean(other_group(model.sample(4000, seed=2, labels=pop).mean(1))) < 0.005


def test_group_switches_make_admixed_haplotypes_mosaics_of_the_ancestries():
    """Populations A and B of two ancestries (sites independent given the ancestry) and C, whose
    haplotypes switch between the two ancestries every ten sites or so; one cluster per group.
    Held in one group, an artificial C haplotype is A or B from end to end; with group switches it is a mosaic whose
    ancestry proportions spread as the real ones do, its held-out haplotypes are likelier, and
    A and B keep (nearly) never switching."""
    rng = np.random.default_rng(8)
    L = 60

    def draw(pop: str, n: int, g: np.random.Generator) -> np.ndarray:
        if pop == "C":
            flips = g.random((n, L)) < 0.1
            ancestry = (np.cumsum(flips, 1) + g.integers(0, 2, (n, 1))) % 2
        else:
            ancestry = np.full((n, L), 0 if pop == "A" else 1)
        return (g.random((n, L)) < np.where(ancestry == 0, 0.15, 0.85)).astype(np.uint8)

    x = np.vstack([draw(p, 300, rng) for p in "ABC"])
    labels = np.repeat(list("ABC"), 300)
    held = draw("C", 300, np.random.default_rng(9))
    truth = draw("C", 3000, np.random.default_rng(10)).mean(1)
    results = {}
    for switches in (True, False):
        model = HaplotypeHMM(HaplotypeHMMConfig(n_states=2, n_groups=2, block_sites=8, epochs=15, patience=15,
                                                batch_size=256, emission_order=0, group_switches=switches), L)
        model.fit(x, seed=1, labels=labels)
        means = model.sample(3000, seed=2, labels="C").mean(1)
        middle = float(np.mean((means > 0.3) & (means < 0.7)))
        results[switches] = middle, float(model.log_likelihood(held, labels=["C"] * 300).mean()), model
    (mid_on, ll_on, on), (mid_off, ll_off, _) = results[True], results[False]
    assert mid_off < 0.15 and mid_on > 0.8 * float(np.mean((truth > 0.3) & (truth < 0.7)))
    assert ll_on > ll_off + 3.0
    codes = {p: i for i, p in enumerate(on.populations)}
    assert float(on.switch[codes["C"]]) > 0.3
    assert max(float(on.switch[codes["A"]]), float(on.switch[codes["B"]])) < 0.02


def test_each_group_is_normalised_on_its_own_over_a_long_haplotype():
    """One cluster per group, so that a group's likelihood is a product of Bernoullis: a haplotype
    that fits group 0 on its first 300 sites and group 1 on its last 300 has the mixture's
    likelihood exactly, and finite statistics, where a forward state normalised over both groups
    would have lost group 1 to underflow within the first sites."""
    L = 600
    m = _random_model(n_sites=L, K=2, G=2, block_sites=16, segment_sites=64)
    m.start = torch.tensor([[0.5, 0.5]])
    theta = torch.full((L, 2), 0.5)
    theta[:300, 0], theta[:300, 1] = 0.99, 0.01
    theta[300:, 0], theta[300:, 1] = 0.001, 0.995  # group 1 wins overall, by ~690 nats
    m.emission = theta
    h = np.ones((1, L), dtype=np.uint8)
    th = theta.double().numpy()
    ll = np.log(th).sum(0) + math.log(0.5)  # log p(x, group g): every allele is 1
    expected = np.logaddexp(ll[0], ll[1])
    counts = _Counts(1, L, 2, m.n_blocks, torch.device("cpu"))
    got = m._estep(torch.from_numpy(h), 0, counts)
    assert float(got[0]) == pytest.approx(expected, abs=1e-3)
    posterior_1 = math.exp(ll[1] - expected)
    np.testing.assert_allclose(counts.occupancy[..., 0].numpy(), np.tile([1 - posterior_1, posterior_1], (L, 1)),
                               atol=1e-5)
    assert torch.isfinite(counts.jump_rows).all() and counts.jump_rows[0, :, 0, 1].abs().max() == 0


def test_a_model_file_written_before_emission_order_loads_as_the_model_it_was(tmp_path):
    """A model file of an older haplogen has no emission_order in its configuration: it was made
    with emissions of the cluster alone and loads so (not with today's default), giving the same
    samples and likelihoods."""
    from haplogen.models import load_model

    truth, x = _chain_data(200, 12, seed=4)
    model = HaplotypeHMM(HaplotypeHMMConfig(n_states=4, block_sites=4, epochs=2, emission_order=0), 12)
    model.fit(x, seed=1)
    path = tmp_path / "old.pt"
    model.save(path)
    payload = torch.load(path, weights_only=True)
    config = json.loads(payload["config"])
    del config["emission_order"], config["context_prior"]  # as an older haplogen wrote it
    del config["population_offsets"], config["offset_prior"]
    payload["config"] = json.dumps(config)
    torch.save(payload, path)
    assert HaplotypeHMMConfig().emission_order != 0  # today's default differs
    loaded, _ = load_model(path)
    assert loaded.config.emission_order == 0 and loaded.emission.shape == (12, 4)
    assert loaded.config.population_offsets is False
    np.testing.assert_array_equal(loaded.sample(50, seed=3), model.sample(50, seed=3))
    np.testing.assert_allclose(loaded.log_likelihood(x[:20]), model.log_likelihood(x[:20]), rtol=1e-6)


def test_context_sites_are_the_predecessors_with_the_most_mutual_information():
    """Each site's context site against a slow pairwise computation with scikit-learn's mutual
    information, on haplotypes where site l copies a site up to 4 back with noise; without
    clusters and given clusters (conditional information)."""
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(7)
    n, L, W = 400, 30, 4
    x = np.zeros((n, L), dtype=np.uint8)
    x[:, 0] = rng.random(n) < 0.4
    for l in range(1, L):
        src = l - int(rng.integers(1, min(W, l) + 1))
        flip = rng.random(n) < rng.uniform(0.02, 0.4)
        x[:, l] = x[:, src] ^ flip
    m = HaplotypeHMM(HaplotypeHMMConfig(n_states=2, emission_order=1, context_window=W), L)
    got = m._choose_context_sites(torch.from_numpy(x)).tolist()
    expected = [-1]
    for l in range(1, L):
        scores = [mutual_info_score(x[:, l], x[:, l - d]) for d in range(1, min(W, l) + 1)]
        expected.append(l - 1 - int(np.argmax(np.round(scores, 12))))
    assert got == expected
    assert len(set(l - c for l, c in enumerate(got[1:], 1))) > 1  # not all the site before
    # given clusters (two windows of sites, each with its own clustering of the rows), the
    # information is conditional on the cluster: Σ_z p(z) I(x_l; x_c | z)
    windows = [(0, 12, torch.from_numpy(rng.integers(0, 3, n))), (12, L, torch.from_numpy(rng.integers(0, 2, n)))]
    got = m._choose_context_sites(torch.from_numpy(x), windows).tolist()
    expected = [-1]
    for l in range(1, L):
        z = next(assign for w0, w1, assign in windows if w0 <= l < w1).numpy()
        scores = [sum(np.mean(z == k) * mutual_info_score(x[z == k, l], x[z == k, l - d]) for k in np.unique(z))
                  for d in range(1, min(W, l) + 1)]
        expected.append(l - 1 - int(np.argmax(np.round(scores, 12))))
    assert got == expected


def test_a_model_file_with_context_sites_out_of_their_window_is_refused(tmp_path):
    from haplogen.errors import InputError, ModelError
    from haplogen.models import load_model

    _, x = _chain_data(200, 12, seed=4)
    model = HaplotypeHMM(HaplotypeHMMConfig(n_states=4, block_sites=4, epochs=2, context_window=3), 12)
    model.fit(x, seed=1)
    path = tmp_path / "model.pt"
    model.save(path)
    assert load_model(path)[0].context_site.tolist() == model.context_site.tolist()
    for bad in (6, 7, 2, -1):  # itself, after it, 4 sites back (window 3), none for a site that has one
        payload = torch.load(path, weights_only=True)
        payload["weights"]["context_site"][6] = bad
        torch.save(payload, tmp_path / "bad.pt")
        with pytest.raises(ModelError, match="context sites are not each 1 to 3 sites before"):
            load_model(tmp_path / "bad.pt")


def test_a_model_file_with_a_second_context_site_out_of_its_window_or_equal_to_the_first_is_refused(tmp_path):
    from haplogen.errors import InputError, ModelError
    from haplogen.models import load_model

    _, x = _chain_data(200, 12, seed=4)
    model = HaplotypeHMM(HaplotypeHMMConfig(n_states=4, block_sites=4, epochs=2, context_window=3,
                                            emission_order=2), 12)
    model.fit(x, seed=1)
    path = tmp_path / "model.pt"
    model.save(path)
    loaded = load_model(path)[0]
    assert loaded.second_context_site.tolist() == model.second_context_site.tolist()
    np.testing.assert_allclose(loaded.log_likelihood(x[:20]), model.log_likelihood(x[:20]), rtol=1e-6)
    first = int(model.context_site[6])
    for bad in (6, 7, 2, first):  # itself, after it, 4 back (window 3), the first context site
        payload = torch.load(path, weights_only=True)
        payload["weights"]["second_context_site"][6] = bad
        torch.save(payload, tmp_path / "bad.pt")
        with pytest.raises(ModelError, match="context sites are not each 1 to 3 sites before"):
            load_model(tmp_path / "bad.pt")
    payload = torch.load(path, weights_only=True)
    payload["weights"]["second_context_site"][6] = -1  # none: a site may have one context site only
    payload["weights"]["second_context_site"][1] = 0  # but the second site cannot have two
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(ModelError, match="context sites are not each 1 to 3 sites before"):
        load_model(tmp_path / "bad.pt")
    payload["weights"]["second_context_site"][1] = -1
    torch.save(payload, tmp_path / "good.pt")
    assert int(load_model(tmp_path / "good.pt")[0].second_context_site[6]) == -1


def test_emission_order_2_needs_a_window_of_two_sites():
    from haplogen.errors import InputError

    with pytest.raises(InputError, match="emission_order 2 needs two context sites.*context_window is 1"):
        HaplotypeHMMConfig(emission_order=2, context_window=1)


def test_second_context_sites_are_the_predecessors_with_the_most_information_given_the_first():
    """The second context site against a slow computation with scikit-learn's mutual information
    within each stratum of (cluster, allele at the first context site), on haplotypes where a
    site is the exclusive or of two earlier sites, with noise: neither tells anything alone, so
    the second context site is the first's partner."""
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(11)
    n, L, W = 600, 24, 4
    x = np.zeros((n, L), dtype=np.uint8)
    x[:, :2] = rng.random((n, 2)) < 0.5
    for l in range(2, L):
        a, b = rng.choice(np.arange(max(0, l - W), l), 2, replace=False)
        x[:, l] = x[:, a] ^ x[:, b] ^ (rng.random(n) < 0.05)
    m = HaplotypeHMM(HaplotypeHMMConfig(n_states=2, emission_order=2, context_window=W, context_significance=1), L)
    xt = torch.from_numpy(x)
    z = rng.integers(0, 2, n)
    windows = [(0, L, torch.from_numpy(z))]
    first = m._choose_context_sites(xt, windows)
    got = m._choose_context_sites(xt, windows, given=first).tolist()
    expected = [-1, -1]
    for l in range(2, L):
        c1 = int(first[l])
        scores = []
        for d in range(1, min(W, l) + 1):
            if l - d == c1:
                scores.append(-np.inf)
                continue
            total = 0.0
            for k in (0, 1):
                for a in (0, 1):
                    rows = (z == k) & (x[:, c1] == a)
                    if rows.any():
                        total += rows.mean() * mutual_info_score(x[rows, l], x[rows, l - d])
            scores.append(total)
        expected.append(l - 1 - int(np.argmax(np.round(scores, 12))))
    assert got == expected
    assert all(g != int(c) for g, c in zip(got[2:], first[2:]))


def test_emissions_of_order_2_learn_what_order_1_cannot():
    """Sites that are the exclusive or of the two before (with 3% noise): one context allele
    tells nothing, two tell almost all. With one cluster (no hidden state to carry the allele
    before), EM with order-2 emissions gets within a nat of the true held-out log-likelihood;
    order 1 stays near independent coin flips."""
    rng = np.random.default_rng(5)
    L, n = 16, 1600
    x = np.zeros((n, L), dtype=np.uint8)
    x[:, :2] = rng.random((n, 2)) < 0.5
    for l in range(2, L):
        x[:, l] = x[:, l - 1] ^ x[:, l - 2] ^ (rng.random(n) < 0.03)
    train, held = x[:1200], x[1200:]
    true = 2 * math.log(0.5) + (L - 2) * (0.97 * math.log(0.97) + 0.03 * math.log(0.03))
    fitted = {}
    for order in (1, 2):
        model = HaplotypeHMM(HaplotypeHMMConfig(n_states=1, block_sites=4, epochs=10, emission_order=order,
                                                context_window=2, batch_size=256), L)
        model.fit(train, seed=1)
        fitted[order] = float(model.log_likelihood(held).mean())
    assert fitted[2] > true - 1.0
    assert fitted[1] < L * math.log(0.5) + 1.0


def test_a_second_context_site_is_kept_only_where_it_passes_the_test_of_independence():
    """Sites that are the (inclusive) or of two earlier sites keep a second context site; sites
    that copy one earlier site (with noise) have nothing more to learn from a second and get none
    (-1), so their four frequencies are not fitted to noise; with context_significance 1 every
    site keeps one."""
    rng = np.random.default_rng(3)
    n, L, W = 800, 40, 4
    x = np.zeros((n, L), dtype=np.uint8)
    x[:, :2] = rng.random((n, 2)) < 0.5
    pair = np.zeros(L, dtype=bool)
    for l in range(2, L):
        a, b = rng.choice(np.arange(max(0, l - W), l), 2, replace=False)
        pair[l] = l % 2 == 1
        x[:, l] = (x[:, a] | x[:, b] if pair[l] else x[:, a]) ^ (rng.random(n) < 0.05)
    xt = torch.from_numpy(x)
    got = {}
    for level in (0.001, 1.0):
        m = HaplotypeHMM(HaplotypeHMMConfig(n_states=1, emission_order=2, context_window=W,
                                            context_significance=level), L)
        first = m._choose_context_sites(xt)
        got[level] = np.array(m._choose_context_sites(xt, given=first).tolist())
    assert np.all(got[0.001][2:][pair[2:]] >= 0)
    assert np.all(got[0.001][2:][~pair[2:]] == -1)
    assert np.all(got[1.0][2:] >= 0)


def test_from_a_thousand_training_haplotypes_hmm_takes_32_clusters_in_4_groups_unless_told(tmp_path):
    """The family's choice from the size of the data: 32 clusters in 4 ancestry groups from
    GROUPED_FROM training haplotypes on, 16 in one below, and never over a setting the user made;
    the choice is the model's configuration and is recorded in its provenance."""
    import haplogen
    from haplogen.models import load_model

    assert HaplotypeHMM.data_settings(hmm_module.GROUPED_FROM, 50, set()) == {"n_states": 32, "n_groups": 4}
    assert HaplotypeHMM.data_settings(hmm_module.GROUPED_FROM - 1, 50, set()) == {}
    assert HaplotypeHMM.data_settings(5000, 50, {"n_states"}) == {}
    assert HaplotypeHMM.data_settings(5000, 50, {"n_groups"}) == {}
    # a densely typed region (neighbouring SNPs a few hundred bp apart) takes more clusters
    dense = hmm_module.DENSE_SPACING
    # ... with 25 training haplotypes or more per cluster (fewer overfit the donors): 32 in 4 below
    # 1,200, 48 in 3 from there, 96 in 3 from 2,400
    assert HaplotypeHMM.data_settings(1199, 50, set(), median_spacing=dense) == {"n_states": 32, "n_groups": 4}
    assert HaplotypeHMM.data_settings(1200, 50, set(), median_spacing=dense) == {"n_states": 48, "n_groups": 3}
    assert HaplotypeHMM.data_settings(2399, 50, set(), median_spacing=dense) == {"n_states": 48, "n_groups": 3}
    assert HaplotypeHMM.data_settings(2400, 50, set(), median_spacing=291) == {"n_states": 96, "n_groups": 3}
    assert HaplotypeHMM.data_settings(3599, 50, set(), median_spacing=291) == {"n_states": 96, "n_groups": 3}
    assert HaplotypeHMM.data_settings(3600, 50, set(), median_spacing=dense) == {"n_states": 144, "n_groups": 3}
    assert HaplotypeHMM.data_settings(100_000, 50, set(), median_spacing=1) == {"n_states": 144, "n_groups": 3}
    assert HaplotypeHMM.data_settings(100_000, 50, set(), median_spacing=dense + 1) == {"n_states": 32, "n_groups": 4}
    assert HaplotypeHMM.data_settings(hmm_module.GROUPED_FROM, 50, set(), median_spacing=dense + 1) == {
        "n_states": 32, "n_groups": 4}
    assert HaplotypeHMM.data_settings(hmm_module.GROUPED_FROM - 1, 50, set(), median_spacing=400) == {}
    assert HaplotypeHMM.data_settings(5000, 50, {"n_states"}, median_spacing=400) == {}
    _, x = _chain_data(hmm_module.GROUPED_FROM, 8, seed=3)
    h = haplogen.Haplotypes.from_matrix(x)
    record = haplogen.train(h, model="hmm", out_dir=tmp_path / "auto", seed=1, epochs=1)
    model, _ = load_model(tmp_path / "auto" / "model.pt")
    assert (model.config.n_states, model.config.n_groups) == (32, 4)
    assert record["parameters"]["chosen_from_data"] == {"n_states": 32, "n_groups": 4}
    record = haplogen.train(h, model="hmm", out_dir=tmp_path / "told", seed=1, epochs=1, overrides={"n_states": 8})
    model, _ = load_model(tmp_path / "told" / "model.pt")
    assert (model.config.n_states, model.config.n_groups) == (8, 1)
    assert record["parameters"]["chosen_from_data"] == {}
    # 1,200 haplotypes on SNPs 300 bp apart: a dense region
    sites = haplogen.Sites(chrom=["1"] * 8, position=np.arange(1, 9) * 300, id=["."] * 8, ref=["A"] * 8,
                           alt=["C"] * 8)
    _, dense_x = _chain_data(1200, 8, seed=3)
    record = haplogen.train(haplogen.Haplotypes.from_matrix(dense_x, sites), model="hmm",
                            out_dir=tmp_path / "dense", seed=1, epochs=1)
    assert record["parameters"]["chosen_from_data"] == {"n_states": 48, "n_groups": 3}
    small = haplogen.Haplotypes.from_matrix(x[: hmm_module.GROUPED_FROM - 2])
    haplogen.train(small, model="hmm", out_dir=tmp_path / "small", seed=1, epochs=1)
    model, _ = load_model(tmp_path / "small" / "model.pt")
    assert (model.config.n_states, model.config.n_groups) == (16, 1)
