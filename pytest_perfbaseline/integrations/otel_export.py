"""Where ``--perf-otel``'s metrics go: the ``MeterProvider`` of each process, and its export.

The provider, in order: the one a ``pytest_perfbaseline_otel_meter_provider`` hook returns
(a test's in-memory reader, say); the process's global SDK provider, when it configured one;
else the plugin's own, an SDK ``MeterProvider`` with a ``PeriodicExportingMetricReader`` and
the OTLP http/protobuf exporter, both configured by the ``OTEL_*`` environment variables.
Only the plugin's own is shut down at session end, within a bounded time. A collector that
cannot be reached is one warning line in the terminal summary; it never fails the run.

Every process records what it measured (each pytest-xdist worker into its own provider); a
worker's export warning reaches the controller's summary through xdist's ``workeroutput``.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import pytest

from ..measure.compute import round_calls
from .otel_metrics import GenAIMetrics

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

    from ..measure.recorder import RoundRecord

__all__ = ["DEFAULT_EXPORT_TIMEOUT_S", "DEFAULT_SERVICE_NAME", "OtelSession"]

EXTRA_HINT = "pip install 'pytest-perfbaseline[otel]'"
DEFAULT_SERVICE_NAME = "pytest-perfbaseline"
"""``service.name`` of the plugin's own provider unless OTEL_SERVICE_NAME or
OTEL_RESOURCE_ATTRIBUTES name the service."""
DEFAULT_EXPORT_TIMEOUT_S = 2.0
"""How long one export may take (retries included) unless OTEL_EXPORTER_OTLP_TIMEOUT or
OTEL_EXPORTER_OTLP_METRICS_TIMEOUT say otherwise: a session's last export waits this long
(and one second more) at most."""
_TIMEOUT_VARIABLES = ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
_PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
_WORKER_WARNING = "perfbaseline_otel_warning"


def _import_sdk() -> None:
    try:
        import opentelemetry.sdk.metrics  # noqa: F401
    except ImportError:
        raise pytest.UsageError(
            f"pytest-perfbaseline: --perf-otel needs the OpenTelemetry SDK: {EXTRA_HINT}"
        ) from None


def _check_exporter() -> None:
    """The plugin's own provider can be built: the exporter is installed, the protocol ours."""
    for variable in _PROTOCOL_VARIABLES:
        protocol = os.environ.get(variable, "").strip()
        if protocol and protocol != "http/protobuf":
            raise pytest.UsageError(
                f"pytest-perfbaseline: --perf-otel exports over OTLP http/protobuf; {variable} "
                f"is {protocol!r} (unset it, or configure a global MeterProvider yourself)"
            )
        if protocol:
            break
    try:
        import opentelemetry.exporter.otlp.proto.http.metric_exporter  # noqa: F401
    except ImportError:
        raise pytest.UsageError(
            "pytest-perfbaseline: --perf-otel needs the OTLP http exporter "
            f"(opentelemetry-exporter-otlp-proto-http): {EXTRA_HINT}"
        ) from None


def _global_sdk_provider() -> MeterProvider | None:
    from opentelemetry.metrics import get_meter_provider
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider

    provider = get_meter_provider()
    return provider if isinstance(provider, SdkMeterProvider) else None


class _ExportLog(logging.Filter):
    """Keeps the exporter's log records off the terminal: the session reports one line.

    The exporter logs each retry and failure itself (lines a minute against a dead
    collector). Kept: the first error one of them carried, else the first message.
    """

    def __init__(self) -> None:
        super().__init__()
        self.first: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if self.first is None and record.levelno >= logging.WARNING:
            args = record.args if isinstance(record.args, tuple) else ()
            error = next((a for a in args if isinstance(a, BaseException)), None)
            self.first = f"{type(error).__name__}: {error}" if error else record.getMessage()
        return False


def _watched(exporter: MetricExporter) -> tuple[MetricExporter, list[str]]:
    """``exporter``, and the failures of its exports (an exception's text, or '')."""
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

    failures: list[str] = []

    class Watched(MetricExporter):
        def __init__(self) -> None:
            # the exporter's own preferences (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE)
            super().__init__(
                preferred_temporality=getattr(exporter, "_preferred_temporality", None),
                preferred_aggregation=getattr(exporter, "_preferred_aggregation", None),
            )

        def export(
            self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
        ) -> MetricExportResult:
            try:
                result = exporter.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
            except Exception as exc:  # the reader would log it with a traceback
                failures.append(f"{type(exc).__name__}: {exc}")
                return MetricExportResult.FAILURE
            if result is not MetricExportResult.SUCCESS:
                failures.append("")
            return result

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return exporter.force_flush(timeout_millis)

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            exporter.shutdown(timeout_millis=timeout_millis, **kwargs)

    return Watched(), failures


