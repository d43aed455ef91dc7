"""Artificial genomes as an imputation reference panel, scored with Beagle 5.

The protocol (benchmark track U; Yelmen et al. 2021 used the same idea with IMPUTE2):

1. **Targets.** The held-out real individuals keep a sparse "array" subset of their SNPs:
   on each chromosome, every ``array_every``-th SNP starting at ``array_offset`` (every 10th
   by default, as a genotyping array keeps a few of the sites a sequencing panel holds). The
   other SNPs are masked.
2. **Panels.** Beagle imputes the masked SNPs from each reference panel in turn: (a) the real
   training set; (b) each artificial set, subsampled to the size of the real panel so that
   every panel holds as many haplotypes; (c) the real panel plus that artificial subsample.
3. **Score.** For each masked SNP, the imputation r² is the squared Pearson correlation,
   across the target individuals, of the imputed ALT dosage (Beagle's ``DS``, in [0, 2]) and
   the true ALT allele count (0, 1 or 2). The mean over masked SNPs is reported overall and
   by minor allele frequency bin: ``<= 1%``, ``1-5%`` (above 1%, at most 5%) and ``> 5%``,
   the MAF being measured **in the real reference panel** (the training set), so that every
   panel is scored on the same SNPs in the same bins.

Two choices shape the numbers, and both are recorded in the result:

* A SNP where every target individual carries the same allele count has no defined r²; it
  is left out of the means (``n_scored`` counts the SNPs that are in). A SNP where the truth
  varies but the imputed dosage is constant (a panel that lacks the allele imputes 0
  everywhere) scores r² = 0: it imputed nothing, and leaving it out would reward a panel for
  missing alleles.
* No genetic map is passed to Beagle, which then assumes 1 cM per Mb; with a real map the
  absolute r² would move a little, equally for every panel.

Beagle is Debian's ``beagle`` package (``apt-get install beagle``: a ``beagle`` command that
runs ``java -jar beagle.jar``); a path to a ``beagle*.jar`` works too (run with ``java``).
Its heap is capped with ``-Xmx`` (``memory_gb``, 8 GB by default, which leaves room on a
24 GB machine), passed through ``JAVA_TOOL_OPTIONS`` so that the Debian wrapper needs no
change. VCFs are written with :func:`haplogen.io.write_haplotypes` into a temporary
directory that is removed whatever happens, and Beagle's output is read with cyvcf2.

Beagle 5.4 can keep running after an error in its main thread (its worker threads keep the
JVM alive); :func:`run_beagle` watches its error stream and stops it at the first uncaught
exception, so that a bad input is a one-line :class:`ToolError`, never a hang.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ..errors import InputError, ToolError
from ..haplotypes import Haplotypes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ToolError",
    "MAF_BIN_EDGES",
    "MAF_BIN_LABELS",
    "DEFAULT_MEMORY_GB",
    "beagle_available",
    "beagle_unavailable_reason",
    "run_beagle",
    "array_sites",
    "maf_bins",
    "imputation_r2",
    "imputation_utility",
    "plot_imputation",
]

#: MAF bin edges: a SNP is in bin k when edges[k] < MAF <= edges[k + 1] (the first bin includes 0)
MAF_BIN_EDGES = (0.0, 0.01, 0.05, 0.5)
#: names of the MAF bins, in the order of :data:`MAF_BIN_EDGES`
MAF_BIN_LABELS = ("<= 1%", "1-5%", "> 5%")
#: Java heap limit in GB: Beagle 5 needs well under 1 GB for 10^4 markers x 10^4 haplotypes;
#: 8 GB leaves two thirds of a 24 GB machine to everything else
DEFAULT_MEMORY_GB = 8.0
#: the command of Debian's beagle package
DEFAULT_BEAGLE = "beagle"
#: how to get Beagle, for error messages
INSTALL_HINT = "install it with 'apt-get install beagle' (Debian; it brings Java), or pass the path of a beagle 5 jar"


# ---------------------------------------------------------------------------- finding Beagle
def _beagle_argv(beagle: str | os.PathLike | None) -> tuple[list[str] | None, str | None]:
    """The command line prefix that runs Beagle, or (None, why not)."""
    beagle = str(beagle or DEFAULT_BEAGLE)
    if beagle.endswith(".jar"):
        if not Path(beagle).is_file():
            return None, f"the Beagle jar {beagle} does not exist"
        java = shutil.which("java")
        if java is None:
            return None, "java is not on the PATH (install a Java runtime: apt-get install default-jre-headless)"
        return [java, "-jar", str(Path(beagle).resolve())], None
    found = shutil.which(beagle)
    if found is None:
        return None, f"the program {beagle} is not on the PATH; {INSTALL_HINT}"
    if shutil.which("java") is None:
        return None, "java is not on the PATH, and the beagle command runs Java (apt-get install default-jre-headless)"
    return [found], None


@functools.lru_cache(maxsize=8)
def _probe(argv: tuple[str, ...]) -> tuple[str | None, str | None]:
    """Run Beagle without arguments (it prints its usage): (version line, None) or (None, why not)."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=120,
                              env=_java_env(1.0), stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"{argv[-1]} could not be run ({exc})"
    text = done.stdout + done.stderr
    match = re.search(r"\(version (\d+)\.(\d+)\)", text)
    if match is None:
        first = next((line for line in text.splitlines() if line.strip() and not line.startswith("Picked up")), "")
        return None, f"{argv[-1]} did not print a Beagle version (it printed {first[:80]!r}); {INSTALL_HINT}"
    if int(match.group(1)) < 5:
        return None, f"{argv[-1]} is Beagle {match.group(1)}.{match.group(2)}; Beagle 5 is needed ({INSTALL_HINT})"
    line = next(line for line in text.splitlines() if "(version" in line)
    return line.strip(), None


