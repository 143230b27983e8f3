"""Sample-size planning: rounds per side to detect an effect with a given power."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

from ._common import _POWER_TESTS, _check_alternative, _check_probability, _normal_quantile
from ._distributions import t_power, t_quantile

__all__ = ["rounds_needed"]


def _t_power(n: int, effect_size: float, alpha: float, two_sided: bool) -> float:
    df = 2.0 * n - 2.0
    noncentrality = effect_size * math.sqrt(n / 2.0)
    if two_sided:
        crit = t_quantile(1.0 - alpha / 2.0, df)
        # Counting the (tiny) opposite-tail rejections too, as G*Power does.
        return t_power(crit, df, noncentrality, two_sided=True)
    return t_power(t_quantile(1.0 - alpha, df), df, noncentrality, two_sided=False)


def _smallest_enough(enough: Callable[[int], bool], lo: int, hi: int) -> int:
    """The smallest n > lo with enough(n), given not enough(lo), enough increasing and a first
    guess hi > lo: bracket by doubling hi, then bisect."""
    while not enough(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid
    return hi


def rounds_needed(
    effect_size: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    test: str = "t",
) -> int:
    """Rounds per group needed to detect a standardised effect (Cohen's d) with given power.

    For ``test="t"`` this is the smallest ``n >= 2`` for which a two-sample Student t-test with
    ``n`` values per group, at level ``alpha``, rejects with probability at least ``power`` when
    the true means differ by ``effect_size`` standard deviations, computed exactly with the
    noncentral t distribution (e.g. 64 per group for d=0.5, two-sided, alpha=0.05, power=0.8).
    For one-sided alternatives the effect is taken in the tested direction.

    For ``test="mann-whitney"`` the t-test answer is divided by the Mann-Whitney test's
    asymptotic relative efficiency under normality, 3/pi, and rounded up.
    """
    if (
        not isinstance(effect_size, numbers.Real)
        or isinstance(effect_size, bool)
        or not math.isfinite(effect_size)
        or effect_size <= 0.0
    ):
        raise ValueError(f"effect_size must be a finite number > 0, got {effect_size!r}")
    _check_probability(alpha, "alpha")
    _check_probability(power, "power")
    _check_alternative(alternative)
    if test not in _POWER_TESTS:
        raise ValueError(f"test must be one of {_POWER_TESTS}, got {test!r}")
    two_sided = alternative == "two-sided"
    d = float(effect_size)

    def enough(n: int) -> bool:
        return _t_power(n, d, alpha, two_sided) >= power

    if enough(2):
        n_t = 2
    else:
        # The normal-theory answer is a slight underestimate for the t-test; start there and
        # bracket by doubling, then bisect (power increases with n).
        z_alpha = _normal_quantile(1.0 - (alpha / 2.0 if two_sided else alpha))
        z_power = _normal_quantile(power)
        guess = 2.0 * ((z_alpha + z_power) / d) ** 2
        if not math.isfinite(guess) or guess > 2.0**52:
            raise ValueError(f"effect_size {effect_size!r} is too small to plan for")
        n_t = _smallest_enough(enough, 2, max(3, math.ceil(guess)))
    if test == "mann-whitney":
        return max(2, math.ceil(n_t * math.pi / 3.0))
    return n_t
