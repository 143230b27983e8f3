"""``--perf-mlflow``: a perf session logged as one MLflow run, in a local store and on a real
``mlflow server``, read back with ``MlflowClient``; an unreachable server is one warning line."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import ONE_TEST_SUITE, simulated_project, simulated_suite

from pytest_perfbaseline.integrations import mlflow_run
from pytest_perfbaseline.integrations.mlflow_names import mlflow_metric_name

mlflow = pytest.importorskip("mlflow", reason="mlflow is not installed (the test extra has it)")
# imported before any inline run: pytester restores sys.modules after each, and mlflow's
# store and its database layer would be imported anew in every run (their deprecation
# notices are mlflow's business)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from mlflow.entities import Run
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore  # noqa: F401
    from mlflow.tracking import MlflowClient

EXPERIMENT = "pytest-perfbaseline"
NODEID = "test_slow.py::test_answer"


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for variable in ("GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "CIRCLECI", "CI"):
        monkeypatch.delenv(variable, raising=False)
    for variable in [*mlflow_run._HTTP_BOUNDS, "MLFLOW_TRACKING_URI"]:
        monkeypatch.delenv(variable, raising=False)
    return simulated_project(pytester, monkeypatch, test_slow=ONE_TEST_SUITE)


def runs(uri: str, experiment: str = EXPERIMENT) -> list[Run]:
    """The experiment's runs, oldest first."""
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    return list(client.search_runs([found.experiment_id], order_by=["attributes.start_time ASC"]))


def summary(report: dict[str, Any], nodeid: str, metric: str) -> dict[str, float]:
    test = next(t for t in report["tests"] if t["nodeid"] == nodeid)
    result: dict[str, float] = test["metrics"][metric]["summary"]
    return result


def check_run(uri: str, run: Run, report: dict[str, Any], mode: str, tmp_path: Path) -> None:
    """The run holds the session's report: its statistics, settings, tags and files."""
    metrics = run.data.metrics
    for statistic in ("median", "p95", "mean"):
        name = mlflow_metric_name(NODEID, "ttft_s", statistic)
        assert metrics[name] == pytest.approx(summary(report, NODEID, "ttft_s")[statistic])
    measured = summary(report, NODEID, "round_s")["median"]
    assert metrics[mlflow_metric_name(NODEID, "round_s", "median")] == pytest.approx(measured)
    assert run.data.params["mode"] == mode
    assert run.data.params["rounds"] == "10"
    assert run.data.params["alpha"] == "0.01"
    assert run.data.params["profile"] == report["session"]["profile"]
    tags = run.data.tags
    assert tags["perfbaseline.plugin_version"] == report["environment"]["plugin"]
    assert tags["mlflow.runName"] == run.info.run_name
    assert run.info.run_name.startswith("perf ")
    assert run.info.status == "FINISHED"
    client = MlflowClient(tracking_uri=uri)
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert names == {"perfbaseline-report.json", "perfbaseline-metric-names.json"}
    folder = tmp_path / run.info.run_id
    folder.mkdir()
    logged = client.download_artifacts(run.info.run_id, "perfbaseline-report.json", str(folder))
    assert json.loads(Path(logged).read_text()) == report
    mapping = client.download_artifacts(
        run.info.run_id, "perfbaseline-metric-names.json", str(folder)
    )
    assert json.loads(Path(mapping).read_text())[mlflow_metric_name(NODEID, "ttft_s", "p95")] == {
        "nodeid": NODEID,
        "metric": "ttft_s",
        "statistic": "p95",
    }


