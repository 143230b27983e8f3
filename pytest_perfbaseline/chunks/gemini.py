"""Gemini chunks (``candidates`` with ``usage_metadata``).

A chunk carries output when a candidate part has text, code to execute, or a function call
that names the function or adds arguments. A chunk without candidates (a blocked prompt: only
``prompt_feedback`` and ``usage_metadata``) carries none. The usage metadata is cumulative, so
the last one wins; the prompt of a tool-using call is ``prompt_token_count`` plus
``tool_use_prompt_token_count``. Fields are read in snake case (the SDK's objects) or camel
case (the REST API's JSON).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .facts import ChunkRule, UsageAccumulator, as_int, get_field

__all__ = [
    "GeminiDicts",
    "gemini_chunk_has_output",
    "gemini_dict_has_output",
    "is_gemini_chunk",
    "is_rest_gemini_dict",
]

# Top-level fields only a Gemini chunk has; a chunk without candidates still has one of these.
_ENVELOPE_FIELDS = ("usage_metadata", "usageMetadata", "prompt_feedback", "promptFeedback")


def is_gemini_chunk(chunk: Any) -> bool:
    """Whether ``chunk`` has the shape of a Gemini streamed response."""
    if get_field(chunk, "candidates") is not None:
        return True
    return any(get_field(chunk, field) is not None for field in _ENVELOPE_FIELDS)


def _pick(meta: Any, snake: str, camel: str) -> Any:
    value = get_field(meta, snake)
    return get_field(meta, camel) if value is None else value


def _read_usage_metadata(meta: Any, acc: UsageAccumulator) -> None:
    candidates = as_int(_pick(meta, "candidates_token_count", "candidatesTokenCount")) or 0
    thoughts = as_int(_pick(meta, "thoughts_token_count", "thoughtsTokenCount")) or 0
    prompt = as_int(_pick(meta, "prompt_token_count", "promptTokenCount"))
    tool_prompt = as_int(_pick(meta, "tool_use_prompt_token_count", "toolUsePromptTokenCount"))
    if prompt is not None or tool_prompt is not None:
        # The results of the tools the model called are part of the prompt it read.
        acc.set("input", (prompt or 0) + (tool_prompt or 0))
    acc.set("cached", _pick(meta, "cached_content_token_count", "cachedContentTokenCount"))
    # Gemini counts thinking tokens apart from the candidates; both are billed output.
    acc.set("output", candidates + thoughts)
    acc.set("reasoning", thoughts)


def _call_has_output(call: Any) -> bool:
    # A function call names the function or adds arguments (whole, or streamed in parts).
    return bool(
        get_field(call, "name")
        or get_field(call, "args")
        or _pick(call, "partial_args", "partialArgs")
    )


def _part_has_output(part: Any) -> bool:
    if get_field(part, "text"):
        return True
    call = _pick(part, "function_call", "functionCall")
    if call is not None and _call_has_output(call):
        return True
    code = _pick(part, "executable_code", "executableCode")
    return code is not None and bool(get_field(code, "code"))


def gemini_chunk_has_output(chunk: Any, acc: UsageAccumulator) -> bool:
    """Classify a Gemini chunk and record the model and usage it reports."""
    acc.family = "gemini"
    acc.set_model(get_field(chunk, "model_version") or get_field(chunk, "modelVersion"))
    meta = get_field(chunk, "usage_metadata") or get_field(chunk, "usageMetadata")
    if meta is not None:
        _read_usage_metadata(meta, acc)
    for candidate in get_field(chunk, "candidates") or ():
        content = get_field(candidate, "content")
        for part in (get_field(content, "parts") if content is not None else None) or ():
            if _part_has_output(part):
                return True
    return False


# Parsed JSON (the REST API's camel case, or snake case): the same rules as above, with the
# dict's own reads. Every chunk repeats the running usage, so this runs for each one.


def _raw_usage(meta: dict[str, Any]) -> tuple[Any, Any, Any, Any, Any]:
    """Candidates, thoughts, prompt, tool-use prompt and cached counts, as sent: the
    snake-case field unless it is null, as in :func:`_pick`."""
    get = meta.get
    candidates = get("candidates_token_count")
    if candidates is None:
        candidates = get("candidatesTokenCount")
    thoughts = get("thoughts_token_count")
    if thoughts is None:
        thoughts = get("thoughtsTokenCount")
    prompt = get("prompt_token_count")
    if prompt is None:
        prompt = get("promptTokenCount")
    tool = get("tool_use_prompt_token_count")
    if tool is None:
        tool = get("toolUsePromptTokenCount")
    cached = get("cached_content_token_count")
    if cached is None:
        cached = get("cachedContentTokenCount")
    return candidates, thoughts, prompt, tool, cached


def _read_usage_dict(meta: dict[str, Any], acc: UsageAccumulator) -> None:
    candidates, thoughts, prompt, tool, cached = _raw_usage(meta)
    # as_int of each, with an int or a null decided without a call
    candidates = (candidates if type(candidates) is int else as_int(candidates)) or 0
    thoughts = (
        0 if thoughts is None else (thoughts if type(thoughts) is int else as_int(thoughts)) or 0
    )
    if prompt is not None and type(prompt) is not int:
        prompt = as_int(prompt)
    if tool is not None and type(tool) is not int:
        tool = as_int(tool)
    if cached is not None and type(cached) is not int:
        cached = as_int(cached)
    fields = acc.fields
    if prompt is not None or tool is not None:
        fields["input"] = (prompt or 0) + (tool or 0)
    if cached is not None:
        fields["cached"] = cached
    fields["output"] = candidates + thoughts
    fields["reasoning"] = thoughts


def _read_held(held: tuple[dict[str, Any], bool, bool], acc: UsageAccumulator) -> None:
    _read_usage_dict(held[0], acc)


def _hold_usage_dict(meta: dict[str, Any], acc: UsageAccumulator) -> None:
    """Hold a chunk's running usage unread while the next one's replaces it (the commonest
    case: the last chunk's is the total); read it when the next one leaves a field it set."""
    # Whether _read_usage_dict(meta) records the input and the cached tokens (it always
    # records the output and reasoning tokens), read as it reads them.
    get = meta.get
    prompt = get("prompt_token_count")
    if prompt is None:
        prompt = get("promptTokenCount")
    sets_input = type(prompt) is int or (prompt is not None and as_int(prompt) is not None)
    if not sets_input:
        tool = get("tool_use_prompt_token_count")
        if tool is None:
            tool = get("toolUsePromptTokenCount")
        sets_input = tool is not None and as_int(tool) is not None
    cached = get("cached_content_token_count")
    if cached is None:
        cached = get("cachedContentTokenCount")
    sets_cached = cached is not None and as_int(cached) is not None
    held = acc.held
    if held is not None and (
        acc.read_held is not _read_held
        or (held[1] and not sets_input)  # it set the input tokens and this would not
        or (held[2] and not sets_cached)
    ):
        acc.release()
    acc.held = (meta, sets_input, sets_cached)
    acc.read_held = _read_held


def _parts(candidate: Any) -> Any:
    content = get_field(candidate, "content")
    return get_field(content, "parts") if content is not None else None


def gemini_dict_has_output(
    chunk: dict[str, Any], acc: UsageAccumulator, candidates: Any = None
) -> bool:
    """:func:`gemini_chunk_has_output` for a chunk that is parsed JSON (a dict);
    ``candidates`` saves reading them again."""
    if acc.model is None:
        acc.family = "gemini"
        acc.set_model(chunk.get("model_version") or chunk.get("modelVersion"))
    meta = chunk.get("usage_metadata") or chunk.get("usageMetadata")
    if type(meta) is dict:
        _hold_usage_dict(meta, acc)
    elif meta is not None:
        _read_usage_metadata(meta, acc)
    if candidates is None:
        candidates = chunk.get("candidates")
    for candidate in candidates or ():
        content = candidate.get("content") if type(candidate) is dict else None
        parts = content.get("parts") if type(content) is dict else _parts(candidate)
        for part in parts or ():
            if (part.get("text") if type(part) is dict else None) or _part_has_output(part):
                return True
    return False


# What a running usage sets beside the output and reasoning tokens (always set), as bits.
_SETS_INPUT = 1
_SETS_CACHED = 2


def _usage_flags(meta: dict[str, Any]) -> int:
    """Whether :func:`_read_usage_dict` of ``meta`` records the input and the cached tokens,
    as :data:`_SETS_INPUT` and :data:`_SETS_CACHED` bits: it reads it to see (a usage of
    an uncommon shape, decided once per chunk by the loop below)."""
    scratch = UsageAccumulator()
    _read_usage_dict(meta, scratch)
    fields = scratch.fields
    return ("input" in fields) * _SETS_INPUT | ("cached" in fields) * _SETS_CACHED


# An empty chunk reports no model and no usage, so reading it leaves this accumulator as it is:
# gemini_dict_has_output of it reads nothing but the candidates it is given.
_EMPTY_CHUNK: dict[str, Any] = {}
_UNUSED = UsageAccumulator()


def _candidates_have_output(candidates: Any) -> bool:
    return gemini_dict_has_output(_EMPTY_CHUNK, _UNUSED, candidates)


def is_rest_gemini_dict(chunk: dict[str, Any]) -> bool:
    """Whether ``chunk`` is a Gemini chunk as the REST API sends it, with candidates (camel
    case): a chunk :class:`GeminiDicts` reads itself."""
    return (
        "type" not in chunk
        and "choices" not in chunk
        and "usage_metadata" not in chunk
        and chunk.get("candidates") is not None
    )


_NOTHING_HELD: Any = object()


class GeminiDicts:
    """Classifies the chunks of one stream of Gemini's REST API: dicts with ``candidates``
    and the camel-case ``usageMetadata``, the same shape from the first chunk to the last.

    The classifier hands a stream's chunks to :meth:`feed_all` once its first dict is one
    (:func:`is_rest_gemini_dict`). Each such chunk is then decided in the loop, with the
    fewest lookups: the running usage is held as it came, this object remembering which
    fields it sets (no record built per chunk), and the first part's text decides the
    commonest chunk. Any other chunk goes to ``other``, the general rules; the answers and
    the usage are theirs, chunk by chunk.
    """

    __slots__ = ("held", "held_flags", "other")

    def __init__(self, other: ChunkRule) -> None:
        self.other = other
        self.held: Any = _NOTHING_HELD
        """The running usage this object last held in the accumulator."""
        self.held_flags = 0
        """What that usage sets (:func:`_usage_flags`)."""

    def feed_all(
        self, chunks: Iterable[Any], acc: UsageAccumulator, add: Callable[[bool], object]
    ) -> None:
        """``add`` whether each chunk carries output, in turn, until one raises (it raises)."""
        other = self.other
        held, held_flags = self.held, self.held_flags
        try:
            for chunk in chunks:
                if (
                    type(chunk) is not dict
                    or "type" in chunk
                    or "choices" in chunk
                    or "usage_metadata" in chunk
                    or (candidates := chunk.get("candidates")) is None
                ):
                    add(other(chunk, acc))
                    continue
                if acc.model is None:
                    acc.family = "gemini"
                    acc.set_model(chunk.get("model_version") or chunk.get("modelVersion"))
                meta = chunk.get("usageMetadata")
                if type(meta) is dict:
                    # _usage_flags(meta), decided inline for the commonest usages
                    cached = meta.get("cachedContentTokenCount")
                    flags = (
                        (_SETS_INPUT if cached is None else _SETS_INPUT | _SETS_CACHED)
                        if type(meta.get("promptTokenCount")) is int
                        and (cached is None or type(cached) is int)
                        and "prompt_token_count" not in meta
                        and "cached_content_token_count" not in meta
                        else _usage_flags(meta)
                    )
                    # None held, another reader's, or one that set a field this one does not:
                    # that one is read before this one replaces it.
                    if acc.held is not held or held_flags & ~flags:
                        acc.release()
                        acc.read_held = _read_usage_dict
                    acc.held = held = meta
                    held_flags = flags
                elif meta is not None:
                    _read_usage_metadata(meta, acc)
                if (  # the first part has text: the commonest chunk
                    type(candidates) is list
                    and candidates
                    and type(first := candidates[0]) is dict
                    and type(content := first.get("content")) is dict
                    and type(parts := content.get("parts")) is list
                    and parts
                    and type(part := parts[0]) is dict
                    and part.get("text")
                ):
                    add(True)
                else:
                    add(_candidates_have_output(candidates))
        finally:
            self.held, self.held_flags = held, held_flags
