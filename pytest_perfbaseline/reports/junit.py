"""Key medians and verdicts of a test as JUnit XML properties (``--junitxml``)."""

from __future__ import annotations

import math

from ..gate.compare import TestComparison
from ..metrics.result import TestResult

__all__ = ["JUNIT_KEY_METRICS", "junit_properties"]

JUNIT_KEY_METRICS = ("round_s", "ttft_s", "tpot_s", "tokens_per_s", "output_tokens", "cost_usd")


def junit_properties(
    result: TestResult, comparison: TestComparison | None
) -> list[tuple[str, object]]:
    """``(name, value)`` properties for a test's JUnit XML record: key medians and verdicts.

    Names are ``perf.<metric>.median`` and, in compare mode, ``perf.verdict`` with
    ``perf.<metric>.verdict`` / ``perf.<metric>.ratio`` for the gated metrics.
    """
    properties: list[tuple[str, object]] = [("perf.rounds", result.round_count)]
    # The result keeps its summaries: the reports at session end read the same ones.
    summaries = result.summary()
    for name in JUNIT_KEY_METRICS:
        if name in summaries:
            properties.append((f"perf.{name}.median", f"{summaries[name].median:.6g}"))
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
