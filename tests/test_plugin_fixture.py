"""The perf fixture and marker through a real pytest run (pytester)."""

from __future__ import annotations

import pytest
from fakes import INI

# A fast workload for plugin tests: the simulated model, sleeping a millisecond or less.
CONFTEST = """
import pytest
from pytest_perfbaseline import SimulatedModel

@pytest.fixture
def llm():
    return SimulatedModel(ttft_s=0.001, itl_s=0.0002)
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    return pytester


def test_rounds_and_warmup_from_the_marker(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest

        calls = []

        @pytest.mark.perf(rounds=4, warmup=2)
        def test_answer(perf, llm):
            def ask():
                calls.append(1)
                return "".join(perf.stream(llm.stream, "What is 2+2?", max_tokens=5))
            answer = perf(ask)
            assert answer == llm.text("What is 2+2?", max_tokens=5)
            assert len(calls) == 6
            assert len(perf.rounds) == 4
            assert perf.summary["ttft_s"].n == 4
            assert perf.summary["output_tokens"].median == 5
        """
    )
    result = suite.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= perfbaseline: 1 perf test =*",
            "*test_rounds_and_warmup_from_the_marker.py::test_answer*4*",
        ]
    )


def test_command_line_and_ini_rounds_with_marker_precedence(suite: pytest.Pytester) -> None:
    suite.makeini(f"{INI}perf_rounds = 7\nperf_warmup = 0\n")
    suite.makepyfile(
        """
        import pytest

        def test_ini_or_cli(perf):
            perf(lambda: None)
            print("ROUNDS", len(perf.rounds))

        @pytest.mark.perf(rounds=2)
        def test_marker(perf):
            perf(lambda: None)
            assert len(perf.rounds) == 2
        """
    )
    suite.runpytest("-s").stdout.fnmatch_lines(["*ROUNDS 7*"])
    result = suite.runpytest("-s", "--perf-rounds=3")
    result.stdout.fnmatch_lines(["*ROUNDS 3*"])
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            "rouns=3",
            "*test_bad*@pytest.mark.perf: unknown key 'rouns' "
            "(accepted: alpha, gate, max_rounds, max_time, min_round_time, rounds, threshold, "
            "warmup)*",
        ),
        ("rounds=0", "*test_bad*@pytest.mark.perf: rounds must be a whole number >= 1, got 0*"),
        ("warmup='x'", "*test_bad*@pytest.mark.perf: warmup must be a whole number, got 'x'*"),
        (
            "threshold='ten'",
            "*test_bad*threshold must be a fraction like 0.1 or a percentage like '10%', "
            "got 'ten'*",
        ),
        ("alpha=2", "*test_bad*alpha must be a probability between 0 and 1*"),
        ("5", "*test_bad*takes keyword arguments only*"),
    ],
)
def test_bad_marker_errors_name_the_test_and_the_key(
    suite: pytest.Pytester, marker: str, message: str
) -> None:
    suite.makepyfile(
        f"""
        import pytest

        @pytest.mark.perf({marker})
        def test_bad(perf):
            perf(lambda: None)

        def test_unaffected(perf):
            perf(lambda: None)
        """
    )
    result = suite.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([message])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--perf-rounds=abc"], "*--perf-rounds must be a whole number, got 'abc'*"),
        (["--perf-warmup=-1"], "*--perf-warmup must be a whole number >= 0, got '-1'*"),
        (["--perf-disable=maybe"], None),
    ],
)
def test_bad_options_are_usage_errors(
    suite: pytest.Pytester, args: list[str], message: str | None
) -> None:
    suite.makepyfile("def test_x(perf):\n    perf(lambda: None)\n")
    result = suite.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    if message:
        result.stderr.fnmatch_lines([message])


def test_bad_ini_value_names_the_ini_option(suite: pytest.Pytester) -> None:
    suite.makeini(f"{INI}perf_rounds = many\n")
    suite.makepyfile("def test_x(perf):\n    perf(lambda: None)\n")
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini option perf_rounds must be a whole number, got 'many'*"])


