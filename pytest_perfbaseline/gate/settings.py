"""Parse and validate settings from the marker, the command line and the ini file.

Precedence is marker > command line > ini > default. Every parser raises
:class:`SettingError` with a message that says what was wrong and what is accepted; the
plugin adds where the value came from (the test, the option or the ini key).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the metrics machinery is not needed to parse settings at start-up
    from ..metrics.names import MetricKind

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_GATE",
    "DEFAULT_MAX_ROUNDS",
    "DEFAULT_MAX_TIME_S",
    "DEFAULT_MIN_ROUND_TIME",
    "DEFAULT_ROUNDS",
    "DEFAULT_WARMUP",
    "MARKER_KEYS",
    "SettingError",
    "TestSettings",
    "Threshold",
    "parse_alpha",
    "parse_bool",
    "parse_duration",
    "parse_fraction",
    "parse_gate",
    "parse_marker",
    "parse_max_time",
    "parse_min_round_time",
    "parse_nonnegative_int",
    "parse_positive_int",
    "parse_threshold",
]

DEFAULT_ROUNDS = 10
DEFAULT_WARMUP = 1
DEFAULT_MAX_ROUNDS = 60
"""The most rounds the gate measures of one test to decide it (first measurement included)."""
DEFAULT_MAX_TIME_S = 60.0
"""The most seconds the gate spends measuring one test to decide it (first measurement
included); the first re-measure of a suspected regression is always made."""
DEFAULT_MIN_ROUND_TIME = "5ms"
"""A round of ``perf(fn)`` shorter than this calls the workload several times (docs/metrics.md)."""
DEFAULT_MIN_ROUND_S = 0.005
DEFAULT_ALPHA = 0.01
# Times and rates are noisier than counts and cost; their practical margin is wider.
DEFAULT_DELTAS: Mapping[str, float] = {
    "time": 0.10,
    "rate": 0.10,
    "custom": 0.10,
    "count": 0.05,
    "cost": 0.05,
}
# The metrics that may fail a test unless the marker or --perf-gate says otherwise. Few and
# largely independent on purpose: every gated metric spends part of the false-alarm budget.
DEFAULT_GATE: tuple[str, ...] = (
    "round_s",
    "ttft_s",
    "tpot_s",
    "*.ttft_s",
    "*.tpot_s",
    "input_tokens",
    "output_tokens",
    "cost_usd",
)
_DEFAULT_GATE_SET = frozenset(DEFAULT_GATE)
MARKER_KEYS = (
    "alpha",
    "gate",
    "max_rounds",
    "max_time",
    "min_round_time",
    "rounds",
    "threshold",
    "warmup",
)


class SettingError(ValueError):
    """A setting's value is not acceptable; the message says what is."""


def parse_positive_int(value: Any, what: str = "value") -> int:
    number = _int(value, what)
    if number < 1:
        raise SettingError(f"{what} must be a whole number >= 1, got {value!r}")
    return number


