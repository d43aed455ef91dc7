"""Fault injection at the workflow level: how many faults were injected, and how many lost data.

Every command that writes (``simulate``, ``split``, ``train``, ``generate`` as VCF and as hapt,
``evaluate``) is run many times over outputs of an earlier run (with ``--overwrite``) while one
fault is injected at a random point of its writing:

``enospc``
    the k-th file opened for writing (``open``, ``Path.write_text``, ``pysam.BGZFile``,
    ``torch.save``, the tabix index) fails with ``OSError(ENOSPC)``;
``bgzf``
    the same, the way pysam reports it: a bare "Error closing BGZFile object" on a disk that is
    full;
``kill``
    the process is killed with SIGKILL at the k-th file opened for writing (in a subprocess);
    then the same command runs again without a fault;
``race``
    two processes write the same new output at the same time;
``pipe``
    ``haplogen train`` whose stderr reader goes away after a random number of lines.

After each fault the invariants are checked: no data lost (every earlier output byte for byte
as it was; for ``train --overwrite``, which discards the earlier run when it starts, a model
that is whole and matches its record, or none), no stale or partial output (no temporary file
after the run, or after the next run for ``kill``), and no wrong result with exit status 0
(the faulty run exits non-zero, with one line naming the file). A trial whose fault point lies
beyond the last write ran without a fault: it is not counted, and its outputs are checked.

Usage::

    python benchmarks/fault_injection.py [--trials 40] [--seed 1] [--json benchmarks/results/fault_injection.json]

``--trials`` is per command and kind; the default gives a little over 200 injected faults in a
few minutes on 2 cores. The model-level faults (kill -9 inside checkpoint writes, NaN in
training, hostile model files) are tested in ``tests/test_models.py`` and
``tests/test_model_contract.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from haplogen.cli import main  # noqa: E402


# ---------------------------------------------------------------------------- the injection point
class _Fault(Exception):
    pass


@contextlib.contextmanager
def inject(k: int, action: str, root: Path) -> Iterator[dict[str, int]]:
    """Make the ``k``-th opening of a file under ``root`` for writing fail (``enospc``, ``bgzf``)
    or kill the process (``kill``). Yields a counter of the openings seen (``count``) and whether
    the fault fired (``fired``). Files elsewhere (a library's scratch file in /tmp, whose
    failure it handles itself) are not counted."""
    import builtins

    import pysam
    import torch

    import haplogen.io.vcf as vcf_module
    import haplogen.provenance as provenance

    state = {"count": 0, "fired": 0}
    real_open, real_io_open, real_bgzf = builtins.open, io.open, pysam.BGZFile
    real_tabix, real_save, real_full = pysam.tabix_index, torch.save, provenance._disk_full

    inside = str(Path(root).resolve()) + os.sep

    def hit(name: str) -> bool:
        if not os.path.abspath(name).startswith(inside):
            return False
        state["count"] += 1
        if state["count"] != k:
            return False
        state["fired"] = 1
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        return True

    def fail(name: str) -> None:
        if action == "bgzf":
            raise OSError("Error closing BGZFile object")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)

    def writing(mode: str) -> bool:
        return any(c in mode for c in "wax+")

    def fake_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and writing(mode) and hit(str(file)):
            fail(str(file))
        return real_open(file, mode, *args, **kwargs)

    def fake_io_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and writing(mode) and hit(str(file)):
            fail(str(file))
        return real_io_open(file, mode, *args, **kwargs)

    def fake_bgzf(name, mode="r", *args, **kwargs):
        if writing(str(mode)) and hit(str(name)):
            fail(str(name))
        return real_bgzf(name, mode, *args, **kwargs)

    def fake_tabix(filename, *args, **kwargs):
        if hit(str(filename)):
            fail(str(filename))
        return real_tabix(filename, *args, **kwargs)

    def fake_save(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)) and hit(str(f)):
            fail(str(f))
        return real_save(obj, f, *args, **kwargs)

    builtins.open, io.open, pysam.BGZFile = fake_open, fake_io_open, fake_bgzf
    pysam.tabix_index, torch.save = fake_tabix, fake_save
    if action == "bgzf":
        provenance._disk_full = vcf_module._disk_full = lambda folder: True
    try:
        yield state
    finally:
        builtins.open, io.open, pysam.BGZFile = real_open, real_io_open, real_bgzf
        pysam.tabix_index, torch.save = real_tabix, real_save
        provenance._disk_full = vcf_module._disk_full = real_full


def child(k: int, argv: list[str], root: str) -> None:
    """Entry point of a ``kill`` trial's subprocess."""
    with inject(k, "kill", Path(root)):
        code = main(argv)
    sys.exit(code)


