"""The classifier's fast paths for parsed JSON decide exactly as the general rules do.

Chunks of parsed JSON (dicts) take shortcuts (a chat chunk with text, a Gemini chunk read
with the dict's own lookups); generated chunks, odd values included, must get the same answer
and leave the same usage and model as the general, field-by-field rules.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_perfbaseline.chunks import ChunkClassifier, analyze_chunks
from pytest_perfbaseline.chunks.classify import _dict_has_output
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
