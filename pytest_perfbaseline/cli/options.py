"""Building blocks of the command line: one :class:`Command` per command, shared options.

A command module describes itself with a :class:`Command` (name, help, arguments, what runs),
so adding a command touches that module and the list in :mod:`.app`. ``--dir`` and
``--profile`` are shared by every command that reads the store; :func:`typed` turns the
plugin's settings parsers into argparse types, so both read values alike.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

from ..gate.settings import SettingError
from .common import DEFAULT_DIR

__all__ = ["Command", "Run", "store_options", "typed"]

Run = Callable[[argparse.Namespace, TextIO, TextIO], int]
"""What a command does: ``run(args, out, err)`` returns the exit status."""

_T = TypeVar("_T")
_P = TypeVar("_P", bound=argparse.ArgumentParser)


@dataclass(frozen=True)
class Command:
    """One ``perfbaseline`` command: its help, its arguments and what it runs."""

    name: str
    summary: str
    """One line, lower case, no full stop: the command list's entry and its description."""
    epilog: str
    """Shown after the options; ``{prog}`` is the top-level program name."""
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Run

    def add_to(self, commands: argparse._SubParsersAction[_P], prog: str) -> None:
        """Add this command's parser to ``commands``."""
        parser = commands.add_parser(
            self.name,
            help=self.summary,
            description=self.summary[0].upper() + self.summary[1:] + ".",
            epilog=self.epilog.format(prog=prog),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        self.add_arguments(parser)
        parser.set_defaults(run=self.run)


def store_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """``--dir`` and ``--profile``: where the baselines are."""
    # Accepted before and after the command: `perfbaseline --dir X list` and
    # `perfbaseline list --dir X`. After it, SUPPRESS keeps an option that is not given
    # from overwriting one given before it.
    dir_default = argparse.SUPPRESS if after_command else DEFAULT_DIR
    profile_default = argparse.SUPPRESS if after_command else None
    parser.add_argument(
        "--dir",
        metavar="DIR",
        default=dir_default,
        help=f"the baseline folder (default: {DEFAULT_DIR} in the current directory)",
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=profile_default,
        help="only this profile (default: every profile in the folder)",
    )


def typed(parse: Callable[[Any, str], _T], what: str) -> Callable[[str], _T]:
    """An argparse ``type=`` from one of the settings parsers (their messages say what's ok)."""

    def convert(text: str) -> _T:
        try:
            return parse(text, what)
        except SettingError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = what
    return convert
