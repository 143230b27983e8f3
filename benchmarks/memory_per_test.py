"""Memory a session keeps per perf test, with the plugin on and with ``--perf-disable``.

Generates suites of perf tests that each stream a few hundred chunks from the simulated
model on a fake clock, runs each suite in a fresh interpreter under ``tracemalloc``, and
reads the memory still allocated when the session ends (after a garbage collection, before
pytest lets go of its items). The figure is the slope between a small and a large suite:
bytes retained per test, with the fixed cost of starting pytest taken out.

    python benchmarks/memory_per_test.py [--tests 200] [--chunks 300]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

CONFTEST = textwrap.dedent(
    """
    import gc, json, os, tracemalloc
    import pytest

    tracemalloc.start()


    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(session):
        gc.collect()
        current, _ = tracemalloc.get_traced_memory()
        with open(os.environ["MEMORY_OUT"], "w") as out:
            json.dump({"bytes": current, "tests": len(session.items)}, out)
    """
)

TEST_FILE = textwrap.dedent(
    """
    import pytest
    from pytest_perfbaseline import SimulatedModel


    class Clock:
        now = 0

        def __call__(self):
            return self.now

        def sleep(self, seconds):
            self.now += round(seconds * 1e9)


    clock = Clock()
    llm = SimulatedModel(ttft_s=0.04, itl_s=0.005, jitter=0.0, sleep=clock.sleep)


    @pytest.fixture
    def perf_clock():
        return clock


    @pytest.mark.parametrize("i", range({tests}))
    @pytest.mark.perf(rounds=3, warmup=0)
    def test_stream(perf, i):
        perf(lambda: list(perf.stream(llm.stream, "hi", max_tokens={chunks}, format="openai")))
    """
)


def retained(folder: Path, tests: int, chunks: int, *flags: str) -> int:
    """Bytes still allocated at the end of a session of ``tests`` perf tests."""
    (folder / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_memory.py").write_text(TEST_FILE.format(tests=tests, chunks=chunks))
    out = folder / "memory.json"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *flags],
        cwd=folder,
        env={**_environ(), "MEMORY_OUT": str(out)},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    data = json.loads(out.read_text())
    assert data["tests"] == tests
    return int(data["bytes"])


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}


def per_test(tests: int, chunks: int, *flags: str) -> float:
    """Bytes retained per test: the slope between a suite of ``tests`` and one of a quarter."""
    small = max(1, tests // 4)
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        low = retained(Path(a), small, chunks, *flags)
        high = retained(Path(b), tests, chunks, *flags)
    return (high - low) / (tests - small)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=300)
    args = parser.parse_args()
    print(f"{args.tests} perf tests, {args.chunks} chunks a stream, 3 rounds each")
    print(f"{'plugin':<10} {'retained per test':>18}")
    for label, flags in [("on", ()), ("disabled", ("--perf-disable",))]:
        figure = per_test(args.tests, args.chunks, *flags)
        print(f"{label:<10} {figure / 1024:>15.1f} KB")


if __name__ == "__main__":
    main()
