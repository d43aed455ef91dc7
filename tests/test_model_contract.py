"""The contract every model family keeps, run over every family the registry finds.

A new family file under ``haplogen/models/`` is tested here without any edit: each test is
parametrised over :func:`haplogen.models.registry.family_names`, trains on a tiny slice of the
simulated fixture with the family's own ``TEST_SETTINGS`` (a few epochs, small layers), and
checks what a user relies on: sampling, determinism, save/load, exact resume, ``--set``
conversions, refusal of bad settings, labels, and refusal of corrupt or hostile model files.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
import typing

import numpy as np
import pytest
import torch

from haplogen.errors import InputError, ModelError
from haplogen.models import load_model
from haplogen.models.config import Range, _unwrap, field_types, format_value, parse_overrides
from haplogen.models.registry import describe_families, family_module, family_names, get_family, make_config
from haplogen.models.training import TrainingDiverged, read_checkpoint

FAMILIES = family_names()
N_SITES = 40


@pytest.fixture(scope="module")
def tiny(sim_haplotypes) -> tuple[np.ndarray, np.ndarray]:
    """120 haplotypes drawn across the three populations x the first 40 sites, and their labels."""
    rows = np.sort(np.random.default_rng(5).choice(sim_haplotypes.n_haplotypes, 120, replace=False))
    h = sim_haplotypes.take(rows).take_sites(slice(0, N_SITES))
    return h.matrix, np.asarray(h.population)


def _settings(family: str) -> dict:
    return dict(family_module(family).TEST_SETTINGS)


def _new(family: str, **overrides):
    cls = get_family(family)
    return cls(make_config(family, {**_settings(family), **overrides}), N_SITES)


def _labels(model, tiny) -> np.ndarray | None:
    return tiny[1] if model.conditional else None


def _fit(model, tiny, *, seed: int = 1, **kwargs):
    return model.fit(tiny[0], seed=seed, labels=_labels(model, tiny), **kwargs)


def _assert_same_weights(a, b) -> None:
    wa, wb = a._weights(), b._weights()
    assert set(wa) == set(wb)
    for key, value in wa.items():
        assert torch.equal(value, wb[key]), key


def test_the_command_line_lists_the_families_without_importing_torch():
    code = (
        "import sys, haplogen.cli\n"
        "parser = haplogen.cli.build_parser()\n"
        "train = parser._subparsers._group_actions[0].choices['train']\n"
        "model = next(a for a in train._actions if a.dest == 'model')\n"
        "print(','.join(model.choices)); print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    choices, torch_loaded = result.stdout.split()
    assert choices.split(",") == FAMILIES
    assert torch_loaded == "False"


@pytest.mark.parametrize("family", FAMILIES)
def test_train_help_lists_every_setting_of_the_family_with_its_default(family):
    """The settings that `train --help` reads from the family file (no torch) against the
    configuration class itself: the same names, each default as written evaluating to the
    dataclass default (epochs and device, when the family does not redeclare them, are
    ModelConfig's)."""
    from haplogen.cli import build_parser
    from haplogen.models.registry import families

    listed = dict(families()[family].settings)
    config = get_family(family).Config
    own = {f.name: f.default for f in dataclasses.fields(config)
           if f.name not in ("epochs", "device") or f.name in listed}
    assert set(listed) == set(own)
    for name, text in listed.items():
        assert eval(text, {}) == own[name], name  # a literal as written in the file, e.g. 2**25
    listed = list(listed.items())
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    shown = " ".join(train.format_help().split())
    for name, text in listed:
        if name != "epochs":
            assert f"{name}={text}" in shown, name


@pytest.mark.parametrize("family", FAMILIES)
def test_family_file_declares_the_contract(family):
    module = family_module(family)
    cls = get_family(family)
    assert module.FAMILY == family and cls.name == family and cls.__module__ == module.__name__
    assert describe_families()[family].strip(), "the module docstring's first line describes the family"
    settings = module.TEST_SETTINGS
    assert isinstance(settings, dict) and set(settings) <= set(field_types(cls.Config))
    # the resume test stops after 1 epoch and continues: the small settings need at least 2
    assert cls.Config(**settings).epochs >= 2
    assert cls.Config().epochs > 0 and cls.Config().device == "cpu"


@pytest.mark.parametrize("family", FAMILIES)
def test_fit_then_sample_shape_dtype_and_values(family, tiny):
    model = _new(family)
    summary = _fit(model, tiny)
    assert summary.epochs_run == model.config.epochs and summary.stopped_by == "epochs"
    assert all(math.isfinite(v) for v in summary.final_losses.values())
    s = model.sample(50, seed=3, batch_size=16)
    assert s.shape == (50, N_SITES) and s.dtype == np.uint8
    assert set(np.unique(s)) <= {0, 1}
    assert model.sample(0, seed=3).shape == (0, N_SITES)


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_model_and_sample(family, tiny):
    a, b, c = _new(family), _new(family), _new(family)
    _fit(a, tiny, seed=5)
    _fit(b, tiny, seed=5)
    _fit(c, tiny, seed=6)
    _assert_same_weights(a, b)
    assert any(not torch.equal(v, c._weights()[k]) for k, v in a._weights().items())
    assert np.array_equal(a.sample(40, seed=1), b.sample(40, seed=1))
    assert not np.array_equal(a.sample(40, seed=1), a.sample(40, seed=2))


@pytest.mark.parametrize("family", FAMILIES)
def test_save_load_round_trip_gives_identical_samples(family, tiny, tmp_path):
    model = _new(family)
    _fit(model, tiny)
    path = tmp_path / "model.pt"
    model.save(path, extra={"note": [1, 2]})
    for loader in (load_model, type(model).load):
        loaded, extra = loader(path)
        assert type(loaded) is type(model) and extra == {"note": [1, 2]}
        assert loaded.config == model.config and loaded.n_sites == N_SITES
        assert loaded.epochs_trained == model.epochs_trained and loaded.populations == model.populations
        _assert_same_weights(loaded, model)
        assert np.array_equal(loaded.sample(30, seed=4), model.sample(30, seed=4))


@pytest.mark.parametrize("family", FAMILIES)
def test_stop_and_resume_equals_an_uninterrupted_run(family, tiny, tmp_path):
    straight = _new(family)
    _fit(straight, tiny, seed=2)
    ckpt = tmp_path / "run.ckpt"
    _fit(_new(family), tiny, seed=2, epochs=1, checkpoint_path=ckpt)
    resumed = _new(family)
    summary = _fit(resumed, tiny, seed=2, checkpoint_path=ckpt, resume=True)
    assert summary.resumed_from_epoch == 1 and summary.epochs_run == straight.epochs_trained
    _assert_same_weights(straight, resumed)
    assert np.array_equal(straight.sample(20, seed=3), resumed.sample(20, seed=3))
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("family", FAMILIES)
def test_every_setting_round_trips_through_set(family):
    cls = get_family(family).Config
    types = field_types(cls)
    for config in (cls(), cls(**_settings(family))):
        for name, kind in types.items():
            value = getattr(config, name)
            text = format_value(value, kind)
            parsed = parse_overrides([f"{name}={text}"], cls)[name]
            assert parsed == value and type(parsed) is type(value), (name, text, parsed)
        items = [f"{name}={format_value(getattr(config, name), kind)}" for name, kind in types.items()]
        assert cls(**parse_overrides(items, cls)) == config


def _outside(r: Range, kind: type) -> list:
    """Values just outside the bounds of ``r`` for a field of type ``kind``."""
    step = 1 if kind is int else 1e-6
    values = []
    if r.ge is not None:
        values.append(kind(r.ge - step))
    if r.gt is not None:
        values.append(kind(r.gt))
    if r.le is not None:
        values.append(kind(r.le + step))
    if r.lt is not None:
        values.append(kind(r.lt))
    return values


@pytest.mark.parametrize("family", FAMILIES)
def test_bad_settings_are_refused_naming_the_setting(family):
    cls = get_family(family).Config
    with pytest.raises(InputError, match="has no setting 'no_such_setting'; known settings: "):
        make_config(family, {"no_such_setting": 1})
    with pytest.raises(InputError, match="has no setting 'no_such_setting'"):
        parse_overrides(["no_such_setting=1"], cls)
    with pytest.raises(InputError, match="setting epochs must be an integer >= 0, found -1"):
        make_config(family, {"epochs": -1})
    with pytest.raises(InputError, match="setting device must be 'cpu', 'cuda' or 'cuda:N', found 'tpu'"):
        make_config(family, {"device": "tpu"})
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="'cuda' was asked for but torch finds no CUDA GPU"):
            make_config(family, {"device": "cuda"})
    checked = 0
    for name, kind in field_types(cls).items():
        bare, ranges = _unwrap(kind)
        # a value of the wrong type, in Python and on the command line
        with pytest.raises(InputError, match=f"setting {name} must be "):
            cls(**{name: object()})
        if bare is not str:
            with pytest.raises(InputError, match=f"--set {name} expects "):
                parse_overrides([f"{name}=not-a-value"], cls)
        if bare is float and all(r.finite for r in ranges):
            for text in ("nan", "inf", "-inf"):
                with pytest.raises(InputError, match=f"--set {name} expects"):
                    parse_overrides([f"{name}={text}"], cls)
            with pytest.raises(InputError, match=f"setting {name} must be"):
                cls(**{name: float("nan")})
        for r in ranges:
            for value in _outside(r, bare):
                with pytest.raises(InputError, match=f"setting {name} must be .*found {value!r}"):
                    make_config(family, {name: value})
                with pytest.raises(InputError, match=f"--set {name} expects"):
                    parse_overrides([f"{name}={format_value(value, bare)}"], cls)
                checked += 1
        if typing.get_origin(bare) is typing.Literal:
            with pytest.raises(InputError, match=f"--set {name} expects one of .*found 'no-such-choice'"):
                parse_overrides([f"{name}=no-such-choice"], cls)
            checked += 1
    assert checked > 0, "declare the bounds of the family's settings (Range, PositiveInt, ...)"
    with pytest.raises(InputError, match=f"unknown model family 'no-such-family'; choose one of {', '.join(FAMILIES)}"):
        make_config("no-such-family")


