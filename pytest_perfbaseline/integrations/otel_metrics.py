"""What ``--perf-otel`` records: every measured call as OpenTelemetry GenAI client metrics.

The instruments, units, descriptions and advised bucket boundaries are those of the
OpenTelemetry semantic conventions for generative AI client metrics, version
:data:`SEMCONV_VERSION` (the definitions the ``opentelemetry-semantic-conventions`` 0.66b2
package carries, since moved to the semantic-conventions-genai repository):

- ``gen_ai.client.operation.duration`` (s): a stream's start to its end, one per stream;
- ``gen_ai.client.token.usage`` ({token}): input and output tokens, one each per call;
- ``gen_ai.client.operation.time_to_first_chunk`` (s): a stream's start to its first chunk
  with output (the plugin's ``ttft_s``);
- ``gen_ai.client.operation.time_per_output_chunk`` (s): each gap between consecutive chunks
  with output (the plugin's inter-token gaps).

Values are read from a round's records after the round (:func:`~..measure.compute.round_calls`),
never per chunk while a stream runs. Nothing here knows pytest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..measure.compute import CallFacts

if TYPE_CHECKING:
    from opentelemetry.metrics import Histogram, MeterProvider

__all__ = [
    "INSTRUMENTS",
    "OPERATION_DURATION",
    "SEMCONV_VERSION",
    "TIME_PER_OUTPUT_CHUNK",
    "TIME_TO_FIRST_CHUNK",
    "TOKEN_USAGE",
    "GenAIMetrics",
    "Instrument",
    "call_attributes",
    "operation_name",
    "provider_name",
]

SEMCONV_VERSION = "1.41.0"
"""The version of the OpenTelemetry semantic conventions whose GenAI metrics are followed."""

SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"

DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
"""The conventions' advised boundaries (seconds) of the three time histograms."""
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
"""The conventions' advised boundaries (tokens) of ``gen_ai.client.token.usage``."""


@dataclass(frozen=True)
class Instrument:
    """One histogram of the conventions: its name, unit, description and bucket boundaries."""

    name: str
    unit: str
    description: str
    buckets: tuple[float, ...]


OPERATION_DURATION = Instrument(
    "gen_ai.client.operation.duration", "s", "GenAI operation duration.", DURATION_BUCKETS
)
TOKEN_USAGE = Instrument(
    "gen_ai.client.token.usage",
    "{token}",
    "Number of input and output tokens used.",
    tuple(float(b) for b in TOKEN_BUCKETS),
)
TIME_TO_FIRST_CHUNK = Instrument(
    "gen_ai.client.operation.time_to_first_chunk",
    "s",
    "Time to receive the first chunk, measured from when the client issues the generation "
    "request to when the first chunk is received in the response stream.",
    DURATION_BUCKETS,
)
TIME_PER_OUTPUT_CHUNK = Instrument(
    "gen_ai.client.operation.time_per_output_chunk",
    "s",
    "Time per output chunk, recorded for each chunk received after the first one, measured "
    "as the time elapsed from the end of the previous chunk to the end of the current chunk.",
    DURATION_BUCKETS,
)
INSTRUMENTS = (OPERATION_DURATION, TOKEN_USAGE, TIME_TO_FIRST_CHUNK, TIME_PER_OUTPUT_CHUNK)

# The chunk families of pytest_perfbaseline.chunks, as the conventions' well-known providers.
# A Gemini-shaped stream may come from AI Studio (gcp.gemini) or Vertex AI (gcp.vertex_ai):
# the chunks do not say which, and gcp.gen_ai is the conventions' value for that case.
_PROVIDER_OF_FAMILY = {"openai": "openai", "anthropic": "anthropic", "gemini": "gcp.gen_ai"}
# For a stream of plain chunks and a call accounted with record_usage: the model's name.
_PROVIDER_OF_PREFIX = (
    (("gpt-", "chatgpt", "o1", "o3", "o4", "text-embedding-", "davinci", "babbage"), "openai"),
    (("claude",), "anthropic"),
    (("gemini", "gemma"), "gcp.gen_ai"),
    (("mistral", "mixtral", "codestral", "ministral", "magistral", "pixtral"), "mistral_ai"),
    (("deepseek",), "deepseek"),
    (("grok",), "x_ai"),
    (("command",), "cohere"),
    (("sonar",), "perplexity"),
)
UNKNOWN_PROVIDER = "unknown"
"""``gen_ai.provider.name`` when neither the chunks nor the model's name tell the provider."""


