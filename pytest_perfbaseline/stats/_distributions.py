"""Student's t (central and noncentral) and the binomial at 1/2, in plain Python.

These replace scipy's special functions so that nothing in :mod:`pytest_perfbaseline.stats`
needs scipy, which costs about a second and 60 MiB to import. ``tests/test_stats.py`` checks
each against scipy over wide grids.

- The t distribution's tails come from the regularized incomplete beta function, evaluated by
  its continued fraction (DLMF 8.17.22) with the modified Lentz method, on whichever side
  converges; tail probabilities keep their relative accuracy far out (p ~ 1e-50 and beyond).
- Its quantile is Newton's method on the log of the tail, kept inside a bracket.
- The noncentral t's power integral is ``E[Phi(delta - c S)]`` over ``S = sqrt(chi2_df / df)``,
  computed by the trapezoidal rule in ``log S``: the integrand is smooth and decays fast on both
  sides, where the trapezoidal rule converges geometrically in the number of points.
"""

from __future__ import annotations

import math

from ._common import _normal_cdf, _normal_quantile

_EPS = 1e-16
_TINY = 1e-300
_MAX_ITER = 100_000


def _stirling_correction(x: float) -> float:
    """lgamma(x) - ((x - 1/2) log x - x + log(2 pi) / 2), for x >= 10 (to ~1e-17)."""
    r = 1.0 / (x * x)
    return (1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r / 1680.0))) / x


def _log_beta(a: float, b: float) -> float:
    """log B(a, b); for a large argument without cancelling lgamma(a) against lgamma(a + b)."""
    small, big = min(a, b), max(a, b)
    if big < 10.0:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    # lgamma(big) - lgamma(big + small) from Stirling's series, the large terms cancelled
    # analytically: -(big - 1/2) log1p(small / big) - small log(big + small) + small + ...
    difference = (
        -(big - 0.5) * math.log1p(small / big)
        - small * math.log(big + small)
        + small
        + _stirling_correction(big)
        - _stirling_correction(big + small)
    )
    return math.lgamma(small) + difference


def _beta_fraction(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b) by its continued fraction; converges fast for x < (a + 1) / (a + b + 2).

    ``y`` is ``1 - x``, passed in so that the caller can compute it without cancellation.
    """
    # Of x and y = 1 - x, the one near 1 is known only to an ulp, which b log(.) would
    # magnify; its log is log1p of minus the other, which is known to a relative ulp.
    log_x = math.log(x) if x < 0.5 else math.log1p(-y)
    log_y = math.log(y) if y < 0.5 else math.log1p(-x)
    log_front = a * log_x + b * log_y - math.log(a) - _log_beta(a, b)
    if log_front < -745.0:  # below the smallest subnormal
        return 0.0
    # Modified Lentz: f = 1 / (1 + d1 / (1 + d2 / (1 + ...))).
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    f = d
    for m in range(1, _MAX_ITER):
        two_m = 2.0 * m
        for numerator in (
            m * (b - m) * x / ((a + two_m - 1.0) * (a + two_m)),
            -(a + m) * (a + b + m) * x / ((a + two_m) * (a + two_m + 1.0)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            step = c * d
            f *= step
        if abs(step - 1.0) < _EPS:
            break
    return math.exp(log_front) * f


def beta_inc(a: float, b: float, x: float, y: float | None = None) -> float:
    """The regularized incomplete beta function I_x(a, b), like ``scipy.special.betainc``.

    ``y`` is ``1 - x`` if the caller knows it more exactly than ``1 - x`` computes it.
    """
    if y is None:
        y = 1.0 - x
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    if x < (a + 1.0) / (a + b + 2.0):
        return _beta_fraction(a, b, x, y)
    return 1.0 - _beta_fraction(b, a, y, x)


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom, like ``scipy.special.stdtr(df,
    -t)``: relatively accurate far into either tail."""
    if math.isnan(t) or math.isnan(df):
        return math.nan
    if t == 0.0:
        return 0.5
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    t2 = t * t
    # P(|T| > |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2)
    tails = beta_inc(0.5 * df, 0.5, df / (df + t2), t2 / (df + t2))
    return 0.5 * tails if t > 0 else 1.0 - 0.5 * tails


def t_cdf(t: float, df: float) -> float:
    """P(T <= t), like ``scipy.special.stdtr(df, t)``."""
    return t_sf(-t, df)


