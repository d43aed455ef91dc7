"""Model settings: the base configuration dataclass, its checks, and ``--set KEY=VALUE`` parsing.

Every model family has a frozen dataclass of settings that subclasses :class:`ModelConfig`
(which brings ``epochs`` and ``device``). A setting's annotation says everything haplogen
needs to check it and to read it from the command line:

======================================  ======================================================
annotation                              ``--set`` text (values are case-insensitive words)
======================================  ======================================================
``int``, ``float``, ``str``             ``500``, ``1e-4``, ``text``
``bool``                                ``true/false``, ``yes/no``, ``on/off``, ``1/0``
``Literal["a", "b"]``                   one of the choices; anything else is refused with them
``tuple[int, ...]`` (also float, str)   comma-separated ``64,32`` (empty text: ``()``)
``tuple[int, float]``                   comma-separated, exactly that many items
``X | None`` (``Optional[X]``)          ``none`` (or ``null``, or empty text) gives None
``Annotated[X, Range(...)]``            ``X`` within the bounds, e.g. :data:`PositiveInt`
======================================  ======================================================

Numbers must be finite (NaN and infinities are refused) unless the field says otherwise with
``Range(finite=False)``. The checks run in ``__post_init__``, so a configuration that exists
is a valid one, whether it came from the command line, from Python or from a model file;
:meth:`ModelConfig.validate` is where a family adds checks that involve several settings.
Errors are :class:`~haplogen.errors.InputError` lines that name the setting::

    the RBM setting learning_rate must be a number > 0, found -0.1; pass --set learning_rate=VALUE

This module does not import torch: the command line reads settings and families without it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Sequence

import numpy as np

from ..errors import InputError

__all__ = [
    "Range",
    "PositiveInt",
    "NonNegativeInt",
    "PositiveFloat",
    "NonNegativeFloat",
    "UnitInterval",
    "ModelConfig",
    "field_types",
    "parse_overrides",
    "convert_text",
    "format_value",
    "describe_type",
    "check_value",
]

_NONE_WORDS = ("none", "null", "")
_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("0", "false", "no", "off")
_DEVICE = re.compile(r"cpu|cuda(:\d+)?")


@dataclass(frozen=True)
class Range:
    """Bounds of a numeric setting, given as ``Annotated[int | float, Range(...)]`` metadata.

    Parameters
    ----------
    ge, gt, le, lt
        Inclusive / exclusive lower and upper bounds (None: unbounded).
    finite
        Refuse NaN and infinities (the default); False lets them through.
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    finite: bool = True

    def describe(self) -> str:
        """The bounds in words, e.g. ``">= 0 and < 1"``; empty when unbounded."""
        parts = [
            f"{op} {_number(bound)}"
            for op, bound in ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt))
            if bound is not None
        ]
        return " and ".join(parts)

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies within the bounds (NaN never does, infinities only when allowed)."""
        if math.isnan(value):
            return not self.finite and not self.describe()
        if math.isinf(value) and self.finite:
            return False
        return (
            (self.ge is None or value >= self.ge)
            and (self.gt is None or value > self.gt)
            and (self.le is None or value <= self.le)
            and (self.lt is None or value < self.lt)
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


#: an integer >= 1 (units, batch sizes, steps)
PositiveInt = Annotated[int, Range(ge=1)]
#: an integer >= 0 (epochs, burn-in steps)
NonNegativeInt = Annotated[int, Range(ge=0)]
#: a finite number > 0 (learning rates, scales)
PositiveFloat = Annotated[float, Range(gt=0)]
#: a finite number >= 0 (penalties, noise levels)
NonNegativeFloat = Annotated[float, Range(ge=0)]
#: a finite number in [0, 1] (probabilities, fractions)
UnitInterval = Annotated[float, Range(ge=0, le=1)]


# ------------------------------------------------------------------------- types
def _unwrap(kind: Any) -> tuple[Any, list[Range]]:
    """Strip ``Annotated`` layers: the bare type and the ranges found on the way."""
    ranges: list[Range] = []
    while typing.get_origin(kind) is Annotated:
        args = typing.get_args(kind)
        kind = args[0]
        ranges += [m for m in args[1:] if isinstance(m, Range)]
    return kind, ranges


def _union_arms(kind: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return typing.get_args(kind)
    return None


def _tuple_items(kind: Any) -> tuple[Any, ...] | None:
    """Element types of ``tuple[X, ...]`` (as ``(X, Ellipsis)``) or ``tuple[X, Y]``; None otherwise."""
    if kind is tuple:
        return (str, Ellipsis)
    if typing.get_origin(kind) is tuple:
        return typing.get_args(kind) or (str, Ellipsis)
    return None


def describe_type(kind: Any) -> str:
    """What a setting of type ``kind`` accepts, in words (for error messages and help)."""
    kind, ranges = _unwrap(kind)
    bounds = " and ".join(r.describe() for r in ranges if r.describe())
    arms = _union_arms(kind)
    if arms is not None:
        words = [describe_type(a) for a in arms if a is not type(None)]
        text = " or ".join(words)
        return f"{text} or none" if type(None) in arms else text
    if typing.get_origin(kind) is Literal:
        return "one of " + ", ".join(repr(c) for c in typing.get_args(kind))
    items = _tuple_items(kind)
    if items is not None:
        if len(items) == 2 and items[1] is Ellipsis:
            return f"a comma-separated list of {_plural(describe_type(items[0]))}"
        return f"{len(items)} comma-separated values ({', '.join(describe_type(i) for i in items)})"
    base = {bool: "true or false", int: "an integer", float: "a number", str: "a text"}.get(
        kind, getattr(kind, "__name__", str(kind))
    )
    return f"{base} {bounds}" if bounds else base


def _plural(text: str) -> str:
    for article in ("an ", "a "):
        if text.startswith(article):
            noun, _, rest = text[len(article) :].partition(" ")
            return f"{noun}s {rest}".strip()
    return text


@functools.lru_cache(maxsize=None)
def field_types(config_cls: type) -> dict[str, Any]:
    """The annotation of every field of the dataclass ``config_cls`` (``Annotated`` kept)."""
    hints = typing.get_type_hints(config_cls, include_extras=True)
    return {f.name: hints.get(f.name, str) for f in dataclasses.fields(config_cls)}


# ------------------------------------------------------------- checking values
class _Refused(Exception):
    """A value that does not fit a type (turned into an InputError naming the setting)."""


def check_value(value: Any, kind: Any) -> Any:
    """``value`` checked against the annotation ``kind``, normalised (list -> tuple, int -> float).

    Raises
    ------
    _Refused
        When the value does not fit; the caller names the setting.
    """
    kind, ranges = _unwrap(kind)
    arms = _union_arms(kind)
    if arms is not None:
        if value is None and type(None) in arms:
            return None
        for arm in arms:
            if arm is type(None):
                continue
            try:
                value_in_arm = check_value(value, arm)
            except _Refused:
                continue
            return _in_ranges(value_in_arm, ranges)
        raise _Refused
    if typing.get_origin(kind) is Literal:
        for choice in typing.get_args(kind):
            if type(value) is type(choice) and value == choice:
                return value
        raise _Refused
    items = _tuple_items(kind)
    if items is not None:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise _Refused
        if len(items) == 2 and items[1] is Ellipsis:
            return tuple(check_value(v, items[0]) for v in value)
        if len(value) != len(items):
            raise _Refused
        return tuple(check_value(v, k) for v, k in zip(value, items))
    if kind is bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise _Refused
    if kind is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            return _in_ranges(int(value), ranges)
        raise _Refused
    if kind is float:
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            value = float(value)
            if not ranges and not math.isfinite(value):
                raise _Refused
            return _in_ranges(value, ranges)
        raise _Refused
    if kind is str:
        if isinstance(value, str):
            return value
        raise _Refused
    raise TypeError(
        f"settings of type {kind!r} are not supported; use int, float, bool, str, Literal, "
        "tuple[...] or Optional[...] of those"
    )


def _in_ranges(value: Any, ranges: list[Range]) -> Any:
    for r in ranges:
        if isinstance(value, (int, float)) and not r.contains(value):
            raise _Refused
    return value


def _label(config_cls: type) -> str:
    """``RBMConfig`` -> ``RBM``: how errors name the family of a setting."""
    name = config_cls.__name__
    return name[: -len("Config")] if name.endswith("Config") and len(name) > 6 else name


@dataclass(frozen=True)
class ModelConfig:
    """Settings common to every model family; a family's ``Config`` subclasses this.

    Subclasses are frozen dataclasses too; they redeclare ``epochs`` with their own default
    and may override :meth:`validate` for checks that involve several settings.
    """

    # full passes over the data of a training run (a family redeclares it with its default)
    epochs: NonNegativeInt = 100
    # where the model computes: "cpu" (the default), or "cuda" / "cuda:N" for a GPU when torch
    # finds one; not part of what makes two runs the same (a model trained on a GPU loads on CPU)
    device: str = "cpu"

    #: settings that do not change what a run computes; ignored when a resumed run is compared
    #: with its checkpoint
    RUN_SETTINGS: ClassVar[tuple[str, ...]] = ("epochs", "device")

    def __post_init__(self) -> None:
        label = _label(type(self))
        for name, kind in field_types(type(self)).items():
            value = getattr(self, name)
            try:
                checked = check_value(value, kind)
            except _Refused:
                raise InputError(
                    f"the {label} setting {name} must be {describe_type(kind)}, found {value!r}; "
                    f"pass --set {name}=VALUE"
                ) from None
            if checked is not value:
                object.__setattr__(self, name, checked)
        if not _DEVICE.fullmatch(self.device):
            raise InputError(
                f"the {label} setting device must be 'cpu', 'cuda' or 'cuda:N', found {self.device!r}; "
                "pass --set device=cpu or --set device=cuda"
            )
        self.validate()

    def validate(self) -> None:
        """Checks that involve several settings (raise InputError naming them); none here."""


# -------------------------------------------------------- --set KEY=VALUE parsing
def convert_text(raw: str, kind: Any, key: str) -> Any:
    """The value of setting ``key`` of type ``kind`` written as ``raw`` on the command line.

    Raises
    ------
    InputError
        When ``raw`` does not fit, naming the setting, what it accepts and what was found.
    """
    try:
        return _from_text(raw.strip(), kind)
    except _Refused:
        raise InputError(f"--set {key} expects {describe_type(kind)}, found {raw!r}") from None


def _from_text(raw: str, kind: Any) -> Any:
    bare, ranges = _unwrap(kind)
    arms = _union_arms(bare)
    if arms is not None:
        if type(None) in arms and raw.lower() in _NONE_WORDS:
            return None
        for arm in arms:
            if arm is type(None):
                continue
            try:
                return _in_ranges(_from_text(raw, arm), ranges)
            except _Refused:
                continue
        raise _Refused
    if typing.get_origin(bare) is Literal:
        for choice in typing.get_args(bare):
            if isinstance(choice, bool):
                matches = raw.lower() in (_TRUE_WORDS if choice else _FALSE_WORDS)
            elif isinstance(choice, (int, float)):
                try:
                    matches = float(raw) == choice
                except ValueError:
                    matches = False
            else:
                matches = raw == str(choice)
            if matches:
                return choice
        raise _Refused
    items = _tuple_items(bare)
    if items is not None:
        text = raw.strip("()[] ")
        parts = [] if text == "" else [p.strip() for p in text.split(",")]
        if len(items) == 2 and items[1] is Ellipsis:
            return tuple(_from_text(p, items[0]) for p in parts)
        if len(parts) != len(items):
            raise _Refused
        return tuple(_from_text(p, k) for p, k in zip(parts, items))
    if bare is bool:
        if raw.lower() in _TRUE_WORDS:
            return True
        if raw.lower() in _FALSE_WORDS:
            return False
        raise _Refused
    if bare is int:
        try:
            value = int(raw)
        except ValueError:
            try:  # 1e3 is an integer written as a float
                as_float = float(raw)
            except ValueError:
                raise _Refused from None
            if not (math.isfinite(as_float) and as_float.is_integer()):
                raise _Refused from None
            value = int(as_float)
        return check_value(value, kind)
    if bare is float:
        try:
            value = float(raw)
        except ValueError:
            raise _Refused from None
        return check_value(value, kind)
    if bare is str:
        return raw
    return check_value(raw, kind)


def format_value(value: Any, kind: Any) -> str:
    """``value`` of a setting of type ``kind`` written as ``--set`` text (the inverse of parsing).

    Floats are written with ``repr``, which reads back to the same float; items of a tuple of
    text must not contain commas.
    """
    bare, _ = _unwrap(kind)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        items = _tuple_items(_non_none(bare)) or (str, Ellipsis)
        kinds = [items[0]] * len(value) if items[-1] is Ellipsis else list(items)
        return ",".join(format_value(v, k) for v, k in zip(value, kinds))
    return str(value)


def _non_none(kind: Any) -> Any:
    arms = _union_arms(kind)
    if arms is None:
        return kind
    rest = [a for a in arms if a is not type(None)]
    return _unwrap(rest[0])[0] if rest else kind


def parse_overrides(items: Sequence[str], config_cls: type) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` strings (the ``--set`` options) into typed settings of ``config_cls``.

    Parameters
    ----------
    items
        ``"n_hidden=500"``, ``"sample_start=frequencies"``...; dashes in keys read as underscores.
    config_cls
        A family's configuration dataclass.

    Returns
    -------
    dict of str to value
        Each value converted to its field's type (see the module docstring).

    Raises
    ------
    InputError
        For text without ``=``, an unknown setting (the known ones are listed) or a value that
        does not fit its setting.
    """
    types_ = field_types(config_cls)
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise InputError(f"expected KEY=VALUE for --set, found {item!r}")
        if key not in types_:
            raise InputError(
                f"the {_label(config_cls)} family has no setting {key!r}; "
                f"known settings: {', '.join(sorted(types_))}"
            )
        out[key] = convert_text(raw, types_[key], key)
    return out
