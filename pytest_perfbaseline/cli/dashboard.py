"""``perfbaseline dashboard``: the run history as one offline HTML file, or served live.

``-o FILE.html`` writes the page (``history/dashboard.py``); ``--serve`` serves it over HTTP
(``history/serve.py``), where new runs appear without a reload and running sessions show
their progress. A store that cannot be opened, a file that cannot be written, an address that
cannot be bound: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from .common import EXIT_OK, CommandError, plural
from .options import Command

__all__ = ["COMMAND"]

_EPILOG = """\
The page is one self-contained file (no network access): per test, a chart of a metric's
medians over runs with change points, verdicts and baseline versions marked; cost over time
by model and agent; the recommendations; filters by branch, profile, test and date window.
--serve serves the same page on a loopback address by default; it polls the server, shows
new runs as they are recorded, and the progress of running pytest sessions. Ctrl-C stops it.

exit status: 0 success, 2 usage error, a store that cannot be read or a file that cannot be
written.

examples:
  {prog} dashboard -o perf-dashboard.html
  {prog} dashboard --branch main --since 30d -o main.html
  {prog} dashboard --serve --port 8765
  {prog} dashboard --serve --history postgresql://ci@db.example/perf"""


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535 (0: any free one), got {text!r}")
    return int(text)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..history.commands import filter_options, store_option

    store_option(parser)
    filter_options(parser)
    parser.add_argument("-o", "--output", metavar="FILE.html", help="write the page to FILE")
    parser.add_argument("--serve", action="store_true", help="serve the page live over HTTP")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address --serve listens on (default 127.0.0.1: this machine only)",
    )
    parser.add_argument(
        "--port", type=_port, default=0, help="the port --serve listens on (default 0: any free)"
    )


def _write(args: argparse.Namespace, out: TextIO) -> int:
    from ..files import write_atomically
    from ..history.backends import HistoryError
    from ..history.commands import open_store, selection
    from ..history.dashboard import dashboard_data, dashboard_page

    with open_store(args) as store:
        try:
            data = dashboard_data(store, selection(args, store))
        except HistoryError as exc:
            raise CommandError(str(exc)) from None
    page = dashboard_page(data)
    try:
        write_atomically(Path(args.output), page)
    except OSError as exc:
        raise CommandError(f"cannot write {args.output}: {exc}") from None
    runs, tests = len(data["runs"]["id"]), len(data["tests"])
    print(
        f"wrote {args.output}: {plural(runs, 'run')}, {plural(tests, 'test')} "
        f"({len(page.encode('utf-8')) / 1e6:.1f} MB)",
        file=out,
    )
    return EXIT_OK


def _serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..history.commands import DEFAULT_HISTORY, open_store, selection, store_location
    from ..history.live import live_folder
    from ..history.serve import DashboardServer, DataSource, is_loopback

    location = store_location(args)
    open_store(args).close()  # a missing or unreadable store: say so now, not per request
    source = DataSource(
        open_store=lambda: open_store(args),
        selection=lambda store: selection(args, store),
        live_folder=live_folder(location, DEFAULT_HISTORY.parent),
    )
    try:
        server = DashboardServer((args.host, args.port), source)
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host} port {args.port}: {exc}") from None
    try:
        if not is_loopback(args.host):
            print(
                f"warning: listening on {args.host}, reachable from the network: anyone who "
                "can reach this machine can read the run history",
                file=err,
                flush=True,
            )
        print(f"serving the dashboard of {location.describe()} at {server.url}", file=out)
        print("Ctrl-C stops it", file=out, flush=True)
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        print("stopped", file=out)
    finally:
        server.server_close()
    return EXIT_OK


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.serve == bool(args.output):
        raise CommandError("give -o FILE.html (a file) or --serve (live), one of them", hint=True)
    if args.serve:
        return _serve(args, out, err)
    return _write(args, out)


COMMAND = Command(
    "dashboard",
    "the run history as an HTML dashboard: a file (-o) or served live (--serve)",
    _EPILOG,
    _add_arguments,
    _run,
)
