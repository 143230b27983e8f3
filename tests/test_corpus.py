"""Every stream of the corpus (``tests/corpus/``) read as its documented format says it should be.

Each stream is checked in these variants: ``dict``, its payloads as parsed JSON through
``analyze_chunks``; ``sdk``, the same stream as the provider's SDK yields it (its pydantic
objects, without the events the SDK swallows, cut where the SDK raises) through
``analyze_chunks``; ``perf``, the parsed payloads through ``Perf`` on a fake clock, one payload
every 10 ms, checking the round's token metrics and the latencies that follow from which chunks
carry output; and ``perf_sdk_raises``, for a stream the SDK cuts with an error, the payloads
before the error through ``Perf`` from a source that then raises, as the SDK does.

A case whose ``known_gaps`` name a variant is expected to fail there (strictly): when the
reading is fixed, the test passes unexpectedly and the gap comes out of the corpus file.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest
from corpus import SDK_MODULES, Case, load_cases, sdk_error_index, sdk_stream
from fakes import FakeClock, no_cost, scripted

from pytest_perfbaseline import Perf
from pytest_perfbaseline.chunks import StreamFacts, analyze_chunks, classify
from pytest_perfbaseline.usage.tokens import Usage

CASES = load_cases()
STEP_S = 0.01
USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


def _params(variant: str, cases: list[Case] = CASES) -> list[Any]:
    params = []
    for case in cases:
        marks = []
        if variant in case.gaps:
            marks.append(pytest.mark.xfail(strict=True, reason=case.gaps[variant]))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


@pytest.fixture
def fresh_families(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget the chunk family learnt per SDK class, so no test depends on the ones before it."""
    monkeypatch.setattr(classify, "_FAMILIES", {})


def _sdk_or_skip(case: Case) -> None:
    module = SDK_MODULES[case.api]
    if importlib.util.find_spec(module.partition(".")[0]) is None or (
        importlib.util.find_spec(module) is None
    ):
        pytest.skip(f"{module} is not installed")


def _perf() -> tuple[Perf, FakeClock]:
    clock = FakeClock()
    perf = Perf(rounds=1, warmup=0, clock=clock, cost_of=no_cost, on_no_usage=lambda model: None)
    return perf, clock


def _check_tokens(values: dict[str, float | None], case: Case) -> None:
    usage = case.usage or dict.fromkeys(USAGE_FIELDS, 0)
    assert values["api_calls"] == 1
    assert values["output_tokens"] == case.output_tokens
    for field in ("input_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens"):
        assert values[field] == usage[field], field


def _usage_dict(usage: Usage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    return {field: getattr(usage, field) for field in USAGE_FIELDS}


def _check(facts: StreamFacts, case: Case, output_indices: tuple[int, ...]) -> None:
    assert facts.output_indices == output_indices
    assert (facts.token_source, facts.output_tokens) == (case.token_source, case.output_tokens)
    assert _usage_dict(facts.usage) == case.usage
    assert facts.model == case.model


def test_corpus_is_well_formed() -> None:
    apis = {case.api for case in CASES}
    assert apis == set(SDK_MODULES)
    for case in CASES:
        assert all(0 <= i < len(case.chunks) for i in case.output_indices), case.name
        assert list(case.output_indices) == sorted(set(case.output_indices)), case.name
        assert case.token_source in ("usage", "chunks"), case.name
        if case.token_source == "chunks":
            assert case.output_tokens == len(case.output_indices), case.name
        assert all(case.gaps.values()), case.name


@pytest.mark.parametrize("case", _params("dict"))
def test_parsed_payloads(case: Case) -> None:
    _check(analyze_chunks(case.chunks, None), case, case.output_indices)


@pytest.mark.usefixtures("fresh_families")
@pytest.mark.parametrize("case", _params("sdk"))
def test_sdk_objects(case: Case) -> None:
    _sdk_or_skip(case)
    stream = sdk_stream(case)
    _check(analyze_chunks(stream.objects, None), case, stream.output_indices(case))


@pytest.mark.parametrize("case", _params("perf"))
def test_perf_round(case: Case) -> None:
    perf, clock = _perf()
    perf(lambda: list(perf.stream(scripted(clock, [(STEP_S, c) for c in case.chunks]))))
    (values,) = perf.rounds
    _check_tokens(values, case)
    if case.output_indices:
        first, last = case.output_indices[0], case.output_indices[-1]
        assert values["ttft_s"] == pytest.approx((first + 1) * STEP_S)
        assert values["e2e_s"] == pytest.approx((last + 1) * STEP_S)
    else:
        assert values.get("ttft_s") is None
        assert values.get("e2e_s") is None


class StreamError(Exception):
    """What an SDK raises on an in-band error payload (APIError, APIStatusError ...)."""


def _raising(clock: FakeClock, chunks: list[Any]) -> Iterator[Any]:
    yield from scripted(clock, [(STEP_S, c) for c in chunks])
    raise StreamError("in-band error")


@pytest.mark.parametrize(
    "case", _params("perf_sdk_raises", [c for c in CASES if sdk_error_index(c) is not None])
)
def test_perf_round_sdk_raises(case: Case) -> None:
    """A failed call the workload caught is still an API call, and its reported tokens count."""
    error_index = sdk_error_index(case)
    assert error_index is not None
    perf, clock = _perf()

    def workload() -> None:
        with pytest.raises(StreamError):
            list(perf.stream(_raising(clock, case.chunks[:error_index])))

    perf(workload)
    (values,) = perf.rounds
    _check_tokens(values, case)


@pytest.mark.usefixtures("fresh_families")
def test_gemini_sdk_class_after_a_blocked_prompt() -> None:
    """What one Gemini stream looked like does not change how the next one is read."""
    cases = {case.name: case for case in CASES}
    blocked, text = cases["gemini/blocked_prompt"], cases["gemini/text"]
    _sdk_or_skip(text)
    analyze_chunks(sdk_stream(blocked).objects, None)
    stream = sdk_stream(text)
    _check(analyze_chunks(stream.objects, None), text, stream.output_indices(text))
