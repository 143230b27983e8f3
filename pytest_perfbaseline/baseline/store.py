"""The ``.perfbaseline/`` store: one deterministic JSON file per test module per profile.

Layout::

    .perfbaseline/
        .gitignore                      written when the folder is created: ignores the two below
        .lock                           the filelock every writer holds (may come and go)
        linux-x86_64-2cpu/              a profile: baselines of one kind of machine
            tests/test_chat.py.json     the baselines of every test in tests/test_chat.py

Which file holds a test is decided in :mod:`.paths`, the file format in :mod:`.codec` (its
text in :mod:`.jsontext`), and how a test's result is laid out as an entry in :mod:`.entries`;
what loading and saving give back (entries, errors, save reports) is in :mod:`.outcomes`.

Sessions: a test's entry keeps its last few saving sessions (newest last); :meth:`load`
pools them into one reference with per-metric drift allowances (see :mod:`.sessions`). A
save appends the new session and drops the oldest beyond the number kept, unless the new
session's performance level differs from the stored ones' (then it starts afresh, as it does
with ``fresh=True``).

Merging: re-saving a test replaces the keys of its entry that this plugin writes and keeps
the others (unknown keys *inside* a session go). Other tests' entries and the file's
unknown keys are rewritten with exactly the content they had.

Safety: every write happens under one ``filelock`` on ``<root>/.lock`` held around the whole
read-merge-write, re-reading each file fresh under the lock; a file is written atomically
(:func:`~pytest_perfbaseline.files.write_atomically`), so an interrupted save leaves the old
file intact. Ctrl-C stops a save at once: every file is either entirely old or entirely
new, and :class:`SaveInterrupted` says which were written. A bad file is reported as a
:class:`BaselineError` naming the file, the problem and the fix, and is never overwritten.
A save never writes outside the root: it refuses a symbolic link at the lock file, at a
baseline file, or at a folder that leads out of the root.
A file larger than :data:`MAX_FILE_BYTES` is refused before it is parsed.

A module path too long for a file name gets a shortened one (see :mod:`.paths`); its file
then records the module path under a top-level ``"module"`` key.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..files import TEMP_SUFFIX, TempFileLeftOver, write_atomically
from ..metrics.result import TestResult
from .codec import (
    FIX_BAD,
    SAVE_AGAIN,
    SCHEMA_VERSION,
    BadDocument,
    decode,
    empty_document,
    encode,
)
from .entries import (
    ENTRY_KEYS,
    SESSIONS_KEY,
    LazyColumns,
    entry_document,
    entry_environment,
    entry_infos,
    entry_result,
    entry_sessions,
)
from .environment import Environment
from .outcomes import BaselineEntry, BaselineError, SaveInterrupted, SaveReport, Tally
from .paths import (
    FILE_SUFFIX,
    check_profile,
    is_profile_name,
    join_nodeid,
    module_of_file,
    recorded_module,
    relative_file,
    split_nodeid,
)
from .sessions import DEFAULT_SESSIONS, SessionValues, level_changed, pool_values

__all__ = [
    "LOCK_TIMEOUT_S",
    "MAX_FILE_BYTES",
    "SCHEMA_VERSION",
    "BaselineEntry",
    "BaselineError",
    "BaselineStore",
    "SaveInterrupted",
    "SaveReport",
]

LOCK_TIMEOUT_S = 60.0
"""How long a save waits for another process's save to finish."""

MAX_FILE_BYTES = 64 * 1024 * 1024
"""The largest baseline file read (64 MiB): a test's entry takes a few KB, and parsing a
file hundreds of MB large would take minutes and gigabytes of memory."""

_LOCK_NAME = ".lock"
_GITIGNORE = (
    "# Written by pytest-perfbaseline: commit this folder, but not its lock file\n"
    "# or the temporary files of a save in progress.\n"
    f"{_LOCK_NAME}\n"
    f"*{TEMP_SUFFIX}\n"
)
_FIX_WRITE = (
    "make sure the folder is writable and the disk has space (or choose another folder with "
    f"--perf-baseline-dir), {SAVE_AGAIN}"
)
_FIX_PERMISSIONS = "check its permissions"
_FIX_LINK = (
    "baselines are written only inside the baseline folder: replace the link by a real "
    f"file or folder (or delete it), {SAVE_AGAIN}"
)
_FIX_NO_MODULE = (
    "pytest names a test this way when its file is outside the rootdir: run pytest with a "
    f"rootdir (--rootdir) that contains the test file, {SAVE_AGAIN}"
)
_MODULE_KEY = "module"

_Document = dict[str, Any]


