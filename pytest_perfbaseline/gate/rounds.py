"""How many rounds a comparison needs: the floor of the exact test and the power hint."""

from __future__ import annotations

import math
import statistics
from functools import lru_cache

__all__ = ["MAX_ROUNDS_NEEDED", "POWER", "fewest_rounds", "rounds_needed_hint"]

POWER = 0.8
"""Power assumed when saying how many rounds would settle an inconclusive comparison."""
MAX_ROUNDS_NEEDED = 10_000
_NORMAL = statistics.NormalDist()
_Z_POWER = _NORMAL.inv_cdf(POWER)


def rounds_needed_hint(effect: float, alpha: float) -> int | None:
    """Rounds per side for a one-sided Mann-Whitney test to detect ``effect`` (in SDs).

    Closed form, as this runs for every inconclusive metric: the normal-theory sample size
    with Guenther's correction for the t distribution, divided by Mann-Whitney's asymptotic
    relative efficiency 3/pi. It agrees with the exact :func:`pytest_perfbaseline.stats.
    rounds_needed` to within a round or two, which is all a "rounds needed" hint needs.
    """
    if not math.isfinite(effect) or effect <= 0:
        return None
    z_alpha = _NORMAL.inv_cdf(1 - alpha)
    z_power = _Z_POWER
    n_t = 2 * ((z_alpha + z_power) / effect) ** 2 + z_alpha**2 / 4
    # Never fewer rounds than the exact test needs to reach alpha at all.
    needed = max(math.ceil(n_t * math.pi / 3), fewest_rounds(alpha))
    return min(MAX_ROUNDS_NEEDED, needed)


@lru_cache(maxsize=256)  # one alpha per test (and the interval's), asked once per metric
def fewest_rounds(alpha: float) -> int:
    """The fewest rounds a side with which an exact one-sided rank test can reach ``alpha``.

    With n rounds a side the smallest p-value is 1 / C(2n, n) (every current round beyond
    every baseline round).
    """
    n = 2
    while 1 / math.comb(2 * n, n) >= alpha and n < MAX_ROUNDS_NEEDED:
        n += 1
    return n
