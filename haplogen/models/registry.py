"""The model families: found in the files of this package, imported only when used.

A *family* is one module ``haplogen/models/<file>.py`` that declares, at module level::

    '''One line that describes the family (the first line of the docstring).

    The rest of the docstring: the maths, the training rule, the references.
    '''
    FAMILY = "name"                     # the --model name, stored in every model file
    TEST_SETTINGS = {"epochs": 2, ...}  # small settings that make the contract tests fast

and defines exactly one concrete :class:`~haplogen.models.base.GenerativeModel` subclass with
``name = FAMILY`` whose ``Config`` is a frozen dataclass subclassing
:class:`~haplogen.models.config.ModelConfig`. Adding that one file is all it takes: the
``--model`` choices and help of ``haplogen train``, :func:`make_config`, loading model files
and the contract tests (``tests/test_model_contract.py``) all read the families from here.

How families are found
    Every ``*.py`` file of this package whose name does not start with ``_`` is read as text
    and parsed with :mod:`ast` (never imported) for a module-level ``FAMILY = "<name>"``
    assignment of a string literal; files without one (``base.py``, ``training.py``...) are
    not families. The family's one-line description is the first line of the module
    docstring. So listing the families costs a few milliseconds and never imports torch: the
    command line builds its parser from :func:`describe_families`.
What is refused
    A ``FAMILY`` that is not a string literal, a name that is not a lower-case identifier
    (``[a-z][a-z0-9_]*``), two files declaring the same name, or a file that does not parse
    raise :class:`~haplogen.errors.ModelError` naming the file, the first time the families
    are listed: a broken family is loud, never silently missing.
Importing
    :func:`get_family` imports the family's module on first use (and so torch) and checks
    that it defines the class described above.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import inspect
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from ..errors import InputError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    from .base import GenerativeModel

__all__ = [
    "FamilyInfo",
    "families",
    "family_names",
    "describe_families",
    "get_family",
    "family_module",
    "conditional_families",
    "make_config",
    "MODELS",
]

_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class FamilyInfo:
    """A model family as found in its file, before importing it.

    Attributes
    ----------
    name : str
        The family's name (``FAMILY``): the ``--model`` choice and the key in model files.
    module : str
        Dotted name of its module, e.g. ``haplogen.models.rbm``.
    description : str
        The first line of the module docstring.
    filename : str
        The module's file name inside ``haplogen/models``.
    settings : tuple of (str, str)
        ``(setting, default as written)`` of the family's configuration class (the class of the
        file that subclasses ``ModelConfig``), in the order declared, read from the source: what
        ``--set`` accepts beside ``epochs`` and ``device``.
    """

    name: str
    module: str
    description: str
    filename: str
    settings: tuple[tuple[str, str], ...] = ()


def _declared_settings(tree: ast.Module, source: str) -> tuple[tuple[str, str], ...]:
    """``(name, default source text)`` of every field of the module's ``ModelConfig`` subclass."""
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        if not any(isinstance(b, ast.Name) and b.id == "ModelConfig" for b in node.bases):
            continue
        out = []
        for item in node.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.value is not None):
                continue
            annotation = ast.get_source_segment(source, item.annotation) or ""
            if annotation.startswith("ClassVar"):
                continue
            out.append((item.target.id, " ".join((ast.get_source_segment(source, item.value) or "").split())))
        return tuple(out)
    return ()