def _t_log_pdf(t: float, df: float) -> float:
    return (
        math.lgamma(0.5 * (df + 1.0))
        - math.lgamma(0.5 * df)
        - 0.5 * math.log(df * math.pi)
        - 0.5 * (df + 1.0) * math.log1p(t * t / df)
    )


def t_quantile(p: float, df: float) -> float:
    """The t such that P(T <= t) = p, like ``scipy.special.stdtrit(df, p)``."""
    if math.isnan(p) or math.isnan(df) or not 0.0 <= p <= 1.0:
        return math.nan
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -_t_upper_quantile(p, df)
    return _t_upper_quantile(1.0 - p, df)


def _t_upper_quantile(q: float, df: float) -> float:
    """The t > 0 with P(T > t) = q, for 0 <= q < 1/2."""
    if q <= 0.0:
        return math.inf
    if df == 1.0:  # Cauchy
        return 1.0 / math.tan(math.pi * q)
    if df == 2.0:
        return (1.0 - 2.0 * q) / math.sqrt(2.0 * q * (1.0 - q))
    t = _cornish_fisher(q, df)
    log_q = math.log(q)
    lo, hi = 0.0, math.inf  # P(T > lo) > q > P(T > hi)
    for _ in range(200):
        sf = t_sf(t, df)
        if sf == q:
            return t
        if sf > q:
            lo = t
        else:
            hi = t
        # Newton on log P(T > t), whose slope is -pdf / sf
        step = (math.log(sf) - log_q) * sf / math.exp(_t_log_pdf(t, df)) if sf > 0 else -math.inf
        new = t + step
        if not lo < new < hi:
            new = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * t + 1.0
        if abs(new - t) <= 4 * _EPS * abs(t):
            return new
        t = new
    return t


def _cornish_fisher(q: float, df: float) -> float:
    """Start for the upper t quantile: the normal quantile's expansion in 1/df (A&S 26.7.5)."""
    z = -_normal_quantile(q)
    z2 = z * z
    g1 = (z2 + 1.0) * z / 4.0
    g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0
    g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0
    t = z + g1 / df + g2 / df**2 + g3 / df**3
    return t if math.isfinite(t) and t > 0 else max(z, 1.0)


def binomial_half_cdf(k: int, n: int) -> float:
    """P(B <= k) for B ~ Binomial(n, 1/2), like ``scipy.special.bdtr(k, n, 0.5)``.

    Exact (a sum of binomial coefficients over 2**n, correctly rounded) up to 2000 trials;
    the incomplete beta function beyond.
    """
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if n <= 2000:
        total, term = 0, 1
        for i in range(k + 1):
            total += term
            term = term * (n - i) // (i + 1)
        return total / (1 << n)
    return beta_inc(float(n - k), float(k + 1), 0.5, 0.5)


def t_power(crit: float, df: float, noncentrality: float, *, two_sided: bool) -> float:
    """P(T > crit) (plus P(T < -crit) if ``two_sided``) for the noncentral t with ``df``
    degrees of freedom and ``noncentrality``, like ``scipy.stats.nct.sf(crit, df, nc)``
    (``+ nct.cdf(-crit, df, nc)``).

    T = (Z + nc) / S with S = sqrt(chi2_df / df), so P(T > c) = E[Phi(nc - c S)]. In
    u = log S the density of S is proportional to exp(df (u - (e^{2u} - 1) / 2)), a bell of
    width about 1 / sqrt(2 df) around 0 with a left tail that decays like exp(df u); the
    trapezoidal rule over it, normalized by the same rule's total weight, converges
    geometrically with the step (here ~1e-13 in the worst case checked against scipy).
    """
    # The step resolves both the bell (width 1 / sqrt(2 df)) and the integrand, which turns
    # from 1 to 0 where c S ~ nc over about 1 / |nc| in u.
    h = 0.25 / max(math.sqrt(2.0 * df), abs(noncentrality) + abs(crit), 1.0)

    def log_weight(u: float) -> float:
        return df * (u - 0.5 * math.expm1(2.0 * u))

    def integrand(u: float) -> float:
        s = math.exp(u)
        value = _normal_cdf(noncentrality - crit * s)
        if two_sided:
            value += _normal_cdf(-noncentrality - crit * s)
        return value

    total = weights = 0.0
    for direction in (1.0, -1.0):
        i = 0 if direction > 0 else 1
        while True:
            u = direction * i * h
            w = math.exp(log_weight(u))
            total += w * integrand(u)
            weights += w
            if log_weight(u) < -50.0:
                break
            i += 1
    return min(1.0, total / weights)
