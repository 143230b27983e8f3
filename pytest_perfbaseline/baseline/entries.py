"""One test's baseline entry <-> its JSON object in a baseline file.

The only place that knows how a :class:`~pytest_perfbaseline.metrics.result.TestResult` and
its :class:`~pytest_perfbaseline.baseline.environment.Environment` are laid out in a file's
``tests`` object, and how a stored entry (already checked by :mod:`.codec`) becomes a result
again.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast, get_args

from ..metrics.names import MetricInfo, MetricKind, MetricName, key_info
from ..metrics.result import TestResult
from .codec import stored_metric_name
from .environment import Environment

__all__ = [
    "ENTRY_KEYS",
    "SESSIONS_KEY",
    "LazyColumns",
    "entry_columns",
    "entry_document",
    "entry_environment",
    "entry_infos",
    "entry_result",
    "entry_sessions",
]

ENTRY_KEYS = frozenset(
    {
        "environment",
        "rounds",
        "rounds_requested",
        "warmup",
        "implicit",
        "metrics",
        "itl_histogram",
        "token_sources",
        "iterations",
    }
)
"""The keys :func:`entry_document` writes (one session's)."""
SESSIONS_KEY = "sessions"
"""A test's entry: ``{"sessions": [<entry_document>, ...]}``, oldest first; re-saving a test
replaces it (and a schema 1 entry's :data:`ENTRY_KEYS`) and keeps the entry's other keys."""

_METRIC_KINDS: frozenset[str] = frozenset(get_args(MetricKind))
_CUSTOM = MetricInfo("", False, "custom")


def _stored_number(value: object, what: str) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} is {value!r}, not a number or None")
    number = value if isinstance(value, int) else float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} is {number!r}; baselines hold only finite numbers or null")
    return number


_FLOAT = frozenset({float})


def _metrics_document(result: TestResult) -> dict[str, Any]:
    columns = result.columns
    if columns is None:
        names = sorted(set(result.infos).union(*(r.keys() for r in result.rounds)))
    else:
        names = sorted(set(result.infos).union(columns))
    metrics: dict[str, Any] = {}
    for name in names:
        info = result.infos.get(name) or key_info(name) or _CUSTOM
        values: list[Any] = result.column(name)
        if not (_FLOAT.issuperset(map(type, values)) and all(map(math.isfinite, values))):
            # Not all finite floats, which are stored as they are: value by value.
            values = [
                _stored_number(v, f"metric {name!r} in round {i}") for i, v in enumerate(values, 1)
            ]
        metrics[name] = {
            "higher_is_better": bool(info.higher_is_better),
            "kind": str(info.kind),
            "unit": str(info.unit),
            "values": values,
        }
        if name in result.names:
            metrics[name]["name"] = result.names[name].to_list()
    return metrics


def entry_document(result: TestResult, environment: Environment) -> dict[str, Any]:
    """The JSON entry of one test (raises ValueError for values that cannot be stored)."""
    metrics = _metrics_document(result)
    histogram = [
        [
            _stored_number(lower, f"ITL histogram bin {i} lower bound"),
            _stored_number(upper, f"ITL histogram bin {i} upper bound"),
            int(count),
        ]
        for i, (lower, upper, count) in enumerate(result.itl_histogram, 1)
    ]
    entry: dict[str, Any] = {
        "environment": environment.to_dict(),
        "rounds": result.round_count,
        "rounds_requested": int(result.rounds_requested),
        "warmup": int(result.warmup),
        "implicit": bool(result.implicit),
        "metrics": metrics,
        "itl_histogram": histogram,
        "token_sources": {str(k): str(v) for k, v in result.token_sources.items()},
    }
    if result.iterations != 1:
        # Only when rounds were calibrated: an entry without it means one call per round,
        # so the files of every other test stay as they were.
        entry["iterations"] = int(result.iterations)
    return entry


def _metric_info(name: str, metric: Mapping[str, Any]) -> MetricInfo:
    # Keys absent from the entry are None: the metric's defaults.
    return _info(name, metric.get("unit"), metric.get("higher_is_better"), metric.get("kind"))


