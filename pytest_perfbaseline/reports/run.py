"""The run report: everything a session measured and decided, and its JSON form.

:class:`RunReport` is what every report is made from (JSON, CSV, Markdown, the terminal).
Its JSON form (``--perf-json``) is versioned and documented in docs/report-format.md, with a
JSON Schema in ``report.schema.json`` beside this module; ``perfbaseline compare A.json
B.json`` reads it back with :func:`read_report`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..baseline.environment import Environment
from ..gate.compare import Comparison, TestComparison
from ..metrics.result import TestResult

__all__ = [
    "REPORT_FORMAT",
    "REPORT_VERSION",
    "ReportError",
    "RunReport",
    "TestEntry",
    "dumps",
    "read_report",
    "report_from_dict",
    "report_to_dict",
]

REPORT_FORMAT = "pytest-perfbaseline-report"
REPORT_VERSION = 1


class ReportError(Exception):
    """A report file could not be read or written; the message names it and says why."""


@dataclass(frozen=True)
class TestEntry:
    """One perf test of the run."""

    __test__ = False

    nodeid: str
    outcome: str
    """pytest's outcome of the call phase: ``passed``, ``failed`` or ``skipped``."""
    result: TestResult
    comparison: TestComparison | None = None


@dataclass(frozen=True)
class RunReport:
    """A session's perf results and verdicts, with where and how they were obtained."""

    created_at: str
    environment: Environment
    profile: str
    compare: bool
    save: bool
    alpha: float
    confirm: bool
    fail_on_regression: bool
    perf_tests: int
    tests: tuple[TestEntry, ...]
    saved: tuple[str, ...] = ()
    save_errors: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        """Tests per verdict, in compare mode (a test is as bad as its worst gated metric)."""
        counts = dict.fromkeys(("regressed", "improved", "inconclusive", "unchanged", "new"), 0)
        for entry in self.tests:
            if entry.comparison is not None:
                counts[entry.comparison.verdict] += 1
        return counts


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: an infinite interval bound becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _test_to_dict(entry: TestEntry) -> dict[str, Any]:
    result = entry.result
    summaries = result.summary()
    metrics = {
        name: {
            **info.to_dict(),
            "summary": summaries[name].to_dict() if name in summaries else None,
        }
        for name, info in sorted(result.infos.items())
    }
    data: dict[str, Any] = {
        "nodeid": entry.nodeid,
        "outcome": entry.outcome,
        "rounds_requested": result.rounds_requested,
        "warmup": result.warmup,
        "implicit": result.implicit,
        "rounds": [dict(sorted(r.items())) for r in result.rounds],
        "metrics": metrics,
        "itl_histogram": [list(b) for b in result.itl_histogram],
        "itl_pooled": result.itl_pooled.to_dict() if result.itl_pooled else None,
        "token_sources": dict(sorted(result.token_sources.items())),
        "comparison": None,
    }
    tc = entry.comparison
    if tc is not None:
        data["comparison"] = {
            "verdict": tc.verdict,
            "test_alpha": tc.test_alpha,
            "baseline_saved_at": tc.baseline_saved_at,
            "baseline_origin": tc.baseline_origin,
            "baseline_age_s": tc.baseline_age_s,
            "stale": tc.stale,
            "confirmation": tc.confirmation,
            "suspected": list(tc.suspected),
            "first_pvalues": dict(tc.first_pvalues),
            "settle_waited_s": tc.settle_waited_s,
            "machine_slowdown": tc.machine_slowdown,
            "excused": list(tc.excused),
            "metrics": {c.metric: _comparison_fields(c) for c in tc.comparisons},
        }
    return data


def _comparison_fields(c: Comparison) -> dict[str, Any]:
    fields = c.to_dict()
    del fields["metric"]  # it is the key
    return fields


def report_to_dict(report: RunReport) -> dict[str, Any]:
    """The report as JSON-ready builtins (the ``--perf-json`` document)."""
    data = {
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
    }
    return _clean(data)  # type: ignore[no-any-return]


