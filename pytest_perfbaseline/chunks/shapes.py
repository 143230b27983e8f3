"""Recognise streamed chunks by shape: which carry output, and what usage and model they report.

Nothing here imports an SDK. Chunks are read either as mappings (parsed JSON) or as objects
with attributes (the SDKs' pydantic models), so the same rules serve both.

The rules, per family:

- **Plain items** (``str``, ``bytes``, any unrecognised object): each non-empty item is one
  output chunk.
- **OpenAI Chat Completions** (an object with ``choices``): output when a choice's ``delta``
  has non-empty ``content``, ``refusal``, ``tool_calls`` or reasoning text (``reasoning_content``
  / ``reasoning``, as OpenAI-compatible servers send it); the legacy Completions ``text`` too.
  The role-only first chunk and the ``include_usage`` last chunk (empty ``choices``) carry none.
  Usage comes from ``usage``.
- **OpenAI Responses** (``type`` starting with ``response.``): the ``*.delta`` events of text,
  refusal, reasoning and tool-call arguments carry output; usage comes from
  ``response.completed`` / ``response.incomplete`` / ``response.failed``.
- **Anthropic Messages** (``message_start`` ... ``message_stop``): ``content_block_delta`` with
  text, thinking or tool-input JSON carries output; usage is ``message_start``'s, updated by
  ``message_delta``, whose ``output_tokens`` is cumulative (the last value is the total, never
  a sum).
- **SDK stream helpers** (``client.messages.stream()``, ``client.chat.completions.stream()``):
  they yield each raw event *and* derived events (``text``, ``content.delta`` ...) carrying the
  same text. The derived events are ignored so each piece of output is counted once; the
  OpenAI helper's ``chunk`` events are unwrapped.
- **Gemini** (``candidates`` with ``usage_metadata``): output when a candidate part has text or
  a function call; the usage metadata is cumulative, so the last one wins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..usage.tokens import Usage

__all__ = ["StreamFacts", "TokenSource", "analyze_chunks"]

TokenSource = Literal["usage", "counter", "chunks"]

# Anthropic delta type -> the field that carries its text. Only that field is read: probing a
# field a pydantic event class lacks raises (and catches) inside pydantic, at ~2.5 us a time.
_ANTHROPIC_DELTA_FIELD: dict[Any, str] = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
}
# Events the Anthropic and OpenAI stream helpers derive from a raw event they also yield.
_DERIVED_EVENTS = frozenset(
    {
        "text",
        "thinking",
        "input_json",
        "citation",
        "signature",
        "content.delta",
        "content.done",
        "refusal.delta",
        "refusal.done",
        "tool_calls.function.arguments.delta",
        "tool_calls.function.arguments.done",
        "logprobs.content.delta",
        "logprobs.content.done",
        "logprobs.refusal.delta",
        "logprobs.refusal.done",
    }
)
_RESPONSES_OUTPUT_EVENTS = frozenset(
    {
        "response.output_text.delta",
        "response.refusal.delta",
        "response.reasoning_text.delta",
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.audio.transcript.delta",
    }
)
_RESPONSES_USAGE_EVENTS = frozenset(
    {"response.completed", "response.incomplete", "response.failed"}
)
_RESPONSES_MODEL_EVENTS = frozenset({"response.created", "response.in_progress"})


@dataclass(frozen=True)
class StreamFacts:
    """What a finished stream's chunks say about themselves."""

    output_indices: tuple[int, ...]
    """Indices of the chunks that carry output, in order."""
    output_tokens: int
    token_source: TokenSource
    usage: Usage | None
    """Token usage reported by the stream itself, normalised; None when it reported none."""
    model: str | None
    """Model name reported by the stream, if any."""


# isinstance(x, Mapping) costs ~200 ns (an ABC check); this runs for every field of every
# chunk, so the answer is cached per type.
_MAPPING_TYPES: dict[type, bool] = {dict: True}


