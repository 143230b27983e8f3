"""Per-chunk overhead of ``perf.stream`` against bare iteration, sync and async.

Run:  python benchmarks/overhead.py [--chunks 2000] [--repeats 200]

For each shape of chunk (plain text; the parsed-JSON dicts of OpenAI Chat Completions, OpenAI
Responses, Anthropic Messages and Gemini; the SDKs' event objects when openai / anthropic are
installed) it times consuming a ready-made stream of N chunks bare and through ``perf.stream``,
many times, interleaved so drift hits every variant alike, and prints medians in nanoseconds
per chunk. The quality bars, median, sync, on a 2-core machine: a "session" figure of <= 600 ns
per chunk for dict chunks and <= 400 ns for text.

Figures printed per case:
- "bare": iterating the stream without perf.stream (the floor), ns per chunk;
- "in-loop": what perf.stream adds while chunks arrive (the part that could shift measured gaps);
- "metrics": in-loop plus classifying the chunks and computing the round's metrics afterwards;
- "session": the headline, what a pytest session pays per chunk in the test's call phase:
  in-loop, the round's metrics, ``perf.finish()`` (the test's result with its inter-token-gap
  histogram and pooled gap summary) and the ``result.to_dict()`` the plugin puts on the report;
- "x bare": the session's whole time (bare iteration included) over bare iteration's.

What the ``perf(fn)`` harness adds per round is printed by ``benchmarks/harness.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from pytest_perfbaseline import Perf, SimulatedModel
from pytest_perfbaseline.measure.recorder import Recorder


def gemini_chunks(n: int) -> list[dict[str, Any]]:
    """A Gemini stream as its REST API sends it (camel case): the simulated model's text in
    ``candidates``, the running ``usageMetadata`` on every chunk."""
    model = SimulatedModel(ttft_s=0, itl_s=0)
    texts = list(model.stream("benchmark prompt", max_tokens=n))
    chunks: list[dict[str, Any]] = []
    for i, text in enumerate(texts):
        chunk: dict[str, Any] = {
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}],
            "usageMetadata": {
                "promptTokenCount": 10,
                "candidatesTokenCount": i + 1,
                "totalTokenCount": 11 + i,
            },
            "modelVersion": "gemini-2.0-flash",
        }
        if i == len(texts) - 1:
            chunk["candidates"][0]["finishReason"] = "STOP"
        chunks.append(chunk)
    return chunks


def chunks_of(fmt: str, n: int) -> list[Any]:
    """Chunks as parsed JSON dicts, or (``*-sdk``) as the SDKs' own event objects."""
    if fmt == "gemini":
        return gemini_chunks(n)
    sdk = fmt.endswith("-sdk")
    model = SimulatedModel(ttft_s=0, itl_s=0)
    dicts = list(model.stream("benchmark prompt", max_tokens=n, format=fmt.removesuffix("-sdk")))  # type: ignore[arg-type]
    if not sdk:
        return dicts
    if fmt.startswith("anthropic"):
        from anthropic._models import construct_type as build
        from anthropic.types import RawMessageStreamEvent as event_type
    elif fmt.startswith("openai-responses"):
        from openai._models import construct_type as build
        from openai.types.responses import ResponseStreamEvent as event_type
    else:
        from openai._models import construct_type as build
        from openai.types.chat import ChatCompletionChunk as event_type
    # construct_type is how the SDKs themselves build streamed events
    return [build(type_=event_type, value=d) for d in dicts]


KEYS = ("bare", "loop", "metrics", "session")


class Figures(NamedTuple):
    """Medians in ns per chunk: bare iteration, and what each stage adds to it."""

    bare: float
    loop: float
    metrics: float
    session: float

    @property
    def ratio(self) -> float:
        """The session's whole time over bare iteration's."""
        return (self.bare + self.session) / self.bare


def _figures(samples: dict[str, list[float]], n: int) -> Figures:
    base = statistics.median(samples["bare"])
    return Figures(base / n, *((statistics.median(samples[key]) - base) / n for key in KEYS[1:]))


