"""What the run history costs: appending, reading a trend, disk per run, a session's wall time.

Run:  python benchmarks/history_store.py [--pairs 3] [--skip-suite]

1. Append one run of 1,000 tests x 8 metrics x 30 rounds to a SQLite store: the record built
   from the report (hash, compression, rows) and the transaction, separately. Target: < 1 s.
2. ``perfbaseline history trend`` over 1,000 runs of one test (the whole command: open, query,
   rolling windows, the table). Target: < 0.2 s.
3. Store size per run of the examples suite (examples/), three sessions recorded.
4. The examples suite's wall time with and without history (--perf-history=off), interleaved
   pairs, and the recording itself timed in-process on one of its reports. Target: < 2%.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from history_fakes import fake_report

from pytest_perfbaseline.cli import main
from pytest_perfbaseline.history.location import StoreLocation
from pytest_perfbaseline.history.record import RunMeta, run_record
from pytest_perfbaseline.history.store import HistoryStore
from pytest_perfbaseline.reports.json_report import read_report, report_to_dict

EXAMPLES = Path(__file__).parent.parent / "examples"


def append_big_run(folder: Path) -> None:
    report = fake_report("2026-11-20T10:00:00Z", tests=1000, rounds=30)
    location = StoreLocation("sqlite", str(folder / "big.sqlite"))
    HistoryStore.open(location).close()
    start = time.perf_counter()
    record = run_record(report, RunMeta("session"))
    built = time.perf_counter() - start
    with HistoryStore.open(location) as store:
        start = time.perf_counter()
        store.append(record)
        stored = time.perf_counter() - start
    size = Path(location.target).stat().st_size
    print(
        f"1. append 1,000 tests x 8 metrics x 30 rounds: {built + stored:.3f} s "
        f"(record {built:.3f} s, transaction {stored:.3f} s; store {size / 1e6:.1f} MB) "
        "target < 1 s"
    )


def trend_over_runs(folder: Path) -> None:
    path = folder / "trend.sqlite"
    location = StoreLocation("sqlite", str(path))
    with HistoryStore.open(location) as store:
        for i in range(1000):
            when = f"2026-{1 + i // 600:02d}-{1 + i // 24 % 25:02d}T{i % 24:02d}:00:00Z"
            report = fake_report(when, level=1 + (i % 7) / 100, tests=3, rounds=10)
            store.append(run_record(report, RunMeta("session")))
    samples = []
    for _ in range(5):
        out = io.StringIO()
        start = time.perf_counter()
        with redirect_stdout(out):
            main(["history", "trend", "test_1", "--history", f"sqlite:///{path}", "--window", "7d"])
        samples.append(time.perf_counter() - start)
    rows = out.getvalue().count("\n")
    print(
        f"2. history trend over 1,000 runs of one test: {statistics.median(samples):.3f} s "
        f"(median of 5; {rows} lines printed) target < 0.2 s"
    )


def suite(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *args],
        cwd=EXAMPLES,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def examples_suite(folder: Path, pairs: int) -> None:
    store = folder / "examples.sqlite"
    report_path = folder / "report.json"
    on_times, off_times = [], []
    for i in range(pairs):
        order = [("on", f"--perf-history=sqlite:///{store}"), ("off", "--perf-history=off")]
        for which, flag in order if i % 2 == 0 else order[::-1]:
            extra = [f"--perf-json={report_path}"] if which == "on" and i == 0 else []
            (on_times if which == "on" else off_times).append(suite(flag, *extra))
    with HistoryStore.open(StoreLocation("sqlite", str(store))) as history:
        count = len(history.runs())
    history_store = HistoryStore.open(StoreLocation("sqlite", str(folder / "one.sqlite")))
    report = report_to_dict(read_report(report_path))
    start = time.perf_counter()
    history_store.append(run_record(report, RunMeta("session")))
    one = time.perf_counter() - start
    history_store.close()
    size = (folder / "one.sqlite").stat().st_size
    print(
        f"3. examples suite: {store.stat().st_size / count / 1e3:.0f} kB per run in a store of "
        f"{count} runs (one run alone: {size / 1e3:.0f} kB file)"
    )
    on, off = statistics.median(on_times), statistics.median(off_times)
    print(
        f"4. examples suite wall time: with history {on:.2f} s, without {off:.2f} s "
        f"({(on / off - 1):+.1%}; medians of {pairs} interleaved pairs); recording one of its "
        f"runs in-process: {one * 1000:.1f} ms ({one / off:.2%} of the suite) target < 2%"
    )


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--skip-suite", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        append_big_run(folder)
        trend_over_runs(folder)
        if not args.skip_suite:
            examples_suite(folder, args.pairs)


if __name__ == "__main__":
    main_()
