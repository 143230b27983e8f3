from __future__ import annotations

# pytester's inline runs restore sys.modules afterwards, and numpy cannot be imported twice
# in one process: import what the gate loads lazily before any inline run does.
import numpy
import pytest
import scipy.special
import scipy.stats
from fakes import FakeClock

from pytest_perfbaseline import machine


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _lean_inner_runs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs made with pytester: quick, and judged on their (simulated) timings alone.

    They skip Hypothesis' plugin (it costs ~1 s per run, unused there), and the machine check
    before a confirmation re-measure sees a machine of constant speed: the inner suites run on
    simulated time, so this machine's load must not excuse or delay anything (in-process
    runs share the module; subprocess runs get --perf-settle=0). test_machine_plugin.py
    tests the machine check itself.
    """
    if "pytester" in request.fixturenames:
        monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest --perf-settle=0")
        monkeypatch.setattr(machine, "probe", lambda: 0.004)


__all__ = ["numpy", "scipy"]  # imported for their side effect on sys.modules (see above)
