"""Where jiggle keeps files on the user's machine.

The token cache lives in NemoVideo's config dir, shared with the other NemoVideo skills;
everything else of jiggle's (pending renders, REPL history, the last session) in its data dir.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["config_dir", "data_dir"]


def config_dir() -> Path:
    """``$NEMO_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/nemovideo``, else ``~/.config/nemovideo``."""
    override = os.environ.get("NEMO_CONFIG_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "nemovideo"


def data_dir() -> Path:
    """``$JIGGLE_DATA_DIR``, else ``$XDG_DATA_HOME/jiggle``, else ``~/.local/share/jiggle``."""
    override = os.environ.get("JIGGLE_DATA_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "jiggle"
