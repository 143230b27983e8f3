"""An A/B test: two prompt variants on one model, measured in interleaved pairs."""

import pytest

LONG_PROMPT = "You are a helpful assistant. Think it through, then answer: what is 2 + 2?"
SHORT_PROMPT = "Answer briefly: what is 2 + 2?"


@pytest.mark.perf(rounds=20, warmup=1)
def test_prompt_variants(perf, openai_llm):
    def ask(prompt, max_tokens):
        def run():
            for _ in perf.stream(openai_llm.stream, prompt, max_tokens=max_tokens, format="openai"):
                pass

        return run

    # 1 warm-up round of each, then 20 pairs in ABBA order; fails the test if the new prompt
    # is slower (or costlier) than the old one by more than the threshold, beyond doubt
    result = perf.ab(
        ask(LONG_PROMPT, 32), ask(SHORT_PROMPT, 16), labels=("long-prompt", "short-prompt")
    )

    assert result.metric("output_tokens").ratio == 0.5  # exact: 16 tokens instead of 32
    assert result.metric("output_tokens").verdict == "improved"
