"""``perfbaseline dashboard --serve``: the dashboard over HTTP, with new runs and live progress.

A stdlib ``ThreadingHTTPServer`` serves the page (``/``), the dashboard's JSON (``/api/data``)
and, for the page's polling, a small state (``/api/state``): a key that changes when a run is
recorded, and the progress of running sessions (``history/live.py``). The data is rebuilt only
when the key changed. Bound to a loopback address, it answers only requests addressed to one
(a web page elsewhere cannot reach it through a DNS name that points here).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .backends import HistoryError
from .dashboard import dashboard_data, dashboard_page
from .live import read_live
from .store import HistoryStore, RunFilter

__all__ = ["DashboardServer", "DataSource", "is_loopback"]

_LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host.lower() in _LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class DataSource:
    """Reads the store: its current key, and the dashboard data (rebuilt when the key moves).

    ``open_store`` opens the store (one connection per call: requests come on threads);
    ``selection`` says which runs, given the open store.
    """

    open_store: Callable[[], HistoryStore]
    selection: Callable[[HistoryStore], RunFilter]
    live_folder: Path | None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._key: str | None = None
        self._data: dict[str, Any] = {}

    def _current_key(self, store: HistoryStore) -> str:
        runs = store.runs(self.selection(store))
        return f"{len(runs)}:{runs[-1].run_id if runs else ''}"

    def data(self) -> dict[str, Any]:
        """The dashboard data of the runs now in the store."""
        with self._lock, self.open_store() as store:
            key = self._current_key(store)
            if key != self._key:
                self._data = dashboard_data(store, self.selection(store))
                self._data["key"] = self._key = key
            return self._data

    def state(self) -> dict[str, Any]:
        """The store's key and the running sessions' progress."""
        with self.open_store() as store:
            key = self._current_key(store)
        live = read_live(self.live_folder) if self.live_folder is not None else []
        return {"key": key, "live": live}


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "perfbaseline"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal shows the URL and warnings, not every poll

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        self._send(status, text.encode("utf-8"), "application/json")

    def _host_allowed(self) -> bool:
        if not self.server.loopback_only:
            return True
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return is_loopback(name)

    def do_GET(self) -> None:
        if not self._host_allowed():
            self._json(403, {"error": "this server answers requests to a loopback address"})
            return
        path = self.path.split("?", 1)[0]
        source = self.server.source
        try:
            if path == "/":
                page = dashboard_page(source.data(), live=True)
                self._send(200, page.encode("utf-8"), "text/html; charset=utf-8")
            elif path == "/api/data":
                self._json(200, source.data())
            elif path == "/api/state":
                self._json(200, source.state())
            else:
                self._json(404, {"error": f"no such page: {path}"})
        except HistoryError as exc:
            self._json(503, {"error": str(exc)})

    do_HEAD = do_GET


class DashboardServer(ThreadingHTTPServer):
    """The dashboard server; ``serve_forever`` runs it, ``shutdown`` (from another thread)
    stops it."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], source: DataSource) -> None:
        self.source = source
        self.loopback_only = is_loopback(address[0])
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"
