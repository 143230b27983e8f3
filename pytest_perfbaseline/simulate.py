"""A simulated streaming model: offline, deterministic text, realistic timing.

It stands in for an LLM API in examples, tests and benchmarks: a first-token delay, an
inter-token delay, multiplicative jitter, and chunks shaped like plain text or like the
OpenAI Chat Completions, OpenAI Responses and Anthropic Messages streams (as dicts, the
parsed JSON of each server-sent event), with a usage block at the end.

The text is determined by ``seed`` and the prompt. The jitter comes from its own generator,
seeded by ``jitter_seed``: a fixed seed replays the same delays, ``None`` draws fresh ones the
way a real service would.

Real-clock delays are only as exact as the operating system's timers: ``time.sleep``
overshoots by tens of microseconds, and asyncio's timers on Linux wake up to 1 ms late (the
event loop's epoll timeout is whole milliseconds), so ``astream`` delays of a few milliseconds
come out a little longer than asked, by an amount that moves in steps. For exact timings, pass
``sleep`` / ``asleep`` of a fake clock (and the same clock to ``Perf(clock=...)`` or the
``perf_clock`` fixture).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["SimulatedModel", "StreamFormat"]

StreamFormat = Literal["text", "openai", "openai-responses", "anthropic"]
FORMATS: tuple[StreamFormat, ...] = ("text", "openai", "openai-responses", "anthropic")

_WORDS = (
    "the",
    "model",
    "answers",
    "with",
    "short",
    "plain",
    "words",
    "so",
    "that",
    "every",
    "chunk",
    "is",
    "one",
    "token",
    "and",
    "the",
    "timing",
    "of",
    "each",
    "gap",
    "is",
    "easy",
    "to",
    "follow",
    "in",
    "a",
    "report",
    "four",
    "is",
    "the",
    "sum",
    "of",
    "two",
    "and",
    "two",
    "latency",
    "matters",
    "when",
    "people",
    "wait",
    "for",
    "the",
    "first",
    "word",
    "of",
    "a",
    "reply",
)


@dataclass(frozen=True)
class _Plan:
    tokens: list[str]
    delays: list[float]
    """Seconds to wait before each output chunk; the first is the time to first token."""
    input_tokens: int


class SimulatedModel:
    """A fake streaming LLM with known timing.

    - ``ttft_s``: delay before the first output chunk; ``itl_s``: delay between chunks.
    - ``jitter``: sigma of a log-normal factor applied to every delay (0 = exact delays).
    - ``tokens_per_chunk``: tokens carried by each chunk (gaps are per chunk).
    - ``slowdown``: multiplies every delay (how the benchmarks inject a regression).
    - ``cached_input_tokens``: prompt tokens reported as read from a prompt cache.
    - ``sleep`` / ``asleep``: injectable, so tests can drive it with a fake clock.
    """

    def __init__(
        self,
        *,
        model: str = "gpt-4o-mini",
        ttft_s: float = 0.05,
        itl_s: float = 0.01,
        jitter: float = 0.0,
        tokens_per_chunk: int = 1,
        slowdown: float = 1.0,
        cached_input_tokens: int = 0,
        seed: int = 0,
        jitter_seed: int | None = 0,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        for label, value in (("ttft_s", ttft_s), ("itl_s", itl_s), ("jitter", jitter)):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{label} must be a finite number >= 0, got {value!r}")
        if not math.isfinite(slowdown) or slowdown <= 0:
            raise ValueError(f"slowdown must be a finite number > 0, got {slowdown!r}")
        for label, count, least in (
            ("tokens_per_chunk", tokens_per_chunk, 1),
            ("cached_input_tokens", cached_input_tokens, 0),
        ):
            if isinstance(count, bool) or not isinstance(count, int) or count < least:
                raise ValueError(f"{label} must be a whole number >= {least}, got {count!r}")
        self.model = model
        self.ttft_s = ttft_s
        self.itl_s = itl_s
        self.jitter = jitter
        self.tokens_per_chunk = tokens_per_chunk
        self.slowdown = slowdown
        self.cached_input_tokens = cached_input_tokens
        self.seed = seed
        self._jitter_rng = random.Random(jitter_seed)
        self._sleep = sleep
        self._asleep = asleep
        self._calls = itertools.count()

    # -- planning ------------------------------------------------------------------------------

    def _factor(self) -> float:
        if self.jitter == 0:
            return self.slowdown
        return self.slowdown * self._jitter_rng.lognormvariate(0.0, self.jitter)

    def _chunks(self, prompt: str, max_tokens: int) -> list[str]:
        if max_tokens < 0:
            raise ValueError(f"max_tokens must be >= 0, got {max_tokens!r}")
        digest = hashlib.sha256(f"{self.seed}\0{prompt}".encode()).digest()
        text_rng = random.Random(digest)
        words = [text_rng.choice(_WORDS) for _ in range(max_tokens)]
        tokens = [(" " if i else "") + w for i, w in enumerate(words)]
        return [
            "".join(tokens[i : i + self.tokens_per_chunk])
            for i in range(0, len(tokens), self.tokens_per_chunk)
        ]

    def _plan(self, prompt: str, max_tokens: int) -> _Plan:
        chunks = self._chunks(prompt, max_tokens)
        delays = [
            (self.ttft_s if i == 0 else self.itl_s) * self._factor() for i in range(len(chunks))
        ]
        input_tokens = max(1, len(prompt.split())) + 8  # a system prompt's worth of overhead
        return _Plan(chunks, delays, max(input_tokens, self.cached_input_tokens))

    def _events(
        self, prompt: str, max_tokens: int, fmt: StreamFormat
    ) -> Iterator[tuple[float, Any]]:
        """(delay before it, chunk) pairs for one streamed answer."""
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
        plan = self._plan(prompt, max_tokens)
        output_tokens = max_tokens
        call = next(self._calls)
        if fmt == "text":
            yield from zip(plan.delays, plan.tokens, strict=True)
            return
        if fmt == "openai":
            yield from self._openai_chat(plan, call, output_tokens)
        elif fmt == "openai-responses":
            yield from self._openai_responses(plan, call, output_tokens)
        else:
            yield from self._anthropic(plan, call, output_tokens)

    def _openai_chat(
        self, plan: _Plan, call: int, output_tokens: int
    ) -> Iterator[tuple[float, Any]]:
        base = {"id": f"chatcmpl-sim{call}", "object": "chat.completion.chunk", "model": self.model}
        first_delay = plan.delays[0] if plan.delays else self.ttft_s * self._factor()
        # The role-only chunk comes just ahead of the first token, as the real API sends it.
        yield (
            first_delay * 0.9,
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        )
        for i, (delay, text) in enumerate(zip(plan.delays, plan.tokens, strict=True)):
            yield (
                delay * 0.1 if i == 0 else delay,
                {**base, "choices": [{"index": 0, "delta": {"content": text}}]},
            )
        yield 0.0, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        yield (
            0.0,
            {
                **base,
                "choices": [],
                "usage": {
                    "prompt_tokens": plan.input_tokens,
                    "completion_tokens": output_tokens,
                    "total_tokens": plan.input_tokens + output_tokens,
                    "prompt_tokens_details": {"cached_tokens": self.cached_input_tokens},
                    "completion_tokens_details": {"reasoning_tokens": 0},
                },
            },
        )

    def _openai_responses(
        self, plan: _Plan, call: int, output_tokens: int
    ) -> Iterator[tuple[float, Any]]:
        response = {"id": f"resp_sim{call}", "object": "response", "model": self.model}
        yield 0.0, {"type": "response.created", "response": {**response, "status": "in_progress"}}
        for delay, text in zip(plan.delays, plan.tokens, strict=True):
            yield (
                delay,
                {
                    "type": "response.output_text.delta",
                    "item_id": f"msg_sim{call}",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": text,
                },
            )
        yield 0.0, {"type": "response.output_text.done", "text": "".join(plan.tokens)}
        yield (
            0.0,
            {
                "type": "response.completed",
                "response": {
                    **response,
                    "status": "completed",
                    "usage": {
                        "input_tokens": plan.input_tokens,
                        "input_tokens_details": {"cached_tokens": self.cached_input_tokens},
                        "output_tokens": output_tokens,
                        "output_tokens_details": {"reasoning_tokens": 0},
                        "total_tokens": plan.input_tokens + output_tokens,
                    },
                },
            },
        )

    def _anthropic(self, plan: _Plan, call: int, output_tokens: int) -> Iterator[tuple[float, Any]]:
        # Anthropic reports cache reads beside input_tokens, not inside it.
        uncached = plan.input_tokens - self.cached_input_tokens
        yield (
            0.0,
            {
                "type": "message_start",
                "message": {
                    "id": f"msg_sim{call}",
                    "type": "message",
                    "role": "assistant",
                    "model": self.model,
                    "content": [],
                    "usage": {
                        "input_tokens": uncached,
                        "cache_read_input_tokens": self.cached_input_tokens,
                        "cache_creation_input_tokens": 0,
                        "output_tokens": 1,
                    },
                },
            },
        )
        yield (
            0.0,
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
        for delay, text in zip(plan.delays, plan.tokens, strict=True):
            yield (
                delay,
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": text},
                },
            )
        yield 0.0, {"type": "content_block_stop", "index": 0}
        yield (
            0.0,
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": output_tokens},
            },
        )
        yield 0.0, {"type": "message_stop"}

    # -- public --------------------------------------------------------------------------------

    def stream(
        self, prompt: str, *, max_tokens: int = 32, format: StreamFormat = "text"
    ) -> Iterator[Any]:
        """Stream an answer to ``prompt``, sleeping the simulated delays."""
        for delay, chunk in self._events(prompt, max_tokens, format):
            if delay > 0:
                self._sleep(delay)
            yield chunk

    async def astream(
        self, prompt: str, *, max_tokens: int = 32, format: StreamFormat = "text"
    ) -> AsyncIterator[Any]:
        """Like :meth:`stream`, awaiting the delays."""
        for delay, chunk in self._events(prompt, max_tokens, format):
            if delay > 0:
                await self._asleep(delay)
            yield chunk

    def text(self, prompt: str, *, max_tokens: int = 32) -> str:
        """The answer :meth:`stream` would give, instantly (for assertions)."""
        return "".join(self._chunks(prompt, max_tokens))

    def complete(self, prompt: str, *, max_tokens: int = 32) -> tuple[str, dict[str, int]]:
        """A non-streamed call: sleeps the whole generation, returns (text, usage)."""
        plan = self._plan(prompt, max_tokens)
        total = sum(plan.delays)
        if total > 0:
            self._sleep(total)
        usage = {
            "input_tokens": plan.input_tokens,
            "output_tokens": max_tokens,
            "cached_input_tokens": self.cached_input_tokens,
        }
        return "".join(plan.tokens), usage
