"""MLflow metric names for a test's metric statistic, one to one, and the way back.

MLflow accepts metric names of letters, digits, ``_``, ``-``, ``.``, ``/`` and spaces (a
colon too, except on Windows), at most 250 characters, that stay the same when read as a
POSIX path (no empty, ``.`` or ``..`` part, no leading ``/``). A pytest id and a metric key
are written in that alphabet with ``-`` as the escape character::

    tests/test_x.py::test_x[param-1]   agent.writer.cost_usd   median
    -> tests/test_x.py-.test_x-bparam--1-e/agent.writer.cost_usd/median

===============  ==========================================================
in the id        in the name
===============  ==========================================================
``A-Z a-z 0-9``  themselves, as are ``_`` and ``.``
``/``            itself between two path parts that are neither empty nor
                 ``.`` or ``..``; ``-s`` elsewhere, and always in a metric key
``-``            ``--`` (the escape character escapes itself)
``::``           ``-.``
``[`` ``]``      ``-b`` ``-e``
a ``.``          ``-d`` when the id or key is only ``.`` or ``..``, and
                 the first one of an id or key starting with ``..``
the empty text   ``-0``
anything else    ``-u`` and its code point as 6 lower-case hex digits
                 (``:`` is ``-u00003a``, ``é`` is ``-u0000e9``)
===============  ==========================================================

The name is ``<test id>/<metric key>/<statistic>``: read it back by splitting off the last
two parts at ``/`` (a metric key never keeps one) and undoing the escapes
(:func:`nodeid_from_mlflow_name`). Only ASCII is written, so a name means the same in every
tracking store.

A name that would be longer than 250 characters keeps as much of its test id as fits, cut
between escapes, then ``-h`` and 16 hex digits of the SHA-256 of the whole escaped id, then
the metric key and statistic as usual; should those alone be too long, the whole name is cut
and ``-h`` and 24 hex digits of the whole name's hash follow. ``-h`` is never written
otherwise, so a shortened name never equals a full one, and two shortened names are equal
only if their hashes collide. Such a name is not read back: the run's
``perfbaseline-metric-names.json`` artifact maps every name the run logged to its test id,
metric key and statistic.
"""

from __future__ import annotations

import hashlib
import re
from itertools import pairwise
from typing import NamedTuple

__all__ = [
    "MAX_NAME_LENGTH",
    "STATISTICS",
    "MlflowMetric",
    "mlflow_metric_name",
    "nodeid_from_mlflow_name",
]

MAX_NAME_LENGTH = 250
"""MLflow's longest metric name (``MAX_ENTITY_KEY_LENGTH`` in ``mlflow.utils.validation``)."""

STATISTICS = ("median", "p95", "mean")
"""The statistics of a metric's rounds logged for each test."""

_ESCAPE = "-"
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.")
_CODES = {"-": "-", "::": ".", "[": "b", "]": "e", "/": "s", ".": "d"}
_DECODE = {code: text for text, code in _CODES.items()}
_HASH_MARK = "-h"
_ID_HASH_DIGITS = 16
_NAME_HASH_DIGITS = 24
_BAD_PARTS = frozenset(("", ".", ".."))
_HEX = re.compile(r"[0-9a-f]{6}")


class MlflowMetric(NamedTuple):
    """What one MLflow metric name stands for."""

    nodeid: str
    metric: str
    """The metric's key, e.g. ``ttft_s`` or ``agent.writer.cost_usd``."""
    statistic: str
    """One of :data:`STATISTICS`."""


def _kept_slashes(text: str) -> set[int]:
    """Where a ``/`` of ``text`` may stay: between two path parts that are fine alone."""
    parts = text.split("/")
    kept, position = set(), 0
    for before, after in pairwise(parts):
        position += len(before)
        if before not in _BAD_PARTS and after not in _BAD_PARTS:
            kept.add(position)
        position += 1
    return kept


