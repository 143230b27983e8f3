"""How long loading (and saving) a large baseline takes, next to a raw ``json.loads``.

Run:  python benchmarks/baseline_load.py [--tests 1000] [--rounds 30] [--files 50]
                                         [--sessions 3] [--repeats 7]

Writes a synthetic baseline with the real store into a temporary folder: ``--tests`` tests
spread over ``--files`` module files (20 tests a file by default, as in a real project), each
test holding the metrics one simulated OpenAI stream gives (21 of them: times, rates, token
counts, cost, per model) over ``--rounds`` rounds, saved ``--sessions`` times with a few
percent of drift between saves so each test keeps that many sessions. Values come from a
seeded generator, so every run writes the same bytes.

Then, interleaved over ``--repeats`` repeats, it times:

- ``json.loads``: reading every file and parsing it with the standard library (the floor);
- ``json.loads, kept``: the same, keeping every parsed document until all are read, as any
  loader that reads each file once must (the garbage collector then has more to look at);
- ``store.load``: what a ``--perf-compare`` session does -- a fresh ``BaselineStore`` and
  ``load(nodeid)`` for every test (strict parsing and checking of each file once, then each
  test's entry pooled over its sessions);
- ``json.dumps``: the floor of a save, the same documents dumped (sorted, indented) and
  written;
- ``store.save``: a save of every test's newest session through the store (lock, fresh read,
  merge, deterministic text, atomic write).

It prints the median of each (``--clock cpu``: of the CPU time this process used, which other
processes on a busy machine disturb less than the wall time), and the ratios ``store.load /
json.loads`` and ``store.save / json.dumps``; the quality bar is a load within 2x of
``json.loads``. The machine's noise
moves both sides of a ratio alike; the absolute times do not mean much on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pytest_perfbaseline.baseline.environment import Environment
from pytest_perfbaseline.baseline.store import BaselineStore
from pytest_perfbaseline.measure.perf import Perf
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.simulate import SimulatedModel

ENV = Environment.from_dict(
    {
        "saved_at": "2026-11-21T20:40:00Z",
        "python": "3.11.7",
        "cpu": "Example CPU @ 2.60GHz",
        "cores": 2,
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "machine_probe_s": 0.0123,
    }
)
"""Where the baseline was measured: fixed, so every run writes the same bytes (the fields not
given are "unknown")."""
PROFILE = "linux-x86_64-2cpu"


class _FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += round(seconds * 1e9)


def template(rounds: int) -> TestResult:
    """One simulated test's result, measured on a fake clock: the metrics a real one has."""
    clock = _FakeClock()
    model = SimulatedModel(sleep=clock.sleep, jitter=0.1, jitter_seed=1)
    perf = Perf(rounds=rounds, clock=clock)
    perf(lambda: list(perf.stream(model.stream("hello", format="openai"))))
    return perf.finish("")


def synthetic(base: TestResult, nodeid: str, level: float, rng: random.Random) -> TestResult:
    """``base`` with a new node id and its time and rate values jittered by a few percent."""
    noisy = {name for name, info in base.infos.items() if info.kind in ("time", "rate")}
    rounds = tuple(
        {
            name: value
            if value is None or name not in noisy
            else value
            * level
            # jitter of a few percent, log-normal
            * rng.lognormvariate(0.0, 0.03)
            for name, value in r.items()
        }
        for r in base.rounds
    )
    return TestResult(
        nodeid=nodeid,
        rounds=rounds,
        infos=base.infos,
        itl_histogram=base.itl_histogram,
        itl_pooled=None,
        token_sources=base.token_sources,
        rounds_requested=base.rounds_requested,
        warmup=base.warmup,
        implicit=base.implicit,
        names=base.names,
    )


def nodeids(tests: int, files: int) -> list[str]:
    per_file = -(-tests // files)
    return [f"tests/test_mod{t // per_file:03d}.py::test_case_{t:04d}" for t in range(tests)]


def session_results(
    base: TestResult, ids: list[str], level: float, rng: random.Random
) -> list[tuple[TestResult, Environment]]:
    return [(synthetic(base, nodeid, level, rng), ENV) for nodeid in ids]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or this process's CPU time (steadier on a machine shared with others)",
    )
    return parser.parse_args()