def _identity(path: Path) -> tuple[int, ...] | None:
    """What tells one version of a file from another: a replaced file is a new inode."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _os_problem(action: str, exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    code = errno.errorcode.get(exc.errno, "") if exc.errno else ""
    where = f" ({exc.filename})" if exc.filename else ""
    return f"could not {action}: {reason}{f' [{code}]' if code else ''}{where}"


def _write_problem(exc: OSError) -> str:
    if isinstance(exc, TempFileLeftOver):
        return (
            _os_problem("write it", exc.error)
            + f"; its temp file {exc.temp} is left over ({exc.cleanup.strerror})"
        )
    return _os_problem("write it", exc)


def _merged(old: Mapping[str, Any], entries: Mapping[str, _Document]) -> _Document:
    """``old`` with ``entries`` (by key) saved into it, in the current schema."""
    tests = dict(old["tests"])
    for key, entry in entries.items():
        kept = {k: v for k, v in tests.get(key, {}).items() if k not in ENTRY_KEYS | {SESSIONS_KEY}}
        tests[key] = {**kept, **entry}
    return {**old, "schema": SCHEMA_VERSION, "tests": tests}


def _history(
    nodeid: str,
    stored: Sequence[Mapping[str, Any]],
    session: _Document,
    thresholds: Mapping[str, float] | None,
) -> tuple[list[Mapping[str, Any]], bool]:
    """A test's sessions after saving ``session``, and whether its history starts afresh."""
    if not stored:
        return [session], False
    if level_changed(
        [entry_result(nodeid, s) for s in stored], entry_result(nodeid, session), thresholds
    ):
        return [session], True
    return [*stored, session], False


