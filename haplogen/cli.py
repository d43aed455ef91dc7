"""The ``haplogen`` command line: parses arguments, calls the API, prints; nothing more.

Every subcommand is one function ``cmd_<name>(args)`` that calls one workflow of
:mod:`haplogen.api` (the same functions that :mod:`haplogen.demo` and Python users call);
:func:`main` takes ``argv`` so that tests run the command line in-process, and records
``["haplogen", *argv]`` as the command of every output's provenance. A user error prints one
line on stderr, ``haplogen: error: <what was expected, what was found, how to fix it>``, and
exits non-zero (2 input, 3 model, 4 privacy audit failed, 74 an output could not be written,
130 interrupted); it never shows a traceback. Warnings are one line each,
``haplogen: warning: ...``. Progress goes to stderr; when that pipe closes
(``haplogen train ... 2>&1 | head``) the output is dropped and the work goes on.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import re
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import __version__
from .errors import HaplogenError, InputError

__all__ = ["main", "build_parser"]


# ---------------------------------------------------------------------------- helpers
def _emit(message: str, stream_name: str) -> None:
    """Print one line; a closed pipe (EPIPE) silences that stream instead of stopping the work."""
    stream = getattr(sys, stream_name)
    try:
        print(message, file=stream, flush=True)
    except (BrokenPipeError, ValueError):  # ValueError: the stream was closed
        _silence(stream_name)
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        _silence(stream_name)


def _silence(stream_name: str) -> None:
    # further lines go nowhere, and Python's flush at exit does not complain about the pipe
    setattr(sys, stream_name, open(os.devnull, "w"))


def _say(message: str) -> None:
    # under torchrun every process runs the command: only the first one talks
    if os.environ.get("RANK", "0") in ("", "0"):
        _emit(message, "stderr")


def _warn(message: str) -> None:
    _say(f"haplogen: warning: {message}")


def _print(message: str) -> None:
    _emit(message, "stdout")


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


def _subsample_size(text: str) -> int:
    """An argparse type: 0 (whole sets) or a subsample of at least 2 haplotypes."""
    value = _int_at_least(0, "0 (the whole sets) or a size of at least 2")(text)
    if value == 1:
        raise argparse.ArgumentTypeError("expected 0 (the whole sets) or a size of at least 2, found 1")
    return value


def _finite_float(what: str, *, minimum: float | None = None, positive: bool = False, maximum: float | None = None):
    """An argparse type: a finite float (no nan, no inf) within the given bounds."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, found {text!r}") from None
        if (
            not math.isfinite(value)
            or (minimum is not None and value < minimum)
            or (positive and value <= 0)
            or (maximum is not None and value > maximum)
        ):
            raise argparse.ArgumentTypeError(f"expected {what}, found {text!r}")
        return value

    return convert


_seconds = _finite_float("a finite number of seconds >= 0", minimum=0.0)


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def _settings_text(found: Mapping[str, Any]) -> str:
    """The settings of every family with their defaults, for ``train --help`` (read from the
    family files, no torch): what ``--set KEY=VALUE`` accepts."""
    import textwrap

    lines = ["settings of each family (--set KEY=VALUE; default after '='; each explained in haplogen/models/FAMILY.py;",
             "every family also takes device=cpu, or cuda):"]
    for name, info in found.items():
        text = ", ".join(f"{key}={default}" for key, default in info.settings if key != "epochs")
        lines.extend(textwrap.wrap(f"{name}: {text}", width=100, initial_indent="  ", subsequent_indent="      "))
    return "\n".join(lines)


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


def _io(args: argparse.Namespace) -> dict[str, Any]:
    """The reading options, the printers and the command line, as the API functions take them."""
    options: dict[str, Any] = {"command": args.argv, "say": _say, "warn": _warn}
    if hasattr(args, "multiallelic"):
        options["options"] = _read_options(args)
        options["legend"] = args.legend
    return options


# ---------------------------------------------------------------------------- simulate
def cmd_simulate(args: argparse.Namespace) -> int:
    from .api import simulate_to_files
    from .simulate import SimulationConfig

    config = SimulationConfig(
        individuals_per_population=args.individuals,
        sequence_length=int(args.length),
        min_maf=args.min_maf,
        max_sites=args.max_sites,
        chromosome=args.chromosome,
        n_chromosomes=args.chromosomes,
    )
    simulate_to_files(args.output, config=config, seed=args.seed, labels_out=args.labels_out,
                      overwrite=args.overwrite, command=args.argv, say=_say)
    return 0