@pytest.mark.parametrize("family", FAMILIES)
def test_labels_are_refused_or_used(family, tiny):
    x, pops = tiny
    model = _new(family)
    if not model.conditional:
        with pytest.raises(InputError, match=f"the {family} family is not conditional on population; .* or drop --labels"):
            model.fit(x, seed=1, labels=pops)
        model.fit(x, seed=1)
        with pytest.raises(InputError, match="not conditional on population"):
            model.sample(5, seed=1, labels=pops[:5])
        return
    # without labels a conditional family learns p(haplotype), and refuses to sample by population
    model.fit(x, seed=1)
    assert model.populations is None
    assert model.sample(4, seed=2).shape == (4, N_SITES)
    with pytest.raises(InputError, match="trained without population labels, so it cannot sample by population"):
        model.sample(3, seed=2, labels=pops[:3])
    model = _new(family)
    with pytest.raises(InputError, match="one population label per haplotype: expected a 1-d sequence of 120"):
        model.fit(x, seed=1, labels=pops[:-1])
    model.fit(x, seed=1, labels=pops)
    known = tuple(sorted(set(pops)))
    assert model.populations == known
    assert sum(model.population_counts) == len(pops)
    wanted = np.array([known[i % len(known)] for i in range(30)])
    assert model.sample(30, seed=2, labels=wanted).shape == (30, N_SITES)
    assert model.sample(7, seed=2, labels=known[0]).shape == (7, N_SITES)
    assert model.sample(30, seed=2).shape == (30, N_SITES)  # populations drawn in training proportions
    with pytest.raises(InputError, match=f"not trained on the population 'XYZ'; it knows {', '.join(known)}"):
        model.sample(3, seed=2, labels=["XYZ", known[0], known[0]])


