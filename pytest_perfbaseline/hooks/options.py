"""The plugin's command-line and ini options: declared once, read into :class:`Options`.

Every flag has an ini twin and a help text stating its default; the command line wins over
the ini file, and a marker (read per test, :mod:`pytest_perfbaseline.gate.settings`) over both.
A bad value is a usage error naming where it came from and what is accepted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ..baseline.sessions import DEFAULT_SESSIONS
from ..files import not_a_regular_file
from ..gate.settings import (
    DEFAULT_ALPHA,
    DEFAULT_MAX_ROUNDS,
    DEFAULT_MAX_TIME_S,
    DEFAULT_MIN_ROUND_S,
    DEFAULT_MIN_ROUND_TIME,
    DEFAULT_ROUNDS,
    DEFAULT_WARMUP,
    SettingError,
    TestSettings,
    Threshold,
    parse_alpha,
    parse_bool,
    parse_duration,
    parse_gate,
    parse_max_time,
    parse_min_round_time,
    parse_nonnegative_int,
    parse_positive_int,
    parse_threshold,
)
from ..integrations.mlflow_target import (
    DEFAULT_EXPERIMENT,
    INSTALL_HINT,
    MlflowTarget,
    mlflow_installed,
    parse_experiment,
    parse_mlflow,
)

__all__ = ["FLAGS", "Flag", "Options", "add_options", "check_output_paths", "read_options"]

DEFAULT_BASELINE_DIR = ".perfbaseline"
DEFAULT_MAX_AGE = "30d"
DEFAULT_SETTLE = "30s"
DEFAULT_SETTLE_TOTAL = "120s"
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Flag:
    """One option: its flag, its ini twin, its help and argparse's keyword arguments."""

    flag: str
    ini: str
    help: str
    ini_type: str = "string"
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def _flag(flag: str, ini: str, help: str, ini_type: str = "string", **kwargs: Any) -> Flag:
    return Flag(flag, ini, help, ini_type, kwargs)


