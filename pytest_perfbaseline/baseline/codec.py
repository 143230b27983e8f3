"""The baseline file format: a document <-> the bytes of its file, read strictly.

Schema 2 is an object ``{"schema": 2, "tests": {<key>: {"sessions": [<session>, ...]}}}``:
each test keeps its last few saving sessions, oldest first (see :mod:`.sessions`). A
session holds ``environment`` (see :class:`~pytest_perfbaseline.baseline.environment.Environment`),
``rounds`` (the number of rounds stored), ``rounds_requested``, ``warmup``, ``implicit``,
``iterations`` (calls of the workload per round; written only when above 1), ``metrics``,
``itl_histogram`` (``[[lower_s, upper_s, count], ...]``) and ``token_sources`` (see
:mod:`.entries` for how a test's result becomes an entry). A metric is ``{"unit",
"kind", "higher_is_better", "values": [one value or null per round], "name": [scope, owner,
quantity]}``; ``name`` says what it belongs to (see
:class:`~pytest_perfbaseline.metrics.names.MetricName`) and is absent in files written before
it was recorded. Schema 1 files (one session per test: the session's keys are the entry's
own, with no ``sessions`` list) still read, as one session each; a save rewrites them in
schema 2. The text is deterministic (see :mod:`.jsontext`), and every number in it is
a finite float64: NaN, infinities and numbers beyond about 1.8e308 make the file bad.

Forward tolerance: only ``rounds`` and ``metrics`` (with ``values``) are required in a session;
the other known keys may be missing but must have the right type when present, and unknown
keys are allowed. A file with a *newer* schema is refused, so it is never read or rewritten.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..metrics.names import MetricName
from . import jsontext

__all__ = [
    "FIX_BAD",
    "SAVE_AGAIN",
    "SCHEMA_VERSION",
    "BadDocument",
    "decode",
    "empty_document",
    "encode",
    "stored_metric_name",
]

SCHEMA_VERSION = 2
"""The version of the baseline file format this plugin reads and writes."""

SAVE_AGAIN = "then run pytest --perf-baseline=save again"
"""How every fix for a baseline file ends."""
FIX_BAD = f"restore it from version control or delete it, {SAVE_AGAIN}"
"""What to do about a file that is not a good baseline file."""
_FIX_NEWER = "upgrade pytest-perfbaseline (pip install -U pytest-perfbaseline)"
_FIX_CONFLICT = (
    "resolve the conflict by keeping one side of each conflicting test, or delete the "
    f"file, {SAVE_AGAIN}"
)
_CONFLICT_MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)


class BadDocument(ValueError):
    """Bytes that are not a good baseline file.

    ``problem`` completes "baseline file X: ..."; ``fix`` says what to do about it.
    """

    problem: str
    fix: str

    def __init__(self, problem: str, fix: str = FIX_BAD) -> None:
        super().__init__(problem, fix)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.problem}; {self.fix}"


def empty_document() -> dict[str, Any]:
    """A document without tests, to save the first test of a file into."""
    return {"schema": SCHEMA_VERSION, "tests": {}}


def encode(document: Mapping[str, Any]) -> bytes:
    """The bytes of ``document``'s file (deterministic: one document, one text).

    Raises ValueError for NaN or infinities and TypeError for values JSON cannot hold.
    """
    return jsontext.dumps(document).encode("utf-8")


def decode(data: bytes) -> dict[str, Any]:
    """The document in a file's bytes, checked against the schema; BadDocument if it is bad."""
    document = _json_of(_text_of(data))
    _check_schema(document)
    tests = document.get("tests")
    if not isinstance(tests, dict):
        raise BadDocument(f'has "tests" that is {_type_name(tests)}, where an object was expected')
    for key, entry in tests.items():
        _check_test(f"tests[{key!r}]", entry)
    return document


