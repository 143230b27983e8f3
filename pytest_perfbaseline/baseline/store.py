"""The ``.perfbaseline/`` store: one deterministic JSON file per test module per profile.

Layout::

    .perfbaseline/
        .gitignore                      written when the folder is created: ignores the two below
        .lock                           the filelock every writer holds (may come and go)
        linux-x86_64-2cpu/              a profile: baselines of one kind of machine
            tests/test_chat.py.json     the baselines of every test in tests/test_chat.py

Node id to file. A node id ``tests/test_chat.py::TestX::test_answer[gpt-4o]`` is split at its
first ``::`` into the module path ``tests/test_chat.py`` and the key
``TestX::test_answer[gpt-4o]`` (a ``/`` or ``::`` inside the brackets stays in the key). The
module path, split on ``/``, becomes folders and a file ``<last segment>.json`` under the
profile folder, one segment at a time:

- empty and ``.`` segments are dropped; a leading ``/`` (an absolute path) becomes a first
  segment ``_abs_``, so nothing is ever written outside the profile folder;
- ``..`` becomes ``_up_`` (pytest names files outside the rootdir ``../x/test_y.py``);
- every character other than ``A-Z a-z 0-9 . _ -`` is percent-encoded as the ``%XX`` of its
  UTF-8 bytes (``%`` itself too), and so is a trailing ``.`` (Windows drops it); a literal
  segment ``_up_`` or ``_abs_`` is written ``%5Fup_`` / ``%5Fabs_``.

The mapping is reversible, so ``perfbaseline list`` shows node ids read back from file names.
Only file systems that ignore case can still make two modules share a file (``Test_a.py`` and
``test_a.py``); keep such names apart.

File format (schema 1): an object ``{"schema": 1, "tests": {<key>: <entry>}}``, where an entry
holds ``environment`` (see :class:`~pytest_perfbaseline.environment.Environment`), ``rounds``
(the number of rounds stored), ``rounds_requested``, ``warmup``, ``implicit``, ``metrics``
(``{name: {"higher_is_better", "kind", "unit", "values": [one value or null per round]}}``),
``itl_histogram`` (``[[lower_s, upper_s, count], ...]``) and ``token_sources``. The bytes are
deterministic: keys sorted, two-space indentation, a list of scalars on one line (so a re-save
changes one line per metric), a list of lists one item per line, integral numbers written as
integers, other numbers as Python's shortest ``repr``, UTF-8, ``\\n``, a final newline. NaN and
infinities are never written and are rejected on read.

Forward tolerance: on reading, only ``rounds`` and ``metrics`` (with ``values``) are required;
the other known keys default sensibly but must have the right type when present. Unknown keys
of the file and of an entry are kept when the file is rewritten -- also for a test being
re-saved, whose known keys alone are replaced (so unknown keys *inside* its ``metrics`` go).
Other tests' entries are rewritten with exactly the content they had. A file with a *newer*
schema is never read or written.

Safety: every write happens under one ``filelock`` on ``<root>/.lock`` held around the whole
read-merge-write, re-reading each file fresh under the lock; a file is written to a unique temp
file in its own folder, flushed, fsynced and moved into place with ``os.replace``, so an
interrupted save leaves the old file intact. A bad file is reported as a
:class:`BaselineError` naming the file, the problem and the fix, and is never overwritten.
"""

from __future__ import annotations

import errno
import json
import math
import numbers
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast, get_args
from urllib.parse import unquote

from ..files import TEMP_SUFFIX, create_temp
from ..metrics.result import TestResult
from ..metrics.round import MetricInfo, MetricKind, builtin_metric_info
from .environment import Environment

__all__ = [
    "LOCK_TIMEOUT_S",
    "SCHEMA_VERSION",
    "BaselineEntry",
    "BaselineError",
    "BaselineStore",
    "SaveReport",
]

SCHEMA_VERSION = 1
"""The version of the baseline file format this plugin reads and writes."""
LOCK_TIMEOUT_S = 60.0
"""How long a save waits for another process's save to finish."""

