"""Generative models of haplotypes: the founding paper's RBM and GAN.

Every model takes the ``(n_haplotypes, n_sites)`` uint8 0/1 matrix, never a file, and shares
the interface of :class:`GenerativeModel`: ``fit`` / ``sample`` / ``save`` / ``load``.
"""

from __future__ import annotations

import os

from .base import GenerativeModel
from .gan import GAN, GANConfig
from .rbm import RBM, RBMConfig
from .training import TrainingProgress, TrainingSummary, format_progress, set_threads

__all__ = [
    "GenerativeModel",
    "RBM",
    "RBMConfig",
    "GAN",
    "GANConfig",
    "MODELS",
    "load_model",
    "TrainingProgress",
    "TrainingSummary",
    "format_progress",
    "set_threads",
]

#: the model families by the name stored in their model files
MODELS: dict[str, type[GenerativeModel]] = {"rbm": RBM, "gan": GAN}


def load_model(path: str | os.PathLike) -> tuple[GenerativeModel, dict]:
    """Load a model file or checkpoint of any family; returns ``(model, extra)``."""
    return GenerativeModel.load(path)
