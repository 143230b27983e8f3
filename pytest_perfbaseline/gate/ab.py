"""An A/B test's verdict: has variant b got worse than variant a, measured in pairs?

``perf.ab(a, b)`` measures the two variants in interleaved rounds (ABBA), so round ``i`` of
a and round ``i`` of b form a pair measured moments apart on the same machine. Per metric:

- the paired log ratios ``log(b_i) - log(a_i)``, oriented so that "worse" is "larger" (the
  reciprocal for higher-is-better metrics), as the baseline gate orients them;
- ``regressed``: the one-sided exact Wilcoxon signed-rank test of "b worse than a by more
  than the threshold" (the differences shifted down by ``log(1 + threshold)``) rejects at
  the metric's share of the test's false-alarm budget -- the same threshold, gate and
  budget rules as the baseline gate (``gate/compare.py``); ``improved`` the mirror image;
  ``unchanged`` when the 95% Tukey interval of the ratio lies within the threshold either
  way; otherwise ``inconclusive``;
- the ratio b/a is exp of the paired Hodges-Lehmann estimate (the median of the Walsh
  averages of the log differences) with Tukey's interval;
- a metric constant on both sides is compared exactly, one with values at or below zero on
  a linear scale (a margin of the threshold times a's median).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from ..metrics.formatting import format_percent, format_ratio, format_value
from ..metrics.result import TestResult
from ..metrics.summary import Summary, summarize
from .compare import CONFIDENCE, metric_alpha
from .settings import DEFAULT_ALPHA, TestSettings

__all__ = ["ABMetric", "ABResult", "ABVerdict", "ab_failure_message", "judge_ab"]

ABVerdict = Literal["regressed", "improved", "unchanged", "inconclusive", "not measured"]
_ORDER: tuple[ABVerdict, ...] = ("regressed", "improved", "inconclusive", "unchanged")


@dataclass(frozen=True)
class ABMetric:
    """How one metric of variant b compares with variant a, pair by pair."""

    metric: str
    verdict: ABVerdict
    gated: bool
    unit: str
    higher_is_better: bool
    threshold: float
    pairs: int
    """Pairs with a value on both sides."""
    a: Summary | None
    b: Summary | None
    ratio: float | None
    """b / a: exp of the paired Hodges-Lehmann estimate of the log ratios."""
    ratio_low: float | None
    ratio_high: float | None
    pvalue: float | None
    """p of "b worse than a by more than the threshold" (of "better by more" for
    ``improved``); None when compared exactly."""
    alpha: float | None
    method: str

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["a"] = self.a.to_dict() if self.a is not None else None
        data["b"] = self.b.to_dict() if self.b is not None else None
        for key in ("ratio", "ratio_low", "ratio_high"):
            if data[key] is not None and not math.isfinite(data[key]):
                data[key] = None  # JSON has no infinity; an unbounded bound is null
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ABMetric:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        for side in ("a", "b"):
            if values.get(side) is not None:
                values[side] = Summary(**values[side])
        return cls(**values)


@dataclass(frozen=True)
class ABResult:
    """What ``perf.ab(a, b)`` measured and decided: per metric both sides and the ratio b/a.

    ``verdict`` is that of the worst gated metric; ``fail`` is the test's ``fail=`` argument
    (whether a regression fails the test).
    """

    labels: tuple[str, str]
    pairs: int
    warmup: int
    metrics: tuple[ABMetric, ...]
    test_alpha: float
    fail: bool = True
    nodeid: str = ""
    measured: bool = True
    """False under ``--perf-disable``: each workload ran once, untimed, and nothing decided."""

    @property
    def regressed(self) -> tuple[ABMetric, ...]:
        """The gated metrics on which b regressed against a."""
        return tuple(m for m in self.metrics if m.gated and m.verdict == "regressed")

    @property
    def verdict(self) -> ABVerdict:
        if not self.measured:
            return "not measured"
        gated = {m.verdict for m in self.metrics if m.gated}
        for verdict in _ORDER:
            if verdict in gated:
                return verdict
        return "unchanged"

    @property
    def worst(self) -> ABMetric | None:
        """The gated metric that decides the verdict: the worst verdict first (regressed,
        improved, inconclusive, unchanged), then the largest change either way; None without
        a gated metric. An improved test names what improved most, not an unchanged metric
        that happened to move up."""
        gated = [m for m in self.metrics if m.gated]
        if not gated:
            return None
        return min(gated, key=_deciding_rank)

    def metric(self, name: str) -> ABMetric:
        """The comparison of metric ``name`` (KeyError if it was not measured)."""
        for m in self.metrics:
            if m.metric == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "labels": list(self.labels),
            "pairs": self.pairs,
            "warmup": self.warmup,
            "test_alpha": self.test_alpha,
            "fail": self.fail,
            "measured": self.measured,
            "verdict": self.verdict,
            "metrics": [m.to_dict() for m in self.metrics],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ABResult:
        a, b = data["labels"]
        return cls(
            labels=(str(a), str(b)),
            pairs=int(data["pairs"]),
            warmup=int(data["warmup"]),
            metrics=tuple(ABMetric.from_dict(m) for m in data["metrics"]),
            test_alpha=float(data["test_alpha"]),
            fail=bool(data.get("fail", True)),
            nodeid=str(data.get("nodeid", "")),
            measured=bool(data.get("measured", True)),
        )


def _worseness(m: ABMetric) -> float:
    ratio = m.ratio if m.ratio is not None and m.ratio > 0 else 1.0
    return 1.0 / ratio if m.higher_is_better else ratio


def _deciding_rank(m: ABMetric) -> tuple[int, float]:
    order = _ORDER.index(m.verdict) if m.verdict in _ORDER else len(_ORDER)
    ratio = m.ratio
    size = abs(math.log(ratio)) if ratio and ratio > 0 and math.isfinite(ratio) else 0.0
    return order, -size


class _Side:
    """One metric's paired values: pairs with a value on both sides only."""

    def __init__(self, a: Sequence[float | None], b: Sequence[float | None]) -> None:
        pairs = [(x, y) for x, y in zip(a, b, strict=False) if x is not None and y is not None]
        self.a = [float(x) for x, _ in pairs]
        self.b = [float(y) for _, y in pairs]

    @property
    def constant(self) -> bool:
        return len(set(self.a)) == 1 and len(set(self.b)) == 1

    @property
    def positive(self) -> bool:
        return min(self.a) > 0 and min(self.b) > 0