FLAGS = (
    _flag(
        "--perf-baseline",
        "perf_baseline",
        "'save': write the measured rounds of every perf test that ran to the baseline "
        "folder (other tests' entries are kept); default: do not save",
        metavar="save",
    ),
    _flag(
        "--perf-compare",
        "perf_compare",
        "compare each perf test with its stored baseline and fail those that regressed "
        "(with --perf-baseline=save: compare, then save); default off",
        ini_type="bool",
        action="store_const",
        const="on",
    ),
    _flag(
        "--perf-baseline-dir",
        "perf_baseline_dir",
        f"baseline folder, relative to the rootdir; default {DEFAULT_BASELINE_DIR}",
        metavar="DIR",
    ),
    _flag(
        "--perf-baseline-sessions",
        "perf_baseline_sessions",
        "saving sessions kept per test: the gate pools them and, from 3, allows for the "
        f"drift between sessions; default {DEFAULT_SESSIONS}",
        metavar="K",
    ),
    _flag(
        "--perf-baseline-fresh",
        "perf_baseline_fresh",
        "with --perf-baseline=save: replace each saved test's stored sessions by this one "
        "(instead of adding it to them); default off",
        ini_type="bool",
        action="store_const",
        const="on",
    ),
    _flag(
        "--perf-profile",
        "perf_profile",
        "baseline profile: baselines of other profiles are never compared with this run; "
        "default: this machine's system-arch-cores, e.g. linux-x86_64-2cpu",
        metavar="NAME",
    ),
    _flag(
        "--perf-rounds",
        "perf_rounds",
        f"measured rounds per perf test; default {DEFAULT_ROUNDS}",
        metavar="N",
    ),
    _flag(
        "--perf-warmup",
        "perf_warmup",
        f"warm-up rounds (run, not measured) per perf test; default {DEFAULT_WARMUP}",
        metavar="N",
    ),
    _flag(
        "--perf-min-round-time",
        "perf_min_round_time",
        "a perf(fn) workload faster than this is called several times per round so a round "
        "lasts this long, and round_s is per call ('5ms', '500us'; 0: once per round); "
        f"default {DEFAULT_MIN_ROUND_TIME}",
        metavar="TIME",
    ),
    _flag(
        "--perf-threshold",
        "perf_threshold",
        "practical margin a change must exceed to count: '15%', 0.15, or per metric "
        "'ttft_s=20%,cost_usd=2%' (fnmatch patterns allowed); default 10% for times, "
        "5% for token counts and cost",
        metavar="DELTA",
    ),
    _flag(
        "--perf-gate",
        "perf_gate",
        "comma-separated metrics (fnmatch patterns) that may fail a test; default "
        "round_s,ttft_s,tpot_s,*.ttft_s,*.tpot_s,input_tokens,output_tokens,cost_usd and "
        "custom metrics",
        metavar="METRICS",
    ),
    _flag(
        "--perf-alpha",
        "perf_alpha",
        f"false-alarm rate of the whole session, shared by all perf tests and gated "
        f"metrics; default {DEFAULT_ALPHA}",
        metavar="P",
    ),
    _flag(
        "--perf-confirm",
        "perf_confirm",
        "re-measure a suspected regression once (re-running the test) and fail only if "
        "the fresh rounds confirm it: on/off; default on",
        nargs="?",
        const="on",
        metavar="on|off",
    ),
    _flag(
        "--perf-settle",
        "perf_settle",
        "before re-measuring a suspected regression, wait up to this long for a busy machine "
        "(a VM's CPU-steal burst) to quieten, and do not fail a time regression measured "
        f"while it was busy; '0': no machine check; default {DEFAULT_SETTLE}",
        metavar="AGE",
    ),
    _flag(
        "--perf-settle-total",
        "perf_settle_total",
        "the most a session (each xdist worker) waits in all for a busy machine to quieten; "
        f"default {DEFAULT_SETTLE_TOTAL}",
        metavar="AGE",
    ),
    _flag(
        "--perf-undecided",
        "perf_undecided",
        "what a test whose regression a busy machine could explain does (verdict "
        "'undecided'): 'fail' it or let it 'pass' (reported either way); default fail",
        metavar="fail|pass",
    ),
    _flag(
        "--perf-max-rounds",
        "perf_max_rounds",
        "the most rounds measured to decide one test (more rounds for an inconclusive "
        f"metric, re-measures included); default {DEFAULT_MAX_ROUNDS}",
        metavar="N",
    ),
    _flag(
        "--perf-max-time",
        "perf_max_time",
        "the most time spent measuring to decide one test ('90s', '2m'; the first re-measure "
        f"of a suspected regression is always made); default {DEFAULT_MAX_TIME_S:g}s",
        metavar="AGE",
    ),
    _flag(
        "--perf-fail",
        "perf_fail",
        "'regression': a regressed test fails; 'never': report regressions without "
        "failing; default regression",
        metavar="regression|never",
    ),
    _flag(
        "--perf-baseline-max-age",
        "perf_baseline_max_age",
        f"baselines older than this are reported stale ('30d', '12h', 'never'); "
        f"default {DEFAULT_MAX_AGE}",
        metavar="AGE",
    ),
    _flag(
        "--perf-disable",
        "perf_disable",
        "run each perf workload once, without warm-up, summary, baseline or gate "
        "(fast local runs); default off",
        ini_type="bool",
        action="store_const",
        const="on",
    ),
    _flag(
        "--perf-json",
        "perf_json",
        "write everything (per-round values, summaries, verdicts, metadata) as JSON to PATH "
        "(docs/report-format.md); default none",
        metavar="PATH",
    ),
    _flag(
        "--perf-html",
        "perf_html",
        "write the session as one self-contained HTML page (verdicts worst first, charts; "
        "opens offline) to PATH; default none",
        metavar="PATH",
    ),
    _flag(
        "--perf-csv",
        "perf_csv",
        "write one CSV row per test and metric (statistics, baseline, change, verdict) to "
        "PATH; default none",
        metavar="PATH",
    ),
    _flag(
        "--perf-markdown",
        "perf_markdown",
        "write a Markdown summary (regressions first) to PATH; default none",
        metavar="PATH",
    ),
    _flag(
        "--perf-github-summary",
        "perf_github_summary",
        "append the Markdown summary to $GITHUB_STEP_SUMMARY when that is set: on/off; default on",
        metavar="on|off",
    ),
    _flag(
        "--perf-history",
        "perf_history",
        "record every perf session's run in a history store: 'off', 'sqlite:///PATH' or "
        "'postgresql://USER@HOST/DB' (docs/history.md); default "
        "sqlite in pytest's cache folder (.pytest_cache/d/perfbaseline/history.sqlite)",
        metavar="off|URL",
    ),
    _flag(
        "--perf-mlflow",
        "perf_mlflow",
        "log the session as one MLflow run (per test and metric its median, p95 and mean; "
        "docs/integrations.md) to a tracking URI ('http://HOST:PORT', 'sqlite:///PATH'); "
        "without a value ('on' in the ini file): MLFLOW_TRACKING_URI, else MLflow's default; "
        "default off",
        nargs="?",
        const="on",
        metavar="URI",
    ),
    _flag(
        "--perf-mlflow-experiment",
        "perf_mlflow_experiment",
        f"the MLflow experiment of --perf-mlflow's runs; default {DEFAULT_EXPERIMENT}",
        metavar="NAME",
    ),
    _flag(
        "--perf-otel",
        "perf_otel",
        "record every measured stream and call as OpenTelemetry GenAI client metrics "
        "(docs/integrations.md; needs pytest-perfbaseline[otel]); 'per-test': also label "
        "them with the test (test.case.name); default off",
        nargs="?",
        const="on",
        metavar="on|off|per-test",
    ),
    _flag(
        "--perf-prices",
        "perf_prices",
        "TOML or JSON price file (ours or LiteLLM's model_prices_and_context_window.json) "
        "extending the built-in price table, relative to the rootdir; default none",
        metavar="PATH",
    ),
)


