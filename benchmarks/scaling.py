"""The scaling benchmark of issue 8: import, train, generate and evaluate as the data grow.

For each size (SNPs x haplotypes) one region is simulated with ``haplogen simulate`` (stdpopsim's
out-of-Africa model run by msprime, YRI/CEU/CHB, one chromosome of ``--bp-per-snp`` x SNPs base
pairs, SNPs of minor allele frequency >= 1% thinned evenly to the size, fixed seed), then the
pipeline a user would run, each step one ``haplogen`` subprocess:

1. ``haplogen import sim.vcf.gz -o data.vcz``: the chunked store;
2. ``haplogen train data.vcz --model MODEL`` (default ``hmm``, the linear-cost family) under
   ``--train-budget`` (the issue's 2 hours by default) or ``--epochs``;
3. ``haplogen generate model/ -n 10000`` (streamed to a VCF, or a store with ``--generate-format vcz``);
4. ``haplogen evaluate --real data.vcz --synthetic ag.vcf.gz``: fidelity statistics (block by
   block above evaluate's threshold; ``--evaluate-arg`` passes options such as ``--blockwise on``).

Each step's wall time and peak resident memory are read with ``os.wait4`` (the largest resident
set of the process or of any child it waited for; :class:`bench_models.Runner`). Apart from the
sizes, the *n check* trains the same family briefly on a small region (``--n-check``, 1,000 SNPs
x 10,000 haplotypes, under ``--n-check-budget``) and runs ``generate -n 10000`` and ``generate -n
--large-n`` (10^6) from it, to show that the memory of sampling does not grow with ``n`` (on a
small region, so that 10^6 haplotypes take minutes, not hours; the files are deleted). The growth of each step's
cost from the smallest size to each larger one is reported as an exponent: ``log(cost ratio) /
log(cells ratio)``, where cells = SNPs x haplotypes; 1 is linear growth.

Sizes (``--sizes``, ``SNPSxHAPLOTYPES`` separated by commas): the issue's 10,000 / 30,000 /
100,000 SNPs x 10,000 haplotypes and 10,000 SNPs x 50,000 haplotypes by default; ``--quick``
runs 1,000 and 2,000 SNPs x 1,000 haplotypes in a few minutes (mixar or hmm with ``--epochs``).
``haplogen simulate`` draws individuals per population, so a size of N haplotypes simulates
``ceil(N / 6)`` individuals in each of the 3 populations (10,002 for 10,000); the JSON records
the sizes as simulated.

Usage::

    .venv/bin/python benchmarks/scaling.py                                  # the issue's sizes (hours)
    .venv/bin/python benchmarks/scaling.py --quick --model mixar --epochs 2 # a dry run, a few minutes
    .venv/bin/python benchmarks/scaling.py --sizes 10000x10000 --model hmm --train-budget 30m

Writes ``benchmarks/results/scaling/scaling.json`` and ``scaling.md`` (``scaling_quick.*`` with
``--quick``); the data, stores, models, sets, reports and logs stay under
``benchmarks/results/scaling/work/`` (not committed), and simulated VCFs are reused by later runs
of the same size and seed (``--fresh`` simulates again).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_models import ROOT, Runner, _clean, _rel, say, sha256, software, software_line  # noqa: E402

OUT = HERE / "results" / "scaling"
#: the issue's sizes: (SNPs, haplotypes)
FULL_SIZES = ((10_000, 10_000), (30_000, 10_000), (100_000, 10_000), (10_000, 50_000))
QUICK_SIZES = ((1_000, 1_000), (2_000, 1_000))
#: the goals of issue 8, checked at 100,000 SNPs x 10,000 haplotypes
GOAL_SIZE = (100_000, 10_000)
GOALS = {"train_s": 2 * 3600, "generate_s": 15 * 60, "evaluate_s": 15 * 60, "peak_mb": 8 * 1024,
         "af_r": 0.99, "ld_r_windowed": 0.95}
STEPS = ("import", "train", "generate", "evaluate")


@dataclass(frozen=True)
class Size:
    sites: int
    haplotypes: int

    @property
    def name(self) -> str:
        return f"{self.sites}x{self.haplotypes}"

    @property
    def individuals_per_population(self) -> int:
        return math.ceil(self.haplotypes / 6)


def parse_sizes(text: str) -> list[Size]:
    sizes = []
    for item in text.split(","):
        sites, sep, haps = item.strip().lower().partition("x")
        try:
            size = Size(int(float(sites)), int(float(haps)))
        except ValueError:
            size = None
        if not sep or size is None or size.sites < 2 or size.haplotypes < 6:
            raise SystemExit(f"scaling.py: error: --sizes takes SNPSxHAPLOTYPES items (10000x10000), found {item!r}")
        sizes.append(size)
    return sizes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1,000 and 2,000 SNPs x 1,000 haplotypes (a dry run)")
    p.add_argument("--sizes", help="SNPSxHAPLOTYPES,... (default: the issue's four sizes; --quick: two small ones)")
    p.add_argument("--model", default="hmm", help="model family to train (default: hmm)")
    p.add_argument("--train-budget", default="2h", help="haplogen train --time-budget (default: 2h, the issue's goal)")
    p.add_argument("--epochs", type=int, help="haplogen train --epochs (with or instead of the budget)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="model settings for train")
    p.add_argument("--n", type=int, default=10_000, help="haplotypes to generate (default: 10,000)")
    p.add_argument("--large-n", type=int, default=None,
                   help="the n check: generate this many haplotypes beside --n, to measure memory against n "
                   "(default: 1,000,000; --quick: 100,000; 0 skips the check)")
    p.add_argument("--n-check", default=None, metavar="SNPSxHAPLOTYPES",
                   help="the region of the n check (default: 1000x10000; --quick: 1000x1000)")
    p.add_argument("--n-check-budget", default="10m", help="training budget of the n check's model (default: 10m)")
    p.add_argument("--generate-format", choices=["vcf", "vcz"], default="vcf",
                   help="what generate writes and evaluate reads (default: vcf)")
    p.add_argument("--evaluate-arg", action="append", default=[], metavar="ARG",
                   help="extra argument(s) for haplogen evaluate, e.g. --evaluate-arg='--blockwise on'")
    p.add_argument("--threads", type=int, default=2, help="--threads of train and generate (default: 2)")
    p.add_argument("--bp-per-snp", type=float, default=400.0,
                   help="simulated base pairs per SNP wanted (default: 400, enough SNPs of MAF >= 1%%)")
    p.add_argument("--seed", type=int, default=1, help="seed of the simulation; train, generate, evaluate use +1, +2, +3")
    p.add_argument("--fresh", action="store_true", help="simulate again even when a simulated VCF is there")
    p.add_argument("--merge", nargs="+", metavar="JSON",
                   help="write scaling.json/.md from the JSON of earlier runs (sizes run apart) instead of running")
    p.add_argument("--resume", action="store_true",
                   help="continue the training of an earlier run of these sizes (its store and model under the "
                   "work folder) with train --resume up to --epochs; the train time is the earlier run's plus this one's")
    p.add_argument("--out", default=str(OUT), help=f"results folder (default: {_rel(OUT)})")
    args = p.parse_args(argv)
    if args.sizes:
        args.size_list = parse_sizes(args.sizes)
    else:
        args.size_list = [Size(*s) for s in (QUICK_SIZES if args.quick else FULL_SIZES)]
    if args.large_n is None:
        args.large_n = 100_000 if args.quick else 1_000_000
    args.n_check_size = parse_sizes(args.n_check or ("1000x1000" if args.quick else "1000x10000"))[0]
    return args


def step_record(step: Any) -> dict[str, Any]:
    return {"seconds": step.seconds, "peak_rss_mb": step.peak_rss_mb, "ok": step.ok, "returncode": step.returncode,
            "argv": step.argv, "log": step.log, "error": step.error}


def subcommands() -> str:
    done = subprocess.run([sys.executable, "-m", "haplogen.cli", "--help"], capture_output=True, text=True, cwd=ROOT)
    return done.stdout


def vcf_shape(path: Path) -> dict[str, Any]:
    """Sites and haplotypes of a VCF as simulated, read from its record counts by a child process."""
    code = ("import sys, json, cyvcf2; v = cyvcf2.VCF(sys.argv[1]); s = len(v.samples); "
            "n = sum(1 for _ in v); print(json.dumps({'sites': n, 'haplotypes': 2 * s}))")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr.strip()[-500:]}


def simulate(runner: Runner, args: argparse.Namespace, size: Size, work: Path, row: dict[str, Any]) -> Path | None:
    """The simulated VCF of ``size`` (reused when a run of the same size and seed made it)."""
    sim = work / "data" / f"sim_{size.name}_seed{args.seed}.vcf.gz"
    sim.parent.mkdir(parents=True, exist_ok=True)
    if args.fresh or not sim.exists():
        step = runner.haplogen(f"{size.name}/simulate", "simulate", "-o", sim, "--individuals",
                               size.individuals_per_population, "--length", int(args.bp_per_snp * size.sites),
                               "--max-sites", size.sites, "--min-maf", 0.01, "--seed", args.seed, "--overwrite")
        row["steps"]["simulate"] = step_record(step)
        if not step.ok:
            row["skipped"] = f"the simulation failed; see {step.log}"
            return None
    else:
        row["steps"]["simulate"] = {"reused": _rel(sim)}
    row["simulated"] = {**vcf_shape(sim), "file": sha256(sim), "individuals_per_population":
                        size.individuals_per_population, "length_bp": int(args.bp_per_snp * size.sites),
                        "min_maf": 0.01, "seed": args.seed}
    return sim


def train_argv(args: argparse.Namespace, data: Path, model: Path, budget: str | None) -> list[Any]:
    argv: list[Any] = ["train", data, "--model", args.model, "-o", model, "--seed", args.seed + 1, "--overwrite",
                       "--threads", args.threads, "--progress-every", 60]
    if budget:
        argv += ["--time-budget", budget]
    if args.epochs:
        argv += ["--epochs", args.epochs]
    for item in args.set:
        argv += ["--set", item]
    return argv


def run_size(runner: Runner, args: argparse.Namespace, size: Size, work: Path, *, can_import: bool) -> dict[str, Any]:
    """Simulate one size, then import, train, generate and evaluate it; every step recorded."""
    d = work / size.name
    d.mkdir(parents=True, exist_ok=True)
    row: dict[str, Any] = {"size": size.name, "sites_asked": size.sites, "haplotypes_asked": size.haplotypes,
                           "steps": {}}
    sim = simulate(runner, args, size, work, row)
    if sim is None:
        return row
    real: Path = sim
    model = d / "model"
    resuming = args.resume and (model / "checkpoint.pt").exists() and (d / "data.vcz").exists()
    if resuming:
        row["steps"]["import"] = {"reused": _rel(d / "data.vcz")}
        real = d / "data.vcz"
    elif can_import:
        store = d / "data.vcz"
        step = runner.haplogen(f"{size.name}/import", "import", sim, "-o", store, "--overwrite")
        row["steps"]["import"] = step_record(step)
        if step.ok:
            real = store
    else:
        row["steps"]["import"] = {"skipped": "this haplogen has no import subcommand; train and evaluate read the VCF"}

    earlier = earlier_training(model) if resuming else None
    argv = train_argv(args, real, model, args.train_budget)
    if resuming:
        argv = [a for a in argv if a != "--overwrite"] + ["--resume"]
    step = runner.haplogen(f"{size.name}/train", *argv)
    row["steps"]["train"] = step_record(step)
    if earlier is not None:
        # the time to the model is both runs together; the peak is this run's (the earlier run's
        # is in its own JSON)
        row["steps"]["train"]["earlier_run"] = earlier
        if step.ok:
            row["steps"]["train"]["this_run_seconds"] = step.seconds
            row["steps"]["train"]["seconds"] = step.seconds + earlier["seconds"]
    if not step.ok:
        row["skipped"] = f"training failed (exit {step.returncode}); see {step.log}"
        return row
    provenance = json.loads((model / "provenance.json").read_text())
    row["training"] = provenance.get("training")

    suffix = ".vcz" if args.generate_format == "vcz" else ".vcf.gz"
    synthetic = d / f"ag{suffix}"
    step = runner.haplogen(f"{size.name}/generate", "generate", model, "-n", args.n, "-o", synthetic,
                           "--seed", args.seed + 2, "--overwrite", "--threads", args.threads)
    row["steps"]["generate"] = step_record(step)
    if not step.ok:
        row["skipped"] = f"generate failed (exit {step.returncode}); see {step.log}"
        return row

    extra = [a for item in args.evaluate_arg for a in shlex.split(item)]
    step = runner.haplogen(f"{size.name}/evaluate", "evaluate", "--real", real, "--synthetic", synthetic,
                           "-o", d / "evaluation", "--seed", args.seed + 3, "--overwrite", *extra)
    row["steps"]["evaluate"] = step_record(step)
    if step.ok:
        metrics = json.loads((d / "evaluation" / "metrics.json").read_text())
        name = next((k for k, v in metrics.get("sets", {}).items() if v.get("role") == "synthetic"), "ag")
        row["metrics"] = {key: stat.get("values", {}).get(name) for key, stat in metrics.get("statistics", {}).items()
                          if name in stat.get("values", {})}
        row["metrics"]["ld_r_windowed"] = windowed_ld_r(metrics.get("notes") or [], name, row["metrics"].get("ld_r"))
        row["evaluation_notes"] = metrics.get("notes")
    return row


def earlier_training(model: Path) -> dict[str, Any]:
    """The epochs and seconds of an earlier, checkpointed training run (its log's last line)."""
    lines = (model / "training_log.tsv").read_text().splitlines()
    header, last = lines[0].split("\t"), lines[-1].split("\t")
    record = dict(zip(header, last))
    return {"epochs": int(record["epoch"]), "seconds": float(record["elapsed_s"]), "log": lines}


def windowed_ld_r(notes: Sequence[str], name: str, ld_r: float | None) -> float | None:
    """LD r over the pairs within the window: evaluate states it in a note beside an all-pairs LD r
    ("... over the pairs within 200 sites only: ag 0.3630"); above its all-pairs limit the LD r
    itself is the windowed one (its note says "within" without a second figure)."""
    for note in notes:
        if note.startswith("LD r") and "within" in note:
            found = re.search(r"within [0-9,]+ sites only: (.*)$", note)
            if found:
                for part in found.group(1).rstrip(".").split(","):
                    label, _, value = part.strip().rpartition(" ")
                    if label == name:
                        try:
                            return float(value)
                        except ValueError:
                            return None
            return ld_r
    return None


def n_check(runner: Runner, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """``generate -n N`` and ``-n LARGE`` from one briefly trained model of a small region: memory against n."""
    size = args.n_check_size
    d = work / f"n-check-{size.name}"
    d.mkdir(parents=True, exist_ok=True)
    row: dict[str, Any] = {"size": size.name, "steps": {}, "n": args.n, "large_n": args.large_n}
    sim = simulate(runner, args, size, work, row)
    if sim is None:
        return row
    model = d / "model"
    step = runner.haplogen("n-check/train", *train_argv(args, sim, model, args.n_check_budget))
    row["steps"]["train"] = step_record(step)
    if not step.ok:
        row["skipped"] = f"training failed (exit {step.returncode}); see {step.log}"
        return row
    suffix = ".vcz" if args.generate_format == "vcz" else ".vcf.gz"
    for key, n in (("generate", args.n), ("generate_large_n", args.large_n)):
        out = d / f"ag_{n}{suffix}"
        step = runner.haplogen(f"n-check/generate n={n}", "generate", model, "-n", n, "-o", out,
                               "--seed", args.seed + 2, "--overwrite", "--threads", args.threads)
        row["steps"][key] = {**step_record(step), "n": n}
        for made in d.glob(f"ag_{n}*"):
            shutil.rmtree(made) if made.is_dir() else made.unlink()
    return row


def _value(row: dict[str, Any], key: str) -> float | None:
    value = (row.get("metrics") or {}).get(key)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _cost(row: dict[str, Any], step: str, what: str) -> float | None:
    rec = row.get("steps", {}).get(step) or {}
    value = rec.get(what)
    return float(value) if rec.get("ok") and isinstance(value, (int, float)) and math.isfinite(value) else None


def growth(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Exponent of each step's time and memory against cells (SNPs x haplotypes), from the
    smallest size to each larger one: ``log(cost ratio) / log(cells ratio)``, 1 is linear. Each
    size is compared with the smallest rather than with its neighbour in cells, because sizes
    of other shapes (more haplotypes, not more SNPs) can sit close together in cells, where a
    small ratio makes the exponent say more about noise than about growth."""
    out = []
    done = sorted((r for r in rows if r.get("simulated", {}).get("sites")),
                  key=lambda r: r["simulated"]["sites"] * r["simulated"]["haplotypes"])
    if not done:
        return out
    a = done[0]
    cells_a = a["simulated"]["sites"] * a["simulated"]["haplotypes"]
    for b in done[1:]:
        cells_b = b["simulated"]["sites"] * b["simulated"]["haplotypes"]
        if cells_a == cells_b:
            continue
        entry: dict[str, Any] = {"from": a["size"], "to": b["size"], "cells_ratio": cells_b / cells_a}
        for step in STEPS:
            for what, key in (("seconds", "time"), ("peak_rss_mb", "memory")):
                x, y = _cost(a, step, what), _cost(b, step, what)
                entry[f"{step}_{key}"] = (math.log(y / x) / math.log(cells_b / cells_a)) if x and y else None
        out.append(entry)
    return out


def goals(rows: list[dict[str, Any]], check: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The issue's goals, each met, not met, or not measured (the size was not run)."""
    found: list[dict[str, Any]] = []
    target = next((r for r in rows if (r["sites_asked"], r["haplotypes_asked"]) == GOAL_SIZE), None)

    def add(goal: str, met: bool | None, value: str) -> None:
        found.append({"goal": goal, "met": met, "value": value})

    if target is None:
        add(f"the goals at {GOAL_SIZE[0]:,} SNPs x {GOAL_SIZE[1]:,} haplotypes", None, "size not run")
    else:
        for step, key in (("train", "train_s"), ("generate", "generate_s"), ("evaluate", "evaluate_s")):
            s = _cost(target, step, "seconds")
            add(f"{step} within {GOALS[key] / 60:.0f} min", None if s is None else s <= GOALS[key],
                "failed or not run" if s is None else f"{s / 60:.1f} min")
        for key, label in (("af_r", "allele-frequency r"), ("ld_r_windowed", "LD r (windowed)")):
            v = _value(target, key)
            add(f"{label} >= {GOALS[key]}", None if v is None else v >= GOALS[key], "n/a" if v is None else f"{v:.4f}")
        peaks = [_cost(target, s, "peak_rss_mb") for s in STEPS]
        known = [p for p in peaks if p is not None]
        add("peak memory of every step <= 8 GB", (max(known) <= GOALS["peak_mb"]) if known else None,
            f"{max(known) / 1024:.2f} GB" if known else "n/a")
    slopes = [g.get(f"{s}_memory") for g in growth(rows) for s in STEPS]
    slopes = [s for s in slopes if s is not None]
    add("peak memory grows at most linearly with SNPs x haplotypes (exponent <= 1.1)",
        (max(slopes) <= 1.1) if slopes else None, f"largest exponent {max(slopes):.2f}" if slopes else "n/a")
    if check:
        small, large = check["steps"].get("generate") or {}, check["steps"].get("generate_large_n") or {}
        ok = small.get("ok") and large.get("ok")
        add(f"generate -n {check['large_n']:,} uses about the memory of -n {check['n']:,} (within 1.5x; "
            f"{check['size']})", (large["peak_rss_mb"] / small["peak_rss_mb"] <= 1.5) if ok else None,
            f"{small['peak_rss_mb']:,.0f} MB -> {large['peak_rss_mb']:,.0f} MB" if ok else "failed or not run")
    return found


def _cell(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def passes(row: dict[str, Any]) -> int | None:
    """Passes over the data of the model's training (a resumed run counts the earlier run's)."""
    epochs = (row.get("training") or {}).get("epochs_run")
    return None if epochs is None else int(epochs)


def markdown(result: dict[str, Any]) -> str:
    rows = result["rows"]
    lines = [f"# {result['benchmark']}", "",
             f"Model `{result['model']}`, {result['threads']} threads, seeds {result['seeds']}; "
             f"{software_line(result['software'])}. Time in seconds, peak resident memory in MB "
             "(`os.wait4` of each subprocess).", "",
             "| SNPs x haplotypes | import s / MB | train s / MB | passes | generate s / MB | evaluate s / MB | AF r | LD r | LD r windowed |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        sim = r.get("simulated", {})
        shape = f"{sim.get('sites', '?'):,} x {sim.get('haplotypes', '?'):,}" if sim.get("sites") else r["size"]
        cells = [shape]
        for step in STEPS:
            s, m = _cost(r, step, "seconds"), _cost(r, step, "peak_rss_mb")
            cells.append("–" if s is None else f"{s:,.0f} / {m:,.0f}")
            if step == "train":
                cells.append(str(passes(r) or "–"))
        cells += [_cell(_value(r, key), ".4f") for key in ("af_r", "ld_r", "ld_r_windowed")]
        lines.append("| " + " | ".join(cells) + " |")
    if result.get("merged_from"):
        lines += ["", "Merged from the runs " + ", ".join(f"`{p}`" for p in result["merged_from"]) + "; each row's "
                  "command and commit are in the JSON (`run`)."]
    check = result.get("n_check")
    if check and check["steps"].get("generate_large_n"):
        small, big = check["steps"]["generate"], check["steps"]["generate_large_n"]
        lines += ["", f"The n check ({check['size']}, the model trained under {result['n_check_budget']}): "
                  f"`generate -n {small['n']:,}` {_cell(small.get('seconds'), ',.0f')} s, "
                  f"{_cell(small.get('peak_rss_mb'), ',.0f')} MB; `-n {big['n']:,}` {_cell(big.get('seconds'), ',.0f')} s, "
                  f"{_cell(big.get('peak_rss_mb'), ',.0f')} MB."]
    if result["growth"]:
        lines += ["", "Growth exponent of each step against cells (SNPs x haplotypes), from the smallest size to "
                  "each larger one: 1 is linear. Training times count the passes of the column above.", "",
                  "| from -> to | cells x | " + " | ".join(f"{s} time / memory" for s in STEPS) + " |",
                  "| --- | --- | " + " | ".join("---" for _ in STEPS) + " |"]
        for g in result["growth"]:
            lines.append(f"| {g['from']} -> {g['to']} | {g['cells_ratio']:.1f} | " + " | ".join(
                f"{_cell(g[f'{s}_time'], '.2f')} / {_cell(g[f'{s}_memory'], '.2f')}" for s in STEPS) + " |")
    lines += ["", "| goal | met | value |", "| --- | --- | --- |"]
    for g in result["goals"]:
        lines.append(f"| {g['goal']} | {'yes' if g['met'] else 'no' if g['met'] is False else '–'} | {g['value']} |")
    failed = [f"{r['size']}: {r['skipped']}" for r in rows if r.get("skipped")]
    if failed:
        lines += ["", "Not finished: " + "; ".join(failed)]
    return "\n".join(lines) + "\n"


def merge(paths: Sequence[str], out: Path, name: str) -> dict[str, Any]:
    """One table from the JSON of several runs (sizes run apart, e.g. on two cores at once): their
    rows by growing cells, the n check of the run that has one, growth and goals computed again;
    each row keeps the command and software of its run."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    rows = []
    for run, path in zip(runs, paths):
        for row in run["rows"]:
            rows.append({**row, "run": {"file": _rel(Path(path)), "command": run["command"], "started": run["started"],
                                        "software": run["software"], "settings": run["settings"],
                                        "epochs": run["epochs"], "train_budget": run["train_budget"]}})
    rows.sort(key=lambda r: (r.get("simulated", {}).get("sites", 0) * r.get("simulated", {}).get("haplotypes", 0)))
    check_run = next((run for run in runs if run.get("n_check")), None)
    first = runs[0]
    result = {**first, "name": name, "merged_from": [_rel(Path(p)) for p in paths], "rows": rows,
              "command": [Path(sys.executable).name, _rel(Path(__file__)), "--merge", *map(str, paths)],
              "n_check": check_run["n_check"] if check_run else None,
              "n_check_budget": check_run["n_check_budget"] if check_run else None}
    result["growth"] = growth(rows)
    result["goals"] = goals(rows, result["n_check"])
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(_clean(result), indent=1) + "\n")
    (out / f"{name}.md").write_text(markdown(result))
    say(f"wrote {_rel(out / f'{name}.json')} and {_rel(out / f'{name}.md')} from {len(paths)} runs")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    if args.merge:
        merge(args.merge, out, "scaling")
        return 0
    name = "scaling_quick" if args.quick else "scaling"
    work = out / "work"
    for size in args.size_list:  # a fresh start for each size run (the simulated VCFs are kept)
        if not args.resume:
            shutil.rmtree(work / size.name, ignore_errors=True)
    shutil.rmtree(work / f"n-check-{args.n_check_size.name}", ignore_errors=True)
    runner = Runner(work, args.threads)
    can_import = " import " in subcommands().replace("{", " ").replace("}", " ").replace(",", " ")
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "haplogen scaling benchmark (issue 8): import, train, generate, evaluate as SNPs x haplotypes grow",
        "name": name,
        "quick": args.quick,
        "command": [Path(sys.executable).name, _rel(Path(__file__))] + list(sys.argv[1:] if argv is None else argv),
        "started": started.isoformat(timespec="seconds"),
        "model": args.model,
        "train_budget": args.train_budget,
        "epochs": args.epochs,
        "resume": args.resume,
        "settings": args.set,
        "n": args.n,
        "large_n": args.large_n,
        "n_check_size": args.n_check_size.name,
        "n_check_budget": args.n_check_budget,
        "generate_format": args.generate_format,
        "evaluate_args": args.evaluate_arg,
        "threads": args.threads,
        "seeds": {"simulate": args.seed, "train": args.seed + 1, "generate": args.seed + 2, "evaluate": args.seed + 3},
        "sizes": [s.name for s in args.size_list],
        "software": software(),
        "rows": [],
    }
    for size in args.size_list:
        result["rows"].append(run_size(runner, args, size, work, can_import=can_import))
    result["n_check"] = n_check(runner, args, work) if args.large_n else None
    result["growth"] = growth(result["rows"])
    result["goals"] = goals(result["rows"], result["n_check"])
    result["elapsed_s"] = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(_clean(result), indent=1) + "\n")
    (out / f"{name}.md").write_text(markdown(result))
    say(f"wrote {_rel(out / f'{name}.json')} and {_rel(out / f'{name}.md')} in {result['elapsed_s'] / 60:.1f} min")
    return 1 if any(r.get("skipped") for r in result["rows"] + [result["n_check"] or {}]) else 0


if __name__ == "__main__":
    sys.exit(main())
