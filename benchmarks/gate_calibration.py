"""Calibrate the gate on real sessions: false alarms on unchanged code, detection of slowdowns.

Run:  python benchmarks/gate_calibration.py [--rows quiet,hogs,bursty,cpu300,torch]
          [--sessions 20] [--sessions-10x N] [--aa-sessions-cpu300 5] [--slowdown 1.3]
          [--target all|ttft] [--rounds N] [--load 2] [--baseline-saves 3] [--markdown FILE]

Every row of the table is a workload under a condition, every cell a number of separate
``pytest --perf-compare`` sessions on the real clock, each read back from its ``--perf-json``
report. Per row: the baseline is saved ``--baseline-saves`` times on a quiet machine, then the
condition starts (nothing, busy processes, a second pytest session) and the cells run:

- **A/A**: unchanged code. A failed session is a false alarm (target 0 of 20).
- **slowed**: the examples by ``--slowdown`` (target: caught in >= 19 of 20), three of the
  300 CPU-bound tests by +50% (>= 90% of the time), the torch model without its KV cache.
- **10x**: a tenfold slowdown (target: 20 of 20).

Rows: ``quiet``, ``hogs`` (``--load`` ``while True: pass`` processes) and ``bursty`` (this
repository's test suite looping alongside) run the bundled examples; ``cpu300`` runs 300
generated tests of 5-50 us per round, quiet and bursty; ``torch`` streams generation from a
tiny random GPT-2 (skipped unless torch and transformers import). See calibration_workloads.py.

A session is *failed* when pytest exits 1 and a test's verdict is ``regressed``, *undecided*
when no test regressed but one is ``undecided``, *other* when it failed for another reason (a
workload's own assertion), else *passed*; see calibration_outcomes.py. Sessions run one after
another on this machine, so whatever else it is doing is part of the noise the gate has to
live with, as on a shared CI runner. The table is printed at the end (and written as
Markdown with ``--markdown``), with the slowdown each cell actually measured (median round
time against the baseline sessions').
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import calibration_workloads as workloads
from calibration_outcomes import (
    Cell,
    Session,
    classify,
    describe_slowdowns,
    measured_slowdowns,
    read_report,
)
from calibration_workloads import Variant, Workload

REPO = Path(__file__).resolve().parent.parent
ROWS = ("quiet", "hogs", "bursty", "cpu300", "torch")
BURSTY = (
    "import subprocess, sys\n"
    "while True:\n"
    "    subprocess.run([sys.executable, '-m', 'pytest', 'tests', '-q', '-x', '-p',"
    " 'no:cacheprovider'], check=False)\n"
)
_OWN_ENV = ("PERFBASELINE_EXAMPLES", "PERFBASELINE_CALIB")


@dataclass(frozen=True)
class Row:
    condition: str
    """``quiet``, ``hogs`` or ``bursty``: what runs alongside the compare sessions."""
    workload: Workload


@dataclass(frozen=True)
class RowResult:
    row: Row
    aa: Cell
    slowed: Cell
    tenfold: Cell
    baseline: tuple[Mapping[str, float], ...]
    """Each baseline session's median round time per test."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default=",".join(ROWS), help="a subset of " + ",".join(ROWS))
    parser.add_argument("--sessions", type=int, default=20, help="sessions per cell")
    parser.add_argument(
        "--sessions-10x", type=int, default=None, help="sessions of the 10x cells (--sessions)"
    )
    parser.add_argument(
        "--aa-sessions",
        type=int,
        default=None,
        help="A/A sessions of the rows other than cpu300 (default: --sessions)",
    )
    parser.add_argument("--aa-sessions-cpu300", type=int, default=5)
    parser.add_argument("--slowdown", type=float, default=1.3, help="the examples' slowdown")
    parser.add_argument("--target", choices=("all", "ttft"), default="all")
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="--perf-rounds for every session (the examples' markers say 10, and win)",
    )
    parser.add_argument("--load", type=int, default=2, help="busy processes of the hogs row")
    parser.add_argument("--baseline-saves", type=int, default=3)
    parser.add_argument("--markdown", type=Path, default=None, help="write the table here")
    args = parser.parse_args(argv)
    args.rows = [r for r in args.rows.split(",") if r]
    unknown = sorted(set(args.rows) - set(ROWS))
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {','.join(ROWS)}")
    return args


def plan(args: argparse.Namespace, tmp: Path) -> list[Row]:
    rows: list[Row] = []
    ex = workloads.examples(args.slowdown, args.target)
    for condition in ("quiet", "hogs", "bursty"):
        if condition in args.rows:
            rows.append(Row(condition, ex))
    if "cpu300" in args.rows:
        suite = workloads.cpu300(tmp)
        rows += [Row("quiet", suite), Row("bursty", suite)]
    if "torch" in args.rows:
        missing = workloads.torch_missing()
        if missing:
            print(
                f"torch row skipped: cannot import {', '.join(missing)} (pip install torch "
                "transformers)"
            )
        else:
            rows.append(Row("quiet", workloads.torch_stream(tmp)))
    return rows