def _text_of(data: bytes) -> str:
    if not data.strip():
        raise BadDocument("is empty (perhaps a write was cut short)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadDocument(f"is not UTF-8 text (bad byte at offset {exc.start})") from None
    # The substring test first: it is much faster than the search it spares.
    if ("<" * 7 in text or ">" * 7 in text) and _CONFLICT_MARKER.search(text):
        raise BadDocument("contains git merge conflict markers", _FIX_CONFLICT)
    return text


def _json_of(text: str) -> dict[str, Any]:
    try:
        document = jsontext.loads(text)
    except jsontext.JSONTextError as exc:
        raise BadDocument(str(exc)) from None
    if not isinstance(document, dict):
        raise BadDocument(f"holds {_type_name(document)} where an object was expected")
    return document


def _check_schema(document: Mapping[str, Any]) -> None:
    if "schema" not in document:
        raise BadDocument('has no "schema" version')
    schema = document["schema"]
    if not _is_int(schema):
        raise BadDocument(f'has a "schema" that is {_type_name(schema)}, not a whole number')
    if schema > SCHEMA_VERSION:
        raise BadDocument(
            f"was written by a newer pytest-perfbaseline (schema {schema} > {SCHEMA_VERSION})",
            _FIX_NEWER,
        )
    if schema < 1:
        raise BadDocument(f"has an unknown schema version {schema}")


# -- the entries of schema 1 and 2 -------------------------------------------------------------


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_positive(value: object) -> bool:
    return _is_count(value) and value != 0


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_number_or_null(value: object) -> bool:
    return value is None or _is_number(value)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_object(value: object) -> bool:
    return isinstance(value, dict)


_Field = tuple[str, Callable[[object], bool], str]
"""A key, the test its value must pass when present, and what the test asks for."""

# In the order they are checked: the first misfit is the one reported.
_ENTRY_FIELDS: tuple[_Field, ...] = (
    ("rounds", _is_count, "a whole number >= 0"),
    ("warmup", _is_count, "a whole number >= 0"),
    ("rounds_requested", _is_count, "a whole number >= 0"),
    ("implicit", _is_bool, "true or false"),
    ("iterations", _is_positive, "a whole number >= 1"),
    ("environment", _is_object, "an object"),
    ("metrics", _is_object, "an object"),
)
_METRIC_FIELDS: tuple[_Field, ...] = (
    ("unit", _is_str, "a string"),
    ("kind", _is_str, "a string"),
    ("higher_is_better", _is_bool, "true or false"),
)
_REQUIRED = ("rounds", "metrics")


def _misfit(place: str, expected: str, found: object) -> BadDocument:
    return BadDocument(f"{place} should be {expected} but is {_type_name(found)}")


def _check_fields(where: str, value: Mapping[str, Any], fields: tuple[_Field, ...]) -> None:
    for key, test, expected in fields:
        if key in value and not test(value[key]):
            raise _misfit(f"{where}.{key}", expected, value[key])


def _check_test(where: str, entry: object) -> None:
    """Raise BadDocument naming the first place where a test's entry does not fit."""
    if not isinstance(entry, dict) or "sessions" not in entry:
        _check_entry(where, entry)  # one session, as schema 1 stores it
        return
    sessions = entry["sessions"]
    if not isinstance(sessions, list) or not sessions:
        raise BadDocument(
            f"{where}.sessions should be a list of one or more sessions but is "
            + ("an empty list" if sessions == [] else _type_name(sessions))
        )
    for i, session in enumerate(sessions):
        _check_entry(f"{where}.sessions[{i}]", session)


def _check_entry(where: str, entry: object) -> None:
    """Raise BadDocument naming the first place where one session does not fit."""
    if not isinstance(entry, dict):
        raise _misfit(where, "an object", entry)
    for required in _REQUIRED:
        if required not in entry:
            raise BadDocument(f'{where} has no "{required}"')
    _check_fields(where, entry, _ENTRY_FIELDS)
    rounds = entry["rounds"]
    for name, metric in entry["metrics"].items():
        if not _plain_metric(metric, rounds):
            _check_metric(f"{where}.metrics[{name!r}]", metric, rounds)
        if "name" in metric:
            _check_metric_name(where, metric, name)
    _check_histogram(where, entry.get("itl_histogram", []))
    sources = entry.get("token_sources", {})
    if not isinstance(sources, dict) or not all(isinstance(v, str) for v in sources.values()):
        raise BadDocument(f"{where}.token_sources should map stream names to strings")


# What a parsed value that passes _is_number_or_null can be (JSON gives these exact types).
_VALUE_TYPES = frozenset({float, int, type(None)})


def _plain_metric(metric: object, rounds: int) -> bool:
    """Whether a metric fits, as the writer writes it: every key present, with its type.

    One expression for the common case; a metric it does not vouch for may still fit, and
    :func:`_check_metric` says where it does not.
    """
    return (
        type(metric) is dict
        and type(values := metric.get("values")) is list
        and len(values) == rounds
        and _VALUE_TYPES.issuperset(map(type, values))
        and type(metric.get("unit")) is str
        and type(metric.get("kind")) is str
        and type(metric.get("higher_is_better")) is bool
    )


def _check_metric(place: str, metric: object, rounds: int) -> None:
    if not isinstance(metric, dict):
        raise _misfit(place, "an object", metric)
    values = metric.get("values")
    if not isinstance(values, list):
        raise _misfit(f"{place}.values", "a list", values)
    if len(values) != rounds:
        raise BadDocument(f"{place}.values has {len(values)} values for {rounds} rounds")
    if not _VALUE_TYPES.issuperset(map(type, values)):  # the whole list at once
        i, value = next((i, v) for i, v in enumerate(values) if not _is_number_or_null(v))
        raise _misfit(f"{place}.values[{i}]", "a number or null", value)
    _check_fields(place, metric, _METRIC_FIELDS)


def _check_metric_name(where: str, metric: Mapping[str, Any], key: str) -> None:
    try:
        stored_metric_name(metric["name"], key)
    except ValueError as exc:
        raise BadDocument(f"{where}.metrics[{key!r}].name: {exc}") from None


@functools.lru_cache(maxsize=1024)
def _metric_name(data: tuple[str | None, ...], key: str) -> MetricName:
    return MetricName.from_list(data, key)


def stored_metric_name(data: object, key: str) -> MetricName:
    """:meth:`MetricName.from_list <pytest_perfbaseline.metrics.names.MetricName.from_list>`
    of a metric's stored ``name``, made once per distinct name (every test of a suite stores
    the same few)."""
    if type(data) is list:
        try:
            return _metric_name(tuple(data), key)
        except (TypeError, ValueError):  # unhashable, or not a name: said of the list itself
            pass
    return MetricName.from_list(data, key)


def _is_histogram_row(row: object) -> bool:
    return (
        isinstance(row, list)
        and len(row) == 3
        and _is_number(row[0])
        and _is_number(row[1])
        and _is_count(row[2])
    )


def _check_histogram(where: str, histogram: object) -> None:
    if not isinstance(histogram, list):
        raise _misfit(f"{where}.itl_histogram", "a list", histogram)
    for i, row in enumerate(histogram):
        if not _is_histogram_row(row):
            raise BadDocument(
                f"{where}.itl_histogram[{i}] should be [lower_s, upper_s, count] "
                f"but is {json.dumps(row)}"
            )
