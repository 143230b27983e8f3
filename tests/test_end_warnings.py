"""Trouble after the tests ran -- the history not recorded, the MLflow run not logged -- is one
``perfbaseline: warning:`` line each at the end of the summary, in the order it happened, and
never fails the run."""

from __future__ import annotations

import socket

import pytest
from fakes import ONE_TEST_SUITE, simulated_project

pytest.importorskip("mlflow")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return simulated_project(pytester, monkeypatch, test_slow=ONE_TEST_SUITE)


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # nobody listens once it is closed


def test_each_trouble_is_one_line_of_its_own(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--perf-history=mysql://x/y", f"--perf-mlflow={refused_url()}", "-W", "error"
    )
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    warnings = [line for line in result.outlines if line.startswith("perfbaseline: warning: ")]
    assert len(warnings) == 2
    assert "run not recorded in the history" in warnings[0]
    assert "run not logged to MLflow" in warnings[1]
    # after the summary's own lines, not in the middle of the progress dots
    assert result.outlines.index(warnings[0]) > result.outlines.index(
        next(line for line in result.outlines if "perfbaseline" in line and "=" in line)
    )


def test_none_without_trouble(project: pytest.Pytester) -> None:
    result = project.runpytest("--perf-history=off")
    result.assert_outcomes(passed=1)
    assert not [line for line in result.outlines if "perfbaseline: warning" in line]