def cell_sessions(args: argparse.Namespace, row: Row) -> tuple[int, int, int]:
    aa = args.aa_sessions_cpu300 if row.workload.name == "cpu300" else args.aa_sessions
    if aa is None:
        aa = args.sessions
    tenfold = args.sessions if args.sessions_10x is None else args.sessions_10x
    return aa, args.sessions, tenfold


def estimate(args: argparse.Namespace, rows: list[Row]) -> float:
    """Seconds for everything, from quiet sessions' times (busy rows take longer)."""
    total = 0.0
    for row in rows:
        w = row.workload
        counts = cell_sessions(args, row)
        total += args.baseline_saves * w.aa.seconds
        total += sum(
            n * v.seconds for n, v in zip(counts, (w.aa, w.slowed, w.tenfold), strict=True)
        )
    return total


def run_session(
    suite: Path, baseline_dir: Path, mode: list[str], env: Mapping[str, str], report: Path
) -> tuple[Session, float, str]:
    """One pytest session; its outcome, wall time and the lines worth showing of it."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(suite),
        "-q",
        "-p",
        "no:cacheprovider",
        f"--perf-baseline-dir={baseline_dir}",
        f"--perf-json={report}",
        *mode,
    ]
    report.unlink(missing_ok=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(env), check=False)
    seconds = time.perf_counter() - start
    session = classify(proc.returncode, read_report(report))
    lines = proc.stdout.strip().splitlines()
    shown = [ln.strip() for ln in lines if ln.startswith("  ") and "threshold" in ln]
    shown += [ln for ln in lines if "not failed:" in ln]
    if session.outcome == "other":
        shown = lines[-15:] + proc.stderr.strip().splitlines()[-5:]
    return session, seconds, "\n".join(shown)


@contextmanager
def neighbour(condition: str, load: int, env: Mapping[str, str]) -> Iterator[None]:
    """Run the condition's busy processes for the ``with`` block; always stop them."""
    if condition == "hogs":
        cmds = [[sys.executable, "-c", "while True: pass"]] * load
    elif condition == "bursty":
        cmds = [[sys.executable, "-c", BURSTY]]
    else:
        cmds = []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for cmd in cmds:  # a session of their own, so the whole group can be killed
            procs.append(
                subprocess.Popen(
                    cmd,
                    cwd=REPO,
                    env=dict(env),
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        if procs:
            print(f"  {condition}: {len(procs)} process(es) started alongside", flush=True)
        yield
    finally:
        for proc in procs:
            with suppress(ProcessLookupError):  # it may have ended on its own
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def save_baseline(
    args: argparse.Namespace, row: Row, baseline_dir: Path, env: Mapping[str, str], tmp: Path
) -> tuple[Mapping[str, float], ...]:
    """Save the row's baseline ``--baseline-saves`` times; each session's medians."""
    medians = []
    mode = ["--perf-baseline=save", *rounds(args)]
    for i in range(args.baseline_saves):
        session, seconds, shown = run_session(
            row.workload.path, baseline_dir, mode, {**env, **row.workload.aa.env}, tmp / "save.json"
        )
        if session.outcome != "passed":
            raise RuntimeError(f"saving the baseline failed ({session.outcome}):\n{shown}")
        print(f"  baseline save {i + 1}/{args.baseline_saves}: {seconds:.1f} s", flush=True)
        medians.append(session.medians)
    return tuple(medians)


def rounds(args: argparse.Namespace) -> list[str]:
    return [f"--perf-rounds={args.rounds}"] if args.rounds else []


def run_cell(
    args: argparse.Namespace, row: Row, variant: Variant, sessions: int, dirs: tuple[Path, Path]
) -> Cell:
    baseline_dir, tmp = dirs
    env = {**clean_env(), **variant.env}
    results = []
    start = time.perf_counter()
    name = f"{row.condition}/{row.workload.name} {variant.label}"
    for i in range(sessions):
        session, seconds, shown = run_session(
            row.workload.path,
            baseline_dir,
            ["--perf-compare", *rounds(args)],
            env,
            tmp / "compare.json",
        )
        results.append(session)
        tests = f": {', '.join(session.failed_tests)}" if session.failed_tests else ""
        excused = " (a regression excused: busy machine)" if session.excused else ""
        print(
            f"  {name}: session {i + 1}/{sessions}: {session.outcome}{tests}{excused}"
            f" ({seconds:.1f} s)",
            flush=True,
        )
        if shown and (session.outcome == "other" or variant.label == "A/A"):
            lines = shown.splitlines()
            more = [f"... and {len(lines) - 8} more"] if len(lines) > 8 else []
            print("    " + "\n    ".join(lines[:8] + more), flush=True)
    took = time.perf_counter() - start
    cell = Cell(tuple(results))
    verdicts = ", ".join(f"{n} {v}" for v, n in cell.verdicts().items())
    print(
        f"  {name}: {took:.0f} s, {took / max(sessions, 1):.1f} s/session; "
        f"test verdicts: {verdicts or 'none'}",
        flush=True,
    )
    return cell


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_OWN_ENV)}


