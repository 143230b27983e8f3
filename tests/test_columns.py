"""A result that holds its values by metric: rounds built only when asked for, the same ones."""

from __future__ import annotations

import json
import pickle
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest
from fakes import ENV, RATE, TIME, TOKENS

from pytest_perfbaseline.baseline.entries import entry_document
from pytest_perfbaseline.baseline.sessions import pool_sessions
from pytest_perfbaseline.baseline.store import BaselineStore
from pytest_perfbaseline.gate.compare import compare_test
from pytest_perfbaseline.gate.settings import TestSettings
from pytest_perfbaseline.metrics import result as result_module
from pytest_perfbaseline.metrics.names import MetricName
from pytest_perfbaseline.metrics.result import TestResult

PROFILE = "p"
NODEID = "tests/test_a.py::test_answer"
INFOS = {"ttft_s": TIME, "tokens_per_s": RATE, "output_tokens": TOKENS}
NAMES = {"ttft_s": MetricName.of_round("ttft_s")}
COLUMNS: dict[str, list[float | None]] = {
    # name order, as a baseline holds them; a null and a metric with no value at all
    "output_tokens": [30.0, 31.0, 30.0, 32.0],
    "tokens_per_s": [50.0, None, 52.5, 51.0],
    "ttft_s": [0.1, 0.11, 0.105, 0.12],
    "unknown": [None, None, None, None],
}
COMMON = {
    "infos": INFOS,
    "itl_histogram": ((0.0, 0.001, 3), (0.001, 0.002, 1)),
    "itl_pooled": None,
    "token_sources": {"stream": "usage"},
    "rounds_requested": 4,
    "warmup": 1,
    "implicit": False,
    "names": NAMES,
}


def by_rounds() -> TestResult:
    rounds = tuple(
        {name: column[i] for name, column in COLUMNS.items()} for i in range(len(COLUMNS["ttft_s"]))
    )
    return TestResult(nodeid=NODEID, rounds=rounds, **COMMON)  # type: ignore[arg-type]


def by_columns() -> TestResult:
    return TestResult.from_columns(NODEID, COLUMNS, 4, **COMMON)  # type: ignore[arg-type]


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times rounds were built from columns."""
    calls: list[int] = []
    rows = result_module._rows

    def counting(columns: result_module.Columns) -> result_module.Rounds:
        calls.append(1)
        return rows(columns)

    monkeypatch.setattr(result_module, "_rows", counting)
    return calls


def test_rounds_from_columns_are_the_rounds_given_key_for_key(built: list[int]) -> None:
    columnar, plain = by_columns(), by_rounds()
    assert columnar.columns is not None
    assert plain.columns is None
    assert not built  # nothing read them yet
    assert [list(r.items()) for r in columnar.rounds] == [list(r.items()) for r in plain.rounds]
    assert columnar.rounds is columnar.rounds  # built once, then kept
    assert len(built) == 1


def test_a_columnar_result_reads_its_columns_without_building_rounds(built: list[int]) -> None:
    columnar, plain = by_columns(), by_rounds()
    for name in [*COLUMNS, "absent"]:
        assert columnar.values(name) == plain.values(name)
        assert columnar.column(name) == plain.column(name)
    assert columnar.values("tokens_per_s") == [50.0, 52.5, 51.0]
    assert columnar.column("absent") == [None] * 4
    assert columnar.round_count == plain.round_count == 4
    assert columnar.summary() == plain.summary()
    assert entry_document(columnar, ENV) == entry_document(plain, ENV)
    assert not built


def test_a_columnar_result_is_the_same_value_as_one_given_rounds() -> None:
    columnar, plain = by_columns(), by_rounds()
    assert columnar == plain
    assert repr(columnar) == repr(plain)
    assert json.dumps(columnar.to_dict()) == json.dumps(plain.to_dict())
    assert TestResult.from_dict(columnar.to_dict()) == plain
    assert pickle.loads(pickle.dumps(by_columns())) == plain  # before and after rounds exist
    assert pickle.loads(pickle.dumps(columnar)) == plain
    assert replace(by_columns(), warmup=3) == replace(plain, warmup=3)
    assert by_columns() != replace(plain, rounds=plain.rounds[:3])
    with pytest.raises(FrozenInstanceError):
        columnar.rounds = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(columnar)  # as a result given rounds: its mappings are not hashable


def test_a_result_without_metrics_from_columns_has_its_empty_rounds() -> None:
    empty = TestResult.from_columns(NODEID, {}, 3, **{**COMMON, "infos": {}})  # type: ignore[arg-type]
    assert empty.rounds == ({}, {}, {})
    assert empty.columns is None


def test_with_columns_replaces_the_values_and_keeps_the_rest() -> None:
    other = {"ttft_s": [0.2, 0.3]}
    changed = by_rounds().with_columns(other, 2)
    assert changed.rounds == ({"ttft_s": 0.2}, {"ttft_s": 0.3})
    assert replace(changed, rounds=by_rounds().rounds) == by_rounds()


def save(tmp_path: Path, sessions: int) -> None:
    store = BaselineStore(tmp_path, PROFILE)
    for k in range(sessions):
        rows = tuple(
            {**r, "ttft_s": v * (1 + 0.01 * k)}
            for r, v in zip(by_rounds().rounds, [0.1, 0.11, 0.105, 0.12], strict=True)
        )
        report = store.save([(replace(by_rounds(), rounds=rows), ENV)])
        assert report.saved == (NODEID,)


@pytest.mark.parametrize("sessions", [1, 3])
def test_loading_and_gating_a_baseline_builds_no_round(
    tmp_path: Path, built: list[int], sessions: int
) -> None:
    save(tmp_path, sessions)
    entry = BaselineStore(tmp_path, PROFILE).load(NODEID)
    assert entry is not None
    assert entry.sessions == sessions
    assert entry.result.columns is not None
    compare_test(entry.result, by_rounds(), TestSettings(), 0.05)
    entry.result.summary()
    assert not built
    assert len(entry.result.rounds) == 4 * sessions  # pooled: every session's rounds
    assert len(built) == 1


def test_a_pooled_result_is_the_newest_session_with_the_pooled_columns() -> None:
    sessions = [
        (
            replace(
                by_rounds(), rounds=tuple({**r, "ttft_s": 0.1 * k} for r in by_rounds().rounds)
            ),
            ENV,
        )
        for k in (1, 2, 3)
    ]
    pooled = pool_sessions(sessions).result
    assert pooled.columns is not None
    assert len(pooled.rounds) == 12
    # counts are the newest session's: null past its rounds, in every round
    assert pooled.column("output_tokens") == [30.0, 31.0, 30.0, 32.0, *[None] * 8]
    assert [list(r) for r in pooled.rounds] == [sorted(INFOS)] * 12  # keys in name order


@pytest.mark.parametrize("enabled", [True, False])
def test_parsing_a_baseline_file_pauses_the_cyclic_collector_and_restores_it(
    enabled: bool,
) -> None:
    import gc

    from pytest_perfbaseline.baseline import jsontext

    big = json.dumps({f"t{i}": {"values": [0.5] * 3, "unit": "s"} for i in range(5000)})
    collections: list[str] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(phase)

    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    gc.callbacks.append(note)
    try:
        assert len(jsontext.loads(big)) == 5000
        with pytest.raises(jsontext.JSONTextError):
            jsontext.loads(big[:-1])
        assert gc.isenabled() is enabled
    finally:
        gc.callbacks.remove(note)
        (gc.enable if was else gc.disable)()
    assert collections == []  # 10,000 containers made, and no collection ran
