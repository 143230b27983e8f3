"""Is this machine busy right now? A small reference probe, for the confirmation re-measure.

On a shared VM the whole machine now and then slows down for tens of seconds (CPU steal by
the hypervisor, a noisy neighbour). Everything measured in that window is slower, code
unchanged; a confirmation re-measure run right after a suspicious first measurement falls in
the same window and "confirms" a regression that is the machine's.

So before the gate re-measures a suspected regression, it times a fixed reference task (a
short pure-Python loop and short sleeps: the CPU and the scheduler's wake-ups that timing
depends on) and compares it with the fastest seen: in this session, or when the baseline was
saved, if that was on the same CPU model and Python (a save records its probe, so a session
that runs in a busy window from start to end is still told from a quiet one). A machine more than
:data:`TOLERANCE` slower is *busy*: the gate waits for it to recover (up to a limit), and
looks again once the re-measure is done. The probe wakes up eight times in four
milliseconds, so a busy scheduler shows in it far more than in a typical workload: it is a
good detector of a busy window and a poor measure of how much a workload slowed, and it is
only used as the former.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "FUTILE_WAITS",
    "TOLERANCE",
    "MachineWatch",
    "Settling",
    "cpu_probe",
    "probe",
    "probe_parts",
]

TOLERANCE = 0.25
"""How much slower than its best the machine may be and still count as quiet.

Above the spread of the robust samples on a quiet 2-core VM (about 15% between the fastest
and the slowest), and far below what a burst of CPU steal does to the probe (several times).
"""
PROBE_INTERVAL_S = 0.5
FUTILE_WAITS = 3
"""Waits in a row that ended with the machine still busy, after which a session stops waiting:
a machine that is slower all session long (a profiler, coverage, a heavier neighbour) is not
a busy window, and waiting for it only makes the session longer."""


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def probe(
    clock: Callable[[], float] = time.perf_counter, sleep: Callable[[float], None] = time.sleep
) -> float:
    """Seconds a fixed reference task takes right now (about 4 ms on a quiet machine)."""
    start = clock()
    for _ in range(8):
        _spin(3000)  # CPU time: what the hypervisor steals
        sleep(0.0003)  # a wake-up: what a busy scheduler delays
    return clock() - start


def probe_parts(
    clock: Callable[[], float] = time.perf_counter, sleep: Callable[[float], None] = time.sleep
) -> tuple[float, float]:
    """:func:`probe`, and the seconds of its loops alone, from one run.

    Together the loops are :func:`cpu_probe`'s loop in eight pieces: one run of the probe
    gives the CPU's sample too, and the machine check needs no runs of the CPU probe (a
    third of its time). The loops' clock readings add about a microsecond to the probe's 4 ms.
    """
    start = clock()
    loops = 0.0
    for _ in range(8):
        spun = clock()
        _spin(3000)
        loops += clock() - spun
        sleep(0.0003)
    return clock() - start, loops


def cpu_probe(clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds a fixed pure-Python loop takes right now (about 1.5 ms on a quiet machine).

    The CPU alone: in :func:`probe` the sleeps dilute a slower CPU (a CPU 1.5x slower makes
    that probe about 1.2x slower), while a CPU-bound workload slows by all of it.
    """
    start = clock()
    _spin(24000)
    return clock() - start


def _module_probe() -> float:
    # looked up at call time, so a test (or a plugin) can replace this module's probe
    return globals()["probe"]()  # type: ignore[no-any-return]


def _module_cpu_probe() -> float:
    return globals()["cpu_probe"]()  # type: ignore[no-any-return]


_PROBE, _CPU_PROBE = probe, cpu_probe


def _module_parts() -> tuple[float, float | None]:
    """One run of this module's probe, with its loops' time if this module's probes are the
    originals (None: someone replaced one, and the CPU is probed on its own, as replaced)."""
    if globals()["probe"] is _PROBE and globals()["cpu_probe"] is _CPU_PROBE:
        return probe_parts()
    return _module_probe(), None


@dataclass(frozen=True)
class Settling:
    """What waiting for the machine did."""

    waited_s: float
    slowdown: float
    """The machine's last sample relative to its best: 1.0 = as fast as it has been."""

    @property
    def quiet(self) -> bool:
        return self.slowdown <= 1 + TOLERANCE


