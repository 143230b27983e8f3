"""``perfbaseline show TEST``: where and when one test's baseline was measured, and its metrics."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, TextIO

from .common import CommandError, age_text, nothing_stored, plural, read_stored, where
from .options import Command, store_options

if TYPE_CHECKING:
    from ..baseline.store import BaselineEntry

__all__ = ["COMMAND"]

_CANDIDATES_SHOWN = 5

_EPILOG = """\
TEST is a test id, or any part of one, or an fnmatch pattern, that matches exactly one stored
test. Without --profile the test's baseline in every profile is shown. No match, or more than
one test matching, is an error (exit 2) listing the candidates.

examples:
  {prog} show tests/test_chat.py::test_answer
  {prog} show test_answer --profile linux-x86_64-2cpu
  {prog} show '*test_agent*[gpt-4o]'"""

_GIT_STATE = {True: "uncommitted changes", False: "clean", None: "state unknown"}


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("test", metavar="TEST", help="test id, part of one, or fnmatch pattern")
    store_options(parser, after_command=True)


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    stored = read_stored(args, err)
    nodeids = sorted({e.nodeid for e in stored.entries})
    if not nodeids:
        unread = (
            f"; {plural(len(stored.errors), 'file')} could not be read" if stored.errors else ""
        )
        raise CommandError(nothing_stored(args, stored.store) + unread)
    nodeid = _the_one_match(args, nodeids)
    for i, entry in enumerate(e for e in stored.entries if e.nodeid == nodeid):
        if i:
            print(file=out)
        _show_entry(entry, out)
    return stored.status


def _the_one_match(args: argparse.Namespace, nodeids: Sequence[str]) -> str:
    """The one stored test ``args.test`` names; none or several is a :class:`CommandError`."""
    matches = _match(args.test, nodeids)
    if not matches:
        raise CommandError(
            f"no stored test matches {args.test!r} in {where(args)} "
            f"({plural(len(nodeids), 'test')} stored; {args.top_prog} list shows them)"
        )
    if len(matches) > 1:
        shown = ", ".join(matches[:_CANDIDATES_SHOWN])
        extra = len(matches) - _CANDIDATES_SHOWN
        more = f" and {extra} more" if extra > 0 else ""
        raise CommandError(
            f"{args.test!r} matches {len(matches)} stored tests: {shown}{more}; "
            "give more of the test id"
        )
    return matches[0]


def _match(pattern: str, nodeids: Sequence[str]) -> list[str]:
    """An exact node id, else every id containing ``pattern`` or matching it as a glob."""
    if pattern in nodeids:
        return [pattern]
    return [n for n in nodeids if pattern in n or fnmatchcase(n, pattern)]


def _show_entry(entry: BaselineEntry, out: TextIO) -> None:
    from ..reports.terminal import render_breakdowns, render_details

    print("\n".join(_header(entry)), file=out)
    print(file=out)
    result = entry.result
    if result.summary():
        print("\n".join(render_details(result)), file=out)
        print("(cv: standard deviation / mean over the rounds: the --noise of power)", file=out)
        breakdowns = render_breakdowns(result)
        if breakdowns:
            print(file=out)
            print("\n".join(breakdowns), file=out)
    else:
        print("(no metric values stored)", file=out)


def _header(entry: BaselineEntry) -> list[str]:
    """The test id, then where, when, on what and how its baseline was measured."""
    from ..baseline.environment import age_seconds

    env = entry.environment
    result = entry.result
    ago = age_text(age_seconds(env))
    ago = {"?": "age unknown", "in the future": "in the future: the clocks differ"}.get(
        ago, f"{ago} ago"
    )
    if env.git_commit is None:
        commit = "- (not measured in a git checkout)"
    else:
        commit = f"{env.git_commit} ({_GIT_STATE[env.git_dirty]})"
    machine = f"{env.cpu or 'unknown CPU'}, {env.cores or '?'} cores; {env.platform}"
    implicit = "; measured implicitly (no perf(fn) call)" if result.implicit else ""
    if result.iterations > 1:
        implicit += f"; {result.iterations} calls per round (round_s is per call)"
    lines = [
        entry.nodeid,
        f"  profile: {entry.profile}",
        f"  file:    {entry.path}",
        f"  saved:   {env.saved_at} ({ago}) by pytest-perfbaseline {env.plugin}",
        f"  commit:  {commit}",
        f"  machine: {machine}; {env.implementation} {env.python}",
        f"  rounds:  {len(result.rounds)} stored ({result.rounds_requested} requested), "
        f"{result.warmup} warm-up{implicit}",
    ]
    if entry.sessions > 1:
        from ..metrics.formatting import format_ratio

        drift = ", ".join(f"{m} {format_ratio(r)}" for m, r in sorted(entry.drift.items()))
        lines.append(
            f"  sessions: {entry.sessions} pooled (the newest saved above); "
            f"drift allowance: {drift or 'none'}"
        )
    if result.itl_histogram:
        gaps = sum(count for _, _, count in result.itl_histogram)
        lines.append(f"  inter-token gaps: {gaps} in the stored histogram")
    return lines


COMMAND = Command("show", "show one test's stored metrics", _EPILOG, _add_arguments, _run)