def add_options(parser: pytest.Parser) -> None:
    """Declare every flag and its ini twin in the ``perfbaseline`` option group."""
    group = parser.getgroup("perfbaseline", "performance baselines (pytest-perfbaseline)")
    for f in FLAGS:
        # argparse %-formats option help ("%(default)s"), so a literal percent sign is doubled.
        flag_help = f"{f.help} (ini: {f.ini})".replace("%", "%%")
        group.addoption(f.flag, dest=f.ini, default=None, help=flag_help, **f.kwargs)
        parser.addini(f.ini, f.help, type=f.ini_type, default=None)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Options:
    """The session-wide settings, from the command line over the ini file over defaults."""

    base: TestSettings
    save: bool
    compare: bool
    baseline_dir: Path
    profile: str | None
    """None: derived from the machine (resolved when first needed)."""
    alpha: float
    confirm: bool
    settle_s: float
    fail: bool
    max_age_s: float | None
    disabled: bool
    prices: Path | None
    json: Path | None = None
    html: Path | None = None
    csv: Path | None = None
    markdown: Path | None = None
    github_summary: bool = True
    settle_total_s: float = 120.0
    fail_undecided: bool = True
    baseline_sessions: int = DEFAULT_SESSIONS
    """Saving sessions kept per test."""
    baseline_fresh: bool = False
    """Saving replaces each test's stored sessions (instead of adding one)."""
    mlflow: MlflowTarget | None = None
    """Where the session is logged as an MLflow run; None: not logged."""
    otel: str = "off"
    """``--perf-otel``: 'off', 'on' or 'per-test' (records labelled with the test)."""

    def report_paths(self) -> dict[str, Path]:
        paths = {
            "--perf-json": self.json,
            "--perf-html": self.html,
            "--perf-csv": self.csv,
            "--perf-markdown": self.markdown,
        }
        return {option: path for option, path in paths.items() if path is not None}