def bench_sync(chunks: list[Any], repeats: int) -> Figures:
    def bare() -> None:
        for _ in iter(chunks):
            pass

    def in_loop() -> None:
        recorder = Recorder()
        for _ in recorder.stream(chunks):
            pass

    def metrics() -> None:
        perf = Perf(cost_of=lambda usage: 0.0)
        for _ in perf.stream(chunks):
            pass
        perf.rounds  # noqa: B018  (computes the open round's metrics)

    def session() -> None:
        perf = Perf(cost_of=lambda usage: 0.0)
        for _ in perf.stream(chunks):
            pass
        perf.finish().to_dict()

    runs = dict(zip(KEYS, (bare, in_loop, metrics, session), strict=True))
    samples: dict[str, list[float]] = {key: [] for key in runs}
    gc.disable()
    try:
        for _ in range(repeats):  # interleaved: machine drift hits all four alike
            for key, run in runs.items():
                start = time.perf_counter_ns()
                run()
                samples[key].append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    return _figures(samples, len(chunks))


def _async_runs(chunks: list[Any]) -> dict[str, Callable[[], Awaitable[None]]]:
    async def source() -> Any:
        for chunk in chunks:
            yield chunk

    async def bare() -> None:
        async for _ in source():
            pass

    async def in_loop() -> None:
        recorder = Recorder()
        async for _ in recorder.stream(source()):
            pass

    async def metrics() -> None:
        perf = Perf(cost_of=lambda usage: 0.0)
        async for _ in perf.stream(source()):
            pass
        perf.rounds  # noqa: B018  (computes the open round's metrics)

    async def session() -> None:
        perf = Perf(cost_of=lambda usage: 0.0)
        async for _ in perf.stream(source()):
            pass
        perf.finish().to_dict()

    return dict(zip(KEYS, (bare, in_loop, metrics, session), strict=True))


def bench_async(chunks: list[Any], repeats: int) -> Figures:
    runs = _async_runs(chunks)

    async def main() -> Figures:
        samples: dict[str, list[float]] = {key: [] for key in runs}
        for _ in range(repeats):
            for key, fn in runs.items():
                start = time.perf_counter_ns()
                await fn()
                samples[key].append(time.perf_counter_ns() - start)
        return _figures(samples, len(chunks))

    gc.disable()
    try:
        return asyncio.run(main())
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print(f"perf.stream overhead per chunk, median of {args.repeats} runs of {args.chunks} chunks")
    print(
        f"{'chunks':<22}{'mode':<7}{'bare ns':>9}{'in-loop ns':>12}{'metrics ns':>12}"
        f"{'session ns':>12}{'x bare':>8}"
    )
    worst = {"text": 0.0, "dict": 0.0}
    formats = ["text", "openai", "openai-responses", "anthropic", "gemini"]
    try:
        import anthropic  # noqa: F401
        import openai  # noqa: F401
    except ImportError:
        print("(openai / anthropic not installed: SDK object cases skipped)")
    else:
        formats += ["openai-sdk", "openai-responses-sdk", "anthropic-sdk"]
    for fmt in formats:
        chunks = chunks_of(fmt, args.chunks)
        for mode, figures in (
            ("sync", bench_sync(chunks, args.repeats)),
            ("async", bench_async(chunks, max(20, args.repeats // 4))),
        ):
            print(
                f"{fmt:<22}{mode:<7}{figures.bare:>9.0f}{figures.loop:>12.0f}"
                f"{figures.metrics:>12.0f}{figures.session:>12.0f}{figures.ratio:>8.1f}"
            )
            if mode == "sync" and not fmt.endswith("-sdk"):
                kind = "text" if fmt == "text" else "dict"
                worst[kind] = max(worst[kind], figures.session)
    for kind, bar in (("text", 400), ("dict", 600)):
        verdict = "meets" if worst[kind] <= bar else "MISSES"
        print(f"worst sync session, {kind} chunks: {worst[kind]:.0f} ns; {verdict} the {bar} ns")


if __name__ == "__main__":
    main()
