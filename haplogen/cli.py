"""The ``haplogen`` command line: parses arguments and calls the API, nothing more.

Every subcommand is one function ``cmd_<name>(args)``; :func:`main` takes ``argv`` so that
tests run the command line in-process. A user error prints one line on stderr,
``haplogen: error: <what was expected, what was found, how to fix it>``, and exits non-zero;
it never shows a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from . import __version__
from .errors import HaplogenError, InputError

__all__ = ["main", "build_parser"]


# ---------------------------------------------------------------------------- helpers
def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``900``, ``90s``, ``15m``, ``1h30m``, ``2.5h``."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([hms])", value)
    if not parts or "".join(f"{a}{b}" for a, b in parts) != value.replace(" ", ""):
        raise argparse.ArgumentTypeError(f"expected a duration such as 900, 15m or 1h30m, found {text!r}")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0}
    return sum(float(a) * scale[b] for a, b in parts)


def _int_at_least(minimum: int, what: str):
    """An argparse type: an integer >= ``minimum``, with a message naming ``what`` was expected."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, found {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, found {value}")
        return value

    return convert


_positive_int = _int_at_least(1, "a positive integer")
_seed = _int_at_least(0, "a non-negative integer seed")


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    """The options that say what to do with the unusual records of real VCFs."""
    group = parser.add_argument_group(
        "VCF reading",
        "what to do with records that are not phased biallelic SNPs; every skipped site is counted "
        "in the summary printed after reading",
    )
    group.add_argument("--legend", help="legend file (id position a0 a1) of a hapt input")
    group.add_argument("--multiallelic", choices=["skip", "error"], default="skip", help="sites with more than one ALT allele")
    group.add_argument("--non-snp", choices=["skip", "error"], default="skip", help="indels, symbolic and '*' alleles")
    group.add_argument("--missing", choices=["error", "skip-site", "ref"], default="error",
                       help="missing alleles ('.'): stop, drop the site, or set them to REF")
    group.add_argument("--unphased", choices=["error", "skip-site", "accept"], default="error",
                       help="unphased heterozygous calls (0/1): stop, drop the site, or take the alleles in written order")
    group.add_argument("--haploid", choices=["error", "skip-site", "as-haplotype"], default="error",
                       help="haploid calls: stop, drop the site, or keep one haplotype for such a sample")
    group.add_argument("--monomorphic", choices=["keep", "skip"], default="keep", help="sites where every haplotype carries the same allele")
    group.add_argument("--unsorted", choices=["error", "sort"], default="error", help="records out of position order")
    group.add_argument("--duplicate-position", choices=["error", "skip"], default="error",
                       help="several records at one position (skip keeps the first)")
    group.add_argument("--pass-only", action="store_true", help="keep only records with FILTER PASS or '.'")
    group.add_argument("--region", help="read only CHROM:START-END (needs a .tbi/.csi index)")
    group.add_argument("--samples", help="comma-separated individuals to read (default: all)")


def _read_options(args: argparse.Namespace) -> Any:
    from .io.vcf import ReadOptions

    return ReadOptions(
        multiallelic=args.multiallelic,
        non_snp=args.non_snp,
        missing=args.missing,
        unphased=args.unphased,
        haploid=args.haploid,
        monomorphic=args.monomorphic,
        unsorted=args.unsorted,
        duplicate_position=args.duplicate_position,
        pass_only=args.pass_only,
        region=args.region,
        samples=[s for s in args.samples.split(",") if s] if args.samples else None,
    )


def _read(path: str, args: argparse.Namespace, *, labels: str | None = None, what: str = "input") -> Any:
    from .api import read_input
    from .io import detect_format

    # --legend describes the sites of hapt inputs; a VCF among the inputs has its own
    legend = getattr(args, "legend", None)
    if legend is not None and Path(path).is_file() and detect_format(path) != "hapt":
        legend = None
    h = read_input(
        path,
        legend=legend,
        options=_read_options(args),
        labels=labels,
        missing_labels=getattr(args, "missing_labels", "error"),
    )
    summary = (h.source or {}).get("summary")
    if summary:
        from .io.vcf import ReadSummary

        _say(f"{what} {path}: {ReadSummary(**summary)}")
    else:
        _say(f"{what} {path}: {h.n_haplotypes} haplotypes of {h.n_samples} individuals x {h.n_sites} sites")
    return h


