"""Users' price files: read a TOML or JSON file of model prices, or LiteLLM's price file.

:func:`load_price_file` reads the file named by the ``perf_prices`` ini option and returns its
prices by model name; :class:`PriceFileError` says what is wrong with a file it cannot use.
Three formats are accepted: our TOML, our JSON (the built-in ``prices.json`` is one) and
LiteLLM's ``model_prices_and_context_window.json`` as is. See ``docs/prices.md``.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .rates import PER_MILLION, PRICE_KEYS, ModelPrice, check_rate

__all__ = ["ParsedFile", "PriceFileError", "load_price_file", "parse_json_table"]

# Keys of one model entry in our own TOML / JSON format.
_ENTRY_KEYS = (*PRICE_KEYS, "note")
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


@dataclass(frozen=True)
class ParsedFile:
    """A file in our format: its prices by model name, its ``taken`` date and its sources."""

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


def parse_json_table(text: str, name: str) -> ParsedFile:
    """Parse ``text``, a JSON file in our format that ``name`` names in error messages."""
    return _parse_ours(_parse_json(text, name), name)


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


def _parse_ours(data: Mapping[str, Any], name: str) -> ParsedFile:
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
    return ParsedFile(prices=prices, taken=taken, sources=dict(sources))


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
    rates = _read_rates(entry, PRICE_KEYS, model, name)
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


def _read_rates(
    entry: Mapping[str, Any], fields: tuple[str, ...], model: str, name: str, *, unit: str = ""
) -> dict[str, float]:
    """The rates ``entry`` has among ``fields``; one that is present but invalid is an error."""
    rates: dict[str, float] = {}
    for field in fields:
        if field not in entry:
            continue
        rate = check_rate(entry[field])
        if rate is None:
            raise PriceFileError(
                name,
                f"{field!r} must be a non-negative number{unit}, got {_describe(entry[field])}",
                entry=model,
            )
        rates[field] = rate
    return rates


def _per_million(per_token: float) -> float:
    """Scale a per-token price to per million tokens without binary noise (3e-06 -> 3.0)."""
    return float(Decimal(repr(per_token)) * PER_MILLION)


def _parse_litellm(data: Mapping[str, Any], name: str) -> dict[str, ModelPrice]:
    prices: dict[str, ModelPrice] = {}
    for model, entry in data.items():
        if model in _LITELLM_SKIPPED_ENTRIES:
            continue
        if not isinstance(entry, Mapping):
            raise PriceFileError(
                name, f"must be an object of model properties, got {_describe(entry)}", entry=model
            )
        per_token = _read_rates(entry, _LITELLM_FIELDS, model, name, unit=" (USD per token)")
        rates = {field: _per_million(rate) for field, rate in per_token.items()}
        if _LITELLM_INPUT not in rates or _LITELLM_OUTPUT not in rates:
            continue  # images, audio, embeddings...: not priced per input and output token
        prices[model] = ModelPrice(
            input=rates[_LITELLM_INPUT],
            output=rates[_LITELLM_OUTPUT],
            cached_input=rates.get(_LITELLM_CACHE_READ, rates[_LITELLM_INPUT]),
            cache_write=rates.get(_LITELLM_CACHE_WRITE, rates[_LITELLM_INPUT]),
        )
    return prices
