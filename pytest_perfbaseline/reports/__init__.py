"""Reports, all derived from the one :class:`~.run.RunReport` built at the session's end.

:mod:`.json_report` (``--perf-json``, read back by ``perfbaseline compare``),
:mod:`.csv_report`, :mod:`.markdown` (also the GitHub step summary), :mod:`.terminal` (the
summary after the tests), :mod:`.junit` (JUnit XML properties); :mod:`.outputs` writes the
files.
"""
