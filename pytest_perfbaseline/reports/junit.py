"""Key medians and verdicts of a test as JUnit XML properties (``--junitxml``)."""

from __future__ import annotations

import math

from ..gate.compare import TestComparison
from ..metrics.result import TestResult
from ..metrics.summary import metric_values, percentile

__all__ = ["JUNIT_KEY_METRICS", "junit_properties"]

JUNIT_KEY_METRICS = ("round_s", "ttft_s", "tpot_s", "tokens_per_s", "output_tokens", "cost_usd")


def junit_properties(
    result: TestResult, comparison: TestComparison | None
) -> list[tuple[str, object]]:
    """``(name, value)`` properties for a test's JUnit XML record: key medians and verdicts.

    Names are ``perf.<metric>.median`` and, in compare mode, ``perf.verdict`` with
    ``perf.<metric>.verdict`` / ``perf.<metric>.ratio`` for the gated metrics.
    """
    properties: list[tuple[str, object]] = [("perf.rounds", len(result.rounds))]
    # Only the key metrics' medians, and nothing else of their summaries: a test's
    # properties are made in its call phase. The same figure as ``result.summary()``'s median.
    for name in JUNIT_KEY_METRICS:
        if name in result.infos and (values := metric_values(result.rounds, name)):
            median = percentile(sorted(map(float, values)), 50.0)
            properties.append((f"perf.{name}.median", f"{median:.6g}"))
    if comparison is not None:
        properties.append(("perf.verdict", comparison.verdict))
        if comparison.recheck is not None:
            properties.append(("perf.confirmation", comparison.recheck.confirmation))
            properties.append(("perf.rounds_added", comparison.recheck.extra_rounds))
        for c in comparison.comparisons:
            if c.gated and c.verdict != "new":
                properties.append((f"perf.{c.metric}.verdict", c.verdict))
                if c.ratio is not None and math.isfinite(c.ratio):
                    properties.append((f"perf.{c.metric}.ratio", f"{c.ratio:.4g}"))
    return properties