# ---------------------------------------------------------------------------- checks
def snapshot(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_file() and not rel.startswith(skip) and not _temporary(p):
            out[rel] = p.read_bytes()
    return out


def _temporary(p: Path) -> bool:
    return p.name.endswith(".part") or any(part.startswith((".haplogen-tmp-", ".evaluation.")) for part in p.parts)


def leftovers(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if _temporary(p) and p.exists()]


def quiet_main(argv: list[str]) -> tuple[int, str]:
    """Run the command line in-process, capturing stderr (the one line of an error)."""
    err = io.StringIO()
    saved_out, saved_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), err
    try:
        code = main(argv)
    finally:
        sys.stdout, sys.stderr = saved_out, saved_err
    return code, err.getvalue()


def model_is_whole(model_dir: Path) -> str | None:
    """None when ``model_dir`` holds no model.pt, or a model.pt that loads and matches its record."""
    model = model_dir / "model.pt"
    if not model.exists():
        return None
    from haplogen.api import load_trained

    try:
        _, _, record = load_trained(model_dir)
    except Exception as exc:  # a half-written model is a loss
        return f"model.pt does not load: {exc}"
    stored = json.loads((model_dir / "provenance.json").read_text()) if (model_dir / "provenance.json").exists() else None
    if stored is None or stored.get("training_data") != record.get("training_data") or stored.get("seed") != record.get("seed"):
        return "model.pt and provenance.json come from different runs"
    return None


# ---------------------------------------------------------------------------- the workbench
def prepare(work: Path) -> dict[str, list[str]]:
    """Earlier outputs of every command, and the command that overwrites each."""
    w = str(work)
    steps = [
        ["simulate", "-o", f"{w}/sim.vcf.gz", "--individuals", "15", "--length", "3e5", "--max-sites", "60", "--seed", "1"],
        ["simulate", "-o", f"{w}/sim2.vcf.gz", "--individuals", "5", "--length", "2e5", "--max-sites", "30", "--seed", "2"],
        ["split", f"{w}/sim.vcf.gz", "--seed", "1", "-o", f"{w}/split"],
        ["split", f"{w}/sim.vcf.gz", "--seed", "2", "-o", f"{w}/split2"],
        ["train", f"{w}/split/train.vcf.gz", "--epochs", "2", "--seed", "1", "--set", "n_hidden=8", "-o", f"{w}/model"],
        ["train", f"{w}/split/train.vcf.gz", "--epochs", "2", "--seed", "2", "--set", "n_hidden=8", "-o", f"{w}/m2"],
        ["generate", f"{w}/model", "-n", "30", "-o", f"{w}/ag.vcf.gz", "--seed", "1"],
        ["generate", f"{w}/model", "-n", "30", "-o", f"{w}/ag.hapt.gz", "--seed", "1"],
        ["evaluate", "--real", f"{w}/split/train.vcf.gz", "--holdout", f"{w}/split/holdout.vcf.gz", "--synthetic",
         f"{w}/ag.vcf.gz", "--aats-repeats", "1", "-o", f"{w}/eval"],
    ]
    for argv in steps:
        code, err = quiet_main(argv)
        if code != 0:
            raise SystemExit(f"setup failed: {' '.join(argv)}: {err}")
    return {
        "simulate": ["simulate", "-o", f"{w}/sim2.vcf.gz", "--individuals", "5", "--length", "2e5", "--max-sites", "30",
                     "--overwrite", "--seed", "{seed}"],
        "split": ["split", f"{w}/sim.vcf.gz", "-o", f"{w}/split2", "--overwrite", "--seed", "{seed}"],
        "split-hapt": ["split", f"{w}/sim.vcf.gz", "-o", f"{w}/split2", "--overwrite", "--format", "hapt", "--seed", "{seed}"],
        "train": ["train", f"{w}/split/train.vcf.gz", "--epochs", "3", "--set", "n_hidden=8", "--checkpoint-every", "0",
                  "-o", f"{w}/m2", "--overwrite", "--seed", "{seed}"],
        "generate": ["generate", f"{w}/model", "-n", "30", "-o", f"{w}/ag.vcf.gz", "--overwrite", "--seed", "{seed}"],
        "generate-hapt": ["generate", f"{w}/model", "-n", "30", "-o", f"{w}/ag.hapt.gz", "--overwrite", "--seed", "{seed}"],
        "evaluate": ["evaluate", "--real", f"{w}/split/train.vcf.gz", "--holdout", f"{w}/split/holdout.vcf.gz",
                     "--synthetic", f"{w}/ag.vcf.gz", "--aats-repeats", "1", "-o", f"{w}/eval", "--overwrite",
                     "--seed", "{seed}"],
    }


