"""Token usage of one model call, normalised across providers.

Providers count prompt tokens differently: OpenAI's ``prompt_tokens`` includes cached tokens,
while Anthropic's ``input_tokens`` excludes cache reads and cache writes, which it reports
separately. :class:`Usage` always uses the inclusive convention, so that ``input_tokens`` means
"every prompt token the call consumed" whoever served it, and the cache counts are parts of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["MAX_TOKENS", "Usage", "check_counts"]

MAX_TOKENS = 2**53
"""The largest token count accepted: counts become float metric values, exact up to here."""


@dataclass(frozen=True)
class Usage:
    """Token counts of one model call.

    - ``input_tokens``: all prompt tokens, *including* ``cached_input_tokens`` and
      ``cache_write_tokens``.
    - ``cached_input_tokens``: prompt tokens read from the provider's prompt cache.
    - ``cache_write_tokens``: prompt tokens written to the prompt cache (Anthropic's
      ``cache_creation_input_tokens``).
    - ``output_tokens``: all generated tokens, *including* ``reasoning_tokens``.
    - ``reasoning_tokens``: hidden reasoning ("thinking") tokens.
    """

    model: str | None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def __post_init__(self) -> None:
        check_counts(
            self.input_tokens,
            self.output_tokens,
            self.cached_input_tokens,
            self.cache_write_tokens,
            self.reasoning_tokens,
        )

    @property
    def uncached_input_tokens(self) -> int:
        """Prompt tokens billed at the plain input rate."""
        return self.input_tokens - self.cached_input_tokens - self.cache_write_tokens


_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


def _count_text(value: int) -> str:
    """``value``, or its size when printing it would be long (or refused beyond 4300 digits)."""
    if abs(value) < 10**30:
        return str(value)
    return f"an int of about {int(value.bit_length() * math.log10(2)) + 1} digits"


def check_counts(
    input_tokens: int,
    output_tokens: int,
    cached_input_tokens: int,
    cache_write_tokens: int,
    reasoning_tokens: int,
) -> tuple[int, int, int, int, int]:
    """Raise TypeError / ValueError naming the field unless the counts make a valid Usage.

    Each count is an int from 0 to :data:`MAX_TOKENS` (2**53).

    Returns them as a tuple, in the order of the arguments.
    """
    counts = (
        input_tokens,
        output_tokens,
        cached_input_tokens,
        cache_write_tokens,
        reasoning_tokens,
    )
    # Spelled out for the usual case (record_usage runs per call, the bar is 2 us); the
    # field-by-field pass only runs to name what is wrong.
    if not (
        type(input_tokens) is int
        and type(output_tokens) is int
        and type(cached_input_tokens) is int
        and type(cache_write_tokens) is int
        and type(reasoning_tokens) is int
        and min(counts) >= 0
        and max(counts) <= MAX_TOKENS
    ):
        for field, value in zip(_FIELDS, counts, strict=True):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Usage.{field} must be an int, got {value!r}")
            if value < 0:
                raise ValueError(f"Usage.{field} must be >= 0, got {_count_text(value)}")
            if value > MAX_TOKENS:
                raise ValueError(
                    f"Usage.{field} must be at most 2**53 (a count a float holds exactly), "
                    f"got {_count_text(value)}"
                )
    if cached_input_tokens + cache_write_tokens > input_tokens:
        raise ValueError(
            "Usage.input_tokens counts all prompt tokens, so it must be at least "
            "cached_input_tokens + cache_write_tokens "
            f"({input_tokens} < {cached_input_tokens} + {cache_write_tokens})"
        )
    if reasoning_tokens > output_tokens:
        raise ValueError(
            "Usage.output_tokens counts all generated tokens, so it must be at least "
            f"reasoning_tokens ({output_tokens} < {reasoning_tokens})"
        )
    return counts
