"""Human-readable numbers for reports: times, token counts, money, ratios."""

from __future__ import annotations

import math

__all__ = [
    "format_cost",
    "format_count",
    "format_percent",
    "format_ratio",
    "format_seconds",
    "format_value",
]


def _sig(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits, never in exponent notation."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    # Round first, so 9.996 becomes 10.0 (three digits), not 10.00.
    value = float(f"{value:.{digits - 1}e}")
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds == 0:
        return "0 s"
    # The unit is chosen after rounding, so 0.9996 s reads "1.00 s", not "1000 ms".
    magnitude = abs(float(f"{seconds:.2e}"))
    if magnitude >= 1:
        return f"{_sig(seconds)} s"
    if magnitude >= 1e-3:
        return f"{_sig(seconds * 1e3)} ms"
    if magnitude >= 1e-6:
        return f"{_sig(seconds * 1e6)} µs"
    return f"{_sig(seconds * 1e9)} ns"


def format_count(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    return _sig(value, 4)


def format_cost(usd: float | None) -> str:
    if usd is None:
        return "-"
    if usd == 0:
        return "$0"
    return f"${_sig(usd)}"


def format_ratio(ratio: float | None) -> str:
    """A ratio as a signed percentage change: 1.25 -> '+25.0%'."""
    if ratio is None or math.isnan(ratio):
        return "-"
    if math.isinf(ratio):
        return "+∞"
    return f"{(ratio - 1) * 100:+.1f}%"


def format_value(value: float | None, unit: str) -> str:
    """Format by unit: seconds, USD, tokens/calls, anything else plainly."""
    if value is None:
        return "-"
    if unit == "s":
        return format_seconds(value)
    if unit == "USD":
        return format_cost(value)
    if unit in ("tokens", "calls"):
        return format_count(value)
    text = _sig(value, 4)
    return f"{text} {unit}" if unit else text


def format_percent(fraction: float) -> str:
    """A threshold as a percentage without false rounding: 0.025 -> '2.5%'."""
    return f"{fraction * 100:g}%"
