"""pytest-perfbaseline's pytest wiring: options, the ``perf`` marker and fixtures, and two
plugin objects registered by role -- one that measures on every process, one that reports on
the controller only (as pytest's own ``junitxml`` registers its ``LogXML``).

Timing, metrics, prices, baselines, the gate and reports live in packages that know nothing
about pytest. Importing this module must stay cheap (no numpy, scipy or tabulate): it is
imported by every pytest run of every project that has the plugin installed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from .gate.settings import MARKER_KEYS
from .hooks.context import CONTEXT_KEY, PerfBaselineWarning, SessionContext
from .hooks.measuring import PerfMeasurer
from .hooks.options import add_options, check_output_paths, read_options
from .hooks.progress import PROGRESS_NAME, ProgressPlugin

if TYPE_CHECKING:
    from .measure.perf import Perf

__all__ = ["PerfBaselineWarning"]

MEASURER_KEY = pytest.StashKey[PerfMeasurer]()
MEASURER_NAME = "perfbaseline-measure"
REPORTER_NAME = "perfbaseline-report"
OTEL_NAME = "perfbaseline-otel"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from .hooks import specs

    pluginmanager.add_hookspecs(specs)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    keys = ", ".join(f"{key}=..." for key in MARKER_KEYS)
    config.addinivalue_line(
        "markers",
        f"perf({keys}): settings of a perf test (rounds, warmup, threshold, gate, alpha, "
        "min_round_time); "
        "every test using the perf fixture carries this marker",
    )
    options = read_options(config)
    is_controller = not hasattr(config, "workerinput")  # not a pytest-xdist worker
    if is_controller and not options.disabled:
        check_output_paths(options)
    context = SessionContext(config, options)
    config.stash[CONTEXT_KEY] = context
    if options.otel != "off" and not options.disabled:
        from .integrations.otel_export import OtelSession

        otel = OtelSession.start(config, per_test=options.otel == "per-test")
        config.pluginmanager.register(otel, OTEL_NAME)
        context.on_record = otel.record_round
    measurer = PerfMeasurer(context)
    config.stash[MEASURER_KEY] = measurer
    config.pluginmanager.register(measurer, MEASURER_NAME)
    config.pluginmanager.register(ProgressPlugin(config, context), PROGRESS_NAME)
    if is_controller:
        from .hooks.reporting import PerfReporter

        config.pluginmanager.register(PerfReporter(config, context), REPORTER_NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    for name in (MEASURER_NAME, PROGRESS_NAME, REPORTER_NAME, OTEL_NAME):
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)
    if MEASURER_KEY in config.stash:
        del config.stash[MEASURER_KEY]
    if CONTEXT_KEY in config.stash:
        del config.stash[CONTEXT_KEY]


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
    results. Settings: ``@pytest.mark.perf(rounds=, warmup=, threshold=, gate=, alpha=,
    min_round_time=)``; a workload faster than ``min_round_time`` (default 5 ms) is called
    several times per round, and ``round_s`` is then the time per call.
    """
    return request.config.stash[MEASURER_KEY].create_perf(request.node, perf_clock)
