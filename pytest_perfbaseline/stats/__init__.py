"""Statistics for comparing benchmark samples.

Everything here works on plain 1-D samples (lists, tuples or numpy arrays of finite floats) and
returns plain floats or small frozen dataclasses, so that the regression gate, reports and users
can share one implementation:

- two-sample location tests: :func:`student_ttest`, :func:`welch_ttest`, :func:`paired_ttest`
  and the rank-based :func:`mann_whitney_u` (exact even with ties, optionally threshold-shifted);
- effect sizes: :func:`cohens_d` with :func:`interpret_cohens_d`, and the Hodges-Lehmann shift
  :func:`hodges_lehmann` with Moses' interval :func:`hodges_lehmann_ci` and its multiplicative
  form :func:`hodges_lehmann_ratio`;
- paired samples: the signed-rank test :func:`wilcoxon_signed_rank` (exact even with ties,
  optionally threshold-shifted) and the paired Hodges-Lehmann shift with Tukey's interval
  :func:`paired_hodges_lehmann`;
- one-sample intervals: :func:`mean_ci` and the distribution-free :func:`median_ci`;
- planning: :func:`rounds_needed`.

The gate asks for both margin tests and the interval of thousands of metrics per run, so it
calls :func:`pytest_perfbaseline.stats.margin.margin_tests`, which gives the answers of
:func:`mann_whitney_u` and :func:`hodges_lehmann_ci` for all of a test's metrics in a handful of
vectorised numpy operations; anything that depends only on sample sizes (null distributions,
interval ranks) is cached with :func:`functools.lru_cache`, and with ties only the tail at the
observed statistic is counted. Nothing here imports scipy: Student's t, the noncentral t and
the binomial are computed by :mod:`._distributions` (checked against scipy in the tests).
"""

from __future__ import annotations

from ._common import SampleLike
from .effect import cohens_d, interpret_cohens_d
from .intervals import mean_ci, median_ci
from .mannwhitney import MannWhitneyResult, mann_whitney_u
from .power import rounds_needed
from .shift import RatioEstimate, hodges_lehmann, hodges_lehmann_ci, hodges_lehmann_ratio
from .ttest import TTestResult, paired_ttest, student_ttest, welch_ttest
from .wilcoxon import PairedShift, WilcoxonResult, paired_hodges_lehmann, wilcoxon_signed_rank

__all__ = [
    "MannWhitneyResult",
    "PairedShift",
    "RatioEstimate",
    "SampleLike",
    "TTestResult",
    "WilcoxonResult",
    "cohens_d",
    "hodges_lehmann",
    "hodges_lehmann_ci",
    "hodges_lehmann_ratio",
    "interpret_cohens_d",
    "mann_whitney_u",
    "mean_ci",
    "median_ci",
    "paired_hodges_lehmann",
    "paired_ttest",
    "rounds_needed",
    "student_ttest",
    "welch_ttest",
    "wilcoxon_signed_rank",
]
