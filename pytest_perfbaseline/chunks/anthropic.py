"""Anthropic Messages events (``message_start`` ... ``message_stop``).

``content_block_delta`` with text, thinking, tool-input JSON or compaction summary text carries
output, and so does the ``content_block_start`` of a tool call, which names the tool. Usage is
``message_start``'s, updated by ``message_delta``, whose ``output_tokens`` is cumulative (the
last value is the total, never a sum). When the usage lists ``iterations`` (a compaction or a
server-side tool loop), the totals are their sum: the top-level fields leave some out.

The stream helper (``client.messages.stream()``) also yields events it derives from a raw
event (``text``, ``thinking`` ...) carrying the same text; they are ignored so each piece of
output is counted once, and its ``message_stop`` carries the final message. The remaining
events (``ping``, the start of any other block, ``content_block_stop``, ``error``) carry no
output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .facts import EventHandler, UsageAccumulator, as_int, get_field, is_named_call, no_output

__all__ = ["EVENT_HANDLERS", "delta_text_field"]

# Delta type -> the field that carries its text. Only that field is read: probing a field a
# pydantic event class lacks raises (and catches) inside pydantic, at ~2.5 us a time.
_DELTA_FIELD: dict[Any, str] = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
    "compaction_delta": "content",
}
# Content blocks that are tool calls: their start names the tool.
_CALL_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
# Exported as the bound method, not the dict: CPython 3.11 compiles ``name.get(...)`` on a
# name bound by ``from ... import`` as an attribute load plus a call (it takes the name for a
# module), which costs the classifier's hot path ~20 ns per chunk.
delta_text_field: Callable[[Any], str | None] = _DELTA_FIELD.get
"""The field of a ``content_block_delta``'s delta that carries its text, by the delta's type;
None for a delta type that carries none."""

# Events the stream helper derives from a raw event it also yields.
_HELPER_DERIVED_EVENTS = ("text", "thinking", "input_json", "citation", "signature")


_USAGE_FIELDS = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cached", "cache_read_input_tokens"),
    ("cache_write", "cache_creation_input_tokens"),
)


def _read_iterations(iterations: list[Any], acc: UsageAccumulator) -> None:
    for field, key in _USAGE_FIELDS:
        acc.set(field, sum(as_int(get_field(item, key)) or 0 for item in iterations))


def _read_usage(usage: Any, acc: UsageAccumulator) -> None:
    if usage is None:
        return
    acc.inclusive_input = False
    iterations = get_field(usage, "iterations")
    if isinstance(iterations, list) and iterations:
        _read_iterations(iterations, acc)
    else:
        for field, key in _USAGE_FIELDS:
            acc.set(field, get_field(usage, key))
    details = get_field(usage, "output_tokens_details")
    if details is not None:
        acc.set("reasoning", get_field(details, "thinking_tokens"))


def _content_block_delta_has_output(chunk: Any, acc: UsageAccumulator) -> bool:
    delta = get_field(chunk, "delta")
    field = delta_text_field(get_field(delta, "type")) if delta is not None else None
    return field is not None and bool(get_field(delta, field))


def _content_block_start_has_output(chunk: Any, acc: UsageAccumulator) -> bool:
    return is_named_call(get_field(chunk, "content_block"), _CALL_BLOCKS)


def _read_message(chunk: Any, acc: UsageAccumulator) -> bool:
    message = get_field(chunk, "message")
    if message is not None:
        acc.family = "anthropic"
        acc.set_model(get_field(message, "model"))
        _read_usage(get_field(message, "usage"), acc)
    return False


def _read_message_delta(chunk: Any, acc: UsageAccumulator) -> bool:
    _read_usage(get_field(chunk, "usage"), acc)
    return False


EVENT_HANDLERS: dict[str, EventHandler] = {
    "content_block_delta": _content_block_delta_has_output,
    "content_block_start": _content_block_start_has_output,
    "message_start": _read_message,
    "message_delta": _read_message_delta,
    "message_stop": _read_message,  # the helper's stop event carries the final message
    **dict.fromkeys(_HELPER_DERIVED_EVENTS, no_output),
}
"""Handlers of the Anthropic events that carry output or usage, by ``type``."""
