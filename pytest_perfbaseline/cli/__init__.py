"""The ``perfbaseline`` command: look at stored baselines, gate two reports, prune, plan rounds.

``perfbaseline list | show | compare | prune | power`` (also ``python -m pytest_perfbaseline``);
docs/cli.md is the reference. Built on the core modules only, never on pytest: ``compare`` is
the same gate as ``pytest --perf-compare``, run offline on two ``--perf-json`` reports.

Exit status: 0 success (``compare``: no regression), 1 a regression (``compare``) or a baseline
file that could not be read or written (``list``, ``show``, ``prune``), 2 a usage error (bad
option, missing or unreadable report, no such test). Every error is one line on stderr.

One module per command (:mod:`.listing`, :mod:`.show`, :mod:`.compare`, :mod:`.prune`,
:mod:`.power`), each with its own arguments and help; :mod:`.app` builds the parser and runs
them; :mod:`.common` and :mod:`.options` hold what they share. Start-up stays light: numpy,
scipy and tabulate are imported only by the commands that print tables or do statistics, so
``--help`` is instant.
"""

from __future__ import annotations

from .app import main

__all__ = ["main"]
