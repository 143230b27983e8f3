"""``--perf-mlflow``: a perf session logged as one MLflow run.

Called once at the end of the session, on the controller, after the report files are written.
The run holds, per test and metric, the median, p95 and mean of its rounds as metrics (named
by :mod:`.mlflow_names`), the session's settings as params, git, verdict counts and the
plugin version as tags, and the JSON report (and the HTML report, when written) as
artifacts. Whatever goes wrong -- mlflow missing, a server that cannot be reached, a store
that refuses -- is one warning line; the session's outcome never changes.

mlflow is imported only here, and only when the flag is given.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from .mlflow_names import STATISTICS, mlflow_metric_name
from .mlflow_target import MlflowTarget

if TYPE_CHECKING:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    from ..gate.settings import TestSettings
    from ..reports.run import RunReport

__all__ = ["log_session"]

METRICS_PER_BATCH = 1000
"""``log_batch``'s limits (``mlflow.utils.validation``): 1000 metrics, 100 params and 100
tags per request, 1000 entities in all."""
PARAMS_TAGS_PER_BATCH = 100

PROBE_TIMEOUT_S = 3.0
"""How long a tracking server gets to accept a connection before the run is not logged."""
_HTTP_BOUNDS = {
    # mlflow's defaults retry for minutes with backoff; a report must not hold the session up
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
}
# -- the session's run ---------------------------------------------------------------------------


def _warn(config: pytest.Config, message: str) -> None:
    from ..end_warnings import warn_at_end

    warn_at_end(config, "mlflow not logged", message)


@dataclass(frozen=True)
class SessionRun:
    """What the session hands over: its report, settings and the files it wrote."""

    report: RunReport
    document: Callable[[], Mapping[str, Any]]
    """The report's JSON document, built once per session."""
    params: Mapping[str, str]
    branch: str | None
    json_path: Path | None
    html_path: Path | None
    failed: bool
    metrics: Mapping[str, tuple[str, str, str, float]]
    """Every metric to log: its name -> (test id, metric key, statistic, value)."""


def log_session(
    config: pytest.Config,
    report: RunReport,
    target: MlflowTarget,
    document: Callable[[], Mapping[str, Any]],
    *,
    settings: TestSettings,
    json_path: Path | None,
    html_path: Path | None,
    failed: bool,
) -> None:
    """Log the session as one MLflow run to ``target``; one warning if it fails.

    ``settings`` are the session's (its params); ``json_path`` and ``html_path`` the report
    files written, if any (artifacts); ``failed``: the session failed (the run is then marked
    FAILED in MLflow).
    """
    from ..events import emit
    from ..history.metadata import git_branch

    began = time.perf_counter()
    session = SessionRun(
        report=report,
        document=document,
        params=_params(report, settings),
        branch=git_branch(Path(config.rootpath)),
        json_path=json_path,
        html_path=html_path,
        failed=failed,
        metrics=metric_names(report),
    )
    where = target.uri or "MLflow's default tracking URI"
    try:
        _probe(target.uri)
        with _bounded_http():
            run_id = _log(target, session)
    except Exception as exc:  # any failure of a third-party client is one warning line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _warn(config, f"run not logged to MLflow ({where}): {reason}")
        return
    emit(
        "mlflow logged",
        where,
        f"run {run_id} logged to MLflow ({where})",
        duration_s=time.perf_counter() - began,
    )


def _params(report: RunReport, settings: TestSettings) -> dict[str, str]:
    mode = "+".join(name for name in ("compare", "save") if getattr(report, name)) or "plain"
    return {
        "rounds": str(settings.rounds),
        "warmup": str(settings.warmup),
        "threshold": settings.threshold.describe() or "default",
        "alpha": f"{report.alpha:g}",
        "profile": report.profile,
        "mode": mode,
    }


def _probe(uri: str | None) -> None:
    """A quick connection to a tracking server, so an unreachable one costs seconds at most."""
    if uri is None:
        uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    import socket

    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        raise OSError(f"cannot connect to {parts.hostname}:{port}: {exc}") from None


