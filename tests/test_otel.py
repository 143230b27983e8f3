"""--perf-otel: measured streams and calls as OpenTelemetry GenAI client metrics.

Inner suites run on a fake clock (simulated models whose sleeps advance it), so every
recorded time is exact. Metrics are read with the SDK's InMemoryMetricReader, handed to the
plugin through the ``pytest_perfbaseline_otel_meter_provider`` hook.
"""

from __future__ import annotations

import http.server
import json
import re
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from fakes import INI, simulated_suite

pytest.importorskip("opentelemetry.sdk.metrics", reason="needs pytest-perfbaseline[otel]")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from pytest_perfbaseline.integrations import otel_metrics
from pytest_perfbaseline.integrations.otel_metrics import (
    INSTRUMENTS,
    SEMCONV_VERSION,
    call_attributes,
    provider_name,
)
from pytest_perfbaseline.measure.compute import CallFacts

# The advised bucket boundaries, as the conventions (v1.41, docs/gen-ai/gen-ai-metrics.md)
# print them: written out here, not derived from the code under test.
CONVENTION_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24]
CONVENTION_DURATION_BUCKETS += [20.48, 40.96, 81.92]
CONVENTION_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304]
CONVENTION_TOKEN_BUCKETS += [16777216, 67108864]

DURATION = "gen_ai.client.operation.duration"
TOKENS = "gen_ai.client.token.usage"
FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
PER_CHUNK = "gen_ai.client.operation.time_per_output_chunk"

SUITE = (
    simulated_suite(jitter=0.0)
    + """

gpt = SimulatedModel(model="gpt-4o-mini", ttft_s=0.040, itl_s=0.005, sleep=clock.sleep)
# Names that do not tell the provider: the chunks' shape must.
claude = SimulatedModel(model="edge-model-20270101", ttft_s=0.040, itl_s=0.005, sleep=clock.sleep)


@pytest.mark.perf(rounds=3, warmup=1)
def test_openai(perf):
    perf(lambda: list(perf.stream(gpt.stream, "hi", max_tokens=10, format="openai")))


@pytest.mark.perf(rounds=4, warmup=2)
def test_anthropic(perf):
    def answer(model):
        return claude.stream("hi", max_tokens=6, format="anthropic")

    perf(lambda: list(perf.stream(answer, model="edge-model")))


@pytest.mark.perf(rounds=2, warmup=0)
def test_recorded(perf):
    perf(lambda: perf.record_usage("claude-haiku-5-5", 100, 20))
"""
)
INPUT_TOKENS = 9  # what the simulated model reports for the prompt "hi"
OTEL_INI = INI + "filterwarnings = ignore:model 'edge-model' has no price\n"


class ProvidedMeter:
    """A plugin that hands the session an in-memory MeterProvider."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)

    def pytest_perfbaseline_otel_meter_provider(self, config: pytest.Config) -> Any:
        return self.provider


@pytest.fixture
def meter() -> Iterator[ProvidedMeter]:
    provided = ProvidedMeter()
    yield provided
    provided.provider.shutdown()


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(OTEL_INI)
    pytester.makepyfile(test_models=SUITE)
    return pytester


def recorded(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    """Per instrument: each data point's attributes and the point."""
    points: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    points.setdefault(metric.name, []).append((dict(point.attributes), point))
    return points


def only(points: list[tuple[dict[str, Any], Any]], **match: str) -> Any:
    """The one data point whose attributes include ``match`` (dots spelled as '__')."""
    wanted = {key.replace("__", "."): value for key, value in match.items()}
    found = [p for attrs, p in points if wanted.items() <= attrs.items()]
    assert len(found) == 1, (wanted, [attrs for attrs, _ in points])
    return found[0]


# -- the conventions ---------------------------------------------------------------------------


def test_instruments_are_the_conventions_own() -> None:
    from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as spec

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    meter = provider.get_meter("spec")
    made = [
        spec.create_gen_ai_client_operation_duration(meter),
        spec.create_gen_ai_client_token_usage(meter),
        spec.create_gen_ai_client_operation_time_to_first_chunk(meter),
        spec.create_gen_ai_client_operation_time_per_output_chunk(meter),
    ]
    ours = [(i.name, i.unit, i.description) for i in INSTRUMENTS]
    assert ours == [(h.name, h.unit, h.description) for h in made]  # type: ignore[attr-defined]
    assert [i.buckets for i in INSTRUMENTS] == [
        tuple(CONVENTION_DURATION_BUCKETS),
        tuple(CONVENTION_TOKEN_BUCKETS),
        tuple(CONVENTION_DURATION_BUCKETS),
        tuple(CONVENTION_DURATION_BUCKETS),
    ]
    assert SEMCONV_VERSION == "1.41.0"
    provider.shutdown()


