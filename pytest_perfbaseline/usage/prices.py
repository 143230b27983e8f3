"""Model prices: the built-in table, user price files and model-name lookup.

All rates are USD per 1,000,000 tokens. A :class:`ModelPrice` has four of them: plain
(uncached) input, output, cached input (a cache *read*) and cache writes. A
:class:`PriceTable` maps model names to prices and resolves the names providers report,
such as dated snapshots (``claude-sonnet-4-5-20250929``) and provider prefixes
(``openai/gpt-4o``), without ever guessing: a model it cannot resolve has no price.

The built-in table ships as ``prices.json`` next to this module and records the date it was
taken and its sources. Users extend or override it with a TOML or JSON file (the
``perf_prices`` ini option), read by :func:`load_price_file`, which also accepts LiteLLM's
``model_prices_and_context_window.json`` as is. See ``docs/prices.md``.
"""

from __future__ import annotations

import datetime
import functools
import importlib
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .tokens import Usage

__all__ = [
    "ModelPrice",
    "PriceFileError",
    "PriceTable",
    "load_price_file",
]

_PER_MILLION = 1_000_000

# Keys of one model entry in our own TOML / JSON format.
_PRICE_KEYS = ("input", "output", "cached_input", "cache_write")
_ENTRY_KEYS = (*_PRICE_KEYS, "note")
# Top-level keys of our own format.
_TOP_KEYS = ("models", "taken", "sources", "note")

# LiteLLM's per-token fields that this module reads (USD per token).
_LITELLM_INPUT = "input_cost_per_token"
_LITELLM_OUTPUT = "output_cost_per_token"
_LITELLM_CACHE_READ = "cache_read_input_token_cost"
_LITELLM_CACHE_WRITE = "cache_creation_input_token_cost"
_LITELLM_FIELDS = (_LITELLM_INPUT, _LITELLM_OUTPUT, _LITELLM_CACHE_READ, _LITELLM_CACHE_WRITE)
_LITELLM_SKIPPED_ENTRIES = frozenset({"sample_spec"})

# Modules tried, in order, to parse TOML (tomllib is in the standard library from 3.11).
_TOML_MODULES = ("tomllib", "tomli")

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


def _check_rate(value: object) -> float | None:
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
        for name in _PRICE_KEYS:
            value = getattr(self, name)
            rate = _check_rate(value)
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
        ) / _PER_MILLION


class PriceFileError(Exception):
    """A prices file could not be used. The message names the file, the entry and the problem.

    ``str(error)`` reads like ``perf_prices file 'prices.toml': entry 'my-model': 'output'
    must be a non-negative number, got 'abc'``; problems with the whole file leave out the
    entry part. The parts are also available as ``path``, ``entry`` (None for the whole
    file) and ``problem``.
    """

    def __init__(self, path: str, problem: str, entry: str | None = None) -> None:
        self.path = path
        self.entry = entry
        self.problem = problem
        where = f"perf_prices file {path!r}"
        if entry is not None:
            where += f": entry {entry!r}"
        super().__init__(f"{where}: {problem}")


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
    text = resources.files(__package__ or "pytest_perfbaseline").joinpath("prices.json")
    name = "pytest_perfbaseline/usage/prices.json (built-in)"
    try:
        data = _parse_json(text.read_text(encoding="utf-8"), name)
    except OSError as exc:  # pragma: no cover - a broken installation
        raise PriceFileError(name, f"cannot read the built-in price table: {exc}") from exc
    parsed = _parse_ours(data, name)
    if parsed.taken is None:  # pragma: no cover - guarded by the tests
        raise PriceFileError(name, "the built-in table has no 'taken' date")
    return PriceTable(parsed.prices, taken=parsed.taken, sources=parsed.sources)


# --------------------------------------------------------------------------- price files


@dataclass(frozen=True)
class _ParsedFile:
    prices: dict[str, ModelPrice]
    taken: str | None
    sources: dict[str, str]


