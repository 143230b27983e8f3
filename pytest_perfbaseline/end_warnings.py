"""Trouble said once, on a line of its own at the end of the terminal summary.

What goes wrong after the tests ran -- the run history not recorded, the MLflow run not
logged, the OpenTelemetry metrics not exported -- never fails the run and is never a traceback:
it is a WARNING event (:mod:`.events`) and one ``perfbaseline: warning: ...`` line. The line
waits for the summary because at session end the terminal may still be on its progress line;
without a terminal reporter it goes to stderr at once.
"""

from __future__ import annotations

import logging
import sys

import pytest

from .events import emit

__all__ = ["end_warnings", "warn_at_end"]

_KEY = pytest.StashKey[list[str]]()


def warn_at_end(config: pytest.Config, action: str, message: str) -> None:
    """Log ``action`` at WARNING and keep ``message``'s line for the terminal summary."""
    emit(action, "", message, level=logging.WARNING)
    line = f"perfbaseline: warning: {message}"
    if config.pluginmanager.get_plugin("terminalreporter") is not None:
        config.stash.setdefault(_KEY, []).append(line)
    else:
        print(line, file=sys.stderr)


def end_warnings(config: pytest.Config) -> list[str]:
    """The lines kept for the terminal summary, in the order they were said."""
    return config.stash.get(_KEY, [])
