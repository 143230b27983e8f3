"""Importing the plugin, and pytest start-up with it, stay light: no numpy, scipy or tabulate.

Every pytest run of every project that has the plugin installed imports it, so the
heavy libraries may only be imported once a perf test or a report needs them. Each check runs
in a fresh interpreter (``sys.executable``), since this process has long imported them all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest_perfbaseline

HEAVY = ("numpy", "scipy", "tabulate")
PACKAGE_DIR = str(Path(pytest_perfbaseline.__file__).resolve().parent)


def run_python(code: str, *, cwd: Path, env: dict[str, str] | None = None) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    clean.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def heavy_after_each(statements: list[str], cwd: Path) -> list[dict[str, Any]]:
    """Run the statements in order in a fresh interpreter; after each, what is loaded."""
    lines = ["import json, sys", "seen = []"]
    for statement in statements:
        lines.append(statement)
        lines.append(
            f"seen.append({{'heavy': sorted(m for m in {HEAVY!r} if m in sys.modules), "
            "'plugin': 'pytest_perfbaseline.plugin' in sys.modules})"
        )
    lines.append("print(json.dumps(seen))")
    out = run_python("\n".join(lines), cwd=cwd)
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_importing_the_plugin_and_the_package_imports_nothing_heavy(tmp_path: Path) -> None:
    after_plugin, after_package, after_api = heavy_after_each(
        [
            "import pytest_perfbaseline.plugin",
            "import pytest_perfbaseline",
            "from pytest_perfbaseline import Perf, SimulatedModel, Usage, Measurement, Summary",
        ],
        tmp_path,
    )
    assert after_plugin == {"heavy": [], "plugin": True}
    assert after_package == {"heavy": [], "plugin": True}
    assert after_api == {"heavy": [], "plugin": True}


def test_the_statistics_need_numpy_but_not_scipy(tmp_path: Path) -> None:
    # The gate's rank test and interval, on both their exact and their normal-theory paths
    # (asymptotic p-value; Moses' rank above 200 values), load no scipy; nor do the t-tests,
    # the intervals and the power calculation (their t and binomial functions are our own).
    after_import, after_gate, after_rest = heavy_after_each(
        [
            "from pytest_perfbaseline.stats import *",
            "mann_whitney_u([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]); "
            "mann_whitney_u([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], method='asymptotic'); "
            "hodges_lehmann_ci([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]); "
            "hodges_lehmann_ci(list(range(150)), list(range(60)))",
            "welch_ttest([1.0, 2.0, 3.0], [4.0, 5.0, 7.0]); "
            "student_ttest([1.0, 2.0, 3.0], [4.0, 5.0, 7.0]); "
            "paired_ttest([1.0, 2.0, 3.0], [4.0, 5.0, 7.0]); "
            "mean_ci([1.0, 2.0, 4.0]); median_ci(list(range(20))); "
            "rounds_needed(0.5); rounds_needed(0.5, alternative='greater')",
        ],
        tmp_path,
    )
    assert after_import["heavy"] == ["numpy"]
    assert after_gate["heavy"] == ["numpy"]
    assert after_rest["heavy"] == ["numpy"]


def test_the_check_sees_a_heavy_import_when_there_is_one(tmp_path: Path) -> None:
    # The same check, with something that does import a heavy library: it must notice.
    (after,) = heavy_after_each(["import pytest_perfbaseline.plugin, tabulate"], tmp_path)
    assert after == {"heavy": ["tabulate"], "plugin": True}


# A conftest that records, at each stage of a pytest run, which heavy modules are loaded and
# whether the plugin is really active (otherwise "nothing heavy" would prove nothing).
RECORDER_CONFTEST = """
import json, os, sys
import pytest

HEAVY = ("numpy", "scipy", "tabulate")
seen = {}

def snapshot(stage, config):
    seen[stage] = sorted(m for m in HEAVY if m in sys.modules)
    seen[stage + "_plugin"] = config.pluginmanager.get_plugin("perfbaseline-measure") is not None

@pytest.hookimpl(trylast=True)  # after the plugin's own pytest_configure
def pytest_configure(config):
    snapshot("configure", config)

def pytest_collection_finish(session):
    snapshot("collected", session.config)

def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed:
        seen.setdefault("ran", []).append(report.nodeid)

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    snapshot("finished", session.config)

def pytest_unconfigure(config):
    with open(os.environ["LIGHT_IMPORT_REPORT"], "w") as f:
        json.dump(seen, f)
"""

PERF_TEST = """
import pytest

@pytest.mark.perf(rounds=3, warmup=0, threshold="10%")
def test_uses_perf(perf):
    perf(lambda: None)