def run_row(args: argparse.Namespace, row: Row, tmp: Path) -> RowResult:
    print(f"\n== {row.condition}: {row.workload.description}", flush=True)
    baseline_dir = tmp / f"baselines-{row.condition}-{row.workload.name}"
    baseline = save_baseline(args, row, baseline_dir, clean_env(), tmp)
    aa_n, slowed_n, tenfold_n = cell_sessions(args, row)
    w = row.workload
    with neighbour(row.condition, args.load, clean_env()):
        dirs = (baseline_dir, tmp)
        aa = run_cell(args, row, w.aa, aa_n, dirs)
        slowed = run_cell(args, row, w.slowed, slowed_n, dirs)
        tenfold = run_cell(args, row, w.tenfold, tenfold_n, dirs)
    return RowResult(row, aa, slowed, tenfold, baseline)


def _ratio(result: RowResult, cell: Cell) -> str:
    return describe_slowdowns(
        measured_slowdowns(result.baseline, cell, _measured_ids(result, cell))
    )


def _measured_ids(result: RowResult, cell: Cell) -> list[str] | None:
    names = result.row.workload.measured_tests
    if names is None:
        return None
    ids = {nodeid for s in cell.sessions for nodeid in s.medians}
    return [nodeid for nodeid in ids if nodeid.rsplit("::", 1)[-1] in names]


def _names(counts: Mapping[str, int], sessions: int, limit: int = 10) -> str:
    shown = [f"{name} {n}/{sessions}" for name, n in list(counts.items())[:limit]]
    return ", ".join(shown) + (", ..." if len(counts) > limit else "")


def _cell_notes(label: str, cell: Cell, slowed: Sequence[str] | None) -> list[str]:
    sessions = len(cell.sessions)
    failed = {t.rsplit("::", 1)[-1]: n for t, n in cell.failed_tests().items()}
    notes = []
    if slowed is not None and label != "A/A":
        caught = {name: failed.pop(name, 0) for name in slowed}
        rate = sum(caught.values()) / max(len(slowed) * sessions, 1)
        notes.append(f"{label}: slowed tests caught {rate:.0%} ({_names(caught, sessions)})")
    if failed or label == "A/A":
        others = f" ({_names(failed, sessions)})" if failed else ""
        which = (
            "unchanged tests failed" if slowed is not None and label != "A/A" else "failed tests"
        )
        notes.append(f"{label}: {sum(failed.values())} {which} in {sessions} sessions{others}")
    if cell.count("other"):
        notes.append(f"{label}: {cell.count('other')} sessions failed otherwise")
    return notes


def _notes(result: RowResult) -> str:
    """Which tests failed, the slowed ones' detection rate, and sessions failed otherwise."""
    slowed = result.row.workload.measured_tests
    notes = []
    for label, cell in (("A/A", result.aa), ("slowed", result.slowed), ("10x", result.tenfold)):
        notes += _cell_notes(label, cell, slowed)
    return "; ".join(notes)


def table(results: list[RowResult]) -> str:
    head = (
        "| condition | workloads | A/A sessions failed | slowdown caught | 10x caught | undecided "
        "(A/A, slowed, 10x) | measured slowdown (median, range over tests): A/A; slowed; 10x "
        "| notes |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in results:
        undecided = ", ".join(str(c.count("undecided")) for c in (r.aa, r.slowed, r.tenfold))
        lines.append(
            f"| {r.row.condition} | {r.row.workload.description} | {r.aa.summary()} "
            f"| {r.slowed.summary()} ({r.row.workload.slowed.label}) "
            f"| {r.tenfold.summary()} ({r.row.workload.tenfold.label}) | {undecided} "
            f"| {_ratio(r, r.aa)}; {_ratio(r, r.slowed)}; {_ratio(r, r.tenfold)} | {_notes(r)} |"
        )
    return head + "\n".join(lines) + "\n"


def _terminate(signum: int, frame: object) -> None:
    # A kill (SIGTERM) ends the run like Ctrl-C, so that the finally blocks stop the busy
    # processes and the looping neighbour session instead of leaving them running.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args(argv)
    print("$ " + shlex.join([sys.executable, *sys.argv]), flush=True)
    with tempfile.TemporaryDirectory(prefix="gate-calibration-") as tmp_name:
        tmp = Path(tmp_name)
        rows = plan(args, tmp)
        print(
            f"{len(rows)} rows; expected duration about {estimate(args, rows) / 60:.0f} min "
            "(quiet figures: busy rows and confirming re-runs take longer)",
            flush=True,
        )
        results: list[RowResult] = []
        start = time.perf_counter()
        for row in rows:
            try:
                results.append(run_row(args, row, tmp))
            except RuntimeError as exc:
                print(f"  row skipped: {exc}", flush=True)
            print(f"  ({(time.perf_counter() - start) / 60:.1f} min so far)", flush=True)
    markdown = table(results)
    print("\n" + markdown)
    if args.markdown:
        args.markdown.write_text(markdown, encoding="utf-8")
        print(f"written to {args.markdown}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the busy processes were stopped on the way out
        sys.exit("interrupted")