class _OwnPipeline:
    """The plugin's own provider, exporter and reader; built when the first call is recorded,
    so a process that measures nothing (an xdist controller) never opens a connection."""

    def __init__(self) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource

        configured = any(map(os.environ.get, _TIMEOUT_VARIABLES))
        timeout_s = None if configured else DEFAULT_EXPORT_TIMEOUT_S
        exporter = OTLPMetricExporter(timeout=timeout_s)
        self.timeout_s = timeout_s if timeout_s is not None else _env_timeout_s()
        self.endpoint = str(getattr(exporter, "_endpoint", "the OTLP endpoint"))
        self.log = _ExportLog()
        self._logger = logging.getLogger(type(exporter).__module__)
        self._logger.addFilter(self.log)
        watched, self.failures = _watched(exporter)
        resource = Resource.create()
        if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
            resource = resource.merge(Resource({"service.name": DEFAULT_SERVICE_NAME}))
        self.provider: SdkMeterProvider = SdkMeterProvider(
            metric_readers=[PeriodicExportingMetricReader(watched)],
            resource=resource,
            shutdown_on_exit=False,
        )

    def close(self) -> str | None:
        """Export what is left and shut down, within the export timeout and a second;
        what went wrong, if anything did."""
        try:
            self.provider.shutdown(timeout_millis=(self.timeout_s + 1.0) * 1000)
        finally:
            self._logger.removeFilter(self.log)
        if not self.failures:
            return None
        reason = next((f for f in self.failures if f), None) or self.log.first or "export failed"
        return f"OpenTelemetry metrics not exported to {self.endpoint}: {reason}"


def _env_timeout_s() -> float:
    for variable in _TIMEOUT_VARIABLES:
        try:
            return float(os.environ.get(variable) or "")
        except ValueError:
            continue
    return 10.0  # the exporter's own default


class OtelSession:
    """``--perf-otel`` in one process: records each measured round, exports at the end."""

    def __init__(self, config: pytest.Config, provider: MeterProvider | None, per_test: bool):
        self._config = config
        self._provider = provider
        self._per_test = per_test
        self._own: _OwnPipeline | None = None
        self._metrics: GenAIMetrics | None = None
        self._closed = False
        self.warning: str | None = None
        """The session's one export warning (a worker's, on the xdist controller)."""

    @classmethod
    def start(cls, config: pytest.Config, *, per_test: bool) -> OtelSession:
        """At start-up: a usage error naming the extra when OpenTelemetry is not installed."""
        _import_sdk()
        provider = config.hook.pytest_perfbaseline_otel_meter_provider(config=config)
        if provider is None:
            provider = _global_sdk_provider()
        if provider is None:
            _check_exporter()
        return cls(config, provider, per_test)

    def _instruments(self) -> GenAIMetrics:
        if self._metrics is None:
            provider = self._provider
            if provider is None:
                self._own = _OwnPipeline()
                provider = self._own.provider
            self._metrics = GenAIMetrics(provider, per_test=self._per_test)
        return self._metrics

    def record_round(self, test: str, rnd: RoundRecord) -> None:
        """Record the calls of one measured round of ``test`` (called after the round)."""
        if self._closed or not (rnd.streams or rnd.usages):
            return
        self._instruments().record_calls(round_calls(rnd), test)

    def close(self) -> None:
        """Shut the plugin's own provider down (a provider not ours is left as it is)."""
        if self._closed:
            return
        self._closed = True
        if self._own is not None:
            warning = self._own.close()
            if warning is not None and self.warning is None:
                self.warning = warning

    # -- pytest hooks ----------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.close()
        if self.warning is None:
            return
        workeroutput = getattr(self._config, "workeroutput", None)
        if workeroutput is not None:  # a pytest-xdist worker: the controller reports it
            workeroutput[_WORKER_WARNING] = self.warning
            return
        from ..end_warnings import warn_at_end

        warn_at_end(self._config, "otel not exported", self.warning)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        warning = getattr(node, "workeroutput", {}).get(_WORKER_WARNING)
        if warning and self.warning is None:
            self.warning = str(warning)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.close()
