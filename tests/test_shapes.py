"""Stream shapes are recognised from dicts and from the real SDKs' event types."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_perfbaseline.chunks import analyze_chunks
from pytest_perfbaseline.usage.tokens import Usage

openai_chat = pytest.importorskip("openai.types.chat")
openai_responses = pytest.importorskip("openai.types.responses")
anthropic_types = pytest.importorskip("anthropic.types")


# -- OpenAI Chat Completions ---------------------------------------------------------------


def chat_events() -> list[dict[str, Any]]:
    base = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-2024-08-06",
    }
    return [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": "Hi"}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": " there"}}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {
            **base,
            "choices": [],
            "usage": {
                "prompt_tokens": 20,
                "completion_tokens": 9,
                "total_tokens": 29,
                "prompt_tokens_details": {"cached_tokens": 8, "cache_write_tokens": 4},
                "completion_tokens_details": {"reasoning_tokens": 5},
            },
        },
    ]


EXPECTED_CHAT_USAGE = Usage(
    model="gpt-4o-2024-08-06",
    input_tokens=20,
    output_tokens=9,
    cached_input_tokens=8,
    cache_write_tokens=4,
    reasoning_tokens=5,
)


def test_openai_chat_dicts() -> None:
    facts = analyze_chunks(chat_events())
    assert facts.output_indices == (1, 2)
    assert facts.usage == EXPECTED_CHAT_USAGE
    assert facts.output_tokens == 9
    assert facts.token_source == "usage"
    assert facts.model == "gpt-4o-2024-08-06"


def test_openai_chat_sdk_objects() -> None:
    chunks = [openai_chat.ChatCompletionChunk.model_validate(e) for e in chat_events()]
    facts = analyze_chunks(chunks)
    assert facts.output_indices == (1, 2)
    assert facts.usage == EXPECTED_CHAT_USAGE


def test_openai_chat_tool_calls_and_reasoning_content_are_output() -> None:
    base = {"object": "chat.completion.chunk", "model": "m"}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"reasoning_content": "thinking"}}]},
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]},
                }
            ],
        },
        {**base, "choices": [{"index": 0, "delta": {"refusal": "no"}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": None}}]},
    ]
    facts = analyze_chunks(chunks)
    assert facts.output_indices == (0, 1, 2)
    assert facts.usage is None
    assert facts.token_source == "chunks"
    assert facts.output_tokens == 3


def test_chat_stream_without_usage_counts_chunks_or_the_counter() -> None:
    events = chat_events()[:4]
    assert analyze_chunks(events).output_tokens == 2
    counted = analyze_chunks(events, tokens=lambda c: 3)
    assert (counted.output_tokens, counted.token_source) == (6, "counter")


# -- OpenAI Responses ----------------------------------------------------------------------


def responses_events(final: str = "response.completed") -> list[dict[str, Any]]:
    response = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "model": "gpt-4.1-mini",
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    return [
        {
            "type": "response.created",
            "sequence_number": 0,
            "response": {**response, "status": "in_progress"},
        },
        {
            "type": "response.output_text.delta",
            "sequence_number": 1,
            "item_id": "m",
            "output_index": 0,
            "content_index": 0,
            "delta": "Hel",
            "logprobs": [],
        },
        {
            "type": "response.output_text.delta",
            "sequence_number": 2,
            "item_id": "m",
            "output_index": 0,
            "content_index": 0,
            "delta": "lo",
            "logprobs": [],
        },
        {
            "type": "response.output_text.done",
            "sequence_number": 3,
            "item_id": "m",
            "output_index": 0,
            "content_index": 0,
            "text": "Hello",
            "logprobs": [],
        },
        {
            "type": final,
            "sequence_number": 4,
            "response": {
                **response,
                "status": "completed",
                "usage": {
                    "input_tokens": 30,
                    "input_tokens_details": {"cached_tokens": 10},
                    "output_tokens": 12,
                    "output_tokens_details": {"reasoning_tokens": 4},
                    "total_tokens": 42,
                },
            },
        },
    ]


@pytest.mark.parametrize("final", ["response.completed", "response.incomplete", "response.failed"])
def test_openai_responses_dicts(final: str) -> None:
    facts = analyze_chunks(responses_events(final))
    assert facts.output_indices == (1, 2)
    assert facts.usage == Usage(
        model="gpt-4.1-mini",
        input_tokens=30,
        output_tokens=12,
        cached_input_tokens=10,
        reasoning_tokens=4,
    )


def test_openai_responses_sdk_objects() -> None:
    # The SDK builds streamed events leniently with construct_type, as done here.
    from openai._models import construct_type

    events = [
        construct_type(type_=openai_responses.ResponseStreamEvent, value=e)
        for e in responses_events()
    ]
    assert type(events[1]).__name__ == "ResponseTextDeltaEvent"
    facts = analyze_chunks(events)
    assert facts.output_indices == (1, 2)
    assert facts.output_tokens == 12
    assert facts.usage is not None
    assert facts.usage.cached_input_tokens == 10


# -- Anthropic Messages ----------------------------------------------------------------------


def anthropic_events() -> list[dict[str, Any]]:
    return [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 100,
                    "cache_read_input_tokens": 40,
                    "cache_creation_input_tokens": 25,
                    "output_tokens": 1,
                },
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {"type": "ping"},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Hmm"},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "abc"},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "text_delta", "text": "Four"},
        },
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "."}},
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 15},
        },
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 17},
        },
        {"type": "message_stop"},
    ]


# Anthropic's input_tokens leaves cache reads and writes out; ours includes them.
EXPECTED_ANTHROPIC_USAGE = Usage(
    model="claude-sonnet-4-5-20250929",
    input_tokens=165,
    output_tokens=17,
    cached_input_tokens=40,
    cache_write_tokens=25,
)


def test_anthropic_dicts_use_the_last_cumulative_output_count() -> None:
    facts = analyze_chunks(anthropic_events())
    # thinking and text deltas carry output; the signature delta and ping do not
    assert facts.output_indices == (3, 7, 8)
    assert facts.usage == EXPECTED_ANTHROPIC_USAGE  # 17, not 1 + 15 + 17
    assert facts.output_tokens == 17


def test_anthropic_sdk_objects() -> None:
    from anthropic._models import construct_type

    # The SDK drops pings before building events; so does this test.
    events = [
        construct_type(type_=anthropic_types.RawMessageStreamEvent, value=e)
        for e in anthropic_events()
        if e["type"] != "ping"
    ]
    assert type(events[0]).__name__ == "RawMessageStartEvent"
    facts = analyze_chunks(events)
    assert facts.output_indices == (2, 6, 7)
    assert facts.usage == EXPECTED_ANTHROPIC_USAGE


def test_anthropic_helper_derived_events_are_not_counted_twice() -> None:
    from anthropic.lib.streaming import TextEvent

    raw = anthropic_events()
    with_derived: list[Any] = []
    for event in raw:
        with_derived.append(event)
        delta = event.get("delta") or {}
        if event["type"] == "content_block_delta" and delta.get("type") == "text_delta":
            with_derived.append(TextEvent(type="text", text=delta["text"], snapshot=delta["text"]))
    facts = analyze_chunks(with_derived)
    assert len(facts.output_indices) == 3
    assert all(with_derived[i]["type"] == "content_block_delta" for i in facts.output_indices)


def test_openai_chat_helper_chunk_events_are_unwrapped() -> None:
    events: list[Any] = []
    for chunk in chat_events():
        events.append({"type": "chunk", "chunk": chunk, "snapshot": None})
        content = chunk["choices"][0]["delta"].get("content") if chunk["choices"] else None
        if content:
            events.append({"type": "content.delta", "delta": content, "snapshot": content})
    facts = analyze_chunks(events)
    assert [events[i]["type"] for i in facts.output_indices] == ["chunk", "chunk"]
    assert facts.usage == EXPECTED_CHAT_USAGE


# -- Gemini and plain items ----------------------------------------------------------------


def test_gemini_usage_metadata_is_cumulative_and_counts_thoughts_as_output() -> None:
    def chunk(text: str, candidates: int) -> dict[str, Any]:
        return {
            "candidates": [{"content": {"parts": [{"text": text}]}}],
            "usage_metadata": {
                "prompt_token_count": 50,
                "cached_content_token_count": 20,
                "candidates_token_count": candidates,
                "thoughts_token_count": 6,
            },
            "model_version": "gemini-2.5-flash",
        }

    facts = analyze_chunks([chunk("a", 1), chunk("b", 2), chunk("", 3)])
    assert facts.output_indices == (0, 1)
    assert facts.usage == Usage(
        model="gemini-2.5-flash",
        input_tokens=50,
        output_tokens=9,
        cached_input_tokens=20,
        reasoning_tokens=6,
    )


def test_plain_items() -> None:
    facts = analyze_chunks(["a", "", b"b", b"", None, object(), 7])
    assert facts.output_indices == (0, 2, 5, 6)
    assert facts.usage is None
    assert facts.model is None


def test_unknown_typed_events_are_not_output() -> None:
    facts = analyze_chunks(
        [
            {"type": "heartbeat"},
            {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "x"}},
        ]
    )
    assert facts.output_indices == (1,)
