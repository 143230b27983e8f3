"""Where a test's baseline lives: node id <-> file under a profile folder, and profile names.

A node id ``tests/test_chat.py::TestX::test_answer[gpt-4o]`` is split at its first ``::``
into the module path ``tests/test_chat.py`` and the key ``TestX::test_answer[gpt-4o]`` (a
``/`` or ``::`` inside the brackets stays in the key). The module path, split on ``/``,
becomes folders and a file ``<last segment>.json`` under the profile folder, one segment at
a time:

- empty and ``.`` segments are dropped; a leading ``/`` (an absolute path) becomes a first
  segment ``_abs_``, so nothing is ever written outside the profile folder;
- ``..`` becomes ``_up_`` (pytest names files outside the rootdir ``../x/test_y.py``);
- every character other than ``A-Z a-z 0-9 . _ -`` is percent-encoded as the ``%XX`` of its
  UTF-8 bytes (``%`` itself too), and so is a trailing ``.`` (Windows drops it); a literal
  segment ``_up_`` or ``_abs_`` is written ``%5Fup_`` / ``%5Fabs_``.

The mapping is reversible, so ``perfbaseline list`` shows node ids read back from file names.
Only file systems that ignore case can still make two modules share a file (``Test_a.py`` and
``test_a.py``); keep such names apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote

__all__ = [
    "FILE_SUFFIX",
    "check_profile",
    "is_profile_name",
    "join_nodeid",
    "module_of_file",
    "relative_file",
    "split_nodeid",
]

FILE_SUFFIX = ".json"
"""How the name of every baseline file ends."""

_SAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_UP = "_up_"
_ABS = "_abs_"
_PROFILE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def split_nodeid(nodeid: str) -> tuple[str, str]:
    """(module path, key): the key is everything after the first ``::``."""
    module, _, key = nodeid.partition("::")
    return module, key


def join_nodeid(module: str, key: str) -> str:
    """The node id of ``key`` in ``module`` (the module alone when the key is empty)."""
    return f"{module}::{key}" if key else module


def _encode_segment(segment: str) -> str:
    if segment == "..":
        return _UP
    if segment in (_UP, _ABS):
        return "%5F" + segment[1:]
    encoded = "".join(
        char
        if char in _SAFE_CHARS
        else "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        for char in segment
    )
    return encoded[:-1] + "%2E" if encoded.endswith(".") else encoded


def relative_file(nodeid: str) -> tuple[str, ...]:
    """The parts of the path, relative to its profile folder, of the file holding ``nodeid``.

    Raises ValueError for a node id without a module path.
    """
    module = split_nodeid(nodeid)[0]
    parts = [_encode_segment(s) for s in module.split("/") if s not in ("", ".")]
    if not parts:
        raise ValueError(f"node id has no module path: {module!r}")
    if module.startswith("/"):
        parts.insert(0, _ABS)
    return (*parts[:-1], parts[-1] + FILE_SUFFIX)


def module_of_file(parts: Sequence[str]) -> str:
    """The module path of a file, given its path's parts relative to its profile folder."""
    *folders, name = parts
    encoded = [*folders, name.removesuffix(FILE_SUFFIX)]
    segments = [".." if p == _UP else unquote(p, errors="surrogatepass") for p in encoded]
    if encoded[0] == _ABS:
        return "/" + "/".join(segments[1:])
    return "/".join(segments)


def is_profile_name(name: str) -> bool:
    """Whether ``name`` may name a profile (and so a profile folder)."""
    return _PROFILE_RE.fullmatch(name) is not None


def check_profile(profile: str) -> str:
    """``profile`` itself if it is a valid profile name; ValueError saying what is valid."""
    if not isinstance(profile, str) or not is_profile_name(profile):
        raise ValueError(
            f"invalid baseline profile {profile!r}: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (e.g. 'linux-x86_64-2cpu' or 'ci')"
        )
    return profile
