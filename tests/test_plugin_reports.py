"""Reports leave pytest: JSON, CSV, Markdown, the GitHub step summary, JUnit XML, log events."""

from __future__ import annotations

import csv
import json
import logging
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import pytest
from fakes import INI, simulated_suite

jsonschema = pytest.importorskip("jsonschema")


SUITE = (
    simulated_suite(jitter=0.02)
    + """


@pytest.mark.perf(rounds=6, warmup=0)
def test_chat(perf):
    perf(lambda: list(perf.stream(llm.stream, "hi", max_tokens=8, format="openai")))


@pytest.mark.parametrize("name", ['a,b', 'say "hi"'])
@pytest.mark.perf(rounds=3, warmup=0)
def test_awkward_ids(perf, name):
    perf(lambda: perf.record_usage("gpt-4o-mini", 100, 20))
"""
)


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("PERF_TEST_SLOWDOWN", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.makeini(INI)
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def schema() -> dict:
    text = resources.files("pytest_perfbaseline.reports").joinpath("report.schema.json").read_text()
    return json.loads(text)


def test_json_report_validates_against_its_schema_in_both_modes(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--perf-baseline=save", "--perf-json=out/save.json")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*wrote the --perf-json report: out/save.json*"])
    saved = json.loads((suite.path / "out" / "save.json").read_text())
    jsonschema.validate(saved, schema())
    assert saved["session"]["save"] is True
    assert saved["counts"] is None
    assert {t["nodeid"] for t in saved["tests"]} == {
        "test_suite.py::test_chat",
        "test_suite.py::test_awkward_ids[a,b]",
        'test_suite.py::test_awkward_ids[say "hi"]',
    }
    chat = next(t for t in saved["tests"] if t["nodeid"] == "test_suite.py::test_chat")
    assert len(chat["rounds"]) == 6
    assert chat["metrics"]["ttft_s"]["summary"]["n"] == 6

    suite.runpytest("--perf-compare", "--perf-json=out/compare.json").assert_outcomes(passed=3)
    compared = json.loads((suite.path / "out" / "compare.json").read_text())
    jsonschema.validate(compared, schema())
    assert sum(compared["counts"].values()) == 3
    chat = next(t for t in compared["tests"] if t["nodeid"] == "test_suite.py::test_chat")
    ttft = chat["comparison"]["metrics"]["ttft_s"]
    assert ttft["verdict"] in ("unchanged", "inconclusive")
    assert ttft["baseline_median"] > 0
    assert ttft["ratio_low"] <= ttft["ratio"] <= ttft["ratio_high"]


def test_csv_report_reads_back_with_awkward_ids_quoted(suite: pytest.Pytester) -> None:
    suite.runpytest("--perf-csv=perf.csv").assert_outcomes(passed=3)
    with open(suite.path / "perf.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    tests = {row["test"] for row in rows}
    assert 'test_suite.py::test_awkward_ids[say "hi"]' in tests
    assert "test_suite.py::test_awkward_ids[a,b]" in tests
    ttft = next(
        r for r in rows if r["test"] == "test_suite.py::test_chat" and r["metric"] == "ttft_s"
    )
    assert ttft["n"] == "6"
    assert float(ttft["median"]) == pytest.approx(0.04, rel=0.1)  # simulated delay, jittered
    assert ttft["verdict"] == ""  # not a compare run


def test_markdown_report_and_github_step_summary(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=3)
    summary = suite.path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    result = suite.runpytest("--perf-compare", "--perf-markdown=perf.md")
    result.assert_outcomes(failed=1, passed=2)
    markdown = (suite.path / "perf.md").read_text()
    assert markdown.index("Regressions") < markdown.index("| test |")
    assert "test_suite.py::test_chat" in markdown
    appended = summary.read_text()
    assert appended.startswith("earlier step\n")  # appended, not overwritten
    assert markdown in appended

    summary.write_text("")
    suite.runpytest("--perf-compare", "--perf-github-summary=off")
    assert summary.read_text() == ""


def test_junit_xml_carries_key_medians_and_verdicts(suite: pytest.Pytester) -> None:
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=3)
    suite.runpytest("--perf-compare", "--junitxml=junit.xml").assert_outcomes(passed=3)
    tree = ET.parse(suite.path / "junit.xml")
    case = next(c for c in tree.iter("testcase") if c.get("name") == "test_chat")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["perf.rounds"] == "6"
    assert float(props["perf.ttft_s.median"]) == pytest.approx(0.04, rel=0.1)
    assert props["perf.verdict"] in ("unchanged", "inconclusive")
    assert props["perf.ttft_s.verdict"] in ("unchanged", "inconclusive")
    assert float(props["perf.ttft_s.ratio"]) == pytest.approx(1.0, abs=0.1)


