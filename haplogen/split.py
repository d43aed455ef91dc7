"""Training / holdout splits by individual.

The two haplotypes of a person must never land on both sides of a split: a model trained on
one haplotype of an individual has seen half of that person, and a privacy measurement on the
other half would be biased. Every function here therefore splits *individuals*, never rows.

A split is stored as a two-column table (``sample<TAB>set``, ``set`` one of ``train`` or
``holdout``), the format of ``../shared/data/1000g-805/split.tsv``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .haplotypes import Haplotypes
from .provenance import atomic_path

__all__ = ["Split", "split_individuals", "read_split", "write_split", "apply_split"]

SIDES = ("train", "holdout")


@dataclass(frozen=True)
class Split:
    """Individuals assigned to the training and the holdout side.

    Attributes
    ----------
    train, holdout : tuple of str
        Individual ids on each side, in the order of the data set they came from.
    """

    train: tuple[str, ...]
    holdout: tuple[str, ...]

    def __post_init__(self) -> None:
        both = set(self.train) & set(self.holdout)
        if both:
            example = sorted(both)[0]
            raise InputError(
                f"{len(both)} individuals are on both sides of the split (e.g. {example}); "
                "each individual must be either train or holdout"
            )

    def side_of(self) -> dict[str, str]:
        table = {s: "train" for s in self.train}
        table.update({s: "holdout" for s in self.holdout})
        return table


def split_individuals(
    h: Haplotypes,
    *,
    holdout_fraction: float = 0.2,
    seed: int,
    stratify: bool = True,
) -> Split:
    """Split the individuals of ``h`` at random into training and holdout sets.

    Parameters
    ----------
    h
        Haplotypes whose individuals (``h.samples``) are split.
    holdout_fraction
        Share of individuals placed in the holdout set, in (0, 1).
    seed
        Random seed.
    stratify
        When ``h`` carries population labels, split each population separately so that both
        sides keep the population proportions (each population with at least two individuals
        contributes at least one to each side). Ignored without labels.

    Returns
    -------
    Split
    """
    if not 0 < holdout_fraction < 1:
        raise InputError(f"the holdout fraction must be between 0 and 1 (exclusive), found {holdout_fraction}")
    samples = h.samples
    if samples.size < 2:
        raise InputError(f"a split needs at least 2 individuals, found {samples.size}")
    rng = np.random.default_rng(seed)
    if stratify and h.population is not None:
        first = {}
        for sample, pop in zip(h.haplotype_sample, h.population):
            first.setdefault(sample, pop)
        groups: dict[str, list[str]] = {}
        for sample in samples:
            groups.setdefault(first[sample], []).append(sample)
    else:
        groups = {"all": list(samples)}
    holdout: set[str] = set()
    for name in sorted(groups):
        members = np.array(groups[name], dtype=object)
        n_out = int(round(holdout_fraction * members.size))
        if members.size >= 2:
            n_out = min(max(n_out, 1), members.size - 1)
        chosen = rng.permutation(members.size)[:n_out]
        holdout.update(members[chosen].tolist())
    train = tuple(s for s in samples if s not in holdout)
    return Split(train=train, holdout=tuple(s for s in samples if s in holdout))


def read_split(path: str | os.PathLike) -> Split:
    """Read a ``sample<TAB>set`` table (header line optional) into a :class:`Split`."""
    try:
        handle = open(path, newline="")
    except OSError as exc:
        raise InputError(f"cannot read the split table {path}: {exc.strerror}") from None
    train: list[str] = []
    holdout: list[str] = []
    seen_row = False
    with handle:
        for line_no, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or row[0].startswith("#"):
                continue
            first_row, seen_row = not seen_row, True
            if first_row and row[0].strip().lower() in ("sample", "sample_id", "iid"):
                continue
            if len(row) < 2:
                raise InputError(
                    f"{path}, line {line_no}: expected 'sample<TAB>set' with set 'train' or 'holdout', "
                    f"found {len(row)} column"
                )
            sample, side = row[0].strip(), row[1].strip().lower()
            if side not in SIDES:
                raise InputError(
                    f"{path}, line {line_no}: the set must be 'train' or 'holdout', found {row[1]!r}"
                )
            (train if side == "train" else holdout).append(sample)
    if not train or not holdout:
        raise InputError(f"{path}: a split needs individuals on both sides, found {len(train)} train and {len(holdout)} holdout")
    return Split(tuple(train), tuple(holdout))


def write_split(split: Split, path: str | os.PathLike, *, header_comment: str | None = None) -> None:
    """Write a split as ``sample<TAB>set`` (atomically)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as handle:
            if header_comment:
                handle.write(f"# {header_comment}\n")
            handle.write("sample\tset\n")
            for sample in split.train:
                handle.write(f"{sample}\ttrain\n")
            for sample in split.holdout:
                handle.write(f"{sample}\tholdout\n")


def apply_split(h: Haplotypes, split: Split, *, strict: bool = True) -> tuple[Haplotypes, Haplotypes]:
    """Return the (train, holdout) haplotypes of ``h``.

    With ``strict`` (default), every individual of ``h`` must appear in the split and every
    individual of the split must appear in ``h``; otherwise an :class:`InputError` says how many
    are unmatched.
    """
    side = split.side_of()
    present = set(h.samples)
    unknown = [s for s in h.samples if s not in side]
    absent = [s for s in side if s not in present]
    if strict and (unknown or absent):
        parts = []
        if unknown:
            parts.append(f"{len(unknown)} individuals of the data are not in the split (e.g. {unknown[0]})")
        if absent:
            parts.append(f"{len(absent)} individuals of the split are not in the data (e.g. {absent[0]})")
        raise InputError("; ".join(parts) + "; use a split table made for this data set (haplogen split)")
    train = h.select_samples([s for s in h.samples if side.get(s) == "train"])
    holdout = h.select_samples([s for s in h.samples if side.get(s) == "holdout"])
    if train.n_haplotypes == 0 or holdout.n_haplotypes == 0:
        raise InputError(
            f"the split leaves {train.n_haplotypes} training and {holdout.n_haplotypes} holdout haplotypes; "
            "both sides must be non-empty"
        )
    return train, holdout