_LOCK_NAME = ".lock"
_TEMP_SUFFIX = TEMP_SUFFIX
_GITIGNORE = (
    "# Written by pytest-perfbaseline: commit this folder, but not its lock file\n"
    "# or the temporary files of a save in progress.\n"
    f"{_LOCK_NAME}\n"
    f"*{_TEMP_SUFFIX}\n"
)
_SAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_UP = "_up_"
_ABS = "_abs_"
_PROFILE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_METRIC_KINDS: frozenset[str] = frozenset(get_args(MetricKind))
_ENTRY_KEYS = frozenset(
    {
        "environment",
        "rounds",
        "rounds_requested",
        "warmup",
        "implicit",
        "metrics",
        "itl_histogram",
        "token_sources",
    }
)
_MAX_EXACT_INT = 2**53  # larger integral floats are written in repr form, like json does

_SAVE_AGAIN = "then run pytest --perf-baseline=save again"
_FIX_BAD = f"restore it from version control or delete it, {_SAVE_AGAIN}"
_FIX_NEWER = "upgrade pytest-perfbaseline (pip install -U pytest-perfbaseline)"
_FIX_WRITE = (
    "make sure the folder is writable and the disk has space (or choose another folder with "
    f"--perf-baseline-dir), {_SAVE_AGAIN}"
)


class BaselineError(Exception):
    """A baseline file that cannot be read or written.

    ``str(error)`` is one sentence for the user: the file, what is wrong and what to do.
    """

    path: Path
    problem: str
    fix: str

    def __init__(self, path: Path, problem: str, fix: str) -> None:
        super().__init__(path, problem, fix)  # args match __init__, so it pickles (xdist)
        self.path = path
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"baseline file {self.path}: {self.problem}; {self.fix}"


@dataclass(frozen=True)
class BaselineEntry:
    """One test's stored baseline.

    ``result.itl_pooled`` is None: only the gap histogram is stored, not the pooled gaps.
    Every round of ``result.rounds`` holds every stored metric (None where it had no value).
    """

    nodeid: str
    profile: str
    result: TestResult
    environment: Environment
    path: Path
    """The file the entry lives in."""


@dataclass(frozen=True)
class SaveReport:
    """What a :meth:`BaselineStore.save` or :meth:`BaselineStore.remove` did.

    For ``remove``, ``saved`` lists the node ids that were removed; node ids that had no
    entry are in neither ``saved`` nor ``skipped``.
    """

    written: tuple[Path, ...] = ()
    """Files created, replaced or (by ``remove``) deleted."""
    saved: tuple[str, ...] = ()
    """Node ids whose entries were written (or removed)."""
    errors: tuple[BaselineError, ...] = ()
    """One error per file that was left alone (or per test that could not be stored)."""
    skipped: tuple[str, ...] = ()
    """Node ids not saved because their file was bad or unwritable (or their data invalid)."""


# -- node id <-> file ------------------------------------------------------------------------


def _split_nodeid(nodeid: str) -> tuple[str, str]:
    """(module path, key): the key is everything after the first ``::``."""
    module, _, key = nodeid.partition("::")
    return module, key


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


def _module_parts(module: str) -> list[str]:
    parts = [_encode_segment(s) for s in module.split("/") if s not in ("", ".")]
    if not parts:
        raise ValueError(f"node id has no module path: {module!r}")
    return [_ABS, *parts] if module.startswith("/") else parts


def _decode_module(parts: Sequence[str]) -> str:
    """The module path of a file's path relative to its profile folder (``.json`` stripped)."""
    segments = [".." if p == _UP else unquote(p, errors="surrogatepass") for p in parts]
    if parts and parts[0] == _ABS:
        return "/" + "/".join(segments[1:])
    return "/".join(segments)


def _check_profile(profile: str) -> str:
    if not isinstance(profile, str) or not _PROFILE_RE.fullmatch(profile):
        raise ValueError(
            f"invalid baseline profile {profile!r}: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (e.g. 'linux-x86_64-2cpu' or 'ci')"
        )
    return profile


# -- serialisation ---------------------------------------------------------------------------


