"""Measuring a workload: the rounds loop, per-chunk timestamps, spans, and a round's metrics.

:class:`~.perf.Perf` runs the rounds; :class:`~.recorder.Recorder` and
:class:`~.recorder.TimedStream` timestamp chunks on the hot path; :mod:`.spans` attributes
time and calls to phases, agents and operations; :mod:`.compute` turns a finished round into
its metric values. Nothing here knows about pytest.
"""
