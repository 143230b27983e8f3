"""Huge and non-finite numbers: refused with a clear error where they come in, never a crash.

A baseline file or a ``--perf-json`` report holding NaN, an infinity or a number beyond
float64 is a bad file naming the place; ``perf.metric`` and ``record_usage`` refuse values
whose sums would overflow or that a float cannot hold exactly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fakes import ENV, INI, TIME, plain_report

from pytest_perfbaseline import Perf
from pytest_perfbaseline.baseline import jsontext
from pytest_perfbaseline.baseline.store import BaselineError, BaselineStore
from pytest_perfbaseline.cli import main
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.reports.json_report import ReportError, dumps, read_report

PROFILE = "linux-x86_64-2cpu"
NODEID = "tests/test_chat.py::test_answer"
VALUES = [0.100, 0.102, 0.098, 0.101, 0.099]
HUGE = "9" * 400
"""Beyond float64 (about 1.8e308), yet within Python's 4300-digit int limit."""
ENORMOUS = "1" * 4400
"""Beyond Python's int-max-str-digits: int() refuses to parse it."""


def _result(values: list[float]) -> TestResult:
    return TestResult(
        nodeid=NODEID,
        rounds=tuple({"ttft_s": v} for v in values),
        infos={"ttft_s": TIME},
        itl_histogram=(),
        itl_pooled=None,
        token_sources={},
        rounds_requested=len(values),
        warmup=0,
        implicit=False,
    )


def _saved_file(root: Path) -> Path:
    assert BaselineStore(root, PROFILE).save([(_result(VALUES), ENV)]).errors == ()
    (path,) = root.rglob("*.json")
    return path


def _put_number(path: Path, literal: str) -> None:
    """The file with its second round's ttft_s replaced by ``literal``, verbatim."""
    text = path.read_text(encoding="utf-8")
    for old in ("0.1, 0.102, 0.098", '"ttft_s": 0.102'):  # a baseline file, a report
        if old in text:
            assert text.count(old) == 1
            path.write_text(text.replace(old, old.replace("0.102", literal)), encoding="utf-8")
            return
    raise AssertionError(f"no second round in {path}")


def _report(path: Path) -> Path:
    report = plain_report([_result(VALUES)], profile=PROFILE)
    path.write_text(dumps(report), encoding="utf-8")
    return path


HUGE_METRIC_SUITE = """
import os
import pytest

@pytest.fixture
def perf_clock():
    return lambda: 0

@pytest.mark.perf(rounds=3, warmup=0)
def test_big(perf):
    perf(lambda: perf.metric("big", float(os.environ["BIG"])))
"""


# -- baseline files ---------------------------------------------------------------------------


@pytest.mark.parametrize("literal", [HUGE, f"-{HUGE}", "1e999", "NaN", "-Infinity"])
def test_a_number_beyond_float64_makes_the_baseline_file_bad_naming_the_place(
    tmp_path: Path, literal: str
) -> None:
    path = _saved_file(tmp_path)
    _put_number(path, literal)

    with pytest.raises(BaselineError) as info:
        BaselineStore(tmp_path, PROFILE).load(NODEID)

    message = str(info.value)
    assert str(path) in message
    assert " at tests.test_answer.sessions[0].metrics.ttft_s.values[1], out of range" in message
    assert "out of range: every number must be finite" in message
    assert "then run pytest --perf-baseline=save again" in message
    assert HUGE not in message  # shortened, not 400 digits


def test_a_number_beyond_the_int_digit_limit_is_out_of_range_not_too_deep(tmp_path: Path) -> None:
    path = _saved_file(tmp_path)
    _put_number(path, ENORMOUS)

    with pytest.raises(BaselineError) as info:
        BaselineStore(tmp_path, PROFILE).load(NODEID)

    assert "nested too deeply" not in str(info.value)
    assert "(4400 characters)" in str(info.value)
    assert "out of range" in str(info.value)


def test_the_largest_finite_numbers_still_read() -> None:
    assert jsontext.loads("[1.7976931348623157e308, -1e308, 5e-324]") == [
        1.7976931348623157e308,
        -1e308,
        5e-324,
    ]
    big = str(int(1.7976931348623157e308))
    assert jsontext.loads(f"[{big}]") == [int(big)]
    assert "out of range" in _loads_error(f"[{int(big) + 1}]")


def _loads_error(text: str) -> str:
    with pytest.raises(jsontext.JSONTextError) as info:
        jsontext.loads(text)
    return str(info.value)


@pytest.mark.parametrize("command", [["list"], ["show", "test_answer"], ["prune", "--missing"]])
def test_cli_commands_name_a_file_with_a_huge_number_without_a_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _saved_file(tmp_path / ".perfbaseline")
    _put_number(path, HUGE)

    status = main(command)

    assert status in (1, 2)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "OverflowError" not in err
    assert "metrics.ttft_s.values[1], out of range" in err
    assert HUGE not in err


