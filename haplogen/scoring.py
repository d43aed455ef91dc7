"""Scoring haplotypes with a trained model: the log-likelihood of each one (``haplogen score``).

A model family with an exact likelihood (``model.tractable``; see
:func:`tractable_families`) gives ``log p(x)`` in nats for any haplotype ``x`` at its sites.
:func:`haplogen.api.score_file` (the ``haplogen score`` command) reads a data set, checks
that its sites are the model's, scores every haplotype and writes one row per haplotype with
:func:`write_scores`::

    # haplogen 0.1.0 score: marginal log p(haplotype) under the mixar model ...
    # haplogen_provenance={"schema": ..., "command": [...], "inputs": [...], ...}
    sample  haplotype  population  log_likelihood_nats  bits_per_snp
    HG00096 0          GBR         -391.204113          0.70109822

``haplotype`` is 0 or 1, the haplotype's place in its individual (the first and second
allele of a phased ``GT``); ``population`` is ``NA`` when no labels table was given;
``bits_per_snp`` is ``-log_likelihood_nats / (n_sites ln 2)``. The first comment line says
which likelihood the column holds: the marginal ``log p(x)`` (summed over the populations of a
conditional model with their training shares), or, with ``--labels``, the conditional
``log p(x | population)``. :func:`read_scores` reads the table back.

:func:`evaluation_models` finds the trained model behind each artificial set of an evaluation
(``--model``, or the model file that ``haplogen generate`` names in a set's provenance), for the
held-out likelihood statistic (:mod:`haplogen.statistics.likelihood`).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .errors import HaplogenError, InputError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    from .haplotypes import Haplotypes, Sites

__all__ = [
    "SCORE_COLUMNS",
    "MISSING_POPULATION",
    "tractable_families",
    "check_scorable",
    "site_difference",
    "check_sites",
    "haplotype_index",
    "score_haplotypes",
    "likelihood_description",
    "write_scores",
    "read_scores",
    "evaluation_models",
]

#: the columns of a scores table, in order
SCORE_COLUMNS = ("sample", "haplotype", "population", "log_likelihood_nats", "bits_per_snp")
#: the population of a haplotype whose individual has no label
MISSING_POPULATION = "NA"


def tractable_families() -> list[str]:
    """Names of the model families with an exact likelihood (imports each family, and so torch)."""
    from .models.registry import MODELS

    return [name for name in MODELS if MODELS[name].tractable]


def check_scorable(model: Any, *, conditional: bool = False, model_name: str = "the model") -> None:
    """Refuse a model that cannot give the likelihood asked for, before any data are read.

    Parameters
    ----------
    model
        A trained :class:`~haplogen.models.base.GenerativeModel`.
    conditional
        True for ``log p(x | population)`` (``--labels``), False for the marginal ``log p(x)``.
    model_name
        How to name the model in messages (its directory).

    Raises
    ------
    ModelError
        When the model's family has no tractable likelihood (the message names the families
        that have one).
    InputError
        When ``conditional`` is asked of a model that was not trained with population labels.
    """
    if not getattr(model, "tractable", False):
        families = tractable_families()
        raise ModelError(
            f"{model_name} is a {model.name} model, and the {model.name} family has no tractable likelihood; "
            f"score a model of a family that has one ({', '.join(families) or 'none is installed'}: "
            f"haplogen train --model {families[0] if families else 'FAMILY'})"
        )
    if conditional and not getattr(model, "populations", None):
        how = ("it was trained without population labels (train it with --labels TABLE)" if model.conditional
               else f"the {model.name} family is not conditional on population")
        raise InputError(
            f"--labels asks for log p(haplotype | population), but {model_name} cannot give it: {how}; "
            "drop --labels to score the marginal likelihood"
        )


def _site_text(sites: "Sites", i: int) -> str:
    return f"{sites.chrom[i]}:{sites.position[i]} {sites.ref[i]}>{sites.alt[i]}"


def site_difference(expected: "Sites", found: "Sites", *, found_name: str = "the data",
                    expected_name: str = "the model") -> str | None:
    """The first site at which two site tables differ, in words; None when they are the same.

    Sites are compared by chromosome, position, REF and ALT, in order (as
    :meth:`~haplogen.haplotypes.Sites.same_as`).

    Parameters
    ----------
    expected : Sites, shape (n_expected,)
    found : Sites, shape (n_found,)
    found_name, expected_name
        How to name the two tables.
    """
    if expected.same_as(found):
        return None
    n = min(expected.n_sites, found.n_sites)
    same = ((expected.chrom[:n] == found.chrom[:n]) & (expected.position[:n] == found.position[:n])
            & (expected.ref[:n] == found.ref[:n]) & (expected.alt[:n] == found.alt[:n]))
    differ = np.flatnonzero(~same)
    if differ.size:
        i = int(differ[0])
        return f"site {i + 1} is {_site_text(found, i)} in {found_name} but {_site_text(expected, i)} in {expected_name}"
    if found.n_sites < expected.n_sites:
        return (f"{found_name} has only the first {n} of the {expected.n_sites} sites of {expected_name} "
                f"(the first missing one: {_site_text(expected, n)})")
    return (f"{found_name} has {found.n_sites - n} sites more than the {n} of {expected_name} "
            f"(the first: {_site_text(found, n)})")


def check_sites(expected: "Sites", found: "Sites", *, data_name: str, model_name: str) -> None:
    """Raise :class:`InputError` naming the first difference when the data's sites are not the model's.

    Parameters
    ----------
    expected : Sites, shape (n_model_sites,)
        The model's site table.
    found : Sites, shape (n_data_sites,)
        The data's.
    data_name, model_name
        The data file and the model directory, for the message.
    """
    difference = site_difference(expected, found)
    if difference is not None:
        raise InputError(
            f"the sites of {data_name} ({found.n_sites}) are not those of the model {model_name} "
            f"({expected.n_sites}): {difference}; score data at the model's sites (bcftools view -R with the "
            "model's sites, or the same read options as for training)"
        )


def haplotype_index(h: "Haplotypes") -> np.ndarray:
    """The place of each haplotype within its individual: 0 for the first, 1 for the second.

    Parameters
    ----------
    h : Haplotypes, shape (n_haplotypes, n_sites)

    Returns
    -------
    ndarray of int64, shape (n_haplotypes,)
    """
    seen: dict[str, int] = {}
    out = np.empty(h.n_haplotypes, dtype=np.int64)
    for row, sample in enumerate(h.haplotype_sample.tolist()):
        out[row] = seen.get(sample, 0)
        seen[sample] = out[row] + 1
    return out


def score_haplotypes(model: Any, h: "Haplotypes", *, conditional: bool = False, batch_size: int = 1024) -> np.ndarray:
    """Log-likelihood of every haplotype of ``h`` under ``model``, in nats.

    Parameters
    ----------
    model
        A trained model of a family with a tractable likelihood.
    h : Haplotypes, shape (n_haplotypes, n_sites)
        At the model's sites; with ``conditional``, labelled with populations the model knows.
    conditional
        Score ``log p(x | population)`` with ``h.population``; otherwise the marginal ``log p(x)``.
    batch_size
        Haplotypes scored at once.

    Returns
    -------
    ndarray of float64, shape (n_haplotypes,)
    """
    check_scorable(model, conditional=conditional)
    if model.n_sites != h.n_sites:
        raise InputError(f"the data have {h.n_sites} sites and the model {model.n_sites}; score data at the model's sites")
    labels = None
    if conditional:
        if h.population is None:
            raise InputError("conditional scoring needs the population of every haplotype; pass a labels table")
        labels = h.population
    return model.log_likelihood(h.matrix, labels=labels, batch_size=batch_size)


def likelihood_description(model: Any, *, conditional: bool, labels: str | os.PathLike | None = None) -> str:
    """What the log-likelihood column holds, in one line (for the table's header and the summary)."""
    if conditional:
        return (f"conditional log p(haplotype | population) under the {model.name} model, with each individual's "
                f"population from {labels}")
    populations = getattr(model, "populations", None)
    if populations and len(populations) > 1:
        return (f"marginal log p(haplotype) under the {model.name} model, summed over its populations "
                f"({', '.join(populations)}) with their training shares")
    return f"log p(haplotype) under the {model.name} model"


def write_scores(
    path: str | os.PathLike,
    h: "Haplotypes",
    log_likelihood: np.ndarray,
    *,
    description: str,
    provenance: Mapping[str, Any],
) -> None:
    """Write a scores table (see the module docstring); the caller makes the write atomic.

    Parameters
    ----------
    path
        The file to write (a temporary of :class:`~haplogen.provenance.OutputSet`).
    h : Haplotypes, shape (n_haplotypes, n_sites)
        The scored haplotypes (their individuals and populations).
    log_likelihood : ndarray of float64, shape (n_haplotypes,)
        In nats.
    description
        What the log-likelihood is (:func:`likelihood_description`), for the first header line.
    provenance
        The record of the run, written as one line of JSON.
    """
    from . import __version__

    ll = np.asarray(log_likelihood, dtype=np.float64)
    if ll.shape != (h.n_haplotypes,):
        raise ValueError(f"expected {h.n_haplotypes} log-likelihoods, found shape {ll.shape}")
    scale = h.n_sites * math.log(2)
    index = haplotype_index(h)
    populations = h.population.tolist() if h.population is not None else [MISSING_POPULATION] * h.n_haplotypes
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(f"# haplogen {__version__} score: log_likelihood_nats = {description}; "
                     f"bits_per_snp = -log_likelihood_nats / ({h.n_sites} ln 2)\n")
        handle.write("# haplogen_provenance=" + json.dumps(dict(provenance), separators=(",", ":")) + "\n")
        handle.write("\t".join(SCORE_COLUMNS) + "\n")
        for sample, k, pop, value in zip(h.haplotype_sample.tolist(), index.tolist(), populations, ll.tolist()):
            handle.write(f"{sample}\t{k}\t{pop}\t{value:.6f}\t{-value / scale:.8f}\n")


def read_scores(path: str | os.PathLike) -> dict[str, Any]:
    """Read a scores table written by :func:`write_scores`.

    Returns
    -------
    dict
        ``sample``, ``population`` (ndarray of str), ``haplotype`` (ndarray of int64),
        ``log_likelihood_nats``, ``bits_per_snp`` (ndarray of float64), each of shape
        (n_haplotypes,); ``description`` (the first header line) and ``provenance`` (dict).

    Raises
    ------
    InputError
        When the file is not a scores table.
    """
    header: list[str] = []
    rows: list[list[str]] = []
    columns: list[str] | None = None
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                header.append(line[1:].strip())
            elif columns is None:
                columns = line.split("\t")
                if tuple(columns) != SCORE_COLUMNS:
                    raise InputError(
                        f"{path}, line {line_no}: expected the columns {' '.join(SCORE_COLUMNS)}, found {line!r}; "
                        "read a table written by haplogen score"
                    )
            elif line:
                fields = line.split("\t")
                if len(fields) != len(SCORE_COLUMNS):
                    raise InputError(f"{path}, line {line_no}: expected {len(SCORE_COLUMNS)} fields, found {len(fields)}")
                rows.append(fields)
    if columns is None:
        raise InputError(f"{path} holds no header line ({' '.join(SCORE_COLUMNS)}); read a table written by haplogen score")
    provenance = next((json.loads(h.split("=", 1)[1]) for h in header if h.startswith("haplogen_provenance=")), {})
    cols = list(zip(*rows)) if rows else [()] * len(SCORE_COLUMNS)
    return {
        "sample": np.array(cols[0], dtype=object),
        "haplotype": np.array(cols[1], dtype=np.int64),
        "population": np.array(cols[2], dtype=object),
        "log_likelihood_nats": np.array(cols[3], dtype=np.float64),
        "bits_per_snp": np.array(cols[4], dtype=np.float64),
        "description": header[0] if header else "",
        "provenance": provenance,
    }


# ---------------------------------------------------------------------------- evaluate
def evaluation_models(
    model: str | os.PathLike | None,
    synthetic: Mapping[str, str | os.PathLike],
    sites: "Sites",
) -> dict[str, Any]:
    """The trained model behind each artificial set, for the held-out likelihood of an evaluation.

    Parameters
    ----------
    model
        A model directory (``--model``): the model of every set. None: each set's own, the
        model file that ``haplogen generate`` names in the set's provenance, when it is still
        there and unchanged (same sha256 as when the set was generated).
    synthetic
        ``{set name: file}``.
    sites : Sites, shape (n_sites,)
        The real set's sites: a model at other sites is not used.

    Returns
    -------
    dict
        ``models`` (``{set name: model}`` of the sets whose model loaded), ``notes`` (one
        sentence per set whose model is named but could not be used, and why; a set whose
        provenance names no model is left out silently: the likelihood statistic notes every
        set without a model), ``inputs`` (provenance records of the model files used).
    """
    from .api import load_trained
    from .provenance import read_provenance

    loaded: dict[str, tuple[Any, dict[str, Any]] | str] = {}  # model path -> (model, file record) or why not

    def load(path: str, recorded_sha: str | None) -> tuple[Any, dict[str, Any]] | str:
        if path not in loaded:
            try:
                m, model_sites, prov = load_trained(path)
            except (HaplogenError, OSError) as exc:
                loaded[path] = f"the model {path} could not be loaded ({exc})"
            else:
                record = prov["model_file"]
                difference = site_difference(model_sites, sites, found_name="the real set")
                if recorded_sha is not None and record["sha256"] != recorded_sha:
                    loaded[path] = f"the model file {path} has changed since the set was generated"
                elif difference is not None:
                    loaded[path] = f"the model {path} is not at the real set's sites ({difference})"
                else:
                    loaded[path] = (m, record)
        return loaded[path]

    models: dict[str, Any] = {}
    notes: list[str] = []
    inputs: dict[str, dict[str, Any]] = {}
    for name, file in synthetic.items():
        if model is not None:
            outcome = load(str(model), None)
        else:
            try:
                record = read_provenance(file) or {}
            except HaplogenError:
                record = {}
            # generate records the model file as an input of the set (the first, a .pt file)
            named = [i for i in record.get("inputs", []) if isinstance(i, dict) and i.get("path")]
            source = next((i for i in named if str(i["path"]).endswith(".pt")), named[0] if named else None)
            if not isinstance(record.get("model_provenance"), dict) or source is None:
                continue  # not made by haplogen generate: the statistic notes the sets without a model
            if not Path(source["path"]).exists():
                notes.append(f"Held-out likelihood: the model file {source['path']} named by {Path(file).name} "
                             "is not there any more; pass --model MODEL_DIR to score its model")
                continue
            outcome = load(str(source["path"]), source.get("sha256"))
        if isinstance(outcome, str):
            notes.append(f"Held-out likelihood of {name}: {outcome}, so it is not scored")
            continue
        models[name] = outcome[0]
        inputs[outcome[1]["path"]] = outcome[1]
    return {"models": models, "notes": [n if n.endswith(".") else n + "." for n in notes], "inputs": list(inputs.values())}

