"""Is this machine running as fast as it was? A small reference probe, for the confirmation.

On a shared VM the whole machine now and then slows down for tens of seconds (CPU steal by
the hypervisor, a noisy neighbour). Everything measured in that window is slower, code
unchanged; a confirmation re-measure run immediately after a suspicious first measurement
falls in the same window and "confirms" a regression that is the machine's.

So before the gate re-measures a suspected regression, it runs a fixed reference task (a
short pure-Python loop and short sleeps: the CPU and the scheduler's wake-ups that timing
depends on) and compares its time with the fastest the session has seen. If the machine is
slower, it waits, probing now and then, for it to recover (up to a limit), and if it never
does, the gate says so instead of failing the test on the machine's account.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MachineWatch", "Settling", "machine_factor", "probe"]

TOLERANCE = 0.10
"""How much slower than its best the machine may run and still count as its usual self."""
PROBE_INTERVAL_S = 0.5


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def probe(
    clock: Callable[[], float] = time.perf_counter, sleep: Callable[[float], None] = time.sleep
) -> float:
    """Seconds a fixed reference task takes right now (about 6 ms on a quiet machine)."""
    start = clock()
    for _ in range(8):
        _spin(3000)  # CPU time: what the hypervisor steals
        sleep(0.0003)  # a wake-up: what a busy scheduler delays
    return clock() - start


def _module_probe() -> float:
    # looked up at call time, so a test (or a plugin) can replace this module's probe
    return globals()["probe"]()  # type: ignore[no-any-return]


def machine_factor(current_s: float, best_s: float, baseline_probe_s: float | None) -> float:
    """How much slower this machine runs than it should: 1.0 when within the tolerance.

    The larger of "slower than earlier in this session" (a transient burst that outlasted the
    wait) and "slower than the machine that saved the baseline" (a noisy neighbour for the
    whole session, or a slower CPU under the same profile).
    """
    factor = current_s / best_s if best_s > 0 else 1.0
    if baseline_probe_s:
        factor = max(factor, current_s / baseline_probe_s)
    return factor if factor > 1 + TOLERANCE else 1.0


@dataclass(frozen=True)
class Settling:
    """What waiting for the machine did."""

    waited_s: float
    slowdown: float
    """The machine's last probe relative to its best: 1.0 = as fast as it has been."""
    current_s: float
    """The last probe itself, to compare with another machine's (a baseline's ``probe_s``)."""

    @property
    def settled(self) -> bool:
        return self.slowdown <= 1 + TOLERANCE


class MachineWatch:
    """Keeps the fastest probe of the session and waits for the machine to get back to it."""

    def __init__(
        self,
        probe: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe or _module_probe
        self._sleep = sleep
        self._monotonic = monotonic
        self.best: float | None = None

    def sample(self) -> float:
        """The machine's speed now: the median of three best-of-two probes (about 25 ms).

        Robust on purpose: a single probe preempted once must not read as a slow machine,
        and an unusually lucky one must not set a bar the machine never meets again.
        """
        value = statistics.median(min(self._probe(), self._probe()) for _ in range(3))
        if self.best is None or value < self.best:
            self.best = value
        return value

    def calibrate(self) -> None:
        """Take the session's first measure of the machine."""
        self.sample()

    def settle(self, max_wait_s: float) -> Settling:
        """Wait until the machine runs within TOLERANCE of its best, for up to ``max_wait_s``."""
        start = self._monotonic()
        while True:
            current = self.sample()
            assert self.best is not None
            slowdown = current / self.best if self.best > 0 else 1.0
            waited = self._monotonic() - start
            if slowdown <= 1 + TOLERANCE or waited >= max_wait_s:
                return Settling(waited_s=waited, slowdown=slowdown, current_s=current)
            self._sleep(min(PROBE_INTERVAL_S, max(0.0, max_wait_s - waited)))