def test_provider_from_the_chunks_shape_then_the_models_name() -> None:
    assert provider_name("openai", "claude-haiku-5-5") == "openai"  # the shape wins
    assert provider_name("anthropic", None) == "anthropic"
    assert provider_name("gemini", "gemini-2.5-flash") == "gcp.gen_ai"
    assert provider_name(None, "gpt-4o-mini") == "openai"
    assert provider_name(None, "claude-opus-4-7") == "anthropic"
    assert provider_name(None, "openrouter/mistralai/Mistral-Large") == "mistral_ai"
    assert provider_name(None, "my-finetune") == "unknown"
    assert provider_name(None, None) == "unknown"


def test_attributes_of_a_call() -> None:
    call = CallFacts("gemini-2.5-flash", "gemini-2.5-flash-001", "gemini", 3, 4)
    assert call_attributes(call) == {
        "gen_ai.operation.name": "generate_content",
        "gen_ai.provider.name": "gcp.gen_ai",
        "gen_ai.request.model": "gemini-2.5-flash",
        "gen_ai.response.model": "gemini-2.5-flash-001",
    }
    plain = CallFacts(None, None, None, None, None)
    assert call_attributes(plain, "t.py::test") == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "unknown",
        "test.case.name": "t.py::test",
    }


# -- what a session records --------------------------------------------------------------------


def test_every_measured_stream_and_call_is_recorded(
    project: pytest.Pytester, meter: ProvidedMeter
) -> None:
    result = project.runpytest("--perf-otel", "-p", "no:cacheprovider", plugins=[meter])
    result.assert_outcomes(passed=3)
    points = recorded(meter.reader)
    assert set(points) == {DURATION, TOKENS, FIRST_CHUNK, PER_CHUNK}

    openai = {"gen_ai.provider.name": "openai", "gen_ai.operation.name": "chat"}
    gpt = {**openai, "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini"}
    duration = only(points[DURATION], gen_ai__provider__name="openai")
    assert dict(only(points[DURATION], **_keys(gpt)).attributes) == gpt
    assert duration.count == 3  # measured rounds only: not the warm-up
    assert duration.sum == pytest.approx(3 * (0.040 + 9 * 0.005))
    assert list(duration.explicit_bounds) == CONVENTION_DURATION_BUCKETS
    first = only(points[FIRST_CHUNK], gen_ai__provider__name="openai")
    assert (first.count, first.sum) == (3, pytest.approx(3 * 0.040))
    per_chunk = only(points[PER_CHUNK], gen_ai__provider__name="openai")
    assert (per_chunk.count, per_chunk.sum) == (3 * 9, pytest.approx(27 * 0.005))
    inputs = only(points[TOKENS], gen_ai__provider__name="openai", gen_ai__token__type="input")
    outputs = only(points[TOKENS], gen_ai__provider__name="openai", gen_ai__token__type="output")
    assert (inputs.count, inputs.sum, outputs.sum) == (3, 3 * INPUT_TOKENS, 3 * 10)
    assert list(inputs.explicit_bounds) == CONVENTION_TOKEN_BUCKETS

    claude = {
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "edge-model",
        "gen_ai.response.model": "edge-model-20270101",
    }
    assert only(points[DURATION], **_keys(claude)).count == 4
    assert only(points[PER_CHUNK], **_keys(claude)).count == 4 * 5
    streamed = {**claude, "gen_ai.token.type": "output"}
    assert only(points[TOKENS], **_keys(streamed)).sum == 4 * 6

    # record_usage: tokens only (no duration is known), provider from the model's name
    recorded_call = {
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-haiku-5-5",
        "gen_ai.token.type": "input",
    }
    assert dict(only(points[TOKENS], **_keys(recorded_call)).attributes) == {
        "gen_ai.operation.name": "chat",
        **recorded_call,
    }
    assert only(points[TOKENS], **_keys(recorded_call)).sum == 2 * 100
    assert all("test.case.name" not in attrs for name in points for attrs, _ in points[name])


def _keys(attributes: dict[str, str]) -> dict[str, str]:
    return {key.replace(".", "__"): value for key, value in attributes.items()}


def test_per_test_labels_each_record_with_the_test(
    project: pytest.Pytester, meter: ProvidedMeter
) -> None:
    result = project.runpytest("--perf-otel=per-test", "-p", "no:cacheprovider", plugins=[meter])
    result.assert_outcomes(passed=3)
    durations = recorded(meter.reader)[DURATION]
    assert sorted(attrs["test.case.name"] for attrs, _ in durations) == [
        "test_models.py::test_anthropic",
        "test_models.py::test_openai",
    ]


