"""What a metric is: its structured name, and its unit, direction and kind.

A metric's identity is a :class:`MetricName` -- scope, owner, quantity -- built where the value
is computed. Its string form (``ttft_s``, ``planner.ttft_s``, ``agent.planner.cost_usd``) is
what users see in ``perf.rounds``, reports and ``--perf-gate`` patterns, but it is only ever
*rendered* from the structure, never parsed back to find out what a metric belongs to: a
stream named ``agent.planner`` or a custom metric ``phase.retrieval.hits`` stays what it is.
The one exception is :func:`legacy_name`, which reads metric names stored by versions that
did not record their structure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "BREAKDOWN_SCOPES",
    "SCOPES",
    "STREAM_QUANTITIES",
    "MetricInfo",
    "MetricKind",
    "MetricName",
    "Scope",
    "key_info",
    "legacy_name",
    "quantity_info",
]

MetricKind = Literal["time", "rate", "count", "cost", "custom"]
Scope = Literal["round", "stream", "phase", "agent", "operation", "model", "custom"]
"""What a metric belongs to: the round as a whole (totals, and all its streams together), one
named stream, one phase / agent / operation span, one model, or the user (custom metrics)."""

BREAKDOWN_SCOPES: tuple[Scope, ...] = ("phase", "agent", "operation", "model")
SCOPES: tuple[Scope, ...] = ("round", "stream", "custom", *BREAKDOWN_SCOPES)
STREAM_QUANTITIES = (
    "ttft_s",
    "e2e_s",
    "itl_p50_s",
    "itl_p95_s",
    "itl_max_s",
    "tpot_s",
    "tokens_per_s",
)


@dataclass(frozen=True)
class MetricName:
    """A metric's identity: ``scope``, ``owner`` (a stream, span or model name) and quantity.

    ``key`` is the string form: the quantity alone for round metrics and custom metrics,
    ``<stream>.<quantity>`` for a named stream, ``<scope>.<owner>.<quantity>`` for spans and
    models.
    """

    scope: Scope
    owner: str | None
    quantity: str
    key: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.scope in ("round", "custom"):
            key = self.quantity
        elif self.scope == "stream":
            key = f"{self.owner}.{self.quantity}"
        else:
            key = f"{self.scope}.{self.owner}.{self.quantity}"
        object.__setattr__(self, "key", key)

    @classmethod
    def of_round(cls, quantity: str) -> MetricName:
        return cls("round", None, quantity)

    @classmethod
    def custom(cls, name: str) -> MetricName:
        return cls("custom", None, name)

    def to_list(self) -> list[str | None]:
        """``[scope, owner, quantity]``: how stored files and reports record it."""
        return [self.scope, self.owner, self.quantity]

    @classmethod
    def from_list(cls, data: object, key: str) -> MetricName:
        """The inverse of :meth:`to_list`; ValueError unless well formed and named ``key``."""
        if not (isinstance(data, (list, tuple)) and len(data) == 3):
            raise ValueError(f"expected [scope, owner, quantity], found {data!r}")
        scope, owner, quantity = data
        if scope not in SCOPES or not isinstance(quantity, str) or not quantity:
            raise ValueError(f"expected [scope, owner, quantity], found {data!r}")
        has_owner = scope not in ("round", "custom")
        if has_owner != isinstance(owner, str) or (owner is not None and not owner):
            raise ValueError(f"scope {scope!r} {'needs' if has_owner else 'takes no'} owner")
        name = cls(scope, owner, quantity)
        if name.key != key:
            raise ValueError(f"[{scope}, {owner}, {quantity}] is named {name.key!r}, not {key!r}")
        return name


@dataclass(frozen=True)
class MetricInfo:
    """A metric's unit, direction and kind (the kind picks its default threshold)."""

    unit: str
    higher_is_better: bool
    kind: MetricKind

    def to_dict(self) -> dict[str, object]:
        return {"unit": self.unit, "higher_is_better": self.higher_is_better, "kind": self.kind}


_TIME = MetricInfo("s", False, "time")
_RATE = MetricInfo("tok/s", True, "rate")
_TOKENS = MetricInfo("tokens", False, "count")
_CALLS = MetricInfo("calls", False, "count")
_COST = MetricInfo("USD", False, "cost")
_TIMES = frozenset({*STREAM_QUANTITIES, "round_s", "s"} - {"tokens_per_s"})


def quantity_info(quantity: str) -> MetricInfo | None:
    """Unit and direction of a built-in quantity (``ttft_s``, ``cost_usd``...), else None."""
    if quantity == "tokens_per_s":
        return _RATE
    if quantity in _TIMES:
        return _TIME
    if quantity.endswith("_tokens"):
        return _TOKENS
    if quantity == "api_calls":
        return _CALLS
    if quantity == "cost_usd":
        return _COST
    return None


def key_info(key: str) -> MetricInfo | None:
    """The unit and direction a metric's string name reads as (``x.ttft_s``, ``y_tokens``).

    Used where only the string is known: a custom metric's name is refused when it reads as a
    built-in one (so that a report never shows a custom value as a time, a token count or a
    cost), and a metric stored without its information is read this way.
    """
    return quantity_info(key.rsplit(".", 1)[-1])


def legacy_name(key: str, custom: bool) -> MetricName:
    """The structure of a metric name stored without it (files from before it was recorded).

    Those files carry only the string, so it is read the way it was written: ``<scope>.<owner>.
    <quantity>`` for spans and models, ``<stream>.<quantity>`` for named streams.
    """
    if custom:
        return MetricName.custom(key)
    scope, _, rest = key.partition(".")
    owner, _, quantity = rest.rpartition(".")
    if scope in BREAKDOWN_SCOPES and owner:
        return MetricName(scope, owner, quantity)
    stream, _, quantity = key.rpartition(".")
    if stream:
        return MetricName("stream", stream, quantity)
    return MetricName.of_round(key)
