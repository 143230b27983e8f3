"""What a session's end costs: everything after the last test of 1,000 trivial tests.

Run:  python benchmarks/session_end.py [--tests 1000] [--repeats 5] [--versus PATH] [--no-json]

Writes a project of N trivial tests (``def test_i(perf): perf(lambda: None)``), saves a
baseline, then runs compare sessions (``--perf-rounds=10 --perf-min-round-time=0
--perf-compare --perf-confirm=off --perf-json=...``; ``--no-json``: without the file),
pytest's cache on, so the run history is
recorded as by default), one fresh process each. Inside each process a timing plugin wraps
every ``pytest_sessionfinish`` (our reporter's: the JSON report, the run history) and every
``pytest_terminal_summary`` (ours: the summary section, which pytest's terminal reporter
writes within its own ``pytest_sessionfinish``, so it is part of the end's time), and reads
the session's whole time from its start; CPU time (``time.process_time``) and wall time.

``--versus PATH`` runs the same sessions with the plugin imported from PATH (for example a
checkout of the main branch), interleaved with this tree's, and prints this tree's / that
tree's ratios of the medians: before -> after from one run on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ["--perf-rounds=10", "--perf-min-round-time=0"]

PROBE = """
import json, sys, time
import pytest

class Timer:
    def __init__(self):
        self.t = {}
        self.start = (time.perf_counter(), time.process_time())

    def _span(self, name):
        begin = (time.perf_counter(), time.process_time())
        def done():
            end = (time.perf_counter(), time.process_time())
            self.t[name] = (end[0] - begin[0], end[1] - begin[1])
        return done

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_sessionfinish(self):
        done = self._span("sessionfinish")
        yield
        done()

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_terminal_summary(self):
        done = self._span("terminal_summary")
        yield
        done()

    def pytest_unconfigure(self):
        end = (time.perf_counter(), time.process_time())
        self.t["session"] = (end[0] - self.start[0], end[1] - self.start[1])

timer = Timer()
status = pytest.main(sys.argv[2:], plugins=[timer])
with open(sys.argv[1], "w") as out:
    json.dump(timer.t, out)
"""


def environment(tree: str | None) -> dict[str, str]:
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop("PYTEST_ADDOPTS", None)
    if tree is not None:
        env["PYTHONPATH"] = tree
    return env


def session(project: Path, tree: str | None, *args: str) -> dict[str, tuple[float, float]]:
    """One process: {span: (wall s, CPU s)}."""
    out = project / "timings.json"
    command = [sys.executable, "-c", PROBE, str(out), "-q", "-p", "pytest_perfbaseline.plugin"]
    done = subprocess.run(
        [*command, *FLAGS, *args],
        check=False,
        cwd=project,
        env=environment(tree),
        capture_output=True,
    )
    if done.returncode not in (0, 1):
        sys.exit(f"session exited with {done.returncode}:\n{done.stdout.decode()[-2000:]}")
    timings: dict[str, tuple[float, float]] = json.loads(out.read_text())
    return timings


def write_project(root: Path, n: int) -> Path:
    project = root / f"ours_{n}"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    body = "def test_{i}(perf):\n    perf(lambda: None)\n"
    (project / "test_suite.py").write_text("\n\n".join(body.format(i=i) for i in range(n)))
    return project


def line(label: str, samples: list[dict[str, tuple[float, float]]]) -> dict[str, float]:
    """Print one tree's medians; return the CPU medians per span."""
    spans = ("sessionfinish", "terminal_summary", "session")
    wall = {s: statistics.median(t[s][0] for t in samples) for s in spans}
    cpu = {s: statistics.median(t[s][1] for t in samples) for s in spans}
    # pytest's terminal reporter writes the summary within its own sessionfinish wrapper
    end = cpu["sessionfinish"]
    print(
        f"{label:<12} session end CPU {end * 1000:7.1f} ms (of which terminal summary "
        f"{cpu['terminal_summary'] * 1000:6.1f}) = {end / cpu['session']:5.1%} of the "
        f"session's CPU {cpu['session']:.2f} s; wall: end "
        f"{wall['sessionfinish'] * 1000:.1f} ms of {wall['session']:.2f} s"
    )
    return {**cpu, "end": end}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--versus", metavar="PATH", help="another tree, timed interleaved")
    parser.add_argument("--no-json", action="store_true", help="no --perf-json file")
    args = parser.parse_args()
    trees: dict[str, str | None] = {"this tree": None}
    if args.versus:
        trees["other tree"] = args.versus
    with tempfile.TemporaryDirectory(prefix="session-end-") as tmp:
        project = write_project(Path(tmp), args.tests)
        session(project, None, "--perf-baseline=save", "--perf-history=off")
        compare = ["--perf-compare", "--perf-confirm=off"]
        if not args.no_json:
            compare.append(f"--perf-json={project / 'r.json'}")
        samples: dict[str, list[dict[str, tuple[float, float]]]] = {t: [] for t in trees}
        for tree in trees.values():  # warm-up, not counted
            session(project, tree, *compare)
        for _ in range(args.repeats):
            for label, tree in trees.items():
                samples[label].append(session(project, tree, *compare))
        what = "history" if args.no_json else "--perf-json + history"
        print(f"{args.tests} trivial tests, compare (confirm off) + {what}, ", end="")
        print(f"medians of {args.repeats} interleaved sessions")
        medians = {label: line(label, s) for label, s in samples.items()}
        if args.versus:
            this, other = medians["this tree"], medians["other tree"]
            print(
                f"this / other: session end CPU {this['end'] / other['end']:.2f}x, "
                f"terminal summary {this['terminal_summary'] / other['terminal_summary']:.2f}x, "
                f"whole session CPU {this['session'] / other['session']:.2f}x"
            )


if __name__ == "__main__":
    main()
