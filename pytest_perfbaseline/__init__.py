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
    from .metrics import MetricInfo
    from .perf import Measurement, Perf, UnpricedModelWarning
    from .recorder import TimedStream
    from .simulate import SimulatedModel
    from .summary import Summary
    from .usage import Usage

__all__ = [
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
    "Measurement": ".perf",
    "MetricInfo": ".metrics",
    "Perf": ".perf",
    "SimulatedModel": ".simulate",
    "Summary": ".summary",
    "TimedStream": ".recorder",
    "UnpricedModelWarning": ".perf",
    "Usage": ".usage",
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