def test_compare_session_fails_the_test_naming_the_bad_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_big=HUGE_METRIC_SUITE)
    monkeypatch.setenv("BIG", "2.5")
    pytester.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    (path,) = (pytester.path / ".perfbaseline").rglob("*.json")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[2.5, 2.5, 2.5]", f"[2.5, {HUGE}, 2.5]"), encoding="utf-8")

    result = pytester.runpytest("--perf-compare")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot compare: baseline file*values[[]1[]], out of range*"])
    result.stdout.no_fnmatch_line("E *OverflowError*")
    result.stdout.no_fnmatch_line("*During handling of the above exception*")


# -- reports ----------------------------------------------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", HUGE, ENORMOUS])
def test_a_report_with_a_non_finite_number_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], literal: str
) -> None:
    good = _report(tmp_path / "a.json")
    bad = _report(tmp_path / "b.json")
    _put_number(bad, literal)

    with pytest.raises(ReportError, match="out of range: every number must be finite"):
        read_report(bad)
    assert main(["compare", str(good), str(bad)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"perfbaseline compare: error: report {bad} holds ")
    assert " at tests[0].rounds[1].ttft_s, out of range" in err
    assert "nested too deeply" not in err
    assert "write it again with pytest --perf-json=PATH" in err
    assert len(err.splitlines()) == 1


def test_a_good_report_still_reads_back(tmp_path: Path) -> None:
    data = json.loads(dumps(read_report(_report(tmp_path / "r.json"))))
    assert data["tests"][0]["rounds"][1]["ttft_s"] == 0.102


# -- perf.metric ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1e308, "1e+308"),
        (-1e101, "-1e+101"),
        (10**400, "an int beyond float range"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
    ],
)
def test_perf_metric_refuses_values_whose_summary_would_overflow(value: float, shown: str) -> None:
    perf = Perf(rounds=1)
    prefix = "perf.metric('x') needs a finite number of magnitude at most 1e+100 "
    message = f"^{re.escape(prefix)}.*got {re.escape(shown)}$"
    with pytest.raises(ValueError, match=message):
        perf.metric("x", value)


def test_a_huge_custom_metric_fails_at_perf_metric_and_saves_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_big=HUGE_METRIC_SUITE)
    monkeypatch.setenv("BIG", "1e308")

    result = pytester.runpytest("--perf-baseline=save")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ValueError: perf.metric('big') needs a finite number*"])
    result.stdout.no_fnmatch_line("E *OverflowError*")
    assert not (pytester.path / ".perfbaseline").exists()


def test_the_largest_custom_metric_saves_and_compares(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_big=HUGE_METRIC_SUITE)
    monkeypatch.setenv("BIG", "1e100")

    pytester.runpytest("--perf-baseline=save", "-v").assert_outcomes(passed=1)
    result = pytester.runpytest("--perf-compare")

    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("E *OverflowError*")


# -- record_usage -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"input_tokens": 10**400}, "Usage.input_tokens must be at most 2**53"),
        ({"output_tokens": 2**53 + 1}, "Usage.output_tokens must be at most 2**53"),
        ({"reasoning_tokens": 10**5000}, "Usage.reasoning_tokens must be at most 2**53"),
    ],
)
def test_record_usage_refuses_counts_a_float_cannot_hold(
    kwargs: dict[str, int], expected: str
) -> None:
    perf = Perf(rounds=1)
    counts = {"input_tokens": 10, "output_tokens": 10, **kwargs}
    with pytest.raises(ValueError) as info:
        perf.record_usage(
            "gpt-4o",
            counts["input_tokens"],
            counts["output_tokens"],
            reasoning_tokens=counts.get("reasoning_tokens", 0),
        )
    assert str(info.value).startswith(expected)
    assert len(str(info.value)) < 200  # the count's size, not its 400 digits


def test_record_usage_takes_the_largest_exact_count() -> None:
    perf = Perf(rounds=1)
    perf.record_usage("gpt-4o", 2**53, 2**53)


# -- the fast parse: whatever it skips, the same numbers are refused ---------------------------

# Out of range through a long mantissa and a two-digit exponent: 210 nines times 10**99 are
# about 1e309 (209 nines, 1e308, are still finite).
LONG_MANTISSA = "9" * 210 + ".5e99"


@pytest.mark.parametrize(
    "literal", [LONG_MANTISSA, "1E+400", "1e0400", "-1.5e309", HUGE, "NaN", "Infinity"]
)
def test_an_out_of_range_number_anywhere_is_refused_by_place(literal: str) -> None:
    text = json.dumps({"commit": "0123e012ab", "b": {"c": [1, 2, "x"]}})
    error = _loads_error(text.replace('"x"', literal))

    assert f"holds {literal[:12]}" in error
    assert "at b.c[2], out of range" in error


@pytest.mark.parametrize(
    "literal",
    ["9" * 209 + ".5e99", "1e99", "1E+99", "-1.5e308", "2.5e-400", "9" * 300, "1" + "0" * 308],
)
def test_the_largest_finite_numbers_read_as_the_standard_parser_reads_them(literal: str) -> None:
    text = json.dumps({"commit": "3e012ab", "b": {"c": [1, 2, "x"]}}).replace('"x"', literal)

    assert jsontext.loads(text) == json.loads(text)