def _escape_tokens(text: str, *, keep_slashes: bool) -> list[str]:
    """``text`` in the name's alphabet, one token per character (or ``::``) of it."""
    if text == "":
        return ["-0"]
    if text in (".", ".."):
        return ["-d"] * len(text)
    kept = _kept_slashes(text) if keep_slashes else set()
    tokens: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if text.startswith("::", i):
            tokens.append("-.")
            i += 2
            continue
        if char in _PLAIN or (char == "/" and i in kept):
            tokens.append(char)
        elif char in _CODES:
            tokens.append(_ESCAPE + _CODES[char])
        else:
            tokens.append(f"-u{ord(char):06x}")
        i += 1
    if text.startswith(".."):  # MLflow refuses a name starting with '..', as a path upwards
        tokens[0] = "-d"
    return tokens


def _digest(text: str, digits: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:digits]


def _cut(tokens: list[str], room: int) -> str:
    """The longest run of whole tokens from the start that fits in ``room`` characters."""
    out, used = [], 0
    for token in tokens:
        if used + len(token) > room:
            break
        out.append(token)
        used += len(token)
    return "".join(out)


def mlflow_metric_name(nodeid: str, metric: str, statistic: str) -> str:
    """The MLflow metric name of ``statistic`` of ``metric`` in test ``nodeid``.

    One to one: different (test id, metric key, statistic) give different names. For
    example ``mlflow_metric_name("tests/test_x.py::test_x[param-1]", "ttft_s", "p95")`` is
    ``"tests/test_x.py-.test_x-bparam--1-e/ttft_s/p95"``.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(STATISTICS)}, got {statistic!r}")
    id_tokens = _escape_tokens(nodeid, keep_slashes=True)
    tail = "/" + "".join(_escape_tokens(metric, keep_slashes=False)) + "/" + statistic
    escaped_id = "".join(id_tokens)
    if len(escaped_id) + len(tail) <= MAX_NAME_LENGTH:
        return escaped_id + tail
    suffix = _HASH_MARK + _digest(escaped_id, _ID_HASH_DIGITS)
    room = MAX_NAME_LENGTH - len(tail) - len(suffix)
    if room >= len(suffix):
        return _cut(id_tokens, room) + suffix + tail
    whole = escaped_id + tail
    suffix = _HASH_MARK + _digest(whole, _NAME_HASH_DIGITS)
    tokens = [*id_tokens, *_split_tokens(tail)]
    return _cut(tokens, MAX_NAME_LENGTH - len(suffix)) + suffix


def _split_tokens(escaped: str) -> list[str]:
    """An escaped text's tokens (an escape and what it escapes stay together)."""
    tokens, i = [], 0
    while i < len(escaped):
        size = 1 if escaped[i] != _ESCAPE else (8 if escaped[i + 1 : i + 2] == "u" else 2)
        tokens.append(escaped[i : i + size])
        i += size
    return tokens


def _unescape(escaped: str, name: str) -> str:
    out, i = [], 0
    while i < len(escaped):
        char = escaped[i]
        if char != _ESCAPE:
            out.append(char)
            i += 1
            continue
        code = escaped[i + 1 : i + 2]
        if code == "u" and _HEX.fullmatch(escaped[i + 2 : i + 8]):
            out.append(chr(int(escaped[i + 2 : i + 8], 16)))
            i += 8
        elif code in _DECODE:
            out.append(_DECODE[code])
            i += 2
        elif code == "0":
            i += 2
        else:
            raise ValueError(f"{name!r} is not a pytest-perfbaseline metric name")
    return "".join(out)


def nodeid_from_mlflow_name(name: str) -> MlflowMetric:
    """The test id, metric key and statistic that :func:`mlflow_metric_name` wrote as ``name``.

    ValueError for a name it did not write, or one it shortened with a hash (see the
    module's documentation for the way back from those).
    """
    if _HASH_MARK in _split_tokens(name):
        raise ValueError(
            f"{name!r} was shortened with a hash: look it up in the run's "
            "perfbaseline-metric-names.json artifact"
        )
    parts = name.rsplit("/", 2)
    if len(parts) != 3 or parts[2] not in STATISTICS:
        raise ValueError(f"{name!r} is not a pytest-perfbaseline metric name")
    escaped_id, escaped_metric, statistic = parts
    found = MlflowMetric(_unescape(escaped_id, name), _unescape(escaped_metric, name), statistic)
    if mlflow_metric_name(*found) != name:  # one name per metric: refuse other spellings
        raise ValueError(f"{name!r} is not a pytest-perfbaseline metric name")
    return found