AB_SUITE = (
    simulated_suite(jitter=0.0)
    + """

gpt = SimulatedModel(model="gpt-4o-mini", ttft_s=0.040, itl_s=0.005, sleep=clock.sleep)


@pytest.mark.perf(rounds=3, warmup=1)
def test_ab(perf):
    def answer(tokens):
        return lambda: list(perf.stream(gpt.stream, "hi", max_tokens=tokens, format="openai"))

    perf.ab(answer(4), answer(8), fail=False)
"""
)


def test_both_variants_of_an_ab_test_are_recorded(
    pytester: pytest.Pytester, meter: ProvidedMeter
) -> None:
    pytester.makeini(OTEL_INI)
    pytester.makepyfile(test_otel_ab_variants=AB_SUITE)
    result = pytester.runpytest("--perf-otel", "-p", "no:cacheprovider", plugins=[meter])
    result.assert_outcomes(passed=1)
    points = recorded(meter.reader)
    assert only(points[DURATION], gen_ai__provider__name="openai").count == 2 * 3  # no warm-up
    outputs = only(points[TOKENS], gen_ai__provider__name="openai", gen_ai__token__type="output")
    assert outputs.sum == 3 * 4 + 3 * 8


def test_the_ini_option_turns_it_on(pytester: pytest.Pytester, meter: ProvidedMeter) -> None:
    pytester.makeini(OTEL_INI + "perf_otel = on\n")
    pytester.makepyfile(test_models=SUITE)
    pytester.runpytest("-p", "no:cacheprovider", plugins=[meter]).assert_outcomes(passed=3)
    assert recorded(meter.reader)[DURATION]


def test_off_by_default_and_off_with_perf_disable(
    project: pytest.Pytester, meter: ProvidedMeter
) -> None:
    project.runpytest("-p", "no:cacheprovider", plugins=[meter]).assert_outcomes(passed=3)
    assert recorded(meter.reader) == {}
    args = ("--perf-otel", "--perf-disable", "-p", "no:cacheprovider")
    project.runpytest(*args, plugins=[meter]).assert_outcomes(passed=3)
    assert recorded(meter.reader) == {}


def test_a_bad_value_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest("--perf-otel=maybe")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--perf-otel must be 'on', 'off' or 'per-test', got 'maybe'*"])


def test_not_installed_is_a_usage_error_naming_the_extra(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.metrics", None)
    result = project.runpytest("--perf-otel")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--perf-otel needs the OpenTelemetry SDK: pip install 'pytest-perfbaseline[otel]'" in (
        result.stderr.str()
    )


# -- processes: import cost, xdist, the global provider, a dead collector ------------------------

IMPORTS_CHECK = """

def test_zz_imports():
    loaded = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry")
    print("OTEL-MODULES", len(loaded))
"""