def parse_nonnegative_int(value: Any, what: str = "value") -> int:
    number = _int(value, what)
    if number < 0:
        raise SettingError(f"{what} must be a whole number >= 0, got {value!r}")
    return number


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise SettingError(f"{what} must be a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise SettingError(f"{what} must be a whole number, got {value!r}")


def parse_fraction(value: Any, what: str = "threshold") -> float:
    """A relative change: ``"10%"``, ``"0.1"`` or ``0.1``. A bare number must lie in [0, 1]."""
    if isinstance(value, bool):
        raise SettingError(f"{what} must be a fraction like 0.1 or a percentage like '10%'")
    if isinstance(value, (int, float)):
        number = float(value)
        percent = False
    elif isinstance(value, str):
        text = value.strip()
        percent = text.endswith("%")
        try:
            number = float(text[:-1] if percent else text)
        except ValueError:
            raise SettingError(
                f"{what} must be a fraction like 0.1 or a percentage like '10%', got {value!r}"
            ) from None
    else:
        raise SettingError(
            f"{what} must be a fraction like 0.1 or a percentage like '10%', got {value!r}"
        )
    if not math.isfinite(number) or number < 0:
        raise SettingError(f"{what} must be a non-negative fraction or percentage, got {value!r}")
    if percent:
        return number / 100.0
    if number > 1:
        raise SettingError(
            f"{what} {value!r} is ambiguous: write a fraction in [0, 1] like 0.1, or a "
            f"percentage like '{number:g}%'"
        )
    return number


@dataclass(frozen=True)
class Threshold:
    """Practical margins ("delta"): one for every metric, and per metric-name patterns."""

    default: float | None = None
    per_metric: tuple[tuple[str, float], ...] = ()

    def for_metric(self, name: str, kind: MetricKind) -> float:
        """The most specific setting wins: an exact name, then a pattern, then the default."""
        for pattern, delta in self.per_metric:
            if pattern == name:
                return delta
        for pattern, delta in self.per_metric:
            if fnmatchcase(name, pattern):
                return delta
        if self.default is not None:
            return self.default
        return DEFAULT_DELTAS[kind]

    def over(self, base: Threshold) -> Threshold:
        """This threshold layered on top of ``base`` (a lower layer: ini, command line).

        A default here replaces all of ``base``: ``threshold="30%"`` on a marker means 30%
        for every metric of that test, whatever the command line said per metric. Without a
        default, this layer's per-metric entries are added in front of ``base``'s.
        """
        if self.default is not None:
            return self
        mine = {pattern for pattern, _ in self.per_metric}
        return Threshold(
            default=base.default,
            per_metric=self.per_metric + tuple(p for p in base.per_metric if p[0] not in mine),
        )

    def describe(self) -> str:
        parts = [f"{self.default * 100:g}%"] if self.default is not None else []
        parts += [f"{pattern}={delta * 100:g}%" for pattern, delta in self.per_metric]
        return ",".join(parts) or "default (10% times, 5% counts and cost)"


def parse_threshold(value: Any, what: str = "threshold") -> Threshold:
    """``"10%"`` / ``0.1`` for every metric, ``"ttft_s=20%,cost_usd=2%"`` or a dict per metric.

    Both may be combined in a string: ``"15%,cost_usd=2%"``. Metric keys may be fnmatch
    patterns (``"planner.*=20%"``).
    """
    if isinstance(value, Threshold):
        return value
    if isinstance(value, Mapping):
        per: list[tuple[str, float]] = []
        for key, delta in value.items():
            if not isinstance(key, str) or not key:
                raise SettingError(f"{what}: metric names must be non-empty strings, got {key!r}")
            per.append((key, parse_fraction(delta, f"{what}[{key!r}]")))
        return Threshold(per_metric=tuple(per))
    if isinstance(value, str) and ("=" in value or "," in value):
        default: float | None = None
        per = []
        for raw_part in value.split(","):
            part = raw_part.strip()
            if not part:
                continue
            if "=" in part:
                key, _, delta = part.partition("=")
                key = key.strip()
                if not key:
                    raise SettingError(f"{what}: missing metric name before '=' in {part!r}")
                per.append((key, parse_fraction(delta, f"{what} for {key}")))
            elif default is None:
                default = parse_fraction(part, what)
            else:
                raise SettingError(f"{what}: more than one default value in {value!r}")
        if default is None and not per:
            raise SettingError(f"{what} is empty: give a value like '10%' or 'ttft_s=20%'")
        return Threshold(default=default, per_metric=tuple(per))
    return Threshold(default=parse_fraction(value, what))


def parse_gate(value: Any, what: str = "gate", *, nonempty: bool = False) -> tuple[str, ...]:
    """Metric names or fnmatch patterns, as a list or a comma-separated string.

    With ``nonempty``, a list that names nothing (``""``, ``",,"``, ``[]``) is refused: as a
    setting it would gate no metric at all, so no regression could fail a test.
    """
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        raise SettingError(
            f"{what} must be a list of metric names (or a comma-separated string), got {value!r}"
        )
    names: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise SettingError(f"{what}: metric names must be strings, got {item!r}")
        if item.strip():
            names.append(item.strip())
    if nonempty and not names:
        raise SettingError(
            f"{what} needs at least one metric name or pattern (like 'ttft_s,cost_usd'; "
            f"leave it out for the default gate), got {value!r}"
        )
    if isinstance(value, (set, frozenset)):
        names.sort()
    return tuple(names)


def parse_alpha(value: Any, what: str = "alpha") -> float:
    """A probability: ``0.01`` or ``"1%"``."""
    try:
        if isinstance(value, bool):
            number = math.nan
        elif isinstance(value, str) and value.strip().endswith("%"):
            number = float(value.strip()[:-1]) / 100
        else:
            number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not 0.0 < number < 1.0:
        raise SettingError(
            f"{what} must be a probability between 0 and 1 (exclusive), got {value!r}"
        )
    return number


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def parse_bool(value: Any, what: str = "value") -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingError(f"{what} must be one of on/off, yes/no, true/false, 1/0; got {value!r}")


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(value: Any, what: str = "duration") -> float | None:
    """``"30d"``, ``"12h"``, ``"90m"``, ``"2w"``, ``"45s"``; ``"0"``/``"never"``/empty: no limit."""
    text = str(value).strip().lower()
    if text in ("", "0", "never", "none", "off"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", text)
    if not match:
        raise SettingError(
            f"{what} must be a number with a unit s, m, h, d or w (like '30d'), or 'never'; "
            f"got {value!r}"
        )
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


_ROUND_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def parse_min_round_time(value: Any, what: str = "min_round_time") -> float:
    """``"5ms"``, ``"0.01s"``, ``"500us"`` or a number of seconds; ``0`` / ``"0"``: no minimum."""
    number = math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|ms|us)?", text)
        if match and (match.group(2) or float(match.group(1)) == 0):
            number = float(match.group(1)) * _ROUND_TIME_UNITS[match.group(2) or "s"]
    if not 0.0 <= number <= 60.0:
        raise SettingError(
            f"{what} must be a duration with a unit s, ms or us of at most 60s (like '5ms'), "
            f"or 0 to call the workload once per round; got {value!r}"
        )
    return number


@dataclass(frozen=True)
class TestSettings:
    """The settings one perf test runs with, after marker > command line > ini > default."""

    __test__ = False  # not a test class, whatever pytest's collection thinks of the name

    rounds: int = DEFAULT_ROUNDS
    warmup: int = DEFAULT_WARMUP
    threshold: Threshold = field(default_factory=Threshold)
    gate: tuple[str, ...] = DEFAULT_GATE
    alpha: float | None = None
    """A per-test false-alarm budget from the marker; None: a share of the session's."""
    max_rounds: int = DEFAULT_MAX_ROUNDS
    """The most rounds measured to decide the test, re-measures included."""
    max_time_s: float = DEFAULT_MAX_TIME_S
    """The most seconds spent measuring to decide the test, re-measures included."""
    min_round_s: float = DEFAULT_MIN_ROUND_S
    """``perf(fn)`` calls a faster workload several times per round to last this long."""

    def gates(self, metric: str, *, custom: bool) -> bool:
        """Whether ``metric`` may fail the test.

        Custom metrics are gated by the default gate list, however it was given: left out, or
        spelled out (in any order) on the command line, in the ini file or in a marker.
        """
        if custom and frozenset(self.gate) == _DEFAULT_GATE_SET:
            return True
        return any(fnmatchcase(metric, pattern) for pattern in self.gate)


def parse_marker(
    kwargs: Mapping[str, Any], args: tuple[Any, ...], base: TestSettings
) -> TestSettings:
    """Apply ``@pytest.mark.perf(...)`` keyword arguments on top of ``base``."""
    if args:
        raise SettingError(
            f"takes keyword arguments only ({', '.join(MARKER_KEYS)}), got positional {args!r}"
        )
    unknown = sorted(set(kwargs) - set(MARKER_KEYS))
    if unknown:
        raise SettingError(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"(accepted: {', '.join(MARKER_KEYS)})"
        )
    settings = base
    if "rounds" in kwargs:
        settings = replace(settings, rounds=parse_positive_int(kwargs["rounds"], "rounds"))
    if "warmup" in kwargs:
        settings = replace(settings, warmup=parse_nonnegative_int(kwargs["warmup"], "warmup"))
    if "threshold" in kwargs:
        threshold = parse_threshold(kwargs["threshold"], "threshold")
        settings = replace(settings, threshold=threshold.over(base.threshold))
    if "gate" in kwargs:
        settings = replace(settings, gate=parse_gate(kwargs["gate"], "gate", nonempty=True))
    if "alpha" in kwargs:
        settings = replace(settings, alpha=parse_alpha(kwargs["alpha"], "alpha"))
    if "min_round_time" in kwargs:
        seconds = parse_min_round_time(kwargs["min_round_time"], "min_round_time")
        settings = replace(settings, min_round_s=seconds)
    return _parse_budget(kwargs, settings)


def _parse_budget(kwargs: Mapping[str, Any], settings: TestSettings) -> TestSettings:
    if "max_rounds" in kwargs:
        settings = replace(
            settings, max_rounds=parse_positive_int(kwargs["max_rounds"], "max_rounds")
        )
    if "max_time" in kwargs:
        settings = replace(settings, max_time_s=parse_max_time(kwargs["max_time"], "max_time"))
    return settings


def parse_max_time(value: Any, what: str = "max_time") -> float:
    """A test's measuring budget: seconds as a number, or a duration like ``"90s"``, ``"2m"``.

    ``0`` means no time for more rounds than the first measurement's (and one re-measure).
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value) and value >= 0:
            return float(value)
        raise SettingError(f"{what} must be a non-negative number of seconds, got {value!r}")
    seconds = parse_duration(value, what)
    return 0.0 if seconds is None else seconds
