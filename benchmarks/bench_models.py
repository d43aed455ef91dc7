"""The model benchmark (``make bench``): every model family, the published files and the real floor.

One run drives the ``haplogen`` command line in subprocesses, as a user would, and writes one
JSON record and one Markdown table per track (BENCHMARK.md; issue 7 point 4, issue 9):

Track A, the founding paper's 805-SNP panel (``../shared/data/1000g-805``)
    ``haplogen split --split-file split.tsv`` (2,002 train, 502 holdout individuals); for every
    registered family ``haplogen train`` on the train side (a conditional family with
    ``--labels samples.tsv``; the GAN under ``--time-budget``, 10 minutes by default, because its
    published 20,000 epochs take hours), ``haplogen generate -n 5000``; then ONE ``haplogen
    evaluate`` against the training set with ``--holdout`` of: every family's set, the two
    published files (``--legend 805_SNP.legend``; trained on all 5,008 haplotypes, the holdout
    included, so their privacy figures are marked as meaningless) and the real holdout itself,
    scored like a model (the floor an honest generator can reach; privacy not applicable).
    The sampling rate: ``haplogen generate -n 100000`` from each family's model, timed end to
    end (start-up, sampling and writing the VCF), then the file is deleted.
Track L, likelihood on GPC's split (``gpc_split.tsv``)
    Every family with an exact likelihood is trained on GPC's train side and scored on its
    holdout (``haplogen score``), in nats per haplotype and bits per SNP, beside GPC's published
    -389.76 and the baselines that haplogen computes on the same haplotypes (independent sites,
    a first-order Markov chain, ``xz -9``; :mod:`haplogen.metrics.compression`).
Track B, a simulated contiguous region
    ``haplogen simulate`` (stdpopsim out-of-Africa, YRI/CEU/CHB, one chromosome) of about 5,000
    haplotypes at 10,000 SNPs of minor allele frequency >= 1%, ``haplogen split --labels`` 80/20,
    then the protocol of track A, with the opt-in Beagle imputation statistic (imputation needs
    LD, so it runs on this region only): through ``evaluate``'s option when its command line has
    one, otherwise through the statistic's own function
    (:func:`haplogen.utility.imputation.imputation_utility`) in a subprocess, which also gives the
    real panel's r² by MAF bin. The GAN is skipped by default (its weights grow with the square of
    the SNP count: 238 million at 10,000 SNPs, minutes per epoch on 2 cores; the reason is
    recorded); the other families train under a time budget (``--budget-b``; rbm 30m, mixar 60m)
    and the table says what they reached.

Every step is one subprocess; its wall time and peak resident memory (``os.wait4``: the largest
resident set of the process or of any child it waited for, e.g. Beagle's Java) are recorded
with its command line. A step that fails is recorded with the tail of its log, the rest of the
benchmark goes on, and the program exits 1 at the end.

Usage::

    .venv/bin/python benchmarks/bench_models.py                 # the whole benchmark (make bench)
    .venv/bin/python benchmarks/bench_models.py --quick         # tiny sizes, a few minutes
    .venv/bin/python benchmarks/bench_models.py --tracks a,l --time-budget-gan 30m

Writes ``benchmarks/results/bench.json`` and ``bench.md`` (``bench_quick.*`` with ``--quick``),
and keeps every file it made (split, models, artificial sets, reports, logs) under
``benchmarks/results/bench/`` (``bench_quick/``), which is not committed; the JSON names them.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "1000g-805"

#: GPC's hidden Chow-Liu tree on gpc_split.tsv (Anand et al., ICLR 2026; the data README)
GPC_HOLDOUT_NATS = -389.76
GPC_TRAIN_NATS = -386.22
#: the baselines that BENCHMARK.md quotes for the same holdout, nats per haplotype
BENCHMARK_BASELINES_NATS = {"independent sites": -492.6, "Markov chain": -466.2, "xz -9": -558.3}

#: why the GAN is left out of track B unless asked for
GAN_B_REASON = (
    "skipped by default: the published GAN's layers are proportional to the SNP count, so its weights grow "
    "with its square ({weights:,} at {sites:,} SNPs, about {gb:.2g} GB with Adam's moments) and an epoch "
    "takes minutes on 2 cores; pass --b-families with gan to run it (under --budget-b gan=DURATION, default 30m)"
)


# ---------------------------------------------------------------------------- sizes and settings
@dataclass(frozen=True)
class Sizes:
    """The sizes of one benchmark run (full, or ``--quick`` for development)."""

    #: track A/L: individuals kept from the panel (None: all 2,504), split sides kept in proportion
    panel_individuals: int | None
    #: artificial haplotypes generated per family for the evaluation
    n_generate: int
    #: haplotypes generated to time the sampling rate
    n_rate: int
    #: track B: individuals per population, sequence length (bp), SNPs kept, MAF floor
    b_individuals: int
    b_length: float
    b_sites: int
    b_min_maf: float
    #: training time budgets; None: the family's own stopping rule
    budget_a: dict[str, str | None]
    budget_b: dict[str, str | None]
    #: AATS subsamples in evaluate
    aats_repeats: int


FULL = Sizes(
    panel_individuals=None, n_generate=5000, n_rate=100_000,
    # ~3.5 SNPs/kb at MAF >= 1% under the out-of-Africa model: 4 Mb gives ~14,000, thinned to 10,000
    b_individuals=833, b_length=4e6, b_sites=10_000, b_min_maf=0.01,
    budget_a={"gan": "10m"}, budget_b={"rbm": "30m", "mixar": "60m", "gan": "30m"},
    aats_repeats=5,
)
QUICK = Sizes(
    panel_individuals=200, n_generate=400, n_rate=1000,
    b_individuals=70, b_length=1.2e5, b_sites=300, b_min_maf=0.01,
    budget_a={"*": "5s"}, budget_b={"*": "5s"},
    aats_repeats=2,
)


# ---------------------------------------------------------------------------- running steps
@dataclass
class Step:
    """One subprocess of the benchmark: what ran, how long, how much memory, how it ended."""

    name: str
    argv: list[str]
    log: str
    seconds: float = math.nan
    peak_rss_mb: float = math.nan
    returncode: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "argv": self.argv, "log": self.log, "seconds": _num(self.seconds),
                "peak_rss_mb": _num(self.peak_rss_mb), "returncode": self.returncode, "error": self.error}


class Runner:
    """Runs commands as subprocesses, timing each and reading its peak memory with ``os.wait4``.

    Parameters
    ----------
    work
        The benchmark's folder; logs go to ``work/logs``.
    threads
        ``--threads`` given to ``train``, ``generate``, ``evaluate`` and ``score``.
    """

    def __init__(self, work: Path, threads: int) -> None:
        self.work = work
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.threads = threads
        self.steps: list[Step] = []

    def run(self, name: str, argv: Sequence[str], shown: str | None = None) -> Step:
        """Run ``argv`` (output to ``logs/NAME.log``) and record it; never raises on failure."""
        log = self.logs / f"{name.replace('/', '_').replace(' ', '_')}.log"
        step = Step(name, [str(a) for a in argv], _rel(log))
        say(f"[{name}] {shown or ' '.join(_short(a) for a in step.argv)}")
        start = time.perf_counter()
        with open(log, "wb") as out:
            try:
                proc = subprocess.Popen(step.argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
            except OSError as exc:  # the program itself could not start
                step.returncode, step.error = 127, str(exc)
                self.steps.append(step)
                return step
            # wait4 gives this child's own resource use (and that of the children it waited for)
            _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = step.returncode = os.waitstatus_to_exitcode(status)
        step.seconds = time.perf_counter() - start
        step.peak_rss_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
        if not step.ok:
            step.error = _tail(log)
            say(f"[{name}] FAILED (exit {step.returncode}): {step.error.splitlines()[-1] if step.error else ''}")
        else:
            say(f"[{name}] {step.seconds:.1f} s, peak {step.peak_rss_mb:,.0f} MB")
        self.steps.append(step)
        return step

    def haplogen(self, name: str, *args: Any) -> Step:
        """Run one ``haplogen`` subcommand with this interpreter."""
        return self.run(name, [sys.executable, "-m", "haplogen.cli", *map(str, args)])

    def python(self, name: str, code: str, *args: Any, what: str) -> Step:
        """Run a short Python program (``code``, reading ``sys.argv[1:]``) with this interpreter."""
        return self.run(name, [sys.executable, "-c", code, *map(str, args)], shown=f"python -c <{what}>")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def _short(arg: str) -> str:
    return _rel(Path(arg)) if arg.startswith("/") else arg


def _rel(path: Path) -> str:
    """A path relative to the repository when it lies inside it (the JSON stays portable)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _num(x: Any) -> Any:
    """JSON has no NaN: undefined numbers become null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return _num(obj)


def sha256(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return {"path": _rel(path), "sha256": digest.hexdigest(), "bytes": path.stat().st_size}


# ---------------------------------------------------------------------------- what this haplogen offers
def capabilities(runner: Runner) -> dict[str, Any]:
    """What the installed command line offers, read from its ``--help`` (features still arriving)."""

    def help_text(*cmd: str) -> str:
        done = subprocess.run([sys.executable, "-m", "haplogen.cli", *cmd, "--help"], capture_output=True,
                              text=True, cwd=ROOT)
        return done.stdout if done.returncode == 0 else ""

    top, evaluate = help_text(), help_text("evaluate")
    caps: dict[str, Any] = {"score": " score " in top or "\n    score" in top}
    if "--utility" in evaluate:
        caps["imputation_args"] = ["--utility", "imputation"]
    elif "--statistics" in evaluate:
        caps["imputation_args"] = ["--statistics", "imputation"]
    else:
        caps["imputation_args"] = None
    caps["evaluate_models_option"] = "--models" if "--models" in evaluate else None
    # the benchmark scores the real holdout as a set of its own (its floor row): evaluate's
    # reference column would compute the same again
    caps["evaluate_args"] = ["--no-reference"] if "--no-reference" in evaluate else []
    return caps


_QUERY = """
import json, sys
from haplogen.models.gan import gan_layer_sizes
from haplogen.models.registry import describe_families, get_family
out = {}
for name, description in describe_families().items():
    cls = get_family(name)
    out[name] = {"description": description, "conditional": bool(getattr(cls, "conditional", False)),
                 "tractable": bool(getattr(cls, "tractable", False))}