def provider_name(family: str | None, model: str | None) -> str:
    """``gen_ai.provider.name``: from the chunks' shape, else from the model's name.

    The shape wins: an OpenAI-shaped stream is ``openai`` whoever serves it, as the
    conventions' provider name says which flavour of telemetry to expect.
    """
    if family in _PROVIDER_OF_FAMILY:
        return _PROVIDER_OF_FAMILY[family]
    if model:
        name = model.rsplit("/", 1)[-1].lower()  # "anthropic/claude-..." as routers name them
        for prefixes, provider in _PROVIDER_OF_PREFIX:
            if name.startswith(prefixes):
                return provider
    return UNKNOWN_PROVIDER


def operation_name(family: str | None) -> str:
    """``gen_ai.operation.name``: Gemini's ``generate_content``, else ``chat``."""
    return "generate_content" if family == "gemini" else "chat"


def call_attributes(call: CallFacts, test: str | None = None) -> dict[str, str]:
    """The attributes every record of ``call`` carries; ``test``: the test's node id."""
    attributes = {
        "gen_ai.operation.name": operation_name(call.family),
        "gen_ai.provider.name": provider_name(call.family, call.requested_model),
    }
    if call.requested_model:
        attributes["gen_ai.request.model"] = call.requested_model
    if call.response_model:
        attributes["gen_ai.response.model"] = call.response_model
    if test is not None:
        attributes["test.case.name"] = test
    return attributes


class GenAIMetrics:
    """The four histograms in one ``MeterProvider``, and how a round's calls go into them."""

    def __init__(self, meter_provider: MeterProvider, *, per_test: bool = False) -> None:
        from .. import __version__

        meter = meter_provider.get_meter("pytest-perfbaseline", __version__, SCHEMA_URL)
        self._per_test = per_test
        self._histograms: dict[str, Histogram] = {
            spec.name: meter.create_histogram(
                spec.name,
                unit=spec.unit,
                description=spec.description,
                explicit_bucket_boundaries_advisory=spec.buckets,
            )
            for spec in INSTRUMENTS
        }

    def record_calls(self, calls: Sequence[CallFacts], test: str) -> None:
        """Record each call of one measured round; ``test`` is its test's node id."""
        for call in calls:
            self._record(call, call_attributes(call, test if self._per_test else None))

    def _record(self, call: CallFacts, attributes: dict[str, str]) -> None:
        histograms = self._histograms
        if call.duration_ns is not None:
            # A failed stream is an operation that ended in an error of no known type.
            failed = {**attributes, "error.type": "_OTHER"} if call.failed else attributes
            histograms[OPERATION_DURATION.name].record(call.duration_ns / 1e9, failed)
        if call.failed:
            return  # its tokens are a lower bound and its times end at the failure
        usage = histograms[TOKEN_USAGE.name]
        for kind, count in (("input", call.input_tokens), ("output", call.output_tokens)):
            if count is not None:
                usage.record(count, {**attributes, "gen_ai.token.type": kind})
        if call.ttft_ns is not None:
            histograms[TIME_TO_FIRST_CHUNK.name].record(call.ttft_ns / 1e9, attributes)
        per_chunk = histograms[TIME_PER_OUTPUT_CHUNK.name]
        for gap_ns in call.gaps_ns:
            per_chunk.record(gap_ns / 1e9, attributes)
