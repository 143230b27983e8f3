"""What a measurement is made of: metric names and kinds, a test's result, summaries.

:mod:`.names` (a metric's structured name, unit and direction), :mod:`.result` (the one
result type of a test), :mod:`.summary` (descriptive statistics), :mod:`.histogram`
(inter-token gap histograms), :mod:`.formatting` (numbers for people). Pure Python, and it
imports no other package of the project.
"""
