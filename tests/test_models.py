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
from typing import Annotated, ClassVar, Literal, Optional

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
from haplogen.models.training import TrainingInterrupted, read_checkpoint, remove_stale_parts
from conftest import straight_and_resumed

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
        name, _, _ = registry._declared_family(source, "x.py")
        assert name in ("ok_name", "typed")
    else:
        with pytest.raises(ModelError, match=pattern):
            registry._declared_family(source, "x.py")
    assert registry._declared_family('"""No family here.\n\nMore."""\nX = 1', "y.py") == (None, "No family here.", ())


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """Point the registry at a folder of family files written by the test."""
    monkeypatch.setattr(registry, "_package_files", lambda: tmp_path)
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


# ------------------------------------------------------------- fit arguments, signals
@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), True, "60"])
def test_checkpoint_interval_and_time_budget_must_be_finite(value):
    model = _model("rbm")
    with pytest.raises(InputError, match=f"the checkpoint interval must be a finite number of seconds >= 0, found {value!r}"):
        model.fit(_toy(), seed=1, checkpoint_every_s=value)
    with pytest.raises(InputError, match=f"the time budget must be a finite number of seconds > 0, found {value!r}"):
        model.fit(_toy(), seed=1, time_budget_s=value)
    with pytest.raises(InputError, match="the time budget must be a finite number of seconds > 0, found 0"):
        model.fit(_toy(), seed=1, time_budget_s=0)
    with pytest.raises(InputError, match="epochs must be a non-negative integer, found -1"):
        model.fit(_toy(), seed=1, epochs=-1)


def _two_signals_at(epoch: int):
    def progress(p):
        if p.epoch == epoch:
            signal.raise_signal(signal.SIGINT)  # the first asks to stop at the end of the epoch ...
            signal.raise_signal(signal.SIGINT)  # ... a second stops at once

    return progress


def test_a_second_signal_before_any_checkpoint_does_not_claim_the_run_can_resume(tmp_path):
    path = tmp_path / "ckpt.pt"
    with pytest.raises(TrainingInterrupted, match="no checkpoint had been written, so the run cannot be resumed") as info:
        _model("rbm").fit(_toy(), seed=1, epochs=5, checkpoint_path=path, progress=_two_signals_at(2))
    assert info.value.checkpoint_path is None and info.value.at_once
    assert not path.exists() and not list(tmp_path.glob("*.part"))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_signal_keeps_the_newest_checkpoint(tmp_path):
    path = tmp_path / "ckpt.pt"
    with pytest.raises(TrainingInterrupted, match=f"interrupted at once; the checkpoint of epoch 2 in {path} is kept") as info:
        _model("rbm").fit(
            _toy(), seed=1, epochs=5, checkpoint_path=path, checkpoint_every_s=0.0, progress=_two_signals_at(3)
        )
    assert info.value.checkpoint_path == str(path) and info.value.epoch == 2
    assert read_checkpoint(path)["training"]["epoch"] == 2


def test_without_a_checkpoint_path_an_interrupted_run_says_it_cannot_resume():
    def once(p):
        if p.epoch == 1:
            signal.raise_signal(signal.SIGTERM)

    with pytest.raises(TrainingInterrupted, match="no checkpoint path was given, so the run cannot be resumed") as info:
        _model("rbm").fit(_toy(), seed=1, epochs=3, progress=once)
    assert info.value.checkpoint_path is None


# ----------------------------------------------------------- checkpoint file faults
def test_a_full_disk_during_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    real_save = torch.save
    calls = []

    def full_disk(obj, handle, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second checkpoint: half written, then the disk is full
            handle.write(b"PK\x03\x04 partial bytes")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, handle, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError) as info:
        _model("rbm").fit(_toy(), seed=1, epochs=4, checkpoint_path=path, checkpoint_every_s=0.0)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert read_checkpoint(path)["training"]["epoch"] == 1  # the previous checkpoint, intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]  # no temporary file left


_KILLED_WRITER = """
import os, signal, sys
import numpy as np, torch
from haplogen.models import RBM, RBMConfig
calls = []
real_save = torch.save
def dies_while_writing(obj, handle, *args, **kwargs):
    calls.append(1)
    if len(calls) == 2:  # inside the second checkpoint write: some bytes out, then kill -9
        handle.write(b"PK\\x03\\x04 partial")
        handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return real_save(obj, handle, *args, **kwargs)
torch.save = dies_while_writing
x = (np.random.default_rng(0).random((80, 12)) < 0.4).astype(np.uint8)
config = RBMConfig(n_hidden=8, batch_size=40, n_chains=40, sample_burn_in=10, epochs=4)
RBM(config, 12).fit(x, seed=1, checkpoint_path=sys.argv[1], checkpoint_every_s=0.0)
"""


