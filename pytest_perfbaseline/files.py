"""Writing files so that readers never see half of one: temp file, fsync, rename; and
telling what is at a path before a file replaces it."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

__all__ = ["TEMP_SUFFIX", "TempFileLeftOver", "not_a_regular_file", "write_atomically"]

TEMP_SUFFIX = ".tmp"
"""How the name of a write's temp file ends (for ``.gitignore`` patterns)."""


class TempFileLeftOver(OSError):
    """A failed write whose temp file could not be removed either.

    ``errno``, ``strerror`` and ``filename`` are those of the write's error, ``error``;
    ``temp`` is the file left behind and ``cleanup`` why it could not be removed.
    """

    error: OSError
    temp: Path
    cleanup: OSError

    def __init__(self, error: OSError, temp: Path, cleanup: OSError) -> None:
        super().__init__(error.errno, error.strerror, error.filename)
        self.error = error
        self.temp = temp
        self.cleanup = cleanup

    def __str__(self) -> str:
        return f"{self.error}; its temp file {self.temp} is left over ({self.cleanup.strerror})"


def _temp_path(folder: Path, name: str) -> Path:
    """A fresh temp file name next to ``name``: the process id and 32 random bits."""
    return folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"


def _write_all(fd: int, payload: bytes) -> None:
    """Write ``payload`` to ``fd`` whole and fsync it; the descriptor is closed either way."""
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard_temp(temp: Path, failure: BaseException) -> None:
    """Remove the temp file of a failed write; say so if that fails too."""
    try:
        temp.unlink(missing_ok=True)
    except OSError as cleanup:
        # The write's own error is what the user must see; the leftover is a footnote.
        # Anything else (Ctrl-C) goes on unchanged.
        if isinstance(failure, OSError):
            raise TempFileLeftOver(failure, temp, cleanup) from failure


def write_atomically(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` in one step; the old file stays intact on failure.

    Text is written as UTF-8 with its newlines unchanged. The data goes to a temp file in
    the same folder (created if missing), is flushed and fsynced, and is moved into place
    with ``os.replace``; a failed write removes its temp file. Raises OSError (the caller
    turns it into a clear message): :class:`TempFileLeftOver` when the temp file could not
    be removed either.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0o666 minus the umask, like any new file (mkstemp would make it 0o600).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = _temp_path(path.parent, path.name)
        try:
            # Created inside the outer try: a Ctrl-C the instant after the file appears
            # (before its descriptor is even returned) still removes it. The name is ours
            # alone (pid and random bits), so removing it never removes another's file.
            try:
                fd = os.open(temp, flags, 0o666)
            except FileExistsError:
                continue  # 32 random bits met a leftover of a killed write: draw again
            _write_all(fd, payload)
            os.replace(temp, path)
        except BaseException as failure:
            # Whatever stopped us (an OSError, Ctrl-C), the old file is intact: only the
            # temp file needs to go (after os.replace it is gone, and unlinking is a no-op).
            _discard_temp(temp, failure)
            raise
        return


_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def not_a_regular_file(path: Path) -> str | None:
    """What is at ``path`` when it exists and is not a regular file (``"a FIFO (named pipe)"``).

    None when nothing is there or a regular file is. A symbolic link counts as itself, not as
    what it points to: writing the report would replace the link.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError:
        return None  # cannot look (a permission): the write itself will say why it failed
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")
