"""``perfbaseline dashboard``: the data model, the page's escaping, the command, the server."""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from dashboard_fakes import fill_history, serving
from fakes import INI

from pytest_perfbaseline.cli import main
from pytest_perfbaseline.history.dashboard import (
    dashboard_data,
    dashboard_page,
    latest_rolling_median,
)
from pytest_perfbaseline.history.location import StoreLocation
from pytest_perfbaseline.history.serve import is_loopback
from pytest_perfbaseline.history.store import HistoryStore, RunFilter


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> StoreLocation:
    """3 tests x 12 runs, one an hour; test 0 steps up 30% from run 6."""
    path = tmp_path_factory.mktemp("dash") / "history.sqlite"
    return fill_history(path, tests=3, runs=12, step_at=6)


def _data(location: StoreLocation, selection: RunFilter | None = None) -> dict[str, Any]:
    with HistoryStore.open(location) as store:
        return dashboard_data(store, selection)


def _one(data: dict[str, Any], test: str, metric: str) -> dict[str, Any]:
    t = data["tests"].index(test)
    m = [name for name, _, _ in data["metrics"]].index(metric)
    [found] = [s for s in data["series"] if s["t"] == t and s["m"] == m]
    return found


# -- the data model ----------------------------------------------------------------------------


def test_runs_are_one_table_and_series_point_into_it(history: StoreLocation) -> None:
    data = _data(history)
    runs = data["runs"]
    assert len(runs["id"]) == 12
    assert runs["t"][1] - runs["t"][0] == 3600
    assert runs["branch"][:2] == ["feature/x", "main"]
    assert set(runs["profile"]) == {"ci"}
    assert data["tests"] == [f"tests/test_chat.py::test_reply_{i}" for i in range(3)]
    # charted metrics are the round's; the cost breakdowns are not charted per test
    assert {name for name, _, _ in data["metrics"]} == {
        "round_s", "ttft_s", "tpot_s", "e2e_s", "itl_p50_s", "itl_p95_s", "tokens_per_s",
        "cost_usd",
    }  # fmt: skip
    series = _one(data, "tests/test_chat.py::test_reply_1", "ttft_s")
    assert series["r0"] == 0
    assert "rd" not in series  # every run, in order
    assert len(series["v"]) == 12
    assert series["n"] == 5


def test_a_step_is_a_change_point_and_rolling_medians_are_of_the_latest_run(
    history: StoreLocation,
) -> None:
    data = _data(history)
    stepped = _one(data, "tests/test_chat.py::test_reply_0", "round_s")
    [[at, before, after, ratio]] = stepped["cp"]
    assert at == 6
    assert after / before == pytest.approx(1.3, rel=0.05)
    assert ratio == pytest.approx(1.3, rel=0.05)
    assert "cp" not in _one(data, "tests/test_chat.py::test_reply_1", "round_s")
    one_h, one_d, one_w = stepped["roll"]
    assert one_h == pytest.approx(sum(stepped["v"][-2:]) / 2, rel=1e-3)  # runs an hour apart
    assert one_d == one_w  # all 12 runs within both


def test_latest_rolling_median() -> None:
    times = [0, 10, 20, 30, 40]
    values = [1.0, None, 3.0, 10.0, 2.0]
    assert latest_rolling_median(times, values, 10) == 6.0  # 30 and 40
    assert latest_rolling_median(times, values, 25) == 3.0  # 20, 30, 40
    assert latest_rolling_median(times, values, 100) == 2.5
    assert latest_rolling_median([0, 1], [None, None], 10) is None
    assert latest_rolling_median([], [], 10) is None


def test_filters_baselines_cost_and_recommendations(history: StoreLocation) -> None:
    data = _data(history, RunFilter(branch="main"))
    assert len(data["runs"]["id"]) == 9
    series = _one(data, "tests/test_chat.py::test_reply_1", "round_s")
    assert series["r0"] == 0
    assert len(series["v"]) == 9
    full = _data(history)
    [version] = full["baselines"]  # run 0 saved
    assert version["run"] == 0
    assert version["tests"] == 3
    assert set(full["cost"]["model"]) == {"claude-haiku", "gpt-4o-mini"}
    positions, values = full["cost"]["agent"]["planner"]
    assert positions == list(range(12))
    assert all(v > 0 for v in values)
    assert all(
        set(r) == {"kind", "test", "metric", "finding", "action"} for r in full["recommendations"]
    )
    assert any(r["test"] == "tests/test_chat.py::test_reply_0" for r in full["recommendations"])


