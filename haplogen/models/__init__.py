"""Generative models of haplotypes: one file per family, found by :mod:`.registry`.

Every model takes the ``(n_haplotypes, n_sites)`` uint8 0/1 matrix, never a file, and shares
the interface of :class:`GenerativeModel`: ``fit`` / ``sample`` / ``save`` / ``load``. The
families (today ``rbm``, the founding paper's RBM, and ``gan``, its GAN) are listed by
:func:`family_names` and imported by :func:`get_family`; adding a family is adding one file
(see :mod:`haplogen.models.registry`).

Importing this package does not import torch: the names below are loaded on first use, so
that the command line can list the families quickly.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from .registry import MODELS, describe_families, family_names, get_family, make_config

__all__ = [
    "GenerativeModel",
    "ModelConfig",
    "MODELS",
    "family_names",
    "describe_families",
    "get_family",
    "make_config",
    "parse_overrides",
    "load_model",
    "RBM",
    "RBMConfig",
    "GAN",
    "GANConfig",
    "TrainingProgress",
    "TrainingSummary",
    "TrainingInterrupted",
    "TrainingDiverged",
    "format_progress",
    "set_threads",
]

# name -> module that defines it, imported on first access (PEP 562)
_LAZY = {
    "GenerativeModel": ".base",
    "ModelConfig": ".config",
    "parse_overrides": ".config",
    "RBM": ".rbm",
    "RBMConfig": ".rbm",
    "GAN": ".gan",
    "GANConfig": ".gan",
    "TrainingProgress": ".training",
    "TrainingSummary": ".training",
    "TrainingInterrupted": ".training",
    "TrainingDiverged": ".training",
    "format_progress": ".training",
    "set_threads": ".training",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_model(path: str | os.PathLike, *, device: str = "cpu") -> tuple[Any, dict]:
    """Load a model file or checkpoint of any family; returns ``(model, extra)``.

    ``device`` is where the loaded model computes (``cpu`` by default, whatever it was
    trained on).
    """
    from .base import GenerativeModel

    return GenerativeModel.load(path, device=device)