def beagle_unavailable_reason(beagle: str | os.PathLike | None = None) -> str | None:
    """Why Beagle 5 cannot run here, or None when it can.

    Parameters
    ----------
    beagle
        The ``beagle`` command (a name on the ``PATH`` or a path) or a ``beagle*.jar``;
        None is Debian's ``beagle``.

    Returns
    -------
    str or None
        One clause naming what is missing and how to install it; None when Beagle 5 runs
        (checked once per command by running it without arguments, about a second).
    """
    argv, reason = _beagle_argv(beagle)
    if argv is None:
        return reason
    return _probe(tuple(argv))[1]


def beagle_available(beagle: str | os.PathLike | None = None) -> bool:
    """True when Beagle 5 can run here (see :func:`beagle_unavailable_reason` for why not)."""
    return beagle_unavailable_reason(beagle) is None


def _java_env(memory_gb: float) -> dict[str, str]:
    env = dict(os.environ)
    megabytes = max(256, int(round(float(memory_gb) * 1024)))
    # ExitOnOutOfMemoryError: an exhausted heap ends the run instead of leaving threads alive
    flags = f"-Xmx{megabytes}m -XX:+ExitOnOutOfMemoryError"
    env["JAVA_TOOL_OPTIONS"] = (env.get("JAVA_TOOL_OPTIONS", "") + " " + flags).strip()
    return env


# ---------------------------------------------------------------------------- checks
def _check_sorted_unique(h: Haplotypes, what: str) -> None:
    """Positions strictly increasing within each chromosome, each chromosome in one block."""
    chrom, pos = h.sites.chrom, h.sites.position
    if h.n_sites < 2:
        return
    same = chrom[1:] == chrom[:-1]
    bad = np.flatnonzero(same & (pos[1:] <= pos[:-1]))
    if bad.size:
        i = int(bad[0]) + 1
        found = "a second record at" if pos[i] == pos[i - 1] else "out of order at"
        raise InputError(
            f"imputation needs the sites of the {what} set sorted by position, one per position, on each "
            f"chromosome; found {found} {chrom[i]}:{int(pos[i])} after {chrom[i - 1]}:{int(pos[i - 1])}; "
            "read the VCF with --unsorted sort --duplicate-position skip"
        )
    starts = chrom[np.r_[0, np.flatnonzero(~same) + 1]]
    if len(set(starts)) != len(starts):
        raise InputError(
            f"imputation needs each chromosome of the {what} set in one block of sites; found "
            f"{len(starts)} blocks for {len(set(starts))} chromosomes; read the VCF with --unsorted sort"
        )


