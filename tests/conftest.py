from __future__ import annotations

# pytester's inline runs restore sys.modules afterwards, and numpy cannot be imported twice
# in one process: import what the gate loads lazily before any inline run does.
import numpy
import pytest
import scipy.special
import scipy.stats
from fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _lean_inner_runs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs made with pytester: quick, and judged on their (simulated) timings alone.

    They skip Hypothesis' plugin (it costs ~1 s per run, unused there), and the machine check
    before a confirmation re-measure is off (--perf-settle=0): the inner suites run on
    simulated time, so this machine's load must neither delay nor excuse anything there.
    test_machine_plugin.py turns it on, with a scripted probe, to test it.
    """
    if "pytester" in request.fixturenames:
        # pytester clears PYTEST_ADDOPTS when it is set up, so it has to be set up first.
        request.getfixturevalue("pytester")
        monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest --perf-settle=0")


__all__ = ["numpy", "scipy"]  # imported for their side effect on sys.modules (see above)
