"""A whole ``pytest --perf-compare`` session against pytest-benchmark's ``--benchmark-compare``.

Run:  python benchmarks/compare_session.py [--tests 300 1000] [--repeats 5]

For each suite size it writes three projects into a temporary folder, each one file of N
trivial tests: ours (``def test_i(perf): perf(lambda: None)``, ``--perf-rounds=10
--perf-min-round-time=0``), pytest-benchmark's (``benchmark.pedantic(lambda: None,
rounds=10, warmup_rounds=1)``) and bare pytest (``def test_i(): pass``, the floor: what any
session of N tests costs). It saves a baseline with each tool (``--perf-baseline=save``,
``--benchmark-autosave``), then times whole compare sessions (``--perf-compare``,
``--benchmark-compare``), one fresh process each, interleaved (ours, peer, floor, ours, ...)
so that a neighbour's burst of load hits all of them alike. Every process runs with
``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` and only its own plugin (``-p``), ``-q``, with pytest's
cache on as in a user's session (so ours also records its run in the history, as it does by
default).

Printed per suite size: the median, min and max wall time of each session, its median CPU
time (user + system: less moved than wall time by a neighbour's load on a shared machine) and
max RSS, and the ratios of the medians, wall and CPU: ours / peer (the target is at most 1.5x)
and ours / floor. Then, from one untimed session of ours, whether numpy and scipy were imported
(scipy never should be), and how many rounds the gate added and tests it re-measured.

``--versus PATH`` also times our two sessions with the plugin imported from PATH (for example
a checkout of the main branch), interleaved with the rest, and prints this tree's / that
tree's ratios: a before -> after figure from one run. Both read the baseline this tree saved.

Three rows of ours are timed, and two of pytest-benchmark:

- ``ours (confirm off)``: ``--perf-confirm=off``, each test compared once on its 10 rounds --
  the like-for-like comparison with pytest-benchmark, which also takes its fixed rounds and
  compares once; ours also records the run in its history, as every session does by default,
  so it is also shown beside ``pytest-benchmark (autosave)``, which saves each run too (one
  JSON file a run: its history);
- ``ours (confirm, history off)``: the same with ``--perf-history=off``, the least a compare
  session of ours does, beside plain ``--benchmark-compare``;
- ``ours (default)``: the gate as it works by design. Trivial tests (sub-microsecond rounds)
  are noisy relative to a 10% threshold, so many comparisons are inconclusive on 10 rounds,
  and the gate measures more rounds (within ``--perf-max-rounds``), and re-measures a
  suspected regression, with the machine check around it. pytest-benchmark has no such step:
  it never says "I cannot tell", it compares two point estimates. The extra work buys
  verdicts pytest-benchmark cannot give, so its time is shown apart, not hidden in the
  like-for-like figure, and not left out either.

pytest-benchmark is optional: without it the peer's row says so and the ratios are to the
floor alone. The machine this runs on may be shared: medians of interleaved repeats, and
ratios, are the figures to read; re-run on a quiet machine for final numbers.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = ["--perf-rounds=10", "--perf-min-round-time=0"]
"""Our flags in every session of ours (save and compare)."""


@dataclass
class Runs:
    """The timed sessions of one kind: wall and CPU seconds and max RSS (MiB) per run."""

    label: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)

    def line(self) -> str:
        if not self.wall:
            return f"{self.label:<28} not measured"
        return (
            f"{self.label:<28} median {statistics.median(self.wall):6.3f} s "
            f"(min {min(self.wall):.3f}, max {max(self.wall):.3f}), "
            f"CPU {statistics.median(self.cpu):6.3f} s, "
            f"max RSS {statistics.median(self.rss):5.1f} MiB"
        )


def write_suites(root: Path, n: int) -> dict[str, Path]:
    """The three projects of ``n`` tests each: ours, the peer's, and bare pytest's."""
    bodies = {
        "ours": ("def test_{i}(perf):\n    perf(lambda: None)\n"),
        "peer": (
            "def test_{i}(benchmark):\n"
            "    benchmark.pedantic(lambda: None, rounds=10, warmup_rounds=1)\n"
        ),
        "floor": "def test_{i}():\n    pass\n",
    }
    projects = {}
    for name, body in bodies.items():
        folder = root / f"{name}_{n}"
        folder.mkdir(parents=True)
        (folder / "pytest.ini").write_text("[pytest]\n")  # the rootdir: no outer config
        (folder / "test_suite.py").write_text("\n\n".join(body.format(i=i) for i in range(n)))
        projects[name] = folder
    return projects


def pytest_command(plugin: str | None, *args: str) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-q"]
    if plugin is not None:
        command += ["-p", plugin]
    return command + list(args)


def environment(tree: str | None = None) -> dict[str, str]:
    """The sessions' environment; ``tree``: import the plugin from there (PYTHONPATH)."""
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop("PYTEST_ADDOPTS", None)
    if tree is not None:
        env["PYTHONPATH"] = tree
    return env


