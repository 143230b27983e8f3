"""The ``perfbaseline`` command: inspect, compare and prune stored baselines offline."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
