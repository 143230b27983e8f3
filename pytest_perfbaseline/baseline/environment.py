"""Where and when a baseline was measured: machine, Python, plugin and git state.

Collected once per save and stored with every baseline entry, so a report can say "measured
12 days ago on linux-x86_64-2cpu at commit 1a2b3c4 (dirty)". Collecting is cheap (two ``git``
calls at most) and never raises: whatever cannot be found out is None.
"""

from __future__ import annotations

import math
import os
import platform
import re
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "Environment",
    "age_seconds",
    "collect_environment",
    "default_profile",
    "describe_origin",
    "parse_utc_timestamp",
    "usable_cores",
    "utc_timestamp",
]

_GIT_TIMEOUT_S = 5.0
_UNKNOWN = "unknown"
_SAVED_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# /proc/cpuinfo keys that name the CPU, best first ("model name" on x86, others on ARM / MIPS).
_CPUINFO_KEYS = ("model name", "hardware", "cpu model", "processor")


@dataclass(frozen=True)
class Environment:
    """Where and when a baseline was measured.

    The string fields are ``"unknown"`` when a stored baseline lacks them; the optional
    fields are None when the value could not be found out.
    """

    saved_at: str
    """UTC, ISO 8601 with ``Z``, second precision: ``"2026-11-21T20:40:00Z"``."""
    plugin: str
    """The pytest-perfbaseline version that measured it."""
    python: str
    """``platform.python_version()``, e.g. ``"3.11.7"``."""
    implementation: str
    """``platform.python_implementation()``, e.g. ``"CPython"``."""
    platform: str
    """``platform.platform(terse=True)``, e.g. ``"Linux-6.1.0-x86_64-with-glibc2.36"``."""
    system: str
    """``platform.system()`` in lower case, e.g. ``"linux"``, ``"darwin"``, ``"windows"``."""
    arch: str
    """``platform.machine()``, e.g. ``"x86_64"``, ``"arm64"``."""
    cpu: str | None
    """The CPU model, e.g. ``"Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz"``."""
    cores: int | None
    """Logical CPUs this process may run on (its affinity mask where the OS has one, so a
    container limited to 2 CPUs on a 64-CPU host says 2), else ``os.cpu_count()``."""
    git_commit: str | None
    """``git rev-parse HEAD`` in the rootdir; None outside a repository or without git."""
    git_dirty: bool | None
    """Whether tracked files differed from HEAD (the baseline folder itself not counted)."""
    machine_probe_s: float | None = None
    """Of a saved baseline: how long the machine check's reference probe took in the saving
    session at its fastest (see :mod:`.machine`); None when the check was off."""

    def to_dict(self) -> dict[str, Any]:
        """Builtins only, one key per field (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Environment:
        """Rebuild from :meth:`to_dict` output; missing or ill-typed fields become unknown.

        Tolerant on purpose: an environment is descriptive metadata, and a hand-edited or
        older baseline must still load. Unknown keys are ignored.
        """

        def text(key: str) -> str:
            value = data.get(key)
            return value if isinstance(value, str) else _UNKNOWN

        cpu = data.get("cpu")
        cores = data.get("cores")
        commit = data.get("git_commit")
        dirty = data.get("git_dirty")
        return cls(
            saved_at=text("saved_at"),
            plugin=text("plugin"),
            python=text("python"),
            implementation=text("implementation"),
            platform=text("platform"),
            system=text("system"),
            arch=text("arch"),
            cpu=cpu if isinstance(cpu, str) else None,
            cores=cores if isinstance(cores, int) and not isinstance(cores, bool) else None,
            git_commit=commit if isinstance(commit, str) else None,
            git_dirty=dirty if isinstance(dirty, bool) else None,
            machine_probe_s=_positive(data.get("machine_probe_s")),
        )

    def same_machine_kind(self, other: Environment) -> bool:
        """Whether a probe timed under ``other`` is a fair reference here: same CPU model,
        core count and Python (the probe is a pure-Python loop)."""
        return self.cpu is not None and (
            self.cpu,
            self.cores,
            self.implementation,
            self.python,
        ) == (other.cpu, other.cores, other.implementation, other.python)

    @property
    def saved_at_datetime(self) -> datetime | None:
        """:attr:`saved_at` as an aware UTC datetime, or None when it is missing or malformed."""
        try:
            return parse_utc_timestamp(self.saved_at)
        except ValueError:
            return None


def _positive(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) and value > 0 else None
    return None


def utc_timestamp(now: datetime | None = None) -> str:
    """``now`` (default: the current time) as ``YYYY-MM-DDTHH:MM:SSZ``, in UTC."""
    return _format_saved_at(now)


def parse_utc_timestamp(text: str) -> datetime:
    """The aware UTC datetime of a ``YYYY-MM-DDTHH:MM:SSZ`` text (:func:`utc_timestamp`'s);
    ValueError for any other text."""
    return datetime.strptime(text, _SAVED_AT_FORMAT).replace(tzinfo=timezone.utc)


def _format_saved_at(now: datetime | None) -> str:
    if now is None:
        now = datetime.now(timezone.utc)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)  # a naive time is taken to be UTC already
    return now.astimezone(timezone.utc).strftime(_SAVED_AT_FORMAT)


def _run(args: list[str], cwd: Path) -> str | None:
    """stdout of a short command, or None if it is missing, fails or takes too long."""
    try:
        completed = subprocess.run(
            args,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        # No binary, cwd gone, timeout: the value is simply unknown (documented as None).
        return None
    if completed.returncode != 0:
        return None
    return completed.stdout


def _git_state(rootdir: Path, baseline_dir: Path | None) -> tuple[str | None, bool | None]:
    out = _run(["git", "rev-parse", "--show-toplevel", "HEAD"], rootdir)
    lines = out.split("\n") if out is not None else []
    if len(lines) < 2 or not re.fullmatch(r"[0-9a-f]{40,64}", lines[1].strip()):
        # Not a repository, or one without commits: there is no HEAD to differ from.
        return None, None
    toplevel, commit = Path(lines[0].strip()), lines[1].strip()
    # ":/" = the whole work tree (not only the rootdir's subtree): the commit describes the
    # measured code only if nothing tracked anywhere in the repository was changed.
    pathspecs = [":/"]
    if baseline_dir is not None:
        try:
            inside = baseline_dir.resolve().relative_to(toplevel.resolve())
        except (OSError, ValueError, RuntimeError):
            inside = None  # the baseline folder is outside the repository: nothing to exclude
        if inside is not None and inside.parts:
            pathspecs.append(f":(top,exclude,literal){inside.as_posix()}")
    status = _run(
        [
            "git",
            # Plain "git status" refreshes and rewrites the index, which can collide with a
            # concurrent git command (index.lock) in the user's checkout.
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            *pathspecs,
        ],
        rootdir,
    )
    return commit, (None if status is None else bool(status.strip()))


def _cpu_model(system: str) -> str | None:
    name: str | None = None
    if system == "linux":
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                fields: dict[str, str] = {}
                for line in f:
                    key, sep, value = line.partition(":")
                    key = key.strip().lower()
                    if sep and value.strip() and key not in fields:
                        fields[key] = value.strip()
        except OSError:
            fields = {}  # no /proc (a sandbox): fall back to platform.processor() below
        for key in _CPUINFO_KEYS:
            # On x86 "processor" is the CPU's index ("0"), not a name.
            if key in fields and not fields[key].isdigit():
                name = fields[key]
                break
    elif system == "darwin":
        name = _run(["sysctl", "-n", "machdep.cpu.brand_string"], Path.cwd())
    if not name:
        try:
            name = platform.processor()
        except Exception:  # platform probes shell out on some systems; never fail a save
            name = None
    if name:
        name = " ".join(name.split())
        # uname -p gives "x86_64" / "unknown" on Linux: an architecture is not a CPU model.
        if name and name.lower() not in {_UNKNOWN, platform.machine().lower()}:
            return name
    return None


def collect_environment(
    rootdir: Path, baseline_dir: Path | None = None, *, now: datetime | None = None
) -> Environment:
    """Describe this machine, this Python and the git state of ``rootdir``; never raises.

    ``baseline_dir`` (the ``.perfbaseline`` folder) is ignored when deciding whether the
    work tree is dirty, so saving baselines twice does not mark the second save dirty.
    ``now`` (default: the current time) is stamped as ``saved_at``, in UTC; a naive datetime
    is taken to be UTC.
    """
    from .. import __version__  # at call time: the package is fully imported by then

    try:
        system = platform.system().lower() or _UNKNOWN
        arch = platform.machine() or _UNKNOWN
        plat = platform.platform(terse=True)
    except Exception:  # platform shells out to uname on some systems; never fail a save
        system, arch, plat = _UNKNOWN, _UNKNOWN, _UNKNOWN
    try:
        cpu = _cpu_model(system)
    except Exception:  # descriptive only: an odd /proc must not fail a save
        cpu = None
    commit, dirty = _git_state(rootdir, baseline_dir)
    return Environment(
        saved_at=_format_saved_at(now),
        plugin=__version__,
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=plat,
        system=system,
        arch=arch,
        cpu=cpu,
        cores=usable_cores(),
        git_commit=commit,
        git_dirty=dirty,
    )


def usable_cores() -> int | None:
    """CPUs this process may use: what benchmark timing depends on, not the host's total."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return len(affinity(0)) or None
        except OSError:
            pass  # not permitted here: fall back to the machine's count
    return os.cpu_count()


def _profile_part(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "_", text.lower()).strip("._-") or _UNKNOWN


def default_profile(env: Environment | None = None) -> str:
    """The default profile name: ``"{system}-{arch}-{cores}cpu"``, e.g. ``"linux-x86_64-2cpu"``.

    Lower case, only ``[a-z0-9._-]``. Profiles keep baselines of different machines apart, so
    a laptop's baselines and a 2-core CI runner's are never compared silently. Without
    ``env`` the current machine is described (cheaply: no git, no CPU probe). An unknown core
    count gives ``"...-unknowncpu"``.
    """
    if env is None:
        system, arch, cores = platform.system(), platform.machine(), usable_cores()
    else:
        system, arch, cores = env.system, env.arch, env.cores
    count = str(cores) if cores else "unknown"
    return f"{_profile_part(system)}-{_profile_part(arch)}-{count}cpu"


def age_seconds(env: Environment, now: datetime | None = None) -> float | None:
    """Seconds since ``env`` was saved; None when its time is unknown."""
    when = env.saved_at_datetime
    if when is None:
        return None
    return ((now or datetime.now(timezone.utc)) - when).total_seconds()


def describe_origin(
    env: Environment, profile: str, here: Environment, here_name: str = "this machine"
) -> str:
    """Where a baseline was measured, for messages; flags a machine other than ``here``."""
    commit = f"commit {env.git_commit[:12]}" if env.git_commit else "outside git"
    if env.git_dirty:
        commit += " (uncommitted changes)"
    machine = f"{env.cpu or 'unknown CPU'}, {env.cores or '?'} cores"
    text = f"{commit}, profile {profile}, {machine}, Python {env.python}"
    if (env.cpu, env.cores) != (here.cpu, here.cores):
        text += f" -- NOT {here_name} ({here.cpu or 'unknown CPU'}, {here.cores or '?'} cores)"
    return text