g, d = gan_layer_sizes(int(sys.argv[1]))
weights = sum(a * b + b for s in (g, d) for a, b in zip(s[:-1], s[1:]))
print(json.dumps({"families": out, "gan_weights": weights}))
"""


def families(b_sites: int) -> tuple[dict[str, dict[str, Any]], int]:
    """Every registered family (description, conditional on labels, tractable likelihood), and the
    GAN's weight count at ``b_sites`` SNPs.

    Asked of a subprocess, so that this driver never imports torch: a child starts with the
    driver's resident set as its high-water mark, so the driver must stay small for the peak
    memory of each step to be its own.
    """
    done = subprocess.run([sys.executable, "-c", _QUERY, str(b_sites)], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"bench_models.py: error: cannot list the model families: {done.stderr.strip()}")
    answer = json.loads(done.stdout)
    return answer["families"], int(answer["gan_weights"])


def software_line(soft: dict[str, Any]) -> str:
    """``haplogen VERSION at `COMMIT`, N cores``: the software a benchmark table was made with."""
    return f"haplogen {soft.get('haplogen')} at `{soft.get('git_commit', '')[:10]}`, {soft.get('cpu_count')} cores"


def software() -> dict[str, Any]:
    """Versions (read from the installed distributions, without importing them) and the git state."""
    from importlib import metadata

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT)
        return done.stdout.rstrip() if done.returncode == 0 else ""  # porcelain lines start with a space

    versions: dict[str, Any] = {"python": platform.python_version()}
    for dist in ("haplogen", "numpy", "torch", "cyvcf2", "scikit-learn", "msprime", "stdpopsim"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        **versions,
        "beagle": shutil.which("beagle"),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty_files": [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }


# ---------------------------------------------------------------------------- a track's shared protocol
@dataclass
class Row:
    """One set scored in a track's evaluation."""

    name: str
    kind: str  # "model", "published" or "real holdout"
    family: str | None = None
    file: str | None = None
    train: dict[str, Any] = field(default_factory=dict)
    generate: dict[str, Any] = field(default_factory=dict)
    rate: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    privacy: dict[str, Any] = field(default_factory=dict)
    privacy_meaningful: bool = True
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return dict(self.__dict__)


def budget_for(budgets: dict[str, str | None], family: str) -> str | None:
    return budgets.get(family, budgets.get("*"))


def train_family(runner: Runner, track: str, work: Path, train_vcf: Path, family: str, info: dict[str, Any],
                 *, labels: Path, budget: str | None, seed: int, settings: Sequence[str] = ()) -> Row:
    """``haplogen train`` of one family on ``train_vcf`` (a conditional one with ``--labels``), with
    ``--set KEY=VALUE`` for each of ``settings``."""
    row = Row(name=family, kind="model", family=family)
    model_dir = work / "models" / family
    args: list[Any] = ["train", train_vcf, "--model", family, "-o", model_dir, "--seed", seed, "--overwrite",
                       "--threads", runner.threads, "--progress-every", 30]
    if info["conditional"]:
        args += ["--labels", labels]
    if budget:
        args += ["--time-budget", budget]
    for setting in settings:
        args += ["--set", setting]
    step = runner.haplogen(f"{track}/train {family}", *args)
    row.train = {"step": step.name, "seconds": step.seconds, "peak_rss_mb": step.peak_rss_mb, "time_budget": budget,
                 "model_dir": _rel(model_dir), "ok": step.ok}
    if not step.ok:
        row.skipped = f"training failed (exit {step.returncode}); see {step.log}"
        return row
    provenance = json.loads((model_dir / "provenance.json").read_text())
    row.train["training"] = provenance.get("training")
    row.train["config"] = provenance.get("parameters", {}).get("config")
    return row


def generate_set(runner: Runner, track: str, work: Path, row: Row, *, n: int, seed: int) -> Row:
    """``haplogen generate -n N`` from a trained family's model into ``sets/FAMILY.vcf.gz``."""
    if row.skipped:
        return row
    out = work / "sets" / f"{row.family}.vcf.gz"
    step = runner.haplogen(f"{track}/generate {row.family}", "generate", work / "models" / str(row.family), "-n", n,
                           "-o", out, "--seed", seed + 1, "--overwrite", "--threads", runner.threads)
    row.generate = {"step": step.name, "seconds": step.seconds, "peak_rss_mb": step.peak_rss_mb, "n": n, "ok": step.ok}
    if not step.ok:
        row.skipped = f"generation failed (exit {step.returncode}); see {step.log}"
        return row
    row.file = _rel(out)
    return row


