"""``--perf-mlflow`` and ``--perf-mlflow-experiment`` as options: where a session's MLflow run
goes, parsed and checked at start-up, and whether mlflow is there at all (without importing it).

Light on purpose: the options module imports it at pytest's start-up; the run itself is logged
by :mod:`.mlflow_run`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..gate.settings import SettingError

__all__ = [
    "DEFAULT_EXPERIMENT",
    "INSTALL_HINT",
    "MlflowTarget",
    "mlflow_installed",
    "parse_experiment",
    "parse_mlflow",
]

DEFAULT_EXPERIMENT = "pytest-perfbaseline"
INSTALL_HINT = "pip install 'pytest-perfbaseline[mlflow]'"

_ON = ("on", "true", "yes", "1")
_OFF = ("off", "false", "no", "0")
_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql", "file", "databricks", "uc")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_ACCEPTED = (
    "'on' (MLFLOW_TRACKING_URI, else MLflow's default), 'off', or an MLflow tracking URI: "
    "http://HOST:PORT, https://HOST, sqlite:///PATH, file:///PATH, databricks"
)


@dataclass(frozen=True)
class MlflowTarget:
    """Where the session's run goes."""

    uri: str | None
    """The tracking URI; None: ``MLFLOW_TRACKING_URI``, else MLflow's default."""
    experiment: str = DEFAULT_EXPERIMENT


def parse_mlflow(value: Any, origin: str) -> str | None:
    """``--perf-mlflow``'s value: ``""`` for MLflow's default URI, a URI, or None for off.

    SettingError naming what is accepted for an empty or unusable value.
    """
    text = str(value).strip()
    if text.lower() in _ON:
        return ""
    if text.lower() in _OFF:
        return None
    if not text:
        raise SettingError(f"{origin} is empty: give {_ACCEPTED}")
    problem = _uri_problem(text)
    if problem is not None:
        raise SettingError(f"{origin}={text!r} {problem}: give {_ACCEPTED}")
    return text


def _uri_problem(uri: str) -> str | None:
    if uri == "databricks":
        return None
    if not _SCHEME.match(uri):
        return "is not a tracking URI (no scheme)"
    parts = urlsplit(uri)
    if parts.scheme.split("+")[0] not in _SCHEMES:
        return f"has a scheme MLflow does not track to (for a server: http://{uri})"
    if parts.scheme in ("http", "https") and not parts.hostname:
        return "names no host"
    if parts.scheme == "sqlite" and parts.path in ("", "/"):
        return "names no database file"
    return None


def parse_experiment(value: Any, origin: str) -> str:
    """``--perf-mlflow-experiment``: a name, not empty (MLflow allows up to 500 characters)."""
    text = str(value).strip()
    if not text or len(text) > 500:
        raise SettingError(
            f"{origin} must be an MLflow experiment name of 1 to 500 characters, got {value!r}"
        )
    return text


def mlflow_installed() -> bool:
    """Whether ``import mlflow`` would find it, without importing it."""
    if "mlflow" in sys.modules:  # None there blocks the import, as it does for Python
        return sys.modules["mlflow"] is not None
    import importlib.util

    return importlib.util.find_spec("mlflow") is not None