def fill(argv: list[str], seed: int) -> list[str]:
    return [a.replace("{seed}", str(seed)) for a in argv]


def count_writes(work: Path, argv: list[str]) -> int:
    """How many files the command opens for writing (a run without a fault)."""
    with inject(10**9, "enospc", work) as state:
        code, err = quiet_main(argv)
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} failed without a fault: {err}")
    return state["count"]


# ---------------------------------------------------------------------------- trials
def trial_in_process(work: Path, name: str, argv: list[str], k: int, action: str) -> tuple[bool, str | None]:
    before = snapshot(work, skip=("m2",))
    with inject(k, action, work) as state:
        code, err = quiet_main(argv)
    if not state["fired"]:
        return False, None if code == 0 else f"failed without a fault: {err.strip()}"
    problems = []
    if code == 0:
        problems.append("exit 0 after a fault")
    last = err.strip().splitlines()[-1] if err.strip() else ""
    if name == "train":
        if not last.startswith("haplogen: error:"):
            problems.append(f"not a one-line error: {last!r}")
        whole = model_is_whole(work / "m2")
        if whole:
            problems.append(whole)
    elif not (last.startswith("haplogen: error: cannot write ") and "No space left on device" in last):
        problems.append(f"the error does not name the file and the full disk: {last!r}")
    if snapshot(work, skip=("m2",)) != before:
        problems.append("an earlier output changed")
    stale = leftovers(work)
    if stale:
        problems.append(f"temporary files left: {stale[:2]}")
    return True, "; ".join(problems) or None


def trial_kill(work: Path, name: str, argv: list[str], k: int) -> tuple[bool, str | None]:
    before = snapshot(work, skip=("m2",))
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); from fault_injection import child; child({k}, {argv!r}, {str(work)!r})"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if result.returncode != -signal.SIGKILL:
        return False, None if result.returncode == 0 else f"failed without a fault: {result.stderr.strip()[-300:]}"
    problems = []
    if snapshot(work, skip=("m2",)) != before:
        problems.append("an earlier output changed")
    if name == "train":
        whole = model_is_whole(work / "m2")
        if whole:
            problems.append(whole)
    # the next run (the same command, no fault) finishes and removes the killed run's temporaries
    again, err = quiet_main(argv)
    if again != 0:
        problems.append(f"the next run failed: {err.strip()[-200:]}")
    stale = leftovers(work)
    if stale:
        problems.append(f"temporaries outlived the next run: {stale[:2]}")
    return True, "; ".join(problems) or None


