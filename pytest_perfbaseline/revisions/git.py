"""The git side of an A/B across revisions: where the repository is, what a revision names,
and REF's tree checked out in a temporary worktree that is always removed again."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "GitError",
    "Revision",
    "Terminated",
    "repository_root",
    "resolve",
    "sigterm_unwinds",
    "worktree",
]


class GitError(Exception):
    """git is missing, this is no repository, or a revision names no commit: a usage error."""


class Terminated(BaseException):
    """SIGTERM arrived (CI cancelling the job): raised to unwind as Ctrl-C does, cleaning up."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` (so ``finally`` blocks run: the
    worktree is removed) instead of killing the process; the previous handler is restored on
    the way out. Only in the main thread, where Python runs signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _git(args: list[str], cwd: Path) -> str:
    """``git ARGS`` in ``cwd``: its stdout, stripped; GitError with git's own words if it fails."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise GitError(lines[-1] if lines else f"git {' '.join(args)} failed")
    return done.stdout.strip()


def repository_root(cwd: Path) -> Path:
    """The top folder of the git working tree ``cwd`` is in."""
    try:
        return Path(_git(["rev-parse", "--show-toplevel"], cwd))
    except GitError as exc:
        raise GitError(f"{cwd} is not in a git working tree ({exc})") from None


@dataclass(frozen=True)
class Revision:
    """A revision as the user named it and the commit it resolved to."""

    name: str
    commit: str

    def __str__(self) -> str:
        short = self.commit[:12]
        return self.name if self.name == short else f"{self.name} ({short})"


def resolve(ref: str, root: Path) -> Revision:
    """The commit ``ref`` names in the repository at ``root``."""
    if not ref or ref.startswith("-"):
        raise GitError(f"{ref!r} is not a revision")
    try:
        commit = _git(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], root
        )
    except GitError:
        commit = ""
    if not commit:
        raise GitError(f"unknown revision {ref!r}: no commit of this repository has that name")
    return Revision(ref, commit)


@contextmanager
def worktree(root: Path, revision: Revision) -> Iterator[Path]:
    """REF's tree, checked out detached in a temporary worktree of the repository at ``root``.

    Removed on the way out whatever happens (an error, Ctrl-C, SIGTERM under
    :func:`sigterm_unwinds`): ``git worktree remove
    --force``, then ``git worktree prune`` so the repository keeps no record of it.
    """
    parent = Path(tempfile.mkdtemp(prefix="perfbaseline-ab-"))
    path = parent / "ref"
    try:
        _git(["worktree", "add", "--detach", "--quiet", str(path), revision.commit], root)
        yield path
    finally:
        with _no_interrupt():
            _git_quietly(["worktree", "remove", "--force", str(path)], root)
            shutil.rmtree(parent, ignore_errors=True)
            _git_quietly(["worktree", "prune"], root)


@contextmanager
def _no_interrupt() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM for the moment it takes to remove the worktree: a second
    one while unwinding from the first must not leave it registered in the repository."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _git_quietly(args: list[str], cwd: Path) -> None:
    """``git ARGS`` whose failure is no error: cleaning up what may be half made."""
    subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, check=False, stdin=subprocess.DEVNULL
    )
