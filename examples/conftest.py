"""Fixtures for the examples: simulated LLMs, so the suite runs offline and costs nothing.

In your project these fixtures would return real clients (``openai.OpenAI()``,
``anthropic.Anthropic()``); the tests would not change: ``perf.stream`` recognises the
chunks of those SDKs by their shape. The simulated models stream the same shapes (as dicts).
"""

from __future__ import annotations

import os

import pytest

from pytest_perfbaseline import SimulatedModel

# benchmarks/gate_calibration.py slows the models down through these to check that the gate
# catches it; leave them unset.
SLOWDOWN = float(os.environ.get("PERFBASELINE_EXAMPLES_SLOWDOWN", "1.0"))
TARGET = os.environ.get("PERFBASELINE_EXAMPLES_SLOWDOWN_TARGET", "all")  # "all" or "ttft"


def simulated(model: str, ttft_s: float, itl_s: float) -> SimulatedModel:
    ttft_factor = SLOWDOWN if TARGET in ("all", "ttft") else 1.0
    itl_factor = SLOWDOWN if TARGET == "all" else 1.0
    return SimulatedModel(
        model=model,
        ttft_s=ttft_s * ttft_factor,
        itl_s=itl_s * itl_factor,
        jitter=0.05,  # every delay varies by ~5%, and differently each run, like a real API
        jitter_seed=None,
    )


@pytest.fixture(scope="session")
def openai_llm() -> SimulatedModel:
    """Streams OpenAI Chat Completions chunks, like a gpt-4o-mini endpoint."""
    return simulated("gpt-4o-mini", ttft_s=0.030, itl_s=0.004)


@pytest.fixture(scope="session")
def anthropic_llm() -> SimulatedModel:
    """Streams Anthropic Messages events, like a claude-haiku-4-5 endpoint."""
    return simulated("claude-haiku-4-5", ttft_s=0.040, itl_s=0.005)
