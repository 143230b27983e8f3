"""The hooks pytest-perfbaseline offers to conftest.py files and other plugins."""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["pytest_perfbaseline_otel_meter_provider"]


@pytest.hookspec(firstresult=True)
def pytest_perfbaseline_otel_meter_provider(config: pytest.Config) -> Any:
    """The OpenTelemetry ``MeterProvider`` that ``--perf-otel`` records into, or None.

    Called once per process (each pytest-xdist worker too) at start-up. A provider returned
    here is the caller's: the plugin records into it and never flushes or shuts it down --
    a test's ``MeterProvider(metric_readers=[InMemoryMetricReader()])``, say. None (the
    default): the global SDK provider if the process configured one, else the plugin's own,
    which exports over OTLP as the ``OTEL_*`` environment variables say.
    """
