"""``python -m pytest_perfbaseline``: the ``perfbaseline`` command (see :mod:`.cli`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m pytest_perfbaseline"))