def evaluate(runner: Runner, track: str, work: Path, *, real: Path, holdout: Path, sets: list[Path],
             labels: Path, seed: int, aats_repeats: int, extra: Sequence[Any] = ()) -> tuple[Step, dict[str, Any] | None]:
    """ONE ``haplogen evaluate`` of every set against the training set, with the holdout."""
    out = work / "evaluation"
    step = runner.haplogen(
        f"{track}/evaluate", "evaluate", "--real", real, "--holdout", holdout, "--synthetic", *sets,
        "--labels", labels, "--seed", seed, "--aats-repeats", aats_repeats, "-o", out, "--overwrite",
        "--threads", runner.threads, *extra,
    )
    if not step.ok:
        return step, None
    return step, json.loads((out / "metrics.json").read_text())


def attach_metrics(rows: list[Row], metrics: dict[str, Any]) -> None:
    """Copy every scalar of ``metrics.json`` and each privacy verdict into the rows."""
    for row in rows:
        if row.skipped:
            continue
        row.metrics = {key: stat.get("values", {}).get(row.name) for key, stat in metrics.get("statistics", {}).items()
                       if row.name in stat.get("values", {})}
        row.metrics["n_haplotypes"] = metrics.get("sets", {}).get(row.name, {}).get("n_haplotypes")
        stats = metrics.get("statistics", {})
        reference = {key: stat.get("reference") for key, stat in stats.items()}
        if row.kind == "real holdout":
            # the floor of the utility statistics is the real training set in an artificial set's place
            # (train on real; the real imputation panel): evaluate's reference column, measured anyway
            for key in ("toar_accuracy", *_IMPUTATION_KEYS):
                if row.metrics.get(key) is None and reference.get(key) is not None:
                    row.metrics[key] = reference[key]
        elif row.metrics.get("imputation_r2") is not None:
            row.metrics["imputation_r2_gap_by_bin"] = [_diff(row.metrics.get(key), reference.get(key))
                                                       for key in _IMPUTATION_KEYS[1:]]
        verdict = metrics.get("privacy", {}).get(row.name)
        if isinstance(verdict, dict):
            row.privacy = {"status": verdict.get("status"), "reasons": verdict.get("reasons"),
                           "values": verdict.get("values")}


def train_on_real(notes: Sequence[str] | None) -> float | None:
    """Train-on-real accuracy, which the classifier statistic states in a note (not in its values)."""
    for note in notes or ():
        found = re.match(r"Train on real, test on real: accuracy ([0-9.]+)", note)
        if found:
            return float(found.group(1))
    return None


def sampling_rate(runner: Runner, track: str, work: Path, row: Row, *, n: int, seed: int) -> None:
    """``haplogen generate -n N`` to a VCF, timed end to end, then the file is deleted."""
    if row.skipped:
        return
    out = work / "rate" / f"{row.family}.vcf.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    step = runner.haplogen(f"{track}/rate {row.family}", "generate", work / "models" / str(row.family), "-n", n,
                           "-o", out, "--seed", seed + 2, "--overwrite", "--threads", runner.threads)
    for made in out.parent.glob(out.name.split(".")[0] + ".*"):
        made.unlink()
    row.rate = {"step": step.name, "n": n, "seconds": step.seconds, "peak_rss_mb": step.peak_rss_mb, "ok": step.ok,
                "per_minute": n / step.seconds * 60 if step.ok else None,
                "what": "haplogen generate -n N to a bgzipped VCF, wall time of the whole command (start-up, model "
                        "load, sampling, writing); the file is then deleted"}


def link(target: Path, name: Path) -> Path:
    """A symbolic link ``name`` -> ``target``, so that a set gets a short name in the report."""
    name.parent.mkdir(parents=True, exist_ok=True)
    if name.is_symlink() or name.exists():
        name.unlink()
    name.symlink_to(target)
    return name


def holdout_copy(holdout: Path, sets: Path) -> Path:
    """The real holdout as a set of its own (``real_holdout.vcf.gz``, a copy with its index)."""
    dest = sets / "real_holdout.vcf.gz"
    sets.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(holdout, dest)
    for index in (".tbi", ".csi"):
        if Path(str(holdout) + index).exists():
            shutil.copyfile(str(holdout) + index, str(dest) + index)
    return dest


# ---------------------------------------------------------------------------- the quick panel subset
def pick_individuals(split_table: Path, n: int, seed: int) -> list[str]:
    """``n`` individuals of a split table, each side in proportion (for ``--quick``)."""
    with open(split_table) as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t")]
    rng = random.Random(seed)
    chosen: list[dict[str, str]] = []
    for side in ("train", "holdout"):
        members = [r for r in rows if r["set"] == side]
        k = round(n * len(members) / len(rows))
        chosen += rng.sample(members, k)
    return sorted(r["sample"] for r in chosen)


def write_split_subset(split_table: Path, keep: list[str], out: Path) -> Path:
    keep_set = set(keep)
    with open(split_table) as f:
        lines = f.read().splitlines()
    out.write_text("\n".join([lines[0]] + [ln for ln in lines[1:] if ln.split("\t")[0] in keep_set]) + "\n")
    return out


# ---------------------------------------------------------------------------- track A
def track_a(runner: Runner, args: argparse.Namespace, sizes: Sizes, fams: dict[str, dict[str, Any]],
            caps: dict[str, Any]) -> dict[str, Any]:
    data = Path(args.data)
    work = runner.work / "a"
    vcf, legend, labels = data / "1000g_805snp.vcf.gz", data / "805_SNP.legend", data / "samples.tsv"
    split_table = data / "split.tsv"
    work.mkdir(parents=True, exist_ok=True)
    subset: list[Any] = []
    if sizes.panel_individuals:
        keep = pick_individuals(split_table, sizes.panel_individuals, args.seed)
        split_table = write_split_subset(split_table, keep, work / "split_subset.tsv")
        subset = ["--samples", ",".join(keep)]
    step = runner.haplogen("a/split", "split", vcf, "--split-file", split_table, "-o", work / "split", "--seed",
                           args.seed, "--overwrite", *subset)
    track: dict[str, Any] = {"data": _rel(data), "split_table": _rel(split_table), "steps": [step.name]}
    if not step.ok:
        track["failed"] = f"split failed: {step.error}"
        return track
    train_vcf, holdout = work / "split" / "train.vcf.gz", work / "split" / "holdout.vcf.gz"
    rows = []
    for family in args.families_a:
        row = train_family(runner, "a", work, train_vcf, family, fams[family], labels=labels,
                           budget=budget_for(args.budget_a, family), seed=args.seed)
        rows.append(generate_set(runner, "a", work, row, n=sizes.n_generate, seed=args.seed))
    published = data / "published_ags"
    for name, file in (("published_gan", "805_SNP_GAN_AG_20000epochs.hapt.gz"),
                       ("published_rbm", "805_SNP_RBM_AG_800Epochs.hapt.gz")):
        row = Row(name=name, kind="published", privacy_meaningful=False)
        row.file = _rel(link(published / file, work / "sets" / f"{name}.hapt.gz"))
        row.notes.append(f"{file}: published by Yelmen et al. 2021, trained on all 5,008 haplotypes (the holdout "
                         "included), so its privacy figures against this holdout are meaningless")
        rows.append(row)
    floor = Row(name="real_holdout", kind="real holdout", privacy_meaningful=False)
    floor.file = _rel(holdout_copy(holdout, work / "sets"))
    floor.notes.append("the real holdout scored like an artificial set: the floor an honest generator can reach; "
                       "privacy is not applicable (it is the holdout itself)")
    rows.append(floor)
    sets = [ROOT / r.file for r in rows if r.file and not r.skipped]
    step, metrics = evaluate(runner, "a", work, real=train_vcf, holdout=holdout, sets=sets, labels=labels,
                             seed=args.seed, aats_repeats=sizes.aats_repeats,
                             extra=["--legend", legend, *caps["evaluate_args"]])
    track["evaluate"] = {"step": step.name, "seconds": step.seconds, "peak_rss_mb": step.peak_rss_mb, "ok": step.ok,
                         "report": _rel(work / "evaluation" / "report.html"),
                         "metrics": _rel(work / "evaluation" / "metrics.json")}
    if metrics is not None:
        attach_metrics(rows, metrics)
        track["skipped_statistics"] = metrics.get("skipped")
        track["evaluation_notes"] = metrics.get("notes")
        track["train_on_real_accuracy"] = train_on_real(metrics.get("notes"))
    track["set_files"] = [sha256(p) for p in sets]
    for row in rows:
        if row.kind == "model":
            sampling_rate(runner, "a", work, row, n=sizes.n_rate, seed=args.seed)
    track["rows"] = {r.name: r.record() for r in rows}
    return track


