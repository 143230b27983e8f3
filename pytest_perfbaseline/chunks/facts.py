"""What a stream's chunks say about themselves, and the readers every chunk family shares.

:class:`StreamFacts` is the result of classifying a finished stream. :class:`UsageAccumulator`
collects the usage fields a stream reports as it goes. :func:`get_field` reads a field of a
chunk that is either a mapping (parsed JSON) or an object with attributes (an SDK's pydantic
model), so one set of rules serves both; nothing in this package imports an SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol, TypeAlias

from ..usage.tokens import Usage

__all__ = [
    "ChunkRule",
    "EventHandler",
    "StreamFacts",
    "StreamReader",
    "StreamTotals",
    "TokenSource",
    "UsageAccumulator",
    "as_int",
    "extra_field",
    "get_field",
    "is_named_call",
    "no_output",
    "starts_or_extends_call",
]

TokenSource = Literal["usage", "counter", "chunks"]


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


class StreamTotals(NamedTuple):
    """What a stream's chunks said, without which of them carried output: what the round's
    metrics need of a stream that was classified as it arrived."""

    output_tokens: int
    token_source: TokenSource
    usage: Usage | None
    model: str | None


# isinstance(x, Mapping) costs ~200 ns (an ABC check); this runs for every field of every
# chunk, so the answer is cached per type.
_MAPPING_TYPES: dict[type, bool] = {dict: True}


def get_field(obj: Any, key: str) -> Any:
    """``obj[key]`` for a mapping, ``obj.key`` for an object; None when it is absent."""
    kind = type(obj)
    is_mapping = _MAPPING_TYPES.get(kind)
    if is_mapping is None:
        is_mapping = _MAPPING_TYPES[kind] = isinstance(obj, Mapping)
    if is_mapping:
        return obj.get(key)
    return getattr(obj, key, None)


_ABSENT: Any = object()


def extra_field(obj: Any, key: str) -> Any:
    """``get_field(obj, key)`` for a field few chunks of a class have (a server's extension).

    On a pydantic model (an SDK's chunk) an extension field lives in ``__pydantic_extra__``
    and a declared one in ``__dict__``; reading both directly avoids the cost of probing the
    model for an attribute it lacks (pydantic raises and catches an error, ~2.5 us a time).
    """
    extra: Any = getattr(obj, "__pydantic_extra__", _ABSENT)
    if extra is _ABSENT:
        return get_field(obj, key)
    value = extra.get(key) if extra else None
    if value is None:
        value = getattr(obj, "__dict__", {}).get(key)
    return value


def starts_or_extends_call(call: Any) -> bool:
    """Whether a tool-call delta carries output: it names the tool or adds argument text.

    The one rule for tool calls in every family: the tool's name and the arguments are
    generated tokens, an empty argument fragment (a keep-alive, an index-only delta) is not.
    """
    return bool(get_field(call, "name") or get_field(call, "arguments"))


def is_named_call(item: Any, call_types: frozenset[str]) -> bool:
    """Whether ``item`` (a content block, an output item) starts a tool call: one of
    ``call_types`` that names its tool."""
    return (
        item is not None and get_field(item, "type") in call_types and bool(get_field(item, "name"))
    )


def as_int(value: Any) -> int | None:
    """``value`` as an int when it is an integral number (not a bool), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


class UsageAccumulator:
    """Collects usage fields as a stream reports them; later reports overwrite earlier ones.

    Every provider reports usage as running totals (OpenAI once at the end, Anthropic in
    ``message_start`` then cumulatively in ``message_delta``, Gemini on every chunk), so
    "last value wins" per field is correct for all of them, and adding up would not be.
    """

    __slots__ = ("family", "fields", "held", "inclusive_input", "model", "read_held")

    def __init__(self) -> None:
        self.fields: dict[str, int] = {}
        self.held: Any = None
        """A report kept unread, that ``read_held(held, self)`` reads.

        A running total repeated on every chunk (Gemini's) is held in place of the previous
        one, unread, when it sets every field that one set, and so is read once, at the end.
        Any other field recorded meanwhile reads the held report first (:meth:`release`), so
        the reports are still applied in the order they came."""
        self.read_held: Callable[[Any, UsageAccumulator], None] | None = None
        # OpenAI and Gemini count cached prompt tokens inside the prompt total; Anthropic
        # reports cache reads and writes beside input_tokens.
        self.inclusive_input = True
        self.model: str | None = None
        self.family: str | None = None
        """Set where a family's rules read the model (once a stream, not per chunk)."""

    def release(self) -> None:
        """Read the report held, if any (see :attr:`held`)."""
        held, read = self.held, self.read_held
        if held is not None and read is not None:
            self.held = None
            read(held, self)

    def set(self, field: str, value: Any) -> None:
        """Record ``field`` when ``value`` is an integral number; ignore it otherwise."""
        if self.held is not None:
            self.release()
        number = as_int(value)
        if number is not None:
            self.fields[field] = number

    def set_model(self, value: Any) -> None:
        """Record the model name, unless one was already recorded or ``value`` is no name."""
        if self.model is None and isinstance(value, str) and value:
            self.model = value

    def result(self) -> Usage | None:
        """The usage reported, normalised; None when neither input nor output was reported."""
        self.release()
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


EventHandler: TypeAlias = Callable[[Any, UsageAccumulator], bool]
"""Reads one event of a known ``type``: records what it reports, returns whether it has output."""

ChunkRule: TypeAlias = Callable[[Any, UsageAccumulator], bool]
"""Reads any chunk: records what it reports, returns whether it has output."""


class StreamReader(Protocol):
    """Reads the chunks of one stream whose chunks share a shape, decided by its first one."""

    def feed_all(
        self, chunks: Iterable[Any], acc: UsageAccumulator, add: Callable[[bool], object]
    ) -> None:
        """``add`` whether each chunk carries output, in turn, until one raises (it raises)."""


def no_output(chunk: Any, acc: UsageAccumulator) -> bool:
    """Handler of events that carry neither output nor usage."""
    return False