def test_verdicts_are_marked_and_gaps_in_runs_kept(tmp_path: Path) -> None:
    location = fill_history(tmp_path / "h.sqlite", tests=2, runs=5)
    with HistoryStore.open(location) as store, store.db.transaction():
        runs = store.runs()
        store.db.execute(
            "UPDATE results SET verdict = 'undecided' WHERE run_id = ? AND nodeid LIKE '%_0'",
            (runs[3].run_id,),
        )
        store.db.execute(
            "UPDATE results SET verdict = 'unchanged' WHERE run_id = ?", (runs[4].run_id,)
        )
        store.db.execute(
            "DELETE FROM results WHERE run_id = ? AND nodeid LIKE '%_1'", (runs[2].run_id,)
        )
    data = _data(location)
    assert data["verdicts"] == ["regressed", "undecided", "improved", "excused"]
    marked = _one(data, "tests/test_chat.py::test_reply_0", "round_s")
    assert marked["x"] == {"3": 1}  # unchanged is not marked
    gap = _one(data, "tests/test_chat.py::test_reply_1", "round_s")
    assert gap["r0"] == 0
    assert gap["rd"] == [1, 2, 1]
    assert "x" not in gap


def test_an_empty_store_is_an_empty_dashboard(tmp_path: Path) -> None:
    location = StoreLocation("sqlite", str(tmp_path / "empty.sqlite"))
    HistoryStore.open(location).close()
    data = _data(location)
    assert data["runs"]["id"] == []
    assert data["series"] == []
    assert data["recommendations"] == []
    assert "<canvas" not in dashboard_page(data)  # charts are made by the script, from data


def test_a_pytester_session_is_on_the_dashboard(pytester: pytest.Pytester) -> None:
    db = pytester.path / "history.sqlite"
    pytester.makeini(INI)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.perf(rounds=3, warmup=0)
        def test_one(perf):
            perf(lambda: None)
        """
    )
    pytester.runpytest_inprocess(f"--perf-history=sqlite:///{db}").assert_outcomes(passed=1)
    data = _data(StoreLocation("sqlite", str(db)))
    assert data["tests"] == ["test_a_pytester_session_is_on_the_dashboard.py::test_one"]
    assert len(data["runs"]["id"]) == 1
    assert _one(data, data["tests"][0], "round_s")["n"] == 3


# -- escaping ----------------------------------------------------------------------------------

NASTY = 'tests/test_x.py::test_a[</script><script>alert("x")</script><!--&]'


def _embedded(page: str) -> dict[str, Any]:
    match = re.search(r'<script id="perf-data" type="application/json">(.*?)</script>', page, re.S)
    assert match is not None
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def test_test_ids_are_data_never_markup(tmp_path: Path) -> None:
    location = fill_history(tmp_path / "h.sqlite", tests=1, runs=2, test_name=NASTY)
    page = dashboard_page(_data(location))
    assert "</script><script>alert" not in page
    assert "<!--&" not in page
    assert _embedded(page)["tests"] == [NASTY]
    assert html.escape(NASTY) not in page  # not pasted as escaped markup either: only as JSON


# -- the command -------------------------------------------------------------------------------


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return status, out.getvalue(), err.getvalue()


def test_the_command_writes_one_offline_file(history: StoreLocation, tmp_path: Path) -> None:
    target = tmp_path / "dash.html"
    status, out, err = _run(
        "dashboard", "--history", f"sqlite:///{history.target}", "-o", str(target)
    )
    assert (status, err) == (0, "")
    assert out.startswith(f"wrote {target}: 12 runs, 3 tests")
    page = target.read_text(encoding="utf-8")
    assert _embedded(page)["live"] is False
    assert "http://" not in page.split("<script>")[0]  # nothing in the markup reaches out
    status, out, _ = _run(
        "dashboard", "--history", f"sqlite:///{history.target}", "--test", "test_reply_2",
        "-o", str(target),
    )  # fmt: skip
    assert status == 0
    assert _embedded(target.read_text(encoding="utf-8"))["tests"] == [
        "tests/test_chat.py::test_reply_2"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give -o FILE.html (a file) or --serve (live), one of them"),
        (["--serve", "-o", "x.html"], "one of them"),
        (["--port", "70000", "--serve"], "a port is 0 to 65535"),
        (["--history", "sqlite:///{missing}", "-o", "x.html"], "no history"),
        (["--history", "mysql://x", "-o", "x.html"], "--history must be"),
        (["--history", "sqlite:///{db}", "-o", "{folder}"], "cannot write"),
        (["--history", "sqlite:///{db}", "--test", "nope", "-o", "x.html"], "no recorded test"),
    ],
    ids=["neither", "both", "port", "missing-store", "bad-url", "unwritable", "unknown-test"],
)
def test_usage_errors_are_one_line_and_status_2(
    history: StoreLocation, tmp_path: Path, args: list[str], message: str
) -> None:
    values = {"missing": tmp_path / "nope.sqlite", "db": history.target, "folder": tmp_path}
    status, _out, err = _run("dashboard", *(a.format(**values) for a in args))
    assert status == 2
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "nope.sqlite").exists()


# -- the server --------------------------------------------------------------------------------


def _get(url: str, host: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_server_serves_the_page_data_and_state(tmp_path: Path) -> None:
    location = fill_history(tmp_path / "h.sqlite", tests=2, runs=3)
    live = tmp_path / "live"
    live.mkdir()
    with serving(location, live) as server:
        assert server.url.startswith("http://127.0.0.1:")
        status, body = _get(server.url)
        assert status == 200
        assert _embedded(body.decode())["live"] is True
        status, body = _get(server.url + "api/state")
        state = json.loads(body)
        assert state == {"key": state["key"], "live": []}
        assert state["key"].startswith("3:")
        status, body = _get(server.url + "api/data")
        assert len(json.loads(body)["runs"]["id"]) == 3
        fill_history(Path(location.target), tests=2, runs=1, seed=2)  # one more run
        status, body = _get(server.url + "api/state")
        assert json.loads(body)["key"].startswith("4:")
        assert len(json.loads(_get(server.url + "api/data")[1])["runs"]["id"]) == 4
        assert _get(server.url + "nope")[0] == 404
        port = server.server_address[1]
        assert _get(server.url, host=f"evil.example:{port}")[0] == 403
        assert _get(server.url, host=f"localhost:{port}")[0] == 200


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("[::1]")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.2")
    assert not is_loopback("example.com")


def test_serve_warns_off_loopback_and_stops_cleanly_on_ctrl_c(
    history: StoreLocation, tmp_path: Path
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_perfbaseline", "dashboard", "--serve", "--host", "0.0.0.0",
         "--port", "0", "--history", f"sqlite:///{history.target}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert re.match(r"serving the dashboard of .* at http://0\.0\.0\.0:\d+/", line), line
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "stopped" in out
    assert "reachable from the network" in err
    assert "Traceback" not in err


def _rechecked_run(location: StoreLocation, when: str, outcome: str) -> None:
    """One more run in which test 0's round_s looked worse and was re-measured: ``outcome``."""
    from dataclasses import replace

    from fakes import ENV, plain_report
    from history_fakes import fake_result

    from pytest_perfbaseline.gate.compare import Comparison, Recheck, TestComparison
    from pytest_perfbaseline.history.record import RunMeta, run_record
    from pytest_perfbaseline.reports.json_report import report_to_dict

    nodeid = "tests/test_chat.py::test_reply_0"
    c = Comparison(
        "round_s", "unchanged", True, "s", False, 0.1, 10, 10, 0.1, 0.1, 1.0, 0.95, 1.05, 0.5,  # type: ignore[arg-type]
        0.01, "mann-whitney exact",
    )  # fmt: skip
    recheck = Recheck(confirmation=outcome)  # type: ignore[arg-type]
    tc = TestComparison(nodeid, (c,), 0.01, suspected=("round_s",), recheck=recheck)
    report = plain_report(
        [fake_result(nodeid, 0.01)], profile="ci", env=replace(ENV, saved_at=when)
    )
    entry = replace(report.tests[0], comparison=tc)
    report = replace(report, compare=True, tests=(entry,))
    with HistoryStore.open(location) as store:
        store.append(run_record(report_to_dict(report), RunMeta("session", when, "main")))