def test_kill_9_inside_a_checkpoint_write_loses_nothing(tmp_path):
    path = tmp_path / "ckpt.pt"
    result = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(path)], capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL, result.stderr
    parts = list(tmp_path.glob(".ckpt.pt.*.part"))
    assert len(parts) == 1  # the killed writer's temporary file: the kill did land inside the write
    assert read_checkpoint(path)["training"]["epoch"] == 1  # the previous checkpoint is intact
    # the next run with that checkpoint path removes the dead writer's file, and resumes
    x = (np.random.default_rng(0).random((80, 12)) < 0.4).astype(np.uint8)
    summary = RBM(RBM_SMALL, 12).fit(x, seed=1, epochs=4, checkpoint_path=path, resume=True)
    assert summary.resumed_from_epoch == 1 and summary.epochs_run == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]


def test_a_temporary_file_held_by_a_live_writer_is_kept(tmp_path):
    final = tmp_path / "model.pt"
    part = tmp_path / ".model.pt.123.abcd.part"
    part.write_bytes(b"being written")
    with open(part, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        assert remove_stale_parts(final) == [] and part.exists()
    assert remove_stale_parts(final) == [part] and not part.exists()


# ------------------------------------------------------------------------- devices
def test_device_defaults_to_cpu_and_a_missing_gpu_is_one_line(tmp_path, monkeypatch):
    assert RBM(RBM_SMALL, 12).device == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = dataclasses.replace(RBM_SMALL, device="cuda")  # a valid setting ...
    with pytest.raises(InputError, match="device 'cuda' was asked for but torch finds no CUDA GPU on this machine"):
        RBM(config, 12)  # ... that this machine cannot honour
    model = RBM(RBM_SMALL, 12)
    model.fit(_toy(), seed=1)
    model.save(tmp_path / "m.pt")
    with pytest.raises(InputError, match="no CUDA GPU"):
        load_model(tmp_path / "m.pt", device="cuda")


def test_the_device_is_not_part_of_the_same_configuration(tmp_path):
    """A checkpoint whose configuration names another device resumes exactly here."""
    x = _toy()
    straight = RBM(RBM_SMALL, 12)
    straight.fit(x, seed=1, epochs=3)
    ckpt = tmp_path / "run.ckpt"
    RBM(RBM_SMALL, 12).fit(x, seed=1, epochs=1, checkpoint_path=ckpt)
    payload = torch.load(ckpt, weights_only=True)
    payload["config"] = json.dumps({**json.loads(payload["config"]), "device": "cuda:0"})
    torch.save(payload, ckpt)
    resumed = RBM(RBM_SMALL, 12)
    resumed.fit(x, seed=1, epochs=3, checkpoint_path=ckpt, resume=True)
    for key, value in straight._weights().items():
        assert torch.equal(value, resumed._weights()[key]), key
    loaded, _ = load_model(ckpt)  # a model file naming a GPU loads on the CPU
    assert loaded.config.device == "cpu" and loaded.device == torch.device("cpu")


def test_resuming_on_another_kind_of_device_warns_that_it_is_not_exact(tmp_path):
    x = _toy()
    ckpt = tmp_path / "run.ckpt"
    RBM(RBM_SMALL, 12).fit(x, seed=1, epochs=1, checkpoint_path=ckpt)
    payload = torch.load(ckpt, weights_only=True)
    payload["training"]["device_type"] = "cuda"  # as if written by a run on a GPU
    torch.save(payload, ckpt)
    with pytest.warns(UserWarning, match="written by a run on cuda, this run is on cpu: .*will differ"):
        summary = RBM(RBM_SMALL, 12).fit(x, seed=1, epochs=3, checkpoint_path=ckpt, resume=True)
    assert summary.resumed_from_epoch == 1 and summary.epochs_run == 3


# --------------------------------------------------- a conditional family (test only)
@dataclasses.dataclass(frozen=True)
class PopulationFrequenciesConfig(ModelConfig):
    """Settings of the test-only conditional family."""

    epochs: NonNegativeInt = 3
    learning_rate: PositiveFloat = 0.5  # step of the logits towards the minibatch frequencies
    batch_size: PositiveInt = 16


class PopulationFrequencies(GenerativeModel):
    """Independent sites with per-population allele frequencies, learnt by noisy minibatch steps.

    The simplest model conditional on population: enough to test the label plumbing of the
    base class (vocabulary, counts, codes, saving, resuming, sampling by population).
    """

    name: ClassVar[str] = "popfreq_test"
    Config: ClassVar[type] = PopulationFrequenciesConfig
    conditional: ClassVar[bool] = True

    def __init__(self, config, n_sites):
        super().__init__(config, n_sites)
        # one row of logits per population: known here whenever it matters (load, fit)
        self.logits = torch.zeros(len(self.populations or ()), n_sites, device=self.device)

    def _initialise(self, x, seed, labels):
        self._x, self._codes = x, labels
        self._generator = self._new_generator(seed)
        self.logits = torch.zeros(len(self.populations), self.n_sites, device=self.device)

    def _train_epoch(self, epoch):
        rows = torch.randperm(self._x.shape[0], generator=self._generator)[: self.config.batch_size]
        for code in range(len(self.populations)):
            mine = rows[self._codes[rows] == code]
            if len(mine):
                target = self._x[mine].mean(0).clamp(0.02, 0.98)
                self.logits[code] += self.config.learning_rate * (torch.logit(target) - self.logits[code])
        return {"spread": float(self.logits.std())}

    def _weights(self):
        return {"logits": self.logits}

    def _set_weights(self, weights):
        self.logits = weights["logits"].clone()

    def _training_state(self):
        return {"generator": self._generator.get_state()}

    def _restore_training_state(self, state, x, seed, labels):
        self._x, self._codes = x, labels
        self._generator = self._restore_generator(state["generator"], seed)

    def _sample(self, n, generator, batch_size, labels):
        p = torch.sigmoid(self.logits[labels])  # (n, n_sites)
        return (torch.rand(p.shape, generator=generator) < p).to(torch.uint8)


def _two_populations(n_a: int = 60, n_b: int = 20, n_sites: int = 10):
    """Population A carries almost only REF alleles, B almost only ALT."""
    rng = np.random.default_rng(3)
    x = np.vstack([rng.random((n_a, n_sites)) < 0.05, rng.random((n_b, n_sites)) < 0.95]).astype(np.uint8)
    labels = np.array(["A"] * n_a + ["B"] * n_b)
    order = rng.permutation(n_a + n_b)
    return x[order], labels[order]


def test_a_conditional_family_learns_stores_and_samples_by_population(tmp_path):
    x, labels = _two_populations()
    model = PopulationFrequencies(PopulationFrequenciesConfig(), 10)
    assert model.populations is None and model.logits.shape == (0, 10)
    model.fit(x, seed=1, labels=list(labels))
    assert model.populations == ("A", "B") and model.population_counts == (60, 20)
    a = model.sample(200, seed=2, labels="A")
    b = model.sample(200, seed=2, labels=["B"] * 200)
    assert a.mean() < 0.2 and b.mean() > 0.8
    # unlabelled sampling draws the populations in the training proportions (3:1)
    mixed = model.sample(4000, seed=3)
    share_b = float((mixed.mean(axis=1) > 0.5).mean())
    assert share_b == pytest.approx(0.25, abs=0.03)
    with pytest.raises(InputError, match="not trained on the population 'C'; it knows A, B"):
        model.sample(2, seed=1, labels=["A", "C"])
    path = tmp_path / "m.pt"
    model.save(path)
    payload = torch.load(path, weights_only=True)
    assert json.loads(payload["populations"]) == {"names": ["A", "B"], "counts": [60, 20]}
    loaded, _ = PopulationFrequencies.load(path)
    assert loaded.populations == ("A", "B") and loaded.population_counts == (60, 20)
    assert np.array_equal(loaded.sample(50, seed=4), model.sample(50, seed=4))
    del payload["populations"]
    torch.save(payload, tmp_path / "bare.pt")
    # a file without populations is a model trained without labels: its weights then do not fit
    with pytest.raises(ModelError, match=r"weight 'logits' has shape \(2, 10\), expected \(0, 10\)"):
        PopulationFrequencies.load(tmp_path / "bare.pt")


def test_a_conditional_family_resumes_exactly_and_checks_the_labels(tmp_path):
    x, labels = _two_populations()
    config = PopulationFrequenciesConfig(epochs=4)
    ckpt = tmp_path / "run.ckpt"
    straight, resumed = straight_and_resumed(lambda: PopulationFrequencies(config, 10), x, labels, seed=1,
                                             first_epochs=2, checkpoint=ckpt)
    assert torch.equal(straight.logits, resumed.logits)
    relabelled = np.where(labels == "A", "C", labels)
    with pytest.raises(ModelError, match="trained with the populations A, B, the labels now give B, C"):
        PopulationFrequencies(config, 10).fit(x, seed=1, labels=relabelled, checkpoint_path=ckpt, resume=True)
    moved = np.roll(labels, 1)  # the same populations and counts, on other haplotypes
    assert not np.array_equal(moved, labels)
    with pytest.raises(ModelError, match="other data or labels of the same shape"):
        PopulationFrequencies(config, 10).fit(x, seed=1, labels=moved, checkpoint_path=ckpt, resume=True)
    with pytest.raises(InputError, match="population labels must be non-empty text, found 3"):
        PopulationFrequencies(config, 10).fit(x, seed=1, labels=[3] * len(x))
