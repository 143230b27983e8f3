"""What one perf test measured: the one result type, from the recorder to the reports.

:meth:`Perf.finish() <pytest_perfbaseline.measure.perf.Perf.finish>` builds a
:class:`TestResult` where the test ran (possibly a pytest-xdist worker); :meth:`TestResult.
to_dict` turns it into plain builtins, which cross to the controller on the call-phase report
and are also how the JSON report records it. The baseline file stores it in its own layout
(:mod:`pytest_perfbaseline.baseline`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import repeat
from typing import TYPE_CHECKING, Any, cast

from .histogram import SortedGaps, gap_histogram, gap_summary
from .names import MetricInfo, MetricName, legacy_name
from .summary import Summary, metric_values, summarize, summarize_rounds

__all__ = ["Measurement", "TestResult"]

Rounds = tuple[Mapping[str, float | None], ...]
Columns = Mapping[str, Sequence[float | None]]


class _LazyRounds:
    """The ``rounds`` field of :class:`TestResult`: given to the constructor as usual, or,
    for a result made :meth:`~TestResult.from_columns`, built from its columns when first
    read (then kept).

    A data descriptor, so the dataclass's ``__init__`` (``object.__setattr__``) stores
    through it and the frozen class still refuses assignment.
    """

    def __get__(self, result: TestResult | None, owner: type | None = None) -> Rounds:
        if result is None:  # no class default: the field stays a required argument
            raise AttributeError("rounds")
        rounds: Rounds | None = result.__dict__["_rounds"]
        if rounds is None:
            rounds = result.__dict__["_rounds"] = _rows(result._columns or {})
        return rounds

    def __set__(self, result: TestResult, rounds: Rounds) -> None:
        result.__dict__["_rounds"] = rounds


def _rows(columns: Columns) -> Rounds:
    """Columns of one length as rounds, each a dict of every metric in the columns' order."""
    rows = zip(*columns.values(), strict=True)
    return tuple(map(dict, map(zip, repeat(tuple(columns)), rows)))


