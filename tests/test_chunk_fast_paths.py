"""The classifier's fast paths for parsed JSON decide exactly as the general rules do.

Chunks of parsed JSON (dicts) take shortcuts (a chat chunk with text, a Gemini chunk read
with the dict's own lookups); generated chunks, odd values included, must get the same answer
and leave the same usage and model as the general, field-by-field rules.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_perfbaseline.chunks import ChunkClassifier, analyze_chunks, classify
from pytest_perfbaseline.chunks.classify import _dict_has_output, _object_has_output
from pytest_perfbaseline.chunks.facts import UsageAccumulator
from pytest_perfbaseline.chunks.gemini import gemini_chunk_has_output, gemini_dict_has_output
from pytest_perfbaseline.chunks.openai import chat_chunk_has_output

odd_counts = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=10**6),
    st.booleans(),
    st.sampled_from([3.0, 2.5, -1.0, "12", float("nan")]),
)
texts = st.sampled_from(["", "hi", None, 0, "  "])


def optional_fields(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.title() for word in rest)


usage_metadata = optional_fields(
    **{
        spelling: odd_counts
        for base in ("candidates", "thoughts", "prompt", "tool_use_prompt", "cached_content")
        for spelling in (f"{base}_token_count", _camel(f"{base}_token_count"))
    }
)
parts = st.lists(
    st.one_of(
        optional_fields(text=texts),
        optional_fields(
            functionCall=optional_fields(name=texts, args=st.sampled_from([{}, {"a": 1}]))
        ),
        optional_fields(executable_code=optional_fields(code=texts)),
    ),
    max_size=3,
)
candidate = optional_fields(content=st.one_of(st.none(), optional_fields(parts=parts)))
gemini_chunks = optional_fields(
    candidates=st.one_of(st.none(), st.lists(candidate, max_size=2)),
    usageMetadata=st.one_of(st.none(), usage_metadata),
    usage_metadata=st.one_of(st.none(), st.just({}), usage_metadata),
    modelVersion=st.sampled_from(["gemini-2.5-flash", "", None]),
    model_version=st.sampled_from(["gemini-2.5-pro", None]),
)


def same_state(first: UsageAccumulator, second: UsageAccumulator) -> None:
    first.release()  # a running total held unread (Gemini's) is read now
    second.release()
    assert first.fields == second.fields
    assert first.model == second.model
    assert first.inclusive_input == second.inclusive_input
    assert first.family == second.family


anthropic_usage = st.fixed_dictionaries(
    {
        "type": st.just("message_delta"),
        "usage": optional_fields(
            input_tokens=odd_counts, output_tokens=odd_counts, cache_read_input_tokens=odd_counts
        ),
    }
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(gemini_chunks, gemini_chunks, anthropic_usage), min_size=1, max_size=6))
def test_gemini_dicts_read_as_the_general_rules_read_them(chunks: list[dict[str, Any]]) -> None:
    # Anthropic events among them record usage between two Gemini running totals: the one
    # held unread must be read first, as the general rules read every one in turn.
    fast, general = UsageAccumulator(), UsageAccumulator()
    for chunk in chunks:
        if "type" in chunk:
            assert _dict_has_output(chunk, fast) == _dict_has_output(chunk, general)
        else:
            assert gemini_dict_has_output(chunk, fast) == gemini_chunk_has_output(chunk, general)
    same_state(fast, general)


deltas = optional_fields(
    role=st.just("assistant"),
    content=texts,
    refusal=texts,
    reasoning_content=texts,
    tool_calls=st.sampled_from([None, [], [{"function": {"name": "f"}}]]),
)
choices = st.lists(
    st.one_of(
        optional_fields(index=st.just(0), delta=st.one_of(st.none(), deltas), text=texts),
        st.just("not a choice"),
    ),
    max_size=2,
)
chat_chunks = optional_fields(
    model=st.sampled_from(["gpt-4o-mini", None, ""]),
    choices=choices,
    usage=st.one_of(st.none(), st.just({"prompt_tokens": 3, "completion_tokens": 2})),
    x_groq=st.just({"usage": {"prompt_tokens": 5, "completion_tokens": 1}}),
)


TEXT_WITH_USAGE = [
    {"model": "m", "choices": [{"delta": {"content": "a"}}]},
    {"choices": [{"delta": {"content": "b"}}], "usage": {"prompt_tokens": 4}},
]


@settings(max_examples=400, deadline=None)
@given(st.lists(chat_chunks.filter(lambda c: "choices" in c), min_size=1, max_size=4))
@example(TEXT_WITH_USAGE)
def test_chat_dicts_read_as_the_chat_rules_read_them(chunks: list[dict[str, Any]]) -> None:
    fast, general = UsageAccumulator(), UsageAccumulator()
    for chunk in chunks:
        try:
            expected: Any = chat_chunk_has_output(chunk, general, chunk["choices"])
        except Exception as exc:  # a malformed choice: the same error either way
            expected = type(exc)
        try:
            answer: Any = _dict_has_output(chunk, fast)
        except Exception as exc:
            answer = type(exc)
        assert answer == expected
        same_state(fast, general)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(gemini_chunks, chat_chunks, st.sampled_from(["", "a", 3])), max_size=8))
def test_feeding_chunks_one_by_one_or_all_at_once_agrees_with_analyze_chunks(
    chunks: list[Any],
) -> None:
    try:
        facts = analyze_chunks(chunks)
    except Exception as exc:
        expected: Any = type(exc)
    else:
        expected = (facts.output_tokens, facts.token_source, facts.usage, facts.model)
    results = []
    for mode in ("feed", "feed_all"):
        classifier = ChunkClassifier()
        flags = (
            [classifier.feed(chunk) for chunk in chunks]
            if mode == "feed"
            else list(map(bool, classifier.feed_all(chunks)))
        )
        try:
            totals = classifier.totals(sum(flags))
        except Exception as exc:
            results.append(type(exc))
        else:
            if not isinstance(expected, type):
                assert tuple(i for i, flag in enumerate(flags) if flag) == facts.output_indices
            results.append(tuple(totals))
    assert results == [expected, expected]


# A Gemini REST API stream (its first dict has candidates and camel-case usage) is read by its
# own reader; any chunk among its later ones, Gemini or not, odd or not, is still read as the
# general rules read it, in turn.
odd_candidates = st.sampled_from(
    [[{"content": "text"}], [{"content": {"parts": "ab"}}], ["not a candidate"], [], "x"]
)
rest_gemini_chunks = st.fixed_dictionaries(
    {
        "candidates": st.one_of(st.lists(candidate, min_size=1, max_size=2), odd_candidates),
    },
    optional={
        "usageMetadata": st.one_of(st.none(), st.just({}), usage_metadata),
        "modelVersion": st.sampled_from(["gemini-2.0-flash", "", None]),
        "model_version": st.sampled_from(["gemini-2.5-pro", None]),
    },
)
rest_gemini_text = {"candidates": [{"content": {"parts": [{"text": "a"}]}}]}
later_chunks = st.one_of(
    rest_gemini_chunks,
    rest_gemini_chunks,
    gemini_chunks,
    anthropic_usage,
    chat_chunks,
    st.sampled_from(["", "a", 3, None, {"type": None, "candidates": [{}]}]),
    # the fields the general rules read before candidates
    st.builds(dict, st.just(rest_gemini_text), type=st.sampled_from(["message_delta", "x"])),
    st.builds(dict, st.just(rest_gemini_text), choices=st.just([])),
    st.builds(dict, st.just(rest_gemini_text), usage_metadata=st.just({"prompt_token_count": 3})),
)


def general_reading(chunks: list[Any]) -> tuple[list[bool], Any]:
    """Each chunk classified by the general rules, in turn; then the stream's usage and model
    (or the type of the first error raised)."""
    acc = UsageAccumulator()
    flags: list[bool] = []
    try:
        for chunk in chunks:
            if type(chunk) is str:
                flags.append(chunk != "")
            elif type(chunk) is dict:
                flags.append(_dict_has_output(chunk, acc))
            else:
                flags.append(_object_has_output(chunk, acc))
        return flags, (acc.result(), acc.model)
    except Exception as exc:  # what the classifier raises after the stream
        return flags, type(exc)


def rest_gemini(usage: dict[str, Any], text: str = "a") -> dict[str, Any]:
    return {"candidates": [{"content": {"parts": [{"text": text}]}}], "usageMetadata": usage}


@settings(max_examples=500, deadline=None)
@given(rest_gemini_chunks, st.lists(later_chunks, max_size=8))
# a running usage that set a field the next one does not: the cached tokens (in either
# spelling), the prompt (a count that is no integer; a snake-case one read before the other).
# The general rules read the first chunk, which decides the stream's shape; the loop the rest.
@example(
    rest_gemini({}),
    [
        rest_gemini({"promptTokenCount": 4, "cachedContentTokenCount": 2}),
        rest_gemini({"promptTokenCount": 4}),
    ],
)
@example(
    rest_gemini({}),
    [
        rest_gemini({"promptTokenCount": 4, "cached_content_token_count": 2}),
        rest_gemini({"promptTokenCount": 4}),
    ],
)
@example(
    rest_gemini({}),
    [rest_gemini({"promptTokenCount": 4}), rest_gemini({"promptTokenCount": 2.5})],
)
@example(
    rest_gemini({}),
    [
        rest_gemini({"promptTokenCount": 4}),
        rest_gemini({"prompt_token_count": "12", "promptTokenCount": 5}, ""),
    ],
)
@example(
    rest_gemini({}),
    [
        rest_gemini({"promptTokenCount": 4, "cachedContentTokenCount": 2.0}),
        rest_gemini({"promptTokenCount": 4, "cachedContentTokenCount": 2.5}),
    ],
)
def test_a_gemini_rest_stream_is_read_as_the_general_rules_read_it(
    first: dict[str, Any], later: list[Any]
) -> None:
    read_as_the_general_rules_read_it([first, *later])


chat_text = {"choices": [{"delta": {"content": "a"}}]}


@settings(max_examples=300, deadline=None)
@given(
    chat_chunks.filter(lambda c: "choices" in c),
    st.lists(
        st.one_of(
            chat_chunks,
            chat_chunks,
            rest_gemini_chunks,
            anthropic_usage,
            st.sampled_from(["", "a", 3, None, {**chat_text, "type": "x"}]),
            st.sampled_from([{**chat_text, "usage": None}, {**chat_text, "model": "m2"}]),
        ),
        max_size=8,
    ),
)
@example({"choices": [{"delta": {"content": "a"}}]}, [{"model": "m", **chat_text}])
@example(TEXT_WITH_USAGE[0], TEXT_WITH_USAGE[1:])
@example(TEXT_WITH_USAGE[0], [{"choices": [{"delta": {"content": ""}}]}])
def test_a_chat_stream_is_read_as_the_general_rules_read_it(
    first: dict[str, Any], later: list[Any]
) -> None:
    read_as_the_general_rules_read_it([first, *later])


def read_as_the_general_rules_read_it(chunks: list[Any]) -> None:
    expected_flags, expected = general_reading(chunks)
    for mode in ("feed", "feed_all", "halves"):
        classifier = ChunkClassifier()
        if mode == "feed":
            flags = [classifier.feed(chunk) for chunk in chunks]
        elif mode == "feed_all":
            flags = list(map(bool, classifier.feed_all(chunks)))
        else:  # a long stream: its first chunks one by one, the rest together at its end
            flags = [classifier.feed(chunk) for chunk in chunks[:2]]
            flags += map(bool, classifier.feed_all(chunks[2:]))
        assert flags[: len(expected_flags)] == expected_flags, mode
        answer: Any
        try:
            totals = classifier.totals(0)
        except Exception as exc:
            answer = type(exc)
        else:
            answer = (totals.usage, totals.model)
        assert answer == expected, mode


def test_a_gemini_rest_stream_is_not_read_by_the_general_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The general rules read its first dict, which tells the stream's shape; its later
    # chunks are decided by their own loop, but for a blocked prompt's last chunk (no
    # candidates), which still goes to the general rules.
    general: list[Any] = []

    def counted(chunk: dict[str, Any], acc: UsageAccumulator, candidates: Any = None) -> bool:
        general.append(chunk)
        return gemini_dict_has_output(chunk, acc, candidates)

    monkeypatch.setattr(classify, "gemini_dict_has_output", counted)
    chunks: list[Any] = [
        {
            "candidates": [{"content": {"parts": [{"text": text}]}}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": i + 1},
            "modelVersion": "gemini-2.0-flash",
        }
        for i, text in enumerate(["a", "", "b"])
    ]
    last = {"usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 3}}
    classifier = ChunkClassifier()
    assert list(classifier.feed_all([*chunks, "c", last])) == [1, 0, 1, 1, 0]
    assert general == [chunks[0], last]
    totals = classifier.totals(3)
    assert totals.usage is not None
    assert (totals.usage.input_tokens, totals.usage.output_tokens) == (4, 3)
    assert totals.model == "gemini-2.0-flash"


def test_a_chat_stream_s_text_chunks_are_not_read_by_the_general_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    general: list[Any] = []

    def counted(chunk: dict[str, Any], acc: UsageAccumulator) -> bool:
        general.append(chunk)
        return _dict_has_output(chunk, acc)

    monkeypatch.setattr(classify, "_dict_has_output", counted)
    role = {"model": "gpt-4o-mini", "choices": [{"delta": {"role": "assistant"}}]}
    text = [{"choices": [{"delta": {"content": word}}]} for word in ("a", "b")]
    last = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    classifier = ChunkClassifier()
    assert list(classifier.feed_all([role, *text, last])) == [0, 1, 1, 0]
    assert general == [role, last]
    totals = classifier.totals(2)
    assert (totals.output_tokens, totals.token_source, totals.model) == (2, "usage", "gpt-4o-mini")
