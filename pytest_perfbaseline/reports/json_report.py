"""The ``--perf-json`` report: the run report as a versioned JSON document, and back.

Documented in docs/report-format.md, with a JSON Schema in ``report.schema.json`` beside this
module; ``perfbaseline compare A.json B.json`` reads reports back with :func:`read_report`.
A test's result and comparison are written by their own ``to_dict`` -- the same builtins that
carry them from pytest-xdist workers to the controller -- so there is one encoding of each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..baseline import jsontext
from ..baseline.environment import Environment
from ..gate.compare import TestComparison
from ..history.single_run import session_recommendations
from ..metrics.result import TestResult
from .run import RunReport, TestEntry

__all__ = [
    "REPORT_FORMAT",
    "REPORT_VERSION",
    "ReportError",
    "dumps",
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
    return {
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
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
