"""Writing a session's report files: ``--perf-json``, ``--perf-html``, ``--perf-csv``,
``--perf-markdown`` and the GitHub step summary, each rendered from the one
:class:`~.run.RunReport`.

A file that cannot be written is reported, never raised: the tests' results stand. A report
replaces only a regular file: whatever else is at its path (a symbolic link, a FIFO, a device
such as ``/dev/null``, a folder) is left alone and reported.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..events import emit
from ..files import not_a_regular_file, write_atomically

if TYPE_CHECKING:
    from .run import RunReport

__all__ = ["Document", "Outputs", "relative", "write_reports"]

Document = Callable[[], Mapping[str, Any]]
"""Returns the run report's JSON document (:func:`.json_report.report_to_dict`)."""

# GitHub refuses a step summary over 1 MiB; beyond this, the folded per-metric rows are left out.
STEP_SUMMARY_BUDGET = 768 * 1024


@dataclass
class Outputs:
    """What writing the reports did: a line per file written, a line per failure."""

    written: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when it is inside it, for short messages."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _renderer(option: str, document: Document | None) -> Callable[[RunReport], str]:
    """The function that renders a report file, imported only when that file is asked for."""
    if option == "--perf-json":
        from .json_report import dumps

        if document is not None:
            return lambda report: dumps(report, document())
        return dumps
    if option == "--perf-html":
        from .html_report import render_html

        if document is not None:
            return lambda report: render_html(report, document())
        return render_html
    if option == "--perf-csv":
        from .csv_report import render_csv

        return render_csv
    from .markdown import render_markdown

    return render_markdown


def write_reports(
    report: RunReport,
    paths: Mapping[str, Path],
    step_summary: str | None,
    root: Path,
    *,
    document: Document | None = None,
) -> Outputs:
    """Write each report file (``{option: path}``) and append to the step summary, if any.

    ``document`` returns the report's JSON document (built once per session, shared with the
    run history); without it the ``--perf-json`` and ``--perf-html`` files build their own.
    """
    outputs = Outputs()
    for option, path in paths.items():
        started = time.perf_counter()
        # Checked at start-up too, but the path may have changed during the session.
        kind = not_a_regular_file(path)
        if kind is not None:
            outputs.errors.append(
                f"{option}: {path} is {kind}, not a regular file; it was left alone "
                "(remove it, or give the path of a regular file or a new one)"
            )
            emit("report not written", str(path), outputs.errors[-1], level=logging.WARNING)
            continue
        try:
            write_atomically(path, _renderer(option, document)(report))
        except OSError as exc:
            outputs.errors.append(f"{option}: cannot write {path}: {exc.strerror or exc}")
            emit("report not written", str(path), outputs.errors[-1], level=logging.WARNING)
            continue
        outputs.written.append(f"{option} report: {relative(path, root)}")
        emit(
            "report written",
            str(path),
            f"wrote the {option} report to {path}",
            duration_s=time.perf_counter() - started,
        )
    if step_summary:
        _append_step_summary(report, step_summary, outputs)
    return outputs


def _append_step_summary(report: RunReport, step_summary: str, outputs: Outputs) -> None:
    from .markdown import render_markdown

    summary = render_markdown(report)
    if len(summary.encode()) > STEP_SUMMARY_BUDGET:
        summary = render_markdown(report, details=False)
    try:  # appending is how GitHub collects the step summary
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(summary + "\n")
    except OSError as exc:
        outputs.errors.append(
            f"GITHUB_STEP_SUMMARY: cannot append to {step_summary}: {exc.strerror or exc}"
        )
    else:
        outputs.written.append("GitHub step summary")
        emit("report written", step_summary, "appended the summary to GITHUB_STEP_SUMMARY")
