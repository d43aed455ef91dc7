"""Open the report in a real (headless) browser: every figure must decode, offline.

Skipped when no Chromium is installed (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from haplogen.evaluation import evaluate
from haplogen.report import write_outputs
from haplogen.haplotypes import Haplotypes


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); the browser check needs it"
)

#: figures of a report with two synthetic sets, population labels and a holdout
EXPECTED_FIGURES = 11


def _browser(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def report(sim_haplotypes: Haplotypes, tmp_path_factory) -> Path:
    samples = np.random.default_rng(3).permutation(sim_haplotypes.samples)
    train = sim_haplotypes.select_samples(samples[:150])
    other = dataclasses.replace(sim_haplotypes.select_samples(samples[150:225]), population=None,
                                super_population=None)
    holdout = sim_haplotypes.select_samples(samples[225:])
    copies = dataclasses.replace(train.take(np.arange(150)), population=None, super_population=None)
    ev = evaluate(train, {"other": other, "copies": copies}, holdout=holdout, aats_repeats=1, seed=2)
    return write_outputs(ev, tmp_path_factory.mktemp("report"))["report"]


def test_every_figure_loads_in_a_browser(report, tmp_path):
    result = _browser(["--dump-dom", report.resolve().as_uri()], tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    body = re.search(r"<body[^>]*>", result.stdout)
    assert body is not None, result.stdout[:500]
    loaded = re.search(r'data-figures-loaded="(\d+)"', body.group(0))
    total = re.search(r'data-figures-total="(\d+)"', body.group(0))
    assert loaded and total, body.group(0)
    assert int(loaded.group(1)) == int(total.group(1)) == EXPECTED_FIGURES


def test_top_of_the_report_renders(report, tmp_path):
    shot = tmp_path / "top.png"
    result = _browser([f"--screenshot={shot}", "--window-size=1280,900", report.resolve().as_uri()],
                      tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 20_000
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (900, 1280)
    # not a blank page: the summary table puts many distinct colours on screen
    assert pixels[..., :3].std() > 0.05
    assert len(np.unique(pixels[..., :3].reshape(-1, 3).round(2), axis=0)) > 20