@contextmanager
def _bounded_http() -> Iterator[None]:
    """mlflow's HTTP retries and timeout bounded for the call (unless the user set them),
    its warnings silenced."""
    import warnings

    added = [name for name in _HTTP_BOUNDS if name not in os.environ]
    for name in added:
        os.environ[name] = _HTTP_BOUNDS[name]
    try:
        with warnings.catch_warnings():
            # mlflow's and its database layer's deprecation notices are nothing the user of
            # this session can act on, and `-W error` would turn them into a lost run
            warnings.simplefilter("ignore")
            yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _log(target: MlflowTarget, session: SessionRun) -> str:
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=target.uri)
    experiment = client.get_experiment_by_name(target.experiment)
    if experiment is not None:
        experiment_id = experiment.experiment_id
    else:
        try:
            experiment_id = client.create_experiment(target.experiment)
        except MlflowException:  # another session created it meanwhile
            found = client.get_experiment_by_name(target.experiment)
            if found is None:
                raise
            experiment_id = found.experiment_id
    tags = _tags(session)
    run = client.create_run(experiment_id, run_name=tags["mlflow.runName"])
    run_id: str = run.info.run_id
    try:
        _log_values(client, run_id, session, tags)
        _log_artifacts(client, run_id, session)
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FAILED" if session.failed else "FINISHED")
    return run_id


def _tags(session: SessionRun) -> dict[str, str]:
    from .. import __version__

    report = session.report
    commit = report.environment.git_commit
    where = [part for part in (session.branch, commit[:8] if commit else None) if part]
    name = " ".join(["perf", *(where or [report.created_at])])
    tags = {
        "mlflow.runName": name,
        "perfbaseline.plugin_version": __version__,
        "perfbaseline.profile": report.profile,
        "perfbaseline.tests": str(len(report.tests)),
    }
    if commit:
        tags["mlflow.source.git.commit"] = commit
    if session.branch:
        tags["mlflow.source.git.branch"] = session.branch
    if report.environment.git_dirty is not None:
        tags["perfbaseline.git_dirty"] = str(report.environment.git_dirty).lower()
    if report.compare:
        for verdict, count in report.counts().items():
            tags[f"perfbaseline.verdict.{verdict}"] = str(count)
    return tags


def metric_names(report: RunReport) -> dict[str, tuple[str, str, str, float]]:
    """Every logged metric: its MLflow name -> (test id, metric key, statistic, value)."""
    names: dict[str, tuple[str, str, str, float]] = {}
    for entry in report.tests:
        for key, summary in sorted(entry.result.summary().items()):
            values = {"median": summary.median, "p95": summary.p95, "mean": summary.mean}
            for statistic in STATISTICS:
                name = mlflow_metric_name(entry.nodeid, key, statistic)
                names[name] = (entry.nodeid, key, statistic, values[statistic])
    return names


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _log_values(
    client: MlflowClient, run_id: str, session: SessionRun, tags: Mapping[str, str]
) -> None:
    from mlflow.entities import Metric, Param, RunTag

    params: list[Param] = [Param(k, v) for k, v in session.params.items()]
    run_tags: list[RunTag] = [RunTag(k, v) for k, v in tags.items()]
    for start in range(0, max(len(params), len(run_tags)), PARAMS_TAGS_PER_BATCH):
        end = start + PARAMS_TAGS_PER_BATCH
        client.log_batch(run_id, params=params[start:end], tags=run_tags[start:end])
    now = int(time.time() * 1000)
    metrics: list[Metric] = [
        Metric(name, value, now, 0) for name, (*_, value) in session.metrics.items()
    ]
    for batch in _chunks(metrics, METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=batch)


def _log_artifacts(client: MlflowClient, run_id: str, session: SessionRun) -> None:
    import json
    import shutil
    import tempfile

    from ..reports.json_report import dumps

    with tempfile.TemporaryDirectory(prefix="perfbaseline-mlflow-") as folder:
        staged = Path(folder)
        report_file = staged / "perfbaseline-report.json"
        if session.json_path is not None and session.json_path.is_file():
            shutil.copyfile(session.json_path, report_file)  # the file the session wrote
        else:
            report_file.write_text(dumps(session.report, session.document()), encoding="utf-8")
        if session.html_path is not None and Path(session.html_path).is_file():
            shutil.copyfile(session.html_path, staged / "perfbaseline-report.html")
        names = {
            name: {"nodeid": nodeid, "metric": key, "statistic": statistic}
            for name, (nodeid, key, statistic, _) in session.metrics.items()
        }
        (staged / "perfbaseline-metric-names.json").write_text(
            json.dumps(names, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        client.log_artifacts(run_id, str(staged))
