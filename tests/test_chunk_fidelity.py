"""Chunks seen in real streams: recognition per stream, every usage field read, every output."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_perfbaseline.chunks import analyze_chunks
from pytest_perfbaseline.usage.tokens import Usage

openai_models = pytest.importorskip("openai._models")
openai_chat = pytest.importorskip("openai.types.chat")
openai_responses = pytest.importorskip("openai.types.responses")
anthropic_models = pytest.importorskip("anthropic._models")
anthropic_beta = pytest.importorskip("anthropic.types.beta")


def openai_sdk(type_: Any, values: list[dict[str, Any]]) -> list[Any]:
    """Build the OpenAI SDK's objects the way the SDK builds them from a stream."""
    return [openai_models.construct_type(type_=type_, value=value) for value in values]


def anthropic_sdk(values: list[dict[str, Any]]) -> list[Any]:
    """Build the Anthropic SDK's (beta) stream events the way the SDK builds them."""
    event_type = anthropic_beta.BetaRawMessageStreamEvent
    return [anthropic_models.construct_type(type_=event_type, value=value) for value in values]


# -- Recognition is per stream -------------------------------------------------------------


class GeminiResponse:
    """A Gemini SDK response as an object: every field present, absent ones None."""

    def __init__(
        self,
        candidates: list[dict[str, Any]] | None,
        usage_metadata: dict[str, Any],
        prompt_feedback: dict[str, Any] | None = None,
    ) -> None:
        self.candidates = candidates
        self.usage_metadata = usage_metadata
        self.prompt_feedback = prompt_feedback
        self.model_version = "gemini-2.5-flash"


def gemini_text(text: str) -> list[dict[str, Any]]:
    return [{"content": {"parts": [{"text": text}]}}]


def gemini_usage(output: int) -> dict[str, Any]:
    return {"prompt_token_count": 18, "candidates_token_count": output}


def test_a_blocked_prompt_first_does_not_change_how_later_streams_are_read() -> None:
    blocked = GeminiResponse(
        None,
        {"prompt_token_count": 7, "total_token_count": 7},
        {"block_reason": "SAFETY"},
    )
    first = analyze_chunks([blocked])
    assert first.output_indices == ()
    assert first.usage == Usage(model="gemini-2.5-flash", input_tokens=7)

    normal = [
        GeminiResponse(gemini_text("a"), gemini_usage(40)),
        GeminiResponse(gemini_text("b"), gemini_usage(80)),
        GeminiResponse(gemini_text("c"), gemini_usage(115)),
    ]
    facts = analyze_chunks(normal)
    assert facts.output_indices == (0, 1, 2)
    assert facts.token_source == "usage"
    assert facts.usage == Usage(model="gemini-2.5-flash", input_tokens=18, output_tokens=115)


def test_a_gemini_chunk_without_candidates_carries_no_output() -> None:
    blocked = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
        "modelVersion": "gemini-2.5-flash",
    }
    facts = analyze_chunks([blocked])
    assert facts.output_indices == ()
    assert facts.usage == Usage(model="gemini-2.5-flash", input_tokens=7)


def test_an_unrecognised_object_class_is_not_learnt_from_one_instance() -> None:
    class Chunk:
        def __init__(self, choices: list[dict[str, Any]] | None) -> None:
            self.choices = choices

    assert analyze_chunks([Chunk(None)]).output_indices == (0,)  # plain: one output each
    chat = [Chunk([{"delta": {"role": "assistant"}}]), Chunk([{"delta": {"content": "x"}}])]
    assert analyze_chunks(chat).output_indices == (1,)


# -- Usage fields --------------------------------------------------------------------------


def anthropic_thinking_events(usage: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 30, "output_tokens": 1},
            },
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Hmm"},
        },
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage},
        {"type": "message_stop"},
    ]


THINKING_USAGE = {"output_tokens": 300, "output_tokens_details": {"thinking_tokens": 261}}


