"""One DB-API code path over SQLite (stdlib ``sqlite3``) and PostgreSQL (psycopg 3).

The store writes its SQL once, with ``?`` placeholders and portable types; :class:`Database`
is the one place that knows the differences: the placeholder style, the names of three column
types, how a write transaction starts, how the schema is locked against a concurrent
migration, and how a driver's error becomes one line. psycopg is imported only when a
PostgreSQL store is opened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from .location import StoreLocation

__all__ = [
    "BUSY_TIMEOUT_S",
    "CONNECT_TIMEOUT_S",
    "Database",
    "HistoryError",
    "StoreMissing",
    "connect",
]

BUSY_TIMEOUT_S = 10.0
"""How long a SQLite writer waits for another one to finish its transaction."""
CONNECT_TIMEOUT_S = 3
"""How long opening a PostgreSQL connection may take before the store is given up."""
_SCHEMA_LOCK = 0x70657266  # pg_advisory_xact_lock key: one migration at a time, per database

_TYPES = {
    "sqlite": {"blob": "BLOB", "float": "REAL", "bigint": "INTEGER"},
    "postgresql": {"blob": "BYTEA", "float": "DOUBLE PRECISION", "bigint": "BIGINT"},
}


class HistoryError(Exception):
    """The history store could not be opened, read or written; the message is one line."""


class StoreMissing(HistoryError):
    """A SQLite store that does not exist yet (nothing was recorded there)."""


class Database:
    """A connection to a history store: SQL with ``?`` placeholders, run on either backend."""

    def __init__(self, raw: Any, location: StoreLocation) -> None:
        self.raw = raw
        self.location = location
        self.backend = location.backend
        self.types = _TYPES[self.backend]
        """Column type names for DDL: ``{blob}``, ``{float}``, ``{bigint}``."""

    def _sql(self, text: str) -> str:
        # psycopg's placeholder is %s (and a literal % must be doubled); the store's SQL has
        # no % of its own, so the swap is exact.
        return text.replace("?", "%s") if self.backend == "postgresql" else text

    def execute(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; its rows (empty for statements that return none)."""
        with self._errors():
            cursor = self.raw.cursor()
            try:
                if params:
                    cursor.execute(self._sql(text), tuple(params))
                else:
                    cursor.execute(self._sql(text))
                return list(cursor.fetchall()) if cursor.description is not None else []
            finally:
                cursor.close()

    def executemany(self, text: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement per row of ``rows``."""
        with self._errors():
            cursor = self.raw.cursor()
            try:
                cursor.executemany(self._sql(text), [tuple(row) for row in rows])
            finally:
                cursor.close()

    @contextmanager
    def transaction(self, *, schema_lock: bool = False) -> Iterator[None]:
        """One transaction: committed when the block ends, rolled back if it raises.

        On SQLite it takes the write lock at once (``BEGIN IMMEDIATE``), so two writers queue
        on the busy timeout instead of failing to upgrade a read lock. ``schema_lock``: also
        serialise with other migrations (PostgreSQL's DDL is not protected by a table lock).
        """
        self.execute("BEGIN IMMEDIATE" if self.backend == "sqlite" else "BEGIN")
        try:
            if schema_lock and self.backend == "postgresql":
                self.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
            yield
        except BaseException:
            # if the connection is gone, the server rolls the transaction back itself
            with suppress(HistoryError):
                self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def table_exists(self, name: str) -> bool:
        """Whether the store has a table called ``name``."""
        if self.backend == "sqlite":
            rows = self.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            )
            return bool(rows)
        return self.execute("SELECT to_regclass(?)", (name,))[0][0] is not None

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back)."""
        with suppress(Exception):  # closing a broken connection: nothing left to release
            self.raw.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        with driver_errors(self.location):
            yield


@contextmanager
def driver_errors(location: StoreLocation) -> Iterator[None]:
    """Turn a driver's error into a one-line :class:`HistoryError` naming the store."""
    try:
        yield
    except sqlite3.Error as exc:
        raise HistoryError(f"{location.describe()}: {_first_line(exc)}") from None
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != "psycopg":
            raise
        raise HistoryError(f"{location.describe()}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def connect(location: StoreLocation, *, create: bool) -> Database:
    """Open the store; ``create``: make a missing SQLite file (and its folder).

    HistoryError (one line) when it cannot be opened; StoreMissing for a SQLite file that
    does not exist when ``create`` is false.
    """
    if location.backend == "sqlite":
        return _connect_sqlite(location, create=create)
    return _connect_postgres(location)


def _connect_sqlite(location: StoreLocation, *, create: bool) -> Database:
    path = location.path
    if not path.exists():
        if not create:
            raise StoreMissing(f"{path} does not exist: no run has been recorded there")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    with driver_errors(location):
        # isolation_level=None: the store's own BEGIN / COMMIT, as on PostgreSQL.
        raw = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    db = Database(raw, location)
    try:
        # WAL: readers never block the writer; a killed writer's transaction is rolled back
        # on the next open. NORMAL sync is durable at every checkpoint, and safe in WAL mode.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    except HistoryError:
        db.close()
        raise
    return db


def _connect_postgres(location: StoreLocation) -> Database:
    try:
        import psycopg
    except ImportError:
        raise HistoryError(
            f"{location.describe()}: PostgreSQL needs psycopg "
            "(pip install 'pytest-perfbaseline[postgres]')"
        ) from None
    with driver_errors(location):
        raw = psycopg.connect(
            location.target,
            connect_timeout=CONNECT_TIMEOUT_S,
            autocommit=True,  # transactions are the store's own BEGIN / COMMIT
            application_name="pytest-perfbaseline",
        )
    return Database(raw, location)
