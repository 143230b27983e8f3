"""pytest-perfbaseline's pytest face: options, the ``perf`` marker and fixture, and hooks.

Kept thin on purpose: timing, metrics, prices, storage, the gate and reports live in modules
that know nothing about pytest. Importing this module must stay cheap (no numpy, scipy or
tabulate): it is imported by every pytest run of every project that has the plugin installed.
"""

from __future__ import annotations

import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .gate.settings import (
    DEFAULT_ALPHA,
    DEFAULT_ROUNDS,
    DEFAULT_WARMUP,
    MARKER_KEYS,
    SettingError,
    TestSettings,
    Threshold,
    parse_alpha,
    parse_bool,
    parse_duration,
    parse_gate,
    parse_marker,
    parse_nonnegative_int,
    parse_positive_int,
    parse_threshold,
)

if TYPE_CHECKING:
    from .baseline.environment import Environment
    from .baseline.store import BaselineStore, SaveReport
    from .gate.compare import TestComparison
    from .gate.machine import MachineWatch
    from .measure.perf import Perf
    from .metrics.result import TestResult
    from .reports.run import RunReport
    from .usage.tokens import Usage

__all__ = ["PerfBaselineWarning", "PerfSession"]


class PerfBaselineWarning(pytest.PytestWarning):
    """Something about measuring, storing or comparing performance needs attention."""


SESSION_KEY = pytest.StashKey["PerfSession"]()
PERF_KEY = pytest.StashKey["Perf"]()
SETTINGS_KEY = pytest.StashKey[TestSettings]()
RESULT_KEY = pytest.StashKey["TestResult"]()
COMPARISON_KEY = pytest.StashKey["TestComparison"]()

# Attributes on the call-phase report: plain builtins, so they survive xdist's serialisation
# and reach the controller, which alone writes baselines and reports.
_RESULT_ATTR = "perfbaseline"
_COMPARISON_ATTR = "perfbaseline_comparison"