@dataclass(frozen=True)
class Session:
    """A timed command: where it runs, and the plugin's tree (None: as this script imports it)."""

    command: list[str]
    project: str
    tree: str | None = None


def run(session: Session, projects: dict[str, Path]) -> tuple[float, float, float, int]:
    """One whole process: wall seconds, CPU seconds, max RSS in MiB, exit status."""
    started = time.perf_counter()
    process = subprocess.Popen(
        session.command,
        cwd=projects[session.project],
        env=environment(session.tree),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, process.returncode


def check(command: list[str], cwd: Path) -> None:
    done = subprocess.run(
        command, check=False, cwd=cwd, env=environment(), capture_output=True, text=True
    )
    if done.returncode not in (0, 1):  # 1: a test failed (noise can fail a trivial test)
        sys.exit(f"{' '.join(command)} in {cwd} failed:\n{done.stdout}\n{done.stderr}")


OFF, DEFAULT = "ours (confirm off)", "ours (default)"
BARE = "ours (confirm, history off)"
"""Each test compared once, no run recorded: the least our compare session does."""
PEER_SAVING = "pytest-benchmark (autosave)"
"""pytest-benchmark also saving each run (its history: one JSON file a run), as ours records
each run in its history by default."""


def sessions(has_peer: bool, versus: str | None) -> dict[str, Session]:
    """The timed sessions, by row label."""
    ours = "pytest_perfbaseline.plugin"
    off = pytest_command(ours, *FLAGS, "--perf-compare", "--perf-confirm=off")
    default = pytest_command(ours, *FLAGS, "--perf-compare")
    quiet = pytest_command(
        ours, *FLAGS, "--perf-compare", "--perf-confirm=off", "--perf-history=off"
    )
    timed = {
        OFF: Session(off, "ours"),
        DEFAULT: Session(default, "ours"),
        BARE: Session(quiet, "ours"),
    }
    if versus is not None:
        timed[f"{OFF}, other"] = Session(off, "ours", versus)
        timed[f"{DEFAULT}, other"] = Session(default, "ours", versus)
    timed["floor (bare pytest)"] = Session(pytest_command(None), "floor")
    if has_peer:
        peer = pytest_command("pytest_benchmark.plugin", "--benchmark-compare")
        timed["pytest-benchmark"] = Session(peer, "peer")
        saving = pytest_command(
            "pytest_benchmark.plugin", "--benchmark-compare", "--benchmark-autosave"
        )
        timed[PEER_SAVING] = Session(saving, "peer")
    return timed


def save_baselines(projects: dict[str, Path], has_peer: bool) -> None:
    check(
        pytest_command("pytest_perfbaseline.plugin", *FLAGS, "--perf-baseline=save"),
        projects["ours"],
    )
    if has_peer:
        check(pytest_command("pytest_benchmark.plugin", "--benchmark-autosave"), projects["peer"])


IMPORTS_PROBE = """
import sys, pytest
pytest.main(sys.argv[1:])
print(json.dumps({"numpy": "numpy" in sys.modules, "scipy": "scipy" in sys.modules}))
""".replace("import sys", "import json, sys")


def what_ours_did(project: Path) -> str:
    """One untimed default session of ours: its heavy imports and what the gate added."""
    report = project / "report.json"
    command = [sys.executable, "-c", IMPORTS_PROBE, "-q"]
    command += ["-p", "pytest_perfbaseline.plugin", *FLAGS, "--perf-compare"]
    command += [f"--perf-json={report}"]
    done = subprocess.run(
        command, check=False, cwd=project, env=environment(), capture_output=True, text=True
    )
    imports = json.loads(done.stdout.strip().splitlines()[-1])
    tests = json.loads(report.read_text())["tests"]
    rechecks = [t["comparison"]["recheck"] for t in tests if t["comparison"]["recheck"]]
    extra = sum(r["extra_rounds"] for r in rechecks)
    remeasured = sum(r["attempts"] for r in rechecks)
    counts = json.loads(report.read_text())["counts"]
    verdicts = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    report.unlink()
    return (
        f"our default session imported numpy: {imports['numpy']}, scipy: {imports['scipy']}\n"
        f"the gate by design: {extra} rounds added to {len(tests)} tests' first 10, "
        f"{remeasured} re-measures; verdicts: {verdicts}"
    )


def ratio(a: Runs, b: Runs) -> str:
    """Wall and CPU time of ``a`` over ``b``, medians."""
    if not a.wall or not b.wall:
        return "-"
    wall = statistics.median(a.wall) / statistics.median(b.wall)
    cpu = statistics.median(a.cpu) / statistics.median(b.cpu)
    return f"{wall:.2f}x (CPU {cpu:.2f}x)"


def measure(n: int, repeats: int, root: Path, has_peer: bool, versus: str | None) -> None:
    projects = write_suites(root, n)
    save_baselines(projects, has_peer)
    timed = sessions(has_peer, versus)
    runs = {label: Runs(label) for label in timed}
    for session in timed.values():  # warm the file cache; not counted
        run(session, projects)
    for _ in range(repeats):
        for label, session in timed.items():
            wall, cpu, rss, status = run(session, projects)
            if status not in (0, 1):
                sys.exit(f"{label} session exited with {status}")
            runs[label].wall.append(wall)
            runs[label].cpu.append(cpu)
            runs[label].rss.append(rss)
    print(f"\n{n} trivial tests x 10 rounds, {repeats} interleaved repeats")
    peer = runs.get("pytest-benchmark", Runs("pytest-benchmark"))
    if not has_peer:
        print(f"{peer.label:<24} not installed: no peer figure (pip install pytest-benchmark)")
    floor = runs["floor (bare pytest)"]
    for row in runs.values():
        print(row.line())
    for label, row in runs.items():
        if label.startswith("ours"):
            print(f"{label:<28} / pytest-benchmark {ratio(row, peer):>20}", end="")
            if PEER_SAVING in runs:
                print(f"   / (autosave) {ratio(row, runs[PEER_SAVING]):>20}", end="")
            print(f"   / floor {ratio(row, floor):>20}")
    if versus is not None:
        for label in (OFF, DEFAULT):
            print(f"{label:<24} / other tree       {ratio(runs[label], runs[label + ', other'])}")
    print(f"{'pytest-benchmark':<24} / floor {ratio(peer, floor):>20}")
    print(what_ours_did(projects["ours"]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--versus",
        metavar="PATH",
        help="also time our sessions with the plugin imported from PATH (another checkout, "
        "e.g. the main branch's), interleaved: before and after in the same run",
    )
    args = parser.parse_args()
    has_peer = importlib.util.find_spec("pytest_benchmark") is not None
    import pytest_perfbaseline

    print(f"pytest_perfbaseline from {Path(pytest_perfbaseline.__file__).parent}")
    with tempfile.TemporaryDirectory(prefix="compare-session-") as tmp:
        for n in args.tests:
            measure(n, args.repeats, Path(tmp), has_peer, args.versus)


if __name__ == "__main__":
    main()
