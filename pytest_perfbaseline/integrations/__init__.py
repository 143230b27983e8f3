"""Optional exports of a perf session to other tools, each behind its own extra and flag.

Nothing here is imported unless its flag is given: the tools' packages stay off pytest's
start-up.
"""
