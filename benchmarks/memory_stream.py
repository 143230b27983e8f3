"""Peak memory of one long stream through ``perf.stream``, against bare iteration.

Run:  python benchmarks/memory_stream.py [--chunks 1000000]

Each case runs in a fresh interpreter, which iterates one stream of N chunks made as they are
asked for (as a client parses server-sent events: every chunk a new object) and reports its
peak resident set size (``resource.getrusage``, ``ru_maxrss``). The cases:

- "bare": iterating the stream, nothing else (the floor: the interpreter, the package, the
  source);
- "perf": the same stream through ``perf.stream`` (on a clock that steps about 20 ms a read,
  so the gaps are the size of a real model's), then all a pytest session does with it in the
  call phase: ``perf.finish()`` (the round's metrics, the inter-token-gap histogram and the
  pooled gap summary) and ``result.to_dict()``.

Chunks are parsed-JSON dicts of the OpenAI Chat Completions shape, or plain strings. Printed per
case: the peak at N/4 and at N chunks in MiB, the peak over bare iteration's at N, and the bytes
per chunk between N/4 and N (the slope: what each further chunk costs). The quality bar is a
peak of <= 96 MiB at 1,000,000 chunks of either kind, with constant bytes per chunk.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

KINDS = ("dict", "str")
MODES = ("bare", "perf")


def source(kind: str, n: int) -> Iterator[Any]:
    """N chunks, each built when asked for; the last dict one reports usage."""
    for i in range(n):
        text = f" token{i % 5000}"  # a new string object per chunk, as parsing makes
        if kind == "str":
            yield text
        else:
            yield {
                "id": "chatcmpl-memory",
                "object": "chat.completion.chunk",
                "model": "gpt-4o-mini",
                "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
            }
    if kind == "dict":
        yield {
            "id": "chatcmpl-memory",
            "object": "chat.completion.chunk",
            "model": "gpt-4o-mini",
            "choices": [],
            "usage": {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": n + 12},
        }


class SteppingClock:
    """Moves 20 ms, give or take up to a millisecond, each time it is read: gaps as large and
    as varied as a real model's (a real clock's gaps here would be a few hundred nanoseconds,
    numbers CPython keeps as shared small objects, understating what a real stream costs)."""

    def __init__(self) -> None:
        self.now = 0
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        self.now += 20_000_000 + (self.reads * 7919) % 1_000_003
        return self.now


def run_case(kind: str, mode: str, n: int) -> None:
    """Run one case in this process and print its peak RSS in KiB as JSON."""
    import resource

    from pytest_perfbaseline import Perf

    perf = Perf(clock=SteppingClock(), cost_of=lambda usage: 0.0)
    if mode == "bare":
        for _ in source(kind, n):
            pass
    else:
        for _ in perf.stream(source(kind, n)):
            pass
        result = perf.finish("memory")
        assert result.rounds[0]["output_tokens"] == n
        result.to_dict()
    print(json.dumps({"peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def peak_mib(kind: str, mode: str, n: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--case", kind, mode, str(n)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(json.loads(out.splitlines()[-1])["peak_kib"]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--case", nargs=3, metavar=("KIND", "MODE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        kind, mode, n = args.case
        run_case(kind, mode, int(n))
        return
    n, quarter = args.chunks, args.chunks // 4
    print(f"peak RSS of one stream, each case in a fresh interpreter ({n:,} chunks)")
    print(
        f"{'chunks':<8}{'mode':<6}{f'MiB @{quarter:,}':>14}{f'MiB @{n:,}':>14}"
        f"{'over bare':>11}{'B/chunk':>9}"
    )
    for kind in KINDS:
        peaks = {mode: (peak_mib(kind, mode, quarter), peak_mib(kind, mode, n)) for mode in MODES}
        for mode, (low, high) in peaks.items():
            over = high - peaks["bare"][1]
            slope = (high - low) * 1024 * 1024 / (n - quarter)
            print(f"{kind:<8}{mode:<6}{low:>14.1f}{high:>14.1f}{over:>11.1f}{slope:>9.0f}")
        verdict = "meets" if peaks["perf"][1] <= 96 else "MISSES"
        print(f"{kind} chunks: peak {peaks['perf'][1]:.1f} MiB; {verdict} the 96 MiB bar")


if __name__ == "__main__":
    main()
