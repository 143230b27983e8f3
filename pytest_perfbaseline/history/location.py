"""Where the run history lives: ``off``, ``sqlite:///PATH`` or ``postgresql://...``.

Parsed from ``--perf-history`` / ini ``perf_history`` and from the commands' ``--history``; the
one place that knows the accepted spellings, so both read them alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

__all__ = ["DEFAULT_FILE", "LocationError", "StoreLocation", "parse_location"]

DEFAULT_FILE = Path("perfbaseline") / "history.sqlite"
"""The default store, relative to pytest's cache folder (``.pytest_cache/d/``)."""

_ACCEPTED = "'off', 'sqlite:///PATH' or 'postgresql://USER@HOST/DB'"
_POSTGRES_SCHEMES = ("postgresql", "postgres")


class LocationError(ValueError):
    """A history location that is not one of the accepted forms; the message says which are."""


@dataclass(frozen=True)
class StoreLocation:
    """A history store: a SQLite file or a PostgreSQL connection URL."""

    backend: Literal["sqlite", "postgresql"]
    target: str
    """The file's path (SQLite) or the connection URL (PostgreSQL)."""

    @property
    def path(self) -> Path:
        """The SQLite file (only for the ``sqlite`` backend)."""
        return Path(self.target)

    def describe(self) -> str:
        """The location for messages: a path, or the URL without its password."""
        if self.backend == "sqlite":
            return self.target
        parts = urlsplit(self.target)
        netloc = parts.netloc
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.partition(':')[0]}@{host}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def label(self) -> str:
        """A short name for pages: the SQLite file's name, or the URL without credentials
        (user and password), query and fragment."""
        if self.backend == "sqlite":
            return self.path.name
        parts = urlsplit(self.target)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))


def parse_location(text: str, origin: str, *, base: Path | None = None) -> StoreLocation | None:
    """``text`` as a store location, None for ``off``; LocationError naming ``origin``.

    A relative SQLite path (``sqlite:///history.db``, three slashes) is taken relative to
    ``base`` (default: the current folder); ``sqlite:////abs/path`` is absolute.
    """
    value = text.strip()
    if value.lower() in ("off", "no", "false", "0", "none"):
        return None
    scheme, sep, rest = value.partition("://")
    scheme = scheme.lower()
    if sep and scheme == "sqlite":
        if not rest.startswith("/") or len(rest) < 2:
            raise LocationError(f"{origin} {text!r}: give the file as sqlite:///PATH")
        path = Path(rest[1:])
        if not path.is_absolute() and base is not None:
            path = base / path
        return StoreLocation("sqlite", str(path))
    if sep and scheme in _POSTGRES_SCHEMES:
        if not re.fullmatch(r"[^\s]+", rest):
            raise LocationError(f"{origin} {text!r}: not a PostgreSQL connection URL")
        return StoreLocation("postgresql", "postgresql://" + rest)
    raise LocationError(f"{origin} must be {_ACCEPTED}, got {text!r}")
