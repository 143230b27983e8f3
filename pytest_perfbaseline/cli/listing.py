"""``perfbaseline list``: every stored baseline, one row each, with its age and commit."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from ..gate.settings import parse_duration
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    age_text,
    commit_text,
    now,
    plural,
    read_stored,
    table,
)
from .options import Command, store_options, typed

if TYPE_CHECKING:
    from ..baseline.store import BaselineEntry

__all__ = ["COMMAND", "DEFAULT_MAX_AGE"]

DEFAULT_MAX_AGE = "30d"  # the plugin's perf_baseline_max_age default: the same "stale"

_EPILOG = """\
A baseline file that cannot be read is named on stderr, one line each; the rest is still
listed, and the exit status is 1. No baselines at all is not an error (exit 0).

examples:
  {prog} list
  {prog} list --profile ci
  {prog} --dir path/to/.perfbaseline list --max-age 7d"""

_HEADERS = ["profile", "test", "rounds", "age", "saved (UTC)", "commit", "plugin"]


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    store_options(parser, after_command=True)
    parser.add_argument(
        "--max-age",
        metavar="AGE",
        type=typed(parse_duration, "max age"),
        default=parse_duration(DEFAULT_MAX_AGE),
        help=f"mark baselines older than this stale ('30d', '12h', 'never'; "
        f"default {DEFAULT_MAX_AGE}, like the plugin)",
    )


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    stored = read_stored(args, err)
    if not stored.entries:
        return stored.say_nothing_stored(args, out)
    when = now()
    rows = [_row(entry, args.max_age, when) for entry in stored.entries]
    print(table(rows, _HEADERS, right=(2,)), file=out)
    print(_summary(args, stored.entries), file=out)
    if stored.errors:
        print(
            f"{plural(len(stored.errors), 'baseline file')} could not be read (see above)",
            file=err,
        )
        return EXIT_FAILED
    return EXIT_OK


def _row(entry: BaselineEntry, max_age: float | None, when: datetime) -> list[str]:
    """The table row of one entry; its age marked stale beyond ``max_age`` seconds."""
    from ..baseline.environment import age_seconds

    env = entry.environment
    age = age_seconds(env, when)
    stale = max_age is not None and age is not None and age > max_age
    return [
        entry.profile,
        entry.nodeid,
        str(len(entry.result.rounds)),
        age_text(age) + (" (stale)" if stale else ""),
        env.saved_at,
        commit_text(env),
        env.plugin,
    ]


def _summary(args: argparse.Namespace, entries: Sequence[BaselineEntry]) -> str:
    """``4 baselines of 3 tests in 2 profiles (...) under .perfbaseline; ...``."""
    from ..baseline.environment import default_profile

    tests = len({e.nodeid for e in entries})
    profiles = sorted({e.profile for e in entries})
    scope = (
        f"profile {profiles[0]}"
        if len(profiles) == 1
        else f"{len(profiles)} profiles ({', '.join(profiles)})"
    )
    return (
        f"{plural(len(entries), 'baseline')} of {plural(tests, 'test')} in {scope} "
        f"under {args.dir}; this machine's default profile is {default_profile()}"
    )


COMMAND = Command("list", "list the stored baselines", _EPILOG, _add_arguments, _run)
