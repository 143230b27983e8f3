"""A corpus of realistic streams, written from each provider's documented streaming format.

One JSON file per stream, in a folder per API family (``openai_chat/``, ``openai_responses/``,
``anthropic_messages/``, ``gemini/``). Each file holds:

- ``api``: which API and so which SDK type the chunks parse into (``openai.chat``,
  ``openai.responses``, ``anthropic.messages``, ``anthropic.beta.messages``, ``gemini``);
- ``description``: what the stream shows;
- ``chunks``: the payloads as the provider sends them (each SSE ``data:`` line, parsed);
- ``expected``: how a reader of the documented format should read the stream:
  ``output_indices`` (the chunks that carry output), ``output_tokens`` and its
  ``token_source`` (``usage`` or ``chunks``), the normalised ``usage`` (input tokens always
  include cached and cache-written ones) or null, and the ``model``;
- ``known_gaps`` (optional): a list of ``{"reason", "variants"}``, where the plugin reads the
  stream otherwise today; the listed test variants (``dict``, ``sdk``, ``perf``,
  ``perf_sdk_raises``, see ``tests/test_corpus.py``) are expected to fail.

:func:`sdk_stream` gives the stream as the provider's SDK yields it: its objects, without the
events the SDK swallows (Anthropic's ``ping``), and cut at an in-band error the SDK raises on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CORPUS_DIR",
    "SDK_MODULES",
    "Case",
    "SdkStream",
    "load_cases",
    "sdk_error_index",
    "sdk_stream",
]

CORPUS_DIR = Path(__file__).parent

VARIANTS = ("dict", "sdk", "perf", "perf_sdk_raises")


@dataclass(frozen=True)
class Case:
    """One stream of the corpus and how it should be read."""

    name: str
    """``<folder>/<file stem>``, the test id."""
    api: str
    description: str
    chunks: list[Any]
    output_indices: tuple[int, ...]
    output_tokens: int
    token_source: str
    usage: dict[str, int] | None
    model: str | None
    gaps: dict[str, str]
    """Test variant -> why the plugin fails it today."""


def _case(path: Path) -> Case:
    data = json.loads(path.read_text(encoding="utf-8"))
    expected = data["expected"]
    gaps: dict[str, str] = {}
    for gap in data.get("known_gaps", ()):
        for variant in gap["variants"]:
            if variant not in VARIANTS or variant in gaps:
                raise ValueError(f"{path}: unknown or repeated known_gaps variant {variant!r}")
            gaps[variant] = gap["reason"]
    return Case(
        name=f"{path.parent.name}/{path.stem}",
        api=data["api"],
        description=data["description"],
        chunks=data["chunks"],
        output_indices=tuple(expected["output_indices"]),
        output_tokens=expected["output_tokens"],
        token_source=expected["token_source"],
        usage=expected["usage"],
        model=expected["model"],
        gaps=gaps,
    )


def load_cases() -> list[Case]:
    """Every stream of the corpus, in a stable order."""
    return [_case(path) for path in sorted(CORPUS_DIR.glob("*/*.json"))]


@dataclass(frozen=True)
class SdkStream:
    """A stream as an SDK yields it, and where each of its items came from."""

    objects: list[Any]
    source_indices: tuple[int, ...]
    """For each object, the index of the payload it was parsed from."""

    def output_indices(self, case: Case) -> tuple[int, ...]:
        """The case's expected output indices, renumbered for this stream."""
        position = {source: i for i, source in enumerate(self.source_indices)}
        return tuple(position[i] for i in case.output_indices if i in position)


def _skipped_by_sdk(api: str, payload: dict[str, Any]) -> bool:
    # The anthropic SDK drops ping events before they reach the caller.
    return api.startswith("anthropic.") and payload.get("type") == "ping"


def _raised_by_sdk(api: str, payload: dict[str, Any]) -> bool:
    if api.startswith("anthropic."):
        return payload.get("type") == "error"
    # openai (Chat Completions) and google-genai raise on a payload that is an error object;
    # a Responses ``error`` event is a typed event and is yielded.
    return api in ("openai.chat", "gemini") and "error" in payload


def _parser(api: str) -> Callable[[dict[str, Any]], Any]:
    if api.startswith("openai."):
        from openai._models import construct_type

        if api == "openai.chat":
            from openai.types.chat import ChatCompletionChunk as OpenAIType
        else:
            from openai.types.responses import ResponseStreamEvent as OpenAIType
        return lambda d: construct_type(type_=OpenAIType, value=d)
    if api.startswith("anthropic."):
        from anthropic._models import construct_type as construct_anthropic

        if api == "anthropic.messages":
            from anthropic.types import RawMessageStreamEvent as AnthropicType
        else:
            from anthropic.types.beta import (
                BetaRawMessageStreamEvent as AnthropicType,
            )
        return lambda d: construct_anthropic(type_=AnthropicType, value=d)
    if api == "gemini":
        from google.genai.types import GenerateContentResponse

        return GenerateContentResponse.model_validate
    raise ValueError(f"unknown api {api!r}")


def sdk_error_index(case: Case) -> int | None:
    """The index of the payload the case's SDK raises on, if any."""
    for index, payload in enumerate(case.chunks):
        if _raised_by_sdk(case.api, payload):
            return index
    return None


def sdk_stream(case: Case) -> SdkStream:
    """The case's stream as its SDK yields it (the SDK must be installed)."""
    parse = _parser(case.api)
    error_index = sdk_error_index(case)
    objects: list[Any] = []
    sources: list[int] = []
    for index, payload in enumerate(case.chunks[:error_index]):
        if not _skipped_by_sdk(case.api, payload):
            objects.append(parse(payload))
            sources.append(index)
    return SdkStream(objects, tuple(sources))


SDK_MODULES = {
    "openai.chat": "openai",
    "openai.responses": "openai",
    "anthropic.messages": "anthropic",
    "anthropic.beta.messages": "anthropic",
    "gemini": "google.genai",
}
"""The module each API's SDK objects come from (a test skips when it is not installed)."""
