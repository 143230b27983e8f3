"""The JSON text of baseline files: a deterministic writer and a strict reader.

The writer's bytes depend on the content alone: keys sorted, two-space indentation, a list of
scalars on one line (so a re-save changes one line per metric), a list of lists one item per
line, integral numbers written as integers, other numbers as Python's shortest ``repr``, UTF-8
(a lone surrogate as its ``\\u`` escape), ``\\n``, a final newline. NaN and infinities are
never written. The reader rejects what the writer never writes and plain ``json.loads``
would let through: a key twice in one object, NaN, infinities and numbers out of range (every
number must be a finite float64: ``1e999`` or a 400-digit integer is refused, naming where it
is).
"""

from __future__ import annotations

import gc
import json
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["JSONTextError", "dumps", "loads"]

_MAX_EXACT_INT = 2**53  # larger integral floats are written in repr form, like json does


def _string(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only an escape can carry it in UTF-8
        return json.dumps(text)
    return json.dumps(text, ensure_ascii=False)


def _number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be stored: baselines hold finite numbers only")
    return _float_text(value)


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return _string(value)
    raise TypeError(f"cannot store a {type(value).__name__} in a baseline file")


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _write_object(value: Mapping[str, Any], level: int, out: list[str]) -> None:
    if not value:
        out.append("{}")
        return
    pad = "  " * (level + 1)
    out.append("{\n")
    for i, key in enumerate(sorted(value)):
        if i:
            out.append(",\n")
        out.append(f"{pad}{_string(key)}: ")
        _write_value(value[key], level + 1, out)
    out.append("\n" + "  " * level + "}")


def _float_text(value: float) -> str:
    """:func:`_number` of a finite float."""
    if value.is_integer() and -_MAX_EXACT_INT <= value <= _MAX_EXACT_INT:
        return str(int(value))
    return repr(value)


_FLOAT = frozenset({float})


def _write_list(value: list[Any] | tuple[Any, ...], level: int, out: list[str]) -> None:
    if _FLOAT.issuperset(map(type, value)) and all(map(math.isfinite, value)):
        # A metric's values, as a whole: the same text as item by item below, sooner.
        out.append("[" + ", ".join(map(_float_text, value)) + "]")
        return
    if all(_is_scalar(item) for item in value):
        # One line: re-saving a test then changes one line per metric in a diff.
        out.append("[" + ", ".join(_scalar(item) for item in value) + "]")
        return
    pad = "  " * (level + 1)
    out.append("[\n")
    for i, item in enumerate(value):
        if i:
            out.append(",\n")
        out.append(pad)
        _write_value(item, level + 1, out)
    out.append("\n" + "  " * level + "]")


def _write_value(value: object, level: int, out: list[str]) -> None:
    if isinstance(value, Mapping):
        _write_object(value, level, out)
    elif isinstance(value, (list, tuple)):
        _write_list(value, level, out)
    else:
        out.append(_scalar(value))


def dumps(document: Mapping[str, Any]) -> str:
    """The canonical text of a document (deterministic; see the module docstring).

    Raises ValueError for NaN or infinities and TypeError for values JSON cannot hold.
    """
    out: list[str] = []
    _write_value(document, 0, out)
    out.append("\n")
    return "".join(out)


class JSONTextError(ValueError):
    """Text that is not strict JSON: the message completes "file X ...", "is not valid JSON"."""


_FLOAT_DIGITS = len(str(int(sys.float_info.max)))  # an integer longer than this is not a float
_MAX_FLOAT_INT = int(sys.float_info.max)


@dataclass(frozen=True)
class _OutOfRange:
    """What the parse hooks put where a number is not a finite float64, to be named by place."""

    text: str


def _shown(text: str) -> str:
    """A number as an error message shows it: a 400-digit literal is not worth printing."""
    return text if len(text) <= 40 else f"{text[:12]}... ({len(text)} characters)"


def _place(path: tuple[str | int, ...]) -> str:
    """``tests['a.py::t'].metrics.x.values[0]``: where a value is in a document."""
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif step.isidentifier():
            parts.append(f".{step}" if parts else step)
        else:
            parts.append(f"[{step!r}]")
    return "".join(parts) or "the top level"


def _find_out_of_range(
    value: object, path: tuple[str | int, ...]
) -> tuple[tuple[str | int, ...], _OutOfRange] | None:
    """The first number that is not a finite float64, in the order of the text, and where."""
    if isinstance(value, _OutOfRange):
        return path, value
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        found = _find_out_of_range(item, (*path, key))
        if found is not None:
            return found
    return None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        # json.loads would silently keep the last one (e.g. after a hand-resolved merge).
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONTextError(f"has the key {key!r} twice in one object")
            seen.add(key)
    return result


class _NotFinite(Exception):
    """A NaN or infinity literal met by the fast parse: the strict parse names where it is."""


def _refuse_constant(literal: str) -> float:
    raise _NotFinite(literal)


# A text's bytes with every digit as "0", "E" as "e" and "+" left out: an exponent of three
# digits or more shows as "e000", a long number as a long run of "0"s.
_NUMBER_SHAPES = bytes.maketrans(b"123456789E", b"000000000e")
_EXPONENT_SHAPE = re.compile(rb"e000")
# A number beyond the largest float64 (about 1.8e308) has an exponent of three digits or
# more, or has over 208 digits before it (10**208 * 10**99 is still below 1.8e308).
_LONG_RUN = b"0" * 200


# What a number never follows in JSON text (a string may hold "3e012", as a git commit does).
_WORD_BYTES = frozenset(b'"_ABCDFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz')


def _in_a_word(shapes: bytes, exponent: int) -> bool:
    """Whether the "e" at ``exponent`` follows a letter (perhaps via digits): not a number."""
    start = exponent
    while start and shapes[start - 1] in b"0.-":
        start -= 1
    return start > 0 and shapes[start - 1] in _WORD_BYTES


def _may_be_out_of_range(text: str) -> bool:
    """False when no number in ``text`` can be out of float64's range (True may be wrong)."""
    shapes = text.encode("utf-8", "surrogatepass").translate(_NUMBER_SHAPES, b"+")
    return _LONG_RUN in shapes or any(
        not _in_a_word(shapes, found.start()) for found in _EXPONENT_SHAPE.finditer(shapes)
    )


def loads(text: str) -> Any:
    """The value of strict JSON ``text``; JSONTextError saying what is wrong with it.

    Every number must be a finite float64: NaN, infinities, ``1e999`` and integers beyond
    about 1.8e308 are refused, naming where they are.
    """
    # The standard parser at full speed when the text cannot hold a number out of range (a
    # cheap scan of its shape says so); the strict parse otherwise, which checks each number.
    if _may_be_out_of_range(text):
        return _strict_loads(text)
    try:
        return _parse(text, parse_constant=_refuse_constant)
    except _NotFinite:
        return _strict_loads(text)


def _parse(text: str, **hooks: Any) -> Any:
    # Parsed JSON holds no reference cycle, so the cyclic collector has nothing to find while
    # the parser allocates its thousands of containers; left on, it would trace them again
    # and again (and, in a full collection, everything else alive). Paused, then resumed as
    # it was.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, **hooks)
    except json.JSONDecodeError as exc:
        raise JSONTextError(
            f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "it may be truncated"
        ) from None
    except RecursionError:  # absurdly deep nesting
        raise JSONTextError("is nested too deeply") from None
    finally:
        if collecting:
            gc.enable()


def _strict_loads(text: str) -> Any:
    """:func:`loads`, checking every number as it is parsed."""
    out_of_range: list[_OutOfRange] = []

    def finite_float(literal: str) -> float | _OutOfRange:
        value = float(literal)
        if math.isfinite(value):
            return value
        out_of_range.append(_OutOfRange(literal))
        return out_of_range[-1]

    def float_sized_int(literal: str) -> int | _OutOfRange:
        # Length first: int() refuses more than sys.get_int_max_str_digits() digits.
        if (
            len(literal.lstrip("-")) <= _FLOAT_DIGITS
            and abs(value := int(literal)) <= _MAX_FLOAT_INT
        ):
            return value
        out_of_range.append(_OutOfRange(literal))
        return out_of_range[-1]

    def constant(literal: str) -> _OutOfRange:
        out_of_range.append(_OutOfRange(literal))
        return out_of_range[-1]

    document = _parse(
        text, parse_float=finite_float, parse_int=float_sized_int, parse_constant=constant
    )
    if out_of_range:
        _raise_out_of_range(document)
    return document


def _raise_out_of_range(document: object) -> None:
    found = _find_out_of_range(document, ())
    assert found is not None  # a hook recorded one, so the document holds it
    path, number = found
    raise JSONTextError(
        f"holds {_shown(number.text)} at {_place(path)}, out of range: every number must be "
        "finite and at most about 1.8e308 in size"
    )