def load_price_file(path: str | os.PathLike[str]) -> dict[str, ModelPrice]:
    """Read a prices file and return its prices by model name (USD per 1,000,000 tokens).

    The format is chosen by the extension (``.toml`` or ``.json``) or, for other names, by
    the content (JSON starts with ``{``):

    - our TOML: ``[models."name"]`` tables with ``input``, ``output`` and optional
      ``cached_input`` / ``cache_write`` (both default to ``input``) and ``note``;
    - our JSON: ``{"models": {"name": {...same keys...}}}`` with an optional ``"taken"``;
    - LiteLLM's ``model_prices_and_context_window.json`` as is (recognised by its
      ``*_cost_per_token`` keys; prices per token). Its ``sample_spec`` entry and entries
      without both ``input_cost_per_token`` and ``output_cost_per_token`` are skipped.

    Raises :class:`PriceFileError` naming the file, the entry and the problem for a missing
    or unreadable file, bad syntax, unknown keys, missing or invalid prices.
    """
    name = os.fspath(path)
    try:
        raw = Path(name).read_bytes()
    except FileNotFoundError:
        raise PriceFileError(name, "file not found") from None
    except IsADirectoryError:
        raise PriceFileError(name, "is a directory, not a file") from None
    except OSError as exc:
        raise PriceFileError(name, f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PriceFileError(
            name, f"not valid UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None

    suffix = Path(name).suffix.lower()
    if suffix == ".json" or (suffix != ".toml" and text.lstrip().startswith("{")):
        data = _parse_json(text, name)
        if _looks_like_litellm(data):
            return _parse_litellm(data, name)
    else:
        data = _parse_toml(text, name)
    return _parse_ours(data, name).prices


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _parse_json(text: str, name: str) -> dict[str, Any]:
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise PriceFileError(
            name, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except _DuplicateKeyError as exc:
        raise PriceFileError(name, "appears more than once in the file", entry=exc.key) from None
    if not isinstance(data, dict):
        raise PriceFileError(
            name, f"the top level must be a JSON object, got {type(data).__name__}"
        )
    return data


def _toml_loads() -> tuple[Callable[[str], dict[str, Any]], type[Exception]] | None:
    for module_name in _TOML_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        loads: Callable[[str], dict[str, Any]] = module.loads
        error: type[Exception] = module.TOMLDecodeError
        return loads, error
    return None


def _parse_toml(text: str, name: str) -> dict[str, Any]:
    parser = _toml_loads()
    if parser is None:
        raise PriceFileError(
            name,
            "reading a TOML prices file needs Python 3.11+ or the 'tomli' package; "
            "install tomli or write the prices as JSON, which works everywhere",
        )
    loads, decode_error = parser
    try:
        return loads(text)
    except decode_error as exc:
        raise PriceFileError(name, f"invalid TOML: {exc}") from None


def _looks_like_litellm(data: Mapping[str, Any]) -> bool:
    for key, entry in data.items():
        if key in _LITELLM_SKIPPED_ENTRIES:
            return True
        if isinstance(entry, Mapping) and any(
            isinstance(field, str) and field.endswith("_cost_per_token") for field in entry
        ):
            return True
    return False


def _describe(value: object) -> str:
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _check_date(value: object, name: str) -> str:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise PriceFileError(name, f"'taken' must be a date written YYYY-MM-DD, got {_describe(value)}")


def _parse_ours(data: Mapping[str, Any], name: str) -> _ParsedFile:
    unknown = [key for key in data if key not in _TOP_KEYS]
    if unknown:
        raise PriceFileError(
            name,
            f"unknown top-level key(s) {', '.join(repr(k) for k in unknown)}; accepted keys: "
            f"{', '.join(_TOP_KEYS)} (or use LiteLLM's model_prices_and_context_window.json "
            "format, whose entries have *_cost_per_token keys)",
        )
    if "models" not in data:
        raise PriceFileError(
            name,
            "no 'models' table: write [models.\"<model name>\"] tables (TOML) or a "
            '"models" object (JSON)',
        )
    models = data["models"]
    if not isinstance(models, Mapping):
        raise PriceFileError(name, f"'models' must be a table of models, got {_describe(models)}")

    taken = _check_date(data["taken"], name) if "taken" in data else None
    sources = data.get("sources", {})
    if not isinstance(sources, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in sources.items()
    ):
        raise PriceFileError(name, "'sources' must map names to URL strings")
    if "note" in data and not isinstance(data["note"], str):
        raise PriceFileError(name, f"'note' must be a string, got {_describe(data['note'])}")

    prices: dict[str, ModelPrice] = {}
    seen: dict[str, str] = {}
    for model, entry in models.items():
        if not model.strip():
            raise PriceFileError(name, "the model name is empty", entry=model)
        folded = model.strip().lower()
        if folded in seen:
            raise PriceFileError(
                name,
                f"the same model as entry {seen[folded]!r} (names are case-insensitive)",
                entry=model,
            )
        seen[folded] = model
        prices[model] = _parse_entry(entry, model, name)
    return _ParsedFile(prices=prices, taken=taken, sources=dict(sources))


def _parse_entry(entry: object, model: str, name: str) -> ModelPrice:
    if not isinstance(entry, Mapping):
        raise PriceFileError(
            name,
            f"must be a table of prices ({', '.join(_ENTRY_KEYS)}), got {_describe(entry)}",
            entry=model,
        )
    unknown = [key for key in entry if key not in _ENTRY_KEYS]
    if unknown:
        raise PriceFileError(
            name,
            f"unknown key(s) {', '.join(repr(k) for k in unknown)}; accepted keys: "
            f"{', '.join(_ENTRY_KEYS)}",
            entry=model,
        )
    for required in ("input", "output"):
        if required not in entry:
            raise PriceFileError(
                name, f"missing {required!r} (USD per 1,000,000 tokens)", entry=model
            )
    rates: dict[str, float] = {}
    for key in _PRICE_KEYS:
        if key not in entry:
            continue
        rate = _check_rate(entry[key])
        if rate is None:
            raise PriceFileError(
                name,
                f"{key!r} must be a non-negative number, got {_describe(entry[key])}",
                entry=model,
            )
        rates[key] = rate
    if "note" in entry and not isinstance(entry["note"], str):
        raise PriceFileError(
            name, f"'note' must be a string, got {_describe(entry['note'])}", entry=model
        )
    return ModelPrice(
        input=rates["input"],
        output=rates["output"],
        cached_input=rates.get("cached_input", rates["input"]),
        cache_write=rates.get("cache_write", rates["input"]),
    )


def _per_million(per_token: float) -> float:
    """Scale a per-token price to per million tokens without binary noise (3e-06 -> 3.0)."""
    return float(Decimal(repr(per_token)) * _PER_MILLION)


def _parse_litellm(data: Mapping[str, Any], name: str) -> dict[str, ModelPrice]:
    prices: dict[str, ModelPrice] = {}
    for model, entry in data.items():
        if model in _LITELLM_SKIPPED_ENTRIES:
            continue
        if not isinstance(entry, Mapping):
            raise PriceFileError(
                name, f"must be an object of model properties, got {_describe(entry)}", entry=model
            )
        rates: dict[str, float] = {}
        for field in _LITELLM_FIELDS:
            if field not in entry:
                continue
            rate = _check_rate(entry[field])
            if rate is None:
                raise PriceFileError(
                    name,
                    f"{field!r} must be a non-negative number (USD per token), "
                    f"got {_describe(entry[field])}",
                    entry=model,
                )
            rates[field] = _per_million(rate)
        if _LITELLM_INPUT not in rates or _LITELLM_OUTPUT not in rates:
            continue  # images, audio, embeddings...: not priced per input and output token
        prices[model] = ModelPrice(
            input=rates[_LITELLM_INPUT],
            output=rates[_LITELLM_OUTPUT],
            cached_input=rates.get(_LITELLM_CACHE_READ, rates[_LITELLM_INPUT]),
            cache_write=rates.get(_LITELLM_CACHE_WRITE, rates[_LITELLM_INPUT]),
        )
    return prices