# ---------------------------------------------------------------------------- track L
_SCORE_API = """
import json, sys
import numpy as np
from haplogen.api import load_trained, read_input
model, sites, _ = load_trained(sys.argv[1])
out = {}
for side, path in (("train", sys.argv[2]), ("holdout", sys.argv[3])):
    h = read_input(path)
    ll = np.asarray(model.log_likelihood(h.matrix), dtype=float)
    out[side] = {"n_haplotypes": int(h.n_haplotypes), "n_sites": int(h.n_sites), "mean_nats": float(ll.mean())}
print(json.dumps(out))
"""

_BASELINES = """
import json, sys
from haplogen.api import read_input
from haplogen.metrics.compression import compression_baselines
train, holdout = read_input(sys.argv[1]), read_input(sys.argv[2])
print(json.dumps(compression_baselines(train.matrix, holdout.matrix), default=float))
"""


_IMPUTATION_API = """
import json, sys
import numpy as np
from haplogen.api import read_input
from haplogen.utility.imputation import imputation_utility
seed, train, holdout = int(sys.argv[1]), read_input(sys.argv[2]), read_input(sys.argv[3])
sets = {}
for item in sys.argv[4:]:
    name, path = item.split("=", 1)
    sets[name] = read_input(path)
r = imputation_utility(train, sets, holdout, real_name="real", seed=seed, nthreads=2)
keep = ("panels", "panel_role", "panel_haplotypes", "n_targets", "n_sites", "n_array", "n_masked", "array_every",
        "bin_labels", "n_masked_by_bin", "r2", "r2_by_bin", "n_scored", "n_scored_by_bin", "seconds", "notes", "settings")
print(json.dumps({k: r[k] for k in keep if k in r}, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
"""

#: value keys of the imputation statistic, overall and by MAF bin (<= 1%, 1-5%, > 5%)
_IMPUTATION_KEYS = ("imputation_r2", "imputation_r2_maf_le1", "imputation_r2_maf_1to5", "imputation_r2_maf_gt5")


def imputation_by_api(runner: Runner, work: Path, rows: list["Row"], *, train: Path, holdout: Path,
                      seed: int) -> dict[str, Any]:
    """Beagle imputation r² through :func:`haplogen.utility.imputation.imputation_utility` (the function
    behind evaluate's opt-in ``imputation`` statistic), for a haplogen whose command line cannot
    switch that statistic on. The values go into the rows under the statistic's own keys."""
    sets = [f"{r.name}={ROOT / r.file}" for r in rows if r.kind == "model" and r.file and not r.skipped]
    step = runner.python("b/imputation", _IMPUTATION_API, seed, train, holdout, *sets,
                         what="imputation_utility(train, sets, holdout)")
    if not step.ok:
        return {"method": "api", "failed": step.error}
    result = _last_json(step.log)
    real = "real"
    for row in rows:
        if row.name in result["r2"]:
            values = [result["r2"][row.name], *result["r2_by_bin"][row.name]]
            row.metrics.update(dict(zip(_IMPUTATION_KEYS, values)))
            row.metrics["imputation_r2_gap"] = _diff(result["r2"][row.name], result["r2"][real])
            row.metrics["imputation_r2_gap_by_bin"] = [_diff(a, b) for a, b in zip(result["r2_by_bin"][row.name],
                                                                                   result["r2_by_bin"][real])]
            combined = f"{real}+{row.name}"
            if combined in result["r2"]:
                row.metrics["imputation_r2_combined_gain"] = _diff(result["r2"][combined], result["r2"][real])
    return {"method": "haplogen.utility.imputation.imputation_utility through the Python API (evaluate's command "
                      "line has no option for the opt-in imputation statistic)", "step": step.name,
            "seconds": step.seconds, "peak_rss_mb": step.peak_rss_mb, "result": result}


def _diff(a: Any, b: Any) -> float | None:
    return None if a is None or b is None else float(a) - float(b)


def _score_table(path: Path) -> dict[str, Any]:
    """Means of a ``haplogen score`` table: nats per haplotype and bits per SNP (comment lines skipped)."""
    with open(path) as f:
        reader = csv.DictReader([ln for ln in f if not ln.startswith("#")], delimiter="\t")
        rows = list(reader)
    if not rows or "log_likelihood_nats" not in rows[0]:
        raise ValueError(f"{path}: expected a haplogen score table with a log_likelihood_nats column, "
                         f"found columns {reader.fieldnames}")
    n = len(rows)
    return {"mean_nats": sum(float(r["log_likelihood_nats"]) for r in rows) / n,
            "bits_per_snp": sum(float(r["bits_per_snp"]) for r in rows) / n if "bits_per_snp" in rows[0] else None,
            "n_haplotypes": n, "table": _rel(path)}


def _last_json(log: str) -> Any:
    """The JSON object that a ``runner.python`` program printed last (warnings may precede it)."""
    lines = (ROOT / log).read_text().splitlines()
    return json.loads(next(ln for ln in reversed(lines) if ln.startswith("{")))