@functools.lru_cache(maxsize=1024)  # every test of a suite stores the same few metrics
def _info(
    name: str, unit: str | None, higher_is_better: bool | None, kind: str | None
) -> MetricInfo:
    default = key_info(name) or _CUSTOM
    kind = default.kind if kind is None else kind
    return MetricInfo(
        unit=default.unit if unit is None else unit,
        higher_is_better=default.higher_is_better if higher_is_better is None else higher_is_better,
        # A kind from a newer plugin is treated like a custom metric (default threshold).
        kind=cast(MetricKind, kind if kind in _METRIC_KINDS else "custom"),
    )


def entry_sessions(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The stored sessions of a checked test entry, oldest first (a schema 1 entry: one)."""
    sessions = entry.get(SESSIONS_KEY)
    return list(sessions) if isinstance(sessions, list) else [entry]


def _floats(values: list[Any]) -> list[float | None]:
    """A checked ``values`` list as floats (None where a round has no value)."""
    try:
        return list(map(float, values))
    except TypeError:  # a round without a value
        return [None if v is None else float(v) for v in values]


def entry_columns(entry: Mapping[str, Any]) -> dict[str, list[float | None]]:
    """Each metric of a checked entry (in name order) -> its value in every round."""
    metrics: Mapping[str, Mapping[str, Any]] = entry["metrics"]
    return {name: _floats(metrics[name]["values"]) for name in sorted(metrics)}


class LazyColumns(Mapping[str, list[float | None]]):
    """:func:`entry_columns`, each column made when it is first read: pooling reads only the
    time, rate and custom metrics of a test's older sessions."""

    def __init__(self, entry: Mapping[str, Any]) -> None:
        self._metrics: Mapping[str, Mapping[str, Any]] = entry["metrics"]
        self._names = sorted(self._metrics)
        self._made: dict[str, list[float | None]] = {}

    def __getitem__(self, name: str) -> list[float | None]:
        column = self._made.get(name)
        if column is None:
            column = self._made[name] = _floats(self._metrics[name]["values"])
        return column

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._metrics)


def entry_infos(entry: Mapping[str, Any]) -> dict[str, MetricInfo]:
    """Each metric of a checked entry (in name order) -> its unit, direction and kind."""
    metrics: Mapping[str, Mapping[str, Any]] = entry["metrics"]
    return {name: _metric_info(name, metrics[name]) for name in sorted(metrics)}


def entry_result(
    nodeid: str,
    entry: Mapping[str, Any],
    columns: Mapping[str, Sequence[float | None]] | None = None,
) -> TestResult:
    """A checked entry as a TestResult (every round holds every metric; None if missing).

    The result holds its values by metric (:meth:`TestResult.from_columns`): no per-round
    dict is made unless something reads its ``rounds``. ``columns`` replaces the entry's own values
    (those of its test's pooled sessions, in name order). ``itl_pooled`` is None: only the
    gap histogram is stored, not the pooled gaps.
    """
    count: int = entry["rounds"]
    infos, names = _infos_and_names(entry["metrics"])
    if columns is None:
        # All at once: the gate reads every metric, and a dict reads faster than a lazy map.
        columns = entry_columns(entry)
    else:  # pooled: as many rounds as the longest column
        count = max(map(len, columns.values()), default=0)
    return TestResult.from_columns(
        nodeid,
        columns,
        count,
        infos=infos,
        itl_histogram=tuple(
            (float(lo), float(hi), int(n)) for lo, hi, n in entry.get("itl_histogram", [])
        ),
        itl_pooled=None,
        token_sources=dict(entry.get("token_sources", {})),
        rounds_requested=int(entry.get("rounds_requested", entry["rounds"])),
        warmup=int(entry.get("warmup", 0)),
        implicit=bool(entry.get("implicit", False)),
        iterations=int(entry.get("iterations", 1)),
        names=names,
    )


def _infos_and_names(
    metrics: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, MetricInfo], dict[str, MetricName]]:
    """:func:`entry_infos`, and the structured names the metrics record, in one pass."""
    infos: dict[str, MetricInfo] = {}
    names: dict[str, MetricName] = {}
    for name in sorted(metrics):
        metric = metrics[name]
        infos[name] = _metric_info(name, metric)
        if "name" in metric:
            names[name] = stored_metric_name(metric["name"], name)
    return infos, names


def entry_environment(entry: Mapping[str, Any]) -> Environment:
    """Where and when a checked entry was measured (unknown where it does not say)."""
    return Environment.from_dict(entry.get("environment", {}))