def judge_ab(
    a: TestResult,
    b: TestResult,
    *,
    labels: tuple[str, str],
    settings: TestSettings | None = None,
    test_alpha: float = DEFAULT_ALPHA,
    fail: bool = True,
) -> ABResult:
    """Compare variant ``b``'s rounds with variant ``a``'s, round ``i`` with round ``i``.

    ``settings`` gives the thresholds and the gated metrics (the defaults without it);
    ``test_alpha`` is the test's false-alarm budget, shared by its statistically tested gated
    metrics as in the baseline gate.
    """
    settings = settings or TestSettings()
    infos = {**b.infos, **a.infos}
    names = sorted(infos)
    sides = {name: _Side(a.column(name), b.column(name)) for name in names}
    gated = {n for n in names if settings.gates(n, custom=infos[n].kind == "custom")}
    tested = sum(1 for n in gated if sides[n].a and not sides[n].constant)
    alpha = metric_alpha(test_alpha, tested)
    metrics = []
    for name in names:
        info = infos[name]
        question = _ABQuestion(
            name,
            info.unit,
            info.higher_is_better,
            settings.threshold.for_metric(name, info.kind),
            name in gated,
            alpha,
        )
        metrics.append(question.answer(sides[name]))
    return ABResult(
        labels=labels,
        pairs=min(a.round_count, b.round_count),
        warmup=a.warmup,
        metrics=tuple(metrics),
        test_alpha=test_alpha,
        fail=fail,
    )


