"""``perfbaseline power``: how many rounds a test needs for the gate to catch a slowdown.

Plans with the same test and the same share of the false-alarm budget as the gate; the
statistics (numpy) are imported only when this command runs.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from ..gate.settings import DEFAULT_ALPHA, parse_alpha, parse_fraction, parse_positive_int
from .common import EXIT_OK, CommandError, plural
from .options import Command, typed

__all__ = ["COMMAND", "DEFAULT_POWER", "DEFAULT_POWER_THRESHOLD"]

DEFAULT_POWER = 0.8
DEFAULT_POWER_THRESHOLD = "10%"  # the gate's default threshold for times
_SMALLEST_ALPHA = 1e-15  # below it 1 - alpha rounds to 1.0: no normal quantile to plan with

_EPILOG = """\
--noise is the per-round coefficient of variation of the metric: its SD / mean over rounds,
the cv column of 'perfbaseline show'. Values are taken as log-normal, so the SD of the log
values is sqrt(ln(1 + noise^2)), about the noise itself. The gate fails a metric only when it
is worse by more than its threshold, so what must be shown is ln(1 + effect) - ln(1 +
threshold), in units of that SD. Rounds come from an exact noncentral-t power calculation
divided by the Mann-Whitney test's efficiency 3/pi, at the metric's share of the session's
false-alarm budget: alpha / (tests x gated metrics), as the gate splits it; never fewer than
the exact test needs to reach p < alpha at all. With --perf-confirm (the default) a
regression must also be suspected first, so the overall chance is a little lower.

examples:
  {prog} power --effect 30% --noise 5%
  {prog} power --effect 20% --noise 8% --threshold 10% --tests 40 --metrics 3
  {prog} power --effect 0.5 --noise 0.1 --power 0.95"""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    threshold_default = DEFAULT_POWER_THRESHOLD.replace("%", "%%")
    _add(
        parser,
        "--effect",
        "CHANGE",
        parse_fraction,
        "the change for the worse to detect: '30%%' or 0.3",
        required=True,
    )
    _add(
        parser,
        "--noise",
        "CV",
        parse_fraction,
        "per-round coefficient of variation of the metric: '5%%' or 0.05",
        required=True,
    )
    _add(
        parser,
        "--threshold",
        "DELTA",
        parse_fraction,
        f"the gate's threshold for the metric (default {threshold_default}, the gate's for "
        "times; its default for token counts and cost is 5%%)",
        default=parse_fraction(DEFAULT_POWER_THRESHOLD),
    )
    _add(
        parser,
        "--alpha",
        "P",
        parse_alpha,
        f"false-alarm rate of the whole session (default {DEFAULT_ALPHA})",
        default=DEFAULT_ALPHA,
    )
    _add(
        parser,
        "--tests",
        "N",
        parse_positive_int,
        "perf tests in the session, sharing --alpha (default 1)",
        default=1,
    )
    _add(
        parser,
        "--metrics",
        "K",
        parse_positive_int,
        "gated metrics per test that vary, sharing the test's share (default 1)",
        default=1,
    )
    _add(
        parser,
        "--power",
        "P",
        parse_alpha,
        f"chance of detecting the change (default {DEFAULT_POWER})",
        default=DEFAULT_POWER,
    )


def _add(
    parser: argparse.ArgumentParser,
    option: str,
    metavar: str,
    parse: Callable[[Any, str], object],
    help_text: str,
    **settings: Any,
) -> None:
    """An option read by one of the settings parsers, its errors naming the option."""
    parser.add_argument(
        option, metavar=metavar, type=typed(parse, option[2:]), help=help_text, **settings
    )


@dataclass(frozen=True)
class _Plan:
    """The rounds per side, and the figures they come from."""

    metric_alpha: float
    """One metric's share of the session's false-alarm budget."""
    sd_log: float
    """The SD of the log values, from the noise."""
    shift: float
    """How far beyond the threshold the effect is, on the log scale."""
    planned: int
    """Rounds from the power calculation alone."""
    floor: int
    """The fewest rounds with which the exact test can reach ``metric_alpha`` at all."""

    @property
    def effect_size(self) -> float:
        return self.shift / self.sd_log

    @property
    def rounds(self) -> int:
        return max(self.planned, self.floor)


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    _check_detectable(args)
    plan = _plan(args, _metric_alpha(args))
    print(f"{plan.rounds} rounds per side (baseline and current)", file=out)
    print(_explain(args, plan), file=out)
    return EXIT_OK


def _check_detectable(args: argparse.Namespace) -> None:
    """Refuse a noise of 0 and an effect that the gate's threshold hides."""
    from ..metrics.formatting import format_percent

    if args.noise <= 0:
        raise CommandError(
            "argument --noise: must be above 0 (a metric without noise is compared exactly: "
            "one round settles it)",
            prog=args.prog,
            hint=True,
        )
    if args.effect <= args.threshold:
        raise CommandError(
            f"--effect {format_percent(args.effect)} is not larger than --threshold "
            f"{format_percent(args.threshold)}: the gate fails only on changes beyond its "
            "threshold, so no number of rounds detects it",
            prog=args.prog,
            hint=True,
        )