def _check_same_sites(real: Haplotypes, other: Haplotypes, what: str) -> None:
    if not other.sites.same_as(real.sites):
        raise InputError(
            f"the {what} set has {other.n_sites} sites that are not the {real.n_sites} sites of the real panel; "
            "impute with panels that share the real set's sites (artificial genomes generated from a model "
            "trained on it, a holdout read from the same VCF)"
        )


def _diploid_rows(h: Haplotypes, what: str) -> np.ndarray:
    """Row pairs of the individuals of ``h``, shape (n_individuals, 2); every individual diploid."""
    samples = h.haplotype_sample
    if h.n_haplotypes % 2 or np.any(samples[0::2] != samples[1::2]):
        raise InputError(
            f"imputation targets must be diploid individuals, two adjacent haplotypes each; the {what} set "
            f"has {h.n_haplotypes} haplotypes of {h.n_samples} individuals; pass whole individuals"
        )
    if len(set(samples[0::2])) != h.n_haplotypes // 2:
        raise InputError(f"an individual of the {what} set owns two separate pairs of rows; pass each individual once")
    rows = np.arange(h.n_haplotypes)
    return np.stack([rows[0::2], rows[1::2]], axis=1)


def _panel(h: Haplotypes, prefix: str) -> Haplotypes:
    """``h`` as a reference panel: an even number of rows paired into individuals ``{prefix}0``..."""
    n = h.n_haplotypes - h.n_haplotypes % 2
    return Haplotypes.from_matrix(h.matrix[:n], h.sites, prefix=prefix)


