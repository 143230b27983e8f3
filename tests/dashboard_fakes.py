"""Synthetic histories for the dashboard's tests and benchmark, recorded through the real store.

Each run's report is a real ``--perf-json`` dict built from fake results: per test the eight
standard metrics at a level of the test's own, seeded noise, a 30% step from run ``step_at``
in every tenth test, and the cost of two models and two agents.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fakes import ENV, plain_report
from history_fakes import METRICS, fake_result

from pytest_perfbaseline.history.location import StoreLocation
from pytest_perfbaseline.history.record import RunMeta, run_record
from pytest_perfbaseline.history.serve import DashboardServer, DataSource
from pytest_perfbaseline.history.store import HistoryStore, RunFilter
from pytest_perfbaseline.metrics.names import MetricInfo, MetricName
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.reports.json_report import report_to_dict

START = datetime(2026, 11, 1, tzinfo=timezone.utc)
_COST = MetricInfo("USD", False, "cost")
BREAKDOWNS = (("model", "gpt-4o-mini"), ("model", "claude-haiku"), ("agent", "planner"))


def _result(nodeid: str, level: float, rng: random.Random, rounds: int) -> TestResult:
    values = []
    for _ in range(rounds):
        row = {m: level * (1 + rng.gauss(0, 0.02)) for m in METRICS}
        for scope, owner in BREAKDOWNS:
            row[f"{scope}.{owner}.cost_usd"] = level * 1e-3 * (1 + rng.random() / 10)
        values.append(row)
    result = fake_result(nodeid, level, rounds)
    infos = dict(result.infos)
    names = dict(result.names)
    for scope, owner in BREAKDOWNS:
        key = f"{scope}.{owner}.cost_usd"
        infos[key] = _COST
        names[key] = MetricName(scope, owner, "cost_usd")  # type: ignore[arg-type]
    return replace(result, rounds=tuple(values), infos=infos, names=names)


def fill_history(
    path: Path,
    *,
    tests: int,
    runs: int,
    rounds: int = 5,
    step_at: int | None = None,
    seed: int = 1,
    test_name: str = "tests/test_chat.py::test_reply_{i}",
) -> StoreLocation:
    """A SQLite store at ``path`` with ``runs`` runs of ``tests`` tests, one run an hour."""
    rng = random.Random(seed)
    location = StoreLocation("sqlite", str(path))
    with HistoryStore.open(location) as store:
        for run in range(runs):
            when = (START + timedelta(hours=run)).strftime("%Y-%m-%dT%H:%M:%SZ")
            results = []
            for i in range(tests):
                level = 0.01 * (1 + i % 7)
                if step_at is not None and run >= step_at and i % 10 == 0:
                    level *= 1.3
                results.append(_result(test_name.format(i=i), level, rng, rounds))
            env = replace(ENV, saved_at=when, git_commit=f"{run:040x}")
            report = plain_report(results, profile="ci", env=env)
            if run % 50 == 0:
                report = replace(report, save=True, saved=tuple(r.nodeid for r in results))
            branch = "main" if run % 4 else "feature/x"
            meta = RunMeta(source="session", started_at=when, branch=branch)
            store.append(run_record(report_to_dict(report), meta))
    return location


@contextlib.contextmanager
def serving(location: StoreLocation, live: Path | None = None) -> Iterator[DashboardServer]:
    """The dashboard server of ``location`` on a free loopback port, in a thread."""
    source = DataSource(
        open_store=lambda: HistoryStore.open(location, create=False),
        selection=lambda store: RunFilter(),
        live_folder=live,
    )
    server = DashboardServer(("127.0.0.1", 0), source)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
