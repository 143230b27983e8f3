"""The run history: every perf session's run, kept in SQLite or PostgreSQL, and what it shows.

:mod:`.store` holds :class:`~.store.HistoryStore` and :func:`~.store.load_reports` (stored
runs as ``--perf-json`` report dicts, newest last); :mod:`.session` records a session's run;
:mod:`.commands` is ``perfbaseline history``. :mod:`.analysis` finds change points and slow
drift in a metric's series over runs; :mod:`.recommend` turns runs into recommendations (pure
functions over plain data). Nothing here is imported by the plugin at start-up: the session
imports it at its end, and psycopg only for a PostgreSQL store.
"""

from __future__ import annotations