@dataclass(frozen=True)
class TestResult:
    """Per-round metric values of one test, what each metric is, and the ITL histogram."""

    __test__ = False

    nodeid: str
    rounds: tuple[Mapping[str, float | None], ...]
    if not TYPE_CHECKING:  # for a type checker, a plain field
        rounds = _LazyRounds()
    infos: Mapping[str, MetricInfo]
    itl_histogram: tuple[tuple[float, float, int], ...]
    itl_pooled: Summary | None
    """Summary of every gap of every round pooled (descriptive only: never gated)."""
    token_sources: Mapping[str, str]
    rounds_requested: int
    warmup: int
    implicit: bool
    """True when the test used the recorder directly (one implicit round), not ``perf(fn)``."""
    names: Mapping[str, MetricName] = field(default_factory=dict)
    """The structure behind each metric's string name (see :meth:`name_of`)."""
    gaps_ns: Sequence[int] = field(default=(), compare=False, repr=False)
    """Every inter-chunk gap of every round, pooled (from :meth:`Perf.finish`: in ascending
    order, 8 bytes a gap); kept only in the process that measured (the histogram and
    ``itl_pooled`` are what travels and is stored)."""
    iterations: int = 1
    """Calls of the workload per measured round; above 1, ``round_s`` is the time per call."""
    _summaries: dict[str, Summary] | None = field(
        default=None, init=False, compare=False, repr=False
    )
    _columns: Columns | None = field(default=None, init=False, compare=False, repr=False)
    """Metric -> its value in every round, in a result made :meth:`from_columns` (rounds
    are then built only when read)."""

    @classmethod
    def measured(
        cls,
        nodeid: str,
        *,
        rounds: Sequence[Mapping[str, float | None]],
        infos: Mapping[str, MetricInfo],
        names: Mapping[str, MetricName],
        gaps_ns: Sequence[int],
        token_sources: Mapping[str, str],
        rounds_requested: int,
        warmup: int,
        implicit: bool,
        iterations: int = 1,
    ) -> TestResult:
        """A result straight from the recorder: the histogram is made from the raw gaps."""
        return cls(
            nodeid=nodeid,
            rounds=tuple(rounds),
            infos=dict(infos),
            itl_histogram=tuple(
                (lower, upper, int(count)) for lower, upper, count in gap_histogram(gaps_ns)
            ),
            itl_pooled=gap_summary(gaps_ns),
            token_sources=dict(token_sources),
            rounds_requested=rounds_requested,
            warmup=warmup,
            implicit=implicit,
            names=dict(names),
            gaps_ns=gaps_ns if isinstance(gaps_ns, SortedGaps) else tuple(gaps_ns),
            iterations=iterations,
        )

    @classmethod
    def from_columns(
        cls,
        nodeid: str,
        columns: Columns,
        count: int,
        *,
        infos: Mapping[str, MetricInfo],
        itl_histogram: tuple[tuple[float, float, int], ...],
        itl_pooled: Summary | None,
        token_sources: Mapping[str, str],
        rounds_requested: int,
        warmup: int,
        implicit: bool,
        names: Mapping[str, MetricName],
        iterations: int = 1,
    ) -> TestResult:
        """A result that holds its values by metric: ``columns`` maps each metric to its
        value in each of ``count`` rounds (None where it has none).

        Its :attr:`rounds` are those of a result given, for each round, a dict of every
        metric in ``columns``' order, but they are built only if something reads them:
        :meth:`values`, :meth:`column` and :meth:`summary` read the columns.
        """
        return cls(
            nodeid=nodeid,
            rounds=(),
            infos=infos,
            itl_histogram=itl_histogram,
            itl_pooled=itl_pooled,
            token_sources=token_sources,
            rounds_requested=rounds_requested,
            warmup=warmup,
            implicit=implicit,
            names=names,
            iterations=iterations,
        )._holding(columns, count)

    def with_columns(self, columns: Columns, count: int) -> TestResult:
        """This result with other values, held by metric as :meth:`from_columns` holds them."""
        return replace(self, rounds=())._holding(columns, count)

    def _holding(self, columns: Columns, count: int) -> TestResult:
        if columns:
            self.__dict__.update(_rounds=None, _columns=columns)
        else:  # no metric, so no column to build them from: ``count`` empty rounds now
            self.__dict__["_rounds"] = tuple(map(dict, repeat((), count)))
        return self

    @property
    def columns(self) -> Columns | None:
        """Metric -> its value in every round, when the result holds its values so (made
        :meth:`from_columns`, as a result read from a baseline is, with one metric or
        more); None otherwise."""
        return self._columns

    @property
    def round_count(self) -> int:
        """``len(rounds)``, without building the rounds of a result held by metric."""
        columns = self._columns
        if columns is None:
            return len(self.rounds)
        return len(next(iter(columns.values())))

    def name_of(self, metric: str) -> MetricName:
        """The structured name of ``metric``.

        Results measured by this version record it; a result built by hand or read from a
        file that predates it is read from the string, the only way such a file allows.
        """
        name = self.names.get(metric)
        if name is None:
            info = self.infos.get(metric)
            name = legacy_name(metric, custom=info is not None and info.kind == "custom")
        return name

    def values(self, metric: str) -> list[float]:
        """The metric's per-round values, leaving out rounds where it is missing or null."""
        columns = self._columns
        if columns is None:
            return metric_values(self.rounds, metric)
        column = columns.get(metric, ())
        if None in column:
            return [v for v in column if v is not None]
        return list(cast("Sequence[float]", column))

    def column(self, metric: str) -> list[float | None]:
        """The metric's value in every round, None where a round has none."""
        columns = self._columns
        if columns is None:
            return [r.get(metric) for r in self.rounds]
        column = columns.get(metric)
        if column is None:
            return [None] * self.round_count
        return list(column)

    def summary(self) -> dict[str, Summary]:
        """Summaries of every metric that has at least one value."""
        summaries = self._summaries
        if summaries is None:  # computed once: every report of the session asks for them
            if self._columns is None:
                summaries = summarize_rounds(self.rounds, self.infos)
            else:
                values = {name: self.values(name) for name in self.infos}
                summaries = {name: summarize(v) for name, v in values.items() if v}
            object.__setattr__(self, "_summaries", summaries)
        return dict(summaries)

    def to_dict(self) -> dict[str, Any]:
        """Builtins only (dicts, lists, str, float, int, bool, None): safe for execnet and JSON."""
        return {
            "nodeid": self.nodeid,
            "rounds": _sorted_rounds(self.rounds),
            "metrics": {
                key: self._metric_dict(key, info) for key, info in sorted(self.infos.items())
            },
            "itl_histogram": [list(b) for b in self.itl_histogram],
            "itl_pooled": self.itl_pooled.to_dict() if self.itl_pooled else None,
            "token_sources": dict(sorted(self.token_sources.items())),
            "rounds_requested": self.rounds_requested,
            "warmup": self.warmup,
            "implicit": self.implicit,
            "iterations": self.iterations,
        }

    def _metric_dict(self, key: str, info: MetricInfo) -> dict[str, Any]:
        data = info.to_dict()
        if key in self.names:
            data["name"] = self.names[key].to_list()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestResult:
        """The inverse of :meth:`to_dict`; KeyError/TypeError/ValueError when malformed."""
        pooled = data.get("itl_pooled")
        metrics: Mapping[str, Any] = data["metrics"]
        names = {
            key: MetricName.from_list(info["name"], key)
            for key, info in metrics.items()
            if "name" in info
        }
        return cls(
            nodeid=data["nodeid"],
            rounds=tuple(dict(r) for r in data["rounds"]),
            infos={
                key: MetricInfo(info["unit"], bool(info["higher_is_better"]), info["kind"])
                for key, info in metrics.items()
            },
            itl_histogram=tuple(
                (float(lo), float(hi), int(n)) for lo, hi, n in data["itl_histogram"]
            ),
            itl_pooled=Summary(**pooled) if pooled else None,
            token_sources=dict(data["token_sources"]),
            rounds_requested=int(data["rounds_requested"]),
            warmup=int(data["warmup"]),
            implicit=bool(data["implicit"]),
            names=names,
            iterations=int(data.get("iterations", 1)),
        )


def _sorted_rounds(rounds: Sequence[Mapping[str, float | None]]) -> list[dict[str, float | None]]:
    """Each round as a dict with its metrics in sorted order.

    Rounds nearly always have the same metrics, so the sorted order is worked out once: a
    round is poured into a copy of the previous round's sorted keys, which keeps their order,
    and sorted on its own only when that shows it has other metrics.
    """
    template: dict[str, float | None] = {}
    out: list[dict[str, float | None]] = []
    for values in rounds:
        row = template.copy()
        row.update(values)
        # same size as the template before and after: the very same metrics
        if len(values) != len(template) or len(row) != len(template):
            row = dict(sorted(values.items()))
            template = dict.fromkeys(row)
        out.append(row)
    return out


Measurement = TestResult
"""What :meth:`Perf.finish` returns: the same type (the name read better in a plain script)."""