def track_l(runner: Runner, args: argparse.Namespace, sizes: Sizes, fams: dict[str, dict[str, Any]],
            caps: dict[str, Any]) -> dict[str, Any]:
    data = Path(args.data)
    work = runner.work / "l"
    vcf, labels = data / "1000g_805snp.vcf.gz", data / "samples.tsv"
    split_table = data / "gpc_split.tsv"
    work.mkdir(parents=True, exist_ok=True)
    subset: list[Any] = []
    if sizes.panel_individuals:
        keep = pick_individuals(split_table, sizes.panel_individuals, args.seed)
        split_table = write_split_subset(split_table, keep, work / "split_subset.tsv")
        subset = ["--samples", ",".join(keep)]
    track: dict[str, Any] = {"split_table": _rel(split_table), "gpc_holdout_nats": GPC_HOLDOUT_NATS,
                             "gpc_train_nats": GPC_TRAIN_NATS, "benchmark_md_baselines_nats": BENCHMARK_BASELINES_NATS}
    step = runner.haplogen("l/split", "split", vcf, "--split-file", split_table, "-o", work / "split", "--seed",
                           args.seed, "--overwrite", *subset)
    if not step.ok:
        track["failed"] = f"split failed: {step.error}"
        return track
    train_vcf, holdout = work / "split" / "train.vcf.gz", work / "split" / "holdout.vcf.gz"
    step = runner.python("l/baselines", _BASELINES, train_vcf, holdout, what="compression_baselines(train, holdout)")
    track["baselines"] = _last_json(step.log) if step.ok else {"failed": step.error}
    rows: dict[str, Any] = {}
    for family in args.families_a:
        info = fams[family]
        if not info["tractable"]:
            rows[family] = {"skipped": f"the {family} family has no tractable likelihood (its held-out "
                                       "log-likelihood would need an estimate, e.g. annealed importance sampling, "
                                       "which haplogen does not make): left out"}
            continue
        row = train_family(runner, "l", work, train_vcf, family, info, labels=labels,
                           budget=budget_for(args.budget_a, family), seed=args.seed)
        entry: dict[str, Any] = {"training": row.train}
        if not row.train.get("ok"):
            entry["failed"] = row.skipped
        elif caps["score"]:
            entry["method"] = "haplogen score (marginal likelihood, no --labels)"
            for side, path in (("train", train_vcf), ("holdout", holdout)):
                table = work / f"{family}_{side}_scores.tsv"
                step = runner.haplogen(f"l/score {family} {side}", "score", work / "models" / family, path,
                                       "-o", table, "--overwrite", "--threads", runner.threads)
                entry[side] = _score_table(table) if step.ok else {"failed": step.error}
        else:
            entry["method"] = ("model.log_likelihood through the Python API (this haplogen has no 'score' command); "
                               "marginal likelihood, no labels")
            step = runner.python(f"l/score {family}", _SCORE_API, work / "models" / family, train_vcf, holdout,
                                 what="model.log_likelihood(train, holdout)")
            if step.ok:
                for side, scored in _last_json(step.log).items():
                    scored["bits_per_snp"] = -scored["mean_nats"] / (scored["n_sites"] * math.log(2))
                    entry[side] = scored
            else:
                entry["failed"] = step.error
        if "mean_nats" in entry.get("train", {}) and "mean_nats" in entry.get("holdout", {}):
            entry["train_minus_holdout_nats"] = entry["train"]["mean_nats"] - entry["holdout"]["mean_nats"]
        rows[family] = entry
    track["rows"] = rows
    return track


# ---------------------------------------------------------------------------- track B
def track_b(runner: Runner, args: argparse.Namespace, sizes: Sizes, fams: dict[str, dict[str, Any]],
            caps: dict[str, Any]) -> dict[str, Any]:
    work = runner.work / "b"
    work.mkdir(parents=True, exist_ok=True)
    sim = work / "sim.vcf.gz"
    labels = work / "sim.samples.tsv"
    step = runner.haplogen(
        "b/simulate", "simulate", "-o", sim, "--individuals", sizes.b_individuals, "--length", int(sizes.b_length),
        "--max-sites", sizes.b_sites, "--min-maf", sizes.b_min_maf, "--chromosomes", 1, "--seed", args.seed,
        "--overwrite",
    )
    track: dict[str, Any] = {
        "simulation": {"model": "stdpopsim HomSap OutOfAfrica_3G09 (YRI, CEU, CHB), one chromosome",
                       "individuals_per_population": sizes.b_individuals, "length_bp": sizes.b_length,
                       "max_sites": sizes.b_sites, "min_maf": sizes.b_min_maf, "seed": args.seed,
                       "vcf": _rel(sim), "ok": step.ok},
    }
    if not step.ok:
        track["failed"] = f"simulation failed: {step.error}"
        return track
    track["simulation"]["summary"] = _tail(ROOT / step.log, 1)
    track["simulation"]["files"] = [sha256(sim), sha256(labels)]
    step = runner.haplogen("b/split", "split", sim, "--labels", labels, "--seed", args.seed, "-o", work / "split",
                           "--overwrite")
    if not step.ok:
        track["failed"] = f"split failed: {step.error}"
        return track
    track["split"] = _tail(ROOT / step.log, 1)
    train_vcf, holdout = work / "split" / "train.vcf.gz", work / "split" / "holdout.vcf.gz"
    rows = []
    for family in fams:
        if family not in args.families_b:
            row = Row(name=family, kind="model", family=family)
            if family == "gan":
                weights = args.gan_weights_b
                row.skipped = GAN_B_REASON.format(weights=weights, sites=sizes.b_sites, gb=weights * 4 * 4 / 1e9)
            else:
                row.skipped = "left out by --b-families"
            rows.append(row)
            continue
        row = train_family(runner, "b", work, train_vcf, family, fams[family], labels=labels,
                           budget=budget_for(args.budget_b, family), seed=args.seed,
                           settings=args.set_b.get(family, ()))
        rows.append(generate_set(runner, "b", work, row, n=sizes.n_generate, seed=args.seed))
    floor = Row(name="real_holdout", kind="real holdout", privacy_meaningful=False)
    floor.file = _rel(holdout_copy(holdout, work / "sets"))
    floor.notes.append("the real holdout scored like an artificial set (the floor); privacy and imputation (it would "
                       "impute itself) are not applicable")
    rows.append(floor)
    extra: list[Any] = list(caps["evaluate_args"])
    if caps["imputation_args"]:
        extra += caps["imputation_args"]
        track["imputation"] = {"method": f"haplogen evaluate {' '.join(caps['imputation_args'])}"}
    sets = [ROOT / r.file for r in rows if r.file and not r.skipped]
    step, metrics = evaluate(runner, "b", work, real=train_vcf, holdout=holdout, sets=sets, labels=labels,
                             seed=args.seed, aats_repeats=sizes.aats_repeats, extra=extra)
    track["evaluate"] = {"step": step.name, "seconds": step.seconds, "peak_rss_mb": step.peak_rss_mb, "ok": step.ok,
                         "report": _rel(work / "evaluation" / "report.html"),
                         "metrics": _rel(work / "evaluation" / "metrics.json")}
    if metrics is not None:
        attach_metrics(rows, metrics)
        track["skipped_statistics"] = metrics.get("skipped")
        track["evaluation_notes"] = metrics.get("notes")
        track["train_on_real_accuracy"] = train_on_real(metrics.get("notes"))
        track["n_sites"] = metrics.get("sets", {}).get("real", {}).get("n_sites")
    track["set_files"] = [sha256(p) for p in sets]
    if not caps["imputation_args"]:
        track["imputation"] = imputation_by_api(runner, work, rows, train=train_vcf, holdout=holdout, seed=args.seed)
    track["rows"] = {r.name: r.record() for r in rows}
    return track


# ---------------------------------------------------------------------------- goals
def _get(row: dict[str, Any], key: str) -> float | None:
    v = (row.get("metrics") or {}).get(key)
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)


def _within(value: float | None, ref: float | None, rel: float, *, higher_is_better: bool) -> bool | None:
    """Within ``rel`` of the floor ``ref``, or better than it."""
    if value is None or ref is None:
        return None
    if higher_is_better:
        return value >= ref - rel * abs(ref)
    return value <= ref + rel * abs(ref)