def _get(obj: Any, key: str) -> Any:
    kind = type(obj)
    is_mapping = _MAPPING_TYPES.get(kind)
    if is_mapping is None:
        is_mapping = _MAPPING_TYPES[kind] = isinstance(obj, Mapping)
    if is_mapping:
        return obj.get(key)
    return getattr(obj, key, None)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


class _UsageAccumulator:
    """Collects usage fields as a stream reports them; later reports overwrite earlier ones.

    Every provider reports usage as running totals (OpenAI once at the end, Anthropic in
    ``message_start`` then cumulatively in ``message_delta``, Gemini on every chunk), so
    "last value wins" per field is correct for all of them, and adding up would not be.
    """

    __slots__ = ("fields", "inclusive_input", "model")

    def __init__(self) -> None:
        self.fields: dict[str, int] = {}
        # OpenAI and Gemini count cached prompt tokens inside the prompt total; Anthropic
        # reports cache reads and writes beside input_tokens.
        self.inclusive_input = True
        self.model: str | None = None

    def set(self, field: str, value: Any) -> None:
        number = _int(value)
        if number is not None:
            self.fields[field] = number

    def set_model(self, value: Any) -> None:
        if self.model is None and isinstance(value, str) and value:
            self.model = value

    def result(self) -> Usage | None:
        f = self.fields
        if "input" not in f and "output" not in f:
            return None
        cached = f.get("cached", 0)
        cache_write = f.get("cache_write", 0)
        input_tokens = f.get("input", 0)
        if not self.inclusive_input:
            input_tokens += cached + cache_write
        output_tokens = f.get("output", 0)
        reasoning = f.get("reasoning", 0)
        # Providers have been seen to report detail counts slightly off their totals; clamp
        # rather than reject a real stream over it.
        input_tokens = max(input_tokens, cached + cache_write)
        output_tokens = max(output_tokens, reasoning)
        return Usage(
            model=self.model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_input_tokens=cached,
            cache_write_tokens=cache_write,
            reasoning_tokens=reasoning,
        )


def _read_openai_usage(usage: Any, acc: _UsageAccumulator, *, responses: bool) -> None:
    if usage is None:
        return
    if responses:
        acc.set("input", _get(usage, "input_tokens"))
        acc.set("output", _get(usage, "output_tokens"))
        in_details = _get(usage, "input_tokens_details")
        out_details = _get(usage, "output_tokens_details")
    else:
        acc.set("input", _get(usage, "prompt_tokens"))
        acc.set("output", _get(usage, "completion_tokens"))
        in_details = _get(usage, "prompt_tokens_details")
        out_details = _get(usage, "completion_tokens_details")
    if in_details is not None:
        acc.set("cached", _get(in_details, "cached_tokens"))
        acc.set("cache_write", _get(in_details, "cache_write_tokens"))
    if out_details is not None:
        acc.set("reasoning", _get(out_details, "reasoning_tokens"))


def _read_anthropic_usage(usage: Any, acc: _UsageAccumulator) -> None:
    if usage is None:
        return
    acc.inclusive_input = False
    acc.set("input", _get(usage, "input_tokens"))
    acc.set("output", _get(usage, "output_tokens"))
    acc.set("cached", _get(usage, "cache_read_input_tokens"))
    acc.set("cache_write", _get(usage, "cache_creation_input_tokens"))


