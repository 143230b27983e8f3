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
    # the agents ran side by side: the round took about as long as the slower one alone
    assert perf.summary["round_s"].median < 1.5 * perf.summary["agent.critic.s"].median
    assert perf.summary["critic.ttft_s"].median > perf.summary["drafter.ttft_s"].median
