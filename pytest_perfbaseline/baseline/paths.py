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
  segment ``_up_`` or ``_abs_`` is written ``%5Fup_`` / ``%5Fabs_``;
- an encoded segment longer than 225 bytes (file names are limited to 255 bytes, and a save
  adds ``.json`` and its temp file's decoration) is shortened to its first whole characters,
  ``~`` and 16 hex digits of the SHA-256 of the segment: deterministic, still readable, and
  unambiguous (``~`` is otherwise always encoded).

The mapping is reversible, so ``perfbaseline list`` shows node ids read back from file names;
a shortened name is not, so its file records its module path (:func:`recorded_module`).
Only file systems that ignore case can still make two modules share a file (``Test_a.py`` and
``test_a.py``); keep such names apart.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from urllib.parse import unquote

__all__ = [
    "FILE_SUFFIX",
    "check_profile",
    "is_profile_name",
    "join_nodeid",
    "module_of_file",
    "recorded_module",
    "relative_file",
    "split_nodeid",
]

FILE_SUFFIX = ".json"
"""How the name of every baseline file ends."""

_SAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_UP = "_up_"
_ABS = "_abs_"
_PROFILE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# 255 (NAME_MAX) - 5 (".json") - 22 (a temp file's "." + ".<pid>.<8 hex>.tmp") = 228; a
# little less for safety. Names that fit are never shortened, so existing files keep theirs.
_MAX_SEGMENT = 225
_SHORTENED = "~"
_DIGEST_CHARS = 16


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
    chars = [
        char
        if char in _SAFE_CHARS
        else "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        for char in segment
    ]
    if chars and chars[-1] == ".":
        chars[-1] = "%2E"
    encoded = "".join(chars)
    return encoded if len(encoded) <= _MAX_SEGMENT else _shortened(segment, chars)


def _shortened(segment: str, chars: Sequence[str]) -> str:
    """An over-long segment's encoding cut to whole characters, plus a hash of all of it."""
    digest = hashlib.sha256(segment.encode("utf-8", "surrogatepass")).hexdigest()
    budget = _MAX_SEGMENT - len(_SHORTENED) - _DIGEST_CHARS
    head: list[str] = []
    for char in chars:
        budget -= len(char)
        if budget < 0:
            break
        head.append(char)
    return "".join(head) + _SHORTENED + digest[:_DIGEST_CHARS]


def _segments(module: str) -> list[str]:
    return [s for s in module.split("/") if s not in ("", ".")]


def relative_file(nodeid: str) -> tuple[str, ...]:
    """The parts of the path, relative to its profile folder, of the file holding ``nodeid``.

    Raises ValueError for a node id without a module path.
    """
    module = split_nodeid(nodeid)[0]
    parts = [_encode_segment(s) for s in _segments(module)]
    if not parts:
        raise ValueError(f"node id {nodeid!r} has no module path")
    if module.startswith("/"):
        parts.insert(0, _ABS)
    return (*parts[:-1], parts[-1] + FILE_SUFFIX)


def recorded_module(nodeid: str) -> str | None:
    """The module path a file must record: ``nodeid``'s, if its file name was shortened.

    None when the file name is the reversible encoding (the file records nothing). Raises
    ValueError for a node id without a module path.
    """
    if not any(_SHORTENED in part for part in relative_file(nodeid)):
        return None
    module = split_nodeid(nodeid)[0]
    return ("/" if module.startswith("/") else "") + "/".join(_segments(module))


def module_of_file(parts: Sequence[str]) -> str:
    """The module path of a file, given its path's parts relative to its profile folder.

    Only approximate for a shortened name: use the module path its file records.
    """
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