def goals(result: dict[str, Any], sizes: Sizes) -> list[dict[str, Any]]:
    """Each goal of issue 7 (and issue 9's), per family, as met / not met / not measured."""
    out: list[dict[str, Any]] = []

    def add(track: str, set_name: str, goal: str, met: bool | None, value: str) -> None:
        out.append({"track": track, "set": set_name, "goal": goal, "met": met, "value": value})

    def fmt(v: float | None, spec: str = ".4f") -> str:
        return "n/a" if v is None else format(v, spec)

    a = result["tracks"].get("a", {}).get("rows", {})
    floor_a = a.get("real_holdout", {})
    for name, row in a.items():
        if row["kind"] != "model":
            continue
        if row.get("skipped"):
            add("A", name, "805-SNP goals", None, row["skipped"])
            continue
        af, ld = _get(row, "af_r"), _get(row, "ld_r")
        aats, aat, aas = _get(row, "aats"), _get(row, "aa_truth"), _get(row, "aa_syn")
        add("A", name, "allele-frequency r >= 0.998", None if af is None else af >= 0.998, fmt(af))
        add("A", name, "LD r >= 0.99", None if ld is None else ld >= 0.99, fmt(ld))
        ok = None if None in (aats, aat, aas) else (abs(aats - 0.5) <= 0.02 and abs(aat - 0.5) <= 0.05
                                                     and abs(aas - 0.5) <= 0.05)
        add("A", name, "AATS 0.50 ± 0.02 with AA_truth and AA_syn each 0.50 ± 0.05", ok,
            f"{fmt(aats, '.3f')} ({fmt(aat, '.3f')} / {fmt(aas, '.3f')})")
        t3, t3f = _get(row, "three_point_r_random"), _get(floor_a, "three_point_r_random")
        add("A", name, "3-point r within 10% of the real holdout's", _within(t3, t3f, 0.10, higher_is_better=True),
            f"{fmt(t3, '.3f')} vs {fmt(t3f, '.3f')}")
        pw, pwf = _get(row, "pairwise_w1"), _get(floor_a, "pairwise_w1")
        add("A", name, "pairwise-distance W1 within 10% of the real holdout's",
            _within(pw, pwf, 0.10, higher_is_better=False), f"{fmt(pw, '.3f')} vs {fmt(pwf, '.3f')}")
        cp = _get(row, "exact_copies")
        add("A", name, "no exact copies", None if cp is None else cp == 0, fmt(cp, ".0f"))
        status = (row.get("privacy") or {}).get("status")
        mia = _get(row, "mia_auc")
        ok = None if status is None or mia is None else (status == "pass" and mia <= 0.55)
        add("A", name, "privacy verdict PASS with MIA AUC <= 0.55", ok, f"{status} (AUC {fmt(mia, '.3f')})")
        secs = (row.get("train") or {}).get("seconds")
        add("A", name, "training in <= 10 minutes on 2 cores", None if secs is None else secs <= 600,
            f"{secs:.0f} s" if secs else "n/a")
        rate = (row.get("rate") or {}).get("per_minute")
        add("A", name, ">= 100,000 haplotypes of 805 SNPs per minute (generate, end to end)",
            None if rate is None else rate >= 100_000, f"{rate:,.0f}/min" if rate else "n/a")
        toar_gap = _get(row, "toar_accuracy_gap")
        add("A", name, "train-on-artificial accuracy within 2 points of train-on-real (issue 9)",
            None if toar_gap is None else abs(toar_gap) <= 0.02, fmt(toar_gap, "+.3f"))

    lt = result["tracks"].get("l", {})
    base = lt.get("baselines") or {}
    base_bits = _baseline_bits(base)
    for name, row in (lt.get("rows") or {}).items():
        if row.get("skipped"):
            add("L", name, "held-out bits per SNP below every baseline", None, row["skipped"])
            continue
        bits = (row.get("holdout") or {}).get("bits_per_snp")
        ok = None if bits is None or not base_bits else all(bits < b for b in base_bits.values())
        add("L", name, "held-out bits per SNP below every baseline", ok,
            f"{fmt(bits)} vs " + ", ".join(f"{k} {v:.4f}" for k, v in base_bits.items()))
        nats = (row.get("holdout") or {}).get("mean_nats")
        add("L", name, f"held-out log-likelihood above GPC's {GPC_HOLDOUT_NATS} nats (not an issue goal; the figure "
            "to beat)", None if nats is None or sizes.panel_individuals else nats > GPC_HOLDOUT_NATS, fmt(nats, ".2f"))
    if lt.get("rows"):
        add("L", "rbm", "below the RBM's estimate", None,
            "the RBM is left out: its likelihood is intractable and haplogen makes no estimate of it")

    if b_rows := result["tracks"].get("b", {}).get("rows"):
        add("B", "–", "the same on make demo's data (LD r and PCA W1 within 10% of the holdout's)", None,
            "not measured here: run make demo")
    b = b_rows or {}
    floor_b = b.get("real_holdout", {})
    for name, row in b.items():
        if row["kind"] != "model":
            continue
        if row.get("skipped"):
            add("B", name, "10,000-SNP goals", None, row["skipped"])
            continue
        ld, ldf = _get(row, "ld_r"), _get(floor_b, "ld_r")
        add("B", name, "LD r within 10% of the real holdout's", _within(ld, ldf, 0.10, higher_is_better=True),
            f"{fmt(ld, '.3f')} vs {fmt(ldf, '.3f')}")
        for pc in ("pca_w1_pc1", "pca_w1_pc2"):
            v, f = _get(row, pc), _get(floor_b, pc)
            add("B", name, f"PCA W1 ({pc[-3:].upper()}) within 10% of the real holdout's",
                _within(v, f, 0.10, higher_is_better=False), f"{fmt(v, '.3f')} vs {fmt(f, '.3f')}")
        add("B", name, "LD-decay curve on top of the real one", None,
            f"a figure, not a number: see {result['tracks']['b'].get('evaluate', {}).get('report')}")
        secs = (row.get("train") or {}).get("seconds")
        add("B", name, "training in <= 1 hour on 2 cores", None if secs is None else secs <= 3600,
            f"{secs:.0f} s" if secs else "n/a")
        gap = _get(row, "imputation_r2_gap")
        add("B", name, "imputation r² within 0.02 of the real panel overall (issue 9)",
            None if gap is None else abs(gap) <= 0.02, fmt(gap, "+.4f"))
        by_bin = (row.get("metrics") or {}).get("imputation_r2_gap_by_bin")
        if by_bin:
            # a bin without masked SNPs has no r² (None): it cannot fail the goal, and is shown as n/a
            known = [g for g in by_bin if g is not None]
            add("B", name, "imputation r² within 0.02 of the real panel in every MAF bin (issue 9)",
                None if not known else all(abs(g) <= 0.02 for g in known),
                " / ".join(fmt(g, "+.4f") for g in by_bin))
        else:
            add("B", name, "imputation r² within 0.02 of the real panel in every MAF bin (issue 9)", None,
                "the real panel's r² by bin is not in metrics.json")
    return out


def _baseline_bits(base: dict[str, Any]) -> dict[str, float]:
    """``{baseline: held-out bits per SNP}`` from :func:`compression_baselines`' record."""
    out = {}
    for key, value in base.items():
        if isinstance(value, dict) and "bits_per_snp" in value:
            out[key] = float(value["bits_per_snp"])
    return out


# ---------------------------------------------------------------------------- Markdown
def _cell(v: Any, spec: str = ".3f") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, (int, float)):
        return format(v, spec)
    return str(v)


