"""The ``--perf-json`` report: the run report as a versioned JSON document, and back.

Documented in docs/report-format.md, with a JSON Schema in ``report.schema.json`` beside this
module; ``perfbaseline compare A.json B.json`` reads reports back with :func:`read_report`.
A test's result and comparison are written by their own ``to_dict`` -- the same builtins that
carry them from pytest-xdist workers to the controller -- so there is one encoding of each.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

from ..baseline import jsontext
from ..baseline.environment import Environment
from ..gate.ab import ABResult
from ..gate.compare import TestComparison
from ..metrics.result import TestResult
from .run import RunReport, TestEntry
from .single_run import session_recommendations

__all__ = [
    "REPORT_FORMAT",
    "REPORT_VERSION",
    "ReportError",
    "dumps",
    "indented_json",
    "read_report",
    "report_from_dict",
    "report_to_dict",
]

REPORT_FORMAT = "pytest-perfbaseline-report"
REPORT_VERSION = 2
_WRITE_AGAIN = "write it again with pytest --perf-json=PATH"


class ReportError(Exception):
    """A report file could not be read or written; the message names it and says why."""


def _test_to_dict(entry: TestEntry) -> dict[str, Any]:
    data = entry.result.to_dict()
    summaries = entry.result.summary()
    for key, metric in data["metrics"].items():
        metric["summary"] = summaries[key].to_dict() if key in summaries else None
    data["outcome"] = entry.outcome
    data["comparison"] = _comparison_to_dict(entry.comparison) if entry.comparison else None
    return data


def _comparison_to_dict(tc: TestComparison) -> dict[str, Any]:
    data = tc.to_dict()
    del data["nodeid"]  # the test's
    data["verdict"] = tc.verdict
    data["metrics"] = {c.pop("metric"): c for c in data.pop("comparisons")}
    return data


def report_to_dict(report: RunReport) -> dict[str, Any]:
    """The report as JSON-ready builtins (the ``--perf-json`` document)."""
    document = {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "created_at": report.created_at,
        "environment": report.environment.to_dict(),
        "session": {
            "profile": report.profile,
            "compare": report.compare,
            "save": report.save,
            "alpha": report.alpha,
            "confirm": report.confirm,
            "fail_on_regression": report.fail_on_regression,
            "perf_tests": report.perf_tests,
            "saved": list(report.saved),
            "save_errors": list(report.save_errors),
        },
        "counts": report.counts() if report.compare else None,
        "tests": [_test_to_dict(entry) for entry in report.tests],
        "recommendations": [r.to_dict() for r in session_recommendations(report)],
    }
    if report.ab_tests:  # absent without A/B tests: such reports are as they always were
        document["ab"] = [r.to_dict() for r in report.ab_tests]
    return document


def _comparison_from_dict(nodeid: str, data: Mapping[str, Any]) -> TestComparison:
    comparisons = [{"metric": name, **fields} for name, fields in data["metrics"].items()]
    return TestComparison.from_dict({**data, "nodeid": nodeid, "comparisons": comparisons})


def _test_from_dict(item: Mapping[str, Any]) -> TestEntry:
    comparison = item.get("comparison")
    return TestEntry(
        nodeid=item["nodeid"],
        outcome=item["outcome"],
        result=TestResult.from_dict(item),
        comparison=_comparison_from_dict(item["nodeid"], comparison) if comparison else None,
    )


def report_from_dict(data: Mapping[str, Any]) -> RunReport:
    """Rebuild a report from its JSON form; KeyError/TypeError/ValueError if malformed."""
    session = data["session"]
    return RunReport(
        created_at=data["created_at"],
        environment=Environment.from_dict(data["environment"]),
        profile=session["profile"],
        compare=session["compare"],
        save=session["save"],
        alpha=session["alpha"],
        confirm=session["confirm"],
        fail_on_regression=session["fail_on_regression"],
        perf_tests=session["perf_tests"],
        tests=tuple(_test_from_dict(item) for item in data["tests"]),
        saved=tuple(session.get("saved", ())),
        save_errors=tuple(session.get("save_errors", ())),
        ab_tests=tuple(ABResult.from_dict(item) for item in data.get("ab", ())),
    )


def read_report(path: str | Path) -> RunReport:
    """Read a ``--perf-json`` report; ReportError naming the file and the problem otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot read report {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ReportError(
            f"report {path} is not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    try:
        # Strict, as baseline files are read: NaN, infinities, numbers beyond float64 and a
        # key twice are refused (the writer never writes them), naming where they are.
        data = jsontext.loads(text)
    except jsontext.JSONTextError as exc:
        raise ReportError(f"report {path} {exc}; {_WRITE_AGAIN}") from None
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        raise ReportError(
            f"{path} is not a pytest-perfbaseline report (write one with pytest --perf-json=PATH)"
        )
    version = data.get("version")
    if not isinstance(version, int) or version > REPORT_VERSION:
        raise ReportError(
            f"report {path} has version {version!r}, newer than this pytest-perfbaseline reads "
            f"({REPORT_VERSION}): upgrade pytest-perfbaseline"
        )
    try:
        return report_from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ReportError(f"report {path} is malformed: {type(exc).__name__}: {exc}") from None


def dumps(report: RunReport, document: Mapping[str, Any] | None = None) -> str:
    """The JSON document, deterministic for the same report (sorted keys, 2-space indent).

    ``document``: the report's :func:`report_to_dict`, when the caller already has it (a
    session builds it once for this file and its run history).
    """
    data = report_to_dict(report) if document is None else document
    return indented_json(data) + "\n"


_CONTAINERS = (dict, list, tuple)
_SCALARS = frozenset((str, int, float, bool, type(None)))
_INDENT = "  "
_LITERALS: dict[Any, str] = {None: "null", True: "true", False: "false"}


@functools.cache
def _flat_encoder(depth: int) -> Callable[[Any], str]:
    """json's C encoder, its items separated as ``indent=2`` separates them ``depth`` deep."""
    separator = ",\n" + _INDENT * (depth + 1)
    encoder = json.JSONEncoder(sort_keys=True, allow_nan=False, separators=(separator, ": "))
    return encoder.encode


def _scalar(value: Any) -> str:
    """A value that is no container, as json writes it."""
    kind = value.__class__
    if kind is str:
        return str(encode_basestring_ascii(value))
    if kind is float and value - value == 0.0:  # finite: json writes its repr
        return float.__repr__(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool or value is None:
        return _LITERALS[value]
    return _flat_encoder(0)(value)  # the rest (not finite, subclasses): json decides


def _write(value: Any, depth: int, out: list[str]) -> None:
    """Append ``value``, a container, as ``indent=2`` lays it out ``depth`` deep."""
    if not value:
        out.append("{}" if isinstance(value, dict) else "[]")
        return
    items = value.values() if isinstance(value, dict) else value
    if _SCALARS.issuperset(map(type, items)):
        # scalars only (a round, a summary): json's C encoder lays them out, one per line
        flat = _flat_encoder(depth)(value)
        out.append(f"{flat[0]}\n{_INDENT * (depth + 1)}{flat[1:-1]}\n{_INDENT * depth}{flat[-1]}")
        return
    if isinstance(value, dict) and not all(isinstance(key, str) for key in value):
        # keys json would convert (numbers, None): its own, pure-Python layout
        text = json.dumps(value, indent=2, sort_keys=True, allow_nan=False)
        out.append(text.replace("\n", "\n" + _INDENT * depth))
        return
    newline = ",\n" + _INDENT * (depth + 1)
    if isinstance(value, dict):
        pairs = [(f"{encode_basestring_ascii(key)}: ", value[key]) for key in sorted(value)]
        opening, closing = "{", "}"
    else:
        pairs = [("", item) for item in value]
        opening, closing = "[", "]"
    out.append(opening)
    for i, (key, item) in enumerate(pairs):
        if isinstance(item, _CONTAINERS):
            out.append(f"{newline[i == 0 :]}{key}")
            _write(item, depth + 1, out)
        else:
            out.append(f"{newline[i == 0 :]}{key}{_scalar(item)}")
    out.append(f"\n{_INDENT * depth}{closing}")


def indented_json(data: Any) -> str:
    """``json.dumps(data, indent=2, sort_keys=True, allow_nan=False)``, to the byte, in a
    fraction of its time: that layout has json's pure-Python encoder write every value of a
    report; here containers of scalars alone (a round, a summary: most of a report) are laid
    out by its C encoder.
    """
    if not isinstance(data, _CONTAINERS):
        return _scalar(data)
    out: list[str] = []
    _write(data, 0, out)
    return "".join(out)
