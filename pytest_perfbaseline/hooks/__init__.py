"""The plugin objects pytest calls, and the options they run with.

:class:`~.measuring.PerfMeasurer` runs on every process (each pytest-xdist worker included):
it makes each test's ``perf`` and judges its result in the call phase.
:class:`~.reporting.PerfReporter` runs on the controller only: it saves baselines and writes
every report. :mod:`.options` declares and reads the flags; :mod:`.context` holds what both
share. ``pytest_perfbaseline.plugin`` registers them.
"""
