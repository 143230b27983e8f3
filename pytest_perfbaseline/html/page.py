"""Assembling one self-contained HTML document from its parts.

The data goes in a ``<script type="application/json">`` element and is read by the page's
script with ``JSON.parse``: untrusted strings (test ids, metric and model names) never become
markup. The JSON is escaped so that no text inside it can close the element.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["CHART_JS_VERSION", "data_json", "render_page", "static_text"]

CHART_JS_VERSION = "4.6.1"
"""The vendored Chart.js release (``static/chart.umd.min.js``)."""

_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


@cache
def static_text(name: str) -> str:
    """The text of the packaged file ``static/<name>``."""
    folder = resources.files(__package__).joinpath("static")
    return folder.joinpath(name).read_text(encoding="utf-8")


def _chart_js() -> str:
    # The bundle's last line names its source map; an inline script has no file beside it,
    # and a browser with developer tools open would ask for one.
    text = static_text("chart.umd.min.js")
    return "\n".join(
        line for line in text.splitlines() if not line.startswith("//# sourceMappingURL=")
    )


def data_json(data: Mapping[str, Any]) -> str:
    """``data`` as JSON safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.translate(_JSON_ESCAPES)


def render_page(
    *,
    title: str,
    data: Mapping[str, Any],
    script: str,
    style: str = "",
    body: str = "",
    charts: bool = True,
) -> str:
    """One offline HTML document.

    ``data`` is embedded as JSON in ``<script id="perf-data" type="application/json">``;
    ``script`` (the page's own JavaScript) runs after the chart bundle and reads it; ``style``
    follows the shared ``kit.css``; ``body`` is trusted markup written by this package (never
    user strings). ``charts=False`` leaves the chart bundle out.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # nothing on the page may reach the network, even by accident
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
        "connect-src 'self'\">",
        f"<title>{html.escape(title)}</title>",
        f"<style>{static_text('kit.css')}\n{style}</style>",
        "</head>",
        "<body>",
        body,
        f'<script id="perf-data" type="application/json">{data_json(data)}</script>',
    ]
    if charts:
        parts.append(f"<script>{_chart_js()}</script>")
    parts.append(f"<script>{static_text('kit.js')}\n{script}</script>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