def _declared_family(source: str, filename: str) -> tuple[str | None, str, tuple[tuple[str, str], ...]]:
    """``(FAMILY or None, first docstring line, settings)`` of a module's source, without running it."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as error:
        raise ModelError(
            f"haplogen/models/{filename} cannot be parsed (line {error.lineno}: {error.msg}); "
            "fix the file or move it out of haplogen/models"
        ) from None
    doc = (ast.get_docstring(tree) or "").strip()
    description = doc.splitlines()[0].strip() if doc else ""
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "FAMILY" for t in targets):
            continue
        value = node.value
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            raise ModelError(
                f"haplogen/models/{filename}: FAMILY must be assigned a string literal "
                f"(line {node.lineno}), e.g. FAMILY = \"{filename[:-3]}\""
            )
        if not _NAME.fullmatch(value.value):
            raise ModelError(
                f"haplogen/models/{filename}: the family name {value.value!r} must be a lower-case "
                "identifier (letters, digits, underscores; a letter first)"
            )
        return value.value, description, _declared_settings(tree, source)
    return None, description, ()


def _package_files() -> Any:
    """The folder of this package's files (a ``Traversable``: a directory, or a zip's inside)."""
    return resources.files(__package__)


@functools.lru_cache(maxsize=1)
def families() -> dict[str, FamilyInfo]:
    """Every model family of this haplogen, by name (sorted), found without importing any.

    Raises
    ------
    ModelError
        When a family file is broken or two files declare the same name (see the module
        docstring).
    """
    found: dict[str, FamilyInfo] = {}
    for entry in sorted(_package_files().iterdir(), key=lambda e: e.name):
        filename = entry.name
        if not filename.endswith(".py") or filename.startswith("_") or not entry.is_file():
            continue
        name, description, settings = _declared_family(entry.read_text(encoding="utf-8"), filename)
        if name is None:
            continue
        if name in found:
            raise ModelError(
                f"two model families are named {name!r}: haplogen/models/{found[name].filename} and "
                f"haplogen/models/{filename}; rename one of them (FAMILY = ...)"
            )
        found[name] = FamilyInfo(name, f"{__package__}.{filename[:-3]}", description, filename, settings)
    return dict(sorted(found.items()))


def family_names() -> list[str]:
    """Names of the model families, sorted (no import of torch)."""
    return list(families())


def describe_families() -> dict[str, str]:
    """``{name: one-line description}`` of every model family, sorted by name (no import of torch)."""
    return {name: info.description for name, info in families().items()}


def _unknown(name: str) -> str:
    return f"unknown model family {name!r}; choose one of {', '.join(family_names())}"


def family_module(name: str) -> Any:
    """The module of family ``name``, imported.

    Raises
    ------
    InputError
        When no family has that name.
    """
    info = families().get(name)
    if info is None:
        raise InputError(_unknown(name))
    return importlib.import_module(info.module)


@functools.lru_cache(maxsize=None)
def get_family(name: str) -> type["GenerativeModel"]:
    """The model class of family ``name`` (its module is imported on first use).

    Raises
    ------
    InputError
        When no family has that name (the known ones are listed).
    ModelError
        When the family's file does not define the class the module docstring describes.
    """
    from .base import GenerativeModel
    from .config import ModelConfig

    module = family_module(name)
    where = f"haplogen/models/{families()[name].filename}"
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, GenerativeModel)
        and obj.__module__ == module.__name__
        and not inspect.isabstract(obj)
        and getattr(obj, "name", None) == name
    ]
    if len(classes) != 1:
        raise ModelError(
            f"{where} declares FAMILY = {name!r} but defines {len(classes)} concrete GenerativeModel "
            f"subclasses with name = {name!r}; define exactly one"
        )
    cls = classes[0]
    config = getattr(cls, "Config", None)
    if not (
        isinstance(config, type)
        and dataclasses.is_dataclass(config)
        and issubclass(config, ModelConfig)
        and config.__dataclass_params__.frozen  # type: ignore[attr-defined]
    ):
        raise ModelError(
            f"{where}: {cls.__name__}.Config must be a frozen dataclass that subclasses "
            "haplogen.models.config.ModelConfig, found "
            f"{getattr(config, '__name__', type(config).__name__)}"
        )
    return cls


def conditional_families() -> list[str]:
    """Names of the families that are conditional on population labels (imports them)."""
    return [name for name in family_names() if get_family(name).conditional]


def make_config(model: str, overrides: Mapping[str, Any] | None = None) -> Any:
    """The configuration of family ``model``: its defaults with ``overrides`` applied.

    Parameters
    ----------
    model
        A family name (see :func:`family_names`).
    overrides
        Typed settings, e.g. from :func:`~haplogen.models.config.parse_overrides`.

    Returns
    -------
    The family's ``Config`` instance, checked (and its device found on this machine).

    Raises
    ------
    InputError
        For an unknown family or setting, a value that does not fit its setting, or a device
        this machine does not have; one line naming the setting.
    """
    cls = get_family(model)
    overrides = dict(overrides or {})
    known = [f.name for f in dataclasses.fields(cls.Config)]
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise InputError(
            f"the {model} family has no setting {unknown[0]!r}; known settings: {', '.join(sorted(known))}"
        )
    try:
        config = dataclasses.replace(cls.Config(), **overrides)
    except InputError:
        raise
    except (TypeError, ValueError) as exc:
        raise InputError(f"invalid settings for the {model} family: {exc}") from None
    from .base import resolve_device

    resolve_device(config.device)
    return config


class _Families(Mapping):
    """``{name: model class}`` of every family, importing each on first access."""

    def __getitem__(self, name: str) -> type["GenerativeModel"]:
        if name not in families():
            raise KeyError(name)
        return get_family(name)

    def __iter__(self) -> Iterator[str]:
        return iter(family_names())

    def __len__(self) -> int:
        return len(families())

    def __contains__(self, name: object) -> bool:
        return name in families()

    def __repr__(self) -> str:
        return f"<model families: {', '.join(family_names())}>"


#: the model families by name, as a read-only mapping that imports a family when it is used
MODELS: Mapping[str, type["GenerativeModel"]] = _Families()