def _write(h: Any, path: str, fmt: str, record: dict) -> None:
    from .io import write_haplotypes

    legend = None
    if fmt == "hapt":
        base = path[:-3] if path.endswith(".gz") else path
        base = base[:-5] if base.endswith(".hapt") else base
        legend = base + ".legend"
    write_haplotypes(h, path, format=fmt, provenance=record, legend_path=legend)


# ---------------------------------------------------------------------------- simulate
def cmd_simulate(args: argparse.Namespace) -> int:
    from .haplotypes import write_labels
    from .io import check_output_path, write_haplotypes
    from .provenance import make_record, resolve_seed
    from .simulate import SimulationConfig, simulate_haplotypes

    check_output_path(args.output, "vcf")
    seed = resolve_seed(args.seed)
    config = SimulationConfig(
        individuals_per_population=args.individuals,
        sequence_length=int(args.length),
        min_maf=args.min_maf,
        max_sites=args.max_sites,
        chromosome=args.chromosome,
        n_chromosomes=args.chromosomes,
    )
    _say(
        f"simulating {3 * args.individuals} individuals (YRI, CEU, CHB) on {args.chromosomes} x "
        f"{int(args.length):,} bp, seed {seed} ..."
    )
    h = simulate_haplotypes(config, seed=seed)
    import dataclasses

    record = make_record(parameters=dataclasses.asdict(config), seed=seed)
    write_haplotypes(h, args.output, format="vcf", provenance=record)
    labels = args.labels_out or _sibling(args.output, ".samples.tsv")
    write_labels(h, labels)
    _say(f"wrote {args.output} ({h.n_haplotypes} haplotypes x {h.n_sites} SNPs) and {labels}")
    return 0


