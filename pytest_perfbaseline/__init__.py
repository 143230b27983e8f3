"""pytest-perfbaseline: time streamed LLM inference in tests, track tokens and cost, and fail
the tests whose performance regressed against a stored baseline.

The pytest plugin is :mod:`pytest_perfbaseline.plugin`; everything re-exported here works
without pytest too (``Perf(rounds=20)(fn)`` in a plain script). The names are imported on
first use, so that pytest's start-up, which imports this package for the plugin, stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .gate.ab import ABMetric, ABResult
    from .measure.perf import ColdStartWarning, Measurement, Perf, UnpricedModelWarning
    from .measure.recorder import TimedStream
    from .metrics.names import MetricInfo
    from .metrics.summary import Summary
    from .simulate import SimulatedModel
    from .usage.tokens import Usage

__all__ = [
    "ABMetric",
    "ABResult",
    "ColdStartWarning",
    "Measurement",
    "MetricInfo",
    "Perf",
    "SimulatedModel",
    "Summary",
    "TimedStream",
    "UnpricedModelWarning",
    "Usage",
]

__version__ = "0.1.0"

_HOMES = {
    "ABMetric": ".gate.ab",
    "ABResult": ".gate.ab",
    "ColdStartWarning": ".measure.perf",
    "Measurement": ".metrics.result",
    "MetricInfo": ".metrics.names",
    "Perf": ".measure.perf",
    "SimulatedModel": ".simulate",
    "Summary": ".metrics.summary",
    "TimedStream": ".measure.recorder",
    "UnpricedModelWarning": ".measure.perf",
    "Usage": ".usage.tokens",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
