"""The history store on both backends: append and read back, filters, baseline versions,
migrations, a newer schema, two writers at once, a writer killed mid-transaction.

PostgreSQL runs against a real server (a throwaway cluster, or PERFBASELINE_TEST_POSTGRES_URL);
where none can be had, those tests are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from history_fakes import METRICS, fake_report, fresh_schema, postgres_server

from pytest_perfbaseline.history.backends import HistoryError, StoreMissing, connect
from pytest_perfbaseline.history.location import StoreLocation, parse_location
from pytest_perfbaseline.history.metadata import CIJob
from pytest_perfbaseline.history.record import RunMeta, run_record
from pytest_perfbaseline.history.schema import SCHEMA_VERSION, NewerSchema, migrate_to
from pytest_perfbaseline.history.store import HistoryStore, RunFilter, load_reports

TESTS_DIR = Path(__file__).parent


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    with postgres_server() as (url, why):
        if url is None:
            pytest.skip(f"PostgreSQL tests skipped: {why}")
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    if request.param == "sqlite":
        return StoreLocation("sqlite", str(tmp_path / "history.sqlite"))
    server: str = request.getfixturevalue("postgres_url")
    name = "t_" + request.node.name.replace("[", "_").replace("]", "").replace("-", "_")[:50]
    url = fresh_schema(server, name.lower())
    parsed = parse_location(url, "test")
    assert parsed is not None
    return parsed


def record(when: str, **kwargs: object) -> object:
    meta = RunMeta("session", when, kwargs.pop("branch", "main"), CIJob("github", "ci / t", None))  # type: ignore[arg-type]
    return run_record(fake_report(when, **kwargs), meta)  # type: ignore[arg-type]


def test_a_run_reads_back_as_its_report(location: StoreLocation) -> None:
    rec = record("2026-11-20T10:00:00Z", level=2.0)
    with HistoryStore.open(location) as store:
        assert store.append(rec) is True  # type: ignore[arg-type]
        assert store.append(rec) is False  # type: ignore[arg-type]  # the same run, once
        [run] = store.runs()
        assert run.run_id == rec.run_id  # type: ignore[attr-defined]
        assert (run.git_branch, run.mode, run.tests, run.ci_provider) == (
            "main",
            "plain",
            2,
            "github",
        )
        assert store.report(run.run_id) == rec.report  # type: ignore[attr-defined]
        assert store.find(run.run_id[:6]) == run
        [point] = store.series("test_m.py::test_0", "ttft_s")
        assert point.median == pytest.approx(2.0 * 1.02)
        assert point.rounds == pytest.approx([2.0 * (1 + i / 100) for i in range(5)])
        assert store.metrics("test_m.py::test_1") == sorted(METRICS)
        assert store.tests("test_1") == ["test_m.py::test_1"]
    [report] = load_reports(location)
    assert report["history"]["run_id"] == run.run_id
    assert report["tests"] == rec.report["tests"]  # type: ignore[attr-defined]


def test_filters_and_prefixes(location: StoreLocation) -> None:
    with HistoryStore.open(location) as store:
        store.append(record("2026-11-20T10:00:00Z", branch="main"))  # type: ignore[arg-type]
        store.append(record("2026-11-21T10:00:00Z", branch="dev", profile="gpu"))  # type: ignore[arg-type]
        store.append(record("2026-11-22T10:00:00Z", branch="main", tests=1))  # type: ignore[arg-type]
        assert [r.finished_at[:10] for r in store.runs()] == [
            "2026-11-20",
            "2026-11-21",
            "2026-11-22",
        ]
        assert len(store.runs(RunFilter(since="2026-11-21T00:00:00Z"))) == 2
        assert len(store.runs(RunFilter(branch="main"))) == 2
        assert len(store.runs(RunFilter(profile="gpu"))) == 1
        assert len(store.runs(RunFilter(test="test_m.py::test_1"))) == 2
        assert len(store.series("test_m.py::test_0", "round_s", RunFilter(branch="main"))) == 2
        with pytest.raises(HistoryError, match="no run"):
            store.find("fff0000")
        with pytest.raises(HistoryError, match="not a run id"):
            store.find("zz")
        store.delete([store.runs()[0].run_id])
        assert len(store.runs()) == 2
        assert len(store.series("test_m.py::test_0", "round_s")) == 2


def test_saves_are_baseline_versions(location: StoreLocation) -> None:
    with HistoryStore.open(location) as store:
        store.append(record("2026-11-20T10:00:00Z", save=True, commit="a" * 40))  # type: ignore[arg-type]
        store.append(record("2026-11-21T10:00:00Z"))  # type: ignore[arg-type]
        store.append(record("2026-11-22T10:00:00Z", save=True, level=1.5))  # type: ignore[arg-type]
        versions = store.baseline_versions()
    assert [v.saved_at for v in versions] == ["2026-11-20T10:00:00Z", "2026-11-22T10:00:00Z"]
    assert versions[0].git_commit == "a" * 40
    assert versions[0].tests == ("test_m.py::test_0", "test_m.py::test_1")


def test_an_older_schema_is_migrated(location: StoreLocation) -> None:
    """A version-1 store (no baseline versions) keeps its runs; its saves become versions."""
    from pytest_perfbaseline.history.store import _INSERT_RESULT, _INSERT_RUN, _run_values

    old = record("2026-11-20T10:00:00Z", save=True)
    db = connect(location, create=True)
    migrate_to(db, 1)
    with db.transaction():
        db.execute(_INSERT_RUN, _run_values(old))  # type: ignore[arg-type]
        assert _INSERT_RESULT  # the results of a v1 run are not needed here
    assert not db.table_exists("baseline_versions")
    db.close()
    with HistoryStore.open(location) as store:
        assert [r.run_id for r in store.runs()] == [old.run_id]  # type: ignore[attr-defined]
        [version] = store.baseline_versions()
        assert version.run_id == old.run_id  # type: ignore[attr-defined]
        rows = store.db.execute("SELECT MAX(version) FROM schema_version")
        assert rows[0][0] == SCHEMA_VERSION


def test_a_newer_schema_is_refused(location: StoreLocation) -> None:
    with HistoryStore.open(location) as store:
        store.db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(NewerSchema) as info:
        HistoryStore.open(location)
    message = str(info.value)
    assert "\n" not in message
    assert f"version {SCHEMA_VERSION + 1}, newer than this pytest-perfbaseline knows" in message


def test_a_missing_sqlite_store_is_not_created_for_reading(tmp_path: Path) -> None:
    location = StoreLocation("sqlite", str(tmp_path / "none" / "h.sqlite"))
    with pytest.raises(StoreMissing):
        HistoryStore.open(location, create=False)
    assert not (tmp_path / "none").exists()


def test_an_unreachable_server_is_one_line_and_quick() -> None:
    # A socket folder that does not exist: refused at once, no network involved.
    location = StoreLocation("postgresql", "postgresql://u:secret@/db?host=/nonexistent-dir&port=1")
    pytest.importorskip("psycopg")
    with pytest.raises(HistoryError) as info:
        HistoryStore.open(location)
    assert "\n" not in str(info.value)
    assert "secret" not in str(info.value)


_WRITER = """
import sys, json
sys.path[:0] = [{tests!r}]
from history_fakes import fake_report
from pytest_perfbaseline.history.location import StoreLocation
from pytest_perfbaseline.history.record import RunMeta, run_record
from pytest_perfbaseline.history.store import HistoryStore

