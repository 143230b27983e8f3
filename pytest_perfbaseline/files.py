"""Writing files so that readers never see half of one: temp file, fsync, rename."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["TEMP_SUFFIX", "create_temp", "write_atomically"]

TEMP_SUFFIX = ".tmp"


def create_temp(folder: Path, name: str) -> tuple[int, Path]:
    """A new, uniquely named temp file next to ``name``: (open descriptor, path)."""
    # 0o666 minus the umask, like any new file (mkstemp would make it 0o600).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue  # 32 random bits met a leftover of a killed write: draw again


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one step; the old file stays on failure.

    Raises OSError (the caller turns it into a clear message); no temp file is left behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = create_temp(path.parent, path.name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