def _corrupt(path, tmp_path, change):
    payload = torch.load(path, weights_only=True)
    change(payload)
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)
    return bad


def _first_float_weight(payload) -> str:
    return next(k for k, v in payload["weights"].items() if v.is_floating_point())


@pytest.mark.parametrize("family", FAMILIES)
def test_model_files_with_nonfinite_weights_are_refused(family, tiny, tmp_path):
    model = _new(family)
    ckpt = tmp_path / "run.ckpt"
    _fit(model, tiny, epochs=1, checkpoint_path=ckpt)
    for value in (float("nan"), float("inf")):

        def poison(payload, value=value):
            payload["weights"][_first_float_weight(payload)].view(-1)[0] = value

        bad = _corrupt(ckpt, tmp_path, poison)
        with pytest.raises(ModelError, match="holds non-finite values .* in the weight"):
            load_model(bad)
        with pytest.raises(ModelError, match="holds non-finite values"):
            _fit(_new(family), tiny, checkpoint_path=bad, resume=True)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_header_claiming_absurd_shapes_is_refused_before_allocating(family, tiny, tmp_path):
    model = _new(family)
    _fit(model, tiny)
    path = tmp_path / "model.pt"
    model.save(path)

    for n_sites in (10**8, 10**12):  # building these models for real would need far too much memory

        def huge(payload, n_sites=n_sites):
            payload["n_sites"] = n_sites

        with pytest.raises(ModelError, match=f"its header claims {n_sites} sites"):
            load_model(_corrupt(path, tmp_path, huge))

    def renamed(payload):
        key = next(iter(payload["weights"]))
        payload["weights"]["not_a_layer"] = payload["weights"].pop(key)

    with pytest.raises(ModelError, match="do not match the .* layers"):
        load_model(_corrupt(path, tmp_path, renamed))