def _raw(config: pytest.Config, name: str) -> tuple[Any, str] | None:
    """The option's raw value and where it came from, or None when it is unset."""
    value = config.getoption(name)
    if value is not None:
        return value, f"--{name.replace('_', '-')}"
    value = config.getini(name)
    if value not in (None, "", []):
        return value, f"ini option {name}"
    return None


def _choice(*accepted: str) -> Callable[[Any, str], str]:
    def parse(value: Any, origin: str) -> str:
        text = str(value).strip().lower()
        if text not in accepted:
            raise SettingError(
                f"{origin} must be {' or '.join(map(repr, accepted))}, got {value!r}"
            )
        return text

    return parse


def _text(accepted: str) -> Callable[[Any, str], str]:
    """A string option's parser: the value as given, refused when empty or only whitespace.

    An empty value is most often an unset variable in a CI script (``--perf-json=$OUT``);
    read as a path it would be the current folder or the rootdir.
    """

    def parse(value: Any, origin: str) -> str:
        text = str(value)
        if not text.strip():
            raise SettingError(f"{origin} is empty: give {accepted}")
        return text

    return parse


def _otel(value: Any, origin: str) -> str:
    if str(value).strip().lower() == "per-test":
        return "per-test"
    try:
        return "on" if parse_bool(value, origin) else "off"
    except SettingError:
        raise SettingError(f"{origin} must be 'on', 'off' or 'per-test', got {value!r}") from None


def _gate(value: Any, origin: str) -> tuple[str, ...]:
    return parse_gate(value, origin, nonempty=True)


def _profile(value: Any, origin: str) -> str:
    text = str(value).strip()
    if not text:
        raise SettingError(
            f"{origin} is empty: give a name of letters, digits, '.', '_' or '-', or leave "
            "the option out for this machine's profile"
        )
    if not _PROFILE_NAME.fullmatch(text):
        raise SettingError(
            f"{origin} must be a name of letters, digits, '.', '_' or '-', got {value!r}"
        )
    return text


_BASELINE_DIR = _text(
    f"a folder path, relative to the rootdir (leave the option out for {DEFAULT_BASELINE_DIR})"
)


