"""Tests for the price table: costs, name lookup, price files and their errors."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_perfbaseline.usage import price_files
from pytest_perfbaseline.usage.price_files import PriceFileError, load_price_file
from pytest_perfbaseline.usage.prices import ModelPrice, PriceTable
from pytest_perfbaseline.usage.tokens import Usage

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def table() -> PriceTable:
    return PriceTable.builtin()


def _approx(value: float) -> object:
    return pytest.approx(value, rel=1e-12, abs=0)


# --------------------------------------------------------------------------- costs


def test_claude_sonnet_4_5_cost_with_cache_read_and_write(table: PriceTable) -> None:
    usage = Usage(
        "claude-sonnet-4-5",
        input_tokens=1000,  # 700 uncached + 200 cache read + 100 cache write
        output_tokens=500,
        cached_input_tokens=200,
        cache_write_tokens=100,
    )
    # (700 * 3 + 200 * 0.30 + 100 * 3.75 + 500 * 15) / 1e6
    # = (2100 + 60 + 375 + 7500) / 1e6 = 10035 / 1e6
    assert table.cost(usage) == _approx(0.010035)


def test_openai_cost_with_cached_and_reasoning_tokens(table: PriceTable) -> None:
    # gpt-4o-mini: input 0.15, cached input 0.075, output 0.60 per million.
    usage = Usage(
        "gpt-4o-mini",
        input_tokens=2000,
        output_tokens=300,
        cached_input_tokens=1500,
        reasoning_tokens=100,  # already inside output_tokens: billed once, at the output rate
    )
    # (500 * 0.15 + 1500 * 0.075 + 300 * 0.60) / 1e6 = (75 + 112.5 + 180) / 1e6
    assert table.cost(usage) == _approx(367.5e-6)


def test_openai_cache_writes_bill_at_the_input_rate(table: PriceTable) -> None:
    price = table.lookup("gpt-4.1")
    assert price == ModelPrice(input=2.0, output=8.0, cached_input=0.5, cache_write=2.0)
    usage = Usage("gpt-4.1", input_tokens=1000, output_tokens=0, cache_write_tokens=400)
    # (600 * 2.0 + 400 * 2.0) / 1e6: writing to the cache costs what plain input costs
    assert table.cost(usage) == _approx(2000e-6)


def test_gemini_cost(table: PriceTable) -> None:
    usage = Usage(
        "gemini-2.5-pro", input_tokens=10_000, output_tokens=2_000, cached_input_tokens=4_000
    )
    # (6000 * 1.25 + 4000 * 0.125 + 2000 * 10) / 1e6 = (7500 + 500 + 20000) / 1e6
    assert table.cost(usage) == _approx(0.028)


def test_claude_sonnet_5_5_cost_uses_the_cut_cache_read_rate(table: PriceTable) -> None:
    # claude-sonnet-5-5: input 2.00, output 10.00, 5-minute cache write 2.50, and cache reads
    # at 0.10 since the 2026-10-07 cut (0.20 before).
    usage = Usage(
        "claude-sonnet-5-5",
        input_tokens=1000,  # 700 uncached + 200 cache read + 100 cache write
        output_tokens=500,
        cached_input_tokens=200,
        cache_write_tokens=100,
    )
    # (700 * 2.00 + 200 * 0.10 + 100 * 2.50 + 500 * 10.00) / 1e6
    # = (1400 + 20 + 250 + 5000) / 1e6 = 6670 / 1e6
    assert table.cost(usage) == _approx(0.00667)


def test_claude_haiku_5_5_cost_at_the_base_prompt_tier(table: PriceTable) -> None:
    # claude-haiku-5-5, prompts up to 100k tokens: input 0.10, output 0.50, cache read 0.01,
    # 5-minute cache write 0.125. The table always applies this base tier.
    usage = Usage(
        "claude-haiku-5-5",
        input_tokens=10_000,  # 6000 uncached + 3000 cache read + 1000 cache write
        output_tokens=2_000,
        cached_input_tokens=3_000,
        cache_write_tokens=1_000,
    )
    # (6000 * 0.10 + 3000 * 0.01 + 1000 * 0.125 + 2000 * 0.50) / 1e6
    # = (600 + 30 + 125 + 1000) / 1e6 = 1755 / 1e6
    assert table.cost(usage) == _approx(1755e-6)


def test_gpt_5_6_luna_cost_with_cached_input(table: PriceTable) -> None:
    # gpt-5.6-luna after the 2026-07-30 cut: input 0.20, cached input 0.02, output 1.20.
    usage = Usage(
        "gpt-5.6-luna",
        input_tokens=2000,
        output_tokens=300,
        cached_input_tokens=1500,
        reasoning_tokens=100,  # part of output_tokens: billed once, at the output rate
    )
    # (500 * 0.20 + 1500 * 0.02 + 300 * 1.20) / 1e6 = (100 + 30 + 360) / 1e6
    assert table.cost(usage) == _approx(490e-6)


def test_gpt_5_6_cache_writes_bill_at_1_25x_input(table: PriceTable) -> None:
    # From GPT-5.6 on, OpenAI bills cache writes at 1.25x the uncached input rate.
    usage = Usage("gpt-5.6-terra", input_tokens=1000, output_tokens=0, cache_write_tokens=400)
    # (600 * 2.00 + 400 * 2.50) / 1e6 = (1200 + 1000) / 1e6
    assert table.cost(usage) == _approx(2200e-6)


def test_gpt_5_4_mini_snapshot_cost_with_cached_input(table: PriceTable) -> None:
    # A dated snapshot is priced as its family: gpt-5.4-mini 0.75 / cached 0.075 / output 4.50.
    usage = Usage(
        "gpt-5.4-mini-2026-03-17", input_tokens=2000, output_tokens=300, cached_input_tokens=1500
    )
    # (500 * 0.75 + 1500 * 0.075 + 300 * 4.50) / 1e6 = (375 + 112.5 + 1350) / 1e6
    assert table.cost(usage) == _approx(1837.5e-6)


def test_gemini_3_5_flash_cost(table: PriceTable) -> None:
    usage = Usage(
        "models/gemini-3.5-flash",
        input_tokens=10_000,
        output_tokens=2_000,
        cached_input_tokens=4_000,
    )
    # (6000 * 1.50 + 4000 * 0.15 + 2000 * 9.00) / 1e6 = (9000 + 600 + 18000) / 1e6
    assert table.cost(usage) == _approx(0.0276)


def test_model_price_cost_ignores_the_usage_model() -> None:
    price = ModelPrice(input=1.0, output=2.0, cached_input=0.5, cache_write=1.5)
    usage = Usage(
        "anything", input_tokens=10, output_tokens=20, cached_input_tokens=4, cache_write_tokens=2
    )
    # (4 * 1.0 + 4 * 0.5 + 2 * 1.5 + 20 * 2.0) / 1e6 = (4 + 2 + 3 + 40) / 1e6
    assert price.cost(usage) == _approx(49e-6)


def test_cost_is_none_without_a_model_or_a_price(table: PriceTable) -> None:
    assert table.cost(Usage(None, input_tokens=10, output_tokens=10)) is None
    assert table.cost(Usage("no-such-model", input_tokens=10, output_tokens=10)) is None


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), True, "1.0", None])
def test_model_price_rejects_invalid_rates(bad: object) -> None:
    with pytest.raises(ValueError, match=r"ModelPrice\.output must be a non-negative number"):
        ModelPrice(input=1.0, output=bad, cached_input=1.0, cache_write=1.0)  # type: ignore[arg-type]


def test_model_price_stores_ints_as_floats() -> None:
    price = ModelPrice(input=3, output=15, cached_input=0, cache_write=4)
    assert isinstance(price.input, float)
    assert price == ModelPrice(input=3.0, output=15.0, cached_input=0.0, cache_write=4.0)


# --------------------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("o3-2025-04-16", "o3"),
        ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        # newer families: OpenAI keeps -YYYY-MM-DD snapshots
        ("gpt-5.2-2025-12-11", "gpt-5.2"),
        ("gpt-5.4-2026-03-05", "gpt-5.4"),
        ("gpt-5.4-mini-2026-03-17", "gpt-5.4-mini"),
        ("gpt-5.4-nano-2026-03-17", "gpt-5.4-nano"),
        ("gpt-5.5-2026-04-23", "gpt-5.5"),
        ("gpt-5.6-sol-2026-07-09", "gpt-5.6-sol"),
        # Claude 5.x ids carry no date; a dated or Vertex-style id would still resolve
        ("claude-sonnet-5-5-20261007", "claude-sonnet-5-5"),
        ("claude-opus-5@20260724", "claude-opus-5"),
    ],
)
def test_dated_ids_resolve_to_their_family(table: PriceTable, model: str, family: str) -> None:
    price = table.lookup(model)
    assert price is not None
    assert price == table.prices[family]
    assert model in table


def test_a_snapshot_with_its_own_price_wins_over_its_family(table: PriceTable) -> None:
    assert table.lookup("gpt-4o-2024-05-13") == ModelPrice(
        input=5.0, output=15.0, cached_input=5.0, cache_write=5.0
    )
    assert table.lookup("gpt-4o") == ModelPrice(
        input=2.5, output=10.0, cached_input=1.25, cache_write=2.5
    )


def test_point_releases_have_their_own_entries(table: PriceTable) -> None:
    # A .5 release is its own model with its own price, never its predecessor's.
    assert table.lookup("claude-opus-5-5") != table.lookup("claude-opus-5")
    assert table.lookup("claude-sonnet-5-5") != table.lookup("claude-sonnet-5")
    assert table.lookup("claude-fable-5-1") != table.lookup("claude-fable-5")
    assert table.lookup("gpt-6.1-sol") != table.lookup("gpt-6-sol")
    # gpt-5.6 is OpenAI's alias of gpt-5.6-sol.
    assert table.lookup("gpt-5.6") == table.lookup("gpt-5.6-sol")


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("openai/gpt-4o", "gpt-4o"),
        ("anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("gemini/gemini-2.5-pro", "gemini-2.5-pro"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("google/gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
        ("vertex_ai/claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("GPT-4o", "gpt-4o"),
        ("  Claude-Haiku-4-5  ", "claude-haiku-4-5"),
        ("OpenAI/GPT-4O-2024-05-13", "gpt-4o-2024-05-13"),
        ("anthropic/claude-opus-5-5", "claude-opus-5-5"),
        ("vertex_ai/claude-haiku-5-5", "claude-haiku-5-5"),
        ("openai/gpt-6-sol", "gpt-6-sol"),
        ("gemini/gemini-3.8-flash", "gemini-3.8-flash"),
        ("vertex_ai/gemini-3.1-pro-preview", "gemini-3.1-pro-preview"),
    ],
)
def test_provider_prefixes_and_case_are_ignored(table: PriceTable, model: str, family: str) -> None:
    assert table.lookup(model) == table.prices[family]


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o-mini-tts",  # not gpt-4o-mini
        "gpt-4o-audio-preview",  # not gpt-4o
        "gpt-4o-realtime-preview-2024-12-17",  # date stripped; gpt-4o-realtime-preview unknown
        "gpt-4o-mini-transcribe",
        "o3-mini-high",
        "gpt-5-chat-latest",  # -latest stripped, but gpt-5-chat is unknown
        "gpt-4",  # a shorter name is not a family of gpt-4o
        "claude-sonnet",
        "claude-sonnet-4-5-20250929-v1:0",  # Bedrock ids are not resolved
        "gemini-2.5",
        "gemini-2.5-flash-preview-09-2025",  # preview snapshots are not stripped
        "gemini-flash-latest",
        "azure/gpt-4o",  # not a known routing prefix: Azure prices are its own
        "gpt-5.5-mini",  # no such entry: not gpt-5.5
        "gpt-5.5-pro",  # not gpt-5.5
        "gpt-5.6-mini",  # GPT-5.6 has Sol / Terra / Luna, no mini
        "gpt-5.6-luna-fast",  # not gpt-5.6-luna
        "gpt-6",  # a shorter name is not a family of gpt-6-sol
        "claude-opus-5-6",  # not claude-opus-5
        "claude-haiku-5",  # not claude-haiku-5-5
        "claude-haiku-5-5[1m]",  # Claude Code's context-window tag is not stripped
        "gemini-3.1-pro",  # only gemini-3.1-pro-preview has a price
        "gemini-3-pro-preview",  # shut down; not in the table
        "gemini-3.1-pro-preview-customtools",
        "openai/",
        "",
    ],
)
def test_no_loose_prefix_matching(table: PriceTable, model: str) -> None:
    assert table.lookup(model) is None
    assert model not in table


def test_unknown_model_has_no_price(table: PriceTable) -> None:
    assert table.lookup("my-finetune") is None
    assert "my-finetune" not in table
    assert 42 not in table


def test_suffix_rules_only_strip_real_snapshot_shapes() -> None:
    t = PriceTable({"m": ModelPrice(1.0, 1.0, 1.0, 1.0)}, taken="2026-01-01")
    assert t.lookup("m-20250101") is not None
    assert t.lookup("m-2025-01-01") is not None
    assert t.lookup("m@20250101") is not None
    assert t.lookup("m-latest") is not None
    assert t.lookup("m-001") is None  # the -NNN version suffix is Gemini's only
    assert t.lookup("m-0613") is None
    assert t.lookup("m-2025") is None
    assert t.lookup("m-20250101-latest") is None  # one suffix at a time


# --------------------------------------------------------------------------- the built-in table


def test_builtin_table_is_dated_sourced_and_shared() -> None:
    table = PriceTable.builtin()
    assert table is PriceTable.builtin()
    datetime.date.fromisoformat(table.taken)
    assert set(table.sources) >= {"openai", "anthropic", "google"}
    assert all(url.startswith("https://") for url in table.sources.values())
    assert len(table) >= 30


def test_builtin_table_is_not_loaded_at_import_time() -> None:
    code = (
        "import pytest_perfbaseline.usage.prices as p\n"
        "assert p._builtin_table.cache_info().currsize == 0\n"
        "p.PriceTable.builtin()\n"
        "assert p._builtin_table.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# Claude models whose cache reads are not Anthropic's usual 0.1x input.
_CLAUDE_CACHE_READ_RATIOS = {
    "claude-fable-5-1": 0.025,
    "claude-opus-5-5": 0.05,
    "claude-sonnet-5-5": 0.05,  # since the 2026-10-07 cut
}


def test_builtin_rates_are_consistent(table: PriceTable) -> None:
    for name, price in table.prices.items():
        assert price.output >= price.input, name
        assert price.cached_input <= price.input, name
        if name.startswith(("gpt-5.6", "gpt-6")):
            # OpenAI bills cache writes at 1.25x input from GPT-5.6 on.
            assert price.cache_write == pytest.approx(1.25 * price.input), name
        elif name.startswith(("gpt-", "o1", "o3", "o4", "gemini-")):
            # Older OpenAI models and Google charge no cache-write fee: writes bill as input.
            assert price.cache_write == price.input, name
        elif name == "claude-3-haiku":
            # The one Claude model off Anthropic's usual multipliers: 0.30 write, 0.03 read.
            assert (price.cache_write, price.cached_input) == (0.3, 0.03)
        else:
            assert name.startswith("claude-"), name
            # Anthropic: 5-minute cache writes at 1.25x input, cache reads at 0.1x input
            # unless the model is listed with its own ratio.
            ratio = _CLAUDE_CACHE_READ_RATIOS.get(name, 0.1)
            assert price.cache_write == pytest.approx(1.25 * price.input), name
            assert price.cached_input == pytest.approx(ratio * price.input), name


def test_builtin_table_covers_the_current_models(table: PriceTable) -> None:
    current = [
        "gpt-6.1-sol",
        "gpt-6.1-terra",
        "gpt-6-astra",
        "gpt-6-sol",
        "gpt-6-luna",
        "gpt-5.6-sol",
        "gpt-5.6-terra",
        "gpt-5.6-luna",
        "gpt-5.5",
        "gpt-5.4",
        "gpt-5.4-mini",
        "gpt-5.4-nano",
        "gpt-5.2",
        "claude-fable-5-1",
        "claude-opus-5-5",
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "claude-opus-5",
        "claude-sonnet-5",
        "gemini-3.8-flash",
        "gemini-3.5-flash",
        "gemini-3.5-flash-lite",
        "gemini-3.1-pro-preview",
        "gemini-3.1-flash-lite",
        "gemini-3-flash-preview",
    ]
    assert [model for model in current if model not in table] == []


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-sonnet-4-5", (3.0, 15.0, 0.30, 3.75)),
        ("claude-opus-4-5", (5.0, 25.0, 0.50, 6.25)),
        ("claude-opus-4-1", (15.0, 75.0, 1.50, 18.75)),
        ("claude-haiku-4-5", (1.0, 5.0, 0.10, 1.25)),
        ("claude-3-5-haiku", (0.80, 4.0, 0.08, 1.0)),
        ("gpt-4o", (2.5, 10.0, 1.25, 2.5)),
        ("gpt-4.1-mini", (0.4, 1.6, 0.1, 0.4)),
        ("o4-mini", (1.1, 4.4, 0.275, 1.1)),
        ("gpt-5", (1.25, 10.0, 0.125, 1.25)),
        ("gemini-2.5-flash", (0.30, 2.50, 0.03, 0.30)),
        ("claude-opus-5-5", (4.0, 20.0, 0.20, 5.0)),
        ("claude-sonnet-5-5", (2.0, 10.0, 0.10, 2.50)),  # cache reads cut on 2026-10-07
        ("claude-haiku-5-5", (0.10, 0.50, 0.01, 0.125)),  # base tier, prompts <= 100k
        ("gpt-5.2", (1.75, 14.0, 0.175, 1.75)),
        ("gpt-5.6-sol", (4.0, 20.0, 0.40, 5.0)),  # promotional rate
        ("gpt-5.6-luna", (0.20, 1.20, 0.02, 0.25)),  # after the 2026-07-30 cut
        ("gpt-6-luna", (0.10, 0.50, 0.01, 0.125)),
        ("gemini-3.8-flash", (0.75, 3.75, 0.075, 0.75)),  # introductory rate
        ("gemini-3.1-pro-preview", (2.0, 12.0, 0.20, 2.0)),
    ],
)
def test_builtin_spot_prices(table: PriceTable, model: str, expected: tuple[float, ...]) -> None:
    assert table.prices[model] == ModelPrice(*expected)


def test_docs_table_matches_the_builtin_prices(table: PriceTable) -> None:
    text = (REPO / "docs" / "prices.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| `([^`]+)` \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", text, re.MULTILINE
    )
    documented = {name: ModelPrice(*(float(v) for v in values)) for name, *values in rows}
    assert documented == dict(table.prices)
    assert f"`{table.taken}`" in text


# --------------------------------------------------------------------------- merged tables


def test_merged_overrides_win_and_the_original_is_unchanged(table: PriceTable) -> None:
    cheap = ModelPrice(input=1.0, output=2.0, cached_input=0.5, cache_write=1.0)
    mine = ModelPrice(input=3.0, output=12.0, cached_input=1.5, cache_write=3.0)
    merged = table.merged({"GPT-4o": cheap, "my-finetune": mine})
    assert merged.lookup("gpt-4o") == cheap
    assert merged.lookup("gpt-4o-2024-11-20") == cheap  # dated ids follow the overridden family
    assert merged.lookup("my-finetune") == mine
    assert merged.lookup("claude-sonnet-4-5") == table.lookup("claude-sonnet-4-5")
    assert merged.taken == table.taken
    assert len(merged) == len(table) + 1
    assert table.lookup("gpt-4o") != cheap
    assert "my-finetune" not in table
    assert table.merged({}, taken="2027-01-01").taken == "2027-01-01"


# --------------------------------------------------------------------------- price files


def test_toml_file_overrides_a_builtin_model_and_adds_a_new_one(
    tmp_path: Path, table: PriceTable
) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(
        "taken = 2026-11-01\n"
        '[models."gpt-4o"]\n'
        "input = 2.0\n"
        "output = 8.0\n"
        "cached_input = 0.5\n"
        '[models."my-finetune"]\n'
        "input = 3.0          # USD per million tokens\n"
        "output = 12\n"
        'note = "our fine-tune"\n',
        encoding="utf-8",
    )
    loaded = load_price_file(path)
    assert loaded == {
        # cache_write left out: defaults to input
        "gpt-4o": ModelPrice(input=2.0, output=8.0, cached_input=0.5, cache_write=2.0),
        # cached_input and cache_write left out: both default to input
        "my-finetune": ModelPrice(input=3.0, output=12.0, cached_input=3.0, cache_write=3.0),
    }
    merged = table.merged(loaded)
    usage = Usage("my-finetune", input_tokens=1000, output_tokens=100, cached_input_tokens=400)
    # (600 * 3 + 400 * 3 + 100 * 12) / 1e6 = (1800 + 1200 + 1200) / 1e6
    assert merged.cost(usage) == _approx(4200e-6)
    usage = Usage(
        "gpt-4o-2024-08-06", input_tokens=1000, output_tokens=100, cached_input_tokens=400
    )
    # (600 * 2.0 + 400 * 0.5 + 100 * 8.0) / 1e6 = (1200 + 200 + 800) / 1e6
    assert merged.cost(usage) == _approx(2200e-6)


def test_json_file_overrides_a_builtin_model_and_adds_a_new_one(
    tmp_path: Path, table: PriceTable
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "taken": "2026-11-01",
                "models": {
                    "claude-sonnet-4-5": {
                        "input": 2.4,
                        "output": 12,
                        "cached_input": 0.24,
                        "cache_write": 3,
                    },
                    "my-finetune": {"input": 3.0, "output": 12.0},
                },
            }
        ),
        encoding="utf-8",
    )
    loaded = load_price_file(str(path))
    assert loaded == {
        "claude-sonnet-4-5": ModelPrice(input=2.4, output=12.0, cached_input=0.24, cache_write=3.0),
        "my-finetune": ModelPrice(input=3.0, output=12.0, cached_input=3.0, cache_write=3.0),
    }
    merged = table.merged(loaded)
    assert merged.lookup("claude-sonnet-4-5-20250929") == loaded["claude-sonnet-4-5"]
    assert merged.lookup("my-finetune") == loaded["my-finetune"]


def test_file_without_a_known_extension_is_read_by_content(tmp_path: Path) -> None:
    as_json = tmp_path / "prices"
    as_json.write_text('{"models": {"m": {"input": 1, "output": 2}}}', encoding="utf-8")
    as_toml = tmp_path / "prices.cfg"
    as_toml.write_text("[models.m]\ninput = 1\noutput = 2\n", encoding="utf-8")
    expected = {"m": ModelPrice(input=1.0, output=2.0, cached_input=1.0, cache_write=1.0)}
    assert load_price_file(as_json) == expected
    assert load_price_file(as_toml) == expected


def _litellm_file(tmp_path: Path, extra: dict[str, object] | None = None) -> Path:
    data: dict[str, object] = {
        "sample_spec": {
            "input_cost_per_token": 0.0,
            "output_cost_per_token": 0.0,
            "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
            "max_tokens": "LEGACY parameter",
            "mode": "one of: chat, embedding, completion, image_generation, ...",
        },
        "claude-sonnet-4-5": {
            "cache_creation_input_token_cost": 3.75e-06,
            "cache_creation_input_token_cost_above_1hr": 6e-06,
            "cache_read_input_token_cost": 3e-07,
            "input_cost_per_token": 3e-06,
            "input_cost_per_token_above_200k_tokens": 6e-06,
            "litellm_provider": "anthropic",
            "mode": "chat",
            "output_cost_per_token": 1.5e-05,
            "search_context_cost_per_query": {"search_context_size_low": 0.01},
        },
        "gemini/gemini-2.5-pro": {
            "cache_read_input_token_cost": 1.25e-07,
            "input_cost_per_token": 1.25e-06,
            "litellm_provider": "gemini",
            "mode": "chat",
            "output_cost_per_token": 1e-05,
        },
        "my-cheap-model": {
            "input_cost_per_token": 1e-07,
            "litellm_provider": "openai",
            "mode": "chat",
            "output_cost_per_token": 4e-07,
        },
        "1024-x-1024/dall-e-2": {
            "input_cost_per_pixel": 1.9e-08,
            "litellm_provider": "openai",
            "mode": "image_generation",
            "output_cost_per_pixel": 0.0,
        },
        "text-embedding-3-small": {
            "input_cost_per_token": 2e-08,
            "litellm_provider": "openai",
            "mode": "embedding",
        },
    }
    data.update(extra or {})
    path = tmp_path / "model_prices_and_context_window.json"
    path.write_text(json.dumps(data, indent=4), encoding="utf-8")
    return path


def test_litellm_file_is_read_per_million(tmp_path: Path, table: PriceTable) -> None:
    loaded = load_price_file(_litellm_file(tmp_path))
    assert loaded == {
        "claude-sonnet-4-5": ModelPrice(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75),
        "gemini/gemini-2.5-pro": ModelPrice(
            input=1.25, output=10.0, cached_input=0.125, cache_write=1.25
        ),
        # no cache fields: cache reads and writes fall back to the input rate
        "my-cheap-model": ModelPrice(input=0.1, output=0.4, cached_input=0.1, cache_write=0.1),
    }
    merged = table.merged(loaded)
    usage = Usage("my-cheap-model", input_tokens=1000, output_tokens=1000)
    # (1000 * 0.1 + 1000 * 0.4) / 1e6 = 500 / 1e6
    assert merged.cost(usage) == _approx(500e-6)


def test_litellm_file_with_another_name_is_recognised_by_its_keys(tmp_path: Path) -> None:
    source = _litellm_file(tmp_path)
    renamed = tmp_path / "litellm-prices.txt"
    renamed.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    assert set(load_price_file(renamed)) == {
        "claude-sonnet-4-5",
        "gemini/gemini-2.5-pro",
        "my-cheap-model",
    }


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("output_cost_per_token", "abc", "'abc'"),
        ("input_cost_per_token", -1e-06, "-1e-06"),
        ("cache_read_input_token_cost", None, "None"),
        ("cache_creation_input_token_cost", [1], "a list"),
    ],
)
def test_litellm_file_with_a_bad_cost_is_an_error(
    tmp_path: Path, field: str, value: object, shown: str
) -> None:
    entry = {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "mode": "chat"}
    entry[field] = value  # type: ignore[assignment]
    path = _litellm_file(tmp_path, {"broken-model": entry})
    with pytest.raises(PriceFileError) as info:
        load_price_file(path)
    assert str(info.value) == (
        f"perf_prices file {str(path)!r}: entry 'broken-model': {field!r} must be a "
        f"non-negative number (USD per token), got {shown}"
    )
    assert info.value.entry == "broken-model"


# --------------------------------------------------------------------------- malformed files


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> PriceFileError:
    with pytest.raises(PriceFileError) as info:
        load_price_file(path)
    return info.value


def test_error_message_names_file_entry_and_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, "prices.toml", '[models."my-model"]\ninput = 1.0\noutput = "abc"\n')
    error = _error(path)
    assert str(error) == (
        f"perf_prices file {str(path)!r}: entry 'my-model': 'output' must be a "
        "non-negative number, got 'abc'"
    )
    assert (error.path, error.entry) == (str(path), "my-model")
    assert error.problem == "'output' must be a non-negative number, got 'abc'"


@pytest.mark.parametrize(
    ("name", "text", "entry", "problem"),
    [
        (
            "prices.toml",
            '[models."my-model"]\ninput = -2.0\noutput = 4.0\n',
            "my-model",
            "'input' must be a non-negative number, got -2.0",
        ),
        (
            "prices.json",
            '{"models": {"my-model": {"input": 1, "output": 2, "cached_input": true}}}',
            "my-model",
            "'cached_input' must be a non-negative number, got True",
        ),
        (
            "prices.json",
            '{"models": {"my-model": {"input": 1, "output": 2, "cache_write": NaN}}}',
            "my-model",
            "'cache_write' must be a non-negative number, got nan",
        ),
        (
            "prices.toml",
            '[models."my-model"]\ninput = 1.0\n',
            "my-model",
            "missing 'output' (USD per 1,000,000 tokens)",
        ),
        (
            "prices.json",
            '{"models": {"my-model": {"output": 2}}}',
            "my-model",
            "missing 'input' (USD per 1,000,000 tokens)",
        ),
        (
            "prices.toml",
            '[models."my-model"]\ninput = 1.0\noutput = 2.0\ncache_read = 0.1\nprice = 3\n',
            "my-model",
            "unknown key(s) 'cache_read', 'price'; accepted keys: input, output, "
            "cached_input, cache_write, note",
        ),
        (
            "prices.json",
            '{"models": {"my-model": 3.0}}',
            "my-model",
            "must be a table of prices (input, output, cached_input, cache_write, note), got 3.0",
        ),
        (
            "prices.json",
            '{"models": {"My-Model": {"input": 1, "output": 2}, '
            '"my-model": {"input": 1, "output": 2}}}',
            "my-model",
            "the same model as entry 'My-Model' (names are case-insensitive)",
        ),
        (
            "prices.json",
            '{"models": {"my-model": {"input": 1, "output": 2}, '
            '"my-model": {"input": 3, "output": 4}}}',
            "my-model",
            "appears more than once in the file",
        ),
        (
            "prices.toml",
            '[models."my-model"]\ninput = 1.0\noutput = 2.0\nnote = 5\n',
            "my-model",
            "'note' must be a string, got 5",
        ),
    ],
)
def test_malformed_entries(tmp_path: Path, name: str, text: str, entry: str, problem: str) -> None:
    path = _write(tmp_path, name, text)
    error = _error(path)
    assert str(error) == f"perf_prices file {str(path)!r}: entry {entry!r}: {problem}"


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        (
            "prices.json",
            '{"models": {"m": {"input": 1,}}}',
            "invalid JSON: .* \\(line 1, column 30\\)",
        ),
        (
            "prices.toml",
            '[models."m"]\ninput = = 1\n',
            "invalid TOML: Invalid value \\(at line 2, column 9\\)",
        ),
        ("prices.json", '[{"input": 1}]', "the top level must be a JSON object, got list"),
        (
            "prices.toml",
            'taken = "2026-11-01"\n',
            "no 'models' table: write \\[models\\.\"<model name>\"\\] tables \\(TOML\\) or a "
            '"models" object \\(JSON\\)',
        ),
        (
            "prices.json",
            '{"model": {"m": {"input": 1, "output": 2}}}',
            "unknown top-level key\\(s\\) 'model'; accepted keys: models, taken, sources, note "
            "\\(or use LiteLLM's model_prices_and_context_window\\.json format, whose entries "
            "have \\*_cost_per_token keys\\)",
        ),
        ("prices.json", '{"models": []}', "'models' must be a table of models, got a list"),
        (
            "prices.json",
            '{"taken": "last week", "models": {}}',
            "'taken' must be a date written YYYY-MM-DD, got 'last week'",
        ),
    ],
)
def test_malformed_files(tmp_path: Path, name: str, text: str, problem: str) -> None:
    path = _write(tmp_path, name, text)
    error = _error(path)
    assert error.entry is None
    assert re.fullmatch(f"perf_prices file {re.escape(repr(str(path)))}: {problem}", str(error))


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    assert str(_error(path)) == f"perf_prices file {str(path)!r}: file not found"


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    assert (
        str(_error(tmp_path)) == f"perf_prices file {str(tmp_path)!r}: is a directory, not a file"
    )


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_bytes(b'[models."caf\xe9"]\ninput = 1\noutput = 2\n')
    assert "not valid UTF-8 text" in str(_error(path))


def test_toml_without_tomllib_or_tomli_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(price_files, "_TOML_MODULES", ("no_such_module_for_toml_xyz",))
    path = _write(tmp_path, "prices.toml", '[models."m"]\ninput = 1\noutput = 2\n')
    assert str(_error(path)) == (
        f"perf_prices file {str(path)!r}: reading a TOML prices file needs Python 3.11+ or "
        "the 'tomli' package; install tomli or write the prices as JSON, which works everywhere"
    )
    json_path = _write(tmp_path, "prices.json", '{"models": {"m": {"input": 1, "output": 2}}}')
    assert set(load_price_file(json_path)) == {"m"}
