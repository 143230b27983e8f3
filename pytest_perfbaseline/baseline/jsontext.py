"""The JSON text of baseline files: a deterministic writer and a strict reader.

The writer's bytes depend on the content alone: keys sorted, two-space indentation, a list of
scalars on one line (so a re-save changes one line per metric), a list of lists one item per
line, integral numbers written as integers, other numbers as Python's shortest ``repr``, UTF-8
(a lone surrogate as its ``\\u`` escape), ``\\n``, a final newline. NaN and infinities are
never written. The reader rejects what the writer never writes and plain ``json.loads``
would let through: a key twice in one object, NaN, infinities and numbers out of range.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
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
    if value.is_integer() and abs(value) <= _MAX_EXACT_INT:
        return str(int(value))
    return repr(value)


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


def _write_list(value: list[Any] | tuple[Any, ...], level: int, out: list[str]) -> None:
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
    """Text that is not strict JSON: the message completes "baseline file X: ..."."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # json.loads would silently keep the last one (e.g. after a hand-resolved merge).
            raise JSONTextError(f"has the key {key!r} twice in one object")
        result[key] = value
    return result


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONTextError(f"holds the number {text}, which is out of range")
    return value


def _reject_constant(text: str) -> Any:
    raise JSONTextError(f"holds {text}, which baseline files never contain")


def loads(text: str) -> Any:
    """The value of strict JSON ``text``; JSONTextError saying what is wrong with it."""
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_float=_finite_float,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as exc:
        raise JSONTextError(
            f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "it may be truncated"
        ) from None
    except JSONTextError:
        raise
    except (ValueError, RecursionError):  # absurdly deep nesting
        raise JSONTextError("is nested too deeply") from None
