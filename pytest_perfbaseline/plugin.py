"""pytest-perfbaseline's pytest face: options, the ``perf`` marker and fixture, and hooks.

Kept thin on purpose: timing, metrics, prices, storage, the gate and reports live in modules
that know nothing about pytest. Importing this module must stay cheap (no numpy, scipy or
tabulate): it is imported by every pytest run of every project that has the plugin installed.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from .settings import (
    DEFAULT_ROUNDS,
    DEFAULT_WARMUP,
    MARKER_KEYS,
    SettingError,
    TestSettings,
    parse_bool,
    parse_marker,
    parse_nonnegative_int,
    parse_positive_int,
)

if TYPE_CHECKING:
    from .perf import Perf
    from .results import TestResult
    from .usage import Usage

__all__ = ["PerfBaselineWarning", "PerfSession"]


class PerfBaselineWarning(pytest.PytestWarning):
    """Something about measuring, storing or comparing performance needs attention."""


SESSION_KEY = pytest.StashKey["PerfSession"]()
PERF_KEY = pytest.StashKey["Perf"]()
RESULT_KEY = pytest.StashKey["TestResult"]()

_REPORT_ATTR = "perfbaseline"  # attribute on the call report; survives xdist serialisation


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfbaseline", "performance baselines (pytest-perfbaseline)")

    def option(flag: str, ini: str, help: str, ini_type: str = "string", **kwargs: Any) -> None:
        group.addoption(flag, dest=ini, default=None, help=f"{help} (ini: {ini})", **kwargs)
        parser.addini(ini, help, type=ini_type, default=None)  # type: ignore[arg-type]

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
        "--perf-disable",
        "perf_disable",
        "run each perf workload once, without warm-up, summary, baseline or gate "
        "(fast local runs); default off",
        ini_type="bool",
        action="store_const",
        const="on",
    )
    option(
        "--perf-prices",
        "perf_prices",
        "TOML or JSON price file (ours or LiteLLM's model_prices_and_context_window.json) "
        "extending the built-in price table; default none",
        metavar="PATH",
    )


@dataclass(frozen=True)
class Options:
    """The session-wide settings, from the command line over the ini file over defaults."""

    base: TestSettings
    disabled: bool
    prices: str | None


def _raw(config: pytest.Config, name: str) -> tuple[Any, str] | None:
    """The option's raw value and where it came from, or None when it is unset."""
    value = config.getoption(name)
    if value is not None:
        return value, f"--{name.replace('_', '-')}"
    value = config.getini(name)
    if value not in (None, "", []):
        return value, f"ini option {name}"
    return None


def _read_options(config: pytest.Config) -> Options:
    def get(name: str, parse: Any, default: Any) -> Any:
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
    )
    prices = get("perf_prices", lambda value, _origin: str(value), None)
    return Options(
        base=base,
        disabled=get("perf_disable", parse_bool, False),
        prices=prices,
    )


def pytest_configure(config: pytest.Config) -> None:
    keys = ", ".join(f"{key}=..." for key in MARKER_KEYS)
    config.addinivalue_line(
        "markers",
        f"perf({keys}): settings of a perf test (rounds, warmup, threshold, gate, alpha); "
        "every test using the perf fixture carries this marker",
    )
    session = PerfSession(config, _read_options(config))
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
def perf(request: pytest.FixtureRequest) -> Perf:
    """Measure streamed inference, tokens and cost in this test.

    ``perf(fn, *args)`` runs ``fn`` for warm-up and measured rounds and returns its last
    result (``await perf.arun(afn, ...)`` in async tests). Inside, time streams with
    ``perf.stream(source, ...)``, open spans with ``perf.phase/agent/operation(name)``,
    account non-streamed calls with ``perf.record_usage(...)`` and add custom values with
    ``perf.metric(...)``. Afterwards ``perf.rounds`` and ``perf.summary[metric]`` hold the
    results. Settings: ``@pytest.mark.perf(rounds=, warmup=, threshold=, gate=, alpha=)``.
    """
    session = request.config.stash[SESSION_KEY]
    return session.create_perf(request.node)


class PerfSession:
    """The session's state and hooks; registered in ``pytest_configure``."""

    def __init__(self, config: pytest.Config, options: Options) -> None:
        self.config = config
        self.options = options
        self.is_worker = hasattr(config, "workerinput")  # a pytest-xdist worker
        self.results: dict[str, TestResult] = {}
        self._cost_of: Any = None
        self._warned_models: set[str] = set()
        if options.prices is not None:
            self._cost_of = self._load_prices(options.prices)

    # -- prices --------------------------------------------------------------------------------

    def _load_prices(self, path: str) -> Any:
        from .prices import PriceFileError, PriceTable, load_price_file

        resolved = self.config.rootpath / path
        try:
            overrides = load_price_file(resolved)
        except PriceFileError as exc:
            raise pytest.UsageError(f"pytest-perfbaseline: {exc}") from None
        return PriceTable.builtin().merged(overrides).cost

    def cost_of(self, usage: Usage) -> float | None:
        if self._cost_of is None:
            from .prices import PriceTable

            self._cost_of = PriceTable.builtin().cost
        return self._cost_of(usage)  # type: ignore[no-any-return]

    def warn_unpriced(self, model: str) -> None:
        # Once per model per session, however many tests and rounds use it.
        if model in self._warned_models:
            return
        self._warned_models.add(model)
        warnings.warn(
            PerfBaselineWarning(
                f"model {model!r} has no price, so its cost_usd is null; add it to the file "
                "named by the perf_prices ini option (see docs/prices.md)"
            ),
            stacklevel=2,
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

    def create_perf(self, item: pytest.Item) -> Perf:
        from .perf import Perf

        settings = self.test_settings(item)
        perf = Perf(
            rounds=settings.rounds,
            warmup=settings.warmup,
            cost_of=self.cost_of,
            on_unpriced=self.warn_unpriced,
            disabled=self.options.disabled,
        )
        item.stash[PERF_KEY] = perf
        return perf

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        outcome = yield  # a failing test raises here, and its rounds are not kept
        perf = item.stash.get(PERF_KEY, None)
        if perf is None or self.options.disabled or not perf.measured:
            return outcome
        from .results import TestResult

        item.stash[RESULT_KEY] = TestResult.from_measurement(item.nodeid, perf.finish())
        return outcome

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "call":
            result = item.stash.get(RESULT_KEY, None)
            if result is not None:
                setattr(report, _REPORT_ATTR, result.to_dict())
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, _REPORT_ATTR, None)
        if data is None or report.when != "call" or self.is_worker:
            return
        from .results import TestResult

        self.results[report.nodeid] = TestResult.from_dict(data)

    # -- end of session ------------------------------------------------------------------------

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.results or self.is_worker:
            return
        from .report_terminal import render_breakdowns, render_details, render_overview

        results = sorted(self.results.values(), key=lambda r: r.nodeid)
        verbose = self.config.get_verbosity() > 0
        tr = terminalreporter
        tr.write_sep("=", f"perfbaseline: {len(results)} perf test{'s' * (len(results) != 1)}")
        for line in render_overview(results):
            tr.write_line(line)
        if verbose:
            for result in results:
                tr.write_line("")
                tr.write_line(result.nodeid, bold=True)
                for line in render_details(result):
                    tr.write_line(line)
                breakdown = render_breakdowns(result)
                if breakdown:
                    tr.write_line("")
                    for line in breakdown:
                        tr.write_line(line)
        else:
            tr.write_line(
                "(-v shows every metric and the phase / agent / operation / model breakdowns)"
            )
