"""What every ``perfbaseline`` command shares: exit codes, the user error, reading the store.

Also the small text helpers the commands print with (ages, commits, plurals, tables). Light to
import: tabulate is loaded only when a table is printed, the store only when it is opened.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ..baseline.environment import Environment
    from ..baseline.store import BaselineEntry, BaselineError, BaselineStore

__all__ = [
    "DEFAULT_DIR",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandError",
    "StoredEntries",
    "age_text",
    "commit_text",
    "nothing_stored",
    "now",
    "one_line",
    "plural",
    "read_stored",
    "report_bad_files",
    "table",
    "where",
]

EXIT_OK = 0
EXIT_FAILED = 1
"""``compare``: a test regressed; ``list`` / ``show`` / ``prune``: a baseline file was bad."""
EXIT_USAGE = 2

DEFAULT_DIR = ".perfbaseline"


class CommandError(Exception):
    """A user error: printed as one line ``<prog>: error: <message>``, exit status 2."""

    def __init__(self, message: str, *, prog: str | None = None, hint: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.prog = prog
        self.hint = hint
        """Point at ``--help`` (for mistakes in the command line itself)."""


# -- small text helpers ------------------------------------------------------------------------


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(timezone.utc)


def age_text(seconds: float | None) -> str:
    """``3 days``, ``5 h``, ``12 min``: the age of a baseline, for tables."""
    if seconds is None:
        return "?"
    if seconds < -60:
        return "in the future"  # the saving machine's clock was ahead of this one's
    if seconds < 60:
        return "<1 min"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"


def commit_text(env: Environment, length: int = 12) -> str:
    """The measured commit, shortened, marked ``(dirty)`` if it had uncommitted changes."""
    if env.git_commit is None:
        return "-"
    dirty = " (dirty)" if env.git_dirty else ""
    return env.git_commit[:length] + dirty


def table(rows: Sequence[Sequence[str]], headers: Sequence[str], right: Sequence[int]) -> str:
    """A plain-text table; the columns numbered in ``right`` are right-aligned."""
    # tabulate: only the commands that print a table pay for it
    from ..reports.terminal import table as render_table

    return "\n".join(render_table(rows, headers, right=right))


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    """``1 test``, ``2 tests``; ``plural_form`` for words not made plural by an ``s``."""
    return f"{count} {word if count == 1 else (plural_form or word + 's')}"


def one_line(text: str) -> str:
    """``text`` with its line breaks made spaces: every error is one line on stderr."""
    return " ".join(text.split("\n"))


# -- reading the store -------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredEntries:
    """What a command read from the baseline folder: the store, its entries, its bad files."""

    store: BaselineStore
    entries: list[BaselineEntry]
    """Sorted by profile, then test."""
    errors: list[BaselineError]
    """Every file that could not be read (already reported on stderr)."""

    @property
    def status(self) -> int:
        """The exit status when nothing else went wrong: 1 if a file could not be read."""
        return EXIT_FAILED if self.errors else EXIT_OK

    def say_nothing_stored(self, args: argparse.Namespace, out: TextIO) -> int:
        """Say why there are no entries (unless bad files are why); the exit status."""
        if not self.errors:
            print(nothing_stored(args, self.store), file=out)
        return self.status


def read_stored(args: argparse.Namespace, err: TextIO) -> StoredEntries:
    """Open ``--dir``, read the entries of ``--profile`` (or all), name bad files on ``err``."""
    store = _open_store(args)
    entries, errors = _read_entries(store, args.profile)
    report_bad_files(args.prog, errors, err)
    return StoredEntries(store, entries, errors)


def _open_store(args: argparse.Namespace) -> BaselineStore:
    from ..baseline.store import BaselineStore

    root = Path(args.dir)
    if root.exists() and not root.is_dir():
        raise CommandError(f"--dir {root} is not a folder", hint=True)
    try:
        # The store's own profile only matters for saving, which no command here does.
        return BaselineStore(root, args.profile or "any")
    except ValueError as exc:  # an invalid --profile name
        raise CommandError(f"argument --profile: {exc}", hint=True) from None


def _read_entries(
    store: BaselineStore, profile: str | None
) -> tuple[list[BaselineEntry], list[BaselineError]]:
    """Every stored entry (sorted by profile, then test) and every file that was bad."""
    from ..baseline.store import BaselineError

    entries: list[BaselineEntry] = []
    errors: list[BaselineError] = []
    try:
        for item in store.entries(profile):
            if isinstance(item, BaselineError):
                errors.append(item)
            else:
                entries.append(item)
    except BaselineError as exc:  # the folder itself could not be listed
        errors.append(exc)
    entries.sort(key=lambda e: (e.profile, e.nodeid))
    return entries, errors


def report_bad_files(prog: str, errors: Sequence[BaselineError], err: TextIO) -> None:
    """One line ``<prog>: error: ...`` on ``err`` for each baseline file that was bad."""
    for error in errors:
        print(f"{prog}: error: {one_line(str(error))}", file=err)


def where(args: argparse.Namespace) -> str:
    """``.perfbaseline`` or ``profile ci in .perfbaseline``, for messages."""
    return f"profile {args.profile} in {args.dir}" if args.profile else str(args.dir)


def nothing_stored(args: argparse.Namespace, store: BaselineStore) -> str:
    """Why there is nothing to list: no folder, no such profile (naming those there), or empty."""
    root = Path(args.dir)
    if not root.exists():
        return f"no baselines: {root} does not exist (pytest --perf-baseline=save creates it)"
    from ..baseline.store import BaselineError

    try:
        profiles = store.profiles()
    except BaselineError:
        profiles = []  # already reported: the folder cannot be listed
    if args.profile and profiles:
        return (
            f"no baselines of profile {args.profile} in {root} "
            f"(profiles there: {', '.join(profiles)})"
        )
    return f"no baselines stored in {where(args)}"
