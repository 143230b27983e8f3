"""The run history: every perf session's report, kept in SQLite or PostgreSQL.

:class:`HistoryStore` appends a run in one transaction (a session killed while writing leaves
no half run), lists and finds runs, reads a metric's series over runs, records baseline
versions, and prunes. :func:`load_reports` returns stored runs as the ``--perf-json`` report
dicts they were made from, newest last: the input of the trend analysis and recommendations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .backends import Database, HistoryError, connect
from .location import StoreLocation
from .record import RunRecord, report_of
from .schema import migrate

__all__ = [
    "BaselineVersion",
    "HistoryStore",
    "RunFilter",
    "RunSummary",
    "SeriesPoint",
    "load_reports",
]


@dataclass(frozen=True)
class RunSummary:
    """A stored run's metadata (one row of ``runs``)."""

    run_id: str
    started_at: str | None
    finished_at: str
    git_commit: str | None
    git_branch: str | None
    git_dirty: bool | None
    profile: str
    mode: str
    cpu: str | None
    cores: int | None
    python: str | None
    plugin: str | None
    ci_provider: str | None
    ci_job: str | None
    ci_url: str | None
    source: str
    tests: int

    def to_dict(self) -> dict[str, Any]:
        """Builtins only (JSON-ready)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_RUN_COLUMNS = ", ".join(f.name for f in fields(RunSummary))


def _summary(row: Sequence[Any]) -> RunSummary:
    values = list(row)
    dirty = values[5]
    values[5] = None if dirty is None else bool(dirty)
    return RunSummary(*values)


@dataclass(frozen=True)
class RunFilter:
    """Which runs a listing keeps; None keeps every run."""

    since: str | None = None
    """UTC ``YYYY-MM-DDTHH:MM:SSZ``: runs that finished at or after it."""
    branch: str | None = None
    profile: str | None = None
    test: str | None = None
    """Runs that measured this test (its node id)."""

    def where(self, table: str = "") -> tuple[str, list[Any]]:
        """The SQL ``WHERE`` clause (or "") and its parameters; ``table``: the runs' alias."""
        column = f"{table}." if table else ""
        clauses, params = [], []
        for name, value, op in (
            ("finished_at", self.since, ">="),
            ("git_branch", self.branch, "="),
            ("profile", self.profile, "="),
        ):
            if value is not None:
                clauses.append(f"{column}{name} {op} ?")
                params.append(value)
        if self.test is not None:
            clauses.append(f"{column}run_id IN (SELECT run_id FROM results WHERE nodeid = ?)")
            params.append(self.test)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


@dataclass(frozen=True)
class SeriesPoint:
    """One run's value of a test's metric."""

    run_id: str
    finished_at: str
    git_commit: str | None
    n: int
    median: float | None
    rounds: tuple[float | None, ...]
    verdict: str | None
    higher_is_better: bool
    recheck: str | None = None
    """How the test's re-measure ended on this metric, if it looked worse (``MetricRow``)."""


@dataclass(frozen=True)
class BaselineVersion:
    """One ``--perf-baseline=save``: when, at which commit, of which profile, which tests."""

    run_id: str
    saved_at: str
    git_commit: str | None
    profile: str
    tests: tuple[str, ...]


