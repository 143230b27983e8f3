"""OpenAI chunks: Chat Completions chunks and Responses events.

- **Chat Completions** (an object with ``choices``): output when a choice's ``delta`` has
  non-empty ``content``, ``refusal`` or reasoning text (``reasoning_content`` / ``reasoning``,
  as OpenAI-compatible servers send it), or a ``tool_calls`` entry or legacy ``function_call``
  that starts or extends a call (:func:`.facts.starts_or_extends_call`); the legacy
  Completions ``text`` too. The role-only first chunk and the ``include_usage`` last chunk
  (empty ``choices``) carry none. Usage comes from ``usage``, or from ``x_groq.usage`` where
  Groq puts it.
- **Responses** (``type`` starting with ``response.``): the non-empty ``*.delta`` events of
  text, refusal, reasoning, tool-call arguments and code-interpreter code carry output, and so
  does ``response.output_item.added`` of a tool call that has a name; usage comes from
  ``response.completed`` / ``response.incomplete`` / ``response.failed``.
- **The chat stream helper** (``client.chat.completions.stream()``): its ``chunk`` events are
  unwrapped; the events it derives from a chunk (``content.delta`` ...) repeat that chunk's
  text and are ignored, so each piece of output is counted once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .facts import (
    ChunkRule,
    EventHandler,
    UsageAccumulator,
    extra_field,
    get_field,
    is_named_call,
    no_output,
    starts_or_extends_call,
)

__all__ = [
    "EVENT_HANDLERS",
    "RESPONSES_OUTPUT_EVENTS",
    "ChatDicts",
    "chat_chunk_has_output",
    "is_chat_dict",
]

RESPONSES_OUTPUT_EVENTS = frozenset(
    {
        "response.output_text.delta",
        "response.refusal.delta",
        "response.reasoning_text.delta",
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.mcp_call_arguments.delta",
        "response.code_interpreter_call_code.delta",
        "response.audio.transcript.delta",
    }
)
# Output items that are tool calls with a name; their ``output_item.added`` starts the call.
_NAMED_CALL_ITEMS = frozenset({"function_call", "custom_tool_call", "mcp_call"})
# Events whose ``response`` carries the model (all of them) and the usage (the last three).
_RESPONSES_ENVELOPE_EVENTS = frozenset(
    {
        "response.created",
        "response.in_progress",
        "response.completed",
        "response.incomplete",
        "response.failed",
    }
)
# Events the chat stream helper derives from a raw chunk it also yields.
_HELPER_DERIVED_EVENTS = frozenset(
    {
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


def _read_usage(usage: Any, acc: UsageAccumulator, *, responses: bool) -> None:
    if usage is None:
        return
    if responses:
        acc.set("input", get_field(usage, "input_tokens"))
        acc.set("output", get_field(usage, "output_tokens"))
        in_details = get_field(usage, "input_tokens_details")
        out_details = get_field(usage, "output_tokens_details")
    else:
        acc.set("input", get_field(usage, "prompt_tokens"))
        acc.set("output", get_field(usage, "completion_tokens"))
        in_details = get_field(usage, "prompt_tokens_details")
        out_details = get_field(usage, "completion_tokens_details")
    if in_details is not None:
        acc.set("cached", get_field(in_details, "cached_tokens"))
        acc.set("cache_write", get_field(in_details, "cache_write_tokens"))
    if out_details is not None:
        acc.set("reasoning", get_field(out_details, "reasoning_tokens"))


def _call_has_output(calls: Any, legacy_call: Any) -> bool:
    if legacy_call is not None and starts_or_extends_call(legacy_call):
        return True
    for call in calls or ():
        function = get_field(call, "function")
        if function is not None and starts_or_extends_call(function):
            return True
    return False


def _delta_has_output(delta: Any) -> bool:
    if type(delta) is dict:
        get = delta.get
        # Spelled out: any(<generator>) would cost more than the rest of the chunk.
        return bool(
            get("content")
            or get("refusal")
            or get("reasoning_content")
            or get("reasoning")
            or _call_has_output(get("tool_calls"), get("function_call"))
        )
    return bool(
        getattr(delta, "content", None)
        or _call_has_output(get_field(delta, "tool_calls"), get_field(delta, "function_call"))
        or get_field(delta, "refusal")
        # reasoning text is an extension field that only OpenAI-compatible servers send
        or extra_field(delta, "reasoning_content")
        or extra_field(delta, "reasoning")
    )


def chat_chunk_has_output(chunk: Any, acc: UsageAccumulator, choices: Any = None) -> bool:
    """Classify a Chat Completions chunk; ``choices`` saves reading them again from a dict."""
    if acc.model is None:
        acc.family = "openai"
        acc.set_model(get_field(chunk, "model"))
    is_dict = type(chunk) is dict
    usage = chunk.get("usage") if is_dict else getattr(chunk, "usage", None)
    if usage is not None:
        _read_usage(usage, acc, responses=False)
    if choices is None:
        choices = (chunk.get("choices") if is_dict else getattr(chunk, "choices", None)) or ()
    for choice in choices:
        delta = choice.get("delta") if type(choice) is dict else getattr(choice, "delta", None)
        if delta is None:
            if get_field(choice, "text"):  # legacy Completions stream
                return True
        elif (
            # the commonest chunk, decided inline
            (delta.get("content") if type(delta) is dict else getattr(delta, "content", None))
            or _delta_has_output(delta)
        ):
            return True
    if usage is None:
        # Groq reports usage in its extension field, on its last chunk (which has no output).
        groq = chunk.get("x_groq") if is_dict else extra_field(chunk, "x_groq")
        if groq is not None:
            _read_usage(get_field(groq, "usage"), acc, responses=False)
    return False


def is_chat_dict(chunk: dict[str, Any]) -> bool:
    """Whether ``chunk`` is a Chat Completions chunk as parsed JSON: a chunk
    :class:`ChatDicts` reads."""
    return "type" not in chunk and chunk.get("choices") is not None


class ChatDicts:
    """Classifies the chunks of one Chat Completions stream of parsed JSON (dicts).

    The classifier hands a stream's chunks to :meth:`feed_all` once its first dict is one
    (:func:`is_chat_dict`). A chunk whose first choice has text and that reports no usage is
    then decided in the loop, once the stream has told its model; any other chunk goes to
    ``other``, the general rules, which read it as they read every chunk.
    """

    __slots__ = ("other",)

    def __init__(self, other: ChunkRule) -> None:
        self.other = other

    def feed_all(
        self, chunks: Iterable[Any], acc: UsageAccumulator, add: Callable[[bool], object]
    ) -> None:
        """``add`` whether each chunk carries output, in turn, until one raises (it raises)."""
        other = self.other
        for chunk in chunks:
            if (  # text, and nothing for chat_chunk_has_output to read: it has the model
                type(chunk) is dict
                and "type" not in chunk
                and type(choices := chunk.get("choices")) is list
                and choices
                and acc.model is not None
                and type(first := choices[0]) is dict
                and type(delta := first.get("delta")) is dict
                and delta.get("content")
                and chunk.get("usage") is None
            ):
                add(True)
            else:
                add(other(chunk, acc))


def _responses_delta_has_output(chunk: Any, acc: UsageAccumulator) -> bool:
    return bool(get_field(chunk, "delta"))


def _read_responses_envelope(chunk: Any, acc: UsageAccumulator) -> bool:
    response = get_field(chunk, "response")
    if response is not None:
        acc.family = "openai"
        acc.set_model(get_field(response, "model"))
        _read_usage(get_field(response, "usage"), acc, responses=True)
    return False


def _output_item_added(chunk: Any, acc: UsageAccumulator) -> bool:
    return is_named_call(get_field(chunk, "item"), _NAMED_CALL_ITEMS)


def _helper_chunk_has_output(chunk: Any, acc: UsageAccumulator) -> bool:
    inner = get_field(chunk, "chunk")  # the raw chunk rides inside
    return inner is not None and chat_chunk_has_output(inner, acc)


EVENT_HANDLERS: dict[str, EventHandler] = {
    **dict.fromkeys(RESPONSES_OUTPUT_EVENTS, _responses_delta_has_output),
    **dict.fromkeys(_RESPONSES_ENVELOPE_EVENTS, _read_responses_envelope),
    "response.output_item.added": _output_item_added,
    "chunk": _helper_chunk_has_output,
    **dict.fromkeys(_HELPER_DERIVED_EVENTS, no_output),
}
"""Handlers of the OpenAI events that have a ``type``, by type; other ``response.*`` events
(``response.output_text.done``, ``response.content_part.added`` ...) carry no output."""