def test_reports_under_xdist_are_written_once_by_the_controller(suite: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    result = suite.runpytest("-n", "2", "--perf-json=r.json", "--perf-csv=r.csv")
    result.assert_outcomes(passed=3)
    data = json.loads((suite.path / "r.json").read_text())
    jsonschema.validate(data, schema())
    assert len(data["tests"]) == 3
    assert not list(suite.path.glob(".r.json.*"))  # no temp files left behind


def test_log_events_are_structured(suite: pytest.Pytester) -> None:
    suite.makeconftest(
        """
        import json, logging

        class Collect(logging.Handler):
            def emit(self, record):
                if record.name == "pytest_perfbaseline":
                    with open("events.jsonl", "a") as out:
                        event = {**record.perfbaseline, "message": record.getMessage()}
                        out.write(json.dumps(event) + "\\n")

        HANDLER = Collect()

        def pytest_configure(config):
            logger = logging.getLogger("pytest_perfbaseline")
            logger.addHandler(HANDLER)
            logger.setLevel(logging.INFO)

        def pytest_unconfigure(config):  # the logger outlives this (in-process) run
            logging.getLogger("pytest_perfbaseline").removeHandler(HANDLER)
        """
    )
    suite.runpytest("--perf-baseline=save", "--perf-json=r.json").assert_outcomes(passed=3)
    suite.runpytest("--perf-compare").assert_outcomes(passed=3)
    events = [json.loads(line) for line in (suite.path / "events.jsonl").read_text().splitlines()]
    by_action: dict[str, list[dict]] = {}
    for event in events:
        by_action.setdefault(event["action"], []).append(event)
    (saved,) = by_action["baseline saved"]
    assert saved["tests"] == 3
    assert saved["duration_s"] >= 0
    assert "saved the baselines of 3 tests" in saved["message"]
    (written,) = by_action["report written"]
    assert written["target"].endswith("r.json")
    assert len(by_action["compared"]) == 3
    assert {e["target"] for e in by_action["verdict"]} >= {"test_suite.py::test_chat"}
    assert all("duration_s" in e for e in by_action["compared"])


def test_per_test_events_are_not_built_when_nobody_listens(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from pytest_perfbaseline import events

    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=3)
    built: list[str] = []
    monkeypatch.setattr(events, "emit", lambda action, *args, **kwargs: built.append(action))
    caplog.set_level(logging.WARNING, logger=events.LOGGER_NAME)  # as by default: INFO is off
    suite.runpytest("--perf-compare").assert_outcomes(passed=3)
    # no per-test message formatted, no fields gathered (a session's own events may still be)
    assert [action for action in built if action in ("compared", "verdict")] == []
    caplog.set_level(logging.INFO, logger=events.LOGGER_NAME)
    suite.runpytest("--perf-compare").assert_outcomes(passed=3)
    assert built.count("compared") == 3


def test_log_events_show_with_log_cli_level(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--perf-baseline=save", "--log-cli-level=INFO")
    result.stdout.fnmatch_lines(["*INFO*saved the baselines of 3 tests to *"])


@pytest.mark.parametrize("option", ["--perf-json", "--perf-csv", "--perf-markdown"])
def test_unwritable_report_path_is_a_usage_error_before_any_test(
    suite: pytest.Pytester, option: str
) -> None:
    (suite.path / "afile").write_text("")
    result = suite.runpytest(f"{option}=afile/report.out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*cannot write the {option} report to *afile*"])
    assert "passed" not in result.stdout.str()


def test_report_path_that_is_a_folder_is_a_usage_error(suite: pytest.Pytester) -> None:
    (suite.path / "reports").mkdir()
    result = suite.runpytest("--perf-json=reports")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--perf-json=*reports is a folder; give a file name*"])


def test_ini_report_paths_are_relative_to_the_rootdir(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.makeini(f"{INI}perf_json = build/perf.json\n")
    sub = suite.path / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    suite.runpytest(str(suite.path)).assert_outcomes(passed=3)
    assert (suite.path / "build" / "perf.json").exists()
    assert not (sub / "build").exists()


def test_perfbaseline_compare_gates_two_json_reports(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_perfbaseline.cli import main

    suite.runpytest("--perf-json=a.json").assert_outcomes(passed=3)
    suite.runpytest("--perf-json=b.json").assert_outcomes(passed=3)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    suite.runpytest("--perf-json=c.json").assert_outcomes(passed=3)
    path = suite.path
    assert main(["compare", str(path / "a.json"), str(path / "b.json")]) == 0
    assert main(["compare", str(path / "a.json"), str(path / "c.json")]) == 1
    assert main(["compare", str(path / "a.json"), str(Path("missing.json"))]) == 2


def test_log_records_reach_caplog(suite: pytest.Pytester, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="pytest_perfbaseline")
    suite.runpytest("--perf-baseline=save", "--perf-csv=r.csv").assert_outcomes(passed=3)
    records = [r for r in caplog.records if r.name == "pytest_perfbaseline"]
    actions = [r.action for r in records]  # type: ignore[attr-defined]
    assert "baseline saved" in actions
    assert "report written" in actions
    saved = next(r for r in records if r.action == "baseline saved")  # type: ignore[attr-defined]
    assert ".perfbaseline" in saved.target  # type: ignore[attr-defined]
    assert saved.duration_s >= 0  # type: ignore[attr-defined]
    assert saved.getMessage().startswith("saved the baselines of 3 tests to ")


def test_results_reach_the_reports_without_serialising_in_one_process(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_perfbaseline.gate.compare import TestComparison
    from pytest_perfbaseline.metrics.result import TestResult

    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=3)

    def not_here(self: object) -> dict:
        raise AssertionError("serialised within one process")

    monkeypatch.setattr(TestResult, "to_dict", not_here)
    monkeypatch.setattr(TestComparison, "to_dict", not_here)
    # the run history stores the JSON report, which is serialised once, at the end, by design
    result = suite.runpytest("--perf-compare", "-p", "no:xdist", "--perf-history=off")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_suite.py::test_chat *6 *", "compared with profile*"])


def test_a_report_leaving_the_process_carries_builtins_and_comes_back_whole(
    suite: pytest.Pytester,
) -> None:
    suite.makeconftest(
        """
        import json
        import pytest

        seen = []
        KEYS = ("perfbaseline", "perfbaseline_comparison")

        @pytest.hookimpl(trylast=True)
        def pytest_runtest_logreport(report):
            if not hasattr(report, "perfbaseline_comparison"):  # not a compare run's call
                return
            hook = pytest_runtest_logreport.config.hook
            config = pytest_runtest_logreport.config
            data = hook.pytest_report_to_serializable(config=config, report=report)
            text = json.dumps(data)  # builtins only, as execnet and report logs need
            back = hook.pytest_report_from_serializable(config=config, data=json.loads(text))
            seen.append({
                "sent": [type(data[k]).__name__ for k in KEYS],
                "here": [type(getattr(report, k)).__name__ for k in KEYS],
                "result_whole": back.perfbaseline == report.perfbaseline,
                "comparison_whole": back.perfbaseline_comparison == report.perfbaseline_comparison,
            })

        def pytest_configure(config):
            pytest_runtest_logreport.config = config

        def pytest_unconfigure(config):
            with open("seen.json", "w") as handle:
                json.dump(seen, handle)
        """
    )
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=3)
    suite.runpytest("--perf-compare").assert_outcomes(passed=3)
    seen = json.loads((suite.path / "seen.json").read_text())
    assert len(seen) == 3
    for entry in seen:
        assert entry == {
            "sent": ["dict", "dict"],
            "here": ["TestResult", "TestComparison"],
            "result_whole": True,
            "comparison_whole": True,
        }


@pytest.mark.parametrize("quiet", [[], ["-q"], ["-qq"]])
def test_every_table_of_the_terminal_summary_has_rows_however_quiet(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, quiet: list[str]
) -> None:
    suite.runpytest("--perf-baseline=save")
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")  # regressions: the verdict table has rows
    lines = suite.runpytest("--perf-compare", *quiet).outlines
    start = next(i for i, line in enumerate(lines) if line.startswith("=") and "perf test" in line)
    headers = [i for i in range(start, len(lines)) if lines[i].startswith("test ")]
    assert any("rounds" in lines[i] for i in headers)
    assert any("verdict" in lines[i] for i in headers)
    for i in headers:
        assert set(lines[i + 1]) == {"-", " "}, lines[i : i + 3]
        assert lines[i + 2].startswith("test_suite.py::"), lines[i : i + 3]


def test_junit_medians_are_the_summary_medians() -> None:
    from pytest_perfbaseline.metrics.names import MetricInfo
    from pytest_perfbaseline.metrics.result import TestResult
    from pytest_perfbaseline.reports.junit import junit_properties

    # Even counts (the median between two values), a round missing a metric, integers, and
    # a middle pair whose (a + b) / 2 and a + (b - a) / 2 differ in the last bit.
    rounds = (
        {"round_s": 0.27171957920854717, "ttft_s": 0.1, "output_tokens": 7},
        {"round_s": 6.643005907196687, "ttft_s": None, "output_tokens": 9},
        {"round_s": 0.1, "ttft_s": 0.3, "output_tokens": 8},
        {"round_s": 9.0, "ttft_s": 0.2, "output_tokens": 12},
    )
    info = MetricInfo("s", False, "time")
    result = TestResult(
        nodeid="t",
        rounds=rounds,
        infos={"round_s": info, "ttft_s": info, "output_tokens": MetricInfo("", False, "count")},
        itl_histogram=(),
        itl_pooled=None,
        token_sources={},
        rounds_requested=4,
        warmup=0,
        implicit=False,
    )
    props = dict(junit_properties(result, None))
    summary = result.summary()
    assert {k for k in props if k.endswith(".median")} == {
        "perf.round_s.median",
        "perf.ttft_s.median",
        "perf.output_tokens.median",
    }
    for name in ("round_s", "ttft_s", "output_tokens"):
        assert props[f"perf.{name}.median"] == f"{summary[name].median:.6g}"
    assert props["perf.rounds"] == 4
