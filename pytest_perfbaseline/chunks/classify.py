"""Classify a finished stream's chunks: tell each chunk's family, ask it whether it has output.

Families and where their rules live:

- **Plain items** (``str``, ``bytes``, any unrecognised object): each non-empty item is one
  output chunk (here).
- **Events with a ``type``**: OpenAI Responses and the OpenAI chat stream helper
  (:mod:`.openai`), Anthropic Messages and its stream helper (:mod:`.anthropic`).
- **OpenAI Chat Completions** (``choices``): :mod:`.openai`.
- **Gemini** (``candidates``, or a blocked prompt's ``usage_metadata`` without them):
  :mod:`.gemini`.

:class:`ChunkClassifier` classifies a stream's chunks one at a time as they arrive, so that
``perf.stream`` keeps no chunk object, only the times of the chunks with output. It runs for
every chunk inside the timed loop, so the commonest chunks of each family are decided inline
below rather than through the handler tables. A stream's chunks share one shape, so its first
dict decides how its dicts are read: a stream of Gemini's REST API chunks or of Chat
Completions chunks is handed to that shape's own loop (:class:`.gemini.GeminiDicts`,
:class:`.openai.ChatDicts`), which sends any chunk of another shape back to the general rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from .anthropic import EVENT_HANDLERS as ANTHROPIC_EVENTS
from .anthropic import delta_text_field
from .facts import (
    EventHandler,
    StreamFacts,
    StreamReader,
    StreamTotals,
    TokenSource,
    UsageAccumulator,
    get_field,
)
from .gemini import (
    GeminiDicts,
    gemini_chunk_has_output,
    gemini_dict_has_output,
    is_gemini_chunk,
    is_rest_gemini_dict,
)
from .openai import EVENT_HANDLERS as OPENAI_EVENTS
from .openai import RESPONSES_OUTPUT_EVENTS, ChatDicts, chat_chunk_has_output, is_chat_dict

__all__ = ["ChunkClassifier", "analyze_chunks"]

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
            if type(choices) is list and choices and acc.model is not None:
                # A chat chunk with text in its first choice and no usage: output, and nothing
                # for chat_chunk_has_output to read (it has the model already).
                first = choices[0]
                delta = first.get("delta") if type(first) is dict else None
                if type(delta) is dict and delta.get("content") and chunk.get("usage") is None:
                    return True
            return chat_chunk_has_output(chunk, acc, choices)
        candidates = chunk.get("candidates")
        if candidates is not None:  # Gemini: no need to look further
            return gemini_dict_has_output(chunk, acc, candidates)
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
        return gemini_dict_has_output(chunk, acc)
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


def _classify(chunk: Any, acc: UsageAccumulator) -> bool:
    """Whether any chunk carries output, by the general rules."""
    if type(chunk) is str:
        return chunk != ""
    if type(chunk) is dict:
        return _dict_has_output(chunk, acc)
    return _object_has_output(chunk, acc)


def _reader_for(chunk: dict[str, Any]) -> StreamReader | None:
    """The loop that reads a stream whose chunks have the shape of ``chunk``, if one does."""
    if is_rest_gemini_dict(chunk):
        return GeminiDicts(_classify)
    if is_chat_dict(chunk):
        return ChatDicts(_classify)
    return None


def _count_tokens(tokens: Callable[[Any], int], chunk: Any, index: int) -> int:
    n = tokens(chunk)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise TypeError(
            f"perf.stream(tokens=...) must return a non-negative int per chunk, "
            f"got {n!r} for chunk {index}"
        )
    return n


class ChunkClassifier:
    """Classifies one stream's chunks in arrival order, and sums up what they said.

    :meth:`has_output` decides one chunk (and counts its tokens with the user's ``tokens``
    counter), raising what the counter or a chunk's rules raise. :meth:`feed` is the same for
    the timed loop: it never raises; the first error is kept and raised by :meth:`totals`, after
    the stream, where the error would have surfaced had the chunks been classified then.
    """

    __slots__ = ("_acc", "_counted", "_decided", "_error", "_reader", "_seen", "_tokens", "feed")

    def __init__(self, tokens: Callable[[Any], int] | None = None) -> None:
        self._acc = UsageAccumulator()
        self._tokens = tokens
        self._counted = 0
        self._seen = 0
        self._error: Exception | None = None
        self._decided = False
        """Whether :meth:`feed_all` has seen a dict, which decides how it reads the others."""
        self._reader: StreamReader | None = None
        """The stream's own loop, when that dict is of a shape that has one."""
        self.feed: Callable[[Any], bool] = self._feed if tokens is None else self._feed_counted
        """Whether a chunk carries output; never raises (see :meth:`totals`)."""

    def has_output(self, chunk: Any) -> bool:
        """Whether ``chunk``, the next of the stream, carries output."""
        index = self._seen
        self._seen = index + 1
        if type(chunk) is str:  # the commonest chunk, decided without a call
            if not chunk:
                return False
        elif type(chunk) is dict:
            if not _dict_has_output(chunk, self._acc):
                return False
        elif not _object_has_output(chunk, self._acc):
            return False
        tokens = self._tokens
        if tokens is not None:
            n = _count_tokens(tokens, chunk, index)
            if n == 0:
                return False
            self._counted += n
        return True

    def _feed(self, chunk: Any) -> bool:
        try:
            if type(chunk) is str:
                return chunk != ""
            if type(chunk) is dict:
                return _dict_has_output(chunk, self._acc)
            return _object_has_output(chunk, self._acc)
        except Exception as exc:  # raised by totals(), after the stream
            self._keep(exc)
            return False

    def _feed_counted(self, chunk: Any) -> bool:
        try:
            return self.has_output(chunk)
        except Exception as exc:
            self._keep(exc)
            return False

    def feed_all(self, chunks: Iterable[Any]) -> bytearray:
        """:meth:`feed` of each chunk in turn, as 1 (output) or 0 (none)."""
        if self._tokens is not None:
            return bytearray(map(self.feed, chunks))
        flags = bytearray()
        rest = iter(chunks)
        try:
            self._feed_each(rest, flags.append)
        except Exception as exc:
            self._keep(exc)
            flags.append(False)
            flags.extend(map(self.feed, rest))
        return flags

    def _feed_each(self, rest: Iterator[Any], add: Callable[[bool], object]) -> None:
        acc = self._acc
        reader = self._reader
        if reader is None:
            decided = self._decided
            for chunk in rest:  # _classify of each chunk, without a call per chunk
                if type(chunk) is str:
                    add(chunk != "")
                elif type(chunk) is not dict:
                    add(_object_has_output(chunk, acc))
                else:
                    add(_dict_has_output(chunk, acc))
                    if not decided:  # the first dict: the stream's others share its shape
                        decided = self._decided = True
                        reader = self._reader = _reader_for(chunk)
                        if reader is not None:
                            break
        if reader is not None:
            reader.feed_all(rest, acc, add)

    def _keep(self, error: Exception) -> None:
        if self._error is None:
            self._error = error

    @property
    def family(self) -> str | None:
        """The provider family whose rules read the stream's model ("openai", "anthropic",
        "gemini"); None for plain chunks (text, objects of no known family)."""
        return self._acc.family

    def totals(self, output_chunks: int) -> StreamTotals:
        """What the stream said, given how many of its chunks carried output."""
        if self._error is not None:
            raise self._error
        acc = self._acc
        usage = acc.result()
        source: TokenSource
        if usage is not None and "output" in acc.fields:
            source, count = "usage", usage.output_tokens
        elif self._tokens is not None:
            source, count = "counter", self._counted
        else:
            source, count = "chunks", output_chunks
        return StreamTotals(count, source, usage, acc.model)


def analyze_chunks(
    chunks: Sequence[Any], tokens: Callable[[Any], int] | None = None
) -> StreamFacts:
    """Classify a finished stream's chunks.

    ``tokens`` is the user's ``chunk -> int`` counter. A chunk it counts as 0 carries no
    output (that is how a caller marks keep-alives in a custom stream).
    """
    classifier = ChunkClassifier(tokens)
    has_output = classifier.has_output
    output = tuple(index for index, chunk in enumerate(chunks) if has_output(chunk))
    totals = classifier.totals(len(output))
    return StreamFacts(
        output_indices=output,
        output_tokens=totals.output_tokens,
        token_source=totals.token_source,
        usage=totals.usage,
        model=totals.model,
    )
