"""haplogen: artificial genomes from a bank of phased haplotypes.

Train a generative model on real phased haplotypes, sample artificial ones, and prove that
they are realistic and do not leak the donors.
"""

__version__ = "0.1.0"

from .errors import HaplogenError, InputError, ModelError, PrivacyError
from .haplotypes import Haplotypes, Sites, read_labels, write_labels
from .api import generate, read_input, train

__all__ = [
    "__version__",
    "HaplogenError",
    "InputError",
    "ModelError",
    "PrivacyError",
    "Haplotypes",
    "Sites",
    "read_labels",
    "write_labels",
    "read_input",
    "train",
    "generate",
]