@pytest.mark.parametrize("build", [list, anthropic_sdk], ids=["dicts", "sdk"])
def test_anthropic_thinking_tokens_are_reasoning_tokens(build: Any) -> None:
    facts = analyze_chunks(build(anthropic_thinking_events(THINKING_USAGE)))
    assert facts.usage == Usage(
        model="claude-sonnet-4-5", input_tokens=30, output_tokens=300, reasoning_tokens=261
    )


ITERATIONS_USAGE = {
    "input_tokens": 10,
    "output_tokens": 50,
    "cache_read_input_tokens": 100,
    "cache_creation_input_tokens": 0,
    "iterations": [
        {
            "type": "compaction",
            "input_tokens": 2000,
            "output_tokens": 300,
            "cache_read_input_tokens": 1500,
            "cache_creation_input_tokens": 0,
        },
        {
            "type": "message",
            "input_tokens": 10,
            "output_tokens": 50,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 20,
        },
    ],
}


@pytest.mark.parametrize("build", [list, anthropic_sdk], ids=["dicts", "sdk"])
def test_anthropic_usage_split_over_iterations_is_summed(build: Any) -> None:
    facts = analyze_chunks(build(anthropic_thinking_events(ITERATIONS_USAGE)))
    # Anthropic's input_tokens leaves cache reads and writes out; ours includes them.
    assert facts.usage == Usage(
        model="claude-sonnet-4-5",
        input_tokens=2010 + 1600 + 20,
        output_tokens=350,
        cached_input_tokens=1600,
        cache_write_tokens=20,
    )


def groq_chunks() -> list[dict[str, Any]]:
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "llama-3.3"}
    return [
        {
            **base,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
            "x_groq": {"id": "req_1"},
        },
        {**base, "choices": [{"index": 0, "delta": {"content": "Hi"}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": " there"}}]},
        {
            **base,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "x_groq": {
                "id": "req_1",
                "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52},
            },
        },
    ]


def chat_sdk(values: list[dict[str, Any]]) -> list[Any]:
    return openai_sdk(openai_chat.ChatCompletionChunk, values)


@pytest.mark.parametrize("build", [list, chat_sdk], ids=["dicts", "sdk"])
def test_groq_usage_in_its_extension_field_is_read(build: Any) -> None:
    facts = analyze_chunks(build(groq_chunks()))
    assert facts.output_indices == (1, 2)
    assert facts.token_source == "usage"
    assert facts.usage == Usage(model="llama-3.3", input_tokens=40, output_tokens=12)


def test_gemini_tool_use_prompt_tokens_are_input() -> None:
    chunk = {
        "candidates": [{"content": {"parts": [{"text": "It is sunny."}]}}],
        "usageMetadata": {
            "promptTokenCount": 18,
            "toolUsePromptTokenCount": 90,
            "candidatesTokenCount": 5,
        },
        "modelVersion": "gemini-2.5-flash",
    }
    facts = analyze_chunks([chunk])
    assert facts.usage == Usage(model="gemini-2.5-flash", input_tokens=108, output_tokens=5)


# -- Output recognised ---------------------------------------------------------------------


def responses_sdk(values: list[dict[str, Any]]) -> list[Any]:
    return openai_sdk(openai_responses.ResponseStreamEvent, values)


def responses_delta(kind: str, delta: str, n: int) -> dict[str, Any]:
    return {
        "type": kind,
        "item_id": "it_1",
        "output_index": 0,
        "delta": delta,
        "sequence_number": n,
    }


@pytest.mark.parametrize("build", [list, responses_sdk], ids=["dicts", "sdk"])
@pytest.mark.parametrize(
    "kind", ["response.code_interpreter_call_code.delta", "response.mcp_call_arguments.delta"]
)
def test_responses_code_and_mcp_argument_deltas_are_output(build: Any, kind: str) -> None:
    events = [
        {"type": "response.in_progress", "sequence_number": 0},
        responses_delta(kind, "", 1),
        responses_delta(kind, "print(", 2),
    ]
    assert analyze_chunks(build(events)).output_indices == (2,)


def compaction_events() -> list[dict[str, Any]]:
    return [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "compaction", "content": None},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "compaction_delta", "content": "Summary of the"},
        },
        {"type": "content_block_stop", "index": 0},
    ]