def trial_race(work: Path, index: int) -> tuple[bool, str | None]:
    target = work / "race" / f"r{index}"
    kind = "split" if index % 2 == 0 else "generate"
    commands = []
    for seed in (1, 2):
        if kind == "split":
            commands.append(["split", str(work / "sim.vcf.gz"), "-o", str(target), "--seed", str(seed)])
        else:
            commands.append(["generate", str(work / "model"), "-n", "30", "-o", str(target) + ".vcf.gz", "--seed", str(seed)])
    procs = [subprocess.Popen([sys.executable, "-m", "haplogen.cli", *c], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for c in commands]
    codes = sorted(p.wait(timeout=600) for p in procs)
    problems = []
    if codes != [0, 2]:
        problems.append(f"exit codes {codes}, expected one run kept and one refused")
    from haplogen.io import read_haplotypes
    from haplogen.provenance import read_provenance

    try:
        if kind == "split":
            from haplogen.split import read_split

            table = read_split(target / "split.tsv")
            train = read_haplotypes(target / "train.vcf.gz")
            holdout = read_haplotypes(target / "holdout.vcf.gz")
            seeds = {read_provenance(target / f)["seed"] for f in ("train.vcf.gz", "holdout.vcf.gz")}
            if list(table.train) != train.samples.tolist() or list(table.holdout) != holdout.samples.tolist() or len(seeds) != 1:
                problems.append("the split's files come from different runs")
        else:
            import pysam

            path = str(target) + ".vcf.gz"
            h = read_haplotypes(path)
            with pysam.TabixFile(path) as tbx:  # the index must belong to this very file
                n = sum(1 for _ in tbx.fetch(h.sites.chrom[0]))
            if n != int((h.sites.chrom == h.sites.chrom[0]).sum()):
                problems.append("the index does not match the VCF")
    except Exception as exc:
        problems.append(f"the output does not read: {exc}")
    if leftovers(work):
        problems.append("temporary files left")
    return True, "; ".join(problems) or None


def trial_pipe(work: Path, lines: int, seed: int) -> tuple[bool, str | None]:
    out = work / "pipe" / f"m{seed}"
    argv = ["train", str(work / "split" / "train.vcf.gz"), "--epochs", "4", "--set", "n_hidden=8", "--seed", str(seed),
            "--progress-every", "0", "-o", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "haplogen.cli", *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for _ in range(lines):
        proc.stdout.readline()
    proc.stdout.close()
    code = proc.wait(timeout=600)
    problems = []
    if code != 0:
        problems.append(f"exit {code} after the reader went away")
    record = json.loads((out / "provenance.json").read_text()) if (out / "provenance.json").exists() else {}
    if record.get("training", {}).get("epochs_run") != 4:
        problems.append("training did not finish")
    return True, "; ".join(problems) or None


def main_benchmark() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=14, help="trials per command and kind of fault")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the result to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    work = Path(tempfile.mkdtemp(prefix="haplogen-faults-"))
    started = time.perf_counter()
    commands = prepare(work)
    writes = {name: count_writes(work, fill(argv, 100)) for name, argv in commands.items()}
    tally: dict[str, dict[str, int]] = {}
    losses: list[str] = []

    def record(kind: str, fired: bool, problem: str | None, what: str) -> None:
        entry = tally.setdefault(kind, {"injected": 0, "losses": 0, "not_fired": 0})
        if problem:
            entry["losses"] += 1
            losses.append(f"{kind} {what}: {problem}")
        if fired:
            entry["injected"] += 1
        else:
            entry["not_fired"] += 1

    for name, argv in commands.items():
        for t in range(args.trials):
            for action in ("enospc", "bgzf"):
                k = int(rng.integers(1, writes[name] + 1))
                fired, problem = trial_in_process(work, name, fill(argv, 1000 + t), k, action)
                record(f"{action}:{name}", fired, problem, f"k={k}")
        for t in range(max(1, args.trials // 4)):
            k = int(rng.integers(1, writes[name] + 1))
            fired, problem = trial_kill(work, name, fill(argv, 2000 + t), k)
            record(f"kill:{name}", fired, problem, f"k={k}")
    for index in range(max(2, args.trials // 2)):
        fired, problem = trial_race(work, index)
        record("race", fired, problem, f"#{index}")
    for t in range(max(2, args.trials // 4)):
        fired, problem = trial_pipe(work, int(rng.integers(0, 4)), 3000 + t)
        record("pipe", fired, problem, f"#{t}")

    injected = sum(v["injected"] for v in tally.values())
    lost = sum(v["losses"] for v in tally.values())
    result = {
        "benchmark": "fault injection, workflow level (simulate, split, train, generate, evaluate)",
        "faults_injected": injected,
        "faults_with_data_loss_or_wrong_result": lost,
        "by_kind": tally,
        "writes_per_command": writes,
        "losses": losses,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "arguments": vars(args),
    }
    print(json.dumps({k: v for k, v in result.items() if k != "by_kind"}, indent=2))
    print(f"{injected} faults injected, {lost} lost data or gave a wrong result with exit 0")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main_benchmark())
