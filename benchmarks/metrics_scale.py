"""Time and peak memory of every fidelity statistic on large simulated sets.

Simulates ``2 x 3 x individuals`` diploid individuals (YRI, CEU, CHB) under the stdpopsim
out-of-Africa model with msprime, keeps ``--sites`` biallelic SNPs with minor allele frequency
>= 1% chosen evenly along the contig, and splits the individuals into two halves, "real" and
"synthetic" (same sites, same populations). Each statistic then runs in a forked child
process, so that its peak resident memory (``ru_maxrss`` of that child, which includes the
two input matrices inherited from the parent) is measured on its own.

The reference measured in the same run is one float32 matrix product of the real matrix with
the synthetic one (``(n, m) @ (m, n)``), the core of the Hamming distance computations; each
statistic's time is also given as a ratio of it, so figures from different (noisy, shared)
machines can be compared.

The default, 10,002 real x 10,000 SNPs vs 10,002 synthetic, is the size the project promises to
evaluate in a few minutes and < 8 GB::

    python benchmarks/metrics_scale.py                       # full size (several minutes)
    python benchmarks/metrics_scale.py --individuals 334 --sites 2000 --length 5000000  # quick

Results are saved as JSON under ``benchmarks/results/metrics_scale.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from haplogen import metrics  # noqa: E402


def simulate_split(individuals: int, length: int, n_sites: int, min_maf: float, seed: int) -> dict[str, Any]:
    """Simulate, select SNPs and split into two halves by individual.

    Sites are selected from the tree sequence without decoding every genotype: the count of a
    single-mutation site's derived allele is the number of samples below its mutation node.
    Only the selected sites are then decoded.
    """
    import stdpopsim

    species = stdpopsim.get_species("HomSap")
    model = species.get_demographic_model("OutOfAfrica_3G09")
    contig = stdpopsim.Contig.basic_contig(
        length=length, mutation_rate=model.mutation_rate, recombination_rate=1e-8
    )
    samples = {p.name: 2 * individuals for p in model.populations}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = stdpopsim.get_engine("msprime").simulate(model, contig, samples, seed=seed)
    n = ts.num_samples
    keep, positions = [], []
    last = -1
    for tree in ts.trees():
        for site in tree.sites():
            if len(site.mutations) != 1:
                continue
            position = int(site.position) + 1
            if position <= last:
                continue
            count = tree.num_samples(site.mutations[0].node)
            if min(count, n - count) >= min_maf * n:
                keep.append(site.id)
                positions.append(position)
                last = position
    keep = np.array(keep)
    positions = np.array(positions, dtype=np.int64)
    pick = np.unique(np.linspace(0, keep.size - 1, min(n_sites, keep.size)).round().astype(int))
    chosen = keep[pick]
    drop = np.setdiff1d(np.arange(ts.num_sites), chosen)
    small = ts.delete_sites(drop)
    matrix = np.empty((n, small.num_sites), dtype=np.uint8)
    for j, variant in enumerate(small.variants()):
        matrix[:, j] = variant.genotypes
    pop_of_node = ts.tables.nodes.population[ts.samples()]
    pops = np.array([ts.population(int(p)).metadata["name"] for p in pop_of_node])
    individual = np.arange(n) // 2
    real_rows = np.flatnonzero(individual % 2 == 0)
    syn_rows = np.flatnonzero(individual % 2 == 1)
    return {
        "real": np.ascontiguousarray(matrix[real_rows]),
        "syn": np.ascontiguousarray(matrix[syn_rows]),
        "real_pop": pops[real_rows],
        "position": positions[pick],
        "candidate_sites": int(keep.size),
    }


def in_child(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``fn`` in a forked child; return its JSON-able result, wall time and peak RSS."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read)
        try:
            start = time.perf_counter()
            result = fn()
            payload = {"seconds": time.perf_counter() - start, "result": result}
        except BaseException as exc:  # report, never raise past the fork
            payload = {"error": f"{type(exc).__name__}: {exc}"}
        with os.fdopen(write, "w") as handle:
            json.dump(payload, handle)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as handle:
        payload = json.load(handle)
    _, _, usage = os.wait4(pid, 0)
    payload["peak_rss_gb"] = usage.ru_maxrss * 1024 / 1e9  # ru_maxrss is in KiB on Linux
    return payload


def scalars(out: dict[str, Any]) -> dict[str, Any]:
    """The scalar entries of a result (what is worth recording)."""
    keep = {}
    for key, value in out.items():
        if isinstance(value, (bool, int, float, str)):
            keep[key] = value
        elif isinstance(value, dict) and all(isinstance(v, (int, float)) for v in value.values()):
            keep[key] = value
    return keep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--individuals", type=int, default=1667, help="per population and half")
    parser.add_argument("--length", type=int, default=20_000_000, help="contig length in bp")
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="statistics to run (default all)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "metrics_scale.json")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    data = simulate_split(args.individuals, args.length, args.sites, 0.01, args.seed)
    sim_seconds = time.perf_counter() - start
    real, syn = data["real"], data["syn"]
    chrom = np.full(real.shape[1], "1")
    print(f"simulated {real.shape[0]} real + {syn.shape[0]} synthetic haplotypes x {real.shape[1]} SNPs "
          f"(of {data['candidate_sites']} with MAF >= 1%) in {sim_seconds:.0f} s; "
          f"parent RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB", flush=True)

    def reference() -> dict[str, Any]:
        a = real.astype(np.float32)
        b = syn.astype(np.float32)
        return {"sum": float((a @ b.T).sum())}

    tasks: dict[str, Callable[[], dict[str, Any]]] = {
        "reference_matmul": reference,
        "allele_frequency": lambda: scalars(metrics.allele_frequency_comparison(real, syn)),
        "exact_copies": lambda: scalars(metrics.exact_copies(real, syn)),
        "ld_comparison": lambda: scalars(metrics.ld_comparison(real, syn)),
        "ld_decay": lambda: scalars(metrics.ld_decay(real, chrom, data["position"])),
        "pairwise_distance": lambda: scalars(metrics.pairwise_distance_comparison(real, syn)),
        "aats": lambda: scalars(metrics.adversarial_accuracy(real, syn)),
        "three_point": lambda: {
            "three_point_r": metrics.three_point_comparison(real, syn)["three_point_r"]
        },
        "pca": lambda: {"w1": metrics.pca_comparison(real, {"syn": syn})["w1"]["syn"]},
        "population": lambda: scalars(metrics.population_comparison(real, data["real_pop"], syn)),
    }
    results = {}
    for name, fn in tasks.items():
        if args.only and name not in args.only and name != "reference_matmul":
            continue
        payload = in_child(fn)
        results[name] = payload
        if "error" in payload:
            print(f"{name:<18} FAILED {payload['error']}", flush=True)
            continue
        ratio = payload["seconds"] / results["reference_matmul"]["seconds"]
        payload["ratio_to_reference"] = ratio
        print(f"{name:<18} {payload['seconds']:8.1f} s  ({ratio:6.1f} x reference)  "
              f"peak RSS {payload['peak_rss_gb']:.2f} GB", flush=True)
    total = sum(r.get("seconds", 0.0) for n, r in results.items() if n != "reference_matmul")
    peak = max(r["peak_rss_gb"] for r in results.values())
    print(f"all statistics: {total:.0f} s, largest peak RSS {peak:.2f} GB")
    record = {
        "benchmark": "metrics_scale",
        "n_real": int(real.shape[0]),
        "n_syn": int(syn.shape[0]),
        "n_sites": int(real.shape[1]),
        "contig_length": args.length,
        "seed": args.seed,
        "simulation_seconds": sim_seconds,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "results": results,
        "total_seconds": total,
        "largest_peak_rss_gb": peak,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