"""

PLAIN_TEST = """
def test_plain():
    assert 1 + 1 == 2
"""


def pytest_stages(
    tmp_path: Path, files: dict[str, str], args: list[str], *, autoload: bool
) -> dict[str, Any]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "conftest.py").write_text(RECORDER_CONFTEST)
    for name, text in files.items():
        (project / name).write_text(textwrap.dedent(text))
    report = tmp_path / "report.json"
    env = {"LIGHT_IMPORT_REPORT": str(report)}
    plugin_args: list[str] = []
    if not autoload:
        # Only our plugin: whatever else is installed cannot import numpy on its behalf.
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        plugin_args = ["-p", "pytest_perfbaseline.plugin"]
    full_args = [*plugin_args, "-p", "no:cacheprovider", "-q", *args, str(project)]
    code = f"import sys, pytest; sys.exit(int(pytest.main({full_args!r})))"
    run_python(code, cwd=project, env=env)
    return json.loads(report.read_text())  # type: ignore[no-any-return]


def test_pytest_start_up_collection_and_a_run_without_perf_tests_import_nothing_heavy(
    tmp_path: Path,
) -> None:
    # The perf test is collected (fixture, marker) and then deselected; the plain test runs.
    files = {"test_perf.py": PERF_TEST, "test_plain.py": PLAIN_TEST}
    seen = pytest_stages(tmp_path, files, ["-m", "not perf"], autoload=False)
    assert seen["configure_plugin"]  # the plugin is really active
    assert seen["configure"] == []
    assert seen["collected"] == []
    assert seen["finished"] == []
    assert seen["ran"] == ["test_plain.py::test_plain"]


def test_the_recorder_sees_a_heavy_import_during_collection(tmp_path: Path) -> None:
    heavy_test = "import tabulate\n" + PLAIN_TEST
    seen = pytest_stages(tmp_path, {"test_heavy.py": heavy_test}, ["--co"], autoload=False)
    assert seen["configure"] == []
    assert seen["collected"] == ["tabulate"]


# With every installed plugin loaded (the entry point, as users get it), another plugin may
# import numpy itself; what matters is that *we* never do. An import hook records the Python
# files on the stack when each heavy module is first imported, and the same for a sentinel
# module that the conftest imports, to show the hook does see who imports what.
SENTINEL = "colorsys"
WHO_IMPORTS = """
import builtins, json, sys, traceback

WATCHED = ("numpy", "scipy", "tabulate", "colorsys", "pytest_perfbaseline.gate.settings")
importers = {}
original_import = builtins.__import__

# Wrapping __import__ (not a sys.meta_path finder) sees every import statement, including
# those in modules that pytest's assertion rewriter loads ahead of any finder we install.
def recording_import(name, globals=None, locals=None, fromlist=(), level=0):
    missing = [m for m in WATCHED if m not in sys.modules]
    try:
        return original_import(name, globals, locals, fromlist, level)
    finally:
        for module in missing:
            if module in sys.modules and module not in importers:
                importers[module] = [frame.filename for frame in traceback.extract_stack()]

builtins.__import__ = recording_import
assert not any(m in sys.modules for m in WATCHED)

import pytest
loaded = []

class Probe:
    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config):
        loaded.append(config.pluginmanager.get_plugin("perfbaseline") is not None)

code = pytest.main(ARGS, plugins=[Probe()])
print(json.dumps({"importers": importers, "entry_point_loaded": loaded}))
sys.exit(int(code))
"""


def test_with_all_installed_plugins_the_plugin_itself_imports_nothing_heavy(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "conftest.py").write_text(f"import {SENTINEL}\n")
    (project / "test_perf.py").write_text(textwrap.dedent(PERF_TEST))
    args = ["-p", "no:cacheprovider", "-q", "--co", str(project)]
    out = run_python(WHO_IMPORTS.replace("ARGS", repr(args)), cwd=project)
    result = json.loads(out.strip().splitlines()[-1])

    assert result["entry_point_loaded"] == [True]  # loaded through its pytest11 entry point
    importers = result["importers"]
    # The hook works: it names the conftest as the importer of the sentinel, and it recognises
    # our own files on the stack (the plugin imports its settings module itself).
    assert any(f.endswith("conftest.py") for f in importers.get(SENTINEL, []))
    own_import = importers.get("pytest_perfbaseline.gate.settings", [])
    assert any(f.startswith(PACKAGE_DIR) for f in own_import)
    ours = {
        module: [f for f in stack if f.startswith(PACKAGE_DIR)]
        for module, stack in importers.items()
        if module in HEAVY
    }
    assert {module: files for module, files in ours.items() if files} == {}
