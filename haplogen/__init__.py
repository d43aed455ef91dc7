"""haplogen: artificial genomes from a bank of phased haplotypes.

Train a generative model on real phased haplotypes, sample artificial ones, and prove that
they are realistic and do not leak the donors.
"""

__version__ = "0.1.0"

from .errors import HaplogenError, InputError, ModelError, OutputError, PrivacyError, ToolError
from .haplotypes import Haplotypes, Sites, read_labels, write_labels
from .api import (
    evaluate_files,
    generate,
    generate_to_file,
    load_trained,
    read_input,
    score_file,
    simulate_to_files,
    split_to_files,
    train,
    train_from_file,
)

__all__ = [
    "__version__",
    "HaplogenError",
    "InputError",
    "ModelError",
    "PrivacyError",
    "OutputError",
    "ToolError",
    "Haplotypes",
    "Sites",
    "read_labels",
    "write_labels",
    "read_input",
    "train",
    "generate",
    "load_trained",
    "simulate_to_files",
    "split_to_files",
    "train_from_file",
    "generate_to_file",
    "evaluate_files",
    "score_file",
]