def _sibling(path: str, suffix: str) -> str:
    base = path
    for ext in (".gz", ".vcf", ".bcf", ".hapt"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    return base + suffix


# ---------------------------------------------------------------------------- split
def cmd_split(args: argparse.Namespace) -> int:
    from .provenance import make_record, resolve_seed
    from .split import apply_split, read_split, split_individuals, write_split

    h = _read(args.input, args, labels=args.labels)
    seed = resolve_seed(args.seed)
    if args.split_file:
        split = read_split(args.split_file)
        how = f"from {args.split_file}"
    else:
        split = split_individuals(h, holdout_fraction=args.holdout_fraction, seed=seed, stratify=not args.no_stratify)
        how = f"holdout fraction {args.holdout_fraction}, seed {seed}" + (
            ", stratified by population" if h.population is not None and not args.no_stratify else ""
        )
    train, holdout = apply_split(h, split)
    out = Path(args.output)
    fmt = args.format
    ext = ".vcf.gz" if fmt == "vcf" else ".hapt.gz"
    inputs = [args.input] + ([args.split_file] if args.split_file else []) + ([args.labels] if args.labels else [])
    record = make_record(
        parameters={"holdout_fraction": args.holdout_fraction, "stratify": not args.no_stratify, "split_file": args.split_file},
        seed=seed,
        inputs=inputs,
    )
    _write(train, str(out / f"train{ext}"), fmt, record)
    _write(holdout, str(out / f"holdout{ext}"), fmt, record)
    write_split(split, out / "split.tsv", header_comment=f"haplogen {__version__} split: {how}")
    _say(
        f"split {h.n_samples} individuals ({how}): {train.n_samples} train ({train.n_haplotypes} haplotypes), "
        f"{holdout.n_samples} holdout ({holdout.n_haplotypes} haplotypes) -> {out}/"
    )
    return 0


# ---------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    from .api import parse_overrides, train
    from .models import MODELS
    from .api import check_model_dir
    from .models.training import format_progress

    check_model_dir(args.output, resume=args.resume, overwrite=args.overwrite)
    overrides = parse_overrides(args.set or [], MODELS[args.model].Config)
    h = _read(args.input, args, labels=args.labels)
    if args.split:
        from .split import apply_split, read_split

        h, _ = apply_split(h, read_split(args.split), strict=False)
        _say(f"training on the 'train' side of {args.split}: {h.n_haplotypes} haplotypes")
    log_path = Path(args.output) / "training_log.tsv"
    last = [0.0]

    def progress(p: Any) -> None:
        _append_log(log_path, p)
        now = time.monotonic()
        final = p.epochs is not None and p.epoch >= p.epochs
        if now - last[0] >= args.progress_every or final or p.epoch <= 1:
            last[0] = now
            _say(format_progress(p))

    record = train(
        h,
        model=args.model,
        out_dir=args.output,
        seed=args.seed,
        overrides=overrides,
        epochs=args.epochs,
        time_budget_s=args.time_budget,
        resume=args.resume,
        overwrite=args.overwrite,
        threads=args.threads,
        checkpoint_every_s=args.checkpoint_every,
        progress=progress,
    )
    t = record["training"]
    _say(
        f"trained {args.model} for {t['epochs_run']} epochs in {t['elapsed_s']:.0f} s "
        f"(stopped by {t['stopped_by']}; seed {record['seed']}) -> {args.output}/model.pt"
    )
    return 0


def _append_log(path: Path, p: Any) -> None:
    new = not path.exists() or p.epoch <= 1
    keys = sorted(p.losses)
    with open(path, "w" if new else "a") as handle:
        if new:
            handle.write("epoch\telapsed_s\t" + "\t".join(keys) + "\n")
        handle.write(f"{p.epoch}\t{p.elapsed_s:.2f}\t" + "\t".join(f"{p.losses[k]:.6g}" for k in keys) + "\n")


# ---------------------------------------------------------------------------- generate
def cmd_generate(args: argparse.Namespace) -> int:
    from .api import generate

    from .io import check_output_path

    fmt = check_output_path(args.output, args.format)
    if args.audit and not args.holdout:
        raise InputError("--audit needs --holdout HOLDOUT (the individuals the model did not see) and --real TRAIN")
    h, record = generate(args.model_dir, args.n, seed=args.seed, prefix=args.prefix)
    _say(f"sampled {h.n_haplotypes} haplotypes x {h.n_sites} sites from {args.model_dir} (seed {record['seed']})")
    if args.audit:
        verdict = _audit(h, args, record)
        if verdict["status"] == "fail" and not args.force:
            from .errors import PrivacyError

            raise PrivacyError(
                f"the privacy audit failed ({'; '.join(verdict['reasons'])}); {args.output} was not written. "
                "Train longer or with more regularisation, or pass --force to write it anyway"
            )
        record["privacy_audit"] = verdict
    _write(h, args.output, fmt, record)
    _say(f"wrote {args.output}")
    return 0


def _audit(h: Any, args: argparse.Namespace, record: dict) -> dict:
    from .privacy.audit import privacy_audit

    if not args.real:
        raise InputError("--audit needs --real TRAIN: the haplotypes the model was trained on")
    real = _read(args.real, args, what="training set")
    holdout = _read(args.holdout, args, what="holdout set")
    for name, other in (("training", real), ("holdout", holdout)):
        if not other.sites.same_as(h.sites):
            raise InputError(
                f"the {name} set has {other.n_sites} sites that do not match the model's {h.n_sites}; "
                "audit with the data the model was trained on"
            )
    audit = privacy_audit(real.matrix, holdout.matrix, h.matrix, seed=record["seed"])
    verdict = audit["verdict"]
    _say(f"privacy audit: {verdict['status'].upper()}" + (f" ({'; '.join(verdict['reasons'])})" if verdict["reasons"] else ""))
    return verdict


# ---------------------------------------------------------------------------- evaluate
def _set_name(path: str, taken: set[str]) -> str:
    name = Path(path).name
    for ext in (".gz", ".vcf", ".bcf", ".hapt"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    base, k = name or "synthetic", 2
    while name in taken:
        name = f"{base}-{k}"
        k += 1
    taken.add(name)
    return name


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .api import source_record
    from .evaluation import evaluate, summary_table, write_outputs
    from .haplotypes import read_labels
    from .provenance import input_record

    real = _read(args.real, args, what="real set")
    holdout = _read(args.holdout, args, what="holdout set") if args.holdout else None
    taken: set[str] = {"real"}
    synthetic = {}
    for path in args.synthetic:
        synthetic[_set_name(path, taken)] = _read(path, args, what="synthetic set")
    labels = read_labels(args.labels) if args.labels else None
    # the readers already checksummed the haplotype files: reuse their records
    read_sets = [real, *synthetic.values(), *([holdout] if holdout is not None else [])]
    inputs = [source_record(h) for h in read_sets] + ([input_record(args.labels)] if args.labels else [])
    ev = evaluate(
        real,
        synthetic,
        holdout=holdout,
        labels=labels,
        seed=args.seed,
        aats_repeats=args.aats_repeats,
        progress=_say,
        inputs=inputs,
        command=sys.argv,
    )
    paths = write_outputs(ev, args.output)
    print(summary_table(ev))
    _say(f"report: {paths['report']}\nmetrics: {paths['metrics']}")
    return 0


# ---------------------------------------------------------------------------- demo
def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.output, seed=args.seed, say=_say)
    return 0


# ---------------------------------------------------------------------------- parser
EXAMPLES = {
    "simulate": "example:\n  haplogen simulate -o sim.vcf.gz --individuals 100 --max-sites 1000 --seed 1\n"
    "  (writes sim.vcf.gz and sim.samples.tsv)",
    "split": "example:\n  haplogen split data.vcf.gz --labels samples.tsv --holdout-fraction 0.2 --seed 1 -o split/\n"
    "  haplogen split data.vcf.gz --split-file split.tsv -o split/\n"
    "  (writes split/train.vcf.gz, split/holdout.vcf.gz and split/split.tsv)",
    "train": "example:\n  haplogen train split/train.vcf.gz --model rbm -o model/ --seed 1\n"
    "  haplogen train 805_SNP_1000G_real.hapt.gz --legend 805_SNP.legend --model gan --epochs 100 -o gan/\n"
    "  haplogen train data.vcf.gz --model rbm --set n_hidden=500 --time-budget 15m -o model/\n"
    "  haplogen train data.vcf.gz --model rbm -o model/ --resume   # continue an interrupted run",
    "generate": "example:\n  haplogen generate model/ -n 5000 -o artificial.vcf.gz --seed 2\n"
    "  haplogen generate model/ -n 5000 -o artificial.hapt.gz --format hapt\n"
    "  haplogen generate model/ -n 1000 -o release.vcf.gz --audit --real split/train.vcf.gz --holdout split/holdout.vcf.gz",
    "evaluate": "example:\n  haplogen evaluate --real split/train.vcf.gz --synthetic artificial.vcf.gz "
    "--holdout split/holdout.vcf.gz --labels samples.tsv -o evaluation/\n"
    "  haplogen evaluate --real real.hapt.gz --synthetic gan.hapt.gz rbm.hapt.gz --legend 805_SNP.legend -o eval/",
    "demo": "example:\n  haplogen demo --out demo-output\n"
    "  (simulate -> split -> train rbm -> generate -> evaluate; a few minutes on 2 cores)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="haplogen",
        description="Artificial genomes from phased haplotypes: simulate, split, train, generate, evaluate.",
        formatter_class=_Formatter,
        epilog="run 'haplogen COMMAND --help' for the options and an example of each command",
    )
    parser.add_argument("--version", action="version", version=f"haplogen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, epilog=EXAMPLES[name], formatter_class=_Formatter)

    p = add("simulate", "simulate a phased VCF under the stdpopsim out-of-Africa model (YRI, CEU, CHB)")
    p.add_argument("-o", "--output", required=True, help="output VCF (.vcf.gz)")
    p.add_argument("--individuals", type=_positive_int, default=100, help="diploid individuals per population")
    p.add_argument("--length", type=float, default=5e6, help="sequence length in bp")
    p.add_argument("--max-sites", type=_positive_int, default=None, help="keep at most this many SNPs (evenly spaced)")
    p.add_argument("--min-maf", type=float, default=0.0, help="keep SNPs with minor allele frequency at least this")
    p.add_argument("--chromosome", default="1", help="name of the (first) chromosome")
    p.add_argument("--chromosomes", type=_positive_int, default=1,
                   help="independent (unlinked) chromosomes, each --length bp; SNPs are shared out evenly")
    p.add_argument("--labels-out", help="population table (default: beside the VCF, NAME.samples.tsv)")
    p.add_argument("--seed", type=_seed, help="random seed (drawn and recorded when absent)")
    p.set_defaults(func=cmd_simulate)

    p = add("split", "split individuals into training and holdout sets (both haplotypes of a person on one side)")
    p.add_argument("input", help="VCF/BCF or hapt file")
    p.add_argument("-o", "--output", required=True, help="output directory")
    p.add_argument("--labels", help="sample pop super_pop table, to stratify by population")
    p.add_argument("--missing-labels", choices=["error", "drop", "unknown"], default="error",
                   help="individuals absent from the labels table")
    p.add_argument("--holdout-fraction", type=float, default=0.2, help="share of individuals held out")
    p.add_argument("--no-stratify", action="store_true", help="do not stratify by population")
    p.add_argument("--split-file", help="take the split from a 'sample<TAB>set' table instead of drawing one")
    p.add_argument("--format", choices=["vcf", "hapt"], default="vcf", help="format of the output sets")
    p.add_argument("--seed", type=_seed, help="random seed (drawn and recorded when absent)")
    _add_read_options(p)
    p.set_defaults(func=cmd_split)

    p = add("train", "train a generative model on phased haplotypes")
    p.add_argument("input", help="VCF/BCF or hapt file (with --legend)")
    p.add_argument("--model", choices=["rbm", "gan"], default="rbm", help="model family")
    p.add_argument("-o", "--output", required=True, help="model directory")
    p.add_argument("--epochs", type=_positive_int, help="number of epochs (default: the model's own)")
    p.add_argument("--time-budget", type=parse_duration, help="stop after the epoch that exceeds this time (900, 15m, 1h)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="change a model setting (repeatable)")
    p.add_argument("--split", help="train only on the 'train' individuals of this split table")
    p.add_argument("--labels", help="sample pop super_pop table (recorded with the data)")
    p.add_argument("--missing-labels", choices=["error", "drop", "unknown"], default="error",
                   help="individuals absent from the labels table")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in the model directory")
    p.add_argument("--overwrite", action="store_true", help="replace a trained model in the model directory")
    p.add_argument("--threads", type=_positive_int, help="torch intra-op threads (default: all cores)")
    p.add_argument("--checkpoint-every", type=float, default=60.0, help="seconds between checkpoints")
    p.add_argument("--progress-every", type=float, default=5.0, help="seconds between progress lines")
    p.add_argument("--seed", type=_seed, help="random seed (drawn and recorded when absent)")
    _add_read_options(p)
    p.set_defaults(func=cmd_train)

    p = add("generate", "sample artificial haplotypes from a trained model")
    p.add_argument("model_dir", help="model directory written by 'haplogen train'")
    p.add_argument("-n", type=_positive_int, required=True, help="number of haplotypes (pairs form individuals)")
    p.add_argument("-o", "--output", required=True, help="output file (.vcf.gz, or .hapt.gz with --format hapt)")
    p.add_argument("--format", choices=["vcf", "hapt"], help="output format (default: from the file name)")
    p.add_argument("--prefix", default="AG", help="prefix of the artificial individuals' names")
    p.add_argument("--audit", action="store_true", help="run the privacy audit and refuse to write a failing set")
    p.add_argument("--real", help="with --audit: the training set of the model")
    p.add_argument("--holdout", help="with --audit: held-out individuals the model did not see")
    p.add_argument("--force", action="store_true", help="with --audit: write the file even when the audit fails")
    p.add_argument("--seed", type=_seed, help="random seed (drawn and recorded when absent)")
    _add_read_options(p)
    p.set_defaults(func=cmd_generate)

    p = add("evaluate", "compare artificial haplotypes with real ones: fidelity statistics, privacy audit, HTML report")
    p.add_argument("--real", required=True, help="real haplotypes (the training set when --holdout is given)")
    p.add_argument("--synthetic", required=True, nargs="+", help="one or more artificial sets (VCF or hapt)")
    p.add_argument("--holdout", help="held-out real haplotypes, for the privacy audit")
    p.add_argument("--labels", help="sample pop super_pop table of the real individuals")
    p.add_argument("--missing-labels", choices=["error", "drop", "unknown"], default="unknown",
                   help="real individuals absent from the labels table")
    p.add_argument("-o", "--output", required=True, help="output directory (report.html, metrics.json)")
    p.add_argument("--aats-repeats", type=_positive_int, default=5, help="subsamples averaged for AATS")
    p.add_argument("--seed", type=_seed, default=0, help="random seed of the subsampling")
    _add_read_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = add("demo", "run the whole pipeline on simulated data and write a report")
    p.add_argument("--out", dest="output", default="demo-output", help="output directory")
    p.add_argument("--seed", type=_seed, default=1, help="random seed")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on success)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except HaplogenError as exc:
        _say(f"haplogen: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt as exc:
        from .models.training import TrainingInterrupted

        if isinstance(exc, TrainingInterrupted) and exc.checkpoint_path:
            _say(f"haplogen: {exc}; continue it with the same command and --resume")
        else:
            _say("haplogen: interrupted (a training run can be continued with 'haplogen train ... --resume')")
        return 130
    except OSError as exc:
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        _say(f"haplogen: error: cannot access{where}: {exc.strerror or exc}")
        return 1
    except Exception as exc:  # a bug, not a user error: still one line, unless asked for the traceback
        if os.environ.get("HAPLOGEN_DEBUG"):
            raise
        _say(
            f"haplogen: internal error: {type(exc).__name__}: {exc} "
            "(please report it; set HAPLOGEN_DEBUG=1 to see the traceback)"
        )
        return 70


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