def _restore_bounds(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """JSON has no infinity: an unbounded upper bound was written as null beside a lower one."""
    if fields.get("ratio_high") is None and fields.get("ratio_low") is not None:
        return {**fields, "ratio_high": math.inf}
    return fields


def _comparison_from_dict(nodeid: str, data: Mapping[str, Any]) -> TestComparison:
    comparisons = tuple(
        Comparison.from_dict({"metric": name, **_restore_bounds(fields)})
        for name, fields in data["metrics"].items()
    )
    return TestComparison(
        nodeid=nodeid,
        comparisons=comparisons,
        test_alpha=data["test_alpha"],
        baseline_saved_at=data.get("baseline_saved_at"),
        baseline_origin=data.get("baseline_origin"),
        baseline_age_s=data.get("baseline_age_s"),
        stale=bool(data.get("stale", False)),
        suspected=tuple(data.get("suspected", ())),
        confirmation=data.get("confirmation", "none"),
        first_pvalues=dict(data.get("first_pvalues", {})),
        settle_waited_s=data.get("settle_waited_s"),
        machine_slowdown=data.get("machine_slowdown"),
        excused=tuple(data.get("excused", ())),
    )


def report_from_dict(data: Mapping[str, Any]) -> RunReport:
    """Rebuild a report from its JSON form; KeyError/TypeError/ValueError if malformed."""
    session = data["session"]
    tests = []
    for item in data["tests"]:
        result = TestResult.from_dict(
            {
                "nodeid": item["nodeid"],
                "rounds": item["rounds"],
                "metrics": item["metrics"],
                "itl_histogram": item["itl_histogram"],
                "itl_pooled": item.get("itl_pooled"),
                "token_sources": item["token_sources"],
                "rounds_requested": item["rounds_requested"],
                "warmup": item["warmup"],
                "implicit": item["implicit"],
            }
        )
        comparison = item.get("comparison")
        tests.append(
            TestEntry(
                nodeid=item["nodeid"],
                outcome=item["outcome"],
                result=result,
                comparison=_comparison_from_dict(item["nodeid"], comparison)
                if comparison
                else None,
            )
        )
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
        tests=tuple(tests),
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
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"report {path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ReportError(f"report {path} is nested too deeply to be a report") from None
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
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReportError(f"report {path} is malformed: {type(exc).__name__}: {exc}") from None


def dumps(report: RunReport) -> str:
    """The JSON document, deterministic for the same report (sorted keys, 2-space indent)."""
    return json.dumps(report_to_dict(report), indent=2, sort_keys=True, allow_nan=False) + "\n"


JUNIT_KEY_METRICS = ("round_s", "ttft_s", "tpot_s", "tokens_per_s", "output_tokens", "cost_usd")


def junit_properties(
    result: TestResult, comparison: TestComparison | None
) -> list[tuple[str, object]]:
    """``(name, value)`` properties for a test's JUnit XML record: key medians and verdicts.

    Names are ``perf.<metric>.median`` and, in compare mode, ``perf.verdict`` with
    ``perf.<metric>.verdict`` / ``perf.<metric>.ratio`` for the gated metrics.
    """
    properties: list[tuple[str, object]] = [("perf.rounds", len(result.rounds))]
    summary = result.summary()
    for name in JUNIT_KEY_METRICS:
        if name in summary:
            properties.append((f"perf.{name}.median", f"{summary[name].median:.6g}"))
    if comparison is not None:
        properties.append(("perf.verdict", comparison.verdict))
        for c in comparison.comparisons:
            if c.gated and c.verdict != "new":
                properties.append((f"perf.{c.metric}.verdict", c.verdict))
                if c.ratio is not None and math.isfinite(c.ratio):
                    properties.append((f"perf.{c.metric}.ratio", f"{c.ratio:.4g}"))
    return properties
