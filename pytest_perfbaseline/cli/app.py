"""The ``perfbaseline`` program: its parser (one sub-parser per command) and :func:`main`.

Each command lives in its own module and describes itself with a :class:`.options.Command`;
:data:`COMMANDS` lists them in the order ``--help`` shows them. :func:`main` turns every
user error into one line on stderr and an exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..history import commands as history_commands
from . import ab, compare, dashboard, listing, power, prune, recommend, show
from .common import EXIT_FAILED, EXIT_USAGE, CommandError, one_line
from .options import Command, Run, store_options

__all__ = ["COMMANDS", "PROG", "main"]

PROG = "perfbaseline"

COMMANDS: tuple[Command, ...] = (
    listing.COMMAND,
    show.COMMAND,
    compare.COMMAND,
    prune.COMMAND,
    power.COMMAND,
    history_commands.COMMAND,
    recommend.COMMAND,
    ab.COMMAND,
    dashboard.COMMAND,
)

_DESCRIPTION = """\
Inspect the stored performance baselines of pytest-perfbaseline (.perfbaseline/), gate two
--perf-json reports offline, prune old entries, and plan how many rounds a test needs."""

_EPILOG = """\
--dir and --profile may also be given after the command (list, show and prune use them).

exit status: 0 success, 1 regression (compare) or a bad baseline file, 2 usage error.
'{prog} COMMAND --help' describes each command."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and whose exit goes through :func:`main`."""

    def error(self, message: str) -> NoReturn:
        raise CommandError(message, prog=self.prog, hint=True)


def _parser(prog: str) -> _Parser:
    parser = _Parser(
        prog=prog,
        description=_DESCRIPTION,
        epilog=_EPILOG.format(prog=prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    store_options(parser, after_command=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_to(commands, prog)
    return parser


def _split_passed_on(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """``ab REF [options] -- PYTEST_ARGS``: the words before ``--``, and those after it when
    the command passes them on (None otherwise: ``--`` is then argparse's as usual)."""
    if "--" not in argv:
        return argv, None
    cut = argv.index("--")
    if ab.COMMAND.name not in argv[:cut]:
        return argv, None
    return argv[:cut], argv[cut + 1 :]


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """Run ``perfbaseline`` with ``argv`` (default: the process's arguments); the exit status.

    Never raises for user errors: they are printed as one line on stderr (status 2).
    """
    out, err = sys.stdout, sys.stderr
    parser = _parser(prog)
    where = prog
    try:
        try:
            words, passed_on = _split_passed_on(list(sys.argv[1:] if argv is None else argv))
            args = parser.parse_args(words)
        except SystemExit as exc:  # --help (0); argparse's own exits
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        where = args.prog = f"{prog} {args.command}"
        args.top_prog = prog
        if passed_on is not None:
            args.pytest_args = passed_on
        run: Run = args.run
        return run(args, out, err)
    except CommandError as exc:
        where = exc.prog or where
        hint = f" (see {where} --help)" if exc.hint else ""
        print(f"{where}: error: {one_line(exc.message)}{hint}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=err)
        return 130
    except BrokenPipeError:
        # `perfbaseline list | head`: the reader left. Point stdout at devnull so Python's
        # final flush does not complain a second time.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
        except (OSError, ValueError, AttributeError):
            pass  # not a real file (captured): nothing will be flushed to a closed pipe
        return EXIT_FAILED
