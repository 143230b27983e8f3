"""The documentation matches the plugin: every option in the README, with its ini twin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def registered_options(pytester: pytest.Pytester) -> dict[str, str]:
    """``--perf-*`` flag -> its ini name, read from ``pytest --help`` (each help text names it)."""
    result = pytester.runpytest("-p", "no:asyncio", "--help")  # its help warns of an unset ini
    assert result.ret == 0
    options: dict[str, str] = {}
    flag = None
    text = ""
    for line in result.stdout.lines:
        start = re.match(r"\s{2}(--perf-[a-z-]+)", line)
        if start:  # an option's own line: its help runs on until the next option
            flag, text = start.group(1), ""
        elif re.match(r"\s{2}-", line):
            flag = None
        if flag is None:
            continue
        text += " " + line.strip()
        ini = re.search(r"\(ini: ([a-z_]+)\)", text)
        if ini:
            options[flag] = ini.group(1)
            flag = None
    return options


def test_every_option_is_in_the_readme_table_with_its_ini_twin(pytester: pytest.Pytester) -> None:
    if not README.is_file():
        pytest.skip("README.md is not beside the tests")
    flags = registered_options(pytester)
    assert len(flags) >= 15  # the parse found the options (19 when written)
    rows = re.findall(r"^\| `(--perf-[a-z-]+)[^`]*` \| `([a-z_]+)` \|", README.read_text(), re.M)
    documented = dict(rows)
    assert documented == flags
    config = pytester.parseconfig()
    for ini in flags.values():
        config.getini(ini)  # registered as an ini option too (raises ValueError otherwise)
    assert all(ini == flag[2:].replace("-", "_") for flag, ini in flags.items())


def test_no_placeholder_is_left_in_the_docs() -> None:
    root = README.parent
    pages = [README, *sorted((root / "docs").glob("*.md"))]
    if not README.is_file():
        pytest.skip("README.md is not beside the tests")
    left = {
        page.name: re.findall(
            r"\b[A-Z]+_(?:ROWS?|RESULTS|FIGURES?|TODO)\b|\bTODO\b", page.read_text()
        )
        for page in pages
    }
    assert {name: found for name, found in left.items() if found} == {}
