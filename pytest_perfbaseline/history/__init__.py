"""Run history: what past sessions measured, and what can be read from it.

:mod:`.analysis` finds change points and slow drift in a metric's series over runs;
:mod:`.recommend` turns runs (``--perf-json`` reports, newest last) into recommendations. Both
are pure functions over plain data, imported only when used.
"""