def _chat_chunk_has_output(chunk: Any, acc: _UsageAccumulator, choices: Any = None) -> bool:
    if acc.model is None:
        acc.set_model(_get(chunk, "model"))
    is_dict = type(chunk) is dict
    usage = chunk.get("usage") if is_dict else getattr(chunk, "usage", None)
    if usage is not None:
        _read_openai_usage(usage, acc, responses=False)
    if choices is None:
        choices = (chunk.get("choices") if is_dict else getattr(chunk, "choices", None)) or ()
    for choice in choices:
        delta = choice.get("delta") if type(choice) is dict else getattr(choice, "delta", None)
        if delta is None:
            if _get(choice, "text"):  # legacy Completions stream
                return True
        elif type(delta) is dict:
            get = delta.get
            # Spelled out: any(<generator>) would cost more than the rest of the chunk.
            if (
                get("content")
                or get("tool_calls")
                or get("refusal")
                or get("reasoning_content")
                or get("reasoning")
            ):
                return True
        elif (
            getattr(delta, "content", None)
            or _get(delta, "tool_calls")
            or _get(delta, "refusal")
            # reasoning text is an extra field that only OpenAI-compatible servers send
            or _get(delta, "reasoning_content")
            or _get(delta, "reasoning")
        ):
            return True
    return False


def _gemini_chunk_has_output(chunk: Any, acc: _UsageAccumulator) -> bool:
    acc.set_model(_get(chunk, "model_version") or _get(chunk, "modelVersion"))
    meta = _get(chunk, "usage_metadata") or _get(chunk, "usageMetadata")
    if meta is not None:

        def pick(snake: str, camel: str) -> Any:
            value = _get(meta, snake)
            return _get(meta, camel) if value is None else value

        candidates = _int(pick("candidates_token_count", "candidatesTokenCount")) or 0
        thoughts = _int(pick("thoughts_token_count", "thoughtsTokenCount")) or 0
        acc.set("input", pick("prompt_token_count", "promptTokenCount"))
        acc.set("cached", pick("cached_content_token_count", "cachedContentTokenCount"))
        # Gemini counts thinking tokens apart from the candidates; both are billed output.
        acc.set("output", candidates + thoughts)
        acc.set("reasoning", thoughts)
    for candidate in _get(chunk, "candidates") or ():
        content = _get(candidate, "content")
        for part in (_get(content, "parts") if content is not None else None) or ():
            if _get(part, "text") or _get(part, "function_call") or _get(part, "functionCall"):
                return True
    return False


def _typed_event_has_output(kind: str, chunk: Any, acc: _UsageAccumulator) -> bool:
    """Classify an event with a ``type`` field (Anthropic, Responses, SDK helpers)."""
    if kind == "content_block_delta":
        delta = _get(chunk, "delta")
        field = _ANTHROPIC_DELTA_FIELD.get(_get(delta, "type")) if delta is not None else None
        return field is not None and bool(_get(delta, field))
    if kind.startswith("response."):
        if kind in _RESPONSES_OUTPUT_EVENTS:
            return bool(_get(chunk, "delta"))
        response = _get(chunk, "response")
        if response is not None and (
            kind in _RESPONSES_USAGE_EVENTS or kind in _RESPONSES_MODEL_EVENTS
        ):
            acc.set_model(_get(response, "model"))
            _read_openai_usage(_get(response, "usage"), acc, responses=True)
        return False
    if kind == "message_start":
        message = _get(chunk, "message")
        if message is not None:
            acc.set_model(_get(message, "model"))
            _read_anthropic_usage(_get(message, "usage"), acc)
        return False
    if kind == "message_delta":
        _read_anthropic_usage(_get(chunk, "usage"), acc)
        return False
    if kind == "chunk":  # OpenAI chat stream helper: the raw chunk rides inside
        inner = _get(chunk, "chunk")
        return inner is not None and _chat_chunk_has_output(inner, acc)
    if kind == "message_stop":  # Anthropic helper's stop event carries the final message
        message = _get(chunk, "message")
        if message is not None:
            acc.set_model(_get(message, "model"))
            _read_anthropic_usage(_get(message, "usage"), acc)
        return False
    if kind in _DERIVED_EVENTS:
        return False
    # Remaining Anthropic events (ping, content_block_start/stop, error) carry no output;
    # an unknown event type is treated the same way rather than guessed at.
    return False


