"""Synthetic runs for the history tests: real run reports made from fake results, in dict form.

Also a throwaway PostgreSQL server for the tests of that backend: ``PERFBASELINE_TEST_POSTGRES_URL``
if set, else a cluster of its own started with initdb and pg_ctl (as the ``postgres`` user
when running as root), on a Unix socket in a folder of its own; ``None`` and the reason when
neither is possible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from fakes import ENV, plain_report

from pytest_perfbaseline.metrics.names import MetricInfo, MetricName
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.reports.json_report import report_to_dict

METRICS = (
    "round_s",
    "ttft_s",
    "tpot_s",
    "e2e_s",
    "itl_p50_s",
    "itl_p95_s",
    "tokens_per_s",
    "cost_usd",
)
_INFOS = {
    name: MetricInfo(
        "tok/s" if name == "tokens_per_s" else ("USD" if name == "cost_usd" else "s"),
        name == "tokens_per_s",
        "rate" if name == "tokens_per_s" else ("cost" if name == "cost_usd" else "time"),
    )
    for name in METRICS
}


def fake_result(
    nodeid: str, level: float, rounds: int = 5, metrics: Sequence[str] = METRICS
) -> TestResult:
    """A result whose metric ``m``'s rounds are ``level * (1 + i/100)`` (exact medians)."""
    values = tuple({m: level * (1 + i / 100) for m in metrics} for i in range(rounds))
    return TestResult(
        nodeid=nodeid,
        rounds=values,
        infos={m: _INFOS[m] for m in metrics},
        itl_histogram=(),
        itl_pooled=None,
        token_sources={},
        rounds_requested=rounds,
        warmup=0,
        implicit=False,
        names={m: MetricName("round", None, m) for m in metrics},
    )


def fake_report(
    when: str,
    *,
    level: float = 1.0,
    tests: int = 2,
    rounds: int = 5,
    save: bool = False,
    commit: str | None = None,
    profile: str = "ci",
    metrics: Sequence[str] = METRICS,
) -> dict[str, Any]:
    """A plain (or saving) run's ``--perf-json`` dict, finished at ``when``."""
    env = replace(ENV, saved_at=when, git_commit=commit or ENV.git_commit)
    results = [fake_result(f"test_m.py::test_{i}", level, rounds, metrics) for i in range(tests)]
    report = plain_report(results, profile=profile, env=env)
    if save:
        report = replace(report, save=True, saved=tuple(r.nodeid for r in results))
    return report_to_dict(report)


# -- a PostgreSQL server ------------------------------------------------------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


@contextmanager
def postgres_server() -> Iterator[tuple[str | None, str]]:
    """A server's URL (or None) and why not; the server is stopped and removed afterwards."""
    url = os.environ.get("PERFBASELINE_TEST_POSTGRES_URL")
    if url:
        yield url, ""
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        yield None, "psycopg is not installed (pip install -e '.[postgres]')"
        return
    if not (PG_BIN / "initdb").exists():
        yield None, f"no PostgreSQL at {PG_BIN} and PERFBASELINE_TEST_POSTGRES_URL not set"
        return
    folder = Path(tempfile.mkdtemp(prefix="perfbaseline-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        data = folder / "data"
        try:
            subprocess.run(
                _as_postgres(
                    [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
                ),
                check=True,
                capture_output=True,
                timeout=120,
            )
            subprocess.run(
                _as_postgres(
                    [
                        str(PG_BIN / "pg_ctl"),
                        "-D",
                        str(data),
                        "-l",
                        str(folder / "log"),
                        "-w",
                        "-o",
                        f"-k {folder} -c listen_addresses='' -p 5432 -c fsync=off",
                        "start",
                    ]
                ),
                check=True,
                capture_output=True,
                timeout=120,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            yield None, f"could not start PostgreSQL: {exc} {detail.decode(errors='replace')[:200]}"
            return
        try:
            yield f"postgresql://postgres@/postgres?host={folder}&port=5432", ""
        finally:
            subprocess.run(
                _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                check=False,
                capture_output=True,
                timeout=60,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fresh_schema(server_url: str, name: str) -> str:
    """A new empty schema on the server; the URL of a connection that uses it."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{name}"')
    joiner = "&" if "?" in server_url else "?"
    return f"{server_url}{joiner}options=-csearch_path%3D{name}"
