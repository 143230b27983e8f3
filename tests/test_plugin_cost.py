"""Usage, cost and breakdowns through real pytest runs."""

from __future__ import annotations

import pytest
from fakes import INI

PIPELINE = """
import pytest


@pytest.mark.perf(rounds=2, warmup=0)
def test_pipeline(perf):
    def run():
        with perf.phase("plan"), perf.agent("planner"):
            perf.record_usage("my-finetune", 1000, 200, cached_input_tokens=400)
        with perf.phase("write"), perf.agent("writer"):
            perf.record_usage("my-finetune", 500, 100)
            perf.record_usage("my-finetune", 10, 10, operation="check")
    perf(run)
    # (600 * 3 + 400 * 1.5 + 200 * 12) / 1e6 = 0.0048 for the planner's call
    assert perf.summary["agent.planner.cost_usd"].median == pytest.approx(0.0048)
    # (500 * 3 + 100 * 12 + 10 * 3 + 10 * 12) / 1e6 = 0.00285 for the writer's two calls
    assert perf.summary["agent.writer.cost_usd"].median == pytest.approx(0.00285)
    assert perf.summary["cost_usd"].median == pytest.approx(0.00765)
    assert perf.summary["operation.check.api_calls"].median == 1
    assert perf.summary["model.my-finetune.api_calls"].median == 3
"""

PRICES = """
[models."my-finetune"]
input = 3.0
output = 12.0
cached_input = 1.5
"""


def test_price_file_named_in_the_ini_prices_a_custom_model(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"{INI}perf_prices = prices/perf-prices.toml\n")
    (pytester.path / "prices").mkdir()
    (pytester.path / "prices" / "perf-prices.toml").write_text(PRICES)
    pytester.makepyfile(test_pipeline=PIPELINE)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*kind*name*time p50*in tok*out tok*calls*cost*",
            "*phase*plan*1,000*200*1*$0.00480*",
            "*phase*write*510*110*2*$0.00285*",
            "*agent*planner*",
            "*agent*writer*",
            "*operation*check*-*10*10*1*$0.000150*",
            "*model*my-finetune*1,510*310*3*$0.00765*",
        ]
    )


def test_malformed_price_file_is_a_usage_error_naming_file_entry_and_problem(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(f"{INI}perf_prices = bad.toml\n")
    (pytester.path / "bad.toml").write_text('[models."my-finetune"]\ninput = 3.0\noutput = "abc"\n')
    pytester.makepyfile(test_pipeline=PIPELINE)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*perf_prices file *bad.toml*: entry 'my-finetune': "
            "'output' must be a non-negative number*"
        ]
    )


def test_missing_price_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)  # pytest-asyncio's loop scope set: no deprecation warning in the run
    result = pytester.runpytest("--perf-prices=nowhere.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*nowhere.toml*"])


def test_unknown_model_warns_once_per_session_and_costs_null(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(3))
        @pytest.mark.perf(rounds=3, warmup=1)
        def test_calls(perf, n):
            perf(lambda: perf.record_usage("acme-llm-9", 10, 5))
            assert perf.summary["output_tokens"].median == 5
            assert "cost_usd" not in perf.summary  # null in every round
            assert perf.rounds[0]["cost_usd"] is None
        """
    )
    result = pytester.runpytest("-W", "default::pytest.PytestWarning")
    result.assert_outcomes(passed=3, warnings=1)
    result.stdout.fnmatch_lines(
        ["*PerfBaselineWarning: model 'acme-llm-9' has no price, so its cost_usd is null*"]
    )
    assert result.stdout.str().count("has no price") == 1


def test_concurrent_agents_are_charged_their_own_time(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"{INI}asyncio_mode = auto\n")
    pytester.makepyfile(
        """
        import asyncio
        import pytest
        from pytest_perfbaseline import SimulatedModel

        fast = SimulatedModel(model="gpt-4o-mini", ttft_s=0.01, itl_s=0.001)
        slow = SimulatedModel(model="claude-haiku-4-5", ttft_s=0.05, itl_s=0.001)

        @pytest.mark.perf(rounds=2, warmup=0)
        async def test_gather(perf):
            async def agent(name, llm, fmt):
                async with perf.agent(name):
                    chunks = perf.stream(llm.astream, "q", max_tokens=5, format=fmt)
                    return [c async for c in chunks]

            async def both():
                return await asyncio.gather(
                    agent("fast", fast, "openai"), agent("slow", slow, "anthropic")
                )

            await perf.arun(both)
            s = perf.summary
            assert s["agent.slow.s"].median > s["agent.fast.s"].median
            assert s["agent.fast.output_tokens"].median == 5
            assert s["agent.slow.output_tokens"].median == 5
            assert s["agent.fast.cost_usd"].median != s["agent.slow.cost_usd"].median
            # concurrent: the round is shorter than the two agents back to back
            assert s["round_s"].median < s["agent.fast.s"].median + s["agent.slow.s"].median
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