# ---------------------------------------------------------------------------- import
def cmd_import(args: argparse.Namespace) -> int:
    from .api import import_to_store

    import_to_store(
        args.input, args.output,
        variants_chunk_size=args.variants_chunk_size,
        samples_chunk_size=args.samples_chunk_size,
        overwrite=args.overwrite,
        command=args.argv,
        say=_say,
        warn=_warn,
    )
    return 0


# ---------------------------------------------------------------------------- split
def cmd_split(args: argparse.Namespace) -> int:
    from .api import split_to_files

    split_to_files(
        args.input, args.output,
        holdout_fraction=args.holdout_fraction,
        stratify=not args.no_stratify,
        split_file=args.split_file,
        seed=args.seed,
        format=args.format,
        labels=args.labels,
        missing_labels=args.missing_labels,
        overwrite=args.overwrite,
        **_io(args),
    )
    return 0


# ---------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    from .api import parse_overrides, progress_printer, train_from_file
    from .models import MODELS

    overrides = parse_overrides(args.set or [], MODELS[args.model].Config)
    record = train_from_file(
        args.input,
        model=args.model,
        out_dir=args.output,
        split_file=args.split,
        labels=args.labels,
        missing_labels=args.missing_labels,
        seed=args.seed,
        overrides=overrides,
        epochs=args.epochs,
        time_budget_s=args.time_budget,
        resume=args.resume,
        overwrite=args.overwrite,
        threads=args.threads,
        checkpoint_every_s=args.checkpoint_every,
        progress=progress_printer(_say, args.progress_every),
        **_io(args),
    )
    t = record["training"]
    _say(
        f"trained {args.model} for {t['epochs_run']} epochs in {t['elapsed_s']:.0f} s "
        f"(stopped by {t['stopped_by']}; seed {record['seed']}) -> {args.output}/model.pt"
    )
    for note in t.get("notes", ()):
        _say(f"note: {note}")
    return 0


# ---------------------------------------------------------------------------- generate
def cmd_generate(args: argparse.Namespace) -> int:
    from .api import generate_to_file, parse_population_shares

    if args.population is not None and args.populations is not None:
        raise InputError("--population and --populations were both given; give one population, or shares of several")
    populations = args.population if args.populations is None else parse_population_shares(args.populations)
    generate_to_file(
        args.model_dir, args.n, args.output,
        format=args.format,
        seed=args.seed,
        prefix=args.prefix,
        threads=args.threads,
        audit=args.audit,
        real=args.real,
        holdout=args.holdout,
        force=args.force,
        overwrite=args.overwrite,
        populations=populations,
        batch_size=args.batch_size,
        temperature=args.temperature,
        **_io(args),
    )
    return 0


# ---------------------------------------------------------------------------- evaluate
def cmd_evaluate(args: argparse.Namespace) -> int:
    from .api import evaluate_files
    from .report import summary_table

    ev, paths = evaluate_files(
        args.real, args.synthetic, args.output,
        holdout=args.holdout,
        labels=args.labels,
        missing_labels=args.missing_labels,
        synthetic_labels=args.synthetic_labels,
        model=args.model,
        seed=args.seed,
        aats_repeats=args.aats_repeats,
        statistics=args.statistics,
        exclude=args.exclude,
        utility=args.utility,
        statistic_options={**({"imputation": {"array_every": args.array_every}} if args.utility else {}),
                           **({"aats": {"size": args.aats_size}, "privacy": {"size": args.aats_size}}
                              if args.aats_size is not None else {})} or None,
        blockwise=args.blockwise,
        reference=not args.no_reference,
        scheduler=args.scheduler,
        workers=args.workers,
        memory_limit=args.memory_limit,
        threads=args.threads,
        overwrite=args.overwrite,
        **_io(args),
    )
    _print(summary_table(ev))
    _say(f"report: {paths['report']}\nmetrics: {paths['metrics']}")
    return 0


# ---------------------------------------------------------------------------- score
def cmd_score(args: argparse.Namespace) -> int:
    from .api import score_file

    scored = score_file(
        args.model_dir, args.data, args.output,
        labels=args.labels,
        missing_labels=args.missing_labels,
        threads=args.threads,
        overwrite=args.overwrite,
        **_io(args),
    )
    h = scored["haplotypes"]
    _print(
        f"mean log-likelihood {scored['mean_nats']:.3f} nats per haplotype, {scored['bits_per_snp']:.5f} bits per SNP "
        f"({h.n_haplotypes} haplotypes x {h.n_sites} SNPs; {scored['likelihood']})"
    )
    return 0


