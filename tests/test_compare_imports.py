"""A ``--perf-compare`` session never imports scipy: not the controller, not an xdist worker.

scipy costs about a second and 100 MiB per process to import, and the gate's tests
(Mann-Whitney, Hodges-Lehmann) need only the normal distribution. Each run here is a fresh
interpreter (``runpytest_subprocess``), since this process has long imported scipy. The inner
suite runs on simulated time and is slowed between the save and the compare, so that the gate
really tests, finds a regression and confirms it by re-measuring.
"""

from __future__ import annotations

import json

import pytest
from fakes import INI, ONE_TEST_SUITE

# Written by every process of the inner run (controller and workers alike), at the end of the
# session and again at unconfigure, the last hook (after the terminal summary and report files).
RECORDER_CONFTEST = """
import json, os, sys
import pytest

seen = {}

def snapshot(stage):
    seen[stage] = sorted(m for m in sys.modules if m.split(".")[0] == "scipy")
    seen["stats_loaded"] = "pytest_perfbaseline.stats" in sys.modules

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    snapshot("sessionfinish")

def pytest_unconfigure(config):
    snapshot("unconfigure")
    # Not PYTEST_XDIST_WORKER: this run inherits it when the outer run is under xdist.
    workerinput = getattr(config, "workerinput", None)
    process = workerinput["workerid"] if workerinput else "controller"
    with open(os.path.join(os.environ["SCIPY_IMPORTS_DIR"], process + ".json"), "w") as f:
        json.dump(seen, f)
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("PERF_TEST_SLOWDOWN", raising=False)
    monkeypatch.delenv("PERF_TEST_EXTRA_TOKENS", raising=False)
    pytester.makeini(INI)
    pytester.makeconftest(RECORDER_CONFTEST)
    pytester.makepyfile(test_slow=ONE_TEST_SUITE)
    return pytester


def imports_by_process(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[pytest.RunResult, dict[str, dict[str, object]]]:
    """Run pytest in a fresh interpreter; what each of its processes had loaded at the end."""
    records = project.mkdir(f"imports-{len(list(project.path.glob('imports-*')))}")
    monkeypatch.setenv("SCIPY_IMPORTS_DIR", str(records))
    result = project.runpytest_subprocess(*args)
    seen = {path.stem: json.loads(path.read_text()) for path in sorted(records.glob("*.json"))}
    return result, seen


def check_compare_session_imports_no_scipy(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *xdist: str
) -> dict[str, dict[str, object]]:
    result, _ = imports_by_process(project, monkeypatch, *xdist, "--perf-baseline=save")
    result.assert_outcomes(passed=1)

    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    result, seen = imports_by_process(project, monkeypatch, *xdist, "--perf-compare")
    # The gate ran its rank test and interval, twice: measured, then re-measured to confirm.
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*performance regression in test_slow.py::test_answer*",
            "*ttft_s: * -> *, +*% [[]+*%, +*%[]] (median; lower is better); threshold 10%; "
            "p = * < alpha *",
            "*confirmed by re-measuring*",
        ]
    )
    assert any(record["stats_loaded"] for record in seen.values())  # the statistics ran here
    scipy_loaded = {
        (process, stage): record[stage]
        for process, record in seen.items()
        for stage in ("sessionfinish", "unconfigure")
    }
    assert {where: modules for where, modules in scipy_loaded.items() if modules} == {}
    return seen


def test_a_compare_session_imports_no_scipy(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = check_compare_session_imports_no_scipy(project, monkeypatch)
    assert list(seen) == ["controller"]


def test_a_compare_session_under_xdist_imports_no_scipy_in_any_process(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("xdist")
    seen = check_compare_session_imports_no_scipy(project, monkeypatch, "-n", "2")
    assert sorted(seen) == ["controller", "gw0", "gw1"]