_INSERT_RUN = f"INSERT INTO runs ({_RUN_COLUMNS}, report) VALUES ({', '.join('?' * 18)})"
_INSERT_RESULT = (
    "INSERT INTO results (run_id, nodeid, metric, scope, owner, unit, higher_is_better, n, "
    "median, mean, stdev, p95, rounds, verdict, baseline_version, recheck) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


_compact_json = json.JSONEncoder(separators=(",", ":")).encode
"""``json.dumps(value, separators=(",", ":"))`` without making an encoder per call (8,000 calls
for a run of 1,000 tests)."""


def _run_values(record: RunRecord) -> tuple[Any, ...]:
    report, meta = record.report, record.meta
    env = report["environment"]
    dirty = env.get("git_dirty")
    ci = meta.ci
    return (
        record.run_id,
        meta.started_at,
        report["created_at"],
        env.get("git_commit"),
        meta.branch,
        None if dirty is None else int(dirty),
        report["session"]["profile"],
        record.mode,
        env.get("cpu"),
        env.get("cores"),
        env.get("python"),
        env.get("plugin"),
        ci.provider if ci else None,
        ci.job if ci else None,
        ci.url if ci else None,
        meta.source,
        len(report["tests"]),
        record.blob,
    )


class HistoryStore:
    """An open history store (migrated to the current schema)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, location: StoreLocation, *, create: bool = True) -> HistoryStore:
        """Open (and migrate) the store; HistoryError, one line, when that fails."""
        db = connect(location, create=create)
        try:
            migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def append(self, record: RunRecord) -> bool:
        """Store ``record`` in one transaction; False if that run was already stored."""
        db, run_id = self.db, record.run_id
        with db.transaction():
            if db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)):
                return False
            db.execute(_INSERT_RUN, _run_values(record))
            db.executemany(
                _INSERT_RESULT,
                [
                    # MetricRow's fields, higher_is_better as 0/1 and the rounds as JSON
                    (run_id, *row[:5], int(row[5]), *row[6:11], _compact_json(row[11]), *row[12:])
                    for row in record.row_values
                ],
            )
            if record.report["session"].get("save"):
                self._record_baseline_version(record)
        return True

    def _record_baseline_version(self, record: RunRecord) -> None:
        report = record.report
        env = report["environment"]
        self.db.execute(
            "INSERT INTO baseline_versions (run_id, saved_at, git_commit, profile, tests) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                record.run_id,
                env.get("saved_at") or report["created_at"],
                env.get("git_commit"),
                report["session"]["profile"],
                json.dumps(sorted(report["session"].get("saved", []))),
            ),
        )

    def delete(self, run_ids: Sequence[str]) -> int:
        """Remove these runs (their results and baseline versions too), in one transaction."""
        db = self.db
        with db.transaction():
            for start in range(0, len(run_ids), 500):
                chunk = list(run_ids[start : start + 500])
                marks = ", ".join("?" * len(chunk))
                for table in ("results", "baseline_versions", "runs"):
                    db.execute(f"DELETE FROM {table} WHERE run_id IN ({marks})", chunk)
        return len(run_ids)

    # -- reading -------------------------------------------------------------------------------

    def runs(self, selection: RunFilter | None = None) -> list[RunSummary]:
        """The runs ``selection`` keeps, oldest first."""
        where, params = (selection or RunFilter()).where()
        rows = self.db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs{where} ORDER BY finished_at, run_id", params
        )
        return [_summary(row) for row in rows]

    def find(self, prefix: str) -> RunSummary:
        """The run whose id starts with ``prefix``; HistoryError if none or several do."""
        text = prefix.strip().lower()
        if not text or not all(c in "0123456789abcdef" for c in text):
            raise HistoryError(f"{prefix!r} is not a run id (the hex ids 'list' shows)")
        rows = self.db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id >= ? AND run_id < ? "
            "ORDER BY run_id LIMIT 2",
            (text, text + "g"),
        )
        if not rows:
            raise HistoryError(f"no run {prefix} in {self.db.location.describe()}")
        if len(rows) > 1:
            raise HistoryError(f"run id {prefix} is ambiguous: give more of it")
        return _summary(rows[0])

    def report(self, run_id: str) -> dict[str, Any]:
        """The ``--perf-json`` report of a stored run."""
        rows = self.db.execute("SELECT report FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            raise HistoryError(f"no run {run_id} in {self.db.location.describe()}")
        return report_of(bytes(rows[0][0]))

    def series(
        self,
        nodeid: str,
        metric: str,
        selection: RunFilter | None = None,
        *,
        rounds: bool = True,
    ) -> list[SeriesPoint]:
        """A test's metric over the runs ``selection`` keeps, oldest first; ``rounds=False``
        leaves each point's rounds empty (not parsed: most of the cost of a long series)."""
        where, params = (selection or RunFilter()).where("r")
        column = "m.rounds" if rounds else "NULL"
        rows = self.db.execute(
            f"SELECT r.run_id, r.finished_at, r.git_commit, m.n, m.median, {column}, m.verdict, "
            "m.higher_is_better, m.recheck "
            "FROM results m JOIN runs r ON r.run_id = m.run_id "
            f"{where}{' AND' if where else ' WHERE'} m.nodeid = ? AND m.metric = ? "
            "ORDER BY r.finished_at, r.run_id",
            [*params, nodeid, metric],
        )
        return [
            SeriesPoint(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                tuple(json.loads(row[5])) if rounds else (),
                row[6],
                bool(row[7]),
                row[8],
            )
            for row in rows
        ]

    def metrics(self, nodeid: str) -> list[str]:
        """The metrics ever recorded for ``nodeid``."""
        rows = self.db.execute(
            "SELECT DISTINCT metric FROM results WHERE nodeid = ? ORDER BY metric", (nodeid,)
        )
        return [row[0] for row in rows]

    def tests(self, pattern: str) -> list[str]:
        """Recorded node ids equal to ``pattern`` or ending with ``::pattern``."""
        rows = self.db.execute(
            "SELECT DISTINCT nodeid FROM results WHERE nodeid = ? OR nodeid LIKE ? ORDER BY nodeid",
            (pattern, "%::" + pattern),
        )
        # LIKE's '_' matches any character: keep the exact suffixes only
        return [row[0] for row in rows if row[0] == pattern or row[0].endswith("::" + pattern)]

    def baseline_versions(self, profile: str | None = None) -> list[BaselineVersion]:
        """Every recorded save, oldest first."""
        where, params = ("WHERE profile = ? ", [profile]) if profile else ("", [])
        rows = self.db.execute(
            "SELECT run_id, saved_at, git_commit, profile, tests FROM baseline_versions "
            f"{where}ORDER BY saved_at, run_id",
            params,
        )
        return [BaselineVersion(r[0], r[1], r[2], r[3], tuple(json.loads(r[4]))) for r in rows]

    def medians(self, run_id: str, nodeid: str) -> dict[str, float | None]:
        """Each metric's median of ``nodeid`` in one run."""
        rows = self.db.execute(
            "SELECT metric, median FROM results WHERE run_id = ? AND nodeid = ?",
            (run_id, nodeid),
        )
        return {row[0]: row[1] for row in rows}


def load_reports(
    location: StoreLocation | str | Path,
    selection: RunFilter | None = None,
    *,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Stored runs as their ``--perf-json`` report dicts, newest last.

    Each dict also has a ``history`` key: the run's metadata (``run_id``, ``started_at``,
    ``finished_at``, ``git_branch``, the CI job...). ``location`` is a
    :class:`StoreLocation`, a store URL, or the path of a SQLite file; ``limit`` keeps the
    newest runs only. HistoryError (one line) when the store cannot be read.
    """
    from .location import parse_location

    if isinstance(location, Path):
        location = StoreLocation("sqlite", str(location))
    elif isinstance(location, str):
        parsed = parse_location(location, "history location")
        if parsed is None:
            return []
        location = parsed
    with HistoryStore.open(location, create=False) as store:
        runs = store.runs(selection)
        if limit is not None:
            runs = runs[-limit:] if limit > 0 else []
        reports = []
        for run in runs:
            report = store.report(run.run_id)
            report["history"] = run.to_dict()
            reports.append(report)
    return reports