# ---------------------------------------------------------------------------- demo
def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.output, seed=args.seed, say=_say, overwrite=args.overwrite, command=args.argv)
    return 0


# ---------------------------------------------------------------------------- parser
EXAMPLES = {
    "simulate": "example:\n  haplogen simulate -o sim.vcf.gz --individuals 100 --max-sites 1000 --seed 1\n"
    "  (writes sim.vcf.gz and sim.samples.tsv)",
    "import": "example:\n  haplogen import data.vcf.gz -o data.vcz\n"
    "  haplogen import chr15.bcf -o chr15.vcz --variants-chunk-size 10000 --samples-chunk-size 1000\n"
    "  haplogen train data.vcz --model mixar -o model/   # every command that reads haplotypes takes the store",
    "split": "example:\n  haplogen split data.vcf.gz --labels samples.tsv --holdout-fraction 0.2 --seed 1 -o split/\n"
    "  haplogen split data.vcf.gz --split-file split.tsv -o split/\n"
    "  (writes split/train.vcf.gz, split/holdout.vcf.gz and split/split.tsv)",
    "train": "example:\n  haplogen train split/train.vcf.gz --model rbm -o model/ --seed 1\n"
    "  haplogen train split/train.vcf.gz --model mixar --labels samples.tsv -o mixar/   # by population\n"
    "  haplogen train 805_SNP_1000G_real.hapt.gz --legend 805_SNP.legend --model gan --epochs 100 -o gan/\n"
    "  haplogen train data.vcf.gz --model rbm --set n_hidden=500 --time-budget 15m -o model/\n"
    "  haplogen train data.vcf.gz --model rbm -o model/ --resume   # continue an interrupted run",
    "generate": "example:\n  haplogen generate model/ -n 5000 -o artificial.vcf.gz --seed 2\n"
    "  haplogen generate mixar/ -n 1000 -o yri.vcf.gz --population YRI   # + yri.samples.tsv\n"
    "  haplogen generate mixar/ -n 1000 -o mix.vcf.gz --populations YRI=0.5,CEU=0.5\n"
    "  haplogen generate model/ -n 5000 -o artificial.hapt.gz --format hapt\n"
    "  haplogen generate model/ -n 1000000 -o artificial.vcz          # a VCF Zarr store, written as it is sampled\n"
    "  haplogen generate model/ -n 1000 -o release.vcf.gz --audit --real split/train.vcf.gz --holdout split/holdout.vcf.gz\n"
    "  haplogen generate model/ -n 5000 -o artificial.vcf.gz --overwrite --threads 2   # replace an earlier set",
    "evaluate": "example:\n  haplogen evaluate --real split/train.vcf.gz --synthetic artificial.vcf.gz "
    "--holdout split/holdout.vcf.gz --labels samples.tsv -o evaluation/\n"
    "  haplogen evaluate --real real.hapt.gz --synthetic gan.hapt.gz rbm.hapt.gz --legend 805_SNP.legend -o eval/\n"
    "  haplogen evaluate --real split/train.vcf.gz --labels samples.tsv --synthetic mix.vcf.gz rbm.vcf.gz "
    "--synthetic-labels mix.samples.tsv - -o eval/   # mix's own labels; rbm's by nearest neighbours\n"
    "  haplogen evaluate --real split/train.vcf.gz --holdout split/holdout.vcf.gz --synthetic ag.vcf.gz "
    "--model model/ -o eval/ --overwrite\n"
    "  haplogen evaluate --real chr15.vcz --synthetic ag.vcz --blockwise on --scheduler tcp://10.0.0.5:8786 "
    "-o eval/   # statistics block by block on a Dask cluster",
    "score": "example:\n  haplogen score mixar/ split/holdout.vcf.gz -o holdout.scores.tsv\n"
    "  haplogen score mixar/ split/holdout.vcf.gz --labels samples.tsv -o holdout.conditional.tsv   # log p(x | pop)\n"
    "  (one row per haplotype: sample, haplotype 0/1, population, log-likelihood in nats, bits per SNP)",
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
    p.add_argument("--length", type=_finite_float("a positive length in bp", positive=True), default=5e6,
                   help="sequence length in bp")
    p.add_argument("--max-sites", type=_positive_int, default=None, help="keep at most this many SNPs (evenly spaced)")
    p.add_argument("--min-maf", type=_finite_float("a minor allele frequency in [0, 0.5]", minimum=0.0, maximum=0.5),
                   default=0.0, help="keep SNPs with minor allele frequency at least this")
    p.add_argument("--chromosome", default="1", help="name of the (first) chromosome")
    p.add_argument("--chromosomes", type=_positive_int, default=1,
                   help="independent (unlinked) chromosomes, each --length bp; SNPs are shared out evenly")
    p.add_argument("--labels-out", help="population table (default: beside the VCF, NAME.samples.tsv)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (refused otherwise)")
    p.add_argument("--seed", type=_seed, help="random seed (drawn and recorded when absent)")
    p.set_defaults(func=cmd_simulate)

    p = add("import", "convert a VCF/BCF into a chunked VCF Zarr store (bio2zarr), read in chunks, never whole")
    p.add_argument("input", help="VCF/BCF file (.vcf, .vcf.gz, .bcf)")
    p.add_argument("-o", "--output", required=True, help="output store, a directory named NAME.vcz")
    p.add_argument("--variants-chunk-size", type=_positive_int, default=10_000, help="variants per chunk")
    p.add_argument("--samples-chunk-size", type=_positive_int, default=1_000,
                   help="individuals per chunk (two haplotypes each)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing store (refused otherwise)")
    p.set_defaults(func=cmd_import)

    p = add("split", "split individuals into training and holdout sets (both haplotypes of a person on one side)")
    p.add_argument("input", help="VCF/BCF or hapt file")
    p.add_argument("-o", "--output", required=True, help="output directory")
    p.add_argument("--labels", help="sample pop super_pop table, to stratify by population")
    p.add_argument("--missing-labels", choices=["error", "drop", "unknown"], default="error",
                   help="individuals absent from the labels table")
    p.add_argument("--holdout-fraction", type=_finite_float("a fraction between 0 and 1", positive=True, maximum=1.0),
                   default=0.2, help="share of individuals held out")
    p.add_argument("--no-stratify", action="store_true", help="do not stratify by population")
    p.add_argument("--split-file", help="take the split from a 'sample<TAB>set' table instead of drawing one")
    p.add_argument("--format", choices=["vcf", "hapt"], default="vcf", help="format of the output sets")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a split already in the output directory (refused otherwise)")
    p.add_argument("--seed", type=_seed, help="random seed (drawn and recorded when absent)")
    _add_read_options(p)
    p.set_defaults(func=cmd_split)

    p = add("train", "train a generative model on phased haplotypes")
    p.add_argument("input", help="VCF/BCF or hapt file (with --legend)")
    from .models.registry import describe_families, families as family_files  # reads the family files; no torch

    families = describe_families()
    p.epilog = (p.epilog or "") + "\n\n" + _settings_text(family_files())
    p.add_argument("--model", choices=list(families), default="rbm", metavar="FAMILY",
                   help="model family: " + "; ".join(f"{k} ({v.rstrip('.')})" for k, v in families.items()))
    p.add_argument("-o", "--output", required=True, help="model directory")
    p.add_argument("--epochs", type=_positive_int, help="number of epochs (default: the model's own)")
    p.add_argument("--time-budget", type=parse_duration, help="stop after the epoch that exceeds this time (900, 15m, 1h)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="change a model setting (repeatable)")
    p.add_argument("--split", help="train only on the 'train' individuals of this split table")
    p.add_argument("--labels", help="sample pop super_pop table: a conditional family (hmm, mixar, mosaic) learns each "
                   "population from it (then generate --population); other families do not use it")
    p.add_argument("--missing-labels", choices=["error", "drop", "unknown"], default="error",
                   help="individuals absent from the labels table")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in the model directory")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a trained model, or an unfinished run, in the model directory")
    p.add_argument("--threads", type=_positive_int, help="torch intra-op threads (default: all cores)")
    p.add_argument("--checkpoint-every", type=_seconds, default=60.0, help="seconds between checkpoints (0: every epoch)")
    p.add_argument("--progress-every", type=_seconds, default=5.0, help="seconds between progress lines")
    p.add_argument("--seed", type=_seed, help="random seed (drawn and recorded when absent)")
    _add_read_options(p)
    p.set_defaults(func=cmd_train)

    p = add("generate", "sample artificial haplotypes from a trained model")
    p.add_argument("model_dir", help="model directory written by 'haplogen train'")
    p.add_argument("-n", type=_positive_int, required=True, help="number of haplotypes (pairs form individuals)")
    p.add_argument("-o", "--output", required=True,
                   help="output: .vcf.gz, .vcz (a VCF Zarr store, bio2zarr's layout) or .hapt.gz")
    p.add_argument("--format", choices=["vcf", "vcz", "hapt"],
                   help="output format (default: from the file name; a format that contradicts the name is refused)")
    p.add_argument("--batch-size", type=_positive_int, metavar="N",
                   help="haplotypes drawn at once (default: 4096, fewer for models of more than 16,384 sites, so "
                   "that a batch holds at most 64 MB of alleles). The output is written as it is sampled, so memory "
                   "does not grow with -n. Part of the draw: recorded, and another batch size gives other "
                   "haplotypes for the same seed"),
    p.add_argument("--temperature", type=_finite_float("a finite number > 0", positive=True), default=1.0,
                   metavar="T",
                   help="1 (default) draws from the model itself; below 1 (hmm only) each allele's log-odds given "
                   "the model's state is divided by T: fewer stray alleles, haplotypes a little closer to each other "
                   "(on the 805-SNP panel 0.98 brought AA truth / syn from 0.575 / 0.420 to 0.512 / 0.490 and "
                   "pairwise W1 from 1.28 to 1.79; README, 'Sampling temperature'). Recorded; check the "
                   "evaluation and privacy audit of what it makes")
    p.add_argument("--prefix", default="AG", help="prefix of the artificial individuals' names")
    p.add_argument("--population", metavar="POP",
                   help="sample every individual from this population (a model trained with --labels)")
    p.add_argument("--populations", metavar="POP=SHARE,...",
                   help="shares of individuals by population, e.g. YRI=0.5,CEU=0.5 (normalised; exact to one "
                   "individual, laid out in the order given). Without either option, a model trained with "
                   "--labels takes the training proportions (exact to one individual, in a seeded random order); the labels are "
                   "written beside the output as NAME.samples.tsv")
    p.add_argument("--audit", action="store_true", help="run the privacy audit and refuse to write a failing set")
    p.add_argument("--real", help="with --audit: the training set of the model")
    p.add_argument("--holdout", help="with --audit: held-out individuals the model did not see")
    p.add_argument("--force", action="store_true", help="with --audit: write the file even when the audit fails")
    p.add_argument("--threads", type=_positive_int, help="torch intra-op threads (default: all cores)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (refused otherwise)")
    p.add_argument("--seed", type=_seed, help="random seed (drawn and recorded when absent)")
    _add_read_options(p)
    p.set_defaults(func=cmd_generate)

    p = add("evaluate", "compare artificial haplotypes with real ones: fidelity statistics, privacy audit, HTML report")
    p.add_argument("--real", required=True, help="real haplotypes (the training set when --holdout is given)")
    p.add_argument("--synthetic", required=True, nargs="+", help="one or more artificial sets (VCF or hapt)")
    p.add_argument("--holdout", help="held-out real haplotypes, for the privacy audit")
    p.add_argument("--model", metavar="MODEL_DIR",
                   help="the model directory the artificial sets came from: a holdout that shares individuals "
                   "with its training data is refused (default: the model named in each set's provenance)")
    p.add_argument("--labels", help="sample pop super_pop table of the real individuals")
    p.add_argument("--missing-labels", choices=["error", "drop", "unknown"], default="unknown",
                   help="real individuals absent from the labels table")
    p.add_argument("--synthetic-labels", nargs="+", metavar="TABLE",
                   help="samples table of each synthetic set, in order ('-' for none); default: each set's own "
                   "NAME.samples.tsv beside it when there is one. Sets without one are assigned to populations "
                   "by nearest neighbours")
    p.add_argument("-o", "--output", required=True, help="output directory (report.html, metrics.json)")
    p.add_argument("--aats-repeats", type=_positive_int, default=5, help="subsamples averaged for AATS")
    p.add_argument("--aats-size", type=_subsample_size, metavar="N",
                   help="haplotypes drawn from each set for AATS and the privacy audit's nearest-neighbour "
                   "subsets (0: the whole sets; default: the smaller set, capped so that n x n x sites <= 1e12, "
                   "3,162 haplotypes at 100,000 SNPs). AATS depends on n: compare values at the same n")
    p.add_argument("--utility", nargs="+", choices=["imputation"], default=[],
                   help="opt-in utility statistics: 'imputation' imputes the holdout's masked SNPs with Beagle 5 "
                   "(apt-get install beagle) using the real and each artificial panel; needs --holdout")
    p.add_argument("--array-every", type=_positive_int, default=10,
                   help="with --utility imputation: keep every Nth SNP of the targets (the 'array'), impute the rest")
    p.add_argument("--no-reference", action="store_true",
                   help="with --holdout: do not score the holdout like a synthetic set (the report's reference "
                   "column, what an honest generator can reach; it costs about one more set). Train-on-real accuracy and the "
                   "real imputation panel's r², measured anyway, stay in that column")
    p.add_argument("--statistics", nargs="+", metavar="NAME", help="run only these statistics (registry names)")
    p.add_argument("--exclude", nargs="+", metavar="NAME", default=[], help="leave these statistics out")
    p.add_argument("--blockwise", choices=["auto", "on", "off"], default="auto",
                   help="compute the statistics block by block on Dask arrays with bounded memory: 'auto' (default) "
                   "when a set holds more than 2e8 haplotypes x sites or --scheduler is given")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the block-wise statistics on an existing Dask cluster (tcp://host:8786); default: a "
                   "local cluster")
    p.add_argument("--workers", type=_positive_int, help="workers of the local Dask cluster (default: one per core)")
    p.add_argument("--threads", type=_positive_int,
                   help="torch intra-op threads of the held-out likelihood and the other torch work (default: all "
                   "cores). On a machine busy with other work, 1 avoids oversubscription: on a loaded 2-core machine "
                   "the hmm likelihood of 100 haplotypes of the 805-SNP panel took 55 s on 2 threads, 1.3 s on 1")
    p.add_argument("--memory-limit", default="auto",
                   help="memory of each local Dask worker, e.g. 4GB, beyond which it spills to disk (default 'auto': "
                   "none for the local cluster's thread workers, which share this process and its data)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report (refused otherwise)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed of the subsampling")
    _add_read_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = add("score", "the exact log-likelihood of every haplotype under a trained model, as a table")
    p.add_argument("model_dir", help="model directory written by 'haplogen train' (a family with an exact likelihood)")
    p.add_argument("data", help="VCF/BCF or hapt file of haplotypes at the model's sites")
    p.add_argument("-o", "--output", required=True, help="output table (.tsv)")
    p.add_argument("--labels", help="sample pop super_pop table: score log p(haplotype | population) with each "
                   "individual's population (a model trained with --labels) instead of the marginal log p(haplotype)")
    p.add_argument("--missing-labels", choices=["error", "drop", "unknown"], default="error",
                   help="individuals absent from the labels table")
    p.add_argument("--overwrite", action="store_true", help="replace an existing table (refused otherwise)")
    p.add_argument("--threads", type=_positive_int, help="torch intra-op threads (default: all cores); 1 beside "
                   "another job: two processes on all cores slow each other many times over")
    _add_read_options(p)
    p.set_defaults(func=cmd_score)

    p = add("demo", "run the whole pipeline on simulated data and write a report")
    p.add_argument("--out", dest="output", default="demo-output", help="output directory")
    p.add_argument("--overwrite", action="store_true", help="replace the outputs of an earlier demo (refused otherwise)")
    p.add_argument("--seed", type=_seed, default=1, help="random seed")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on success).

    Parameters
    ----------
    argv
        The arguments after the program name (default: ``sys.argv[1:]``); every output records
        ``["haplogen", *argv]`` as the command that made it.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = ["haplogen", *[str(a) for a in argv]]
    try:
        return int(args.func(args) or 0)
    except HaplogenError as exc:
        _say(f"haplogen: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt as exc:
        _say(f"haplogen: {_interrupted(args, exc)}")
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


def _interrupted(args: argparse.Namespace, exc: KeyboardInterrupt) -> str:
    """What an interrupt left: a checkpoint to resume from only when one exists."""
    checkpoint = getattr(exc, "checkpoint_path", None)
    if checkpoint and Path(checkpoint).is_file():
        return f"{exc}; continue it with the same command and --resume"
    if args.command == "train":
        from .api import CHECKPOINT_FILE

        saved = Path(args.output) / CHECKPOINT_FILE
        if saved.is_file():
            return f"interrupted; the last checkpoint, {saved}, can be continued with the same command and --resume"
        return "interrupted before the first checkpoint was saved; nothing can be resumed: run the command again"
    return "interrupted; outputs that were not complete were not written"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
