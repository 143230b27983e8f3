"""The gate's decisions on synthetic samples: known answers, every verdict, and simulation."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from fakes import TIME, TOKENS
from scipy import stats as scipy_stats

from pytest_perfbaseline.gate.compare import (
    Recheck,
    TestComparison,
    compare_metric,
    compare_test,
    metric_alpha,
    suspicion_alpha,
)
from pytest_perfbaseline.gate.confirm import MachineState, confirm
from pytest_perfbaseline.gate.messages import failure_message
from pytest_perfbaseline.gate.settings import TestSettings, Threshold
from pytest_perfbaseline.metrics.names import MetricInfo
from pytest_perfbaseline.metrics.result import TestResult


def lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> list[float]:
    return [float(v) for v in np.exp(rng.normal(math.log(median), sigma, n))]


def result(
    nodeid: str, columns: dict[str, list[float]], infos: dict[str, MetricInfo]
) -> TestResult:
    n = len(next(iter(columns.values())))
    return TestResult(
        nodeid=nodeid,
        rounds=tuple({m: columns[m][i] for m in columns} for i in range(n)),
        infos=infos,
        itl_histogram=(),
        itl_pooled=None,
        token_sources={},
        rounds_requested=n,
        warmup=1,
        implicit=False,
    )


# -- one metric ----------------------------------------------------------------------------


def test_p_value_is_the_exact_threshold_shifted_mann_whitney() -> None:
    rng = np.random.default_rng(7)
    x = lognormal(rng, 0.100, 0.05, 12)
    y = lognormal(rng, 0.125, 0.05, 12)
    c = compare_metric(x, y, higher_is_better=False, threshold=0.10, alpha=0.01)
    shifted = np.log(y) - math.log1p(0.10)
    expected = scipy_stats.mannwhitneyu(
        shifted, np.log(x), alternative="greater", method="exact"
    ).pvalue
    assert c.pvalue == pytest.approx(expected, rel=1e-9)
    assert c.method == "mann-whitney exact"


def test_fully_separated_ten_rounds_give_the_exact_minimum_p() -> None:
    x = [1.0 + i / 100 for i in range(10)]
    y = [3.0 + i / 100 for i in range(10)]  # every current round > 1.1x every baseline round
    c = compare_metric(x, y, higher_is_better=False, threshold=0.10, alpha=1e-4)
    assert c.pvalue == pytest.approx(1 / math.comb(20, 10))  # 5.41e-6, not the normal 9e-5
    assert c.verdict == "regressed"


def test_a_clear_slowdown_regresses_with_its_ratio_and_interval() -> None:
    rng = np.random.default_rng(1)
    x = lognormal(rng, 0.100, 0.03, 20)
    y = lognormal(rng, 0.200, 0.03, 20)
    c = compare_metric(x, y, higher_is_better=False, threshold=0.10, alpha=0.001, metric="ttft_s")
    assert c.verdict == "regressed"
    assert c.ratio == pytest.approx(2.0, rel=0.05)
    assert c.ratio_low is not None
    assert c.ratio_high is not None
    assert c.ratio_low < c.ratio < c.ratio_high
    assert c.ratio_low > 1.1  # the whole interval is beyond the threshold
    assert (c.n_baseline, c.n_current) == (20, 20)
    assert c.baseline_median == pytest.approx(np.median(x))


def test_a_clear_speedup_is_improved() -> None:
    rng = np.random.default_rng(2)
    x = lognormal(rng, 0.100, 0.03, 15)
    y = lognormal(rng, 0.050, 0.03, 15)
    c = compare_metric(x, y, higher_is_better=False, threshold=0.10, alpha=0.001)
    assert c.verdict == "improved"
    assert c.ratio == pytest.approx(0.5, rel=0.05)


def test_higher_is_better_is_oriented() -> None:
    rng = np.random.default_rng(3)
    x = lognormal(rng, 200.0, 0.03, 15)  # tokens per second halved: a regression
    y = lognormal(rng, 100.0, 0.03, 15)
    c = compare_metric(x, y, higher_is_better=True, threshold=0.10, alpha=0.001)
    assert c.verdict == "regressed"
    assert c.ratio == pytest.approx(0.5, rel=0.05)  # still current / baseline
    d = compare_metric(y, x, higher_is_better=True, threshold=0.10, alpha=0.001)
    assert d.verdict == "improved"


def test_small_noise_within_the_threshold_is_unchanged() -> None:
    rng = np.random.default_rng(4)
    x = lognormal(rng, 0.100, 0.01, 20)
    y = lognormal(rng, 0.102, 0.01, 20)
    c = compare_metric(x, y, higher_is_better=False, threshold=0.10, alpha=0.001)
    assert c.verdict == "unchanged"
    assert c.ratio_low is not None
    assert c.ratio_high is not None
    assert c.ratio_low > 1 / 1.1
    assert c.ratio_high < 1.1
    assert c.pvalue is not None
    assert c.pvalue > 0.001


def test_too_noisy_is_inconclusive_with_the_rounds_needed() -> None:
    rng = np.random.default_rng(5)
    x = lognormal(rng, 0.100, 0.30, 5)
    y = lognormal(rng, 0.100, 0.30, 5)
    c = compare_metric(x, y, higher_is_better=False, threshold=0.10, alpha=0.001)
    assert c.verdict == "inconclusive"
    assert c.rounds_needed is not None
    assert c.rounds_needed > 5


@pytest.mark.parametrize(
    ("before", "after", "higher", "verdict"),
    [
        (32, 40, False, "regressed"),  # +25% > 5%
        (32, 33, False, "unchanged"),  # +3.1% < 5%
        (32, 16, False, "improved"),
        (0, 3, False, "regressed"),  # from nothing to something
        (3, 0, False, "improved"),
        (0, 0, False, "unchanged"),
        (100, 80, True, "regressed"),  # higher is better and it dropped 20%
    ],
)
def test_metrics_constant_in_both_samples_are_compared_exactly(
    before: float, after: float, higher: bool, verdict: str
) -> None:
    c = compare_metric(
        [before] * 10, [after] * 10, higher_is_better=higher, threshold=0.05, alpha=1e-6
    )
    assert c.verdict == verdict
    assert c.pvalue is None
    assert c.method == "exact (no variation)"
    assert c.ratio == (after / before if before else None)


def test_zero_and_negative_values_are_compared_on_a_linear_scale() -> None:
    x = [-1.0, 0.0, 1.0, -0.5, 0.5] * 4
    y = [v + 10 for v in x]
    c = compare_metric(x, y, higher_is_better=False, threshold=0.10, alpha=0.01)
    assert c.verdict == "regressed"
    assert "linear scale" in c.method


def test_no_baseline_values_make_the_metric_new() -> None:
    c = compare_metric([], [1.0, 2.0], higher_is_better=False, threshold=0.1, alpha=0.01)
    assert c.verdict == "new"
    assert c.baseline_median is None
    assert c.current_median == 1.5


def test_inconclusive_rounds_needed_matches_the_exact_power_calculation() -> None:
    from pytest_perfbaseline.gate.rounds import rounds_needed_hint as _rounds_needed
    from pytest_perfbaseline.stats import rounds_needed

    for effect in (0.3, 0.7, 1.5):
        for alpha in (0.025, 1e-4):
            exact = rounds_needed(
                effect, alpha=alpha, power=0.8, alternative="greater", test="mann-whitney"
            )
            assert abs((_rounds_needed(effect, alpha) or 0) - exact) <= 2


# -- one test ------------------------------------------------------------------------------


def _reference_comparison(
    x: list[float], y: list[float], higher_is_better: bool, margin: float, alpha: float
) -> tuple[str, float, float, float, float, str]:
    """The log-scale verdict from the public statistics, one call each, as the gate defines it."""
    from pytest_perfbaseline.stats import hodges_lehmann_ci, mann_whitney_u

    sign = -1.0 if higher_is_better else 1.0
    ox = [sign * math.log(v) for v in x]
    oy = [sign * math.log(v) for v in y]
    worse = mann_whitney_u(oy, ox, alternative="greater", shift=margin)
    better = mann_whitney_u(oy, ox, alternative="less", shift=-margin)
    shift, low, high = hodges_lehmann_ci(oy, ox, confidence=0.95)
    if worse.pvalue < alpha:
        verdict, p = "regressed", worse.pvalue
    elif better.pvalue < alpha:
        verdict, p = "improved", better.pvalue
    elif -margin < low and high < margin:
        verdict, p = "unchanged", worse.pvalue
    else:
        verdict, p = "inconclusive", worse.pvalue
    lo, hi = sorted((math.exp(sign * low), math.exp(sign * high)))
    return verdict, p, math.exp(sign * shift), lo, hi, f"mann-whitney {worse.method}"


def test_the_batched_comparison_gives_the_answers_of_the_separate_statistics() -> None:
    # Every metric of a test is tested together (stacked by sample sizes); each answer must
    # be exactly what the separate rank tests and interval give: with ties, one round, unequal
    # sizes, identical samples, more than 200 values (normal approximation), either direction.
    rng = np.random.default_rng(21)
    columns: dict[str, tuple[list[float], list[float]]] = {
        "a_s": (lognormal(rng, 0.1, 0.05, 10), lognormal(rng, 0.13, 0.05, 10)),
        "b_s": (lognormal(rng, 0.1, 0.05, 30), lognormal(rng, 0.1, 0.05, 30)),
        "c_s": (lognormal(rng, 0.1, 0.3, 10), lognormal(rng, 0.1, 0.3, 10)),
        "d_s": ([0.1, 0.1, 0.12, 0.12, 0.15], [0.1, 0.11, 0.11, 0.12, 0.2]),
        "e_s": ([0.2], [0.3, 0.31, 0.29]),
        "f_s": (lognormal(rng, 0.1, 0.05, 7), lognormal(rng, 0.08, 0.05, 12)),
        "g_s": ([0.1, 0.2, 0.3] * 3, [0.1, 0.2, 0.3] * 3),
        "h_s": (lognormal(rng, 0.1, 0.05, 120), lognormal(rng, 0.1, 0.05, 110)),
        "i_s": ([1.0, 1.1, 1.21, 1.331], [1.1, 1.21, 1.331, 1.4641]),  # ties after the shift
    }
    for higher_is_better in (False, True):
        info = MetricInfo("s", higher_is_better, "time")
        infos = dict.fromkeys(columns, info)
        width = max(max(len(x), len(y)) for x, y in columns.values())

        def rows(side: int, width: int = width) -> tuple[dict[str, float | None], ...]:
            return tuple(
                {m: (v[side][i] if i < len(v[side]) else None) for m, v in columns.items()}
                for i in range(width)
            )

        base = replace(result("t::a", {"a_s": [1.0]}, infos), rounds=rows(0))
        cur = replace(result("t::a", {"a_s": [1.0]}, infos), rounds=rows(1))
        tc = compare_test(base, cur, TestSettings(gate=tuple(columns)), test_alpha=0.01)
        for c in tc.comparisons:
            x, y = columns[c.metric]
            expected = _reference_comparison(x, y, higher_is_better, math.log1p(0.1), c.alpha)
            got = (c.verdict, c.pvalue, c.ratio, c.ratio_low, c.ratio_high, c.method)
            assert got == expected, c.metric
            single = compare_metric(
                x, y, higher_is_better=higher_is_better, threshold=0.1, alpha=c.alpha
            )
            assert (single.verdict, single.pvalue, single.ratio) == expected[:3]
        assert {c.method for c in tc.comparisons} == {
            "mann-whitney exact",
            "mann-whitney asymptotic",
        }


def test_the_noise_estimate_is_statistics_variance_exactly() -> None:
    import statistics

    from pytest_perfbaseline.metrics.summary import exact_variance as _var

    rng = np.random.default_rng(2)
    for n in (2, 3, 10, 31, 200):
        for scale in (1e-9, 1.0, 1e6):
            values = (rng.normal(0.0, 1.0, n) * scale).tolist()
            assert _var(values) == statistics.variance(values)
    assert _var([0.5, 0.5, 0.5]) == 0.0
    assert _var([3.0]) == 0.0


def test_a_judge_prepares_a_baseline_once_for_every_look_at_its_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fakes import ENV

    from pytest_perfbaseline.gate import compare
    from pytest_perfbaseline.gate.judge import Judge, Reference

    rng = np.random.default_rng(4)
    base = result("t::a", {"ttft_s": lognormal(rng, 0.1, 0.05, 10)}, {"ttft_s": TIME})
    looks = [
        result("t::a", {"ttft_s": lognormal(rng, 0.1, 0.2, n)}, {"ttft_s": TIME})
        for n in (10, 15, 23)
    ]
    read: list[str] = []
    columns = compare._columns

    def counting(result: TestResult, metrics: list[str]) -> dict[str, list[float]]:
        if result is base:
            read.extend(metrics)
        return columns(result, metrics)

    monkeypatch.setattr(compare, "_columns", counting)
    judge = Judge(alpha=0.01, perf_tests=1, max_age_s=None, here=ENV)
    reference = Reference(base, ENV, "p")
    answers = [judge.judge(reference, look, TestSettings()) for look in looks]
    assert read == ["ttft_s"]  # read and prepared once, for three looks
    monkeypatch.setattr(compare, "_columns", columns)
    alpha = judge.test_alpha(TestSettings())
    provenance = judge.provenance(reference)
    fresh = [
        compare_test(base, look, TestSettings(), alpha, provenance=provenance) for look in looks
    ]
    assert [a.comparisons for a in answers] == [f.comparisons for f in fresh]


def test_a_judge_describes_each_baseline_environment_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import datetime, timezone

    from fakes import ENV

    from pytest_perfbaseline.baseline.environment import age_seconds, describe_origin
    from pytest_perfbaseline.gate import judge as judge_module
    from pytest_perfbaseline.gate.judge import Judge, Reference

    described: list[str] = []

    def counting(*args: Any, **kwargs: Any) -> str:
        described.append(args[1])
        return describe_origin(*args, **kwargs)

    monkeypatch.setattr(judge_module, "describe_origin", counting)
    other = replace(ENV, saved_at="2020-01-02T03:04:05Z", cpu="another CPU")
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    judge = Judge(alpha=0.01, perf_tests=3, max_age_s=86400.0, here=ENV, now=now)
    base = result("t::a", {"ttft_s": [0.1, 0.2]}, {"ttft_s": TIME})
    references = [Reference(base, env, "p") for env in (ENV, ENV, other, ENV, other)]
    told = [judge.provenance(r) for r in references]
    assert described == ["p", "p"]  # once per environment, not once per test
    for reference, provenance in zip(references, told, strict=True):
        env = reference.environment
        assert provenance.origin == describe_origin(env, "p", ENV)
        assert provenance.age_s == age_seconds(env, now)
        assert provenance.stale == ((age_seconds(env, now) or 0) > 86400)
    # a reference read from a file says so, with the same environment
    sourced = judge.provenance(Reference(base, ENV, "p", source="a.json"))
    assert sourced.origin == describe_origin(ENV, "p", ENV) + "; a.json"


def test_a_constant_sample_s_median_is_statistics_median_to_the_sign_of_zero() -> None:
    import statistics

    from pytest_perfbaseline.gate.compare import _Sample

    nan = math.nan
    for values in (
        [-0.0, 0.0, 0.0],
        [0.0, -0.0, -0.0],
        [0.0, -0.0],
        [-0.0, 0.0, -0.0, 0.0],
        [2.5] * 7,
        [1.7e308, 1.7e308],
        [1.0, nan, 1.0],
        [nan, nan],
        [nan],
        [3.0, 1.0, 2.0],
    ):
        sample = _Sample(values)
        expected = statistics.median(values)
        assert sample.median is not None
        if math.isnan(expected):
            assert math.isnan(sample.median)
        else:
            assert sample.median == expected
            assert math.copysign(1, sample.median) == math.copysign(1, expected), values
        assert sample.constant == all(v == values[0] for v in values), values
        assert sample.positive == (min(values) > 0), values
    empty = _Sample([])
    assert (empty.median, empty.constant, empty.positive) == (None, False, False)


def test_all_columns_at_once_are_each_metric_s_values() -> None:
    from pytest_perfbaseline.gate.compare import _columns

    infos = {"a_s": TIME, "b_s": TIME, "c_s": TIME}
    full = result("t::a", {"a_s": [1.0, 2.0], "b_s": [3.0, 4.0], "c_s": [5.0, 6.0]}, infos)
    holes = replace(full, rounds=({"a_s": 1.0, "b_s": None, "c_s": 5.0}, {"a_s": 2.0, "b_s": 4.0}))
    for res in (full, holes, replace(full, rounds=())):
        for names in (["a_s", "b_s", "c_s"], ["c_s"], ["b_s", "a_s"], []):
            assert _columns(res, names) == {name: res.values(name) for name in names}


def test_gated_metrics_share_the_test_budget_and_constant_ones_spend_none() -> None:
    rng = np.random.default_rng(6)
    infos = {"ttft_s": TIME, "tpot_s": TIME, "e2e_s": TIME, "output_tokens": TOKENS}
    columns = {m: lognormal(rng, 0.1, 0.05, 10) for m in ("ttft_s", "tpot_s", "e2e_s")}
    base = result("t::a", {**columns, "output_tokens": [32.0] * 10}, infos)
    columns = {m: lognormal(rng, 0.1, 0.05, 10) for m in ("ttft_s", "tpot_s", "e2e_s")}
    cur = result("t::a", {**columns, "output_tokens": [32.0] * 10}, infos)
    settings = TestSettings(gate=("ttft_s", "tpot_s", "output_tokens"))
    tc = compare_test(base, cur, settings, test_alpha=0.01)
    by_name = {c.metric: c for c in tc.comparisons}
    # two statistically tested gated metrics (output_tokens is constant): 0.01 / 2 each
    assert by_name["ttft_s"].alpha == pytest.approx(0.005)
    assert by_name["tpot_s"].alpha == pytest.approx(0.005)
    assert by_name["e2e_s"].alpha == pytest.approx(0.005)  # compared for reports at that level
    assert [by_name[m].gated for m in ("ttft_s", "e2e_s", "output_tokens")] == [True, False, True]
    assert by_name["output_tokens"].verdict == "unchanged"
    assert tc.regressed == ()
    assert metric_alpha(0.01, 0) == 0.01


def test_thresholds_are_looked_up_per_metric_and_kind() -> None:
    infos = {"ttft_s": TIME, "output_tokens": TOKENS}
    base = result("t::a", {"ttft_s": [1.0] * 5, "output_tokens": [100.0] * 5}, infos)
    cur = result("t::a", {"ttft_s": [1.08] * 5, "output_tokens": [108.0] * 5}, infos)
    tc = compare_test(base, cur, TestSettings(), test_alpha=0.01)
    by_name = {c.metric: c for c in tc.comparisons}
    assert by_name["ttft_s"].verdict == "unchanged"  # +8% within the 10% for times
    assert by_name["output_tokens"].verdict == "regressed"  # +8% beyond the 5% for counts
    loose = TestSettings(threshold=Threshold(per_metric=(("output_tokens", 0.10),)))
    assert {c.metric: c.verdict for c in compare_test(base, cur, loose, 0.01).comparisons} == {
        "ttft_s": "unchanged",
        "output_tokens": "unchanged",
    }


def test_a_test_without_baseline_is_new_throughout() -> None:
    cur = result("t::a", {"ttft_s": [1.0, 1.1]}, {"ttft_s": TIME})
    tc = compare_test(None, cur, TestSettings(), test_alpha=0.01)
    assert tc.is_new
    assert [c.verdict for c in tc.comparisons] == ["new"]


def test_suspicion_is_laxer_than_failing() -> None:
    assert suspicion_alpha(1e-4) == pytest.approx(0.01)
    assert suspicion_alpha(0.01) == 0.05
    # a 25% slowdown at high noise with 8 rounds: p lands between alpha_m and the suspicion level
    for seed in range(200):
        rng = np.random.default_rng(seed)
        base = result("t::a", {"ttft_s": lognormal(rng, 0.1, 0.08, 8)}, {"ttft_s": TIME})
        cur = result("t::a", {"ttft_s": lognormal(rng, 0.125, 0.08, 8)}, {"ttft_s": TIME})
        tc = compare_test(base, cur, TestSettings(gate=("ttft_s",)), test_alpha=1e-4)
        (c,) = tc.comparisons
        if c.verdict != "regressed" and c.pvalue is not None and c.pvalue < suspicion_alpha(1e-4):
            assert tc.suspected == ("ttft_s",)
            assert tc.regressed == ()
            break
    else:
        pytest.fail("no seed produced a suspicion short of a regression")


def _tc(verdicts: dict[str, str], suspected: tuple[str, ...] = ()) -> TestComparison:
    comparisons = tuple(
        compare_metric([1.0] * 3, [1.0] * 3, higher_is_better=False, threshold=0.1, alpha=0.01)
        for _ in verdicts
    )
    comparisons = tuple(
        replace(c, metric=m, verdict=v, pvalue=0.001)  # type: ignore[arg-type]
        for c, (m, v) in zip(comparisons, verdicts.items(), strict=True)
    )
    return TestComparison("t::a", comparisons, 0.01, suspected=suspected)


def test_confirmation_keeps_only_regressions_that_were_suspected() -> None:
    first = _tc({"ttft_s": "regressed", "tpot_s": "unchanged"}, suspected=("ttft_s",))
    fresh = _tc({"ttft_s": "regressed", "tpot_s": "regressed"})
    confirmed = confirm(first, fresh, MachineState(), Recheck())
    assert confirmed.recheck is not None
    assert confirmed.recheck.confirmation == "confirmed"
    assert [c.metric for c in confirmed.regressed] == ["ttft_s"]  # tpot_s was not suspected
    assert dict(confirmed.recheck.first_pvalues) == {"ttft_s": 0.001}

    calm = confirm(
        first, _tc({"ttft_s": "unchanged", "tpot_s": "unchanged"}), MachineState(), Recheck()
    )
    assert calm.recheck is not None
    assert calm.recheck.confirmation == "not confirmed"
    assert calm.regressed == ()


def test_failure_message_explains_itself() -> None:
    rng = np.random.default_rng(9)
    base = result(
        "tests/test_x.py::test_a", {"ttft_s": lognormal(rng, 0.05, 0.02, 10)}, {"ttft_s": TIME}
    )
    cur = result(
        "tests/test_x.py::test_a", {"ttft_s": lognormal(rng, 0.08, 0.02, 10)}, {"ttft_s": TIME}
    )
    tc = compare_test(base, cur, TestSettings(gate=("ttft_s",)), test_alpha=0.01)
    tc = replace(
        tc,
        baseline_saved_at="2026-11-18T10:00:00Z",
        baseline_origin="commit 1a2b3c4d5e6f, profile ci",
        baseline_age_s=3 * 86400,
        stale=True,
    )
    message = failure_message(tc)
    assert message.splitlines()[0] == "performance regression in tests/test_x.py::test_a"
    for fragment in (
        "ttft_s: ",
        " ms -> ",
        "(median; lower is better)",
        "threshold 10%",
        "< alpha 0.01",
        "10 baseline vs 10 current rounds",
        "saved 2026-11-18T10:00:00Z, 3 days old -- stale",
        "commit 1a2b3c4d5e6f, profile ci",
        "pytest --perf-baseline=save",
    ):
        assert fragment in message, fragment


def test_serialisation_round_trip() -> None:
    tc = _tc({"ttft_s": "regressed"}, suspected=("ttft_s",))
    assert TestComparison.from_dict(tc.to_dict()) == tc


def test_serialised_form_is_the_dataclasses_builtins() -> None:
    # to_dict reads the fields directly rather than through dataclasses.asdict (which copies
    # every nested value first); the form must stay what asdict gave.
    from dataclasses import asdict

    recheck = Recheck(extra_rounds=5, looks=2, first_pvalues={"ttft_s": 1e-4}, budget="x")
    tc = replace(_tc({"ttft_s": "regressed"}, suspected=("ttft_s",)), recheck=recheck)
    expected = asdict(tc)
    expected["comparisons"] = [asdict(c) for c in tc.comparisons]
    expected["suspected"] = list(tc.suspected)
    for c in expected["comparisons"]:
        if c["ratio_high"] is not None and math.isinf(c["ratio_high"]):
            c["ratio_high"] = None
    assert tc.to_dict() == expected
    assert list(tc.to_dict()) == list(expected)  # the same order of keys
    assert TestComparison.from_dict(tc.to_dict()) == tc


# -- simulation ----------------------------------------------------------------------------


def test_session_false_alarms_stay_under_alpha_and_a_30_percent_shift_is_caught() -> None:
    """Sessions of 8 tests x 3 gated time metrics, 10 rounds, 5% noise, 3% session drift."""
    rng = np.random.default_rng(2026)
    tests, rounds, sigma, alpha = 8, 10, 0.05, 0.01
    settings = TestSettings(gate=("a_s", "b_s", "c_s"))
    infos = dict.fromkeys(("a_s", "b_s", "c_s"), TIME)

    def session(slow_test: int | None) -> tuple[bool, bool]:
        drift = rng.normal(0, 0.03)  # the whole session runs a little faster or slower
        any_failed = slow_failed = False
        for t in range(tests):
            base = result("t", {m: lognormal(rng, 0.1, sigma, rounds) for m in infos}, infos)
            factor = math.exp(drift) * (1.3 if t == slow_test else 1.0)
            cur_cols = {m: lognormal(rng, 0.1 * factor, sigma, rounds) for m in infos}
            if t == slow_test:  # only metric a_s slows down by 30%
                cur_cols["b_s"] = lognormal(rng, 0.1 * math.exp(drift), sigma, rounds)
                cur_cols["c_s"] = lognormal(rng, 0.1 * math.exp(drift), sigma, rounds)
            tc = compare_test(base, result("t", cur_cols, infos), settings, alpha / tests)
            failed = bool(tc.regressed)
            any_failed |= failed
            slow_failed |= failed and t == slow_test
        return any_failed, slow_failed

    false_alarms = sum(session(None)[0] for _ in range(150))
    assert false_alarms / 150 <= alpha  # in fact 0 expected: the margin absorbs the drift
    detected = sum(session(3)[1] for _ in range(60))
    assert detected / 60 >= 0.9


# -- a busy machine is not a regression -----------------------------------------------------


def _regressed(ratio: float, unit: str = "s") -> TestComparison:
    rng = np.random.default_rng(11)
    info = MetricInfo(unit, False, "time" if unit == "s" else "count")
    base = result("t::a", {"m": lognormal(rng, 0.1, 0.02, 12)}, {"m": info})
    cur = result("t::a", {"m": lognormal(rng, 0.1 * ratio, 0.02, 12)}, {"m": info})
    tc = compare_test(base, cur, TestSettings(gate=("m",)), test_alpha=0.01)
    assert [c.verdict for c in tc.comparisons] == ["regressed"]
    return tc


def _confirm(tc: TestComparison, **state: Any) -> TestComparison:
    return confirm(tc, tc, MachineState(**state), Recheck(attempts=1))


def test_a_cpu_bound_regression_re_measured_on_a_busy_machine_is_undecided() -> None:
    # the probe ran 2.5x slower and the workload used the CPU all the time: a busy CPU can
    # explain 1.4x, so the gate cannot tell the code from the machine
    kept = _confirm(_regressed(1.4), slowdown=2.5, cpu_share=1.0, waited_s=30.0)
    assert kept.regressed == ()
    assert [c.verdict for c in kept.comparisons] == ["undecided"]
    assert kept.verdict == "undecided"
    assert kept.recheck is not None
    assert kept.recheck.confirmation == "undecided"
    assert kept.recheck.machine_slowdown == 2.5
    assert kept.recheck.explainable == pytest.approx(2.5)
    assert kept.recheck.waited_s == 30.0


def test_a_busy_cpu_does_not_excuse_a_workload_that_mostly_waits() -> None:
    # the same 1.4x, but the workload used the CPU 5% of the time: a CPU 2.5x slower
    # stretches it by 7.5% at most, so the slowdown is the code's
    kept = _confirm(_regressed(1.4), slowdown=2.5, cpu_share=0.05)
    assert [c.metric for c in kept.regressed] == ["m"]
    assert kept.recheck is not None
    assert kept.recheck.confirmation == "confirmed"
    assert kept.recheck.explainable == pytest.approx(1.075)


def test_neighbours_that_slowed_as_much_make_a_busy_machine_s_regression_undecided() -> None:
    kept = _confirm(_regressed(1.4), slowdown=2.5, cpu_share=0.05, neighbours=1.45)
    assert [c.verdict for c in kept.comparisons] == ["undecided"]
    # ... and neighbours that did not slow leave it to the CPU's share
    kept = _confirm(_regressed(1.4), slowdown=2.5, cpu_share=0.05, neighbours=1.0)
    assert [c.metric for c in kept.regressed] == ["m"]


def test_a_change_larger_than_the_machine_can_explain_fails_on_a_busy_machine() -> None:
    # a probe 2x slower cannot explain a 10x slowdown, however CPU-bound the workload
    kept = _confirm(_regressed(10.0), slowdown=2.0, cpu_share=1.0, neighbours=2.0)
    assert [c.metric for c in kept.regressed] == ["m"]


def test_a_quiet_machine_excuses_nothing() -> None:
    for slowdown in (None, 1.0, 1.2):  # within the probe's tolerance of 25%
        kept = _confirm(_regressed(1.4), slowdown=slowdown, cpu_share=1.0, neighbours=1.4)
        assert [c.metric for c in kept.regressed] == ["m"]
        assert kept.undecided == ()


def test_a_regression_not_suspected_first_is_not_failed_by_the_re_measure() -> None:
    first = replace(_regressed(1.4), suspected=())
    kept = confirm(first, _regressed(1.4), MachineState(), Recheck())
    assert [c.verdict for c in kept.comparisons] == ["inconclusive"]
    assert kept.recheck is not None
    assert kept.recheck.confirmation == "not confirmed"


def test_a_busy_machine_never_excuses_counts_or_cost() -> None:
    from pytest_perfbaseline.gate.confirm import machine_sensitive

    tokens = _regressed(1.4, unit="tokens")
    kept = _confirm(tokens, slowdown=3.0, cpu_share=1.0, neighbours=1.5)
    assert [c.metric for c in kept.regressed] == ["m"]
    (seconds,) = _regressed(1.4).comparisons
    assert machine_sensitive(seconds)
    assert not machine_sensitive(tokens.comparisons[0])


def test_every_comparison_is_a_complete_frozen_comparison() -> None:
    # The gate fills each Comparison's fields directly rather than through its constructor:
    # every path must set every field, and the instance must equal (and hash as) the one
    # the constructor makes, and stay frozen.
    from dataclasses import FrozenInstanceError, fields

    from pytest_perfbaseline.gate.compare import Comparison

    rng = np.random.default_rng(31)
    info = MetricInfo("s", False, "time")
    negative = MetricInfo("", False, "count")
    base = result(
        "t",
        {
            "logs_s": lognormal(rng, 0.1, 0.05, 12),
            "flat_s": [0.2] * 12,
            "signed": [float(v) for v in rng.normal(0, 1, 12)],
        },
        {"logs_s": info, "flat_s": info, "signed": negative},
    )
    current = result(
        "t",
        {
            "logs_s": lognormal(rng, 0.13, 0.05, 12),
            "flat_s": [0.3] * 12,
            "signed": [float(v) for v in rng.normal(0.5, 1, 12)],
            "new_s": lognormal(rng, 0.1, 0.05, 12),
        },
        {"logs_s": info, "flat_s": info, "signed": negative, "new_s": info},
    )
    settings = TestSettings(gate=("logs_s", "flat_s", "signed", "new_s"))
    comparisons = compare_test(base, current, settings, 0.01).comparisons
    names = [f.name for f in fields(Comparison)]
    assert sorted(c.method for c in comparisons) == [
        "exact (no variation)",
        "mann-whitney exact",
        "mann-whitney exact, linear scale (values <= 0)",
        "no baseline",
    ]
    for c in comparisons:
        assert sorted(vars(c)) == sorted(names)
        rebuilt = Comparison(**{name: getattr(c, name) for name in names})
        assert c == rebuilt
        assert hash(c) == hash(rebuilt)
        assert repr(c) == repr(rebuilt)
        with pytest.raises(FrozenInstanceError):
            c.verdict = "new"  # type: ignore[misc]