def write_baseline(root: Path, args: argparse.Namespace) -> list[tuple[TestResult, Environment]]:
    """Save ``args.sessions`` sessions of every test under ``root``; the next session's results."""
    rng = random.Random(args.seed)
    base = template(args.rounds)
    ids = nodeids(args.tests, args.files)
    # Drift between sessions well inside the level threshold: every save adds a session.
    levels = [1.0 + 0.02 * ((k % 3) - 1) for k in range(args.sessions)]
    writer = BaselineStore(root, PROFILE)
    for level in levels:
        report = writer.save(session_results(base, ids, level, rng), sessions=args.sessions)
        assert not report.errors, report.errors
    files = sorted(root.joinpath(PROFILE).rglob("*.json"))
    size = sum(f.stat().st_size for f in files)
    print(
        f"{args.tests} tests x {len(base.infos)} metrics x {args.rounds} rounds x "
        f"{args.sessions} sessions in {len(files)} files ({size / 2**20:.1f} MiB)"
    )
    return session_results(base, ids, levels[-1], rng)


def cases(
    root: Path, newest: list[tuple[TestResult, Environment]], args: argparse.Namespace
) -> list[tuple[str, Callable[[], float]]]:
    """Each case: its name, and a function that runs it and returns the time it took."""
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    files = sorted(root.joinpath(PROFILE).rglob("*.json"))
    ids = [result.nodeid for result, _ in newest]
    dump_dir = root.parent / "dumps"
    dump_dir.mkdir(exist_ok=True)

    def raw_load() -> float:
        start = clock()
        for f in files:
            json.loads(f.read_bytes())
        return clock() - start

    def raw_load_kept() -> float:
        start = clock()
        documents = [json.loads(f.read_bytes()) for f in files]
        elapsed = clock() - start
        del documents
        return elapsed

    def store_load() -> float:
        start = clock()
        store = BaselineStore(root, PROFILE)
        for nodeid in ids:
            assert store.load(nodeid) is not None
        return clock() - start

    def raw_dump() -> float:
        # Parsed outside the timing, and dropped after: no case runs with a larger heap.
        documents = [json.loads(f.read_bytes()) for f in files]
        start = clock()
        for i, document in enumerate(documents):
            text = json.dumps(document, indent=2, sort_keys=True) + "\n"
            dump_dir.joinpath(f"{i}.json").write_bytes(text.encode("utf-8"))
        return clock() - start

    def store_save() -> float:
        start = clock()
        report = BaselineStore(root, PROFILE).save(newest, sessions=args.sessions)
        elapsed = clock() - start
        assert not report.errors
        assert not report.restarted
        return elapsed

    return [
        ("json.loads", raw_load),
        ("json.loads, kept", raw_load_kept),
        ("store.load", store_load),
        ("json.dumps", raw_dump),
        ("store.save", store_save),
    ]


def main() -> None:
    args = arguments()
    timings: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, ".perfbaseline")
        newest = write_baseline(root, args)
        interleaved = cases(root, newest, args)
        for _ in range(args.repeats):
            for name, case in interleaved:
                timings.setdefault(name, []).append(case())

    load, raw = median_ms(timings["store.load"]), median_ms(timings["json.loads"])
    print(f"medians of {args.repeats} interleaved repeats ({args.clock} time):")
    for what, floor, ours in (
        ("load", "json.loads", "store.load"),
        ("load", "json.loads, kept", "store.load"),
        ("save", "json.dumps", "store.save"),
    ):
        a, b = median_ms(timings[floor]), median_ms(timings[ours])
        print(f"  {what}: {floor:16} {a:7.1f} ms   {ours} {b:7.1f} ms   ratio {b / a:.2f}x")
    verdict = "meets" if load <= 2 * raw else "MISSES"
    print(f"{verdict} the bar: store.load within 2x of json.loads")


if __name__ == "__main__":
    main()