def test_every_test_using_perf_carries_the_marker(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        def test_uses_perf(perf):
            perf(lambda: None)

        def test_plain():
            pass
        """
    )
    result = suite.runpytest("-m", "not perf")
    result.assert_outcomes(passed=1, deselected=1)
    result = suite.runpytest("-m", "perf")
    result.assert_outcomes(passed=1, deselected=1)


def test_no_summary_without_perf_tests(suite: pytest.Pytester) -> None:
    suite.makepyfile("def test_plain():\n    pass\n")
    result = suite.runpytest()
    result.assert_outcomes(passed=1)
    assert "perfbaseline:" not in result.stdout.str()


def test_workload_error_fails_with_its_own_traceback(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        def broken_stream():
            yield "a"
            raise ConnectionError("upstream closed the stream")

        def test_broken(perf):
            def ask():
                return "".join(perf.stream(broken_stream))
            perf(ask)
        """
    )
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "ConnectionError: upstream closed the stream" in out
    assert 'raise ConnectionError("upstream closed the stream")' in out
    # our frames are hidden from the traceback
    assert "pytest_perfbaseline/measure/recorder.py" not in out
    assert "pytest_perfbaseline/measure/perf.py" not in out
    assert "perfbaseline: " not in out  # a failed test's rounds are not reported


def test_disable_runs_each_workload_once_and_prints_no_summary(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest
        calls = []

        @pytest.mark.perf(rounds=20, warmup=3)
        def test_answer(perf, llm):
            perf(lambda: calls.append("".join(perf.stream(llm.stream, "hi", max_tokens=3))))
            assert len(calls) == 1
            assert perf.summary["ttft_s"].n == 1  # SLO asserts keep working
        """
    )
    result = suite.runpytest("--perf-disable")
    result.assert_outcomes(passed=1)
    assert "perfbaseline:" not in result.stdout.str()


def test_implicit_round_from_direct_use(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        def test_direct(perf, llm):
            text = "".join(perf.stream(llm.stream("hi", max_tokens=4)))
            assert perf.summary["output_tokens"].median == 4
            assert len(perf.rounds) == 1
        """
    )
    result = suite.runpytest("-W", "ignore::pytest_perfbaseline.ColdStartWarning")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_direct*1 *"])


def test_async_tests_with_arun_and_async_for(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.perf(rounds=3, warmup=0)
        async def test_async(perf, llm):
            async def ask():
                return "".join([c async for c in perf.stream(llm.astream, "hi", max_tokens=4)])
            answer = await perf.arun(ask)
            assert answer == llm.text("hi", max_tokens=4)
            assert perf.summary["ttft_s"].n == 3

        @pytest.mark.asyncio
        async def test_wrong_runner(perf):
            async def ask():
                return 1
            with pytest.raises(TypeError, match="await perf.arun"):
                perf(ask)
        """
    )
    result = suite.runpytest()
    result.assert_outcomes(passed=2)


def test_measuring_twice_in_one_test_is_an_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        def test_twice(perf):
            perf(lambda: None)
            perf(lambda: None)
        """
    )
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*perf(fn) / perf.arun(fn) can measure once per test*"])


def test_verbose_summary_lists_every_metric(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest

        @pytest.mark.perf(rounds=2, warmup=0)
        def test_answer(perf, llm):
            perf(lambda: list(perf.stream(llm.stream, "hi", max_tokens=4, format="openai")))
        """
    )
    result = suite.runpytest("-v")
    result.stdout.fnmatch_lines(
        [
            "*metric*n*median*p95*min*max*",
            "*itl_p50_s*",
            "*tokens_per_s*",
            "*output tokens counted from: all streams: usage*",
        ]
    )


def test_fixture_is_documented(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--fixtures")
    result.stdout.fnmatch_lines(
        ["perf -- *", "*Measure streamed inference, tokens and cost in this test.*"]
    )


def test_xdist_results_reach_the_controller(suite: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    suite.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(4))
        @pytest.mark.perf(rounds=2, warmup=0)
        def test_answer(perf, llm, n):
            perf(lambda: "".join(perf.stream(llm.stream, f"q{n}", max_tokens=3)))
        """
    )
    result = suite.runpytest("-n", "2")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*= perfbaseline: 4 perf tests =*"])
    for n in range(4):
        result.stdout.fnmatch_lines([f"*test_answer?{n}?*2*"])


def test_inner_runs_are_lean_and_leave_the_machine_alone(pytester: pytest.Pytester) -> None:
    # The harness (conftest.py): inner runs judge simulated timings alone, so the machine
    # check must be off there, or a busy CI machine could delay or excuse their verdicts.
    pytester.makepyfile(
        """
        def test_options(pytestconfig):
            assert pytestconfig.getoption("perf_settle") == "0"
            assert not pytestconfig.pluginmanager.has_plugin("hypothesispytest")
            assert not pytestconfig.pluginmanager.has_plugin("anyio")
        """
    )
    pytester.makeini(INI)
    pytester.runpytest().assert_outcomes(passed=1)
