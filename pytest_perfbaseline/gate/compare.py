"""The regression gate: has a metric got worse by more than its threshold, beyond doubt?

Method (docs/gate.md explains it at length):

- Per-round values are compared on a log scale, oriented so that "worse" is always "larger"
  (a ratio of 1.25 means 25% slower; for tokens/s it is the reciprocal).
- ``regressed`` needs a one-sided Mann-Whitney test of "worse by more than the threshold" --
  the current values shifted down by ``log(1 + threshold)`` still stochastically exceed the
  baseline -- to reject at the metric's share of the session's false-alarm budget. The test is
  exact (``pytest_perfbaseline.stats``): the shares are small and normal approximations
  overstate such tail probabilities.
- ``improved`` is the mirror image; ``unchanged`` needs the Hodges-Lehmann interval of the
  ratio (95%) to lie within the threshold either way; otherwise ``inconclusive``, with the
  number of rounds a side that would likely settle it.
- A metric constant in both samples (deterministic token counts) is compared exactly.
- The budget ``alpha`` of the session is split evenly over the perf tests (known after
  collection) and, within a test, over its statistically tested gated metrics (Bonferroni):
  the chance that any test of the session fails on noise stays at most ``alpha``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from ..metrics.result import TestResult
from ..metrics.summary import exact_variance
from .rounds import rounds_needed_hint
from .settings import TestSettings

if TYPE_CHECKING:
    from ..metrics.names import MetricKind
    from ..stats.margin import MarginTest

__all__ = [
    "CONFIDENCE",
    "VERDICTS",
    "BaselineSamples",
    "Comparison",
    "Provenance",
    "Recheck",
    "TestComparison",
    "Verdict",
    "compare_metric",
    "compare_test",
    "metric_alpha",
    "suspicion_alpha",
]

Verdict = Literal["regressed", "undecided", "improved", "unchanged", "inconclusive", "new"]
VERDICTS: tuple[Verdict, ...] = (
    "regressed",
    "undecided",
    "improved",
    "unchanged",
    "inconclusive",
    "new",
)
CONFIDENCE = 0.95
"""Confidence of the reported ratio interval and of the ``unchanged`` (equivalence) decision."""


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names, in order (looked up once per class)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _shallow_dict(value: Any) -> dict[str, Any]:
    """A dataclass's fields by name, in order, values as they are (``asdict`` would copy
    every nested value first, several times the cost, for fields that are overwritten or
    scalars anyway)."""
    return {name: getattr(value, name) for name in _field_names(type(value))}


@dataclass(frozen=True)
class Comparison:
    """How one metric of one test compares with its baseline."""

    metric: str
    verdict: Verdict
    gated: bool
    unit: str
    higher_is_better: bool
    threshold: float
    n_baseline: int
    n_current: int
    baseline_median: float | None
    current_median: float | None
    ratio: float | None
    """Typical current / baseline ratio (exp of the Hodges-Lehmann shift of the logs)."""
    ratio_low: float | None
    ratio_high: float | None
    pvalue: float | None
    """p of "worse by more than the threshold" (of "better by more" for ``improved``);
    None when compared exactly."""
    alpha: float | None
    """The level this metric was tested at (its share of the session's budget)."""
    method: str
    rounds_needed: int | None = None
    """For ``inconclusive``: rounds per side likely to settle it; for ``regressed``: likely to
    show it again in a fresh re-measure (80% power; None: no estimate)."""
    drift: float | None = None
    """The between-session drift allowance (a ratio > 1) that widened the threshold's
    margin; None: none."""

    def to_dict(self) -> dict[str, Any]:
        """Builtins for JSON: an unbounded upper ratio bound (infinity) is written as null."""
        data = _shallow_dict(self)
        if self.ratio_high is not None and math.isinf(self.ratio_high):
            data["ratio_high"] = None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        """The inverse of :meth:`to_dict`: a null upper bound beside a lower one is infinity."""
        # Fields a later version added are ignored, so adding one is not a breaking change.
        known = _field_names(cls)
        values = {key: value for key, value in data.items() if key in known}
        if values.get("ratio_high") is None and values.get("ratio_low") is not None:
            values["ratio_high"] = math.inf
        return cls(**values)


@dataclass(frozen=True)
class Provenance:
    """Where and when a baseline was measured, as a comparison reports it."""

    saved_at: str | None
    origin: str | None
    """Commit, profile and machine, flagging a machine other than the current one."""
    age_s: float | None
    stale: bool


Confirmation = Literal["none", "confirmed", "not confirmed", "undecided"]


@dataclass(frozen=True)
class Recheck:
    """What the gate did for a test beyond its first measurement, and what it saw.

    Inconclusive gated metrics get more rounds (``extra_rounds`` over ``looks`` looks); a
    suspected regression is re-measured afresh (``attempts`` times) and fails only if the
    fresh rounds confirm it. A confirmed time regression measured while the machine was busy
    is *undecided* when the machine's state can explain its size (``explainable``).
    """

    extra_rounds: int = 0
    """Rounds added to the first measurement to settle inconclusive metrics."""
    looks: int = 1
    """Comparisons made of the (growing) first measurement."""
    confirmation: Confirmation = "none"
    attempts: int = 0
    """Fresh re-measures made to confirm a suspected regression."""
    confirm_rounds: int = 0
    """Rounds of each fresh re-measure."""
    first_pvalues: Mapping[str, float | None] = field(default_factory=dict)
    """Each suspected metric's p-value in the first measurement."""
    waited_s: float = 0.0
    """How long the gate waited for a busy machine to quieten before re-measuring."""
    machine_slowdown: float | None = None
    """The machine's reference probe around the last re-measure relative to its best (in the
    session, or when the baseline was saved on a machine of the same kind); above
    ``1 + TOLERANCE`` it was busy (see :mod:`.machine`)."""
    cpu_share: float | None = None
    """CPU time over wall time of the last re-measure: how much a busy CPU can stretch it."""
    neighbours: float | None = None
    """Median ratio to their baselines of the session's other tests measured just before:
    the common-mode drift of the session (None: too few)."""
    explainable: float | None = None
    """The largest slowdown the machine's state could explain (busy machine only)."""
    budget: str | None = None
    """Why more rounds that were wanted were not taken (the test's budget, or the looks)."""
    no_wait: str | None = None
    """Why the gate did not wait for a busy machine (the session's waiting budget is spent,
    or the machine stayed busy through several waits in a row)."""

    def to_dict(self) -> dict[str, Any]:
        data = _shallow_dict(self)
        data["first_pvalues"] = dict(self.first_pvalues)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recheck:
        known = _field_names(cls)
        values = {key: value for key, value in data.items() if key in known}
        values["first_pvalues"] = dict(data.get("first_pvalues", {}))
        return cls(**values)


@dataclass(frozen=True)
class TestComparison:
    """A test's comparisons with its baseline, and where that baseline came from."""

    __test__ = False

    nodeid: str
    comparisons: tuple[Comparison, ...]
    test_alpha: float
    baseline_saved_at: str | None = None
    baseline_origin: str | None = None
    """Where the baseline was measured: commit, profile, machine (for messages)."""
    baseline_age_s: float | None = None
    stale: bool = False
    suspected: tuple[str, ...] = ()
    """Gated metrics that looked regressed at the (laxer) suspicion level."""
    recheck: Recheck | None = None
    """What the gate did beyond the first measurement: more rounds, re-measures."""
    baseline_sessions: int = 1
    """How many saving sessions the baseline pooled."""

    @property
    def regressed(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if c.gated and c.verdict == "regressed")

    @property
    def undecided(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if c.gated and c.verdict == "undecided")

    @property
    def is_new(self) -> bool:
        return all(c.verdict == "new" for c in self.comparisons)

    @property
    def verdict(self) -> Verdict:
        """The test's verdict: that of its worst gated metric (``new`` without a baseline)."""
        gated = {c.verdict for c in self.comparisons if c.gated}
        if self.is_new or not gated or gated == {"new"}:
            return "new"
        for verdict in ("regressed", "undecided", "improved", "inconclusive"):
            if verdict in gated:
                return verdict
        return "unchanged"

    def to_dict(self) -> dict[str, Any]:
        data = _shallow_dict(self)
        data["comparisons"] = [c.to_dict() for c in self.comparisons]
        data["suspected"] = list(self.suspected)
        data["recheck"] = self.recheck.to_dict() if self.recheck is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestComparison:
        known = _field_names(cls)
        values = {key: value for key, value in data.items() if key in known}
        values["comparisons"] = tuple(Comparison.from_dict(c) for c in data["comparisons"])
        values["suspected"] = tuple(data.get("suspected", ()))
        recheck = data.get("recheck")
        values["recheck"] = Recheck.from_dict(recheck) if recheck else None
        return cls(**values)


def metric_alpha(test_alpha: float, tested_metrics: int) -> float:
    """A gated metric's share of its test's false-alarm budget (Bonferroni)."""
    return test_alpha / max(1, tested_metrics)


def suspicion_alpha(alpha: float) -> float:
    """The laxer level at which a metric is re-measured before it may fail the test.

    Failing needs the fresh rounds alone to reject at ``alpha``, which bounds the false-alarm
    rate whatever this level is; being laxer here only buys power (a real regression that
    narrowly missed ``alpha`` in the first measurement gets a second chance), at the price of
    a re-measurement now and then.
    """
    return min(0.05, math.sqrt(alpha))


def compare_metric(
    baseline: Sequence[float],
    current: Sequence[float],
    *,
    higher_is_better: bool,
    threshold: float,
    alpha: float,
    metric: str = "",
    unit: str = "",
    gated: bool = True,
    drift: float = 1.0,
) -> Comparison:
    """Compare one metric's per-round values with its baseline's.

    ``drift`` (a ratio >= 1) widens the margin: worse (or better) by more than
    ``(1 + threshold) * drift``, for a baseline whose sessions drift apart.
    """
    x, y = _Sample(baseline), _Sample(current)
    question = _Question(x, y, higher_is_better, threshold, alpha, metric, unit, gated, drift)
    return _compare_all([question])[0]


class _Sample:
    """One side's per-round values of a metric, and what comparing them derives, once.

    A baseline's samples are kept across the looks at the same test (:class:`BaselineSamples`).
    """

    __slots__ = ("_logs", "_variance", "constant", "median", "positive", "values")

    def __init__(self, values: Sequence[float]) -> None:
        self.values = list(map(float, values))
        self.median: float | None = None
        self.constant = self.positive = False
        count = len(self.values)
        first = self.values[0] if count else math.nan
        # most metrics of a test are constant (tokens, calls, cost): no sort for those.
        # count() matches by identity or ==; with ``first`` not nan, that is all(v == first)
        if not math.isnan(first) and self.values.count(first) == count:
            # all equal, so a stable sort would leave them in place (zeros keep their signs)
            half = count // 2
            values = self.values
            self.median = values[half] if count % 2 else (values[half - 1] + values[half]) / 2
            self.constant = True
            self.positive = first > 0
        elif self.values:
            ordered = sorted(self.values)
            half = len(ordered) // 2
            # statistics.median's own arithmetic, on the list sorted once
            self.median = (
                ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2
            )
            self.positive = min(self.values) > 0
        self._logs: dict[float, list[float]] = {}
        self._variance: float | None = None

    def __len__(self) -> int:
        return len(self.values)

    def logs(self, sign: float) -> list[float]:
        """The log values times ``sign`` (1: larger is worse; -1: smaller is)."""
        found = self._logs.get(sign)
        if found is None:
            found = list(map(math.log, self.values))
            if sign < 0:  # exactly sign * log(v)
                found = [-v for v in found]
            self._logs[sign] = found
        return found

    def log_variance(self) -> float:
        """The sample variance of the log values (the same for either sign)."""
        if self._variance is None:
            self._variance = exact_variance(self.logs(1.0))
        return self._variance


class BaselineSamples:
    """A baseline result's per-metric samples, prepared once for every look at its test.

    The gate compares a test again after each batch of extra rounds, always with the same
    baseline: its values, their logs and their sorted order are the same each time.
    """

    __slots__ = ("_samples", "result")

    def __init__(self, result: TestResult) -> None:
        self.result = result
        self._samples: dict[str, _Sample] = {}

    def samples(self, metrics: Sequence[str]) -> list[_Sample]:
        """The samples of ``metrics``, preparing those not prepared yet."""
        missing = [name for name in metrics if name not in self._samples]
        if missing:
            for name, values in _columns(self.result, missing).items():
                self._samples[name] = _Sample(values)
        return [self._samples[name] for name in metrics]


def _columns(result: TestResult, metrics: Sequence[str]) -> dict[str, list[float]]:
    """Each metric's per-round values, as ``result.values`` gives them, in one pass."""
    if result.columns is not None:  # held by metric already (a baseline's result)
        return {name: result.values(name) for name in metrics}
    if not metrics or not result.rounds:
        return {name: result.values(name) for name in metrics}
    get = itemgetter(*metrics)
    try:
        rows = [get(r) for r in result.rounds]
    except KeyError:  # some round lacks some metric: one metric at a time
        return {name: result.values(name) for name in metrics}
    columns = zip(*rows, strict=True) if len(metrics) > 1 else ((*rows,),)
    return {
        name: [v for v in column if v is not None] if None in column else list(column)
        for name, column in zip(metrics, columns, strict=True)
    }


class _Question(NamedTuple):
    """One metric to compare: both sides' samples and how to judge them."""

    x: _Sample
    y: _Sample
    higher_is_better: bool
    threshold: float
    alpha: float
    metric: str
    unit: str
    gated: bool
    drift: float

    def answer(
        self,
        verdict: Verdict,
        ratio: float | None,
        bounds: tuple[float | None, float | None],
        test: tuple[float | None, float | None, str],
        rounds_needed: int | None = None,
    ) -> Comparison:
        """Its Comparison: this question's fields, and the verdict's; ``test`` is (p-value,
        alpha, method).

        The same instance as ``Comparison(...)`` with these fields, built without a dict of
        shared fields, keyword unpacking and the frozen dataclass's ``object.__setattr__``
        call per field: a quarter of the cost, for one Comparison per metric per test.
        """
        made = object.__new__(Comparison)
        made.__dict__.update(
            metric=self.metric,
            verdict=verdict,
            gated=self.gated,
            unit=self.unit,
            higher_is_better=self.higher_is_better,
            threshold=self.threshold,
            n_baseline=len(self.x),
            n_current=len(self.y),
            baseline_median=self.x.median,
            current_median=self.y.median,
            ratio=ratio,
            ratio_low=bounds[0],
            ratio_high=bounds[1],
            pvalue=test[0],
            alpha=test[1],
            method=test[2],
            rounds_needed=rounds_needed,
            drift=self.drift if self.drift > 1.0 else None,
        )
        return made

    @property
    def sign(self) -> float:
        return -1.0 if self.higher_is_better else 1.0  # oriented: larger is worse

    @property
    def margin(self) -> float:
        return math.log1p(self.threshold) + math.log(self.drift if self.drift > 1.0 else 1.0)


def _compare_all(questions: Sequence[_Question]) -> list[Comparison]:
    """Each question's Comparison; the rank tests of all of them on log values run together."""
    answers: list[Comparison | None] = []
    logs: list[int] = []
    for q in questions:
        x, y = q.x, q.y
        if not x.values or not y.values:
            answers.append(_compare_new(q))
        elif x.constant and y.constant:
            answers.append(_compare_exactly(x.values[0], y.values[0], q))
        elif x.positive and y.positive:
            logs.append(len(answers))
            answers.append(None)
        else:
            answers.append(_compare_linear(x.values, y.values, q))
    if logs:
        from ..stats.margin import margin_tests

        tests = margin_tests(
            [
                (
                    questions[i].x.logs(questions[i].sign),
                    questions[i].y.logs(questions[i].sign),
                    questions[i].margin,
                )
                for i in logs
            ],
            CONFIDENCE,
        )
        for i, test in zip(logs, tests, strict=True):
            answers[i] = _compare_logs(questions[i], test)
    return [a for a in answers if a is not None]


def _compare_new(q: _Question) -> Comparison:
    method = "no baseline" if not q.x.values else "no current values"
    return q.answer("new", None, (None, None), (None, None, method))


def _compare_exactly(x0: float, y0: float, q: _Question) -> Comparison:
    """Both samples constant: the change is known exactly, no test is needed."""
    limit = (1.0 + q.threshold) * (q.drift if q.drift > 1.0 else 1.0)
    ratio = y0 / x0 if x0 else None
    if x0 == y0:
        verdict: Verdict = "unchanged"
    elif x0 == 0 or y0 == 0:
        grew = y0 > x0
        verdict = "regressed" if grew != q.higher_is_better else "improved"
    else:
        assert ratio is not None
        worse = ratio if not q.higher_is_better else 1.0 / ratio
        verdict = "regressed" if worse > limit else "improved" if worse < 1 / limit else "unchanged"
    return q.answer(verdict, ratio, (ratio, ratio), (None, None, "exact (no variation)"))


def _verdict(test: MarginTest, margin: float, alpha: float) -> tuple[Verdict, float]:
    """regressed / improved / unchanged / inconclusive, and the p-value that says so, for
    oriented samples (larger is worse) tested against a margin."""
    if test.p_greater < alpha:
        return "regressed", test.p_greater
    if test.p_less < alpha:
        return "improved", test.p_less
    if -margin < test.low and test.high < margin:
        return "unchanged", test.p_greater
    return "inconclusive", test.p_greater


def _compare_logs(q: _Question, test: MarginTest) -> Comparison:
    x, y, sign, margin, alpha = q.x, q.y, q.sign, q.margin, q.alpha
    verdict, pvalue = _verdict(test, margin, alpha)
    rounds_needed = None
    if verdict in ("inconclusive", "regressed"):
        # pooled standard deviation of the log values: the noise the rounds fight against
        spread = math.sqrt(
            ((len(x) - 1) * x.log_variance() + (len(y) - 1) * y.log_variance())
            / max(1, len(x) + len(y) - 2)
        )
        distance = abs(test.shift) - margin
        if spread > 0 and distance > 0:  # looks changed: how many rounds to show it
            rounds_needed = rounds_needed_hint(distance / spread, alpha)
        elif spread > 0:  # looks unchanged: how many rounds to show it is within the margin
            rounds_needed = rounds_needed_hint(-distance / spread, (1 - CONFIDENCE) / 2)
    low, high = sorted((math.exp(sign * test.low), math.exp(sign * test.high)))
    return q.answer(
        verdict,
        math.exp(sign * test.shift),
        (low, high),
        (pvalue, alpha, f"mann-whitney {test.method}"),
        rounds_needed,
    )


def _compare_linear(x: list[float], y: list[float], q: _Question) -> Comparison:
    """Values at or below zero (custom metrics): an additive margin instead of a ratio."""
    alpha = q.alpha
    sign = -1.0 if q.higher_is_better else 1.0
    scale = abs(statistics.median(x)) or max(abs(v) for v in x + y)
    widened = (1.0 + q.threshold) * (q.drift if q.drift > 1.0 else 1.0) - 1.0
    from ..stats.margin import margin_test

    margin = widened * scale
    test = margin_test([sign * v for v in x], [sign * v for v in y], margin, CONFIDENCE)
    verdict, pvalue = _verdict(test, margin, alpha)
    median_x = statistics.median(x)
    return q.answer(
        verdict,
        statistics.median(y) / median_x if median_x else None,
        (None, None),
        (pvalue, alpha, f"mann-whitney {test.method}, linear scale (values <= 0)"),
    )


def _tested(samples: Mapping[str, tuple[_Sample, _Sample]], metrics: Iterable[str]) -> int:
    """How many of ``metrics`` will be tested statistically (they spend the budget)."""
    count = 0
    for name in metrics:
        x, y = samples[name]
        if x.values and y.values and not (x.constant and y.constant):
            count += 1
    return count


def _suspected(comparisons: Sequence[Comparison], lax: float) -> tuple[str, ...]:
    """Gated metrics that regressed, or look worse at the laxer suspicion level ``lax``."""
    return tuple(
        c.metric
        for c in comparisons
        if c.gated
        and (
            c.verdict == "regressed"
            or (c.pvalue is not None and c.verdict != "improved" and c.pvalue < lax)
        )
    )


@lru_cache(maxsize=256)
def _policy(
    settings: TestSettings, metrics: tuple[tuple[str, MetricKind], ...]
) -> tuple[frozenset[str], Mapping[str, float]]:
    """Which of ``metrics`` (name, kind) are gated, and each one's threshold.

    The same for every look at a test and for most tests of a session, and its patterns are
    matched name by name, so it is worked out once per settings and set of metrics.
    """
    gated = frozenset(
        name for name, kind in metrics if settings.gates(name, custom=kind == "custom")
    )
    return gated, {name: settings.threshold.for_metric(name, kind) for name, kind in metrics}


def compare_test(
    baseline: TestResult | None,
    current: TestResult,
    settings: TestSettings,
    test_alpha: float,
    *,
    provenance: Provenance | None = None,
    drift: Mapping[str, float] | None = None,
    prepared: BaselineSamples | None = None,
) -> TestComparison:
    """Compare every metric of ``current`` with ``baseline`` (None: the test is new).

    Gated metrics share ``test_alpha``; the others are compared at the same level, for the
    reports only. ``provenance`` says where the baseline came from, for the messages;
    ``drift`` maps metrics to their between-session drift allowance (see compare_metric).
    ``prepared`` holds the baseline's samples prepared by an earlier look at the same test
    (used when it was prepared from this very ``baseline``).
    """
    gated, thresholds = _policy(
        settings, tuple((name, info.kind) for name, info in current.infos.items())
    )
    if baseline is None:
        comparisons = tuple(
            _new(name, current, settings, gated=name in gated) for name in sorted(current.infos)
        )
        return TestComparison(current.nodeid, comparisons, test_alpha)
    if prepared is None or prepared.result is not baseline:
        prepared = BaselineSamples(baseline)
    names = list(current.infos)
    current_values = _columns(current, names)
    samples = {
        name: (x, _Sample(current_values[name]))
        for name, x in zip(names, prepared.samples(names), strict=True)
    }
    alpha = metric_alpha(test_alpha, _tested(samples, gated))
    questions = []
    for name in sorted(current.infos):
        x, y = samples[name]
        if not y.values:
            continue
        info = current.infos[name]
        questions.append(
            _Question(
                x,
                y,
                higher_is_better=info.higher_is_better,
                threshold=thresholds[name],
                alpha=alpha,
                metric=name,
                unit=info.unit,
                gated=name in gated,
                drift=(drift or {}).get(name, 1.0),
            )
        )
    results = _compare_all(questions)
    suspected = _suspected(results, suspicion_alpha(alpha))
    origin = provenance or Provenance(None, None, None, stale=False)
    return TestComparison(
        current.nodeid,
        tuple(results),
        test_alpha,
        baseline_saved_at=origin.saved_at,
        baseline_origin=origin.origin,
        baseline_age_s=origin.age_s,
        stale=origin.stale,
        suspected=suspected,
    )


def _new(name: str, current: TestResult, settings: TestSettings, *, gated: bool) -> Comparison:
    info = current.infos[name]
    return compare_metric(
        [],
        current.values(name),
        higher_is_better=info.higher_is_better,
        threshold=settings.threshold.for_metric(name, info.kind),
        alpha=1.0,
        metric=name,
        unit=info.unit,
        gated=gated,
    )