DEFAULT_BASELINE_DIR = ".perfbaseline"
# GitHub refuses a step summary over 1 MiB; beyond this, the folded per-metric rows are left out.
_STEP_SUMMARY_BUDGET = 768 * 1024
DEFAULT_MAX_AGE = "30d"
DEFAULT_SETTLE = "30s"
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfbaseline", "performance baselines (pytest-perfbaseline)")

    def option(flag: str, ini: str, help: str, ini_type: str = "string", **kwargs: Any) -> None:
        # argparse %-formats option help ("%(default)s"), so a literal percent sign is doubled.
        flag_help = f"{help} (ini: {ini})".replace("%", "%%")
        group.addoption(flag, dest=ini, default=None, help=flag_help, **kwargs)
        parser.addini(ini, help, type=ini_type, default=None)  # type: ignore[arg-type]

    option(
        "--perf-baseline",
        "perf_baseline",
        "'save': write the measured rounds of every perf test that ran to the baseline "
        "folder (other tests' entries are kept); default: do not save",
        metavar="save",
    )
    option(
        "--perf-compare",
        "perf_compare",
        "compare each perf test with its stored baseline and fail those that regressed "
        "(with --perf-baseline=save: compare, then save); default off",
        ini_type="bool",
        action="store_const",
        const="on",
    )
    option(
        "--perf-baseline-dir",
        "perf_baseline_dir",
        f"baseline folder, relative to the rootdir; default {DEFAULT_BASELINE_DIR}",
        metavar="DIR",
    )
    option(
        "--perf-profile",
        "perf_profile",
        "baseline profile: baselines of other profiles are never compared with this run; "
        "default: this machine's system-arch-cores, e.g. linux-x86_64-2cpu",
        metavar="NAME",
    )
    option(
        "--perf-rounds",
        "perf_rounds",
        f"measured rounds per perf test; default {DEFAULT_ROUNDS}",
        metavar="N",
    )
    option(
        "--perf-warmup",
        "perf_warmup",
        f"warm-up rounds (run, not measured) per perf test; default {DEFAULT_WARMUP}",
        metavar="N",
    )
    option(
        "--perf-threshold",
        "perf_threshold",
        "practical margin a change must exceed to count: '15%', 0.15, or per metric "
        "'ttft_s=20%,cost_usd=2%' (fnmatch patterns allowed); default 10% for times, "
        "5% for token counts and cost",
        metavar="DELTA",
    )
    option(
        "--perf-gate",
        "perf_gate",
        "comma-separated metrics (fnmatch patterns) that may fail a test; default "
        "round_s,ttft_s,tpot_s,*.ttft_s,*.tpot_s,input_tokens,output_tokens,cost_usd and "
        "custom metrics",
        metavar="METRICS",
    )
    option(
        "--perf-alpha",
        "perf_alpha",
        f"false-alarm rate of the whole session, shared by all perf tests and gated "
        f"metrics; default {DEFAULT_ALPHA}",
        metavar="P",
    )
    option(
        "--perf-confirm",
        "perf_confirm",
        "re-measure a suspected regression once (re-running the test) and fail only if "
        "the fresh rounds confirm it: on/off; default on",
        nargs="?",
        const="on",
        metavar="on|off",
    )
    option(
        "--perf-settle",
        "perf_settle",
        "before re-measuring a suspected regression, wait up to this long for a busy machine "
        "(a VM's CPU-steal burst) to quieten, and do not fail a time regression measured "
        f"while it was busy; '0': no machine check; default {DEFAULT_SETTLE}",
        metavar="AGE",
    )
    option(
        "--perf-fail",
        "perf_fail",
        "'regression': a regressed test fails; 'never': report regressions without "
        "failing; default regression",
        metavar="regression|never",
    )
    option(
        "--perf-baseline-max-age",
        "perf_baseline_max_age",
        f"baselines older than this are reported stale ('30d', '12h', 'never'); "
        f"default {DEFAULT_MAX_AGE}",
        metavar="AGE",
    )
    option(
        "--perf-disable",
        "perf_disable",
        "run each perf workload once, without warm-up, summary, baseline or gate "
        "(fast local runs); default off",
        ini_type="bool",
        action="store_const",
        const="on",
    )
    option(
        "--perf-json",
        "perf_json",
        "write everything (per-round values, summaries, verdicts, metadata) as JSON to PATH "
        "(docs/report-format.md); default none",
        metavar="PATH",
    )
    option(
        "--perf-csv",
        "perf_csv",
        "write one CSV row per test and metric (statistics, baseline, change, verdict) to "
        "PATH; default none",
        metavar="PATH",
    )
    option(
        "--perf-markdown",
        "perf_markdown",
        "write a Markdown summary (regressions first) to PATH; default none",
        metavar="PATH",
    )
    option(
        "--perf-github-summary",
        "perf_github_summary",
        "append the Markdown summary to $GITHUB_STEP_SUMMARY when that is set: on/off; default on",
        metavar="on|off",
    )
    option(
        "--perf-prices",
        "perf_prices",
        "TOML or JSON price file (ours or LiteLLM's model_prices_and_context_window.json) "
        "extending the built-in price table, relative to the rootdir; default none",
        metavar="PATH",
    )


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
    csv: Path | None = None
    markdown: Path | None = None
    github_summary: bool = True

    def report_paths(self) -> dict[str, Path]:
        paths = {"--perf-json": self.json, "--perf-csv": self.csv, "--perf-markdown": self.markdown}
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


def _profile(value: Any, origin: str) -> str:
    text = str(value).strip()
    if not _PROFILE_NAME.fullmatch(text):
        raise SettingError(
            f"{origin} must be a name of letters, digits, '.', '_' or '-', got {value!r}"
        )
    return text


