"""Test doubles: a fake clock and scripted streams that advance it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

import pytest

from pytest_perfbaseline.baseline.environment import Environment
from pytest_perfbaseline.metrics.names import MetricInfo
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.reports.run import RunReport, TestEntry

INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
"""The ini file of inner (pytester) suites: pytest-asyncio warns, as an error, without it."""

TIME = MetricInfo("s", False, "time")
RATE = MetricInfo("tok/s", True, "rate")
TOKENS = MetricInfo("tokens", False, "count")
CALLS = MetricInfo("calls", False, "count")
COST = MetricInfo("USD", False, "cost")

COMMIT = "0123456789abcdef0123456789abcdef01234567"
ENV = Environment(
    saved_at="2026-11-21T20:40:00Z",
    plugin="0.1.0",
    python="3.11.7",
    implementation="CPython",
    platform="Linux-6.1.0-x86_64-with-glibc2.36",
    system="linux",
    arch="x86_64",
    cpu="Example CPU @ 2.60GHz",
    cores=2,
    git_commit=COMMIT,
    git_dirty=False,
)
"""Where a baseline in the tests was measured: fixed, so stored bytes and printed lines are."""


class FakeClock:
    """A clock in integer nanoseconds that moves only when told to."""

    def __init__(self, start_ns: int = 1_000_000_000) -> None:
        self.now = start_ns

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += round(seconds * 1e9)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.advance(seconds)


def scripted(clock: FakeClock, events: Iterable[tuple[float, Any]]) -> Iterator[Any]:
    """Yield each chunk after advancing the clock by its delay (seconds)."""
    for delay, chunk in events:
        clock.advance(delay)
        yield chunk


async def ascripted(clock: FakeClock, events: Iterable[tuple[float, Any]]) -> AsyncIterator[Any]:
    for delay, chunk in events:
        clock.advance(delay)
        yield chunk


def no_cost(usage: Any) -> float | None:
    """A price table that knows every model and charges one dollar per call."""
    return 1.0


def simulated_suite(jitter: float) -> str:
    """The opening of an inner test file (for pytester) whose tests run on simulated time.

    It defines ``clock`` (a fake clock), the ``perf_clock`` fixture that hands it to the
    plugin, and ``llm``, a simulated model whose sleeps advance that clock, with fresh jitter
    every run like a real service. The environment slows it (``PERF_TEST_SLOWDOWN``, a factor
    on the time to first token) or lengthens answers (``PERF_TEST_EXTRA_TOKENS``), so that a
    second run of the same suite can regress.
    """
    return f"""
import os
import pytest
from pytest_perfbaseline import SimulatedModel


class Clock:
    now = 0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += round(seconds * 1e9)


clock = Clock()
SLOW = float(os.environ.get("PERF_TEST_SLOWDOWN", "1"))
EXTRA_TOKENS = int(os.environ.get("PERF_TEST_EXTRA_TOKENS", "0"))
llm = SimulatedModel(
    ttft_s=0.040 * SLOW, itl_s=0.005, jitter={jitter}, jitter_seed=None, sleep=clock.sleep
)


@pytest.fixture
def perf_clock():
    return clock
"""


ONE_TEST_SUITE = (
    simulated_suite(jitter=0.03)
    + """


@pytest.mark.perf(rounds=8, warmup=0)
def test_answer(perf):
    perf(lambda: list(perf.stream(llm.stream, "hi", max_tokens=10, format="openai")))
"""
)
"""An inner test file with one perf test, ``test_answer``, on simulated time (8 rounds)."""


def simulated_project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, **files: str
) -> pytest.Pytester:
    """An inner project for suites made with :func:`simulated_suite`: the variables that slow
    them cleared (a test sets them itself), the ini file written and ``files`` (module name ->
    source) created."""
    monkeypatch.delenv("PERF_TEST_SLOWDOWN", raising=False)
    monkeypatch.delenv("PERF_TEST_EXTRA_TOKENS", raising=False)
    pytester.makeini(INI)
    pytester.makepyfile(**files)
    return pytester


def plain_report(
    results: Sequence[TestResult], *, profile: str, env: Environment | None = None
) -> RunReport:
    """The run report of a plain session (no compare, no save) in which ``results`` passed."""
    env = env or ENV
    return RunReport(
        created_at=env.saved_at,
        environment=env,
        profile=profile,
        compare=False,
        save=False,
        alpha=0.01,
        confirm=True,
        fail_on_regression=True,
        perf_tests=len(results),
        tests=tuple(TestEntry(r.nodeid, "passed", r) for r in results),
    )


CLOCK_SUITE = """
import pytest


class Clock:
    now = 0

    def __call__(self):
        return self.now


clock = Clock()


@pytest.fixture
def perf_clock():
    return clock
"""
"""The opening of an inner test file whose perf tests run on a fake clock (``clock.now`` in ns)
that the test body advances itself."""