@pytest.mark.parametrize("build", [list, anthropic_sdk], ids=["dicts", "sdk"])
def test_anthropic_compaction_delta_is_output(build: Any) -> None:
    assert analyze_chunks(build(compaction_events())).output_indices == (1,)


def gemini_part(part: dict[str, Any]) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": [part]}}]}


@pytest.mark.parametrize(
    "part",
    [
        {"executableCode": {"language": "PYTHON", "code": "print(2 + 2)"}},
        {"executable_code": {"language": "PYTHON", "code": "print(2 + 2)"}},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
        {"function_call": {"name": "get_weather"}},
    ],
    ids=["code-camel", "code-snake", "call-camel", "call-snake-no-args"],
)
def test_gemini_code_and_function_call_parts_are_output(part: dict[str, Any]) -> None:
    empty = gemini_part({"text": ""})
    assert analyze_chunks([empty, gemini_part(part)]).output_indices == (1,)


def legacy_function_call_chunks() -> list[dict[str, Any]]:
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}

    def chunk(delta: dict[str, Any]) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta}]}

    return [
        chunk({"role": "assistant", "content": None}),
        chunk({"function_call": {"name": "get_weather", "arguments": ""}}),
        chunk({"function_call": {"arguments": ""}}),
        chunk({"function_call": {"arguments": '{"city"'}}),
    ]


@pytest.mark.parametrize("build", [list, chat_sdk], ids=["dicts", "sdk"])
def test_legacy_function_call_deltas_are_output(build: Any) -> None:
    assert analyze_chunks(build(legacy_function_call_chunks())).output_indices == (1, 3)


# -- One rule for tool calls: a delta that names the tool or adds argument text ------------


def chat_tool_call_chunks() -> list[dict[str, Any]]:
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}

    def call(function: dict[str, Any]) -> dict[str, Any]:
        tool_call = {"index": 0, "function": function}
        return {**base, "choices": [{"index": 0, "delta": {"tool_calls": [tool_call]}}]}

    return [
        call({"name": "get_weather", "arguments": ""}),
        call({"arguments": ""}),
        call({"arguments": '{"city": "Paris"}'}),
    ]


@pytest.mark.parametrize("build", [list, chat_sdk], ids=["dicts", "sdk"])
def test_chat_tool_call_rule(build: Any) -> None:
    assert analyze_chunks(build(chat_tool_call_chunks())).output_indices == (0, 2)


def anthropic_tool_events() -> list[dict[str, Any]]:
    def json_delta(text: str) -> dict[str, Any]:
        return {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": text},
        }

    return [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {}},
        },
        json_delta(""),
        json_delta('{"city": "Paris"}'),
        {"type": "content_block_stop", "index": 0},
    ]


@pytest.mark.parametrize("build", [list, anthropic_sdk], ids=["dicts", "sdk"])
def test_anthropic_tool_call_rule(build: Any) -> None:
    assert analyze_chunks(build(anthropic_tool_events())).output_indices == (0, 2)


def responses_tool_events() -> list[dict[str, Any]]:
    item = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": "",
        "status": "in_progress",
    }
    kind = "response.function_call_arguments.delta"
    return [
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": item,
            "sequence_number": 0,
        },
        responses_delta(kind, "", 1),
        responses_delta(kind, '{"city": "Paris"}', 2),
    ]


@pytest.mark.parametrize("build", [list, responses_sdk], ids=["dicts", "sdk"])
def test_responses_tool_call_rule(build: Any) -> None:
    assert analyze_chunks(build(responses_tool_events())).output_indices == (0, 2)


def test_gemini_tool_call_rule() -> None:
    chunks = [
        gemini_part({"functionCall": {"name": "get_weather"}}),
        gemini_part({"functionCall": {"partialArgs": []}}),
        gemini_part(
            {"functionCall": {"partialArgs": [{"jsonPath": "$.city", "stringValue": "P"}]}}
        ),
    ]
    assert analyze_chunks(chunks).output_indices == (0, 2)