backend, target, who = sys.argv[1:4]
count, tests = int(sys.argv[4]), int(sys.argv[5])
location = StoreLocation(backend, target)
for i in range(count):
    report = fake_report(f"2026-11-20T10:{{i // 60:02d}}:{{i % 60:02d}}Z", level=1 + i, tests=tests)
    report["session"]["profile"] = who
    rec = run_record(report, RunMeta("session"))
    print("writing", flush=True)
    with HistoryStore.open(location) as store:
        store.append(rec)
    print("written", flush=True)
"""


def _writer(
    tmp_path: Path, location: StoreLocation, who: str, count: int, tests: int
) -> subprocess.Popen[str]:
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(_WRITER.format(tests=str(TESTS_DIR))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [
            sys.executable,
            str(script),
            location.backend,
            location.target,
            who,
            str(count),
            str(tests),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_two_writers_at_once_lose_nothing(location: StoreLocation, tmp_path: Path) -> None:
    HistoryStore.open(location).close()  # the schema exists: the writers race on runs only
    writers = [_writer(tmp_path, location, who, 15, 20) for who in ("a", "b")]
    for writer in writers:
        writer.communicate(timeout=300)
        assert writer.returncode == 0
    with HistoryStore.open(location) as store:
        runs = store.runs()
        assert sorted(r.profile for r in runs) == ["a"] * 15 + ["b"] * 15
        [[results]] = store.db.execute("SELECT COUNT(*) FROM results")
    assert results == 30 * 20 * len(METRICS)


def test_a_writer_killed_mid_run_leaves_no_half_run(
    location: StoreLocation, tmp_path: Path
) -> None:
    writer = _writer(tmp_path, location, "k", 50, 2000)
    assert writer.stdout is not None
    seen = 0
    for line in writer.stdout:
        seen += line.startswith("writing")
        if seen == 3:  # inside the third run's append (each takes a while: 16,000 rows)
            writer.send_signal(signal.SIGKILL)
            break
    writer.wait(timeout=60)
    writer.stdout.close()
    with HistoryStore.open(location) as store:
        runs = store.runs()
        assert 2 <= len(runs) <= 3
        for run in runs:
            [[count]] = store.db.execute(
                "SELECT COUNT(*) FROM results WHERE run_id = ?", (run.run_id,)
            )
            assert count == 2000 * len(METRICS)
        [[orphans]] = store.db.execute(
            "SELECT COUNT(*) FROM results WHERE run_id NOT IN (SELECT run_id FROM runs)"
        )
        assert orphans == 0
        store.append(run_record(fake_report("2026-11-21T00:00:00Z"), RunMeta("session")))


def test_json_of_a_run_is_json(location: StoreLocation) -> None:
    with HistoryStore.open(location) as store:
        store.append(record("2026-11-20T10:00:00Z"))  # type: ignore[arg-type]
    [report] = load_reports(location)
    json.dumps(report, allow_nan=False)


def test_a_runs_rows_are_stored_as_the_metric_rows_say(tmp_path: Path) -> None:
    import sqlite3
    from dataclasses import astuple

    from pytest_perfbaseline.history.record import MetricRow

    report = fake_report("2026-11-20T10:00:00Z", level=2.0)
    rec = run_record(report, RunMeta("session"))
    rows = rec.rows
    assert all(isinstance(row, MetricRow) for row in rows)
    assert len(rows) == sum(len(test["metrics"]) for test in report["tests"]) > 0
    location = StoreLocation("sqlite", str(tmp_path / "h.sqlite"))
    with HistoryStore.open(location) as store:
        store.append(rec)
    with sqlite3.connect(location.target) as conn:
        stored = conn.execute(
            "SELECT nodeid, metric, scope, owner, unit, higher_is_better, n, median, mean, stdev, "
            "p95, rounds, verdict, baseline_version, recheck FROM results ORDER BY nodeid, metric"
        ).fetchall()
    expected = []
    for row in sorted(rows, key=lambda r: (r.nodeid, r.metric)):
        values = list(astuple(row))
        values[5] = int(row.higher_is_better)
        values[11] = json.dumps(list(row.rounds), separators=(",", ":"))
        expected.append(tuple(values))
    assert stored == expected
    first = rows[0]
    test = next(t for t in report["tests"] if t["nodeid"] == first.nodeid)
    assert first.rounds == tuple(r.get(first.metric) for r in test["rounds"])
    assert first.median == test["metrics"][first.metric]["summary"]["median"]


def test_a_version_2_store_gets_its_rechecks_backfilled(location: StoreLocation) -> None:
    """Migrating to version 3 reads each stored report once for what re-measures decided."""
    report = fake_report("2026-11-20T10:00:00Z")
    report["tests"][0]["comparison"] = {
        "suspected": ["ttft_s"],
        "recheck": {"confirmation": "not confirmed"},
        "metrics": {"ttft_s": {"verdict": "unchanged"}},
    }
    old = run_record(report, RunMeta("session", None))
    db = connect(location, create=True)
    migrate_to(db, 2)
    with db.transaction():
        from pytest_perfbaseline.history.store import _run_values

        db.execute(
            "INSERT INTO runs (run_id, started_at, finished_at, git_commit, git_branch, git_dirty, "
            "profile, mode, cpu, cores, python, plugin, ci_provider, ci_job, ci_url, source, "
            "tests, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _run_values(old),
        )
        db.executemany(
            "INSERT INTO results (run_id, nodeid, metric, unit, higher_is_better, n, rounds) "
            "VALUES (?, ?, ?, ?, 0, 5, '[]')",
            [(old.run_id, row.nodeid, row.metric, row.unit) for row in old.rows],
        )
    db.close()
    with HistoryStore.open(location) as store:
        [point] = store.series("test_m.py::test_0", "ttft_s")
        assert point.recheck == "not confirmed"
        assert store.series("test_m.py::test_0", "round_s")[0].recheck is None
        assert store.series("test_m.py::test_1", "ttft_s")[0].recheck is None
    assert [row.recheck for row in old.rows if row.metric == "ttft_s"] == ["not confirmed", None]