def _first(row: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if (row.get("metrics") or {}).get(key) is not None:
            return row["metrics"][key]
    return None


def _bits_key(row: dict[str, Any]) -> float | None:
    """Held-out bits per SNP from the likelihood statistic (NaN, hence None, for intractable models)."""
    return _first(row, "heldout_bits_per_snp")


def _row_label(row: dict[str, Any]) -> str:
    if row["kind"] == "published":
        return {"published_gan": "published GAN, 20,000 epochs †", "published_rbm": "published RBM, 800 epochs †"}.get(
            row["name"], row["name"] + " †")
    if row["kind"] == "real holdout":
        return "**real holdout (floor)**"
    train = row.get("train") or {}
    training = train.get("training") or {}
    bits = [row["name"]]
    if training:
        bits.append(f"{training.get('epochs_run')} ep., {training.get('stopped_by')}")
    if train.get("time_budget"):
        bits.append(f"budget {train['time_budget']}")
    return bits[0] + (f" ({'; '.join(bits[1:])})" if len(bits) > 1 else "")


def _cost(step: dict[str, Any]) -> str:
    if not step or step.get("seconds") is None:
        return "–"
    return f"{step['seconds']:.0f} s / {step['peak_rss_mb']:,.0f} MB"


def markdown_track(rows: dict[str, Any], *, imputation: bool) -> list[str]:
    head = ["set", "n", "AF r", "LD r", "3-pt r", "pair W1", "PCA W1 (PC1/PC2)", "AATS", "AA truth / syn",
            "copies", "pop AF r / Fst r", "bits/SNP held-out", "ToAR acc.", "privacy (MIA AUC)"]
    if imputation:
        head.append("imput. r² all (≤1% / 1–5% / >5%)")
    head += ["train (s / peak)", "generate (s / peak)", "haplotypes/min"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in rows.values():
        label = _row_label(row)
        if row.get("skipped"):
            lines.append(f"| {label} | " + " | ".join(["–"] * (len(head) - 2)) + f" | {row['skipped']} |")
            continue
        m = row.get("metrics") or {}
        privacy = row.get("privacy") or {}
        if row["kind"] == "real holdout":
            priv = "n/a (the holdout itself)"
        else:
            priv = f"{privacy.get('status', '–')} ({_cell(m.get('mia_auc'))})" + ("" if row["privacy_meaningful"] else " †")
        cells = [
            label, _cell(m.get("n_haplotypes"), ","), _cell(m.get("af_r"), ".4f"), _cell(m.get("ld_r"), ".4f"),
            _cell(m.get("three_point_r_random")), _cell(m.get("pairwise_w1")),
            f"{_cell(m.get('pca_w1_pc1'))} / {_cell(m.get('pca_w1_pc2'))}", _cell(m.get("aats")),
            f"{_cell(m.get('aa_truth'))} / {_cell(m.get('aa_syn'))}", _cell(m.get("exact_copies"), ".0f"),
            f"{_cell(m.get('pop_af_r_mean'))} / {_cell(m.get('fst_r'))}", _cell(_bits_key(row), ".4f"),
            _cell(m.get("toar_accuracy")), priv,
        ]
        if imputation:
            # the floor row's figures are the real training panel's (the holdout cannot impute itself)
            panel = "real panel: " if row["kind"] == "real holdout" and m.get("imputation_r2") is not None else ""
            cells.append(f"{panel}{_cell(m.get('imputation_r2'))} ({_cell(m.get('imputation_r2_maf_le1'))} / "
                         f"{_cell(m.get('imputation_r2_maf_1to5'))} / {_cell(m.get('imputation_r2_maf_gt5'))})")
        rate = (row.get("rate") or {}).get("per_minute")
        cells += [_cost(row.get("train")), _cost(row.get("generate")), _cell(rate, ",.0f")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(result: dict[str, Any]) -> str:
    sw = result["software"]
    quick = " (--quick: tiny sizes, for development only; not results)" if result["quick"] else ""
    out = [f"## haplogen model benchmark{quick}", "",
           f"haplogen {sw['haplogen']}, commit {sw['git_commit'][:10]}{' + local changes' if sw['git_dirty_files'] else ''}, "
           f"{sw['platform']}, {sw['cpu_count']} CPU cores, {result['started']}; seed {result['seed']}; "
           f"{result['wall_s'] / 60:.1f} minutes in all. `{' '.join(result['command'])}` "
           f"(`{result.get('json', 'benchmarks/results/' + result['name'] + '.json')}`).", ""]
    tracks = result["tracks"]
    if "a" in tracks:
        t = tracks["a"]
        out += ["### Track A: 1000 Genomes 805-SNP panel, `split.tsv` (train on the train individuals; every set "
                "scored against the training set, privacy against the holdout)", ""]
        if t.get("failed"):
            out.append(f"Failed: {t['failed']}")
        else:
            out += markdown_track(t.get("rows", {}), imputation=False)
            out += ["", "† Published artificial genomes of Yelmen et al. 2021, trained on all 5,008 haplotypes (the "
                    "holdout included): their privacy figures against this holdout are meaningless. The GAN of this "
                    "table trains under a time budget (the published 20,000 epochs take hours). The real holdout's "
                    "AATS is computed at its own size (n), the others at the training set's size. "
                    "Haplotypes/min: `haplogen generate -n N` to a VCF, end to end. ToAR: train-on-artificial "
                    "population classifier tested on the real holdout (sets with a samples table); train-on-real "
                    f"accuracy {_cell(t.get('train_on_real_accuracy'))}."]
        out.append("")
    if "l" in tracks:
        t = tracks["l"]
        out += ["### Track L: held-out log-likelihood on GPC's split (`gpc_split.tsv`)", ""]
        if t.get("failed"):
            out.append(f"Failed: {t['failed']}")
        else:
            out += ["| model | holdout nats/haplotype | holdout bits/SNP | train nats/haplotype | train − holdout |",
                    "| --- | --- | --- | --- | --- |"]
            for name, row in (t.get("rows") or {}).items():
                if row.get("skipped") or row.get("failed"):
                    out.append(f"| {name} | {row.get('skipped') or row.get('failed')} | | | |")
                    continue
                h, tr = row.get("holdout") or {}, row.get("train") or {}
                out.append(f"| {name} | {_cell(h.get('mean_nats'), '.2f')} | {_cell(h.get('bits_per_snp'), '.4f')} | "
                           f"{_cell(tr.get('mean_nats'), '.2f')} | {_cell(row.get('train_minus_holdout_nats'), '.2f')} |")
            out.append(f"| GPC hidden Chow–Liu tree (published) | {GPC_HOLDOUT_NATS} | "
                       f"{-GPC_HOLDOUT_NATS / (805 * math.log(2)):.4f} | {GPC_TRAIN_NATS} | "
                       f"{GPC_TRAIN_NATS - GPC_HOLDOUT_NATS:.2f} |")
            for key, value in (t.get("baselines") or {}).items():
                if isinstance(value, dict) and "bits_per_snp" in value:
                    out.append(f"| baseline: {key} | {_cell(value.get('nats_per_haplotype'), '.2f')} | {_cell(value['bits_per_snp'], '.4f')} | | |")
        out.append("")
    if "b" in tracks:
        t = tracks["b"]
        n_sites = t.get("n_sites")
        out += [f"### Track B: simulated contiguous region ({_cell(n_sites, ',')} SNPs, out-of-Africa YRI/CEU/CHB, "
                f"{t.get('simulation', {}).get('individuals_per_population', 0) * 3:,} individuals, split 80/20)", ""]
        if t.get("failed"):
            out.append(f"Failed: {t['failed']}")
        else:
            rows = t.get("rows", {})
            imputed = any((r.get("metrics") or {}).get("imputation_r2") is not None for r in rows.values())
            out += markdown_track(rows, imputation=imputed)
            imp = t.get("imputation") or {}
            real = ((imp.get("result") or {}).get("r2") or {}).get("real")
            real_bins = ((imp.get("result") or {}).get("r2_by_bin") or {}).get("real") or [None] * 3
            out += ["", f"ToAR: train-on-real accuracy {_cell(t.get('train_on_real_accuracy'))}.",
                    "", f"Imputation (Beagle 5, the holdout's every 10th SNP kept, the rest imputed; artificial "
                    f"panels subsampled to the real panel's size): {imp.get('method', 'not run')}"
                    + (f"; failed: {imp['failed']}" if imp.get("failed") else "")
                    + (f". The real training panel: r² {_cell(real)} ({' / '.join(_cell(v) for v in real_bins)})"
                       if real is not None else "") + "."]
        out.append("")
    out += ["### Goals of issue 7 (and issue 9's)", "", "| track | set | goal | met | value |",
            "| --- | --- | --- | --- | --- |"]
    for g in result["goals"]:
        met = {True: "**met**", False: "not met", None: "not measured"}[g["met"]]
        out.append(f"| {g['track']} | {g['set']} | {g['goal']} | {met} | {g['value']} |")
    if result["failures"]:
        out += ["", "Failed steps: " + "; ".join(f"{f['name']} (exit {f['returncode']})" for f in result["failures"])]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------- main
def _budgets(items: Iterable[str], defaults: dict[str, str | None]) -> dict[str, str | None]:
    out = dict(defaults)
    for item in items:
        family, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"bench_models.py: error: expected FAMILY=DURATION (e.g. rbm=20m), found {item!r}")
        out[family] = value or None
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes and time budgets (development)")
    parser.add_argument("--tracks", default="a,l,b", help="tracks to run, from a, l, b (default: a,l,b)")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the 1000g-805 folder (default: %(default)s)")
    parser.add_argument("--out", default=str(HERE / "results"), help="results folder (default: benchmarks/results)")
    parser.add_argument("--seed", type=int, default=1, help="seed of every step (default: 1)")
    parser.add_argument("--threads", type=int, default=2, help="--threads of train, generate, evaluate and score (default: 2)")
    parser.add_argument("--families", default=None, help="families of tracks A and L (default: every registered one)")
    parser.add_argument("--b-families", default=None,
                        help="families of track B (default: every registered one but gan)")
    parser.add_argument("--time-budget-gan", default=None, help="the GAN's budget on track A (default: 10m)")
    parser.add_argument("--budget-a", action="append", default=[], metavar="FAMILY=DURATION",
                        help="a family's --time-budget on tracks A and L (repeatable; empty: none)")
    parser.add_argument("--budget-b", action="append", default=[], metavar="FAMILY=DURATION",
                        help="a family's --time-budget on track B (default: rbm=30m, mixar=60m, gan=30m)")
    parser.add_argument("--set-b", action="append", default=[], metavar="FAMILY:KEY=VALUE",
                        help="a family's setting on track B, e.g. hmm:n_states=96 (repeatable; default: none)")
    parser.add_argument("--b-sites", type=int, default=None, help="SNPs of the track B region (default: 10,000)")
    parser.add_argument("--b-length", type=float, default=None, help="length of the track B region in bp (default: 4e6)")
    parser.add_argument("--n", type=int, default=None, help="artificial haplotypes per family (default: 5,000)")
    args = parser.parse_args(argv)
    args.tracks = [t.strip().lower() for t in args.tracks.split(",") if t.strip()]
    bad = [t for t in args.tracks if t not in ("a", "l", "b")]
    if bad:
        parser.error(f"--tracks takes a, l and b, found {bad}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(**{**base.__dict__,
                     **({"b_sites": args.b_sites} if args.b_sites else {}),
                     **({"b_length": args.b_length} if args.b_length else {}),
                     **({"n_generate": args.n} if args.n else {})})
    budget_a = dict(sizes.budget_a)
    if args.time_budget_gan:
        budget_a["gan"] = args.time_budget_gan
    args.budget_a = _budgets(args.budget_a, budget_a)
    args.budget_b = _budgets(args.budget_b, sizes.budget_b)
    settings_b: dict[str, list[str]] = {}
    for item in args.set_b:
        family, sep, setting = item.partition(":")
        if not sep or "=" not in setting:
            parser.error(f"--set-b takes FAMILY:KEY=VALUE, e.g. hmm:n_states=96; found {item!r}")
        settings_b.setdefault(family, []).append(setting)
    args.set_b = settings_b
    fams, args.gan_weights_b = families(sizes.b_sites)
    names = list(fams)
    args.families_a = [f.strip() for f in args.families.split(",")] if args.families else names
    args.families_b = ([f.strip() for f in args.b_families.split(",")] if args.b_families
                       else [f for f in names if f != "gan"])
    unknown = [f for f in args.families_a + args.families_b if f not in fams]
    if unknown:
        print(f"bench_models.py: error: unknown families {unknown}; registered: {', '.join(names)}", file=sys.stderr)
        return 2
    data = Path(args.data)
    if ({"a", "l"} & set(args.tracks)) and not (data / "1000g_805snp.vcf.gz").exists():
        print(f"bench_models.py: error: tracks A and L need the 805-SNP panel, not found in {data}; pass --data, or "
              "run only track B with --tracks b", file=sys.stderr)
        return 2

    name = "bench_quick" if args.quick else "bench"
    out = Path(args.out)
    work = out / name
    for track in args.tracks:  # this benchmark's own folders: a fresh start for each track run
        shutil.rmtree(work / track, ignore_errors=True)
    runner = Runner(work, args.threads)
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    caps = capabilities(runner)
    inputs = []
    if {"a", "l"} & set(args.tracks):
        for f in ("1000g_805snp.vcf.gz", "805_SNP.legend", "samples.tsv", "split.tsv", "gpc_split.tsv",
                  "published_ags/805_SNP_GAN_AG_20000epochs.hapt.gz", "published_ags/805_SNP_RBM_AG_800Epochs.hapt.gz"):
            inputs.append(sha256(data / f))
    result: dict[str, Any] = {
        "benchmark": "haplogen model benchmark (make bench): tracks A, L, B of BENCHMARK.md; issue 7 point 4, issue 9",
        "name": name,
        "json": _rel(out / f"{name}.json"),
        "quick": args.quick,
        "command": [Path(sys.executable).name, _rel(Path(__file__))] + list(sys.argv[1:] if argv is None else argv),
        "started": started.isoformat(timespec="seconds"),
        "seed": args.seed,
        "seeds": {"train": args.seed, "generate": args.seed + 1, "rate": args.seed + 2, "evaluate": args.seed,
                  "split": args.seed, "simulate": args.seed},
        "sizes": sizes.__dict__,
        "budgets": {"a": args.budget_a, "b": args.budget_b},
        "settings_b": args.set_b,
        "threads": args.threads,
        "software": software(),
        "capabilities": caps,
        "families": fams,
        "inputs": inputs,
        "tracks": {},
    }
    runners = {"a": track_a, "l": track_l, "b": track_b}
    for track in ("a", "l", "b"):
        if track in args.tracks:
            say(f"== track {track.upper()}")
            result["tracks"][track] = runners[track](runner, args, sizes, fams, caps)
    result["wall_s"] = time.perf_counter() - t0
    # every child starts with the driver's resident set as its high-water mark: the floor of each peak
    result["driver_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["steps"] = [s.record() for s in runner.steps]
    result["failures"] = [s.record() for s in runner.steps if not s.ok]
    result["goals"] = goals(result, sizes)
    result = _clean(result)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    (out / f"{name}.md").write_text(table)
    print(table)
    say(f"wrote {_rel(out / (name + '.json'))}, {_rel(out / (name + '.md'))}; files under {_rel(work)}")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
