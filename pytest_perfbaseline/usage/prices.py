"""Model prices: the price table and model-name lookup.

All rates are USD per 1,000,000 tokens. A :class:`ModelPrice` has four of them: plain
(uncached) input, output, cached input (a cache *read*) and cache writes. A
:class:`PriceTable` maps model names to prices and resolves the names providers report,
such as dated snapshots (``claude-sonnet-4-5-20250929``) and provider prefixes
(``openai/gpt-4o``), without ever guessing: a model it cannot resolve has no price.

The built-in table ships as ``prices.json`` next to this module and records the date it was
taken and its sources. Users extend or override it with a price file, read by
:mod:`.price_files`; a model's rates are a :class:`~.rates.ModelPrice`. See ``docs/prices.md``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from importlib import resources
from types import MappingProxyType

from .price_files import PriceFileError, parse_json_table
from .rates import ModelPrice
from .tokens import Usage

__all__ = ["ModelPrice", "PriceTable"]

# Routing prefixes that name who serves the model, not a different model. Stripped by lookup.
_PROVIDER_PREFIXES = ("openai/", "anthropic/", "gemini/", "google/", "models/", "vertex_ai/")

# Snapshot suffixes providers put on a model family's name. Each is stripped once by lookup.
_SNAPSHOT_SUFFIXES: tuple[re.Pattern[str], ...] = (
    re.compile(r"-latest$"),  # claude-3-7-sonnet-latest
    re.compile(r"-20\d{2}-\d{2}-\d{2}$"),  # OpenAI: gpt-4o-mini-2024-07-18
    re.compile(r"-20\d{6}$"),  # Anthropic: claude-sonnet-4-5-20250929
    re.compile(r"@20\d{6}$"),  # Anthropic on Vertex AI: claude-sonnet-4-5@20250929
    re.compile(r"^(gemini-.*)-\d{3}$"),  # Gemini stable versions: gemini-2.0-flash-001
)


class PriceTable:
    """Model prices by name, with the date they were taken.

    Names are matched case-insensitively. :meth:`lookup` resolves a model name in this order,
    and never by a loose prefix match (``gpt-4o-mini-tts`` is not ``gpt-4o-mini``):

    1. the name as given (trimmed, any case);
    2. the name without routing prefixes: ``openai/``, ``anthropic/``, ``gemini/``,
       ``google/``, ``models/``, ``vertex_ai/`` (``models/gemini-2.5-flash``);
    3. for each of those two names, the name without one snapshot suffix: ``-latest``,
       ``-YYYY-MM-DD`` (OpenAI), ``-YYYYMMDD`` (Anthropic), ``@YYYYMMDD`` (Anthropic on
       Vertex AI) or, for ``gemini-*`` names, a ``-NNN`` version (``gemini-2.0-flash-001``).

    An entry for the exact dated name always wins over its family, which is how snapshots
    with their own price are kept (``gpt-4o-2024-05-13`` costs more than ``gpt-4o``).
    """

    def __init__(
        self,
        prices: Mapping[str, ModelPrice],
        *,
        taken: str,
        sources: Mapping[str, str] | None = None,
    ) -> None:
        self._prices: dict[str, ModelPrice] = {
            name.strip().lower(): price for name, price in prices.items()
        }
        self.taken: str = taken
        """Date (``YYYY-MM-DD``) the prices were taken; for a merged table, the base table's."""
        self.sources: Mapping[str, str] = MappingProxyType(dict(sources or {}))
        """Where the prices come from, e.g. ``{"openai": "https://..."}``."""

    @classmethod
    def builtin(cls) -> PriceTable:
        """The built-in table (``prices.json``), loaded on first use and then shared."""
        return _builtin_table()

    @property
    def prices(self) -> Mapping[str, ModelPrice]:
        """Read-only view of the entries, keyed by lower-case model name."""
        return MappingProxyType(self._prices)

    def merged(
        self, overrides: Mapping[str, ModelPrice], *, taken: str | None = None
    ) -> PriceTable:
        """A new table with ``overrides`` added; an override replaces an entry of the same name.

        Names compare case-insensitively. ``self`` is not changed. The new table keeps this
        table's ``taken`` and ``sources`` unless ``taken`` is given.
        """
        combined = dict(self._prices)
        combined.update({name.strip().lower(): price for name, price in overrides.items()})
        return PriceTable(
            combined, taken=self.taken if taken is None else taken, sources=self.sources
        )

    def lookup(self, model: str) -> ModelPrice | None:
        """The price of ``model``, or None when the table has none (see the class docstring)."""
        for candidate in _candidates(model):
            price = self._prices.get(candidate)
            if price is not None:
                return price
        return None

    def cost(self, usage: Usage) -> float | None:
        """USD cost of ``usage``; None when ``usage.model`` is None or has no price."""
        if usage.model is None:
            return None
        price = self.lookup(usage.model)
        return None if price is None else price.cost(usage)

    def __contains__(self, model: object) -> bool:
        """True when ``model`` is a string that :meth:`lookup` resolves to a price."""
        return isinstance(model, str) and self.lookup(model) is not None

    def __len__(self) -> int:
        return len(self._prices)

    def __repr__(self) -> str:
        return f"PriceTable({len(self._prices)} models, taken={self.taken!r})"


def _candidates(model: str) -> Iterator[str]:
    """Names to try for ``model``, in lookup order (see :class:`PriceTable`)."""
    name = model.strip().lower()
    bases = [name]
    stripped = name
    while True:
        prefix = next((p for p in _PROVIDER_PREFIXES if stripped.startswith(p)), None)
        if prefix is None:
            break
        stripped = stripped[len(prefix) :]
    if stripped and stripped != name:
        bases.append(stripped)
    yield from bases
    for base in bases:
        for pattern in _SNAPSHOT_SUFFIXES:
            match = pattern.search(base)
            if match is None:
                continue
            family = match.group(1) if pattern.groups else base[: match.start()]
            if family:
                yield family


@functools.lru_cache(maxsize=1)
def _builtin_table() -> PriceTable:

    resource = resources.files(__package__ or "pytest_perfbaseline").joinpath("prices.json")
    name = "pytest_perfbaseline/usage/prices.json (built-in)"
    try:
        text = resource.read_text(encoding="utf-8")
    except OSError as exc:  # pragma: no cover - a broken installation
        raise PriceFileError(name, f"cannot read the built-in price table: {exc}") from exc
    parsed = parse_json_table(text, name)
    if parsed.taken is None:  # pragma: no cover - guarded by the tests
        raise PriceFileError(name, "the built-in table has no 'taken' date")
    return PriceTable(parsed.prices, taken=parsed.taken, sources=parsed.sources)
