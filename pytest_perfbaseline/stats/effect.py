"""Cohen's d and its conventional interpretation."""

from __future__ import annotations

import math

from ._common import SampleLike, _as_sample
from .ttest import _sum_sq

__all__ = ["cohens_d", "interpret_cohens_d"]


def cohens_d(x: SampleLike, y: SampleLike) -> float:
    """Cohen's d: ``(mean(x) - mean(y)) / s_pooled``, with the pooled sample sd (ddof=1).

    ``s_pooled = sqrt(((n-1) s_x^2 + (m-1) s_y^2) / (n + m - 2))``, the textbook definition
    (no small-sample Hedges correction). Needs at least 3 values in total. When both samples are
    constant, returns 0.0 for equal means and +-inf otherwise.
    """
    xa, ya = _as_sample(x, "x"), _as_sample(y, "y")
    n, m = xa.size, ya.size
    if n + m < 3:
        raise ValueError("cohens_d needs at least 3 values in total to estimate a pooled sd")
    mx, ssx = _sum_sq(xa)
    my, ssy = _sum_sq(ya)
    diff = mx - my
    pooled_sd = math.sqrt((ssx + ssy) / (n + m - 2))
    if pooled_sd == 0.0:
        return 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
    return diff / pooled_sd


def interpret_cohens_d(d: float) -> str:
    """Cohen's (1988) conventional label for ``|d|``.

    ``"negligible"`` below 0.2, ``"small"`` below 0.5, ``"medium"`` below 0.8, else ``"large"``.
    """
    if math.isnan(d):
        raise ValueError("cannot interpret a nan effect size")
    size = abs(d)
    if size < 0.2:
        return "negligible"
    if size < 0.5:
        return "small"
    if size < 0.8:
        return "medium"
    return "large"