@pytest.mark.parametrize(("flag", "imported"), [((), False), (("--perf-otel",), True)])
def test_opentelemetry_is_imported_only_with_the_flag(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    flag: tuple[str, ...],
    imported: bool,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{_refused_port()}")
    pytester.makeini(OTEL_INI)
    pytester.makepyfile(test_models="import sys\n" + SUITE + IMPORTS_CHECK)
    result = pytester.runpytest_subprocess(*flag, "-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=4)
    found = re.search(r"OTEL-MODULES (\d+)", result.stdout.str())
    assert found is not None
    assert (int(found.group(1)) > 0) is imported


WRITE_POINTS = """
import json, os
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

reader = InMemoryMetricReader()


def pytest_perfbaseline_otel_meter_provider(config):
    return MeterProvider(metric_readers=[reader], shutdown_on_exit=False)


def pytest_unconfigure(config):
    counts = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                counts[m.name] = sum(p.count for p in m.data.data_points)
    # not PYTEST_XDIST_WORKER: under an outer xdist run the controller inherits it
    worker = getattr(config, "workerinput", {}).get("workerid", "controller")
    with open(os.path.join(os.environ["POINTS_DIR"], worker + ".json"), "w") as f:
        json.dump(counts, f)
"""


def test_each_xdist_worker_records_what_it_measured(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    points_dir = project.mkdir("points")
    monkeypatch.setenv("POINTS_DIR", str(points_dir))
    project.makeconftest(WRITE_POINTS)
    result = project.runpytest_subprocess("--perf-otel", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    counts = {p.stem: json.loads(p.read_text()) for p in points_dir.iterdir()}
    assert {"gw0", "gw1"} <= set(counts)
    assert sum(c.get(DURATION, 0) for c in counts.values()) == 3 + 4
    assert sum(c.get(PER_CHUNK, 0) for c in counts.values()) == 3 * 9 + 4 * 5


GLOBAL_PROVIDER = """
import json, os
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))


def pytest_unconfigure(config):
    data = reader.get_metrics_data()
    names = sorted({m.name for rm in data.resource_metrics for sm in rm.scope_metrics
                    for m in sm.metrics})
    with open(os.environ["POINTS_FILE"], "w") as f:
        json.dump(names, f)
"""


def test_a_global_sdk_provider_is_used(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    points = project.path / "names.json"
    monkeypatch.setenv("POINTS_FILE", str(points))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{_refused_port()}")
    project.makeconftest(GLOBAL_PROVIDER)
    result = project.runpytest_subprocess("--perf-otel", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert json.loads(points.read_text()) == sorted([DURATION, TOKENS, FIRST_CHUNK, PER_CHUNK])
    assert "not exported" not in result.stdout.str()  # the plugin's own exporter never ran


def _refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Collector(http.server.BaseHTTPRequestHandler):
    """A loopback OTLP/HTTP collector: keeps each metrics request it is sent."""

    requests: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        self.requests.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.requests = []
    server = http.server.HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_plugins_own_provider_exports_over_otlp_http(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, collector: str
) -> None:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector)
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=ci")
    result = project.runpytest_subprocess("--perf-otel", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert "not exported" not in result.stdout.str()
    assert len(Collector.requests) == 1  # the session's last export
    request = ExportMetricsServiceRequest.FromString(Collector.requests[0])
    (resource,) = request.resource_metrics
    attributes = {a.key: a.value.string_value for a in resource.resource.attributes}
    assert attributes["service.name"] == "pytest-perfbaseline"
    assert attributes["deployment.environment.name"] == "ci"
    (scope,) = resource.scope_metrics
    assert scope.scope.name == "pytest-perfbaseline"
    assert scope.schema_url == "https://opentelemetry.io/schemas/1.41.0"
    metrics = {m.name: m for m in scope.metrics}
    assert set(metrics) == {DURATION, TOKENS, FIRST_CHUNK, PER_CHUNK}
    for metric in metrics.values():  # the advised boundaries reach the collector
        bounds = [list(p.explicit_bounds) for p in metric.histogram.data_points]
        expected = (
            CONVENTION_TOKEN_BUCKETS if metric.name == TOKENS else CONVENTION_DURATION_BUCKETS
        )
        assert bounds
        assert all(b == expected for b in bounds)
    assert sum(p.count for p in metrics[DURATION].histogram.data_points) == 3 + 4


@pytest.mark.parametrize("workers", [(), ("-n", "2")])
def test_an_unreachable_collector_is_one_warning_and_the_run_passes(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: tuple[str, ...]
) -> None:
    endpoint = f"http://127.0.0.1:{_refused_port()}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    for variable in ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT"):
        monkeypatch.delenv(variable, raising=False)
    # without pytest's log capture, a log record the plugin let through would reach stderr
    args = ("--perf-otel", "-p", "no:cacheprovider", "-p", "no:logging", *workers)
    result = project.runpytest_subprocess(*args)
    result.assert_outcomes(passed=3)
    assert result.ret == pytest.ExitCode.OK
    output = result.stdout.str() + result.stderr.str()
    warnings = [line for line in output.splitlines() if "perfbaseline: warning:" in line]
    assert len(warnings) == 1, output
    assert f"OpenTelemetry metrics not exported to {endpoint}/v1/metrics" in warnings[0]
    assert "Transient error" not in output  # the exporter's own log lines are kept off


def test_the_module_keeps_the_conventions_names_public() -> None:
    assert {"OPERATION_DURATION", "TOKEN_USAGE", "SEMCONV_VERSION"} <= set(otel_metrics.__all__)


@pytest.mark.parametrize(
    ("fmt", "family"),
    [
        ("openai", "openai"),
        ("openai-responses", "openai"),
        ("anthropic", "anthropic"),
        ("text", None),
    ],
)
def test_the_classifier_tells_the_family_of_a_streams_chunks(fmt: str, family: str | None) -> None:
    from pytest_perfbaseline import SimulatedModel
    from pytest_perfbaseline.chunks import ChunkClassifier

    classifier = ChunkClassifier()
    model = SimulatedModel(sleep=lambda _: None)
    classifier.feed_all(model.stream("hi", max_tokens=3, format=fmt))  # type: ignore[arg-type]
    assert classifier.family == family


def test_a_gemini_stream_is_a_google_generate_content_call() -> None:
    from pytest_perfbaseline.chunks import ChunkClassifier

    chunk = {
        "candidates": [{"content": {"parts": [{"text": "hi"}], "role": "model"}}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1},
        "modelVersion": "gemini-2.5-flash",
    }
    classifier = ChunkClassifier()
    classifier.feed_all([chunk, chunk])
    assert classifier.family == "gemini"
    call = CallFacts("gemini-2.5-flash", "gemini-2.5-flash", classifier.family, 3, 1)
    assert call_attributes(call)["gen_ai.provider.name"] == "gcp.gen_ai"
