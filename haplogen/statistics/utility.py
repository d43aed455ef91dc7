"""Utility statistics: train on artificial, test on real (on by default) and Beagle imputation (opt-in).

Both are defined in :mod:`haplogen.utility.registration`; this module registers them with the
built-in statistics, so that ``evaluate`` runs the classifier whenever the sets carry labels,
and imputation when asked (``evaluate(..., statistics=[..., "imputation"])`` or
``haplogen evaluate --utility imputation``).
"""

from __future__ import annotations

from ..utility.registration import register_utility_statistics

register_utility_statistics()
