"""Speed of haplogen's VCF and hapt input/output on a large random haplotype matrix.

Writes and reads an (n_haplotypes, n_sites) random 0/1 matrix (default 5,000 x 100,000) as a
bgzipped, indexed VCF and as a gzipped hapt file, and times each step (median of --repeats
runs). As references measured in the same run, on the same files: bcftools (through pysam)
decoding the whole VCF (``bcftools view -Ob -l 0``, the htslib floor of any VCF reader), and
numpy's ``tobytes`` + gzip of the same hapt text (the floor of any hapt writer).

Usage::

    python benchmarks/io_speed.py                       # 5,000 x 100,000
    python benchmarks/io_speed.py --haplotypes 1000 --sites 10000 --repeats 3

Times depend on the machine and its load; compare the ratios to the references.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from haplogen.haplotypes import Haplotypes  # noqa: E402
from haplogen.io import read_hapt, read_vcf, write_hapt, write_vcf  # noqa: E402


def timed(fn: Callable[[], object], repeats: int, name: str = "") -> tuple[float, list[float], object]:
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    if name:
        print(f"  ... {name}: {', '.join(f'{x:.2f}' for x in times)} s", flush=True)
    return statistics.median(times), times, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--haplotypes", type=int, default=5000)
    parser.add_argument("--sites", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-reference", action="store_true", help="skip the bcftools reference")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    matrix = rng.integers(0, 2, (args.haplotypes, args.sites), dtype=np.uint8)
    h = Haplotypes.from_matrix(matrix)
    results: dict[str, object] = {
        "haplotypes": args.haplotypes,
        "sites": args.sites,
        "repeats": args.repeats,
        "seed": args.seed,
        "cpus": os.cpu_count(),
    }
    print(f"random matrix: {args.haplotypes:,} haplotypes x {args.sites:,} sites, median of {args.repeats}", flush=True)
    with tempfile.TemporaryDirectory(prefix="haplogen-io-") as tmp:
        vcf = Path(tmp) / "big.vcf.gz"
        hapt = Path(tmp) / "big.hapt.gz"
        rows = []

        t, ts, _ = timed(lambda: write_vcf(h, vcf), args.repeats, "write_vcf (bgzip level 1 + tabix)")
        rows.append(("write_vcf (bgzip level 1 + tabix)", t, ts))
        results["vcf_bytes"] = vcf.stat().st_size
        t, ts, back = timed(lambda: read_vcf(vcf), args.repeats, "read_vcf (cyvcf2)")
        rows.append(("read_vcf (cyvcf2)", t, ts))
        assert np.array_equal(back.matrix, matrix), "VCF round trip changed the matrix"  # type: ignore[union-attr]
        del back
        if not args.no_reference:
            import pysam.bcftools

            sink = Path(tmp) / "ref.bcf"
            t, ts, _ = timed(
                lambda: pysam.bcftools.view("-Ob", "-l", "0", "-o", str(sink), str(vcf), catch_stdout=False),
                args.repeats,
                "reference",
            )
            rows.append(("reference: bcftools view -Ob -l 0 (decode VCF)", t, ts))
            import cyvcf2

            def cyvcf2_floor() -> None:
                for variant in cyvcf2.VCF(str(vcf)):
                    variant.genotype.array()

            t, ts, _ = timed(cyvcf2_floor, args.repeats, "reference: cyvcf2 loop")
            rows.append(("reference: cyvcf2 loop with genotype.array()", t, ts))
        t, ts, _ = timed(lambda: write_hapt(h, hapt), args.repeats, "write_hapt (bgzip level 1)")
        rows.append(("write_hapt (bgzip level 1)", t, ts))
        results["hapt_bytes"] = hapt.stat().st_size
        t, ts, back = timed(lambda: read_hapt(hapt), args.repeats, "read_hapt")
        rows.append(("read_hapt", t, ts))
        assert np.array_equal(back.matrix, matrix), "hapt round trip changed the matrix"  # type: ignore[union-attr]
        del back

    results["times_s"] = {name: {"median": round(t, 3), "runs": [round(x, 3) for x in ts]} for name, t, ts in rows}
    for name, t, ts in rows:
        print(f"  {name:<50} {t:8.2f} s   runs: {', '.join(f'{x:.2f}' for x in ts)}")
    print(f"  VCF {results['vcf_bytes'] / 1e6:,.0f} MB, hapt.gz {results['hapt_bytes'] / 1e6:,.0f} MB")
    if not args.no_reference:
        ref = results["times_s"]["reference: bcftools view -Ob -l 0 (decode VCF)"]["median"]  # type: ignore[index]
        mine = results["times_s"]["read_vcf (cyvcf2)"]["median"]  # type: ignore[index]
        floor = results["times_s"]["reference: cyvcf2 loop with genotype.array()"]["median"]  # type: ignore[index]
        print(f"  read_vcf / bcftools decode = {mine / ref:.2f}; read_vcf / cyvcf2 loop = {mine / floor:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
