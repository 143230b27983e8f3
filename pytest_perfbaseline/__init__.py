"""pytest-perfbaseline: time streamed LLM inference in tests, track tokens and cost, and fail
the tests whose performance regressed against a stored baseline.

The pytest plugin is :mod:`pytest_perfbaseline.plugin`; everything re-exported here works
without pytest too (``Perf(rounds=20)(fn)`` in a plain script).
"""

from __future__ import annotations

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