def _link_text(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError as exc:
        return f"a target that cannot be read: {exc.strerror}"


def _with_module(path: Path, old: Mapping[str, Any], new: _Document, nodeid: str) -> _Document:
    """``new``, recording its module path if its file name was shortened (BaselineError if
    the file already records another module: two names shortened alike)."""
    module = recorded_module(nodeid)
    if module is None:
        return new
    if old.get(_MODULE_KEY, module) != module:
        raise BaselineError(
            path,
            f"holds the baselines of module {old[_MODULE_KEY]!r}, whose shortened file name "
            f"is the same as that of {module!r}",
            "shorten one of the two test paths",
        )
    return {**new, _MODULE_KEY: module}


def _baseline_files(base: Path) -> tuple[list[Path], list[BaselineError]]:
    """The baseline files under a profile folder, sorted, and the folders that could not be
    listed (a missing profile folder is not an error: it has no files)."""
    files: list[Path] = []
    unreadable: list[OSError] = []
    for folder, dirs, names in os.walk(base, onerror=unreadable.append):
        dirs.sort()
        files.extend(Path(folder, n) for n in sorted(names) if n.endswith(FILE_SUFFIX))
    errors = [
        BaselineError(
            Path(exc.filename or base), _os_problem("list the folder", exc), _FIX_PERMISSIONS
        )
        for exc in unreadable
        if not isinstance(exc, FileNotFoundError)  # no such profile (or it vanished)
    ]
    return files, errors


class BaselineStore:
    """The baselines of one profile under ``root`` (the ``.perfbaseline`` folder).

    Nothing is created until :meth:`save` has something to write. Reads are cached per
    file (the tests of one module share a file); writes re-read under the lock.
    """

    def __init__(self, root: Path, profile: str, *, lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self._root = Path(root)
        self._profile = check_profile(profile)
        self._lock_timeout = lock_timeout
        self._documents: dict[Path, _Document | BaselineError | None] = {}
        self._files: dict[tuple[str, str], Path] = {}

    @property
    def root(self) -> Path:
        """The baseline folder (``.perfbaseline``)."""
        return self._root

    @property
    def profile(self) -> str:
        """The profile this store loads from and saves to."""
        return self._profile

    def _path(self, profile: str, nodeid: str) -> Path:
        # Worked out once per module: the tests of a module share its file.
        key = (profile, split_nodeid(nodeid)[0])
        path = self._files.get(key)
        if path is None:
            path = self._files[key] = self._root.joinpath(profile, *relative_file(nodeid))
        return path

    def path_for(self, nodeid: str) -> Path:
        """The file that holds (or would hold) ``nodeid``'s baseline in this profile."""
        return self._path(self._profile, nodeid)

    # -- reading --

    def _read_fresh(self, path: Path) -> _Document | None:
        """Parse the file now (None if it does not exist); BaselineError if it is bad."""
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                # Read one byte past the limit: a file that grows meanwhile is caught too.
                data = b"" if size > MAX_FILE_BYTES else handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BaselineError(
                path,
                _os_problem("read it", exc),
                f"{_FIX_PERMISSIONS}, or delete it, {SAVE_AGAIN}",
            ) from None
        if max(size, len(data)) > MAX_FILE_BYTES:
            raise BaselineError(
                path,
                f"is {max(size, len(data)) / 2**20:.0f} MiB, more than the "
                f"{MAX_FILE_BYTES // 2**20} MiB a baseline file may be (a test's entry takes "
                "a few KB), so it is not read",
                FIX_BAD,
            )
        try:
            return decode(data)
        except BadDocument as exc:
            raise BaselineError(path, exc.problem, exc.fix) from None

    def _read_cached(self, path: Path) -> _Document | None:
        if path not in self._documents:
            try:
                self._documents[path] = self._read_fresh(path)
            except BaselineError as exc:
                self._documents[path] = exc
        document = self._documents[path]
        if isinstance(document, BaselineError):
            # A fresh instance each time: re-raising one object would pile up tracebacks.
            raise BaselineError(document.path, document.problem, document.fix)
        return document

    def load(self, nodeid: str) -> BaselineEntry | None:
        """``nodeid``'s baseline in this profile, or None if there is none.

        Raises :class:`BaselineError` if its file is bad (corrupt, truncated, wrong shape,
        newer schema). A node id without a module path (``::test_x``) has none: it cannot
        be saved.
        """
        try:
            path = self.path_for(nodeid)
        except ValueError:
            return None
        document = self._read_cached(path)
        if document is None:
            return None
        entry = document["tests"].get(split_nodeid(nodeid)[1])
        if entry is None:
            return None
        return self._entry(self._profile, nodeid, path, entry)

    @staticmethod
    def _entry(profile: str, nodeid: str, path: Path, entry: Mapping[str, Any]) -> BaselineEntry:
        stored = entry_sessions(entry)
        drift: Mapping[str, float] = {}
        if len(stored) == 1:
            result, environment = entry_result(nodeid, stored[0]), entry_environment(stored[0])
        else:
            # Pooled from each session's columns: no round is built, the result holds columns too.
            columns, drift, environment = pool_values(
                [
                    SessionValues(entry_infos(s), LazyColumns(s), entry_environment(s))
                    for s in stored
                ]
            )
            result = entry_result(nodeid, stored[-1], columns)
        return BaselineEntry(
            nodeid=nodeid,
            profile=profile,
            result=result,
            environment=environment,
            path=path,
            drift=drift,
            sessions=len(stored),
        )

    def profiles(self) -> list[str]:
        """The profiles that have a folder under the root, sorted."""
        try:
            children = list(self._root.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise BaselineError(
                self._root, _os_problem("list the folder", exc), _FIX_PERMISSIONS
            ) from None
        return sorted(c.name for c in children if is_profile_name(c.name) and c.is_dir())

    def entries(self, profile: str | None = None) -> Iterator[BaselineEntry | BaselineError]:
        """Every stored entry of ``profile`` (None: of all profiles), in a stable order.

        A bad file yields its :class:`BaselineError` in place of its entries, and the
        iteration goes on with the next file.
        """
        for name in [check_profile(profile)] if profile is not None else self.profiles():
            yield from self._profile_entries(name)

    def _profile_entries(self, profile: str) -> Iterator[BaselineEntry | BaselineError]:
        base = self._root / profile
        files, errors = _baseline_files(base)
        yield from errors
        for path in files:
            try:
                document = self._read_cached(path)
            except BaselineError as exc:
                yield exc
                continue
            if document is None:
                continue  # removed since the folder was listed
            module = document.get(_MODULE_KEY)
            if not isinstance(module, str):
                module = module_of_file(path.relative_to(base).parts)
            for key in sorted(document["tests"]):
                yield self._entry(profile, join_nodeid(module, key), path, document["tests"][key])

    # -- writing --

    def _create_root(self) -> None:
        try:
            self._root.mkdir(parents=True)
        except FileExistsError:
            return
        # Only a folder we have just created gets our .gitignore: a user's is never replaced.
        try:
            with open(self._root / ".gitignore", "x", encoding="utf-8", newline="\n") as f:
                f.write(_GITIGNORE)
        except FileExistsError:
            pass  # someone wrote one in the instant since our mkdir: theirs stays

    def _write(self, path: Path, document: _Document) -> None:
        """Replace ``path`` by ``document`` atomically and cache it (BaselineError)."""
        # Created here, not by write_atomically, so the error can say which step failed.
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BaselineError(path, _os_problem("create its folder", exc), _FIX_WRITE) from None
        try:
            write_atomically(path, encode(document))
        except OSError as exc:
            raise BaselineError(path, _write_problem(exc), _FIX_WRITE) from None
        self._documents[path] = document

    def _locked(
        self,
        groups: Mapping[Path, Sequence[str]],
        write: Callable[[Path], list[str]],
        tally: Tally,
    ) -> None:
        """Run ``write(path)`` for every file under the root lock; tally the outcome.

        ``groups`` maps each file to the node ids it concerns; ``write`` returns the node ids
        it saved (or removed), or raises BaselineError.
        """
        # Imported here: runs that only compare (or only report) never pay for it.
        from filelock import FileLock, Timeout

        lock_path = self._root / _LOCK_NAME
        if lock_path.is_symlink():
            # Some filelock versions open the lock through a link and truncate its target.
            tally.fail_all(
                groups,
                f"the lock file {lock_path} is a symbolic link (to {_link_text(lock_path)}), "
                "which a save would write through",
                f"delete the link (the lock file is created as needed), {SAVE_AGAIN}",
            )
            return
        lock = FileLock(str(lock_path), timeout=self._lock_timeout)
        try:
            lock.acquire()
        except KeyboardInterrupt:  # while waiting for another save: nothing written yet
            raise tally.interrupt(groups) from None
        except Timeout:  # before OSError: filelock's Timeout is a TimeoutError
            tally.fail_all(
                groups,
                f"could not lock {lock_path} within {self._lock_timeout:g} s",
                "another process is saving baselines to this folder (or is stuck doing so); "
                f"let it finish or stop it, {SAVE_AGAIN}",
            )
            return
        except OSError as exc:
            tally.fail_all(
                groups, _os_problem(f"create the lock file {lock_path}", exc), _FIX_WRITE
            )
            return
        try:
            self._write_each(groups, write, tally)
        finally:
            lock.release()

    def _write_each(
        self,
        groups: Mapping[Path, Sequence[str]],
        write: Callable[[Path], list[str]],
        tally: Tally,
    ) -> None:
        """``write`` every file in turn (under the lock); SaveInterrupted on Ctrl-C.

        Ctrl-C stops at once rather than finishing the save: a file is written atomically,
        so it is old or new whatever instant the interrupt lands, and which one is read
        back from the file itself (its inode changes when it is replaced or deleted).
        """
        watched: dict[Path, tuple[int, ...] | None] = {}
        try:
            for path in sorted(groups):
                watched[path] = _identity(path)
                try:
                    self._check_inside(path)
                    done = write(path)
                except BaselineError as exc:
                    tally.fail(exc, groups[path])
                    self._documents.pop(path, None)  # read it again next time
                    continue
                if done:
                    tally.done(path, done)
        except KeyboardInterrupt:
            settled = {*tally.written, *(error.path for error in tally.errors)}
            for path, before in watched.items():
                # The interrupt may land just after a file was replaced (or deleted).
                if path not in settled and _identity(path) != before:
                    tally.done(path, groups[path])
                self._documents.pop(path, None)
            raise tally.interrupt(groups) from None

    def _check_inside(self, path: Path) -> None:
        """BaselineError unless writing ``path`` stays inside the root (no link leads out)."""
        if path.is_symlink():
            # os.replace would swap the link for a file, after reading whatever it points at.
            raise BaselineError(path, f"is a symbolic link (to {_link_text(path)})", _FIX_LINK)
        try:
            real, root = path.resolve(), self._root.resolve()
        except (OSError, RuntimeError) as exc:  # a loop of links (RuntimeError before 3.13)
            raise BaselineError(path, f"could not resolve its path: {exc}", _FIX_LINK) from None
        if not real.is_relative_to(root):
            raise BaselineError(
                path,
                f"would be written to {real}, outside the baseline folder {root}, through a "
                "symbolic link to a folder",
                _FIX_LINK,
            )

    def _new_entries(
        self, entries: Sequence[tuple[TestResult, Environment]], tally: Tally
    ) -> dict[Path, dict[str, tuple[str, _Document]]]:
        """The entries to save, by file and key, with their node ids; tallies the unstorable."""
        groups: dict[Path, dict[str, tuple[str, _Document]]] = {}
        for result, environment in entries:
            try:
                path = self.path_for(result.nodeid)
            except ValueError:
                tally.fail(
                    BaselineError(
                        self._root / self._profile,
                        f"not saving {result.nodeid}: its node id names no test file",
                        _FIX_NO_MODULE,
                    ),
                    [result.nodeid],
                )
                continue
            try:
                document = entry_document(result, environment)
            except (ValueError, TypeError) as exc:
                tally.fail(
                    BaselineError(
                        path,
                        f"not saving {result.nodeid}: {exc}",
                        "report None for a round without a value, then save again",
                    ),
                    [result.nodeid],
                )
                continue
            key = split_nodeid(result.nodeid)[1]
            groups.setdefault(path, {})[key] = (result.nodeid, document)
        return groups

    def save(
        self,
        entries: Sequence[tuple[TestResult, Environment]],
        *,
        sessions: int = DEFAULT_SESSIONS,
        fresh: bool = False,
        thresholds: Mapping[str, Mapping[str, float]] | None = None,
    ) -> SaveReport:
        """Store each test's result as its newest session and keep all other tests.

        A test keeps its last ``sessions`` saving sessions. ``fresh`` replaces its stored
        sessions by this one; so does a new performance level: a gated time or rate metric
        whose median lies off every stored session's by more than its threshold, when the
        stored sessions agree with each other (:func:`.sessions.level_changed`;
        ``thresholds``: node id -> metric -> threshold of the test's gated time and rate
        metrics; a test not in it: every time and rate metric at 10%). Such tests are listed
        in the report's ``restarted``.

        Files are grouped per module; a bad or unwritable file is left untouched, reported
        in ``errors`` with its tests in ``skipped``, and the other files are still written.
        Never raises for I/O trouble or bad files.
        """
        if sessions < 1:
            raise ValueError(f"a baseline keeps at least 1 session, not {sessions}")
        limits = thresholds or {}
        tally = Tally()
        groups = self._new_entries(entries, tally)
        if not groups:
            return tally.report()
        nodeids = {path: [n for n, _ in group.values()] for path, group in groups.items()}
        try:
            self._create_root()
        except OSError as exc:
            tally.fail_all(nodeids, _os_problem("create it", exc), _FIX_WRITE)
            return tally.report()

        def write(path: Path) -> list[str]:
            # Fresh, not cached: another process may have saved other tests meanwhile.
            old = self._read_fresh(path) or empty_document()
            new: dict[str, _Document] = {}
            restarted: list[str] = []
            for key, (nodeid, session) in groups[path].items():
                stored = [] if fresh else entry_sessions(old["tests"].get(key, {SESSIONS_KEY: []}))
                kept, afresh = _history(nodeid, stored, session, limits.get(nodeid))
                new[key] = {SESSIONS_KEY: kept[-sessions:]}
                if afresh:
                    restarted.append(nodeid)
            self._write(path, _with_module(path, old, _merged(old, new), nodeids[path][0]))
            tally.restarted.extend(restarted)
            return nodeids[path]

        self._locked(nodeids, write, tally)
        return tally.report()

    def remove(self, nodeids_by_profile: Mapping[str, Iterable[str]]) -> SaveReport:
        """Delete entries (``perfbaseline prune``), with the same locking as :meth:`save`.

        A file left with no tests is deleted, and so are the folders it leaves empty (up to
        and including the profile folder). Node ids without an entry are ignored.
        """
        groups: dict[Path, dict[str, str]] = {}
        for profile, nodeids in nodeids_by_profile.items():
            check_profile(profile)
            for nodeid in nodeids:
                path = self._path(profile, nodeid)
                groups.setdefault(path, {})[split_nodeid(nodeid)[1]] = nodeid
        tally = Tally()
        if not groups or not self._root.is_dir():
            return tally.report()

        def write(path: Path) -> list[str]:
            old = self._read_fresh(path)
            if old is None:
                return []
            tests = dict(old["tests"])
            removed = [nodeid for key, nodeid in groups[path].items() if key in tests]
            if removed:
                for key in groups[path]:
                    tests.pop(key, None)
                self._rewrite_or_delete(path, {**old, "tests": tests})
            return removed

        self._locked({path: list(group.values()) for path, group in groups.items()}, write, tally)
        return tally.report()

    def _rewrite_or_delete(self, path: Path, document: _Document) -> None:
        """Write ``document``, or delete its file if it has no tests left (BaselineError)."""
        if document["tests"]:
            self._write(path, document)
            return
        try:
            path.unlink()
        except OSError as exc:
            raise BaselineError(path, _os_problem("delete it", exc), _FIX_WRITE) from None
        self._documents[path] = None
        profile_dir = self._root / path.relative_to(self._root).parts[0]
        folder = path.parent
        while folder != self._root and profile_dir in (folder, *folder.parents):
            try:
                folder.rmdir()
            except OSError:
                break  # not empty (other modules' files): it stays, as it should
            folder = folder.parent