def _string(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only an escape can carry it in UTF-8
        return json.dumps(text)
    return json.dumps(text, ensure_ascii=False)


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be stored: baselines hold finite numbers only")
        if value.is_integer() and abs(value) <= _MAX_EXACT_INT:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    raise TypeError(f"cannot store a {type(value).__name__} in a baseline file")


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _write_value(value: object, level: int, out: list[str]) -> None:
    if isinstance(value, Mapping):
        if not value:
            out.append("{}")
            return
        pad = "  " * (level + 1)
        out.append("{\n")
        for i, key in enumerate(sorted(value)):
            if i:
                out.append(",\n")
            out.append(f"{pad}{_string(key)}: ")
            _write_value(value[key], level + 1, out)
        out.append("\n" + "  " * level + "}")
    elif isinstance(value, (list, tuple)):
        if all(_is_scalar(item) for item in value):
            # One line: re-saving a test then changes one line per metric in a diff.
            out.append("[" + ", ".join(_scalar(item) for item in value) + "]")
            return
        pad = "  " * (level + 1)
        out.append("[\n")
        for i, item in enumerate(value):
            if i:
                out.append(",\n")
            out.append(pad)
            _write_value(item, level + 1, out)
        out.append("\n" + "  " * level + "]")
    else:
        out.append(_scalar(value))


def _dumps(document: Mapping[str, Any]) -> str:
    """The canonical text of a baseline document (deterministic; see the module docstring).

    Raises ValueError for NaN or infinities and TypeError for values JSON cannot hold.
    """
    out: list[str] = []
    _write_value(document, 0, out)
    out.append("\n")
    return "".join(out)


# -- reading and validating ------------------------------------------------------------------


class _Invalid(ValueError):
    """Raised while parsing: the message completes "baseline file X: ..."."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # json.loads would silently keep the last one (e.g. after a hand-resolved merge).
            raise _Invalid(f"has the key {key!r} twice in one object")
        result[key] = value
    return result


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Invalid(f"holds the number {text}, which is out of range")
    return value


def _reject_constant(text: str) -> Any:
    raise _Invalid(f"holds {text}, which baseline files never contain")


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_entry(where: str, entry: object) -> None:
    """Raise _Invalid naming the first place where ``entry`` does not fit schema 1."""

    def bad(place: str, expected: str, found: object) -> _Invalid:
        return _Invalid(f"{place} should be {expected} but is {_type_name(found)}")

    if not isinstance(entry, dict):
        raise bad(where, "an object", entry)
    for required in ("rounds", "metrics"):
        if required not in entry:
            raise _Invalid(f'{where} has no "{required}"')
    rounds = entry["rounds"]
    if not _is_int(rounds) or rounds < 0:
        raise bad(f"{where}.rounds", "a whole number >= 0", rounds)
    for name in ("warmup", "rounds_requested"):
        if name in entry and (not _is_int(entry[name]) or entry[name] < 0):
            raise bad(f"{where}.{name}", "a whole number >= 0", entry[name])
    if "implicit" in entry and not isinstance(entry["implicit"], bool):
        raise bad(f"{where}.implicit", "true or false", entry["implicit"])
    if "environment" in entry and not isinstance(entry["environment"], dict):
        raise bad(f"{where}.environment", "an object", entry["environment"])
    metrics = entry["metrics"]
    if not isinstance(metrics, dict):
        raise bad(f"{where}.metrics", "an object", metrics)
    for name, metric in metrics.items():
        place = f"{where}.metrics[{name!r}]"
        if not isinstance(metric, dict):
            raise bad(place, "an object", metric)
        values = metric.get("values")
        if not isinstance(values, list):
            raise bad(f"{place}.values", "a list", values)
        if len(values) != rounds:
            raise _Invalid(f"{place}.values has {len(values)} values for {rounds} rounds")
        for i, value in enumerate(values):
            if value is not None and not _is_number(value):
                raise bad(f"{place}.values[{i}]", "a number or null", value)
        for key, check, expected in (
            ("unit", str, "a string"),
            ("kind", str, "a string"),
            ("higher_is_better", bool, "true or false"),
        ):
            if key in metric and not isinstance(metric[key], check):
                raise bad(f"{place}.{key}", expected, metric[key])
    histogram = entry.get("itl_histogram", [])
    if not isinstance(histogram, list):
        raise bad(f"{where}.itl_histogram", "a list", histogram)
    for i, row in enumerate(histogram):
        if not (
            isinstance(row, list)
            and len(row) == 3
            and _is_number(row[0])
            and _is_number(row[1])
            and _is_int(row[2])
            and row[2] >= 0
        ):
            raise _Invalid(
                f"{where}.itl_histogram[{i}] should be [lower_s, upper_s, count] "
                f"but is {json.dumps(row)}"
            )
    sources = entry.get("token_sources", {})
    if not isinstance(sources, dict) or not all(isinstance(v, str) for v in sources.values()):
        raise _Invalid(f"{where}.token_sources should map stream names to strings")


def _parse(path: Path, data: bytes) -> dict[str, Any]:
    """Parse and validate a baseline file's bytes; BaselineError if it is not a good one."""

    def bad(problem: str, fix: str = _FIX_BAD) -> BaselineError:
        return BaselineError(path, problem, fix)

    if not data.strip():
        raise bad("is empty (perhaps a write was cut short)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad(f"is not UTF-8 text (bad byte at offset {exc.start})") from None
    if re.search(r"^(<{7}|>{7})( |$)", text, re.MULTILINE):
        raise bad(
            "contains git merge conflict markers",
            "resolve the conflict by keeping one side of each conflicting test, or delete the "
            f"file, {_SAVE_AGAIN}",
        )
    try:
        document = json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_float=_finite_float,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as exc:
        raise bad(
            f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "it may be truncated"
        ) from None
    except (ValueError, RecursionError) as exc:  # _Invalid, or absurdly deep nesting
        raise bad(str(exc) if isinstance(exc, _Invalid) else "is nested too deeply") from None
    if not isinstance(document, dict):
        raise bad(f"holds {_type_name(document)} where an object was expected")
    if "schema" not in document:
        raise bad('has no "schema" version')
    schema = document["schema"]
    if not _is_int(schema):
        raise bad(f'has a "schema" that is {_type_name(schema)}, not a whole number')
    if schema > SCHEMA_VERSION:
        raise bad(
            f"was written by a newer pytest-perfbaseline (schema {schema} > {SCHEMA_VERSION})",
            _FIX_NEWER,
        )
    if schema < 1:
        raise bad(f"has an unknown schema version {schema}")
    tests = document.get("tests")
    if not isinstance(tests, dict):
        raise bad(f'has "tests" that is {_type_name(tests)}, where an object was expected')
    try:
        for key, entry in tests.items():
            _check_entry(f"tests[{key!r}]", entry)
    except _Invalid as exc:
        raise bad(str(exc)) from None
    return document


def _os_problem(action: str, exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    code = errno.errorcode.get(exc.errno, "") if exc.errno else ""
    where = f" ({exc.filename})" if exc.filename else ""
    return f"could not {action}: {reason}{f' [{code}]' if code else ''}{where}"


# -- entries <-> documents -------------------------------------------------------------------


def _stored_number(value: object, what: str) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} is {value!r}, not a number or None")
    number = value if isinstance(value, int) else float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} is {number!r}; baselines hold only finite numbers or null")
    return number


def _entry_document(result: TestResult, environment: Environment) -> dict[str, Any]:
    """The JSON entry of one test (raises ValueError for values that cannot be stored)."""
    names = sorted(set(result.infos).union(*(r.keys() for r in result.rounds)))
    metrics: dict[str, Any] = {}
    for name in names:
        info = result.infos.get(name) or builtin_metric_info(name)
        if info is None:
            info = MetricInfo("", False, "custom")
        values = [
            _stored_number(r.get(name), f"metric {name!r} in round {i}")
            for i, r in enumerate(result.rounds, 1)
        ]
        metrics[name] = {
            "higher_is_better": bool(info.higher_is_better),
            "kind": str(info.kind),
            "unit": str(info.unit),
            "values": values,
        }
    histogram = [
        [
            _stored_number(lower, f"ITL histogram bin {i} lower bound"),
            _stored_number(upper, f"ITL histogram bin {i} upper bound"),
            int(count),
        ]
        for i, (lower, upper, count) in enumerate(result.itl_histogram, 1)
    ]
    return {
        "environment": environment.to_dict(),
        "rounds": len(result.rounds),
        "rounds_requested": int(result.rounds_requested),
        "warmup": int(result.warmup),
        "implicit": bool(result.implicit),
        "metrics": metrics,
        "itl_histogram": histogram,
        "token_sources": {str(k): str(v) for k, v in result.token_sources.items()},
    }


def _metric_info(name: str, metric: Mapping[str, Any]) -> MetricInfo:
    default = builtin_metric_info(name) or MetricInfo("", False, "custom")
    kind = metric.get("kind", default.kind)
    return MetricInfo(
        unit=metric.get("unit", default.unit),
        higher_is_better=metric.get("higher_is_better", default.higher_is_better),
        # A kind from a newer plugin is treated like a custom metric (default threshold).
        kind=cast(MetricKind, kind if kind in _METRIC_KINDS else "custom"),
    )


def _result_of(nodeid: str, entry: Mapping[str, Any]) -> TestResult:
    """A validated entry as a TestResult (every round holds every metric; None if missing)."""
    count: int = entry["rounds"]
    metrics: Mapping[str, Mapping[str, Any]] = entry["metrics"]
    names = sorted(metrics)
    rounds = tuple(
        {name: (None if (v := metrics[name]["values"][i]) is None else float(v)) for name in names}
        for i in range(count)
    )
    return TestResult(
        nodeid=nodeid,
        rounds=rounds,
        infos={name: _metric_info(name, metrics[name]) for name in names},
        itl_histogram=tuple(
            (float(lo), float(hi), int(n)) for lo, hi, n in entry.get("itl_histogram", [])
        ),
        itl_pooled=None,
        token_sources=dict(entry.get("token_sources", {})),
        rounds_requested=int(entry.get("rounds_requested", count)),
        warmup=int(entry.get("warmup", 0)),
        implicit=bool(entry.get("implicit", False)),
    )


# -- the store -------------------------------------------------------------------------------


class BaselineStore:
    """The baselines of one profile under ``root`` (the ``.perfbaseline`` folder).

    Nothing is created until :meth:`save` has something to write. Reads are cached per
    file (the tests of one module share a file); writes re-read under the lock.
    """

    def __init__(self, root: Path, profile: str, *, lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self._root = Path(root)
        self._profile = _check_profile(profile)
        self._lock_timeout = lock_timeout
        self._documents: dict[Path, dict[str, Any] | BaselineError | None] = {}

    @property
    def root(self) -> Path:
        """The baseline folder (``.perfbaseline``)."""
        return self._root

    @property
    def profile(self) -> str:
        """The profile this store loads from and saves to."""
        return self._profile

    def _path(self, profile: str, nodeid: str) -> Path:
        parts = _module_parts(_split_nodeid(nodeid)[0])
        return self._root.joinpath(profile, *parts[:-1], parts[-1] + ".json")

    def path_for(self, nodeid: str) -> Path:
        """The file that holds (or would hold) ``nodeid``'s baseline in this profile."""
        return self._path(self._profile, nodeid)

    # -- reading --

    def _read_fresh(self, path: Path) -> dict[str, Any] | None:
        """Parse the file now (None if it does not exist); BaselineError if it is bad."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BaselineError(
                path,
                _os_problem("read it", exc),
                f"check its permissions, or delete it, {_SAVE_AGAIN}",
            ) from None
        return _parse(path, data)

    def _read_cached(self, path: Path) -> dict[str, Any] | None:
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
        newer schema).
        """
        path = self.path_for(nodeid)
        document = self._read_cached(path)
        if document is None:
            return None
        entry = document["tests"].get(_split_nodeid(nodeid)[1])
        if entry is None:
            return None
        return self._entry(self._profile, nodeid, path, entry)

    @staticmethod
    def _entry(profile: str, nodeid: str, path: Path, entry: Mapping[str, Any]) -> BaselineEntry:
        return BaselineEntry(
            nodeid=nodeid,
            profile=profile,
            result=_result_of(nodeid, entry),
            environment=Environment.from_dict(entry.get("environment", {})),
            path=path,
        )

    def profiles(self) -> list[str]:
        """The profiles that have a folder under the root, sorted."""
        try:
            children = list(self._root.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise BaselineError(
                self._root, _os_problem("list the folder", exc), "check its permissions"
            ) from None
        return sorted(c.name for c in children if _PROFILE_RE.fullmatch(c.name) and c.is_dir())

    def entries(self, profile: str | None = None) -> Iterator[BaselineEntry | BaselineError]:
        """Every stored entry of ``profile`` (None: of all profiles), in a stable order.

        A bad file yields its :class:`BaselineError` in place of its entries, and the
        iteration goes on with the next file.
        """
        for name in [_check_profile(profile)] if profile is not None else self.profiles():
            base = self._root / name
            files: list[Path] = []
            unreadable: list[OSError] = []
            for folder, dirs, names in os.walk(base, onerror=unreadable.append):
                dirs.sort()
                files.extend(Path(folder, n) for n in sorted(names) if n.endswith(".json"))
            for exc in unreadable:
                if isinstance(exc, FileNotFoundError):
                    continue  # no such profile (or it vanished): nothing to list
                yield BaselineError(
                    Path(exc.filename or base),
                    _os_problem("list the folder", exc),
                    "check its permissions",
                )
            for path in files:
                parts = path.relative_to(base).parts
                module = _decode_module([*parts[:-1], parts[-1][: -len(".json")]])
                try:
                    document = self._read_cached(path)
                except BaselineError as exc:
                    yield exc
                    continue
                if document is None:
                    continue  # removed since the folder was listed
                for key in sorted(document["tests"]):
                    nodeid = f"{module}::{key}" if key else module
                    yield self._entry(name, nodeid, path, document["tests"][key])

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

    def _write_atomic(self, path: Path, data: bytes) -> None:
        """Replace ``path`` by ``data`` via a temp file in the same folder (BaselineError)."""
        folder = path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BaselineError(path, _os_problem("create its folder", exc), _FIX_WRITE) from None
        temp: Path | None = None
        try:
            fd, temp = create_temp(folder, path.name)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, path)
        except BaseException as exc:
            # Whatever stopped us (an OSError, Ctrl-C), the old file is intact: only the temp
            # file needs to go.
            leftover = ""
            if temp is not None:
                try:
                    os.unlink(temp)
                except OSError as cleanup:
                    leftover = f"; its temp file {temp} is left over ({cleanup.strerror})"
            if isinstance(exc, OSError):
                problem = _os_problem("write it", exc) + leftover
                raise BaselineError(path, problem, _FIX_WRITE) from None
            raise

    def _locked(
        self, groups: Mapping[Path, Sequence[str]], write: Callable[[Path], list[str]]
    ) -> tuple[list[Path], list[str], list[BaselineError], list[str]]:
        """Run ``write(path)`` for every file under the root lock; collect the outcome.

        ``groups`` maps each file to the node ids it concerns; ``write`` returns the node ids
        it saved (or removed), or raises BaselineError.
        """
        # Imported here: runs that only compare (or only report) never pay for it.
        from filelock import FileLock, Timeout

        written: list[Path] = []
        saved: list[str] = []
        errors: list[BaselineError] = []
        skipped: list[str] = []
        lock_path = self._root / _LOCK_NAME

        def fail_all(problem: str, fix: str) -> None:
            for path, nodeids in groups.items():
                errors.append(BaselineError(path, problem, fix))
                skipped.extend(nodeids)

        lock = FileLock(str(lock_path), timeout=self._lock_timeout)
        try:
            lock.acquire()
        except Timeout:
            fail_all(
                f"could not lock {lock_path} within {self._lock_timeout:g} s",
                "another process is saving baselines to this folder (or is stuck doing so); "
                f"let it finish or stop it, {_SAVE_AGAIN}",
            )
            return written, saved, errors, skipped
        except OSError as exc:
            fail_all(_os_problem(f"create the lock file {lock_path}", exc), _FIX_WRITE)
            return written, saved, errors, skipped
        try:
            for path in sorted(groups):
                try:
                    done = write(path)
                except BaselineError as exc:
                    errors.append(exc)
                    skipped.extend(groups[path])
                    self._documents.pop(path, None)  # read it again next time
                    continue
                if done:
                    written.append(path)
                    saved.extend(done)
        finally:
            lock.release()
        return written, saved, errors, skipped

    def save(self, entries: Sequence[tuple[TestResult, Environment]]) -> SaveReport:
        """Store each test's result (replacing its previous entry) and keep all others.

        Files are grouped per module; a bad or unwritable file is left untouched, reported
        in ``errors`` with its tests in ``skipped``, and the other files are still written.
        Never raises for I/O trouble or bad files.
        """
        errors: list[BaselineError] = []
        skipped: list[str] = []
        groups: dict[Path, dict[str, tuple[str, dict[str, Any]]]] = {}
        for result, environment in entries:
            path = self.path_for(result.nodeid)
            try:
                document = _entry_document(result, environment)
            except (ValueError, TypeError) as exc:
                errors.append(
                    BaselineError(
                        path,
                        f"not saving {result.nodeid}: {exc}",
                        "report None for a round without a value, then save again",
                    )
                )
                skipped.append(result.nodeid)
                continue
            groups.setdefault(path, {})[_split_nodeid(result.nodeid)[1]] = (
                result.nodeid,
                document,
            )
        if not groups:
            return SaveReport(errors=tuple(errors), skipped=tuple(skipped))
        nodeids = {path: [n for n, _ in group.values()] for path, group in groups.items()}
        try:
            self._create_root()
        except OSError as exc:
            for path, names in nodeids.items():
                errors.append(BaselineError(path, _os_problem("create it", exc), _FIX_WRITE))
                skipped.extend(names)
            return SaveReport(errors=tuple(errors), skipped=tuple(skipped))

        def write(path: Path) -> list[str]:
            # Fresh, not cached: another process may have saved other tests meanwhile.
            old = self._read_fresh(path) or {"schema": SCHEMA_VERSION, "tests": {}}
            tests = dict(old["tests"])
            for key, (_, entry) in groups[path].items():
                previous = tests.get(key)
                kept = {k: v for k, v in (previous or {}).items() if k not in _ENTRY_KEYS}
                tests[key] = {**kept, **entry}
            document = {**old, "schema": SCHEMA_VERSION, "tests": tests}
            self._write_atomic(path, _dumps(document).encode("utf-8"))
            self._documents[path] = document
            return nodeids[path]

        written, saved, lock_errors, lock_skipped = self._locked(nodeids, write)
        return SaveReport(
            written=tuple(written),
            saved=tuple(saved),
            errors=(*errors, *lock_errors),
            skipped=(*skipped, *lock_skipped),
        )

    def remove(self, nodeids_by_profile: Mapping[str, Iterable[str]]) -> SaveReport:
        """Delete entries (``perfbaseline prune``), with the same locking as :meth:`save`.

        A file left with no tests is deleted, and so are the folders it leaves empty (up to
        and including the profile folder). Node ids without an entry are ignored.
        """
        groups: dict[Path, dict[str, str]] = {}
        for profile, nodeids in nodeids_by_profile.items():
            _check_profile(profile)
            for nodeid in nodeids:
                path = self._path(profile, nodeid)
                groups.setdefault(path, {})[_split_nodeid(nodeid)[1]] = nodeid
        if not groups or not self._root.is_dir():
            return SaveReport()

        def write(path: Path) -> list[str]:
            old = self._read_fresh(path)
            if old is None:
                return []
            tests = dict(old["tests"])
            removed = [nodeid for key, nodeid in groups[path].items() if key in tests]
            if not removed:
                return []
            for key in groups[path]:
                tests.pop(key, None)
            if tests:
                document = {**old, "tests": tests}
                self._write_atomic(path, _dumps(document).encode("utf-8"))
                self._documents[path] = document
                return removed
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
            return removed

        written, saved, errors, skipped = self._locked(
            {path: list(group.values()) for path, group in groups.items()}, write
        )
        return SaveReport(
            written=tuple(written), saved=tuple(saved), errors=tuple(errors), skipped=tuple(skipped)
        )
