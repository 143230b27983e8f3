"""Classify a finished stream's chunks: tell each chunk's family, ask it whether it has output.

Families and where their rules live:

- **Plain items** (``str``, ``bytes``, any unrecognised object): each non-empty item is one
  output chunk (here).
- **Events with a ``type``**: OpenAI Responses and the OpenAI chat stream helper
  (:mod:`.openai`), Anthropic Messages and its stream helper (:mod:`.anthropic`).
- **OpenAI Chat Completions** (``choices``): :mod:`.openai`.
- **Gemini** (``candidates``, or a blocked prompt's ``usage_metadata`` without them):
  :mod:`.gemini`.

This runs once per chunk after the stream ends, so the commonest chunks of each family are
decided inline below rather than through the handler tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .anthropic import EVENT_HANDLERS as ANTHROPIC_EVENTS
from .anthropic import delta_text_field
from .facts import EventHandler, StreamFacts, TokenSource, UsageAccumulator, get_field
from .gemini import gemini_chunk_has_output, is_gemini_chunk
from .openai import EVENT_HANDLERS as OPENAI_EVENTS
from .openai import RESPONSES_OUTPUT_EVENTS, chat_chunk_has_output

__all__ = ["analyze_chunks"]

# The two tables name disjoint event types. An unknown type carries no output: it is not
# guessed at.
_EVENT_HANDLERS: dict[str, EventHandler] = {**ANTHROPIC_EVENTS, **OPENAI_EVENTS}


def _typed_event_has_output(kind: str, chunk: Any, acc: UsageAccumulator) -> bool:
    """Classify an event with a ``type`` field (Anthropic, Responses, SDK helpers)."""
    handler = _EVENT_HANDLERS.get(kind)
    return handler is not None and handler(chunk, acc)


def _dict_has_output(chunk: dict[str, Any], acc: UsageAccumulator) -> bool:
    # Parsed JSON: the commonest chunks of each family, decided without generic lookups.
    kind = chunk.get("type")
    if kind is None:
        choices = chunk.get("choices")
        if choices is not None:
            return chat_chunk_has_output(chunk, acc, choices)
    elif kind == "content_block_delta":
        delta = chunk.get("delta")
        if type(delta) is dict:
            field = delta_text_field(delta.get("type"))
            return field is not None and bool(delta.get(field))
    elif kind in RESPONSES_OUTPUT_EVENTS:
        return bool(chunk.get("delta"))
    if isinstance(kind, str):
        return _typed_event_has_output(kind, chunk, acc)
    if is_gemini_chunk(chunk):
        return gemini_chunk_has_output(chunk, acc)
    # An in-band error payload ({"error": {...}}, as OpenAI-compatible servers and Gemini send
    # mid-stream) is no output; any other parsed object is one output chunk.
    return "error" not in chunk


def _object_has_output(chunk: Any, acc: UsageAccumulator) -> bool:
    family = _FAMILIES.get(type(chunk)) or _family_of(chunk)
    if family == "typed":
        # Plain attribute reads for the hot events.
        event: str = chunk.type  # learnt to be a str when the class was first seen
        if event in RESPONSES_OUTPUT_EVENTS:
            return bool(getattr(chunk, "delta", None))
        if event == "content_block_delta":
            delta = getattr(chunk, "delta", None)
            field = delta_text_field(getattr(delta, "type", None))
            return field is not None and bool(getattr(delta, field, None))
        return _typed_event_has_output(event, chunk, acc)
    if family == "chat":
        return chat_chunk_has_output(chunk, acc)
    if family == "mapping":  # a Mapping other than dict: read it as one
        return _dict_has_output(dict(chunk), acc)
    if family == "text":
        return len(chunk) > 0
    if family == "gemini":
        return gemini_chunk_has_output(chunk, acc)
    return family == "plain"


# An SDK's event classes each belong to one family, so the family is learnt once per class:
# probing an absent field on a pydantic model raises and catches an AttributeError inside
# pydantic (~2.5 us), far too slow to repeat for every chunk. Only a family that one instance
# proves for its whole class is learnt: a class whose instance has none of the fields looked
# for ("plain") may carry them in its next instance, so it is looked at afresh every time.
_FAMILIES: dict[type, str] = {}


def _family_of(chunk: Any) -> str:
    if type(chunk) is not dict and isinstance(chunk, Mapping):
        family = "mapping"
    elif isinstance(chunk, (str, bytes, bytearray)):
        family = "text"
    elif chunk is None:
        family = "none"
    elif isinstance(get_field(chunk, "type"), str):
        family = "typed"
    elif get_field(chunk, "choices") is not None:
        family = "chat"
    elif is_gemini_chunk(chunk):
        family = "gemini"
    else:
        return "plain"
    if type(chunk) is not dict:
        _FAMILIES[type(chunk)] = family
    return family


def _count_tokens(tokens: Callable[[Any], int], chunk: Any, index: int) -> int:
    n = tokens(chunk)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise TypeError(
            f"perf.stream(tokens=...) must return a non-negative int per chunk, "
            f"got {n!r} for chunk {index}"
        )
    return n


def analyze_chunks(
    chunks: Sequence[Any], tokens: Callable[[Any], int] | None = None
) -> StreamFacts:
    """Classify a finished stream's chunks.

    ``tokens`` is the user's ``chunk -> int`` counter. A chunk it counts as 0 carries no
    output (that is how a caller marks keep-alives in a custom stream).
    """
    acc = UsageAccumulator()
    output: list[int] = []
    counted = 0
    for index, chunk in enumerate(chunks):
        if type(chunk) is str:  # the commonest chunk, decided without a call
            if not chunk:
                continue
        elif type(chunk) is dict:
            if not _dict_has_output(chunk, acc):
                continue
        elif not _object_has_output(chunk, acc):
            continue
        if tokens is not None:
            n = _count_tokens(tokens, chunk, index)
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