@pytest.mark.parametrize("family", FAMILIES)
def test_divergence_stops_training_and_keeps_the_last_good_checkpoint(family, tiny, tmp_path, monkeypatch):
    cls = get_family(family)
    real_epoch = cls._train_epoch

    def poisoned(self, epoch):
        losses = real_epoch(self, epoch)
        if epoch == 1:  # the second epoch ends with a NaN weight
            with torch.no_grad():
                name = next(k for k, v in self._weights().items() if v.is_floating_point())
                self._weights()[name].view(-1)[0] = float("nan")
        return losses

    monkeypatch.setattr(cls, "_train_epoch", poisoned)
    ckpt = tmp_path / "run.ckpt"
    with pytest.raises(TrainingDiverged, match="training diverged at epoch 2 .*: lower .*; the last good checkpoint, of epoch 1, is kept") as info:
        _fit(_new(family), tiny, epochs=3, checkpoint_path=ckpt, checkpoint_every_s=0.0)
    assert info.value.exit_code == 5 and info.value.last_good_epoch == 1
    assert read_checkpoint(ckpt)["training"]["epoch"] == 1
    loaded, _ = load_model(ckpt)
    assert loaded.epochs_trained == 1
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
@pytest.mark.parametrize("family", FAMILIES)
def test_trained_on_cuda_loads_on_cpu(family, tiny, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    model = _new(family, device="cuda")
    _fit(model, tiny, checkpoint_path=ckpt)
    assert all(v.device.type == "cuda" for v in model._weights().values())
    payload = torch.load(ckpt, weights_only=True)
    tensors = [v for v in payload["weights"].values()]
    assert all(t.device.type == "cpu" for t in tensors)
    loaded, _ = load_model(ckpt)
    assert loaded.device.type == "cpu"
    assert loaded.sample(10, seed=1).shape == (10, N_SITES)
    straight = _new(family, device="cuda")
    _fit(straight, tiny, seed=2)
    part = tmp_path / "part.ckpt"
    _fit(_new(family, device="cuda"), tiny, seed=2, epochs=1, checkpoint_path=part)
    resumed = _new(family, device="cuda")
    _fit(resumed, tiny, seed=2, checkpoint_path=part, resume=True)
    _assert_same_weights(straight, resumed)


def test_config_dataclasses_are_frozen_and_checked_in_post_init():
    for family in FAMILIES:
        cls = get_family(family).Config
        config = cls()
        with pytest.raises(dataclasses.FrozenInstanceError):
            config.epochs = 3  # type: ignore[misc]