def _has_output(chunk: Any, acc: _UsageAccumulator) -> bool:
    if type(chunk) is dict:
        # Parsed JSON: the commonest chunks of each family, decided without generic lookups.
        kind = chunk.get("type")
        if kind is None:
            choices = chunk.get("choices")
            if choices is not None:
                return _chat_chunk_has_output(chunk, acc, choices)
        elif kind == "content_block_delta":
            delta = chunk.get("delta")
            if type(delta) is dict:
                field = _ANTHROPIC_DELTA_FIELD.get(delta.get("type"))
                return field is not None and bool(delta.get(field))
        elif kind in _RESPONSES_OUTPUT_EVENTS:
            return bool(chunk.get("delta"))
        if isinstance(kind, str):
            return _typed_event_has_output(kind, chunk, acc)
        if chunk.get("candidates") is not None:
            return _gemini_chunk_has_output(chunk, acc)
        return True
    family = _FAMILIES.get(type(chunk)) or _family_of(chunk)
    if family == "mapping":  # a Mapping other than dict: read it as one
        return _has_output(dict(chunk), acc)
    if family == "typed":
        # Objects here (dicts took the branch above): plain attribute reads for the hot events.
        event: str = chunk.type  # learnt to be a str when the class was first seen
        if event in _RESPONSES_OUTPUT_EVENTS:
            return bool(getattr(chunk, "delta", None))
        if event == "content_block_delta":
            delta = getattr(chunk, "delta", None)
            field = _ANTHROPIC_DELTA_FIELD.get(getattr(delta, "type", None))
            return field is not None and bool(getattr(delta, field, None))
        return _typed_event_has_output(event, chunk, acc)
    if family == "chat":
        return _chat_chunk_has_output(chunk, acc)
    if family == "text":
        return len(chunk) > 0
    if family == "gemini":
        return _gemini_chunk_has_output(chunk, acc)
    return family == "plain"


# An SDK's event classes each belong to one family, so the family is learnt once per class:
# probing an absent field on a pydantic model raises and catches an AttributeError inside
# pydantic (~2.5 us), far too slow to repeat for every chunk.
_FAMILIES: dict[type, str] = {}


def _family_of(chunk: Any) -> str:
    if type(chunk) is not dict and isinstance(chunk, Mapping):
        family = "mapping"
    elif isinstance(chunk, (str, bytes, bytearray)):
        family = "text"
    elif chunk is None:
        family = "none"
    elif isinstance(_get(chunk, "type"), str):
        family = "typed"
    elif _get(chunk, "choices") is not None:
        family = "chat"
    elif _get(chunk, "candidates") is not None:
        family = "gemini"
    else:
        family = "plain"
    if type(chunk) is not dict:
        _FAMILIES[type(chunk)] = family
    return family


def analyze_chunks(
    chunks: Sequence[Any], tokens: Callable[[Any], int] | None = None
) -> StreamFacts:
    """Classify a finished stream's chunks.

    ``tokens`` is the user's ``chunk -> int`` counter. A chunk it counts as 0 carries no
    output (that is how a caller marks keep-alives in a custom stream).
    """
    acc = _UsageAccumulator()
    output: list[int] = []
    counted = 0
    for index, chunk in enumerate(chunks):
        if type(chunk) is str:  # the commonest chunk, decided without a call
            if not chunk:
                continue
        elif not _has_output(chunk, acc):
            continue
        if tokens is not None:
            n = tokens(chunk)
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise TypeError(
                    f"perf.stream(tokens=...) must return a non-negative int per chunk, "
                    f"got {n!r} for chunk {index}"
                )
            if n == 0:
                continue
            counted += n
        output.append(index)
    usage = acc.result()
    source: TokenSource
    if usage is not None and "output" in acc.fields:
        source, count = "usage", usage.output_tokens
    elif tokens is not None:
        source, count = "counter", counted
    else:
        source, count = "chunks", len(output)
    return StreamFacts(
        output_indices=tuple(output),
        output_tokens=count,
        token_source=source,
        usage=usage,
        model=acc.model,
    )
