"""The regression gate: has a metric got worse by more than its threshold, beyond doubt?

:mod:`.judge` is the entry point the plugin and the CLI share (the session's policy);
:mod:`.compare` compares one metric and one test; :mod:`.confirm` judges a re-measurement;
:mod:`.messages` words the failure; :mod:`.rounds` says how many rounds a comparison needs;
:mod:`.settings` parses thresholds, gates and markers; :mod:`.machine` tells a busy machine
from slowed code. docs/gate.md explains the method.
"""
