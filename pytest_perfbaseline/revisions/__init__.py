"""A/B across git revisions: ``perfbaseline ab REF``.

REF is checked out in a temporary git worktree (:mod:`.git`); the perf tests of REF's tree
and of the working tree (uncommitted changes included) run in alternating pytest sessions
(:mod:`.runner`, :mod:`.job`); each side's sessions are pooled with the session as a block
and the drift between sessions allowed for (:mod:`.pooling`), and the baseline gate judges
the working tree against REF (``cli/ab.py``).
"""

from __future__ import annotations

from .git import GitError, Revision, Terminated, repository_root, resolve, sigterm_unwinds, worktree
from .job import Job, Side, run_job
from .pooling import PooledSide, pair_allowance, pool_side, pooled_pair
from .runner import REF, WORKING, Plan, SessionError, SessionRun, Tree, import_paths, schedule

__all__ = [
    "REF",
    "WORKING",
    "GitError",
    "Job",
    "Plan",
    "PooledSide",
    "Revision",
    "SessionError",
    "SessionRun",
    "Side",
    "Terminated",
    "Tree",
    "import_paths",
    "pair_allowance",
    "pool_side",
    "pooled_pair",
    "repository_root",
    "resolve",
    "run_job",
    "schedule",
    "sigterm_unwinds",
    "worktree",
]
