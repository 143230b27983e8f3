"""Gemini chunks (``candidates`` with ``usage_metadata``).

A chunk carries output when a candidate part has text or a function call. The usage metadata
is cumulative, so the last one wins. Fields are read in snake case (the SDK's objects) or
camel case (the REST API's JSON).
"""

from __future__ import annotations

from typing import Any

from .facts import UsageAccumulator, as_int, get_field

__all__ = ["gemini_chunk_has_output"]


def _pick(meta: Any, snake: str, camel: str) -> Any:
    value = get_field(meta, snake)
    return get_field(meta, camel) if value is None else value


def _read_usage_metadata(meta: Any, acc: UsageAccumulator) -> None:
    candidates = as_int(_pick(meta, "candidates_token_count", "candidatesTokenCount")) or 0
    thoughts = as_int(_pick(meta, "thoughts_token_count", "thoughtsTokenCount")) or 0
    acc.set("input", _pick(meta, "prompt_token_count", "promptTokenCount"))
    acc.set("cached", _pick(meta, "cached_content_token_count", "cachedContentTokenCount"))
    # Gemini counts thinking tokens apart from the candidates; both are billed output.
    acc.set("output", candidates + thoughts)
    acc.set("reasoning", thoughts)


def gemini_chunk_has_output(chunk: Any, acc: UsageAccumulator) -> bool:
    """Classify a Gemini chunk and record the model and usage it reports."""
    acc.set_model(get_field(chunk, "model_version") or get_field(chunk, "modelVersion"))
    meta = get_field(chunk, "usage_metadata") or get_field(chunk, "usageMetadata")
    if meta is not None:
        _read_usage_metadata(meta, acc)
    for candidate in get_field(chunk, "candidates") or ():
        content = get_field(candidate, "content")
        for part in (get_field(content, "parts") if content is not None else None) or ():
            if (
                get_field(part, "text")
                or get_field(part, "function_call")
                or get_field(part, "functionCall")
            ):
                return True
    return False
