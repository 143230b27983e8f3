"""The history store's tables and their migrations.

The schema is versioned: ``schema_version`` holds the version the tables are at, and
:func:`migrate` brings an older store up to :data:`SCHEMA_VERSION`, one step per version, in
one transaction (a store is never left half-migrated). A store at a newer version than this
code knows is refused: an older plugin must not write rows a newer one would misread.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable

from .backends import Database, HistoryError
from .record import rechecked

__all__ = ["SCHEMA_VERSION", "NewerSchema", "migrate", "schema_version"]

_V1 = (
    """CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        started_at TEXT,
        finished_at TEXT NOT NULL,
        git_commit TEXT,
        git_branch TEXT,
        git_dirty INTEGER,
        profile TEXT NOT NULL,
        mode TEXT NOT NULL,
        cpu TEXT,
        cores INTEGER,
        python TEXT,
        plugin TEXT,
        ci_provider TEXT,
        ci_job TEXT,
        ci_url TEXT,
        source TEXT NOT NULL,
        tests INTEGER NOT NULL,
        report {blob} NOT NULL
    )""",
    "CREATE INDEX runs_finished ON runs (finished_at)",
    """CREATE TABLE results (
        run_id TEXT NOT NULL REFERENCES runs (run_id),
        nodeid TEXT NOT NULL,
        metric TEXT NOT NULL,
        scope TEXT,
        owner TEXT,
        unit TEXT NOT NULL,
        higher_is_better INTEGER NOT NULL,
        n INTEGER NOT NULL,
        median {float},
        mean {float},
        stdev {float},
        p95 {float},
        rounds TEXT NOT NULL,
        verdict TEXT,
        baseline_version TEXT,
        PRIMARY KEY (run_id, nodeid, metric)
    )""",
    "CREATE INDEX results_test ON results (nodeid, metric)",
)

_V2 = (
    """CREATE TABLE baseline_versions (
        run_id TEXT PRIMARY KEY REFERENCES runs (run_id),
        saved_at TEXT NOT NULL,
        git_commit TEXT,
        profile TEXT NOT NULL,
        tests TEXT NOT NULL
    )""",
    "CREATE INDEX baseline_versions_saved ON baseline_versions (profile, saved_at)",
)


def _statements(statements: tuple[str, ...]) -> Callable[[Database], None]:
    def apply(db: Database) -> None:
        for statement in statements:
            db.execute(statement.format(**db.types))

    return apply


def _baseline_versions(db: Database) -> None:
    """Version 2: baseline versions, backfilled from the saving runs already stored."""
    _statements(_V2)(db)
    for run_id, blob in db.execute(
        "SELECT run_id, report FROM runs WHERE mode IN ('save', 'compare+save')"
    ):
        report = json.loads(zlib.decompress(bytes(blob)))
        db.execute(
            "INSERT INTO baseline_versions (run_id, saved_at, git_commit, profile, tests) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                run_id,
                report["environment"].get("saved_at") or report["created_at"],
                report["environment"].get("git_commit"),
                report["session"]["profile"],
                json.dumps(sorted(report["session"].get("saved", []))),
            ),
        )


def _recheck_column(db: Database) -> None:
    """Version 3: each suspected metric's re-measure outcome (``results.recheck``), so the
    dashboard marks excused regressions without reading every report; backfilled from the
    stored reports, once."""
    db.execute("ALTER TABLE results ADD COLUMN recheck TEXT")
    for run_id, blob in db.execute("SELECT run_id, report FROM runs"):
        report = json.loads(zlib.decompress(bytes(blob)))
        for test in report["tests"]:
            suspected, outcome = rechecked(test.get("comparison") or {})
            for metric in sorted(suspected):
                db.execute(
                    "UPDATE results SET recheck = ? WHERE run_id = ? AND nodeid = ? AND metric = ?",
                    (outcome, run_id, test["nodeid"], metric),
                )


_STEPS: dict[int, Callable[[Database], None]] = {
    1: _statements(_V1),
    2: _baseline_versions,
    3: _recheck_column,
}
SCHEMA_VERSION = max(_STEPS)
"""The version this code writes."""


class NewerSchema(HistoryError):
    """The store was made by a newer pytest-perfbaseline; it is neither read nor written."""


def schema_version(db: Database) -> int:
    """The store's version (0: no tables yet)."""
    if not db.table_exists("schema_version"):
        return 0
    rows = db.execute("SELECT MAX(version) FROM schema_version")
    return int(rows[0][0] or 0)


def _refuse_newer(db: Database, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise NewerSchema(
            f"{db.location.describe()} has history schema version {version}, newer than this "
            f"pytest-perfbaseline knows ({SCHEMA_VERSION}): upgrade pytest-perfbaseline"
        )


def migrate(db: Database) -> None:
    """Bring the store to :data:`SCHEMA_VERSION` (creating it if empty); NewerSchema if newer.

    Cheap when the store is current: one catalogue look-up and one query.
    """
    version = schema_version(db)
    _refuse_newer(db, version)
    if version == SCHEMA_VERSION:
        return
    with db.transaction(schema_lock=True):
        # Read again under the lock: another process may have migrated meanwhile.
        if not db.table_exists("schema_version"):
            db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        version = schema_version(db)
        _refuse_newer(db, version)
        for step in range(version + 1, SCHEMA_VERSION + 1):
            _STEPS[step](db)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (step,))


def migrate_to(db: Database, target: int) -> None:
    """Bring an empty or older store to ``target`` only (tests build old stores with it)."""
    with db.transaction(schema_lock=True):
        if not db.table_exists("schema_version"):
            db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for step in range(schema_version(db) + 1, target + 1):
            _STEPS[step](db)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (step,))
