"""A run as the store keeps it: its ``--perf-json`` report, its metadata, one row per metric.

The report is the run's content: the store keeps it whole (compressed) and a run read back is
that report again. The run's id is a hash of the report, so the same report recorded by the
session and imported later from its ``--perf-json`` file is one run. Metadata the report
does not hold (the start of the session, the branch, the CI job) travels beside it.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .metadata import CIJob

__all__ = ["MetricRow", "RunMeta", "RunRecord", "mode_of", "run_record"]


@dataclass(frozen=True)
class RunMeta:
    """What is known of a run besides its report."""

    source: str
    """``session`` (recorded at the end of a pytest session) or ``import``."""
    started_at: str | None = None
    """UTC start of the session (``YYYY-MM-DDTHH:MM:SSZ``); None for an imported report."""
    branch: str | None = None
    ci: CIJob | None = None


@dataclass(frozen=True)
class MetricRow:
    """One test's metric in one run: its statistics, rounds, verdict and baseline."""

    nodeid: str
    metric: str
    scope: str | None
    owner: str | None
    unit: str
    higher_is_better: bool
    n: int
    median: float | None
    mean: float | None
    stdev: float | None
    p95: float | None
    rounds: tuple[float | None, ...]
    verdict: str | None
    baseline_version: str | None
    """When the baseline compared with was saved (UTC), as the report names it."""
    recheck: str | None = None
    """On a metric that looked worse and had the test re-measured (a suspected one): how the
    re-measure ended, ``confirmed``, ``not confirmed`` (excused: the test passed) or
    ``undecided``; None on every other metric."""


@dataclass(frozen=True)
class RunRecord:
    """One run, ready to store."""

    run_id: str
    report: Mapping[str, Any]
    blob: bytes
    """The report as compressed canonical JSON."""
    meta: RunMeta
    row_values: tuple[tuple[Any, ...], ...]
    """One plain tuple per metric row, its values in :class:`MetricRow`'s field order: what
    the store inserts (a run of 1,000 tests has 8,000; tuples are made far faster than
    frozen dataclasses)."""

    @property
    def rows(self) -> tuple[MetricRow, ...]:
        """The run's metric rows."""
        return tuple(MetricRow(*values) for values in self.row_values)

    @property
    def mode(self) -> str:
        return mode_of(self.report)


def mode_of(report: Mapping[str, Any]) -> str:
    """``plain``, ``compare``, ``save`` or ``compare+save``."""
    session = report["session"]
    parts = [name for name in ("compare", "save") if session.get(name)]
    return "+".join(parts) or "plain"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def rechecked(comparison: Mapping[str, Any]) -> tuple[frozenset[str], str | None]:
    """A test comparison's (JSON form) suspected metrics and how their re-measure ended
    (None when the test was not re-measured for a suspicion)."""
    outcome = (comparison.get("recheck") or {}).get("confirmation")
    if outcome in (None, "none"):
        return frozenset(), None
    return frozenset(comparison.get("suspected") or ()), str(outcome)


def _test_rows(test: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The test's rows as plain tuples, in :class:`MetricRow`'s field order."""
    nodeid = test["nodeid"]
    comparison = test.get("comparison") or {}
    compared = comparison.get("metrics") or {}
    suspected, outcome = rechecked(comparison)
    rounds: Sequence[Mapping[str, Any]] = test.get("rounds") or ()
    rows = []
    for metric, info in sorted(test["metrics"].items()):
        summary = info.get("summary") or {}
        name = info.get("name") or [None, None, None]
        verdict = (compared.get(metric) or {}).get("verdict")
        rows.append(
            (
                nodeid,
                metric,
                name[0],  # scope
                name[1],  # owner
                str(info.get("unit", "")),
                bool(info.get("higher_is_better", False)),
                int(summary.get("n", 0)),
                _number(summary.get("median")),
                _number(summary.get("mean")),
                _number(summary.get("stdev")),
                _number(summary.get("p95")),
                tuple(  # rounds
                    # a float as it is (float(v) is v): the check below only for the rest
                    v if v.__class__ is float else _number(v)
                    for v in [r.get(metric) for r in rounds]
                ),
                verdict,
                comparison.get("baseline_saved_at") if comparison else None,
                outcome if metric in suspected else None,  # recheck
            )
        )
    return rows


def canonical_json(report: Mapping[str, Any]) -> str:
    """The report as compact JSON with sorted keys: what the run id hashes."""
    return json.dumps(report, sort_keys=True, separators=(",", ":"), allow_nan=False)


def run_record(report: Mapping[str, Any], meta: RunMeta) -> RunRecord:
    """The record of ``report``; KeyError/TypeError/ValueError if it is not shaped like one."""
    text = canonical_json(report).encode("utf-8")
    run_id = hashlib.sha256(text).hexdigest()[:32]
    rows = tuple([row for test in report["tests"] for row in _test_rows(test)])
    # level 1: a third faster than the default for nearly the same size on this JSON
    return RunRecord(run_id, report, zlib.compress(text, 1), meta, rows)


def report_of(blob: bytes) -> dict[str, Any]:
    """The report a stored blob holds."""
    data: dict[str, Any] = json.loads(zlib.decompress(blob))
    return data
