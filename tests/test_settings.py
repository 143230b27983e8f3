"""Parsing and layering of settings: thresholds, gate, alpha, booleans, durations, the marker."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_perfbaseline.gate.settings import (
    DEFAULT_GATE,
    DEFAULT_ROUNDS,
    DEFAULT_WARMUP,
    SettingError,
    TestSettings,
    Threshold,
    parse_alpha,
    parse_bool,
    parse_duration,
    parse_fraction,
    parse_gate,
    parse_marker,
    parse_threshold,
)

# -- parse_fraction -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10%", 0.10),
        (" 12.5 % ", 0.125),
        ("0%", 0.0),
        ("150%", 1.5),  # a percentage may exceed 100: "50% slower or worse" is not the limit
        ("0.1", 0.1),
        (" 0.25 ", 0.25),
        ("1e-1", 0.1),
        (0.2, 0.2),
        (0, 0.0),
        (1, 1.0),
        ("1", 1.0),
    ],
)
def test_parse_fraction_accepts_percentages_and_fractions(value: object, expected: float) -> None:
    assert parse_fraction(value) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("value", ["abc", "%", "", "ten%", None, [0.1], {"x": 1}])
def test_parse_fraction_rejects_what_is_not_a_number(value: object) -> None:
    with pytest.raises(SettingError, match=r"fraction like 0\.1 or a percentage like '10%'"):
        parse_fraction(value, "my threshold")


def test_parse_fraction_names_the_setting_in_its_messages() -> None:
    with pytest.raises(SettingError, match=r"^--perf-threshold must be"):
        parse_fraction("x", "--perf-threshold")


@pytest.mark.parametrize("value", [True, False])
def test_parse_fraction_rejects_booleans(value: bool) -> None:
    with pytest.raises(SettingError, match="fraction"):
        parse_fraction(value)


@pytest.mark.parametrize("value", ["-5%", -0.1, "nan", "inf%", float("inf"), float("nan")])
def test_parse_fraction_rejects_negative_and_non_finite(value: object) -> None:
    with pytest.raises(SettingError, match="non-negative"):
        parse_fraction(value)


@pytest.mark.parametrize(
    ("value", "suggestion"), [(10, "'10%'"), ("1.5", "'1.5%'"), (25.0, "'25%'")]
)
def test_a_bare_number_above_one_is_ambiguous_and_the_message_suggests_a_percentage(
    value: object, suggestion: str
) -> None:
    with pytest.raises(SettingError, match="ambiguous") as info:
        parse_fraction(value)
    assert suggestion in str(info.value)
    assert "[0, 1]" in str(info.value)


# -- parse_threshold and Threshold ----------------------------------------------------------------


def test_a_single_value_is_the_default_for_every_metric() -> None:
    for value in ("10%", 0.1, "0.1"):
        threshold = parse_threshold(value)
        assert threshold.default == pytest.approx(0.1)
        assert threshold.per_metric == ()


def test_a_string_combines_a_default_and_per_metric_values() -> None:
    threshold = parse_threshold("15%, cost_usd=2% ,ttft_s = 0.2")
    assert threshold.default == pytest.approx(0.15)
    assert dict(threshold.per_metric) == {
        "cost_usd": pytest.approx(0.02),
        "ttft_s": pytest.approx(0.2),
    }
    # the default may come anywhere in the list
    later = parse_threshold("cost_usd=2%,15%")
    assert later.default == pytest.approx(0.15)
    assert dict(later.per_metric) == {"cost_usd": pytest.approx(0.02)}


def test_a_single_per_metric_value_needs_no_comma() -> None:
    threshold = parse_threshold("ttft_s=20%")
    assert threshold.default is None
    assert [name for name, _ in threshold.per_metric] == ["ttft_s"]
    assert threshold.for_metric("ttft_s", "time") == pytest.approx(0.2)


def test_a_dict_gives_per_metric_values_including_patterns() -> None:
    threshold = parse_threshold({"ttft_s": "20%", "planner.*": 0.3})
    assert threshold.default is None
    assert [name for name, _ in threshold.per_metric] == ["ttft_s", "planner.*"]
    assert dict(threshold.per_metric) == {
        "ttft_s": pytest.approx(0.2),
        "planner.*": pytest.approx(0.3),
    }


def test_a_threshold_passes_through_unchanged() -> None:
    threshold = Threshold(default=0.3, per_metric=(("x", 0.1),))
    assert parse_threshold(threshold) is threshold


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10%,20%", "more than one default value in '10%,20%'"),
        ("=5%", "missing metric name before '='"),
        ("ttft_s=fast", "threshold for ttft_s must be a fraction"),
        ("ttft_s=5", "threshold for ttft_s '5' is ambiguous"),
        ({"": 0.1}, "metric names must be non-empty strings"),
        ({3: 0.1}, "metric names must be non-empty strings, got 3"),
        ({"ttft_s": "x"}, r"threshold\['ttft_s'\] must be a fraction"),
        ("fast", "threshold must be a fraction"),
    ],
)
def test_parse_threshold_errors_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(SettingError, match=message):
        parse_threshold(value)


def test_precedence_is_exact_name_then_pattern_then_default_then_kind_default() -> None:
    threshold = parse_threshold("15%,*.ttft_s=30%,planner.ttft_s=20%,*=40%")
    # exact beats every pattern, even ones listed before it
    assert threshold.for_metric("planner.ttft_s", "time") == pytest.approx(0.20)
    # among patterns the first that matches wins
    assert threshold.for_metric("writer.ttft_s", "time") == pytest.approx(0.30)
    assert threshold.for_metric("cost_usd", "cost") == pytest.approx(0.40)
    # without a matching pattern the default applies
    no_catch_all = parse_threshold("15%,*.ttft_s=30%")
    assert no_catch_all.for_metric("cost_usd", "cost") == pytest.approx(0.15)
    assert no_catch_all.for_metric("ttft_s", "time") == pytest.approx(0.15)  # no dot: no match


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("time", 0.10), ("rate", 0.10), ("custom", 0.10), ("count", 0.05), ("cost", 0.05)],
)
def test_without_any_setting_the_kind_default_applies(kind: str, expected: float) -> None:
    assert Threshold().for_metric("anything", kind) == expected  # type: ignore[arg-type]
    # a per-metric value for another metric changes nothing
    only_other = parse_threshold("other=50%")
    assert only_other.for_metric("anything", kind) == expected  # type: ignore[arg-type]


def test_patterns_are_case_sensitive_fnmatch() -> None:
    threshold = parse_threshold({"agent.*.cost_usd": "1%", "phase.?.s": "7%"})
    assert threshold.for_metric("agent.planner.cost_usd", "cost") == pytest.approx(0.01)
    assert threshold.for_metric("Agent.planner.cost_usd", "cost") == 0.05
    assert threshold.for_metric("phase.a.s", "time") == pytest.approx(0.07)
    assert threshold.for_metric("phase.ab.s", "time") == 0.10


def test_over_layers_a_threshold_on_a_base() -> None:
    base = parse_threshold("20%,ttft_s=30%,cost_usd=1%")
    marker = parse_threshold("cost_usd=3%,tpot_s=4%")
    merged = marker.over(base)
    assert merged.default == pytest.approx(0.20)  # the marker says no default: the base's stays
    assert merged.for_metric("cost_usd", "cost") == pytest.approx(0.03)  # the marker wins
    assert merged.for_metric("tpot_s", "time") == pytest.approx(0.04)
    assert merged.for_metric("ttft_s", "time") == pytest.approx(0.30)  # the base's is kept
    assert [pattern for pattern, _ in merged.per_metric].count("cost_usd") == 1

    # A default in the top layer (a marker's threshold="12%") replaces the whole lower layer,
    # per-metric entries included: marker > command line > ini.
    with_default = parse_threshold("12%").over(base)
    assert with_default.default == pytest.approx(0.12)
    assert with_default.for_metric("e2e_s", "time") == pytest.approx(0.12)
    assert with_default.for_metric("ttft_s", "time") == pytest.approx(0.12)
    assert with_default.for_metric("cost_usd", "cost") == pytest.approx(0.12)

    assert Threshold().over(Threshold()) == Threshold()


def test_over_keeps_the_top_layers_patterns_first() -> None:
    base = parse_threshold({"*.ttft_s": "30%"})
    marker = parse_threshold({"planner.*": "5%"})
    # both patterns match; the top layer's comes first, so it wins
    assert marker.over(base).for_metric("planner.ttft_s", "time") == pytest.approx(0.05)
    assert base.over(marker).for_metric("planner.ttft_s", "time") == pytest.approx(0.30)


def test_describe() -> None:
    assert parse_threshold("15%,cost_usd=2%").describe() == "15%,cost_usd=2%"
    assert "default" in Threshold().describe()


# -- parse_gate ---------------------------------------------------------------------------------


def test_parse_gate_accepts_strings_lists_tuples_and_sets() -> None:
    assert parse_gate("ttft_s, cost_usd ,,") == ("ttft_s", "cost_usd")
    assert parse_gate(["ttft_s", " *.tpot_s "]) == ("ttft_s", "*.tpot_s")
    assert parse_gate(("round_s",)) == ("round_s",)
    assert parse_gate({"b", "a", "c"}) == ("a", "b", "c")  # sets have no order: sorted
    assert parse_gate("") == ()
    assert parse_gate([]) == ()


@pytest.mark.parametrize("value", [5, None, {"ttft_s": 1}, 0.1])
def test_parse_gate_rejects_other_types(value: object) -> None:
    with pytest.raises(SettingError, match="must be a list of metric names"):
        parse_gate(value)


@pytest.mark.parametrize("value", ["", ",,", " , ", [], (), ["", " "], set()])
def test_parse_gate_nonempty_refuses_a_list_that_names_nothing(value: object) -> None:
    with pytest.raises(
        SettingError,
        match=r"^--perf-gate needs at least one metric name or pattern \(like 'ttft_s,cost_usd'; "
        r"leave it out for the default gate\), got ",
    ):
        parse_gate(value, "--perf-gate", nonempty=True)


def test_parse_gate_nonempty_accepts_one_name() -> None:
    assert parse_gate(" ,ttft_s,", nonempty=True) == ("ttft_s",)


@pytest.mark.parametrize("value", [[], "", ","])
def test_marker_gate_that_names_nothing_is_refused(value: object) -> None:
    with pytest.raises(SettingError, match=r"^gate needs at least one metric name or pattern"):
        parse_marker({"gate": value}, (), TestSettings())


def test_parse_gate_rejects_non_string_items() -> None:
    with pytest.raises(SettingError, match="metric names must be strings, got 3"):
        parse_gate(["ttft_s", 3])


# -- parse_alpha, parse_bool, parse_duration ----------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(0.05, 0.05), ("0.001", 0.001), (" 0.5 ", 0.5)])
def test_parse_alpha_accepts_probabilities(value: object, expected: float) -> None:
    assert parse_alpha(value) == expected


@pytest.mark.parametrize("value", [0, 1, 0.0, 1.0, -0.1, 1.5, "abc", None, True, "nan", "inf"])
def test_parse_alpha_rejects_anything_outside_the_open_unit_interval(value: object) -> None:
    with pytest.raises(SettingError, match=r"--perf-alpha must be a probability between 0 and 1"):
        parse_alpha(value, "--perf-alpha")


@pytest.mark.parametrize("value", ["1", "true", "TRUE", " Yes ", "on", True, 1])
def test_parse_bool_true(value: object) -> None:
    assert parse_bool(value) is True


@pytest.mark.parametrize("value", ["0", "false", "No", "OFF", False, 0])
def test_parse_bool_false(value: object) -> None:
    assert parse_bool(value) is False


@pytest.mark.parametrize("value", ["maybe", "", "2", None, "y"])
def test_parse_bool_rejects_the_rest_listing_what_is_accepted(value: object) -> None:
    with pytest.raises(SettingError, match="on/off, yes/no, true/false, 1/0"):
        parse_bool(value, "perf_confirm")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("45s", 45.0),
        ("90m", 90 * 60.0),
        ("12h", 12 * 3600.0),
        ("30d", 30 * 86400.0),
        ("2w", 14 * 86400.0),
        ("1.5h", 5400.0),
        (" 30 D ", 30 * 86400.0),
    ],
)
def test_parse_duration(value: str, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "0", "never", "None", "off", None, 0])
def test_parse_duration_no_limit(value: object) -> None:
    assert parse_duration(value) is None


@pytest.mark.parametrize("value", ["30", "-1d", "5y", "d", "1.d", "ten days", "3dd"])
def test_parse_duration_rejects_bad_values(value: str) -> None:
    with pytest.raises(SettingError, match="perf_baseline_max_age must be a number with a unit"):
        parse_duration(value, "perf_baseline_max_age")


# -- parse_marker -------------------------------------------------------------------------------


def test_marker_values_are_applied_over_the_base() -> None:
    base = TestSettings(rounds=7, warmup=3, threshold=parse_threshold("20%,ttft_s=30%"))
    settings = parse_marker(
        {"rounds": 12, "warmup": "0", "threshold": "cost_usd=2%", "gate": "ttft_s", "alpha": 0.02},
        (),
        base,
    )
    assert settings.rounds == 12
    assert settings.warmup == 0
    assert settings.gate == ("ttft_s",)
    assert settings.alpha == 0.02
    assert settings.threshold.for_metric("cost_usd", "cost") == pytest.approx(0.02)
    assert settings.threshold.for_metric("ttft_s", "time") == pytest.approx(0.30)
    assert settings.threshold.for_metric("e2e_s", "time") == pytest.approx(0.20)


def test_an_empty_marker_keeps_the_base() -> None:
    base = TestSettings(rounds=7, warmup=3, alpha=0.2)
    assert parse_marker({}, (), base) == base
    assert TestSettings() == TestSettings(DEFAULT_ROUNDS, DEFAULT_WARMUP, Threshold(), DEFAULT_GATE)


def test_markers_stack_the_closest_last() -> None:
    module_level = parse_marker({"rounds": 5, "threshold": "ttft_s=30%"}, (), TestSettings())
    own = parse_marker({"warmup": 2, "threshold": "20%"}, (), module_level)
    assert (own.rounds, own.warmup) == (5, 2)
    # the test's own default threshold replaces the module's per-metric one: closest wins
    assert own.threshold.for_metric("ttft_s", "time") == pytest.approx(0.20)
    assert own.threshold.for_metric("e2e_s", "time") == pytest.approx(0.20)
    per_metric = parse_marker({"threshold": {"tpot_s": "7%"}}, (), module_level)
    assert per_metric.threshold.for_metric("ttft_s", "time") == pytest.approx(0.30)
    assert per_metric.threshold.for_metric("tpot_s", "time") == pytest.approx(0.07)


def test_positional_marker_arguments_are_rejected() -> None:
    with pytest.raises(
        SettingError,
        match=r"keyword arguments only \(alpha, gate, max_rounds, max_time, min_round_time",
    ) as info:
        parse_marker({}, (20,), TestSettings())
    assert "(20,)" in str(info.value)


def test_unknown_marker_keys_are_named() -> None:
    with pytest.raises(SettingError, match=r"^unknown key 'round' \(accepted: alpha, gate,"):
        parse_marker({"round": 3}, (), TestSettings())
    with pytest.raises(SettingError, match=r"^unknown keys 'a', 'b' \(accepted"):
        parse_marker({"b": 1, "a": 2, "rounds": 3}, (), TestSettings())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rounds": 0}, "rounds must be a whole number >= 1, got 0"),
        ({"rounds": -3}, "rounds must be a whole number >= 1, got -3"),
        ({"rounds": "many"}, "rounds must be a whole number, got 'many'"),
        ({"rounds": 2.5}, "rounds must be a whole number, got 2.5"),
        ({"rounds": True}, "rounds must be a whole number, got True"),
        ({"warmup": -1}, "warmup must be a whole number >= 0, got -1"),
        ({"warmup": None}, "warmup must be a whole number, got None"),
        ({"threshold": "fast"}, "threshold must be a fraction like 0.1"),
        ({"threshold": 5}, "threshold 5 is ambiguous"),
        ({"gate": 3}, "gate must be a list of metric names"),
        ({"gate": [None]}, "gate: metric names must be strings"),
        ({"alpha": 1}, "alpha must be a probability between 0 and 1"),
        ({"alpha": "0"}, "alpha must be a probability between 0 and 1"),
    ],
)
def test_each_bad_marker_value_has_a_clear_message(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SettingError) as info:
        parse_marker(kwargs, (), TestSettings())
    assert message in str(info.value)


def test_marker_rounds_and_warmup_accept_integer_strings() -> None:
    settings = parse_marker({"rounds": " 25 ", "warmup": "+2"}, (), TestSettings())
    assert (settings.rounds, settings.warmup) == (25, 2)


# -- TestSettings.gates ----------------------------------------------------------------------------


def test_default_gate_lists_few_metrics_and_gates_custom_metrics() -> None:
    settings = TestSettings()
    for gated in ("round_s", "ttft_s", "tpot_s", "planner.ttft_s", "writer.tpot_s", "cost_usd"):
        assert settings.gates(gated, custom=False), gated
    for ungated in ("e2e_s", "itl_p95_s", "tokens_per_s", "agent.a.cost_usd", "api_calls"):
        assert not settings.gates(ungated, custom=False), ungated
    # a custom metric (perf.metric) is gated by default, whatever its name
    assert settings.gates("answer_quality", custom=True)
    assert not settings.gates("answer_quality", custom=False)


def test_an_explicit_gate_list_is_all_that_gates() -> None:
    settings = parse_marker({"gate": ["e2e_s", "agent.*.cost_usd"]}, (), TestSettings())
    assert settings.gates("e2e_s", custom=False)
    assert settings.gates("agent.planner.cost_usd", custom=False)
    assert not settings.gates("ttft_s", custom=False)
    assert not settings.gates("cost_usd", custom=False)
    # custom metrics too need to be listed once the gate is explicit
    assert not settings.gates("answer_quality", custom=True)
    listed = parse_marker({"gate": "answer_*"}, (), TestSettings())
    assert listed.gates("answer_quality", custom=True)


def test_an_empty_gate_gates_nothing() -> None:
    # The marker and the options refuse an empty gate; the settings object alone still means it.
    settings = replace(TestSettings(), gate=())
    for metric in ("ttft_s", "cost_usd", "round_s"):
        assert not settings.gates(metric, custom=False)
    assert not settings.gates("answer_quality", custom=True)


def test_gate_patterns_are_fnmatch() -> None:
    settings = replace(TestSettings(), gate=("phase.?.s", "model.gpt-[45]*.cost_usd"))
    assert settings.gates("phase.a.s", custom=False)
    assert not settings.gates("phase.ab.s", custom=False)
    assert settings.gates("model.gpt-4o.cost_usd", custom=False)
    assert not settings.gates("model.gpt-3.5.cost_usd", custom=False)
