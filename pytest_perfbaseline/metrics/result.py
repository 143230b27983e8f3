"""One perf test's outcome in a form that crosses process boundaries.

A :class:`TestResult` is built where the test ran (possibly a pytest-xdist worker), attached
to the call-phase report as plain builtins, and rebuilt on the controller, which alone writes
baselines and reports. The same path serves runs with and without xdist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..measure.perf import Measurement
from .histogram import gap_histogram
from .round import MetricInfo
from .summary import Summary, metric_values, summarize, summarize_rounds

__all__ = ["TestResult"]


@dataclass(frozen=True)
class TestResult:
    """What one perf test measured (and, in compare mode, how it compared)."""

    __test__ = False

    nodeid: str
    rounds: tuple[Mapping[str, float | None], ...]
    infos: Mapping[str, MetricInfo]
    itl_histogram: tuple[tuple[float, float, int], ...]
    itl_pooled: Summary | None
    """Summary of every gap of every round pooled (descriptive only: never gated)."""
    token_sources: Mapping[str, str]
    rounds_requested: int
    warmup: int
    implicit: bool

    @classmethod
    def from_measurement(cls, nodeid: str, measurement: Measurement) -> TestResult:
        gaps = measurement.gaps_ns
        return cls(
            nodeid=nodeid,
            rounds=measurement.rounds,
            infos=dict(measurement.infos),
            itl_histogram=tuple(
                (lower, upper, int(count)) for lower, upper, count in gap_histogram(gaps)
            ),
            itl_pooled=summarize(g / 1e9 for g in gaps) if gaps else None,
            token_sources=dict(measurement.token_sources),
            rounds_requested=measurement.rounds_requested,
            warmup=measurement.warmup,
            implicit=measurement.implicit,
        )

    def values(self, metric: str) -> list[float]:
        """The metric's per-round values, leaving out rounds where it is missing or null."""
        return metric_values(self.rounds, metric)

    def summary(self) -> dict[str, Summary]:
        """Summaries of every metric that has at least one value."""
        return summarize_rounds(self.rounds, self.infos)

    def to_dict(self) -> dict[str, Any]:
        """Builtins only (dicts, lists, str, float, int, bool, None): safe for execnet and JSON."""
        return {
            "nodeid": self.nodeid,
            "rounds": [dict(r) for r in self.rounds],
            "metrics": {name: info.to_dict() for name, info in self.infos.items()},
            "itl_histogram": [list(b) for b in self.itl_histogram],
            "itl_pooled": self.itl_pooled.to_dict() if self.itl_pooled else None,
            "token_sources": dict(self.token_sources),
            "rounds_requested": self.rounds_requested,
            "warmup": self.warmup,
            "implicit": self.implicit,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestResult:
        pooled = data.get("itl_pooled")
        return cls(
            nodeid=data["nodeid"],
            rounds=tuple(dict(r) for r in data["rounds"]),
            infos={
                name: MetricInfo(info["unit"], bool(info["higher_is_better"]), info["kind"])
                for name, info in data["metrics"].items()
            },
            itl_histogram=tuple(
                (float(lo), float(hi), int(n)) for lo, hi, n in data["itl_histogram"]
            ),
            itl_pooled=Summary(**pooled) if pooled else None,
            token_sources=dict(data["token_sources"]),
            rounds_requested=int(data["rounds_requested"]),
            warmup=int(data["warmup"]),
            implicit=bool(data["implicit"]),
        )
