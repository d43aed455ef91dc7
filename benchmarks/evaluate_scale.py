"""Time and peak memory of ``evaluate()`` + ``write_outputs()`` at scale (benchmark track S).

One simulated data set (stdpopsim out-of-Africa, msprime) is split by individual into a real
(training) set, a synthetic set and a holdout set, all on the same sites: by default 10,000
real and 10,000 synthetic haplotypes x 10,000 SNPs, plus 2,000 holdout haplotypes for the
privacy audit. The synthetic set is real haplotypes of other individuals, which is the
best case for fidelity and the worst case for no statistic: every statistic does its full
work whatever the values.

Each measurement runs in a fresh child process, so that its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) belongs to the evaluation alone and not to
the simulation. Beside it, the child times a float32 matrix product of fixed size as a
machine-speed reference (this machine is shared and noisy; compare ratios, not seconds).

Usage::

    python benchmarks/evaluate_scale.py                      # 10k x 10k, 1 run
    python benchmarks/evaluate_scale.py --haplotypes 2000 --sites 2000 --repeats 3
    python benchmarks/evaluate_scale.py --json benchmarks/results/evaluate_scale.json

The simulated data are cached (``--cache``, default ``/tmp/haplogen-evaluate-scale``), so
only the first run pays for the simulation.

``--files REAL SYNTHETIC`` measures the command itself on existing files instead (issue 8's
chromosome-scale evaluate: a VCF Zarr store of the real set and the artificial VCF): one
``haplogen evaluate --real REAL --synthetic SYNTHETIC`` subprocess (``--holdout`` and
``--evaluate-arg`` pass on), its wall time and peak resident memory from ``os.wait4``, the
time of each statistic from its ``metrics.json``, the AATS and privacy subsample sizes from
its provenance, and the load average of the machine before and after::

    python benchmarks/evaluate_scale.py --files benchmarks/results/scaling/work/100000x10000/data.vcz \
        benchmarks/results/scaling/work/100000x10000/ag.vcf.gz --seed 4 \
        --json benchmarks/results/evaluate_scale_100000x10000.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from haplogen.haplotypes import Haplotypes, Sites  # noqa: E402
from haplogen.provenance import write_json_atomic  # noqa: E402

#: side of the square float32 matrix product used as the machine-speed reference
REFERENCE_MATMUL = 4096


def _cache_file(args: argparse.Namespace) -> Path:
    name = f"sim_{args.haplotypes}x{args.sites}_h{args.holdout}_L{args.sequence_length}_s{args.seed}.npz"
    return Path(args.cache) / name


def make_data(args: argparse.Namespace) -> Path:
    """Simulate (or reuse) the data set and save it as one .npz file; return its path."""
    from haplogen.simulate import SimulationConfig, simulate_haplotypes

    path = _cache_file(args)
    if path.exists():
        return path
    n_total = 2 * args.haplotypes + args.holdout
    per_population = math.ceil(n_total / 6)  # 3 populations x 2 haplotypes per individual
    t0 = time.perf_counter()
    h = simulate_haplotypes(
        SimulationConfig(individuals_per_population=per_population, sequence_length=args.sequence_length,
                         min_maf=0.01, max_sites=args.sites),
        seed=args.seed,
    )
    print(f"simulated {h} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if h.n_sites < args.sites:
        raise SystemExit(f"the simulation gave {h.n_sites} sites, fewer than {args.sites}; raise --sequence-length")
    samples = np.random.default_rng(args.seed).permutation(h.samples)
    n_real, n_hold = args.haplotypes // 2, args.holdout // 2
    parts = {
        "real": h.select_samples(samples[:n_real]),
        "syn": h.select_samples(samples[n_real:2 * n_real]),
        "holdout": h.select_samples(samples[2 * n_real:2 * n_real + n_hold]),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"{k}_matrix": v.matrix for k, v in parts.items()}
    arrays.update({f"{k}_sample": v.haplotype_sample.astype(str) for k, v in parts.items()})
    arrays.update({f"{k}_population": v.population.astype(str) for k, v in parts.items()})
    arrays.update({f"sites_{c}": np.asarray(getattr(h.sites, c)).astype(str if c != "position" else np.int64)
                   for c in ("chrom", "position", "id", "ref", "alt")})
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as tmp:
        np.savez(tmp, **arrays)
    os.replace(tmp.name, path)
    return path


def _load(path: Path) -> dict[str, Haplotypes]:
    data = np.load(path)
    sites = Sites(**{c: data[f"sites_{c}"] for c in ("chrom", "position", "id", "ref", "alt")})
    out = {}
    for part in ("real", "syn", "holdout"):
        sample = data[f"{part}_sample"]
        ids = np.array([f"{s}_{'AB'[i % 2]}" for i, s in enumerate(sample)])
        population = data[f"{part}_population"] if part != "syn" else None  # a model's output has no labels
        out[part] = Haplotypes(data[f"{part}_matrix"], sites, sample, ids, population=population,
                               super_population=population, source={"benchmark": str(path), "part": part})
    return out


def child(path: Path, out_dir: Path, aats_repeats: int) -> dict:
    """One measurement (runs in its own process)."""
    from haplogen.evaluation import evaluate
    from haplogen.report import write_outputs

    sets = _load(path)
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rng = np.random.default_rng(0)
    a = rng.random((REFERENCE_MATMUL, REFERENCE_MATMUL), dtype=np.float32)
    t0 = time.perf_counter()
    a @ a
    reference_s = time.perf_counter() - t0
    del a
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    ev = evaluate(sets["real"], {"synthetic": sets["syn"]}, holdout=sets["holdout"], seed=1,
                  aats_repeats=aats_repeats, command=["benchmarks/evaluate_scale.py"])
    t_eval = time.perf_counter() - t0
    paths = write_outputs(ev, out_dir)
    t_total = time.perf_counter() - t0
    return {
        "evaluate_s": t_eval,
        "write_outputs_s": t_total - t_eval,
        "total_s": t_total,
        "cpu_s": time.process_time() - cpu0,
        "reference_matmul_s": reference_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_loading_mb": rss_loaded / 1024,
        "stages_s": {k: round(v, 2) for k, v in ev.timings.items()},
        "report_bytes": paths["report"].stat().st_size,
        "metrics": {k: round(v, 4) for k, v in ev.metrics["synthetic"].items()},
        "privacy_status": ev.privacy["synthetic"]["verdict"]["status"],
        "notes": ev.notes,
        "sizes": {k: (v.n_haplotypes, v.n_sites) for k, v in sets.items()},
    }


def run_files(args: argparse.Namespace) -> dict:
    """``haplogen evaluate`` on existing files, in a subprocess: time, peak memory, per-statistic timings."""
    real, synthetic = args.files
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-c", "import sys; from haplogen.cli import main; sys.exit(main())",
                   "evaluate", "--real", real, "--synthetic", synthetic,
                   "-o", str(Path(out) / "eval"), "--seed", str(args.seed), "--aats-repeats", str(args.aats_repeats)]
        if args.holdout_file:
            command += ["--holdout", args.holdout_file]
        command += [a for arg in args.evaluate_arg for a in arg.split()]
        load_before = os.getloadavg()
        log = Path(out) / "stderr.log"
        t0 = time.perf_counter()
        with open(log, "w") as err:
            proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)  # the child's own peak resident memory
        wall = time.perf_counter() - t0
        load_after = os.getloadavg()
        stderr = log.read_text()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            print(stderr, file=sys.stderr)
            raise SystemExit(f"haplogen evaluate failed with exit status {code}")
        peak_mb = usage.ru_maxrss / 1024
        metrics = json.loads((Path(out) / "eval" / "metrics.json").read_text())
    parameters = metrics["provenance"]["parameters"]
    return {
        "command": ["haplogen", *command[3:]],
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(peak_mb),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "stages_s": {k: round(v, 1) for k, v in metrics["timings"].items()},
        "aats": parameters.get("aats"),
        "privacy_subsamples": parameters.get("privacy_subsamples"),
        "blockwise": parameters.get("blockwise"),
        "sets": metrics["sets"],
        "metrics": {k: v["values"] for k, v in metrics["statistics"].items()},
        "notes": metrics["notes"],
        "progress": stderr.strip().splitlines(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--haplotypes", type=int, default=10_000, help="real haplotypes, and as many synthetic")
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--holdout", type=int, default=2_000, help="holdout haplotypes for the privacy audit")
    # 4 Mb of the out-of-Africa model holds about 14,000 SNPs with MAF >= 1% (and 5x more
    # rarer ones, which the simulation holds in memory before filtering: 22,000 haplotypes
    # x 20 Mb needed over 20 GB, 4 Mb about 5 GB)
    parser.add_argument("--sequence-length", type=int, default=4_000_000, help="simulated contig length (bp)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--aats-repeats", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1, help="measurements (each in a fresh process)")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "haplogen-evaluate-scale"))
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--files", nargs=2, metavar=("REAL", "SYNTHETIC"),
                        help="measure `haplogen evaluate` on these files instead of simulated sets")
    parser.add_argument("--holdout-file", metavar="HOLDOUT", help="with --files: the holdout set")
    parser.add_argument("--evaluate-arg", action="append", default=[],
                        help="with --files: more arguments of haplogen evaluate (repeatable)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(Path(args.child), Path(args.out), args.aats_repeats)))
        return 0

    if args.files:
        run = run_files(args)
        print(f"haplogen evaluate: {run['wall_s']:.0f} s, peak RSS {run['peak_rss_mb']} MB, load "
              f"{run['load_average_before'][0]} -> {run['load_average_after'][0]}", file=sys.stderr)
        used = ("files", "holdout_file", "evaluate_arg", "seed", "aats_repeats", "json")
        summary = {"benchmark": "evaluate_scale --files",
                   "parameters": {k: v for k, v in vars(args).items() if k in used}, **run}
        print(json.dumps({k: v for k, v in summary.items() if k not in ("progress", "notes")}, indent=2))
        if args.json:
            write_json_atomic(args.json, summary)
        return 0
    path = make_data(args)
    runs = []
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory() as out:
            command = [sys.executable, __file__, "--child", str(path), "--out", out,
                       "--aats-repeats", str(args.aats_repeats)]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                print(result.stderr, file=sys.stderr)
                return result.returncode
            run = json.loads(result.stdout.strip().splitlines()[-1])
            runs.append(run)
            print(f"run {i + 1}: {run['total_s']:.0f} s (evaluate {run['evaluate_s']:.0f} s, write "
                  f"{run['write_outputs_s']:.0f} s), peak RSS {run['peak_rss_mb']:.0f} MB, "
                  f"reference matmul {run['reference_matmul_s']:.2f} s", file=sys.stderr)
    median = statistics.median(r["total_s"] for r in runs)
    stages = runs[0]["stages_s"]
    summary = {
        "benchmark": "evaluate_scale",
        "parameters": {k: v for k, v in vars(args).items() if k not in ("child", "out")},
        "median_total_s": median,
        "median_total_over_reference": statistics.median(r["total_s"] / r["reference_matmul_s"] for r in runs),
        "max_peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "slowest_stages": sorted(((k, v) for k, v in stages.items() if k != "total"), key=lambda kv: -kv[1])[:5],
        "runs": runs,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))
    if args.json:
        write_json_atomic(args.json, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