def read_options(config: pytest.Config) -> Options:
    """The session's options; pytest.UsageError for a bad value."""

    def get(name: str, parse: Callable[[Any, str], Any], default: Any) -> Any:
        raw = _raw(config, name)
        if raw is None:
            return default
        value, origin = raw
        try:
            return parse(value, origin)
        except SettingError as exc:
            raise pytest.UsageError(f"pytest-perfbaseline: {exc}") from None

    base = TestSettings(
        rounds=get("perf_rounds", parse_positive_int, DEFAULT_ROUNDS),
        warmup=get("perf_warmup", parse_nonnegative_int, DEFAULT_WARMUP),
        threshold=get("perf_threshold", parse_threshold, Threshold()),
        gate=get("perf_gate", _gate, TestSettings().gate),
        max_rounds=get("perf_max_rounds", parse_positive_int, DEFAULT_MAX_ROUNDS),
        max_time_s=get("perf_max_time", parse_max_time, DEFAULT_MAX_TIME_S),
        min_round_s=get("perf_min_round_time", parse_min_round_time, DEFAULT_MIN_ROUND_S),
    )
    rootdir = config.rootpath
    prices = get("perf_prices", _text("the path of a TOML or JSON price file"), None)

    def report_path(name: str) -> Path | None:
        # like --junitxml: a command-line path is relative to where pytest was started, an
        # ini path to the rootdir (where the ini file is)
        raw = _raw(config, name)
        if raw is None:
            return None
        value, origin = raw
        try:
            value = _text("the path of the report file to write")(value, origin)
        except SettingError as exc:
            raise pytest.UsageError(f"pytest-perfbaseline: {exc}") from None
        base = config.invocation_params.dir if origin.startswith("--") else rootdir
        return base / str(value)

    return Options(
        base=base,
        save=get("perf_baseline", _choice("save"), None) == "save",
        compare=get("perf_compare", parse_bool, False),
        baseline_dir=rootdir / get("perf_baseline_dir", _BASELINE_DIR, DEFAULT_BASELINE_DIR),
        profile=get("perf_profile", _profile, None),
        alpha=get("perf_alpha", parse_alpha, DEFAULT_ALPHA),
        confirm=get("perf_confirm", parse_bool, True),
        settle_s=get("perf_settle", parse_duration, parse_duration(DEFAULT_SETTLE)) or 0.0,
        fail=get("perf_fail", _choice("regression", "never"), "regression") == "regression",
        settle_total_s=get(
            "perf_settle_total", parse_duration, parse_duration(DEFAULT_SETTLE_TOTAL)
        )
        or 0.0,
        fail_undecided=get("perf_undecided", _choice("fail", "pass"), "fail") == "fail",
        max_age_s=get("perf_baseline_max_age", parse_duration, parse_duration(DEFAULT_MAX_AGE)),
        disabled=get("perf_disable", parse_bool, False),
        prices=rootdir / prices if prices is not None else None,
        json=report_path("perf_json"),
        html=report_path("perf_html"),
        csv=report_path("perf_csv"),
        markdown=report_path("perf_markdown"),
        github_summary=get("perf_github_summary", parse_bool, True),
        baseline_sessions=get("perf_baseline_sessions", parse_positive_int, DEFAULT_SESSIONS),
        baseline_fresh=get("perf_baseline_fresh", parse_bool, False),
        mlflow=_mlflow_target(get),
        otel=get("perf_otel", _otel, "off"),
    )


def _mlflow_target(
    get: Callable[[str, Callable[[Any, str], Any], Any], Any],
) -> MlflowTarget | None:
    uri = get("perf_mlflow", parse_mlflow, None)
    if uri is None:
        return None
    if not mlflow_installed():
        raise pytest.UsageError(
            f"pytest-perfbaseline: --perf-mlflow needs mlflow, which is not installed: "
            f"{INSTALL_HINT}"
        )
    return MlflowTarget(
        uri or None, get("perf_mlflow_experiment", parse_experiment, DEFAULT_EXPERIMENT)
    )


def _check_writable(folder: Path, what: str) -> None:
    """Fail at start-up, not after an hour of tests, when ``folder`` could not be written."""
    if folder.is_file():
        raise pytest.UsageError(
            f"pytest-perfbaseline: cannot write {what} to {folder}: it is a file, not a folder"
        )
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise pytest.UsageError(
            f"pytest-perfbaseline: cannot write {what} to {folder}: {probe} is not a "
            "writable folder (check the path and its permissions)"
        )


def check_output_paths(options: Options) -> None:
    """On the controller: every folder the session will write to can be written."""
    if options.save:
        _check_writable(options.baseline_dir, "baselines")
    for option, path in options.report_paths().items():
        kind = not_a_regular_file(path)
        if kind == "a folder":
            raise pytest.UsageError(
                f"pytest-perfbaseline: {option}={path} is a folder; give a file name"
            )
        if kind is not None:
            # Writing the report replaces what is at the path: never a device such as
            # /dev/null (as root in a CI container), a FIFO, or a symbolic link.
            raise pytest.UsageError(
                f"pytest-perfbaseline: {option}={path} is {kind}, not a regular file, and "
                "the report would replace it; give the path of a regular file or a new one"
            )
        _check_writable(path.parent, f"the {option} report")
