"""Structured log events on the ``pytest_perfbaseline`` logger.

Every event is one record at INFO (WARNING for trouble) whose message is a human sentence and
whose record carries machine-readable fields: ``action`` (what happened), ``target`` (what it
happened to: a test id, a file, a folder), ``duration_s`` where it applies, and any details.
Show them with pytest's ``--log-cli-level=INFO``; collect them with any logging handler, e.g.
a JSON formatter reading ``record.action``.

Actions: ``compared``, ``verdict``, ``re-measured``, ``baseline saved``, ``baseline not saved``,
``baseline partly saved`` (a save interrupted by Ctrl-C), ``baseline not loaded``, ``report
written``, ``report not written``.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["LOGGER_NAME", "emit", "enabled", "logger"]

LOGGER_NAME = "pytest_perfbaseline"
logger = logging.getLogger(LOGGER_NAME)


def enabled(level: int = logging.INFO) -> bool:
    """Whether an event at ``level`` would be logged: a caller on a hot path checks this
    before it formats the event's message and fields (nobody listens by default)."""
    return logger.isEnabledFor(level)


def emit(
    action: str,
    target: str,
    message: str,
    *,
    level: int = logging.INFO,
    duration_s: float | None = None,
    **details: Any,
) -> None:
    """Log one event: ``message`` for people, the keyword fields on the record for machines."""
    if not logger.isEnabledFor(level):
        return
    fields: dict[str, Any] = {"action": action, "target": target, **details}
    if duration_s is not None:
        fields["duration_s"] = duration_s
    logger.log(level, message, extra={"perfbaseline": fields, **fields})