def _metric_alpha(args: argparse.Namespace) -> float:
    """--alpha split over the tests and their metrics, as the gate splits it."""
    try:
        metric_alpha: float = args.alpha / (args.tests * args.metrics)
    except OverflowError:
        metric_alpha = 0.0
    if metric_alpha < _SMALLEST_ALPHA:
        raise CommandError(
            f"alpha {args.alpha:g} shared by {args.tests} tests x {args.metrics} metrics is too "
            f"small a share to plan for (below {_SMALLEST_ALPHA:g} per metric)",
            prog=args.prog,
        )
    return metric_alpha


def _plan(args: argparse.Namespace, metric_alpha: float) -> _Plan:
    from ..gate.rounds import fewest_rounds
    from ..stats import rounds_needed

    # A metric with coefficient of variation cv, log-normally distributed, has this SD of logs.
    sd_log = math.sqrt(math.log1p(args.noise**2))
    shift = math.log1p(args.effect) - math.log1p(args.threshold)
    try:
        planned = rounds_needed(
            shift / sd_log,
            alpha=metric_alpha,
            power=args.power,
            alternative="greater",
            test="mann-whitney",
        )
    except ValueError as exc:
        raise CommandError(str(exc), prog=args.prog) from None
    return _Plan(metric_alpha, sd_log, shift, planned, fewest_rounds(metric_alpha))


def _explain(args: argparse.Namespace, plan: _Plan) -> str:
    """Where the number of rounds comes from, in one paragraph."""
    from ..metrics.formatting import format_percent

    effect, threshold = args.effect, args.threshold
    share = f"{args.alpha:g} / ({plural(args.tests, 'test')} x {plural(args.metrics, 'metric')})"
    sentence = (
        f"To detect a {format_percent(effect)} change for the worse with "
        f"{format_percent(args.power)} power, where the gate's threshold is "
        f"{format_percent(threshold)} and the per-round noise (coefficient of variation) is "
        f"{format_percent(args.noise)}: the change beyond the threshold, ln({1 + effect:.7g} / "
        f"{1 + threshold:.7g}) = {plan.shift:.3g}, is {plan.effect_size:.3g} SDs of the log "
        f"values ({plan.sd_log:.3g}); one-sided exact Mann-Whitney test at alpha {share} = "
        f"{plan.metric_alpha:.2g} per metric."
    )
    if plan.floor > plan.planned:
        sentence += (
            f" The power calculation alone gives {plan.planned}, but with fewer than "
            f"{plan.floor} rounds a side the exact test cannot reach p < "
            f"{plan.metric_alpha:.2g} at all."
        )
    return sentence


COMMAND = Command(
    "power", "rounds needed to detect a slowdown at a given noise", _EPILOG, _add_arguments, _run
)
