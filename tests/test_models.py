"""Tests of the shared model machinery: registry, settings, training loop, checkpoints, faults.

What every family must do is in ``test_model_contract.py`` (run over every registered family);
this file tests the machinery those tests rely on, with the two founding families and with a
small conditional family defined here (``PopulationFrequencies``), so that the label plumbing
is tested before a conditional family ships.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Optional

import numpy as np
import pytest
import torch

from haplogen.errors import InputError, ModelError
from haplogen.models import (
    GAN,
    MODELS,
    RBM,
    GANConfig,
    RBMConfig,
    TrainingProgress,
    format_progress,
    load_model,
    set_threads,
)
from haplogen.models import registry, training
from haplogen.models.base import GenerativeModel
from haplogen.models.config import (
    ModelConfig,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Range,
    UnitInterval,
    convert_text,
    describe_type,
    field_types,
    format_value,
    parse_overrides,
)
from haplogen.models.training import TrainingDiverged, TrainingInterrupted, read_checkpoint, remove_stale_parts

RBM_SMALL = RBMConfig(n_hidden=8, batch_size=40, n_chains=40, sample_burn_in=10, epochs=3)
GAN_SMALL = GANConfig(epochs=2)


def _toy(n_haplotypes: int = 80, n_sites: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n_haplotypes, n_sites)) < 0.4).astype(np.uint8)


@pytest.fixture(params=["rbm", "gan"])
def kind(request) -> str:
    return request.param


def _model(kind: str, n_sites: int = 12):
    return RBM(RBM_SMALL, n_sites) if kind == "rbm" else GAN(GAN_SMALL, n_sites)


# ---------------------------------------------------------------------------- registry
def test_registry_finds_the_founding_families_and_maps_them_lazily():
    names = registry.family_names()
    assert {"rbm", "gan"} <= set(names) and names == sorted(names)
    assert registry.get_family("rbm") is RBM and registry.get_family("gan") is GAN
    assert RBM.Config is RBMConfig and GAN.Config is GANConfig
    assert registry.describe_families()["rbm"].startswith("Bernoulli-Bernoulli restricted Boltzmann machine")
    assert "rbm" in MODELS and MODELS["gan"] is GAN and list(MODELS) == names and len(MODELS) == len(names)
    with pytest.raises(KeyError):
        MODELS["no-such-family"]
    with pytest.raises(InputError, match="unknown model family 'nope'; choose one of "):
        registry.get_family("nope")


def test_importing_the_models_package_does_not_import_torch():
    code = "import sys, haplogen.models; haplogen.models.family_names(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    "source, pattern",
    [
        ('FAMILY = "ok_name"', None),
        ('"""doc"""\nFAMILY: str = "typed"', None),
        ("FAMILY = make_name()", "FAMILY must be assigned a string literal"),
        ('FAMILY = "Bad-Name"', "must be a lower-case identifier"),
        ("def broken(:\n", "cannot be parsed"),
    ],
)
def test_family_declarations_are_read_without_importing(source, pattern):
    if pattern is None:
        name, _ = registry._declared_family(source, "x.py")
        assert name in ("ok_name", "typed")
    else:
        with pytest.raises(ModelError, match=pattern):
            registry._declared_family(source, "x.py")
    assert registry._declared_family('"""No family here.\n\nMore."""\nX = 1', "y.py") == (None, "No family here.")


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """Point the registry at a folder of family files written by the test."""
    monkeypatch.setattr(registry.resources, "files", lambda package: tmp_path)
    registry.families.cache_clear()
    yield tmp_path
    registry.families.cache_clear()


def test_registry_scans_files_for_families(fake_package):
    (fake_package / "alpha.py").write_text('"""The alpha family.\n\nDetails."""\nFAMILY = "alpha"\n')
    (fake_package / "helpers.py").write_text('"""Not a family."""\nX = 1\n')
    (fake_package / "_private.py").write_text('FAMILY = "hidden"\n')
    (fake_package / "notes.txt").write_text('FAMILY = "text"\n')
    assert registry.describe_families() == {"alpha": "The alpha family."}
    assert registry.families()["alpha"].module == "haplogen.models.alpha"
    (fake_package / "beta.py").write_text('FAMILY = "alpha"\n')
    registry.families.cache_clear()
    with pytest.raises(ModelError, match="two model families are named 'alpha': haplogen/models/alpha.py and haplogen/models/beta.py"):
        registry.families()


# ---------------------------------------------------------------------------- settings
@dataclasses.dataclass(frozen=True)
class EveryTypeConfig(ModelConfig):
    """A configuration with a field of every type that --set supports."""

    count: PositiveInt = 3
    rate: PositiveFloat = 0.5
    anything: float = -1.5
    unbounded: Annotated[float, Range(finite=False)] = float("inf")
    share: UnitInterval = 0.25
    flag: bool = False
    text: str = "abc"
    maybe: Optional[PositiveInt] = None
    maybe_text: str | None = "x"
    widths: tuple[int, ...] = (64, 32)
    scales: tuple[float, ...] = (0.5, 1e-3)
    names: tuple[str, ...] = ("a", "b")
    pair: tuple[int, float] = (1, 2.5)
    mode: Literal["fast", "exact"] = "fast"
    level: Literal[1, 2, 3] = 2


def test_every_supported_type_converts_and_round_trips():
    parsed = parse_overrides(
        [
            "count=1e3", "rate=2", "anything=-0", "unbounded=-inf", "share=1", "flag=yes", "text=a b",
            "maybe=7", "maybe-text=none", "widths=8, 4,2", "scales=(1e-9)", "names=x,y,z", "pair=3,0.25",
            "mode=exact", "level=3",
        ],
        EveryTypeConfig,
    )
    assert parsed == {
        "count": 1000, "rate": 2.0, "anything": 0.0, "unbounded": -math.inf, "share": 1.0, "flag": True,
        "text": "a b", "maybe": 7, "maybe_text": None, "widths": (8, 4, 2), "scales": (1e-9,),
        "names": ("x", "y", "z"), "pair": (3, 0.25), "mode": "exact", "level": 3,
    }
    assert type(parsed["rate"]) is float and type(parsed["count"]) is int
    assert parse_overrides(["widths=", "maybe=none", "flag=off"], EveryTypeConfig) == {
        "widths": (), "maybe": None, "flag": False
    }
    for config in (EveryTypeConfig(), EveryTypeConfig(**parsed)):
        items = [f"{k}={format_value(getattr(config, k), t)}" for k, t in field_types(EveryTypeConfig).items()]
        assert EveryTypeConfig(**parse_overrides(items, EveryTypeConfig)) == config


@pytest.mark.parametrize(
    "item, pattern",
    [
        ("count=0", "--set count expects an integer >= 1, found '0'"),
        ("count=2.5", "--set count expects an integer >= 1, found '2.5'"),
        ("rate=-1", "--set rate expects a number > 0"),
        ("rate=nan", "--set rate expects a number > 0, found 'nan'"),
        ("anything=inf", "--set anything expects a number, found 'inf'"),
        ("share=1.5", r"--set share expects a number >= 0 and <= 1"),
        ("flag=maybe", "--set flag expects true or false"),
        ("maybe=0", "--set maybe expects an integer >= 1 or none"),
        ("widths=8,x", "--set widths expects a comma-separated list of integers"),
        ("pair=1", r"--set pair expects 2 comma-separated values \(an integer, a number\)"),
        ("mode=slow", "--set mode expects one of 'fast', 'exact', found 'slow'"),
        ("level=4", "--set level expects one of 1, 2, 3, found '4'"),
        ("nothing=1", "the EveryType family has no setting 'nothing'; known settings: anything, count, device"),
        ("count", "expected KEY=VALUE for --set, found 'count'"),
    ],
)
def test_bad_set_values_are_refused_in_one_line(item, pattern):
    with pytest.raises(InputError, match=pattern) as info:
        parse_overrides([item], EveryTypeConfig)
    assert "\n" not in str(info.value)


def test_configs_check_and_normalise_their_values_in_post_init():
    config = EveryTypeConfig(rate=2, widths=[1, 2], pair=[1, 2])  # as a model file's JSON gives them
    assert config.rate == 2.0 and type(config.rate) is float
    assert config.widths == (1, 2) and config.pair == (1, 2.0)
    assert EveryTypeConfig(unbounded=float("nan")).unbounded != EveryTypeConfig(unbounded=float("nan")).unbounded
    for kwargs, pattern in [
        ({"count": "3"}, "the EveryType setting count must be an integer >= 1, found '3'; pass --set count=VALUE"),
        ({"count": True}, "setting count must be an integer"),
        ({"rate": float("inf")}, "setting rate must be a number > 0, found inf"),
        ({"anything": float("nan")}, "setting anything must be a number, found nan"),
        ({"mode": "slow"}, "setting mode must be one of 'fast', 'exact', found 'slow'"),
        ({"widths": "1,2"}, "setting widths must be a comma-separated list of integers"),
        ({"device": "gpu"}, "setting device must be 'cpu', 'cuda' or 'cuda:N', found 'gpu'"),
        ({"epochs": -1}, "setting epochs must be an integer >= 0, found -1"),
    ]:
        with pytest.raises(InputError, match=pattern):
            EveryTypeConfig(**kwargs)
    assert describe_type(tuple[float, ...]) == "a comma-separated list of numbers"
    assert convert_text(" 5 ", PositiveInt, "k") == 5


def test_the_api_re_exports_the_settings_functions():
    from haplogen import api

    assert api.parse_overrides(["n_hidden=9"], RBMConfig) == {"n_hidden": 9}
    assert api._convert("0.5", float, "x") == 0.5 and api._field_types(RBMConfig)["n_hidden"] is not None
    assert api.make_config("rbm", {"n_hidden": 9}) == RBMConfig(n_hidden=9)
    with pytest.raises(InputError, match="unknown model family 'x'"):
        api.make_config("x")


def test_format_progress():
    p = TrainingProgress(12, 200, 31.0, 485.0, {"loss_d": 0.69314, "loss_g": 0.69314})
    assert format_progress(p) == "epoch 12/200  loss_d 0.6931  loss_g 0.6931  elapsed 0:00:31  eta 0:08:05"
    q = TrainingProgress(3, None, 3725.0, None, {})
    assert format_progress(q) == "epoch 3/?  elapsed 1:02:05  eta ?"


def test_set_threads():
    before = torch.get_num_threads()
    try:
        assert set_threads(1) == 1 and torch.get_num_threads() == 1
        assert set_threads(None) == len(os.sched_getaffinity(0))
        with pytest.raises(ModelError, match="at least 1, found 0"):
            set_threads(0)
    finally:
        torch.set_num_threads(before)


def test_save_load_roundtrip_with_extra(kind, tmp_path):
    x = _toy()
    model = _model(kind)
    model.fit(x, seed=1)
    extra = {"sites": {"position": [1, 2, 3]}, "provenance": {"seed": 1}}
    path = tmp_path / "model.pt"
    model.save(path, extra=extra)
    for loader in (load_model, type(model).load):
        loaded, got_extra = loader(path)
        assert type(loaded) is type(model) and got_extra == extra
        assert loaded.config == model.config and loaded.n_sites == 12
        assert loaded.epochs_trained == model.epochs_trained
        assert np.array_equal(loaded.sample(20, seed=4), model.sample(20, seed=4))
    other = GAN if kind == "rbm" else RBM
    with pytest.raises(ModelError, match=f"holds a '{kind}' model, not a '{other.name}' model"):
        other.load(path)


def test_checkpoint_is_loadable_as_model_and_weights_only(kind, tmp_path, monkeypatch):
    x = _toy()
    ckpt = tmp_path / "run.ckpt"
    _model(kind).fit(x, seed=1, checkpoint_path=ckpt, extra={"note": "hi"})
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    model, extra = load_model(ckpt)
    assert extra == {"note": "hi"} and model.epochs_trained == 2 + (kind == "rbm")
    assert calls and all(c.get("weights_only") is True for c in calls)
    # the file holds only tensors and plain containers: it loads without haplogen's help
    payload = real_load(ckpt, weights_only=True)
    assert payload["format"] == "haplogen.model" and payload["model"] == kind
    assert json.loads(payload["config"])["epochs"] == model.config.epochs
    assert "training" in payload and payload["training"]["epoch"] == model.epochs_trained


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo should-never-run",))


@pytest.mark.parametrize(
    "content",
    ["text", "truncated", "other_torch", "pickled_object", "missing"],
)
def test_non_checkpoint_files_are_rejected(tmp_path, content):
    path = tmp_path / "bad.pt"
    if content == "text":
        path.write_text("this is not a model\n")
    elif content == "truncated":
        model = _model("rbm")
        model.fit(_toy(), seed=1)
        model.save(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif content == "other_torch":
        torch.save({"state_dict": {"w": torch.zeros(2)}}, path)
    elif content == "pickled_object":
        torch.save({"format": "haplogen.model", "evil": _Evil()}, path)
    pattern = "does not exist" if content == "missing" else "is not a haplogen model checkpoint"
    with pytest.raises(ModelError, match=pattern):
        load_model(path)


def test_resume_rejects_other_model_config_or_data(tmp_path):
    x = _toy()
    ckpt = tmp_path / "run.ckpt"
    RBM(RBM_SMALL, 12).fit(x, seed=1, checkpoint_path=ckpt)
    with pytest.raises(ModelError, match="checkpoint of a 'rbm' model, this is a 'gan' model"):
        GAN(GAN_SMALL, 12).fit(x, seed=1, checkpoint_path=ckpt, resume=True)
    other = RBMConfig(n_hidden=9, batch_size=40, n_chains=40, sample_burn_in=10, epochs=3)
    with pytest.raises(ModelError, match=r"different configuration \(n_hidden=8 \(now 9\)\)"):
        RBM(other, 12).fit(x, seed=1, checkpoint_path=ckpt, resume=True)
    with pytest.raises(ModelError, match="trained on 80 haplotypes x 12 sites, the data have 60 x 12"):
        RBM(RBM_SMALL, 12).fit(x[:60], seed=1, checkpoint_path=ckpt, resume=True)
    with pytest.raises(ModelError, match="other data or labels of the same shape"):
        RBM(RBM_SMALL, 12).fit(1 - x, seed=1, checkpoint_path=ckpt, resume=True)
    with pytest.raises(ModelError, match="trained with seed 1, not 2"):
        RBM(RBM_SMALL, 12).fit(x, seed=2, checkpoint_path=ckpt, resume=True)
    saved = tmp_path / "saved.pt"
    model = RBM(RBM_SMALL, 12)
    model.fit(x, seed=1)
    model.save(saved)
    with pytest.raises(ModelError, match="saved model without training state"):
        RBM(RBM_SMALL, 12).fit(x, seed=1, checkpoint_path=saved, resume=True)


def test_resume_without_checkpoint_starts_fresh(kind, tmp_path):
    x = _toy()
    summary = _model(kind).fit(x, seed=1, checkpoint_path=tmp_path / "new.ckpt", resume=True)
    assert summary.resumed_from_epoch is None and (tmp_path / "new.ckpt").is_file()


def test_time_budget_stops_at_end_of_epoch(kind):
    x = _toy()
    seen = []
    summary = _model(kind).fit(x, seed=1, epochs=100_000, time_budget_s=0.3, progress=seen.append)
    assert summary.stopped_by == "time_budget"
    assert 1 <= summary.epochs_run < 100_000
    assert seen[-1].epoch == summary.epochs_run and seen[-1].elapsed_s >= 0.3
    assert all(p.epochs == 100_000 for p in seen)
    assert summary.final_losses == seen[-1].losses


def test_progress_and_periodic_checkpoints(kind, tmp_path, monkeypatch):
    x = _toy()
    written = []
    real_write = training.write_checkpoint

    def spy(path, **kwargs):
        written.append(kwargs["training"]["epoch"])
        real_write(path, **kwargs)

    monkeypatch.setattr("haplogen.models.base.write_checkpoint", spy)
    seen = []
    summary = _model(kind).fit(
        x, seed=1, epochs=4, checkpoint_path=tmp_path / "c.ckpt", checkpoint_every_s=0.0, progress=seen.append
    )
    assert summary.stopped_by == "epochs" and summary.epochs_run == 4
    assert [p.epoch for p in seen] == [1, 2, 3, 4]
    assert seen[-1].eta_s == 0.0 and set(seen[-1].losses) == set(summary.final_losses)
    assert written == [1, 2, 3, 4]  # every epoch (interval 0) and once at the end
    assert not list(tmp_path.glob("*.part"))  # atomic writes leave no temporary file


def test_input_validation(kind):
    model = _model(kind)
    with pytest.raises(ModelError, match="not trained"):
        model.sample(3, seed=1)
    with pytest.raises(InputError, match="only 0/1 alleles, found 2 at haplotype 0, site 3"):
        bad = _toy()
        bad[0, 3] = 2
        model.fit(bad, seed=1)
    with pytest.raises(InputError, match="built for 12 sites but the data have 13"):
        model.fit(_toy(n_sites=13), seed=1)
    with pytest.raises(InputError, match="2-d"):
        model.fit(np.zeros(12, dtype=np.uint8), seed=1)
    with pytest.raises(InputError, match="resume=True needs a checkpoint_path"):
        model.fit(_toy(), seed=1, resume=True)
    with pytest.raises(ModelError, match="expects a"):
        RBM(GAN_SMALL, 12)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_training_at_the_epoch_end_with_a_checkpoint(tmp_path, sim_haplotypes, signum):
    """Ctrl-C / SIGTERM: checkpoint at the end of the epoch, then resume gives the straight run."""
    from haplogen.models import RBM
    from haplogen.models.training import TrainingInterrupted

    x = sim_haplotypes.matrix
    config = dataclasses.replace(RBM.Config(), n_hidden=8, n_chains=20, chain_batch=20, batch_size=100)
    straight = RBM(config, x.shape[1])
    straight.fit(x, seed=3, epochs=5)

    def send_signal(p):
        if p.epoch == 2:
            signal.raise_signal(signum)

    path = tmp_path / "ckpt.pt"
    stopped = RBM(config, x.shape[1])
    with pytest.raises(TrainingInterrupted, match="interrupted after epoch 2; checkpoint of epoch 2 saved"):
        stopped.fit(x, seed=3, epochs=5, checkpoint_path=path, progress=send_signal)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    resumed = RBM(config, x.shape[1])
    summary = resumed.fit(x, seed=3, epochs=5, checkpoint_path=path, resume=True)
    assert summary.resumed_from_epoch == 2
    for name, value in straight._weights().items():
        assert torch.equal(value, resumed._weights()[name]), name