def _read_options(config: pytest.Config) -> Options:
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
        gate=get("perf_gate", parse_gate, TestSettings().gate),
    )
    rootdir = config.rootpath
    prices = get("perf_prices", lambda value, _origin: str(value), None)

    def report_path(name: str) -> Path | None:
        # like --junitxml: a command-line path is relative to where pytest was started, an
        # ini path to the rootdir (where the ini file is)
        raw = _raw(config, name)
        if raw is None:
            return None
        value, origin = raw
        base = config.invocation_params.dir if origin.startswith("--") else rootdir
        return base / str(value)

    return Options(
        base=base,
        save=get("perf_baseline", _choice("save"), None) == "save",
        compare=get("perf_compare", parse_bool, False),
        baseline_dir=rootdir / get("perf_baseline_dir", lambda v, _o: str(v), DEFAULT_BASELINE_DIR),
        profile=get("perf_profile", _profile, None),
        alpha=get("perf_alpha", parse_alpha, DEFAULT_ALPHA),
        confirm=get("perf_confirm", parse_bool, True),
        settle_s=get("perf_settle", parse_duration, parse_duration(DEFAULT_SETTLE)) or 0.0,
        fail=get("perf_fail", _choice("regression", "never"), "regression") == "regression",
        max_age_s=get("perf_baseline_max_age", parse_duration, parse_duration(DEFAULT_MAX_AGE)),
        disabled=get("perf_disable", parse_bool, False),
        prices=rootdir / prices if prices is not None else None,
        json=report_path("perf_json"),
        csv=report_path("perf_csv"),
        markdown=report_path("perf_markdown"),
        github_summary=get("perf_github_summary", parse_bool, True),
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


def pytest_configure(config: pytest.Config) -> None:
    keys = ", ".join(f"{key}=..." for key in MARKER_KEYS)
    config.addinivalue_line(
        "markers",
        f"perf({keys}): settings of a perf test (rounds, warmup, threshold, gate, alpha); "
        "every test using the perf fixture carries this marker",
    )
    options = _read_options(config)
    if not hasattr(config, "workerinput") and not options.disabled:  # the controller writes
        if options.save:
            _check_writable(options.baseline_dir, "baselines")
        for option, path in options.report_paths().items():
            if path.is_dir():
                raise pytest.UsageError(
                    f"pytest-perfbaseline: {option}={path} is a folder; give a file name"
                )
            _check_writable(path.parent, f"the {option} report")
    session = PerfSession(config, options)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "perfbaseline-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        config.pluginmanager.unregister(session)
        del config.stash[SESSION_KEY]


def pytest_itemcollected(item: pytest.Item) -> None:
    # Before -m deselection runs (in pytest_collection_modifyitems), so `-m "not perf"` works.
    if "perf" in getattr(item, "fixturenames", ()):
        item.add_marker("perf")


@pytest.fixture
def perf_clock() -> Callable[[], int]:
    """The clock ``perf`` measures with: integer nanoseconds, ``time.perf_counter_ns``.

    Override this fixture to run perf tests on simulated time, e.g. a fake clock shared with
    ``SimulatedModel(sleep=clock.sleep)``, which makes their timings exact.
    """
    return time.perf_counter_ns


@pytest.fixture
def perf(request: pytest.FixtureRequest, perf_clock: Callable[[], int]) -> Perf:
    """Measure streamed inference, tokens and cost in this test.

    ``perf(fn, *args)`` runs ``fn`` for warm-up and measured rounds and returns its last
    result (``await perf.arun(afn, ...)`` in async tests). Inside, time streams with
    ``perf.stream(source, ...)``, open spans with ``perf.phase/agent/operation(name)``,
    account non-streamed calls with ``perf.record_usage(...)`` and add custom values with
    ``perf.metric(...)``. Afterwards ``perf.rounds`` and ``perf.summary[metric]`` hold the
    results. Settings: ``@pytest.mark.perf(rounds=, warmup=, threshold=, gate=, alpha=)``.
    """
    session = request.config.stash[SESSION_KEY]
    return session.create_perf(request.node, perf_clock)


class PerfSession:
    """The session's state and hooks; registered in ``pytest_configure``."""

    def __init__(self, config: pytest.Config, options: Options) -> None:
        self.config = config
        self.options = options
        self.is_worker = hasattr(config, "workerinput")  # a pytest-xdist worker
        self.results: dict[str, TestResult] = {}
        self.comparisons: dict[str, TestComparison] = {}
        self.perf_tests = 0
        self.outcomes: dict[str, str] = {}
        self.written_reports: list[str] = []
        self.report_errors: list[str] = []
        self.save_report: SaveReport | None = None
        self.save_skipped_reason: str | None = None
        self._store: BaselineStore | None = None
        self.machine: MachineWatch | None = None
        self._environment: Environment | None = None
        self._cost_of: Any = None
        self._warned: set[tuple[str, str]] = set()
        if options.prices is not None:
            self._cost_of = self._load_prices(options.prices)

    # -- prices --------------------------------------------------------------------------------

    def _load_prices(self, path: Path) -> Any:
        from .usage.prices import PriceFileError, PriceTable, load_price_file

        try:
            overrides = load_price_file(path)
        except PriceFileError as exc:
            raise pytest.UsageError(f"pytest-perfbaseline: {exc}") from None
        return PriceTable.builtin().merged(overrides).cost

    def cost_of(self, usage: Usage) -> float | None:
        if self._cost_of is None:
            from .usage.prices import PriceTable

            self._cost_of = PriceTable.builtin().cost
        return self._cost_of(usage)  # type: ignore[no-any-return]

    def _warn_once(self, key: tuple[str, str], message: str) -> None:
        # Once per model per session, however many tests and rounds use it.
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(PerfBaselineWarning(message), stacklevel=3)

    def warn_unpriced(self, model: str) -> None:
        from .measure.perf import unpriced_message

        self._warn_once(("price", model), unpriced_message(model))

    def warn_no_usage(self, model: str) -> None:
        from .measure.perf import no_usage_message

        self._warn_once(("usage", model), no_usage_message(model))

    # -- baselines -----------------------------------------------------------------------------

    @property
    def environment(self) -> Environment:
        if self._environment is None:
            from .baseline.environment import collect_environment

            self._environment = collect_environment(self.config.rootpath, self.options.baseline_dir)
        return self._environment

    @property
    def measured_environment(self) -> Environment:
        """The environment with the machine check's fastest probe, if it ran."""
        if self.machine is None or self.machine.best is None:
            return self.environment
        # to the microsecond: a readable line in a committed file; the probe varies more
        return replace(self.environment, machine_probe_s=round(self.machine.best, 6) or None)

    @property
    def profile(self) -> str:
        if self.options.profile is not None:
            return self.options.profile
        from .baseline.environment import default_profile

        return default_profile(self.environment)

    @property
    def store(self) -> BaselineStore:
        if self._store is None:
            from .baseline.store import BaselineStore

            self._store = BaselineStore(self.options.baseline_dir, self.profile)
        return self._store

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # How fast the machine is, before any test loads it: the reference for telling a
        # busy machine from slowed code (see machine.py). Only where it can matter: a
        # confirmation re-measure, and a save, which records it for later compares.
        options = self.options
        checks = options.save or (options.compare and options.confirm)
        if checks and options.settle_s > 0 and not options.disabled:
            from .gate.machine import MachineWatch

            self.machine = MachineWatch()
            self.machine.calibrate()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # The session's false-alarm budget is shared by the perf tests that will run, so the
        # call phase of the first one already knows its share.
        self.perf_tests = sum(
            1 for item in session.items if "perf" in getattr(item, "fixturenames", ())
        )

    # -- per test ------------------------------------------------------------------------------

    def test_settings(self, item: pytest.Item) -> TestSettings:
        settings = self.options.base
        # Farthest marker first (module, class), the test's own last: the closest wins.
        for mark in reversed(list(item.iter_markers("perf"))):
            try:
                settings = parse_marker(mark.kwargs, mark.args, settings)
            except SettingError as exc:
                pytest.fail(f"{item.nodeid}: @pytest.mark.perf: {exc}", pytrace=False)
        return settings

    def create_perf(self, item: pytest.Item, clock: Callable[[], int]) -> Perf:
        from .measure.perf import Perf

        settings = self.test_settings(item)
        perf = Perf(
            rounds=settings.rounds,
            warmup=settings.warmup,
            clock=clock,
            cost_of=self.cost_of,
            on_unpriced=self.warn_unpriced,
            on_no_usage=self.warn_no_usage,
            disabled=self.options.disabled,
        )
        item.stash[PERF_KEY] = perf
        item.stash[SETTINGS_KEY] = settings
        return perf

    def _compare(self, item: pytest.Item, result: TestResult) -> TestComparison:
        from .baseline.environment import age_seconds, describe_origin
        from .baseline.store import BaselineError
        from .events import emit
        from .gate.compare import compare_test

        started = time.perf_counter()
        settings = item.stash[SETTINGS_KEY]
        try:
            entry = self.store.load(item.nodeid)
        except BaselineError as exc:
            emit("baseline not loaded", str(exc.path), str(exc), level=logging.WARNING)
            if self.options.fail:
                pytest.fail(f"{item.nodeid}: cannot compare: {exc}", pytrace=False)
            warnings.warn(PerfBaselineWarning(f"cannot compare: {exc}"), stacklevel=1)
            entry = None
        if settings.alpha is not None:
            test_alpha = settings.alpha
        else:
            test_alpha = self.options.alpha / max(1, self.perf_tests)
        comparison = compare_test(entry.result if entry else None, result, settings, test_alpha)
        if entry is not None:
            age = age_seconds(entry.environment)
            comparison = replace(
                comparison,
                baseline_saved_at=entry.environment.saved_at,
                baseline_origin=describe_origin(entry.environment, entry.profile, self.environment),
                baseline_age_s=age,
                stale=age is not None
                and self.options.max_age_s is not None
                and age > self.options.max_age_s,
            )
        emit(
            "compared",
            item.nodeid,
            f"compared {item.nodeid} with its baseline in profile {self.profile}: "
            f"{comparison.verdict}",
            duration_s=time.perf_counter() - started,
            verdict=comparison.verdict,
            profile=self.profile,
            metrics_compared=len(comparison.comparisons),
        )
        return comparison

    def _machine_reference(self, item: pytest.Item) -> float | None:
        """The probe saved with this test's baseline, if it was timed on a machine like this."""
        if self.machine is None:
            return None
        from .baseline.store import BaselineError

        try:
            entry = self.store.load(item.nodeid)
        except BaselineError:  # reported by the comparison already; the check goes without
            return None
        if entry is None or not entry.environment.same_machine_kind(self.environment):
            return None
        return entry.environment.machine_probe_s

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        outcome = yield  # a failing test raises here, and its rounds are not kept
        perf = item.stash.get(PERF_KEY, None)
        if perf is None or self.options.disabled or not perf.measured:
            return outcome
        from .events import emit
        from .metrics.result import TestResult
        from .reports.run import junit_properties

        result = TestResult.from_measurement(item.nodeid, perf.finish())
        comparison = None
        if self.options.compare:
            comparison = self._compare(item, result)
            if comparison.suspected and self.options.confirm:
                from .gate.compare import confirm

                # Re-measure: run the test again, as pytest-rerunfailures would, and judge
                # on the fresh rounds alone. That bounds the false-alarm rate by the fresh
                # test's level, however lax the suspicion was.
                started = time.perf_counter()
                slowdown, waited = None, None
                reference = self._machine_reference(item)
                if self.machine is not None:  # a busy machine first gets time to quieten
                    settling = self.machine.settle(self.options.settle_s, reference)
                    waited, slowdown = settling.waited_s, settling.slowdown
                perf._reset()
                item.runtest()
                result = TestResult.from_measurement(item.nodeid, perf.finish())
                if self.machine is not None and slowdown is not None:
                    # a burst can also begin during the re-measure: look again afterwards
                    slowdown = max(slowdown, self.machine.slowdown(reference))
                comparison = confirm(
                    comparison,
                    self._compare(item, result),
                    machine_slowdown=slowdown,
                    settle_waited_s=waited,
                )
                emit(
                    "re-measured",
                    item.nodeid,
                    f"re-measured {item.nodeid} to check a suspected regression of "
                    f"{', '.join(comparison.suspected)}: {comparison.confirmation}",
                    duration_s=time.perf_counter() - started,
                    suspected=list(comparison.suspected),
                    confirmation=comparison.confirmation,
                    settle_waited_s=waited,
                    machine_slowdown=slowdown,
                    excused=list(comparison.excused),
                )
            item.stash[COMPARISON_KEY] = comparison
            regressed = [c.metric for c in comparison.regressed]
            emit(
                "verdict",
                item.nodeid,
                f"{item.nodeid}: {comparison.verdict}"
                + (f" ({', '.join(regressed)})" if regressed else ""),
                level=logging.WARNING if regressed else logging.INFO,
                verdict=comparison.verdict,
                regressed_metrics=regressed,
            )
        item.stash[RESULT_KEY] = result
        item.user_properties.extend(junit_properties(result, comparison))
        if comparison is not None and comparison.regressed and self.options.fail:
            from .gate.compare import failure_message

            pytest.fail(failure_message(comparison), pytrace=False)
        return outcome

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "call":
            result = item.stash.get(RESULT_KEY, None)
            if result is not None:
                setattr(report, _RESULT_ATTR, result.to_dict())
            comparison = item.stash.get(COMPARISON_KEY, None)
            if comparison is not None:
                setattr(report, _COMPARISON_ATTR, comparison.to_dict())
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" or self.is_worker:
            return
        self.outcomes[report.nodeid] = report.outcome
        data = getattr(report, _RESULT_ATTR, None)
        if data is not None:
            from .metrics.result import TestResult

            self.results[report.nodeid] = TestResult.from_dict(data)
        comparison = getattr(report, _COMPARISON_ATTR, None)
        if comparison is not None:
            from .gate.compare import TestComparison

            self.comparisons[report.nodeid] = TestComparison.from_dict(comparison)

    # -- end of session ------------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker or self.options.disabled:
            return
        if self.options.save:
            self._save(exitstatus)
        if self.results:
            self._write_reports()
        failed = bool(self.report_errors) or bool(self.save_report and self.save_report.errors)
        if failed and session.exitstatus == pytest.ExitCode.OK:
            # Reported in the terminal summary and the exit status, not as a warning: at
            # session end, `-W error` would turn a warning into a traceback.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _save(self, exitstatus: int) -> None:
        from .events import emit

        if exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
            self.save_skipped_reason = "the run was interrupted; the stored baselines are unchanged"
            return
        if not self.results:
            return
        started = time.perf_counter()
        results = [self.results[nodeid] for nodeid in sorted(self.results)]
        if self.machine is not None:
            self.machine.sample()  # a second look, in case the session began in a busy window
        environment = self.measured_environment
        report = self.store.save([(result, environment) for result in results])
        self.save_report = report
        folder = str(self.options.baseline_dir / self.profile)
        if report.saved:
            emit(
                "baseline saved",
                folder,
                f"saved the baselines of {len(report.saved)} tests to {folder}",
                duration_s=time.perf_counter() - started,
                tests=len(report.saved),
                files=[str(p) for p in report.written],
            )
        for error in report.errors:
            emit("baseline not saved", str(error.path), str(error), level=logging.WARNING)

    def run_report(self) -> RunReport:
        """Everything this session measured and decided, for the report files."""
        from .baseline.environment import utc_timestamp
        from .reports.run import RunReport, TestEntry

        report = self.save_report
        return RunReport(
            created_at=utc_timestamp(),
            environment=self.measured_environment,
            profile=self.profile,
            compare=self.options.compare,
            save=self.options.save,
            alpha=self.options.alpha,
            confirm=self.options.confirm,
            fail_on_regression=self.options.fail,
            perf_tests=self.perf_tests,
            tests=tuple(
                TestEntry(
                    nodeid,
                    self.outcomes.get(nodeid, "passed"),
                    self.results[nodeid],
                    self.comparisons.get(nodeid),
                )
                for nodeid in sorted(self.results)
            ),
            saved=report.saved if report else (),
            save_errors=tuple(str(e) for e in report.errors) if report else (),
        )

    def _write_reports(self) -> None:
        from .events import emit
        from .files import write_atomically

        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if not self.options.github_summary:
            step_summary = None
        if not (self.options.report_paths() or step_summary):
            return
        report = self.run_report()
        for option, path in self.options.report_paths().items():
            started = time.perf_counter()
            try:
                write_atomically(path, _renderer(option)(report))
            except OSError as exc:
                self.report_errors.append(f"{option}: cannot write {path}: {exc.strerror or exc}")
                emit("report not written", str(path), self.report_errors[-1], level=logging.WARNING)
                continue
            self.written_reports.append(f"{option} report: {_relative(path, self.config.rootpath)}")
            emit(
                "report written",
                str(path),
                f"wrote the {option} report to {path}",
                duration_s=time.perf_counter() - started,
            )
        if step_summary:
            from .reports.markdown import render_markdown

            summary = render_markdown(report)
            if len(summary.encode()) > _STEP_SUMMARY_BUDGET:
                summary = render_markdown(report, details=False)
            try:  # appending is how GitHub collects the step summary
                with open(step_summary, "a", encoding="utf-8") as handle:
                    handle.write(summary + "\n")
            except OSError as exc:
                self.report_errors.append(
                    f"GITHUB_STEP_SUMMARY: cannot append to {step_summary}: {exc.strerror or exc}"
                )
            else:
                self.written_reports.append("GitHub step summary")
                emit("report written", step_summary, "appended the summary to GITHUB_STEP_SUMMARY")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not (self.results or self.save_skipped_reason):
            return
        from .reports.terminal import (
            render_breakdowns,
            render_details,
            render_overview,
            save_lines,
            verdict_lines,
        )

        tr = terminalreporter
        results = [self.results[nodeid] for nodeid in sorted(self.results)]
        verbose = self.config.get_verbosity() > 0
        tr.write_sep("=", f"perfbaseline: {len(results)} perf test{'s' * (len(results) != 1)}")
        if results:
            for line in render_overview(results):
                tr.write_line(line)
        for result in results:
            # quiet: breakdowns of the tests that opened spans; -v: every metric of every test
            details = render_details(result) if verbose else []
            breakdown = render_breakdowns(result, spans_only=not verbose)
            if details or breakdown:
                tr.write_line("")
                tr.write_line(result.nodeid, bold=True)
            for line in details + ([""] if details and breakdown else []) + breakdown:
                tr.write_line(line)
        lines = []
        if self.options.compare:
            comparisons = [self.comparisons[n] for n in sorted(self.comparisons)]
            lines += verdict_lines(
                comparisons, profile=self.profile, verbose=verbose, saving=self.options.save
            )
        folder = _relative(self.options.baseline_dir / self.profile, self.config.rootpath)
        lines += save_lines(self.save_report, folder, self.save_skipped_reason)
        lines += [(f"wrote the {line}", {}) for line in self.written_reports]
        lines += [(f"report NOT written: {e}", {"red": True}) for e in self.report_errors]
        for text, markup in lines:
            tr.write_line(text, **markup)
        if not verbose and results:
            tr.write_line("(-v: every metric of every test, all breakdowns and all verdicts)")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _renderer(option: str) -> Callable[[RunReport], str]:
    """The function that renders a report file, imported only when that file is asked for."""
    if option == "--perf-json":
        from .reports.run import dumps

        return dumps
    if option == "--perf-csv":
        from .reports.csv_report import render_csv

        return render_csv
    from .reports.markdown import render_markdown

    return render_markdown