def _robust(runs: list[float]) -> float:
    """The median of the best of each pair of runs."""
    return statistics.median(min(runs[i], runs[i + 1]) for i in range(0, len(runs), 2))


class MachineWatch:
    """Keeps the fastest sample of the session; tells and waits out a busy machine.

    All the waiting of a session (of a process, under pytest-xdist) is bounded by
    ``budget_s``; after :data:`FUTILE_WAITS` waits in a row that ended busy, it stops waiting.
    """

    def __init__(
        self,
        probe: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        budget_s: float = math.inf,
        cpu: Callable[[], float] | None = None,
    ) -> None:
        self._probe = probe
        self._cpu = cpu
        self.best_cpu: float | None = None
        self.cpu_slowdown = 1.0
        """The CPU probe's last sample relative to its best in the session."""
        self._sleep = sleep
        self._monotonic = monotonic
        self.best: float | None = None
        self.budget_s = budget_s
        self.waited_s = 0.0
        """Seconds spent waiting in this session so far."""
        self.futile = 0
        """Waits in a row that ended with the machine still busy."""

    @property
    def stopped_waiting(self) -> str | None:
        """Why this session waits no more for a busy machine (None: it still may)."""
        if self.futile >= FUTILE_WAITS:
            return (
                f"the machine stayed busy through {self.futile} waits in a row: slower all "
                "session long, so no more waiting"
            )
        if self.waited_s >= self.budget_s:
            return f"the session's waiting budget ({self.budget_s:g} s) is spent"
        return None

    def _run(self) -> tuple[float, float | None]:
        """One run of the probe: its seconds, and its loops' when the same run timed them."""
        if self._probe is None and self._cpu is None:
            return _module_parts()
        return (self._probe or _module_probe)(), None

    def sample(self) -> float:
        """The machine's speed now: the median of three best-of-two probes (about 25 ms).

        Robust on purpose: a single probe preempted once must not read as a busy machine.
        The CPU's sample is made the same way, from the probes' loops.
        """
        runs = [self._run() for _ in range(6)]
        value = _robust([seconds for seconds, _ in runs])
        if self.best is None or value < self.best:
            self.best = value
        loops = [cpu for _, cpu in runs if cpu is not None]
        if len(loops) < len(runs):  # a probe given or replaced: the CPU probe on its own
            cpu_probe = self._cpu or _module_cpu_probe
            loops = [cpu_probe() for _ in runs]
        cpu = _robust(loops)
        if self.best_cpu is None or cpu < self.best_cpu:
            self.best_cpu = cpu
        self.cpu_slowdown = cpu / self.best_cpu if self.best_cpu > 0 else 1.0
        return value

    def calibrate(self) -> None:
        """Take the session's first measure of the machine."""
        self.sample()

    def slowdown(self, reference: float | None = None) -> float:
        """A fresh sample relative to the best: above ``1 + TOLERANCE`` means busy.

        The larger of the reference probe's slowdown and the CPU probe's (against the
        session's fastest CPU sample: no CPU probe is saved with a baseline).

        ``reference``: the probe recorded with the baseline, when it was measured on a machine
        like this one; the best is then the faster of it and the session's.
        """
        current = self.sample()
        assert self.best is not None
        best = self.best if reference is None or reference <= 0 else min(self.best, reference)
        return max(current / best if best > 0 else 1.0, self.cpu_slowdown)

    def settle(self, max_wait_s: float, reference: float | None = None) -> Settling:
        """Wait until the machine is quiet again, for up to ``max_wait_s``.

        Less when the session's budget is nearly spent; not at all once it stopped waiting.
        """
        if self.stopped_waiting is not None:
            max_wait_s = 0.0
        max_wait_s = max(0.0, min(max_wait_s, self.budget_s - self.waited_s))
        start = self._monotonic()
        while True:
            slowdown = self.slowdown(reference)
            waited = self._monotonic() - start
            if slowdown <= 1 + TOLERANCE or waited >= max_wait_s:
                break
            self._sleep(min(PROBE_INTERVAL_S, max(0.0, max_wait_s - waited)))
        self.waited_s += waited
        if slowdown <= 1 + TOLERANCE:
            self.futile = 0
        elif max_wait_s > 0:
            self.futile += 1
        return Settling(waited_s=waited, slowdown=slowdown)
