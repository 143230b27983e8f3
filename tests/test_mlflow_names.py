"""MLflow metric names: one per (test id, metric key, statistic), valid for MLflow, read back."""

from __future__ import annotations

import posixpath
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_perfbaseline.integrations.mlflow_names import (
    MAX_NAME_LENGTH,
    STATISTICS,
    MlflowMetric,
    _escape_tokens,
    mlflow_metric_name,
    nodeid_from_mlflow_name,
)

# what pytest ids and metric keys are made of, the awkward parts made likely
_PIECES = st.sampled_from(
    ["/", "::", "-", "--", "[", "]", ".", "..", "_", "a", "Z", "0", " ", ":", "é", "-h", "-u"]
)
_TEXT = st.one_of(
    st.lists(_PIECES, max_size=12).map("".join),
    st.text(max_size=30),
)
_STATISTIC = st.sampled_from(STATISTICS)
_WINDOWS_RULE = re.compile(r"^[/\w.\- ]*$")  # mlflow's rule on Windows, the strictest


@pytest.mark.parametrize(
    ("nodeid", "metric", "statistic", "name"),
    [
        (
            "tests/test_x.py::test_x[param-1]",
            "agent.writer.cost_usd",
            "median",
            "tests/test_x.py-.test_x-bparam--1-e/agent.writer.cost_usd/median",
        ),
        (
            "tests/test_x.py::TestA::test_b",
            "ttft_s",
            "p95",
            "tests/test_x.py-.TestA-.test_b/ttft_s/p95",
        ),
        ("t.py::test[a/b]", "x/y", "mean", "t.py-.test-ba/b-e/x-sy/mean"),
        ("t.py::test[a//b]", "ttft_s", "mean", "t.py-.test-ba-s-sb-e/ttft_s/mean"),
        ("t.py::test[: é]", "ttft_s", "mean", "t.py-.test-b-u00003a-u000020-u0000e9-e/ttft_s/mean"),
        ("..", ".", "p95", "-d-d/-d/p95"),
        ("../t.py::x", "..y", "p95", "-d.-st.py-.x/-d.y/p95"),
        ("", "ttft_s", "p95", "-0/ttft_s/p95"),
    ],
)
def test_documented_examples(nodeid: str, metric: str, statistic: str, name: str) -> None:
    assert mlflow_metric_name(nodeid, metric, statistic) == name
    assert nodeid_from_mlflow_name(name) == MlflowMetric(nodeid, metric, statistic)


def _valid_for_mlflow(name: str) -> None:
    from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH, _validate_metric_name

    assert MAX_NAME_LENGTH == MAX_ENTITY_KEY_LENGTH
    _validate_metric_name(name)  # raises MlflowException when MLflow would refuse it
    assert len(name) <= MAX_ENTITY_KEY_LENGTH
    assert _WINDOWS_RULE.match(name)
    assert name.isascii()
    assert posixpath.normpath(name) == name


@settings(max_examples=400, deadline=None)  # the first example imports mlflow
@given(_TEXT, _TEXT, _STATISTIC)
def test_names_read_back_and_mlflow_accepts_them(nodeid: str, metric: str, stat: str) -> None:
    pytest.importorskip("mlflow")
    name = mlflow_metric_name(nodeid, metric, stat)
    _valid_for_mlflow(name)
    full = [*_escape_tokens(nodeid, keep_slashes=True), "/"]
    full += [*_escape_tokens(metric, keep_slashes=False), "/", stat]
    if len("".join(full)) > MAX_NAME_LENGTH:
        with pytest.raises(ValueError, match="shortened with a hash"):
            nodeid_from_mlflow_name(name)  # too long: cut (see below)
    else:
        assert nodeid_from_mlflow_name(name) == (nodeid, metric, stat)


@settings(max_examples=400)
@given(st.tuples(_TEXT, _TEXT, _STATISTIC), st.tuples(_TEXT, _TEXT, _STATISTIC))
def test_different_metrics_never_share_a_name(
    one: tuple[str, str, str], other: tuple[str, str, str]
) -> None:
    if one != other:
        assert mlflow_metric_name(*one) != mlflow_metric_name(*other)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=400), st.integers(250, 400), _TEXT, _STATISTIC)
def test_long_names_are_cut_with_a_hash_and_stay_apart(
    tail: str, size: int, metric: str, stat: str
) -> None:
    pytest.importorskip("mlflow")
    nodeid = "tests/test_long.py::test[" + "x" * size + tail + "]"
    name = mlflow_metric_name(nodeid, metric, stat)
    _valid_for_mlflow(name)
    # as long as fits: cut between escapes, so up to an escape's length (8) minus one short
    assert MAX_NAME_LENGTH - 8 < len(name) <= MAX_NAME_LENGTH
    other = mlflow_metric_name(nodeid + "-", metric, stat)  # same cut prefix, other id
    assert other != name
    with pytest.raises(ValueError, match=r"perfbaseline-metric-names\.json"):
        nodeid_from_mlflow_name(name)


def test_a_long_id_keeps_its_metric_and_statistic_readable() -> None:
    name = mlflow_metric_name("t.py::test[" + "y" * 300 + "]", "agent.writer.cost_usd", "p95")
    assert re.fullmatch(r"t\.py-\.test-by+-h[0-9a-f]{16}/agent\.writer\.cost_usd/p95", name)


@pytest.mark.parametrize(
    "name",
    [
        "t.py/ttft_s/p99",  # not a statistic we log
        "t.py/ttft_s",
        "t.py-q/ttft_s/p95",  # no such escape
        "t.py-u00zz1/ttft_s/p95",
        "t.py-u00003a-u00003a/ttft_s/p95",  # '::' has its own escape: another spelling
        "t.py/x/y/p95",
    ],
)
def test_names_it_did_not_write_are_refused(name: str) -> None:
    if name == "t.py/x/y/p95":
        # this one reads as test 't.py/x', metric 'y': a name it does write
        assert nodeid_from_mlflow_name(name) == ("t.py/x", "y", "p95")
        return
    with pytest.raises(ValueError, match="not a pytest-perfbaseline metric name"):
        nodeid_from_mlflow_name(name)


def test_only_the_logged_statistics() -> None:
    with pytest.raises(ValueError, match="median, p95, mean"):
        mlflow_metric_name("t.py::test", "ttft_s", "p99")