# ---------------------------------------------------------------------------- running Beagle
def _beagle_error(stdout: str, stderr: str) -> str:
    """The one line of Beagle's output that says what went wrong."""
    for text in (stderr, stdout):
        for line in text.splitlines():
            if "ERROR" in line or "OutOfMemoryError" in line:
                line = re.sub(r"^(Exception in thread \"\w+\" )?([\w.$]+(Exception|Error): )+", "", line.strip())
                return line
    lines = [ln.strip() for ln in stderr.splitlines()
             if ln.strip() and not ln.startswith(("Picked up", "\tat ")) and not ln.strip().startswith("at ")]
    if lines:
        return lines[0]
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def _stop(proc: subprocess.Popen) -> None:
    """End the Beagle process group we started (SIGTERM, then SIGKILL)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def _run(argv: list[str], env: dict[str, str], workdir: Path, what: str, timeout_s: float | None) -> None:
    out_path, err_path = workdir / "beagle.stdout", workdir / "beagle.stderr"
    start = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=workdir,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            while True:
                try:
                    returncode = proc.wait(timeout=0.25)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if b"Exception in thread" in err_path.read_bytes():
                    # an uncaught exception: Beagle will not finish (it may not exit either)
                    time.sleep(0.5)
                    _stop(proc)
                    returncode = proc.returncode if proc.returncode else -1
                    break
                if timeout_s is not None and time.monotonic() - start > timeout_s:
                    _stop(proc)
                    raise ToolError(
                        f"Beagle ran longer than {timeout_s:g} s on the {what} panel and was stopped; "
                        "give it more time (timeout_s) or impute fewer sites"
                    )
        finally:
            _stop(proc)
    if returncode != 0:
        stdout = out_path.read_text(errors="replace")
        stderr = err_path.read_text(errors="replace")
        message = _beagle_error(stdout, stderr)
        hint = ("give Java more memory (memory_gb)" if "OutOfMemory" in stderr
                else "check that the panel is phased, biallelic and holds every site of the targets")
        raise ToolError(f"Beagle failed on the {what} panel (exit status {returncode}): {message}; {hint}")


def run_beagle(
    reference: Haplotypes,
    targets: Haplotypes,
    *,
    seed: int = 0,
    nthreads: int = 2,
    memory_gb: float = DEFAULT_MEMORY_GB,
    beagle: str | os.PathLike | None = None,
    timeout_s: float | None = None,
    what: str = "reference",
) -> np.ndarray:
    """Impute ``targets`` from the ``reference`` panel with Beagle 5; return the ALT dosages.

    Parameters
    ----------
    reference : Haplotypes, shape (n_ref_haplotypes, n_sites)
        Phased reference panel; consecutive rows are paired into individuals (a last odd row
        is left out). Sites sorted by position, one per position, on each chromosome; several
        chromosomes are imputed in one run (Beagle imputes them one after the other).
    targets : Haplotypes, shape (2 * n_individuals, n_target_sites)
        Diploid individuals (two adjacent rows each) typed at a subset of the reference's
        sites (same chromosome, position, REF and ALT).
    seed
        Beagle's ``seed=``.
    nthreads
        Beagle's ``nthreads=``.
    memory_gb
        Java heap limit (``-Xmx``) in GB.
    beagle
        The ``beagle`` command or a ``beagle*.jar``; None is Debian's ``beagle``.
    timeout_s
        Stop Beagle and raise :class:`ToolError` after this many seconds (None: no limit).
    what
        Name of the panel in error messages.

    Returns
    -------
    ndarray of float32, shape (n_sites, n_individuals)
        Beagle's ``DS`` (expected ALT allele count, 0-2, two decimals) at every site of the
        reference, for each target individual in order. Target sites hold the dosage of the
        (re-phased) typed genotype.

    Raises
    ------
    ToolError
        When Beagle is not installed, stops with an error, or its output lacks sites.
    InputError
        When the panel or the targets cannot be imputed (no haplotypes, unsorted sites,
        sites of the targets absent from the panel, haploid targets).
    """
    import pysam
    from cyvcf2 import VCF

    from ..io import write_haplotypes

    argv, reason = _beagle_argv(beagle)
    reason = reason or _probe(tuple(argv))[1]  # type: ignore[arg-type]
    if reason is not None:
        raise ToolError(f"cannot impute with Beagle: {reason}")
    if int(nthreads) < 1:
        raise InputError(f"nthreads must be at least 1, found {nthreads}")
    if not float(memory_gb) > 0:
        raise InputError(f"memory_gb must be positive, found {memory_gb}")
    if reference.n_haplotypes < 2:
        raise InputError(
            f"the {what} panel has {reference.n_haplotypes} haplotypes; a reference panel needs at least 2"
        )
    if reference.n_sites == 0:
        raise InputError(f"the {what} panel has no sites to impute")
    _check_sorted_unique(reference, what)
    pairs = _diploid_rows(targets, "target")
    ref_keys = {k: i for i, k in enumerate(zip(reference.sites.chrom, reference.sites.position.tolist(),
                                                 reference.sites.ref, reference.sites.alt))}
    absent = [k for k in zip(targets.sites.chrom, targets.sites.position.tolist(), targets.sites.ref,
                             targets.sites.alt) if k not in ref_keys]
    if absent:
        c, p, r, a = absent[0]
        raise InputError(
            f"{len(absent)} of the {targets.n_sites} target sites are not in the {what} panel (first {c}:{p} "
            f"{r}>{a}); type the targets at sites of the panel"
        )

    panel = _panel(reference, "REF")
    target_names = [f"T{i}" for i in range(pairs.shape[0])]
    typed = Haplotypes(targets.matrix[pairs.ravel()], targets.sites,
                       np.repeat(np.array(target_names, dtype=object), 2),
                       [f"{s}_{'AB'[i % 2]}" for i, s in enumerate(np.repeat(target_names, 2))])
    with tempfile.TemporaryDirectory(prefix="haplogen-beagle-") as tmp:
        workdir = Path(tmp)
        write_haplotypes(panel, workdir / "ref.vcf.gz")
        write_haplotypes(typed, workdir / "targets.vcf.gz")
        command = [*argv, f"ref={workdir / 'ref.vcf.gz'}", f"gt={workdir / 'targets.vcf.gz'}",  # type: ignore[misc]
                   f"out={workdir / 'imputed'}", f"nthreads={int(nthreads)}", f"seed={int(seed)}"]
        _run(command, _java_env(memory_gb), workdir, what, timeout_s)
        out = workdir / "imputed.vcf.gz"
        if not out.exists():
            raise ToolError(f"Beagle finished on the {what} panel but wrote no {out.name}; run it by hand to see why")
        try:
            # Beagle's header has no ##contig lines; with an index htslib takes them from it
            # (instead of warning once per chromosome)
            pysam.tabix_index(str(out), preset="vcf", force=True)
        except (OSError, ValueError) as exc:
            raise ToolError(f"Beagle's output for the {what} panel is not a bgzipped VCF ({exc}); use Beagle 5") from None
        dosage = np.full((reference.n_sites, len(target_names)), np.nan, dtype=np.float32)
        position_key = {(c, p): i for (c, p, _, _), i in ref_keys.items()}
        vcf = VCF(str(out), lazy=True)
        try:
            if list(vcf.samples) != target_names:
                raise ToolError(
                    f"Beagle's output for the {what} panel lists the samples {list(vcf.samples)[:3]}..., "
                    f"not the {len(target_names)} targets in order; this Beagle is not supported"
                )
            for variant in vcf:
                i = position_key.get((variant.CHROM, int(variant.POS)))
                if i is None:
                    continue
                ds = variant.format("DS")
                if ds is None:
                    raise ToolError(f"Beagle's output for the {what} panel has no DS field; use Beagle 5")
                dosage[i] = ds[:, 0]
        finally:
            vcf.close()
    missing = np.flatnonzero(np.isnan(dosage).any(axis=1))
    if missing.size:
        i = int(missing[0])
        raise ToolError(
            f"Beagle's output for the {what} panel lacks {missing.size} of its {reference.n_sites} sites "
            f"(first {reference.sites.chrom[i]}:{int(reference.sites.position[i])}); check the panel's sites"
        )
    return dosage


# ---------------------------------------------------------------------------- scoring
def array_sites(h: Haplotypes, every: int = 10, offset: int = 0) -> np.ndarray:
    """Indices of the "array" sites kept in the targets: every ``every``-th site of each chromosome.

    Parameters
    ----------
    h : Haplotypes, shape (n_haplotypes, n_sites)
        Only its site table is used.
    every
        Keep one site in ``every`` (at least 2, so that something is masked).
    offset
        Position of the first kept site in each chromosome's block, ``0 <= offset < every``.

    Returns
    -------
    ndarray of int64, shape (n_array,)
        Sorted site indices.
    """
    every, offset = int(every), int(offset)
    if every < 2:
        raise InputError(f"array_every must be at least 2 (keep one SNP in every k, mask the rest), found {every}")
    if not 0 <= offset < every:
        raise InputError(f"array_offset must be between 0 and array_every - 1 = {every - 1}, found {offset}")
    chrom = h.sites.chrom
    kept = []
    start = 0
    for stop in [*(np.flatnonzero(chrom[1:] != chrom[:-1]) + 1).tolist(), h.n_sites]:
        kept.append(np.arange(start + offset, stop, every))
        start = stop
    return np.concatenate(kept).astype(np.int64) if kept else np.zeros(0, dtype=np.int64)


def maf_bins(panel: Haplotypes | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minor allele frequency of each site in ``panel`` and its bin (:data:`MAF_BIN_LABELS`).

    Parameters
    ----------
    panel : Haplotypes or ndarray, shape (n_haplotypes, n_sites)

    Returns
    -------
    maf : ndarray of float64, shape (n_sites,)
    bin : ndarray of int64, shape (n_sites,)
        0 for MAF <= 1% (monomorphic sites included), 1 for 1% < MAF <= 5%, 2 for MAF > 5%;
        compared on integer counts, so that 2 of 200 haplotypes is exactly 1%.
    """
    matrix = panel.matrix if isinstance(panel, Haplotypes) else np.asarray(panel)
    n = matrix.shape[0]
    if n == 0:
        raise InputError("the MAF of a panel without haplotypes is undefined; pass a non-empty panel")
    alt = matrix.sum(axis=0, dtype=np.int64)
    minor = np.minimum(alt, n - alt)
    bins = np.where(minor * 100 <= n, 0, np.where(minor * 20 <= n, 1, 2)).astype(np.int64)
    return minor / n, bins


