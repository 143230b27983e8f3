"""The end of a perf session: record its run in the history store.

Called by the controller's reporter once the run report is built and the other reports are
written. Whatever goes wrong -- a bad ``--perf-history`` value, a store of a newer schema, an
unreachable server, bad credentials, a full disk -- is one warning line saying the run was
not recorded; the session's outcome never changes and the other reports are already out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .location import DEFAULT_FILE, LocationError, StoreLocation, parse_location

if TYPE_CHECKING:
    from ..reports.run import RunReport

__all__ = ["history_location", "record_session"]


def history_location(config: pytest.Config) -> StoreLocation | None:
    """Where this session records its run; None when history is off (or has nowhere to go).

    Default: ``history.sqlite`` in pytest's cache folder; without the cacheprovider plugin
    (``-p no:cacheprovider``) and no ``--perf-history`` URL, the run is not recorded.
    LocationError for a value that is not ``off`` or a store URL.
    """
    value: Any = config.getoption("perf_history", None)
    origin = "--perf-history"
    base = config.invocation_params.dir
    if value is None:
        value = config.getini("perf_history")
        origin, base = "ini option perf_history", config.rootpath
    if value not in (None, ""):
        return parse_location(str(value), origin, base=base)
    cache = getattr(config, "cache", None)
    if cache is None:
        return None
    return StoreLocation("sqlite", str(cache.mkdir(str(DEFAULT_FILE.parent)) / DEFAULT_FILE.name))


def record_session(
    config: pytest.Config,
    report: RunReport,
    *,
    started: float,
    document: Callable[[], Mapping[str, Any]] | None = None,
) -> None:
    """Append this session's run to the history store; one warning line if that fails.

    ``document`` returns the report's JSON document when the session already built it (for
    ``--perf-json``): the history stores that same document.
    """
    from ..events import emit
    from .backends import HistoryError

    began = time.perf_counter()
    try:
        location = history_location(config)
    except LocationError as exc:
        _warn(config, f"run not recorded in the history: {exc}")
        return
    if location is None:
        emit("history off", "", "run history not recorded (off, or no pytest cache folder)")
        return
    try:
        run_id = _append(config, report, location, started, document)
    except (HistoryError, OSError) as exc:
        _warn(config, f"run not recorded in the history: {exc}")
        return
    emit(
        "history recorded",
        location.describe(),
        f"run {run_id[:12]} recorded in {location.describe()}",
        duration_s=time.perf_counter() - began,
    )


def _append(
    config: pytest.Config,
    report: RunReport,
    location: StoreLocation,
    started: float,
    document: Callable[[], Mapping[str, Any]] | None,
) -> str:
    from ..baseline.environment import utc_timestamp
    from ..reports.json_report import report_to_dict
    from .metadata import ci_job, git_branch
    from .record import RunMeta, run_record
    from .store import HistoryStore

    meta = RunMeta(
        source="session",
        started_at=utc_timestamp(_utc(started)),
        branch=git_branch(Path(config.rootpath)),
        ci=ci_job(),
    )
    record = run_record(report_to_dict(report) if document is None else document(), meta)
    with HistoryStore.open(location) as store:
        store.append(record)
    return record.run_id


def _utc(epoch: float) -> Any:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, timezone.utc)


def _warn(config: pytest.Config, message: str) -> None:
    from ..end_warnings import warn_at_end

    warn_at_end(config, "history not recorded", message)
