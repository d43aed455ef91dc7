"""Every module of haplogen imports on its own, in a fresh interpreter.

An import cycle (evaluation -> report -> evaluation) or a module that works only when another
was imported first fails here, naming the module, even when the whole test suite, which
imports everything in some order, would not notice.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import haplogen

PACKAGE_DIR = Path(haplogen.__file__).resolve().parent


def _modules() -> list[str]:
    """Every module and package under haplogen/, found on disk (not by importing them)."""
    names = ["haplogen"]
    for info in pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="haplogen."):
        names.append(info.name)
    return sorted(names)


MODULES = _modules()


def _import_alone(module: str) -> tuple[str, int, str]:
    code = f"import importlib; importlib.import_module({module!r})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    return module, done.returncode, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def test_the_module_list_is_complete():
    # walk_packages finds subpackages only through their __init__.py: every .py file must be listed
    on_disk = {
        ".".join(("haplogen", *p.relative_to(PACKAGE_DIR).with_suffix("").parts)).removesuffix(".__init__")
        for p in PACKAGE_DIR.rglob("*.py")
    }
    assert on_disk == set(MODULES)
    assert {"haplogen.evaluation", "haplogen.report.html", "haplogen.results",
            "haplogen.statistics.registry"} <= on_disk


def test_every_module_imports_alone_in_a_fresh_interpreter():
    # two at a time: each interpreter is single-threaded, and the machine may have two cores
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(_import_alone, MODULES))
    failed = [f"{module}: {last_line}" for module, code, last_line in outcomes if code != 0]
    assert not failed, "modules that do not import on their own:\n" + "\n".join(failed)


@pytest.mark.parametrize("leaf", ["haplogen.results", "haplogen.statistics.registry"])
def test_the_result_types_import_neither_evaluation_nor_report(leaf):
    code = (
        f"import sys, importlib; importlib.import_module({leaf!r}); "
        "print(sorted(m for m in sys.modules if m in ('haplogen.evaluation', 'haplogen.report') "
        "or m.startswith('haplogen.report.') or m == 'matplotlib'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
