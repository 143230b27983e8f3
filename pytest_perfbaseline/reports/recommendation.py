"""One recommendation: what the data showed, with its numbers, and what to do about it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = ["KINDS", "Kind", "Recommendation", "render_recommendations", "sort_recommendations"]

Kind = Literal[  # most pressing first: the order recommendations are listed in
    "step",
    "drift",
    "streak",
    "noisy",
    "stale_baseline",
    "other_machine",
    "cost_share",
    "cached_share",
    "ttft_share",
    "itl_tail",
]
KINDS: tuple[Kind, ...] = get_args(Kind)
"""Every kind, most pressing first: the order recommendations are listed in."""


@dataclass(frozen=True)
class Recommendation:
    """A finding drawn from the runs and the action it suggests."""

    kind: Kind
    test: str | None
    """The test's node id; None for the run as a whole (where the money goes)."""
    metric: str | None
    numbers: Mapping[str, Any] = field(default_factory=dict)
    """The figures behind it, by name (plain numbers and strings, JSON-ready)."""
    finding: str = ""
    """What the data shows, with its numbers."""
    action: str = ""
    """What to do about it."""

    @property
    def text(self) -> str:
        """One line: the finding, then the action."""
        return f"{self.finding} -> {self.action}"

    def to_dict(self) -> dict[str, Any]:
        """Builtins for JSON (the ``recommendations`` entries of the ``--perf-json`` report)."""
        return {
            "kind": self.kind,
            "test": self.test,
            "metric": self.metric,
            "numbers": dict(self.numbers),
            "finding": self.finding,
            "action": self.action,
        }


def sort_recommendations(found: Iterable[Recommendation]) -> list[Recommendation]:
    """Most pressing kind first, then by test and metric: a stable, deterministic order."""
    return sorted(
        found, key=lambda r: (KINDS.index(r.kind), r.test or "", r.metric or "", r.finding)
    )


def render_recommendations(found: Iterable[Recommendation], limit: int | None = None) -> list[str]:
    """One line per recommendation, most pressing first; at most ``limit``, saying how many
    more there are."""
    ordered = sort_recommendations(found)
    shown = ordered if limit is None else ordered[:limit]
    lines = [f"- {r.text}" for r in shown]
    if len(ordered) > len(shown):
        lines.append(f"({len(ordered) - len(shown)} more with -v)")
    return lines