@dataclass(frozen=True)
class _ABQuestion:
    metric: str
    unit: str
    higher_is_better: bool
    threshold: float
    gated: bool
    alpha: float

    def answer(self, side: _Side) -> ABMetric:
        if not side.a:
            return self._made(side, "inconclusive", (None, None, None), (None, None, "no pairs"))
        if side.constant:
            return self._exactly(side)
        if side.positive:
            return self._logs(side)
        return self._linear(side)

    def _made(
        self,
        side: _Side,
        verdict: ABVerdict,
        ratio: tuple[float | None, float | None, float | None],
        test: tuple[float | None, float | None, str],
    ) -> ABMetric:
        return ABMetric(
            metric=self.metric,
            verdict=verdict,
            gated=self.gated,
            unit=self.unit,
            higher_is_better=self.higher_is_better,
            threshold=self.threshold,
            pairs=len(side.a),
            a=summarize(side.a) if side.a else None,
            b=summarize(side.b) if side.b else None,
            ratio=ratio[0],
            ratio_low=ratio[1],
            ratio_high=ratio[2],
            pvalue=test[0],
            alpha=test[1],
            method=test[2],
        )

    def _exactly(self, side: _Side) -> ABMetric:
        x0, y0 = side.a[0], side.b[0]
        ratio = y0 / x0 if x0 else None
        limit = 1.0 + self.threshold
        verdict: ABVerdict = "unchanged"
        if x0 != y0 and (x0 == 0 or y0 == 0):
            verdict = "regressed" if (y0 > x0) != self.higher_is_better else "improved"
        elif x0 != y0 and ratio is not None:
            worse = 1.0 / ratio if self.higher_is_better else ratio
            if worse > limit:
                verdict = "regressed"
            elif worse < 1.0 / limit:
                verdict = "improved"
        return self._made(side, verdict, (ratio, ratio, ratio), (None, None, "exact (constant)"))

    def _decide(self, d: list[float], margin: float) -> tuple[ABVerdict, float, Any]:
        """The verdict and its p-value for oriented differences (larger: b worse)."""
        from ..stats.wilcoxon import paired_hodges_lehmann, wilcoxon_signed_rank

        shift = paired_hodges_lehmann(d, confidence=CONFIDENCE)
        p_worse = wilcoxon_signed_rank(d, alternative="greater", shift=margin).pvalue
        if p_worse < self.alpha:
            return "regressed", p_worse, shift
        p_better = wilcoxon_signed_rank(d, alternative="less", shift=-margin).pvalue
        if p_better < self.alpha:
            return "improved", p_better, shift
        if -margin < shift.low and shift.high < margin:
            return "unchanged", p_worse, shift
        return "inconclusive", p_worse, shift

    def _logs(self, side: _Side) -> ABMetric:
        sign = -1.0 if self.higher_is_better else 1.0
        d = [sign * (math.log(y) - math.log(x)) for x, y in zip(side.a, side.b, strict=True)]
        verdict, pvalue, shift = self._decide(d, math.log1p(self.threshold))
        low, high = sorted((math.exp(sign * shift.low), math.exp(sign * shift.high)))
        return self._made(
            side,
            verdict,
            (math.exp(sign * shift.estimate), low, high),
            (pvalue, self.alpha, "wilcoxon signed-rank, paired log ratios"),
        )

    def _linear(self, side: _Side) -> ABMetric:
        sign = -1.0 if self.higher_is_better else 1.0
        scale = abs(statistics.median(side.a)) or max(abs(v) for v in side.a + side.b)
        d = [sign * (y - x) for x, y in zip(side.a, side.b, strict=True)]
        verdict, pvalue, _ = self._decide(d, self.threshold * scale)
        median_a = statistics.median(side.a)
        ratio = statistics.median(side.b) / median_a if median_a else None
        return self._made(
            side,
            verdict,
            (ratio, None, None),
            (pvalue, self.alpha, "wilcoxon signed-rank, linear scale (values <= 0)"),
        )


def _interval(m: ABMetric) -> str:
    if m.ratio_low is None or m.ratio_high is None or m.ratio_low == m.ratio_high:
        return ""
    return f" ({format_ratio(m.ratio_low)}..{format_ratio(m.ratio_high)})"


def _metric_text(m: ABMetric, pairs: int) -> str:
    p = "exact" if m.pvalue is None else f"p={m.pvalue:.2g}"
    return (
        f"{m.metric} {format_ratio(m.ratio)}{_interval(m)} > "
        f"{format_percent(m.threshold)} threshold, {p} ({pairs} pairs)"
    )


def _median_line(m: ABMetric, labels: tuple[str, str]) -> str:
    direction = "higher is better" if m.higher_is_better else "lower is better"
    a = format_value(m.a.median if m.a else None, m.unit)
    b = format_value(m.b.median if m.b else None, m.unit)
    alpha = f"; alpha {m.alpha:.2g}" if m.alpha is not None else ""
    return f"  {m.metric}: {labels[0]} {a} -> {labels[1]} {b} (medians; {direction}){alpha}"


def ab_failure_message(result: ABResult) -> str:
    """What a test fails with when b regressed against a, in the baseline gate's style.

    ``A/B: b (new-prompt) regressed against a (old-prompt): ttft_s +18.2% (+12.0%..+24.9%)
    > 10% threshold, p=0.0003 (20 pairs)``, then each regressed metric's medians.
    """
    a, b = result.labels
    worst_first = sorted(result.regressed, key=_worseness, reverse=True)
    texts = "; ".join(_metric_text(m, m.pairs) for m in worst_first)
    lines = [f"A/B: b ({b}) regressed against a ({a}): {texts}"]
    lines += [_median_line(m, result.labels) for m in worst_first]
    return "\n".join(lines)


def with_nodeid(result: ABResult, nodeid: str) -> ABResult:
    """``result`` named after the test that measured it."""
    return replace(result, nodeid=nodeid)
