"""jiggle: turn still photos into looping jiggle-and-bounce videos, by conversation.

The public surface is re-exported here and imported lazily, so that ``jiggle --help`` and
``import skill`` stay fast: nothing heavy loads until it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from skill._version import __version__

if TYPE_CHECKING:
    from skill.manifest import Manifest as Manifest
    from skill.manifest import attribution_headers as attribution_headers
    from skill.manifest import detect_platform as detect_platform
    from skill.manifest import load_manifest as load_manifest

# name -> module that defines it; later modules add their public names here.
_LAZY: dict[str, str] = {
    "Manifest": "skill.manifest",
    "load_manifest": "skill.manifest",
    "detect_platform": "skill.manifest",
    "attribution_headers": "skill.manifest",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'skill' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
