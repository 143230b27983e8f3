"""An async stream: two agents answering concurrently, each charged its own time and tokens."""

import asyncio

import pytest


@pytest.mark.perf(rounds=10, warmup=1)
async def test_concurrent_agents(perf, openai_llm, anthropic_llm):
    async def agent(name, llm, fmt):
        async with perf.agent(name):
            chunks = perf.stream(llm.astream, "Summarise the ticket", format=fmt, name=name)
            return [c async for c in chunks]

    async def review():
        return await asyncio.gather(
            agent("drafter", openai_llm, "openai"),
            agent("critic", anthropic_llm, "anthropic"),
        )

    draft, critique = await perf.arun(review)

    assert draft
    assert critique
    s = perf.summary
    # the agents ran side by side: the round took less than the two of them back to back
    assert s["round_s"].median < s["agent.drafter.s"].median + s["agent.critic.s"].median
    # and each was charged its own tokens and cost (different models, different prices)
    assert s["agent.drafter.output_tokens"].median == s["agent.critic.output_tokens"].median == 32
    assert s["agent.critic.cost_usd"].median > s["agent.drafter.cost_usd"].median
