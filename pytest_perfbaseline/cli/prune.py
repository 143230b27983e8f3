"""``perfbaseline prune``: remove stored entries whose test file is gone, or that are too old.

A dry run unless ``--apply``; removing goes through the store, under the same lock as a save.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..gate.settings import SettingError, parse_duration
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    StoredEntries,
    age_text,
    now,
    plural,
    read_stored,
    report_bad_files,
    table,
    where,
)
from .options import Command, store_options, typed

if TYPE_CHECKING:
    from ..baseline.store import BaselineEntry

__all__ = ["COMMAND"]

_EPILOG = """\
An entry is removed if it meets any of the criteria given. Test files are looked up relative
to --rootdir (default: the folder that holds --dir), the way pytest's test ids name them.
Without --apply nothing is changed: the entries that would go are listed. With --apply they
are removed under the same lock as a save, atomically; files left empty are deleted. If no
stored test's file exists under the rootdir, --apply refuses (most likely the wrong folder).

exit status: 0 done (or nothing to do), 1 a baseline file could not be read or written (named
on stderr), 2 usage error.

examples:
  {prog} prune --missing                    # dry run: what would go
  {prog} prune --missing --apply
  {prog} prune --older-than 90d --profile ci --apply"""

_HEADERS = ["profile", "test", "why"]


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--missing",
        action="store_true",
        help="entries whose test file no longer exists under the rootdir",
    )
    parser.add_argument(
        "--older-than",
        metavar="AGE",
        type=typed(_required_duration, "age"),
        help="entries saved longer ago than AGE ('30d', '12h', '2w', '90m', '45s')",
    )
    parser.add_argument(
        "--rootdir",
        metavar="DIR",
        help="where test files are looked up (default: the folder that holds --dir)",
    )
    parser.add_argument(
        "--apply", action="store_true", help="really remove them (default: dry run, list only)"
    )
    store_options(parser, after_command=True)


def _required_duration(value: Any, what: str) -> float:
    seconds = parse_duration(value, what)
    if seconds is None:
        raise SettingError(f"{what} needs an age like '30d', got {value!r}")
    return seconds


@dataclass(frozen=True)
class _Plan:
    """What the criteria pick: the entries to remove (each with why), and what was unsure."""

    doomed: list[tuple[BaselineEntry, str]]
    missing: int
    """Entries whose test file is not under the rootdir."""
    unknown_age: int
    """Entries kept because their saved time is not valid."""


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.missing and args.older_than is None:
        raise CommandError(
            "say what to prune: --missing, --older-than AGE, or both", prog=args.prog, hint=True
        )
    rootdir = Path(args.rootdir) if args.rootdir else Path(args.dir).absolute().parent
    if args.missing and not rootdir.is_dir():
        raise CommandError(f"--rootdir {rootdir} is not a folder", hint=True)
    stored = read_stored(args, err)
    if not stored.entries:
        return stored.say_nothing_stored(args, out)

    plan = _plan(args, rootdir, stored.entries)
    _warn(args, rootdir, plan, len(stored.entries), err)
    if not plan.doomed:
        print(_nothing_to_prune(args, rootdir, len(stored.entries)), file=out)
        return stored.status
    rows = [[entry.profile, entry.nodeid, reason] for entry, reason in plan.doomed]
    if not args.apply:
        print(
            f"would remove {len(plan.doomed)} of {_stored(len(stored.entries))} "
            "(dry run: add --apply to remove them)",
            file=out,
        )
        print(table(rows, _HEADERS, right=()), file=out)
        return stored.status
    return _remove(args, stored, rows, out, err)


def _plan(args: argparse.Namespace, rootdir: Path, entries: Sequence[BaselineEntry]) -> _Plan:
    """The entries that meet --missing or --older-than, with the reasons, in stored order."""
    from ..baseline.environment import age_seconds

    when = now()
    doomed: list[tuple[BaselineEntry, str]] = []
    missing = 0
    unknown_age = 0
    for entry in entries:
        reasons = []
        if args.missing:
            module = entry.nodeid.partition("::")[0]
            if not (rootdir / module).exists():
                missing += 1
                reasons.append(f"{module} not found")
        if args.older_than is not None:
            age = age_seconds(entry.environment, when)
            if age is None:
                unknown_age += 1
            elif age > args.older_than:
                reasons.append(f"saved {age_text(age)} ago")
        if reasons:
            doomed.append((entry, "; ".join(reasons)))
    return _Plan(doomed, missing, unknown_age)


def _warn(args: argparse.Namespace, rootdir: Path, plan: _Plan, stored: int, err: TextIO) -> None:
    """Doubts about the plan on ``err``; a likely wrong rootdir stops ``--apply``."""
    if args.missing and plan.missing == stored:
        # Most likely the wrong folder, not a project whose every test file was deleted.
        message = (
            f"no test file of the {_stored(stored)} exists under {rootdir}: "
            "is that the project's rootdir? (--rootdir sets it)"
        )
        if args.apply:
            raise CommandError(message + "; nothing removed", hint=True)
        print(f"{args.prog}: warning: {message}", file=err)
    if plan.unknown_age:
        print(
            f"{args.prog}: note: {plural(plan.unknown_age, 'entry', 'entries')} without a valid "
            "saved time kept (their age is unknown)",
            file=err,
        )


def _nothing_to_prune(args: argparse.Namespace, rootdir: Path, stored: int) -> str:
    criteria = " or ".join(
        c
        for c, on in (
            (f"with a test file missing under {rootdir}", args.missing),
            (f"older than {_age_as_typed(args.older_than)}", args.older_than is not None),
        )
        if on
    )
    return (
        f"nothing to prune: no entry {criteria} "
        f"({plural(stored, 'entry', 'entries')} in {where(args)})"
    )


def _remove(
    args: argparse.Namespace,
    stored: StoredEntries,
    rows: Sequence[Sequence[str]],
    out: TextIO,
    err: TextIO,
) -> int:
    """Remove the entries of ``rows`` (profile, test, why); say which went."""
    by_profile: dict[str, list[str]] = {}
    for profile, nodeid, _ in rows:
        by_profile.setdefault(profile, []).append(nodeid)
    report = stored.store.remove(by_profile)
    removed = set(report.saved)
    print(
        f"removed {len(report.saved)} of {_stored(len(stored.entries))} "
        f"({plural(len(report.written), 'file')} changed)",
        file=out,
    )
    done = [row for row in rows if row[1] in removed]
    if done:
        print(table(done, _HEADERS, right=()), file=out)
    report_bad_files(args.prog, report.errors, err)
    return EXIT_FAILED if stored.errors or report.errors else EXIT_OK


def _stored(count: int) -> str:
    return plural(count, "stored entry", "stored entries")


def _age_as_typed(seconds: float | None) -> str:
    """The --older-than argument as typed (near enough), for messages."""
    if seconds is None:
        return ""
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


COMMAND = Command(
    "prune", "remove stored entries of deleted or old tests", _EPILOG, _add_arguments, _run
)
