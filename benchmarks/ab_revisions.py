"""How well ``perfbaseline ab REF`` tells two git revisions apart on a real clock.

Run:  python benchmarks/ab_revisions.py [--runs 10] [--pairs 5] [--rounds 5] [--slowdown 0.3]

It makes a temporary git repository whose one perf test runs a real-clock workload (a
20 ms round: sleeps standing in for a model's streamed tokens, and a pure-Python loop for
the client's own work), commits it, then commits it again ``--slowdown`` slower (sleeps and
loop alike), and a third time unchanged (a docs-only commit). Then, ``--runs`` times each:

- A/B: ``perfbaseline ab HEAD~2`` with the slower code checked out: caught (exit 1)?
- A/A: ``perfbaseline ab HEAD~1`` from the unchanged commit ... passed (exit 0)?

gating ``round_s`` alone, the default threshold (10%) and alpha (0.01). Prints how many runs
of each went which way and the seconds per run, and a line per job as it ends (a partial
run still tells something). Every run is a full job: worktree, sessions
in their own processes, cleanup. Figures from a busy machine are figures from a busy
machine: say so when you quote them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKLOAD = """\
import time

SCALE = {scale}


def work():
    for _ in range(8):
        time.sleep(0.0015 * SCALE)
    total = 0
    for i in range(int(20000 * SCALE)):
        total += i * i
    return total


def test_workload(perf):
    perf(work)
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def make_repo(folder: Path, slowdown: float) -> Path:
    """A repository with three commits: the workload, it slower, a docs-only change.

    The checkout is left at the third: ``ab HEAD~2`` measures the slowdown, ``ab HEAD~1``
    measures nothing."""
    repo = folder / "repo"
    (repo / "tests").mkdir(parents=True)
    _git(repo, "init", "-q")
    test = repo / "tests" / "test_workload.py"
    test.write_text(WORKLOAD.format(scale=1.0))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "workload")
    test.write_text(WORKLOAD.format(scale=1.0 + slowdown))
    _git(repo, "commit", "-q", "-am", f"{slowdown:.0%} slower")
    (repo / "README.md").write_text("docs\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "docs only")
    return repo


def one_run(repo: Path, ref: str, args: argparse.Namespace) -> tuple[int, float]:
    """``perfbaseline ab REF``'s exit status and seconds."""
    command = [
        sys.executable,
        "-m",
        "pytest_perfbaseline",
        "ab",
        ref,
        "--pairs",
        str(args.pairs),
        "--rounds",
        str(args.rounds),
        "--gate",
        "round_s",
        "--",
        "-p",
        "no:cacheprovider",
    ]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"ab {ref} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.returncode, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--slowdown", type=float, default=0.3)
    args = parser.parse_args()
    env = {
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    os.environ.update(env)
    with tempfile.TemporaryDirectory(prefix="ab-bench-") as folder:
        repo = make_repo(Path(folder), args.slowdown)
        caught, passed, times = 0, 0, []
        for run in range(args.runs):
            # A/B and A/A interleaved, so a busy spell of the machine hits both alike
            status, seconds = one_run(repo, "HEAD~2", args)
            caught += status == 1
            times.append(seconds)
            verdict = "caught" if status == 1 else "missed"
            print(
                f"run {run + 1}/{args.runs}: A/B +{args.slowdown:.0%} {verdict} "
                f"(exit {status}, {seconds:.1f} s)",
                flush=True,
            )
            status, seconds = one_run(repo, "HEAD~1", args)
            passed += status == 0
            times.append(seconds)
            verdict = "passed" if status == 0 else "FAILED (false alarm)"
            print(
                f"run {run + 1}/{args.runs}: A/A unchanged {verdict} "
                f"(exit {status}, {seconds:.1f} s); so far caught {caught}, passed {passed}",
                flush=True,
            )
    print(
        f"\n{args.pairs} pairs x {args.rounds} rounds, round_s gated at 10%, alpha 0.01:\n"
        f"  A/B +{args.slowdown:.0%}: caught in {caught} of {args.runs} runs\n"
        f"  A/A unchanged: passed in {passed} of {args.runs} runs\n"
        f"  time per run: median {statistics.median(times):.1f} s "
        f"(min {min(times):.1f}, max {max(times):.1f})"
    )


if __name__ == "__main__":
    main()
