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
    """Runs made with pytester skip Hypothesis' plugin: it costs ~1 s per run, unused there."""
    if "pytester" in request.fixturenames:
        monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")


__all__ = ["numpy", "scipy"]  # imported for their side effect on sys.modules (see above)
