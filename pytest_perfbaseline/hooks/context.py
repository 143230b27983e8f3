"""What both plugin objects of a session share: options, environment, baseline store, prices.

Everything here is made on first use, so a session that never needs the environment (git,
CPU model) or the baselines never pays for them. It is kept in ``config.stash``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .options import Options

if TYPE_CHECKING:
    from ..baseline.environment import Environment
    from ..baseline.store import BaselineStore
    from ..gate.judge import Judge
    from ..gate.machine import MachineWatch
    from ..gate.neighbours import Neighbours
    from ..measure.perf import RoundHook
    from ..measure.recorder import RoundRecord
    from ..usage.tokens import Usage

__all__ = ["CONTEXT_KEY", "PerfBaselineWarning", "SessionContext"]


class PerfBaselineWarning(pytest.PytestWarning):
    """Something about measuring, storing or comparing performance needs attention."""


class SessionContext:
    """The session's options and the lazily made things every perf test may need."""

    def __init__(self, config: pytest.Config, options: Options) -> None:
        self.rootpath = config.rootpath
        self.options = options
        self.perf_tests = 0
        """Perf tests that will run (known after collection): they share the alpha budget."""
        self.machine: MachineWatch | None = None
        self.on_round: RoundHook | None = None
        """Told of every round of every test measured here (live progress), when set."""
        self.on_record: Callable[[str, RoundRecord], None] | None = None
        """Called with a test's node id and each round it measured (``--perf-otel``)."""
        self._neighbours: Neighbours | None = None
        self._environment: Environment | None = None
        self._store: BaselineStore | None = None
        self._cost_of: Callable[[Usage], float | None] | None = None
        self._warned: set[tuple[str, str]] = set()
        if options.prices is not None:
            self._cost_of = _load_prices(options.prices)

    # -- prices and their warnings --------------------------------------------------------------

    @property
    def neighbours(self) -> Neighbours:
        """The session's recently compared tests: the control for common-mode drift."""
        if self._neighbours is None:
            from ..gate.neighbours import Neighbours

            self._neighbours = Neighbours()
        return self._neighbours

    def cost_of(self, usage: Usage) -> float | None:
        if self._cost_of is None:
            from ..usage.prices import PriceTable

            self._cost_of = PriceTable.builtin().cost
        return self._cost_of(usage)

    def warn_unpriced(self, model: str) -> None:
        from ..measure.perf import unpriced_message

        self.warn(PerfBaselineWarning(unpriced_message(model)))

    def warn_no_usage(self, model: str) -> None:
        from ..measure.perf import no_usage_message

        self.warn(PerfBaselineWarning(no_usage_message(model)))

    def warn(self, warning: Warning) -> None:
        """Show ``warning`` (of its own class, so users can filter it) once per session:
        once per model, however many tests and rounds use it."""
        key = (type(warning).__name__, str(warning))
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(warning, stacklevel=3)

    # -- where and what this session measures against ------------------------------------------

    @property
    def environment(self) -> Environment:
        if self._environment is None:
            from ..baseline.environment import collect_environment

            self._environment = collect_environment(self.rootpath, self.options.baseline_dir)
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
        from ..baseline.environment import default_profile

        return default_profile(self.environment)

    @property
    def store(self) -> BaselineStore:
        if self._store is None:
            from ..baseline.store import BaselineStore

            self._store = BaselineStore(self.options.baseline_dir, self.profile)
        return self._store

    def judge(self) -> Judge:
        from ..gate.judge import Judge

        return Judge(
            alpha=self.options.alpha,
            perf_tests=self.perf_tests,
            max_age_s=self.options.max_age_s,
            here=self.environment,
        )


def _load_prices(path: Path) -> Callable[[Usage], float | None]:
    from ..usage.price_files import PriceFileError, load_price_file
    from ..usage.prices import PriceTable

    try:
        overrides = load_price_file(path)
    except PriceFileError as exc:
        raise pytest.UsageError(f"pytest-perfbaseline: {exc}") from None
    return PriceTable.builtin().merged(overrides).cost


CONTEXT_KEY = pytest.StashKey[SessionContext]()