def imputation_r2(dosage: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Imputation r² of each site: squared Pearson correlation of dosage and truth across individuals.

    Parameters
    ----------
    dosage : ndarray of float, shape (n_sites, n_individuals)
        Imputed ALT dosage (0-2).
    truth : ndarray of int, shape (n_sites, n_individuals)
        True ALT allele count (0, 1, 2).

    Returns
    -------
    ndarray of float64, shape (n_sites,)
        NaN where the truth is the same for every individual (r² undefined); 0 where the
        truth varies and the dosage does not (nothing was imputed).
    """
    dosage = np.asarray(dosage, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    if dosage.shape != truth.shape or dosage.ndim != 2:
        raise InputError(f"dosage and truth must be 2-D of one shape, found {dosage.shape} and {truth.shape}")
    d = dosage - dosage.mean(axis=1, keepdims=True)
    t = truth - truth.mean(axis=1, keepdims=True)
    sdd, stt, sdt = (d * d).sum(axis=1), (t * t).sum(axis=1), (d * t).sum(axis=1)
    r2 = np.full(dosage.shape[0], np.nan)
    # constancy from the values themselves: centring a constant row leaves rounding residue
    varies = truth.max(axis=1) > truth.min(axis=1)
    informative = varies & (dosage.max(axis=1) > dosage.min(axis=1))
    r2[varies & ~informative] = 0.0
    r2[informative] = np.minimum(sdt[informative] ** 2 / (sdd[informative] * stt[informative]), 1.0)
    return r2


def _summarise(r2: np.ndarray, bins: np.ndarray) -> tuple[float, list[float], int, list[int]]:
    scored = np.isfinite(r2)
    overall = float(r2[scored].mean()) if scored.any() else float("nan")
    by_bin, n_by_bin = [], []
    for k in range(len(MAF_BIN_LABELS)):
        inside = scored & (bins == k)
        n_by_bin.append(int(inside.sum()))
        by_bin.append(float(r2[inside].mean()) if inside.any() else float("nan"))
    return overall, by_bin, int(scored.sum()), n_by_bin


def imputation_utility(
    real: Haplotypes,
    synthetic: Mapping[str, Haplotypes],
    holdout: Haplotypes,
    *,
    real_name: str = "real",
    array_every: int = 10,
    array_offset: int = 0,
    combined: bool = True,
    seed: int = 0,
    nthreads: int = 2,
    memory_gb: float = DEFAULT_MEMORY_GB,
    beagle: str | os.PathLike | None = None,
    timeout_s: float | None = None,
    keep_dosage: bool = False,
) -> dict[str, Any]:
    """Imputation r² of the holdout's masked SNPs with the real panel, each artificial panel and both.

    Parameters
    ----------
    real : Haplotypes, shape (n_real, n_sites)
        The real training set: the reference panel (a), and the panel whose minor allele
        frequencies define the MAF bins.
    synthetic : mapping of str to Haplotypes, each shape (n_syn, n_sites)
        Artificial sets by name; each becomes panel (b), subsampled without replacement to
        ``n_real`` haplotypes when larger (used whole, with a note, when smaller), and, with
        ``combined``, panel (c) ``"{real_name}+{name}"``: the real panel plus that subsample.
    holdout : Haplotypes, shape (2 * n_targets, n_sites)
        Real diploid individuals absent from every panel: the imputation targets.
    real_name
        Name of the real panel in the result.
    array_every, array_offset
        The targets keep the sites :func:`array_sites` selects; the others are imputed and scored.
    combined
        Also impute from real + artificial panels.
    seed
        Seed of the subsamples and of Beagle.
    nthreads, memory_gb, beagle, timeout_s
        Passed to :func:`run_beagle`.
    keep_dosage
        Also return the imputed dosages and the truth (for checks; large on big panels).

    Returns
    -------
    dict
        ``panels`` (names, in order: real, each artificial set, each combined panel),
        ``panel_role`` ({name: "real" | "synthetic" | "combined"}), ``panel_haplotypes``
        ({name: int}); ``n_targets``, ``n_sites``, ``n_array``, ``n_masked``, ``array_every``,
        ``array_offset``; ``bin_labels``, ``bin_edges``; ``masked_index`` (int, shape
        (n_masked,)), ``maf`` and ``maf_bin`` (shape (n_masked,), from the real panel),
        ``n_masked_by_bin`` (list of 3 ints); per panel: ``r2`` (mean over scored masked
        SNPs), ``r2_by_bin`` (list of 3), ``n_scored`` and ``n_scored_by_bin`` (SNPs with a
        defined r²), ``per_site_r2`` (shape (n_masked,)), ``seconds`` (wall time of the Beagle
        run, JVM start included); ``notes`` (sentences), ``settings`` (seed, nthreads,
        memory_gb, genetic map, Beagle version). With ``keep_dosage``: ``dosage`` ({panel:
        float32 (n_masked, n_targets)}) and ``truth`` (int8 (n_masked, n_targets)).

    Raises
    ------
    ToolError
        When Beagle is missing or fails.
    InputError
        When the sets do not share the real set's sites, the sites are unsorted or repeated,
        or there are fewer than 2 target individuals or no masked site.

    Examples
    --------
    >>> from haplogen.simulate import SimulationConfig, simulate_haplotypes
    >>> h = simulate_haplotypes(SimulationConfig(individuals_per_population=10,
    ...                         sequence_length=300_000, max_sites=200), seed=1)
    >>> train, holdout = h.take(slice(0, 48)), h.take(slice(48, 60))
    >>> result = imputation_utility(train, {}, holdout)  # doctest: +SKIP
    >>> result["r2"]["real"], result["r2_by_bin"]["real"]  # doctest: +SKIP
    """
    _check_sorted_unique(real, real_name)
    _check_same_sites(real, holdout, "holdout")
    for name, h in synthetic.items():
        _check_same_sites(real, h, f"artificial {name!r}")
        if name == real_name or (combined and f"{real_name}+{name}" in synthetic):
            raise InputError(f"the artificial set name {name!r} clashes with a panel name; rename the set")
    if real.n_haplotypes < 2:
        raise InputError(f"the real panel has {real.n_haplotypes} haplotypes; imputation needs at least 2")
    pairs = _diploid_rows(holdout, "holdout")
    if pairs.shape[0] < 2:
        raise InputError(
            f"the holdout has {pairs.shape[0]} individual; an imputation r² is a correlation across target "
            "individuals and needs at least 2"
        )
    kept = array_sites(real, array_every, array_offset)
    masked = np.setdiff1d(np.arange(real.n_sites), kept)
    if masked.size == 0:
        raise InputError("no site is left to impute; use a larger array_every or more sites")
    unavailable = beagle_unavailable_reason(beagle)
    if unavailable is not None:
        raise ToolError(f"cannot impute with Beagle: {unavailable}")

    maf_all, bin_all = maf_bins(real)
    maf, bins = maf_all[masked], bin_all[masked]
    truth = (holdout.matrix[pairs[:, 0]] + holdout.matrix[pairs[:, 1]]).T[masked].astype(np.int8)  # (n_masked, n_targets)
    targets = holdout.take(pairs.ravel()).take_sites(kept)

    notes = [
        f"Targets: the {pairs.shape[0]} holdout individuals keep {kept.size} of {real.n_sites} SNPs (every "
        f"{int(array_every)}th of each chromosome); the other {masked.size} are imputed by Beagle and scored.",
        "Imputation r² = squared Pearson correlation of Beagle's dosage (DS) and the true ALT allele count "
        "across target individuals, per masked SNP, averaged; MAF bins use the minor allele frequency in the "
        f"real panel ({real_name}).",
        "No genetic map was given to Beagle: it assumes 1 cM per Mb.",
    ]
    panels: dict[str, tuple[str, Haplotypes]] = {real_name: ("real", real)}
    extra: dict[str, tuple[str, Haplotypes]] = {}
    for name, h in synthetic.items():
        if h.n_haplotypes > real.n_haplotypes:
            # a generator of its own: a set's panel (and figure) does not depend on the sets before it
            rng = np.random.default_rng(seed)
            rows = np.sort(rng.choice(h.n_haplotypes, size=real.n_haplotypes, replace=False))
            sub = h.take(rows)
            notes.append(f"{name}: a random {real.n_haplotypes} of its {h.n_haplotypes} haplotypes form its panel "
                         "(the size of the real panel).")
        else:
            sub = h
            if h.n_haplotypes < real.n_haplotypes:
                notes.append(f"{name}: all its {h.n_haplotypes} haplotypes form its panel, fewer than the "
                             f"{real.n_haplotypes} of the real panel; its r² is not comparable at equal size.")
        panels[name] = ("synthetic", sub)
        if combined:
            both = Haplotypes.from_matrix(np.concatenate([real.matrix[: real.n_haplotypes - real.n_haplotypes % 2],
                                                          sub.matrix]), real.sites)
            extra[f"{real_name}+{name}"] = ("combined", both)
    panels.update(extra)

    result: dict[str, Any] = {
        "panels": list(panels),
        "panel_role": {name: role for name, (role, _) in panels.items()},
        "panel_haplotypes": {name: int(h.n_haplotypes - h.n_haplotypes % 2) for name, (_, h) in panels.items()},
        "n_targets": int(pairs.shape[0]),
        "n_sites": int(real.n_sites),
        "n_array": int(kept.size),
        "n_masked": int(masked.size),
        "array_every": int(array_every),
        "array_offset": int(array_offset),
        "bin_labels": list(MAF_BIN_LABELS),
        "bin_edges": list(MAF_BIN_EDGES),
        "masked_index": masked,
        "maf": maf,
        "maf_bin": bins,
        "n_masked_by_bin": [int((bins == k).sum()) for k in range(len(MAF_BIN_LABELS))],
        "r2": {}, "r2_by_bin": {}, "n_scored": {}, "n_scored_by_bin": {}, "per_site_r2": {}, "seconds": {},
        "notes": notes,
        "settings": {
            "seed": int(seed), "nthreads": int(nthreads), "memory_gb": float(memory_gb), "genetic_map": None,
            "beagle": _probe(tuple(_beagle_argv(beagle)[0]))[0],  # type: ignore[arg-type]
        },
    }
    if keep_dosage:
        result["dosage"], result["truth"] = {}, truth
    for name, (_, panel) in panels.items():
        start = time.perf_counter()
        dosage = run_beagle(panel, targets, seed=seed, nthreads=nthreads, memory_gb=memory_gb, beagle=beagle,
                            timeout_s=timeout_s, what=name)[masked]
        result["seconds"][name] = time.perf_counter() - start
        r2 = imputation_r2(dosage, truth)
        overall, by_bin, n_scored, n_by_bin = _summarise(r2, bins)
        result["r2"][name], result["r2_by_bin"][name] = overall, by_bin
        result["n_scored"][name], result["n_scored_by_bin"][name] = n_scored, n_by_bin
        result["per_site_r2"][name] = r2
        if keep_dosage:
            result["dosage"][name] = dosage
    unscored = masked.size - result["n_scored"][real_name]
    if unscored:
        notes.append(f"{unscored} masked SNPs are monomorphic among the targets (r² undefined) and left out.")
    return result


# ---------------------------------------------------------------------------- figure
def plot_imputation(result: Mapping[str, Any], *, ax: "Axes | None" = None) -> "Figure":
    """Imputation r² by MAF bin: one group of bars per panel, one bar per bin plus all SNPs.

    Parameters
    ----------
    result
        :func:`imputation_utility` result; reads ``panels``, ``r2``, ``r2_by_bin``,
        ``bin_labels`` and ``n_scored_by_bin``.
    ax
        Axes to draw into; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    if ax is None:
        width = max(5.0, 1.3 * len(result["panels"]) + 2.5)
        ax = Figure(figsize=(width, 4.0), layout="constrained").subplots()
    panels = list(result["panels"])
    labels = list(result["bin_labels"])
    reference = panels[0]
    series = [(f"MAF {label} ({result['n_scored_by_bin'][reference][k]} SNPs)",
               [result["r2_by_bin"][p][k] for p in panels]) for k, label in enumerate(labels)]
    series.append((f"all ({result['n_scored'][reference]} SNPs)", [result["r2"][p] for p in panels]))
    colours = ["#fdae61", "#abd9e9", "#2c7bb6", "#444444"]
    width = 0.8 / len(series)
    x = np.arange(len(panels))
    for k, (label, values) in enumerate(series):
        values = np.asarray(values, dtype=float)
        ax.bar(x - 0.4 + width * (k + 0.5), np.nan_to_num(values, nan=0.0), width=width,
               color=colours[k % len(colours)], label=label)
    ax.set_xticks(x, panels, rotation=20 if len(panels) > 4 else 0, ha="right" if len(panels) > 4 else "center")
    ax.set(ylim=(0, 1.05), ylabel="imputation r² (mean over masked SNPs)",
           title=f"Imputation of {result['n_masked']} masked SNPs in {result['n_targets']} holdout individuals")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax.figure
