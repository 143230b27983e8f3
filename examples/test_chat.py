"""A chat answer: time one streamed reply and keep a latency SLO."""

import pytest


@pytest.mark.perf(rounds=10, warmup=1)
def test_chat_answer(perf, openai_llm):
    def ask():
        answer = ""
        # perf.stream calls openai_llm.stream(...) itself, after starting the clock, so the
        # time to send the request counts in the time to first token.
        for chunk in perf.stream(openai_llm.stream, "What is 2 + 2?", format="openai"):
            if chunk["choices"]:  # the last chunk carries only the usage
                answer += chunk["choices"][0]["delta"].get("content") or ""
        return answer

    answer = perf(ask)  # 1 warm-up round, then 10 measured rounds; returns the last answer

    assert answer
    assert perf.summary["ttft_s"].p95 < 0.5  # an absolute SLO is a plain assert
    assert perf.summary["output_tokens"].median == 32