def test_save_and_compare_sessions_are_logged_to_a_local_store(
    project: pytest.Pytester, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    flag = f"--perf-mlflow={uri}"
    project.runpytest("--perf-baseline=save", flag, "--perf-json=save.json").assert_outcomes(
        passed=1
    )
    result = project.runpytest("--perf-compare", flag, "--perf-json=compare.json")
    result.assert_outcomes(passed=1)
    assert "MLflow" not in result.stdout.str()  # logged without a word
    save, compare = runs(uri)
    check_run(uri, save, json.loads((project.path / "save.json").read_text()), "save", tmp_path)
    report = json.loads((project.path / "compare.json").read_text())
    check_run(uri, compare, report, "compare", tmp_path)
    assert compare.data.tags["perfbaseline.verdict.unchanged"] == "1"
    assert compare.data.tags["perfbaseline.verdict.regressed"] == "0"
    assert "perfbaseline.verdict.unchanged" not in save.data.tags
    assert compare.data.tags.get("mlflow.source.git.commit") == (
        report["environment"]["git_commit"] or None
    )


def test_without_perf_json_the_report_is_logged_all_the_same(
    project: pytest.Pytester, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    project.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        f"perf_mlflow = {uri}\nperf_mlflow_experiment = nightly\n"
    )
    project.runpytest().assert_outcomes(passed=1)
    (run,) = runs(uri, "nightly")
    client = MlflowClient(tracking_uri=uri)
    logged = client.download_artifacts(run.info.run_id, "perfbaseline-report.json", str(tmp_path))
    report = json.loads(Path(logged).read_text())
    assert [t["nodeid"] for t in report["tests"]] == [NODEID]
    assert run.data.params["mode"] == "plain"


def test_a_failed_session_is_a_failed_run(
    project: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    project.runpytest("--perf-compare", f"--perf-mlflow={uri}").assert_outcomes(failed=1)
    (run,) = runs(uri)
    assert run.info.status == "FAILED"
    assert run.data.tags["perfbaseline.verdict.regressed"] == "1"


def test_xdist_logs_one_run_from_the_controller(project: pytest.Pytester, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    project.makepyfile(test_other=ONE_TEST_SUITE)
    project.runpytest("-n", "2", f"--perf-mlflow={uri}").assert_outcomes(passed=2)
    (run,) = runs(uri)
    for nodeid in (NODEID, "test_other.py::test_answer"):
        assert mlflow_metric_name(nodeid, "ttft_s", "median") in run.data.metrics


def test_more_metrics_than_one_request_takes_go_in_several(
    project: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_slow=simulated_suite(jitter=0.03)
        + """

@pytest.mark.perf(rounds=3, warmup=0)
@pytest.mark.parametrize("n", range(40))
def test_many(perf, n):
    perf(lambda: list(perf.stream(llm.stream, "hi", max_tokens=5, format="openai")))
"""
    )
    requests: list[int] = []
    real = MlflowClient.log_batch

    def counted(self: MlflowClient, run_id: str, metrics: Any = (), **kwargs: Any) -> Any:
        requests.append(len(metrics))
        return real(self, run_id, metrics=metrics, **kwargs)

    monkeypatch.setattr(MlflowClient, "log_batch", counted)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    project.runpytest(f"--perf-mlflow={uri}", "--perf-json=run.json").assert_outcomes(passed=40)
    report = json.loads((project.path / "run.json").read_text())
    expected = 3 * sum(
        1 for t in report["tests"] for m in t["metrics"].values() if m["summary"] is not None
    )
    assert expected > 1000
    metric_requests = [n for n in requests if n]
    assert len(metric_requests) == -(-expected // 1000)
    assert max(metric_requests) <= 1000
    (run,) = runs(uri)
    assert len(run.data.metrics) == expected


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_a_refused_connection_is_one_warning_and_the_run_passes(
    project: pytest.Pytester,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    result = project.runpytest(f"--perf-mlflow={url}", "-W", "error")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    lines = [line for line in result.outlines if "MLflow" in line]
    assert lines == [
        f"perfbaseline: warning: run not logged to MLflow ({url}): cannot connect to "
        + lines[0].split("cannot connect to ", 1)[1]
    ]
    assert "Connection refused" in lines[0] or "refused" in lines[0].lower()
    assert "Traceback" not in result.stdout.str()
    # the bounds on mlflow's retries were for the call only
    assert not any(name in os.environ for name in mlflow_run._HTTP_BOUNDS)


def test_a_store_that_fails_is_one_warning(project: pytest.Pytester, tmp_path: Path) -> None:
    folder = tmp_path / "not-a-folder"
    folder.write_text("")  # a file where the database's folder should be
    result = project.runpytest(f"--perf-mlflow=sqlite:///{folder}/mlflow.db")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    lines = [line for line in result.outlines if "MLflow" in line]
    assert len(lines) == 1
    assert lines[0].startswith("perfbaseline: warning: run not logged to MLflow (sqlite:///")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--perf-mlflow="], "--perf-mlflow is empty: give 'on' (MLFLOW_TRACKING_URI"),
        (["--perf-mlflow=localhost:5000"], "(for a server: http://localhost:5000): give"),
        (["--perf-mlflow=mlflow.db"], "is not a tracking URI (no scheme): give"),
        (["--perf-mlflow=http://"], "names no host"),
        (["--perf-mlflow=sqlite://"], "names no database file"),
        (["--perf-mlflow", "--perf-mlflow-experiment= "], "experiment name of 1 to 500"),
    ],
)
def test_bad_values_are_usage_errors(project: pytest.Pytester, args: list[str], said: str) -> None:
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert said in result.stderr.str()


def test_without_mlflow_the_flag_is_a_usage_error_naming_the_extra(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what an uninstalled package looks like
    result = project.runpytest("--perf-mlflow")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--perf-mlflow needs mlflow, which is not installed: pip install*[mlflow]*"]
    )
    project.runpytest("--perf-mlflow=off").assert_outcomes(passed=1)


def test_the_plugin_imports_no_mlflow() -> None:
    code = (
        "import sys, pytest_perfbaseline.plugin, pytest_perfbaseline.hooks.reporting\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'sqlalchemy')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# -- a real tracking server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on a free loopback port, for this module's tests; skipped if it
    does not answer within a minute."""
    executable = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
    if not Path(executable).exists():
        pytest.skip("the mlflow command is not installed")
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        executable,
        "server",
        "--backend-store-uri",
        f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination",
        str(folder / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                said = (folder / "server.log").read_text(errors="replace")[-500:]
                pytest.skip(f"mlflow server did not start within 60 s: {said}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_a_session_is_logged_to_a_tracking_server(
    project: pytest.Pytester, server: str, tmp_path: Path
) -> None:
    project.runpytest(
        f"--perf-mlflow={server}", "--perf-mlflow-experiment=server", "--perf-json=run.json"
    ).assert_outcomes(passed=1)
    (run,) = runs(server, "server")
    check_run(server, run, json.loads((project.path / "run.json").read_text()), "plain", tmp_path)


def test_no_value_means_mlflow_tracking_uri(
    project: pytest.Pytester, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    project.runpytest("--perf-mlflow", "--perf-mlflow-experiment=from-env").assert_outcomes(
        passed=1
    )
    (run,) = runs(server, "from-env")
    assert mlflow_metric_name(NODEID, "ttft_s", "median") in run.data.metrics
