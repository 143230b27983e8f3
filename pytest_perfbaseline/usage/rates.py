"""One model's rates: :class:`ModelPrice`, USD per 1,000,000 tokens, and what a rate may be."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .tokens import Usage

__all__ = ["PER_MILLION", "PRICE_KEYS", "ModelPrice", "check_rate"]

PER_MILLION = 1_000_000
"""Tokens per price unit: every rate here is USD per this many tokens."""

PRICE_KEYS = ("input", "output", "cached_input", "cache_write")
"""The rates of a :class:`ModelPrice`, as named in price files."""


def check_rate(value: object) -> float | None:
    """``value`` as a float when it is a finite, non-negative number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number) or number < 0:
        return None
    return number


@dataclass(frozen=True)
class ModelPrice:
    """Prices of one model in USD per 1,000,000 tokens.

    - ``input``: plain (uncached) prompt tokens.
    - ``output``: generated tokens, reasoning ("thinking") tokens included.
    - ``cached_input``: prompt tokens read from the provider's prompt cache.
    - ``cache_write``: prompt tokens written to the prompt cache. Providers without a
      cache-write fee (OpenAI, Google) bill these at the plain input rate, so for them
      ``cache_write == input``.
    """

    input: float
    output: float
    cached_input: float
    cache_write: float

    def __post_init__(self) -> None:
        for name in PRICE_KEYS:
            value = getattr(self, name)
            rate = check_rate(value)
            if rate is None:
                raise ValueError(f"ModelPrice.{name} must be a non-negative number, got {value!r}")
            object.__setattr__(self, name, rate)

    def cost(self, usage: Usage) -> float:
        """USD cost of ``usage`` at these prices.

        ``(uncached_input * input + cached_input_tokens * cached_input
        + cache_write_tokens * cache_write + output_tokens * output) / 1,000,000``.
        The model named in ``usage`` is not checked.
        """
        return (
            usage.uncached_input_tokens * self.input
            + usage.cached_input_tokens * self.cached_input
            + usage.cache_write_tokens * self.cache_write
            + usage.output_tokens * self.output
        ) / PER_MILLION
