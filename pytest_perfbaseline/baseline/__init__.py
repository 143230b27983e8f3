"""Stored baselines: the ``.perfbaseline/`` folder, its files and where they were measured.

:mod:`.store` holds :class:`BaselineStore` (load, list, save and remove entries under a lock);
:mod:`.paths` maps a node id to its file and back; :mod:`.codec` is the file format (read
strictly, written deterministically by :mod:`.jsontext`); :mod:`.entries` lays a test's result
out as an entry of a file and reads it back; :mod:`.environment` describes where and when a
baseline was measured.
"""

from .environment import Environment
from .store import BaselineEntry, BaselineError, BaselineStore, SaveReport

__all__ = ["BaselineEntry", "BaselineError", "BaselineStore", "Environment", "SaveReport"]