def test_excused_regressions_are_marked(tmp_path: Path) -> None:
    """A suspected metric that re-measuring did not confirm is marked excused on its run (and so
    in the runs table's badges); a confirmed one is left to its verdict."""
    location = fill_history(tmp_path / "h.sqlite", tests=2, runs=3)
    _rechecked_run(location, "2026-12-01T00:00:00Z", "not confirmed")
    _rechecked_run(location, "2026-12-02T00:00:00Z", "confirmed")
    data = _data(location)
    assert data["verdicts"] == ["regressed", "undecided", "improved", "excused"]
    marked = _one(data, "tests/test_chat.py::test_reply_0", "round_s")
    assert marked["x"] == {"3": 3}  # run 3 excused; run 4's "unchanged" not marked
    assert "x" not in _one(data, "tests/test_chat.py::test_reply_0", "ttft_s")  # not suspected


@pytest.mark.parametrize(
    ("location", "label"),
    [
        (StoreLocation("sqlite", "/tmp/pytest-of-x/dash0/history.sqlite"), "history.sqlite"),
        (StoreLocation("postgresql", "postgresql://ci:s3cret@db.example:5432/perf?sslmode=require"),
         "postgresql://db.example:5432/perf"),
    ],
)  # fmt: skip
def test_the_page_names_its_store_briefly_and_without_credentials(
    location: StoreLocation, label: str
) -> None:
    assert location.label() == label
