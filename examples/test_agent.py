"""An agent with two model calls: see where the time, tokens and money of a pipeline go."""

import pytest


def text_of(chunk):
    """The text in an OpenAI or Anthropic streamed chunk (as dicts), or ''."""
    if chunk.get("choices"):
        return chunk["choices"][0]["delta"].get("content") or ""
    if chunk.get("type") == "content_block_delta":
        return chunk["delta"].get("text", "")
    return ""


@pytest.mark.perf(rounds=10, warmup=1)
def test_research_agent(perf, openai_llm, anthropic_llm):
    def research(question):
        with perf.phase("plan"), perf.agent("planner"):
            chunks = perf.stream(
                openai_llm.stream, question, max_tokens=16, format="openai", name="planner"
            )
            plan = "".join(text_of(c) for c in chunks)

        with perf.phase("retrieve"), perf.operation("rerank"):
            # a non-streamed call: account its tokens yourself
            _, usage = openai_llm.complete(plan, max_tokens=4)
            perf.record_usage("gpt-4o-mini", usage["input_tokens"], usage["output_tokens"])

        with perf.phase("write"), perf.agent("writer"):
            chunks = perf.stream(
                anthropic_llm.stream, plan, max_tokens=40, format="anthropic", name="writer"
            )
            return "".join(text_of(c) for c in chunks)

    report = perf(research, "How do we cut the latency of our support bot?")

    assert report
    assert perf.summary["api_calls"].median == 3
    assert perf.summary["agent.writer.output_tokens"].median == 40
    assert perf.summary["cost_usd"].median < 0.001  # dollars per run of the pipeline
