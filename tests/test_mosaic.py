"""The mosaic family (Li-Stephens copying model): its likelihood against slow obvious
computations, its sampler against its likelihood, its fitting against a grid, its populations,
its self-audit and its model files."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from haplogen.errors import ModelError
from haplogen.models import make_config
from haplogen.models.base import GenerativeModel
from haplogen.models.mosaic import Mosaic, _balanced_copying, _forward, _independent_copying, _smoothed


def brute_force_loglik(x: np.ndarray, donors: np.ndarray, switch: float, miscopy: float) -> float:
    """log p(x): the sum over every path of donors of its probability (N^L paths)."""
    n, L = donors.shape
    total = 0.0
    for path in itertools.product(range(n), repeat=L):
        p = 1.0 / n
        for l, d in enumerate(path):
            if l:
                p *= (1 - switch) * (d == path[l - 1]) + switch / n
            p *= (1 - miscopy) if donors[d, l] == x[l] else miscopy
        total += p
    return math.log(total)


def test_forward_equals_the_sum_over_every_copying_path():
    rng = np.random.default_rng(3)
    donors = rng.integers(0, 2, size=(3, 6), dtype=np.uint8)
    targets = rng.integers(0, 2, size=(4, 6), dtype=np.uint8)
    got = _forward(torch.from_numpy(targets).t().contiguous(), torch.from_numpy(donors).t().contiguous(), 0.2, 0.05)
    want = [brute_force_loglik(t, donors, 0.2, 0.05) for t in targets]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)


def small_data(seed: int = 0, n: int = 80, L: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Two populations of haplotypes drawn around two templates, with some LD."""
    rng = np.random.default_rng(seed)
    templates = rng.integers(0, 2, size=(2, 4, L), dtype=np.uint8)
    pops = np.repeat(["A", "B"], n // 2)
    x = np.empty((n, L), dtype=np.uint8)
    for i, p in enumerate(pops):
        t = templates[int(p == "B"), rng.integers(0, 4)]
        x[i] = t ^ (rng.random(L) < 0.1).astype(np.uint8)
    return x, pops


def fitted(x, pops=None, **settings) -> Mosaic:
    model = Mosaic(make_config("mosaic", {"epochs": 20, **settings}), x.shape[1])
    model.fit(x, seed=1, labels=pops)
    return model


@pytest.mark.parametrize("labelled", [True, False])
def test_the_likelihood_sums_to_one_over_every_haplotype(labelled):
    x, pops = small_data(L=7)
    model = fitted(x, pops if labelled else None)
    every = np.array(list(itertools.product([0, 1], repeat=7)), dtype=np.uint8)
    assert math.isclose(np.exp(model.log_likelihood(every)).sum(), 1.0, rel_tol=1e-4)
    if labelled:
        for p in ("A", "B"):
            assert math.isclose(np.exp(model.log_likelihood(every, labels=p)).sum(), 1.0, rel_tol=1e-4)


def test_samples_follow_the_likelihood_when_the_sampling_switch_is_the_fitted_one():
    x, pops = small_data(L=4)
    model = fitted(x, pops)
    model.rates[2] = model.rates[0]
    draws = model.sample(40_000, seed=2, labels="B")
    every = np.array(list(itertools.product([0, 1], repeat=4)), dtype=np.uint8)
    want = np.exp(model.log_likelihood(every, labels=["B"] * len(every)))
    codes = draws @ (1 << np.arange(3, -1, -1))
    got = np.bincount(codes, minlength=16) / len(draws)
    assert np.abs(got - want).max() < 0.01


def copying_paths(copying, codes, offsets, switch, L, seed=0) -> np.ndarray:
    """The donor of each haplotype (rows) at each site (columns)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.stack(list(copying(torch.tensor(codes), torch.tensor(offsets), switch, L, generator)), 1).numpy()


@pytest.mark.parametrize("wanted", [(20, 30), (5, 73), (60, 0)])
def test_balanced_copying_copies_every_donor_of_a_cell_as_often_as_any_other_at_every_site(wanted):
    offsets = [0, 20, 50]  # cell 0: donors 0-19, cell 1: donors 20-49
    codes = np.repeat([0, 1], wanted)
    rng = np.random.default_rng(1)
    codes = codes[rng.permutation(codes.size)]  # the cells' haplotypes interleaved
    path = copying_paths(_balanced_copying, codes, offsets, 0.05, 300)
    for c in (0, 1):
        mine = path[codes == c]
        if not mine.size:
            continue
        lo, hi = offsets[c], offsets[c + 1]
        assert ((mine >= lo) & (mine < hi)).all()
        for l in range(path.shape[1]):
            counts = np.bincount(mine[:, l] - lo, minlength=hi - lo)
            n = mine.shape[0]
            assert counts.max() - counts.min() <= 1 if n >= hi - lo else counts.max() <= 1
    # independent draws repeat donors at a site: 20 draws of 20 donors hold about 13 of them
    free = copying_paths(_independent_copying, np.zeros(20, dtype=int), [0, 20], 0.05, 300)
    assert np.mean([np.unique(free[:, l]).size for l in range(300)]) < 15


def test_balanced_copying_switches_as_often_as_independent_copying():
    codes = np.zeros(1000, dtype=int)
    for copying in (_balanced_copying, _independent_copying):
        path = copying_paths(copying, codes, [0, 800], 0.01, 400)
        switches = (path[:, 1:] != path[:, :-1]).mean()
        assert 0.009 < switches < 0.011, (copying.__name__, switches)
        # the segments' donors are spread over the cell: no donor dominates a haplotype
        assert np.median([np.unique(row).size for row in path]) >= 4


def test_a_population_copies_only_its_own_donors():
    x = np.zeros((40, 30), dtype=np.uint8)
    x[20:] = 1
    pops = np.repeat(["zeros", "ones"], 20)
    model = fitted(x, pops, sample_switch=0.5)
    assert float(model.rates[1]) < 0.01  # the donors are copied without error
    ones = model.sample(200, seed=1, labels="ones")
    zeros = model.sample(200, seed=1, labels="zeros")
    assert ones.mean() > 0.98 and zeros.mean() < 0.02


def test_without_labels_donor_groups_keep_an_ancestry_from_end_to_end():
    rng = np.random.default_rng(7)
    L = 60
    continents = rng.integers(0, 2, size=(2, L), dtype=np.uint8)
    x = np.vstack([continents[i // 100] ^ (rng.random(L) < 0.08).astype(np.uint8) for i in range(200)])
    grouped = fitted(x, sample_switch=0.2)
    assert grouped.cell_population.numel() >= 2  # the held-out likelihood chose groups
    tried = grouped.group_fit[grouped.group_fit[:, 0] > 0]
    assert tried[0, 0] == 1 and float(tried[:, 1].max()) > float(tried[0, 1])
    differ = continents[0] != continents[1]  # the sites that tell the continents apart
    share_a = (grouped.sample(300, seed=4)[:, differ] == continents[0][differ]).mean(axis=1)
    assert ((share_a > 0.65) | (share_a < 0.35)).all()  # never half one continent, half the other
    assert 0.3 < (share_a > 0.5).mean() < 0.7
    one = fitted(x, sample_switch=0.2, donor_groups=1)
    assert one.cell_population.numel() == 1
    share_a = (one.sample(300, seed=4)[:, differ] == continents[0][differ]).mean(axis=1)
    assert ((share_a > 0.35) & (share_a < 0.65)).mean() > 0.5  # one group: mosaics of both


def test_the_search_finds_the_best_point_of_a_grid():
    x, pops = small_data(seed=5, n=120, L=12)
    model = fitted(x, pops, epochs=40, validation_fraction=0.3)
    best = model._state["best"]
    grid = [model._fit_value(a, b) for a in np.linspace(-3, 0, 13) for b in np.linspace(-4, math.log10(0.2), 13)]
    assert best >= max(grid) - 0.02


def test_the_self_audit_takes_longer_segments_only_when_they_pass():
    x, pops = small_data(seed=2, n=160, L=40)
    strict = fitted(x, pops, privacy_margin=0.0)
    loose = fitted(x, pops, privacy_margin=0.5)
    fit_switch = float(strict.rates[0])
    assert math.isclose(float(loose.rates[2]), fit_switch)  # everything passes a margin of 0.5
    tried = strict.audit[strict.audit[:, 0] > 0]
    chosen = float(strict.rates[2])
    assert float(tried[-1, 0]) == 1.0 and chosen >= fit_switch  # every doubling up to 1 is audited
    smoothed = tried[:, 3:].numpy()
    np.testing.assert_allclose(smoothed, _smoothed(tried[:, 1:3].numpy()))
    k = int(np.flatnonzero(tried[:, 0].numpy() == chosen)[0])
    # every switch probability before the chosen one failed the smoothed audit; the chosen one
    # passed, or none did and it is the longest segments within the audit's noise of the least leaky
    assert all((row > 0.5 + 1e-12).any() for row in smoothed[:k])
    if not (smoothed[k] <= 0.5 + 1e-12).all():
        assert all((row > 0.5 + 1e-12).any() for row in smoothed)
        m = min(strict._state["val_rows"].numel(), strict.config.audit_haplotypes)
        noise = math.sqrt(0.25 / (m * strict.config.audit_repeats) * 0.375)
        leak = smoothed.max(axis=1)
        assert leak[k] <= leak.min() + noise and (leak[:k] > leak.min() + noise).all()

    by_hand = fitted(x, pops, sample_switch=0.25)
    assert float(by_hand.rates[2]) == 0.25 and not bool((by_hand.audit[:, 0] > 0).any())


def test_smoothing_weighs_each_figure_with_its_neighbours():
    f = np.array([[0.6, 0.5], [0.5, 0.5], [0.7, 0.4], [0.5, 0.6]])
    want = np.array([[(1.2 + 0.5) / 3, 0.5], [(0.6 + 1.0 + 0.7) / 4, (0.5 + 1.0 + 0.4) / 4],
                     [(0.5 + 1.4 + 0.5) / 4, (0.5 + 0.8 + 0.6) / 4], [(0.7 + 1.0) / 3, (0.4 + 1.2) / 3]])
    np.testing.assert_allclose(_smoothed(f), want)
    np.testing.assert_allclose(_smoothed(f[:1]), f[:1])


def test_a_model_file_with_other_donors_loads_and_a_broken_one_is_refused(tmp_path):
    x, pops = small_data()
    model = fitted(x[:60], pops[:60])
    model.save(tmp_path / "m.pt")
    again, _ = GenerativeModel.load(tmp_path / "m.pt")
    assert again.donors.shape == (60, x.shape[1])
    np.testing.assert_array_equal(again.sample(50, seed=3), model.sample(50, seed=3))
    payload = torch.load(tmp_path / "m.pt", weights_only=False)
    payload["weights"]["donor_offsets"] = torch.tensor([0, 70, 60])
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(ModelError, match="donor offsets"):
        GenerativeModel.load(tmp_path / "bad.pt")


def test_train_notes_say_what_the_self_audit_found_and_that_the_model_holds_the_data():
    x, pops = small_data(n=200, L=30)
    model = fitted(x, pops)
    switch = float(model.rates[2])

    def audit_note(closer: float, auc: float) -> str:
        model.audit.zero_()
        model.audit[0] = torch.tensor([switch, closer, auc, closer, auc], dtype=torch.float64)
        notes = model.training_notes()
        assert any("holds the training haplotypes" in n for n in notes)
        return next(n for n in notes if "self-audit" in n)

    assert audit_note(0.52, 0.50).startswith("the self-audit against the held-out individuals passed")
    within = audit_note(0.54, 0.50)
    assert "no switch probability passed" in within and "within haplogen evaluate's pass limits" in within
    assert "may leak" not in within
    beyond = audit_note(0.50, 0.60)
    assert "beyond haplogen evaluate's pass limits" in beyond and "may leak their donors" in beyond


def test_a_model_file_written_before_balanced_copying_draws_as_it_did(tmp_path):
    """A mosaic file without the balanced setting was made when mosaics were drawn one by one:
    it loads so, and draws the same haplotypes as a model set to balanced=false."""
    import json

    from haplogen.models import load_model

    x, pops = small_data(n=40, L=30)
    model = fitted(x, pops, sample_switch=0.1, balanced=False)
    path = tmp_path / "old.pt"
    model.save(path)
    payload = torch.load(path, weights_only=True)
    config = json.loads(payload["config"])
    del config["balanced"]  # as the haplogen of 2026-11-24 wrote it
    payload["config"] = json.dumps(config)
    torch.save(payload, path)
    assert make_config("mosaic", {}).balanced  # today's default differs
    loaded, _ = load_model(path)
    assert loaded.config.balanced is False
    np.testing.assert_array_equal(loaded.sample(60, seed=3, labels="A"), model.sample(60, seed=3, labels="A"))
    # the same file set to balanced draws other haplotypes (the setting is read, not ignored)
    payload["config"] = json.dumps({**config, "balanced": True})
    torch.save(payload, tmp_path / "new.pt")
    now, _ = load_model(tmp_path / "new.pt")
    assert now.config.balanced is True
    assert "without replacement" in now.training_notes()[0] and "independently" in loaded.training_notes()[0]
    assert not np.array_equal(now.sample(60, seed=3, labels="A"), model.sample(60, seed=3, labels="A"))
