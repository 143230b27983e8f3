from __future__ import annotations

import contextlib

# pytester's inline runs restore sys.modules afterwards, and numpy cannot be imported twice
# in one process: import what the gate loads lazily before any inline run does. The same goes,
# for speed, for the modules every inline run would import (and rewrite the asserts of) anew:
# the plugin's event log, and pytest-xdist's controller.
import numpy
import pytest
import scipy.special
import scipy.stats
from fakes import FakeClock

import pytest_perfbaseline.events

with contextlib.suppress(ImportError):
    import xdist.dsession


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _lean_inner_runs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs made with pytester: quick, and judged on their (simulated) timings alone.

    They skip the plugins of Hypothesis (~1 s per run) and anyio (~0.15 s in each interpreter
    a run starts, such as an xdist worker), both unused there. The machine check before a
    confirmation re-measure is off (--perf-settle=0): the inner suites run on
    simulated time, so this machine's load must neither delay nor excuse anything there.
    test_machine_plugin.py turns it on, with a scripted probe, to test it.
    """
    if "pytester" in request.fixturenames:
        # pytester clears PYTEST_ADDOPTS when it is set up, so it has to be set up first.
        request.getfixturevalue("pytester")
        monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:anyio --perf-settle=0")


# imported for their side effect on sys.modules (see above)
__all__ = ["numpy", "pytest_perfbaseline", "scipy", "xdist"]
