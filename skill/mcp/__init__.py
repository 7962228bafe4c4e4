"""The MCP server and the typed Python API, two faces over the skill host.

``from skill.mcp import Jiggle`` gives the typed API (no MCP SDK needed);
``jiggle mcp [--backend cloud|local]`` runs the MCP server on stdio (:func:`run`), which needs
the ``mcp`` extra. Everything is imported on first use, so ``jiggle --help`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skill.mcp.api import AnimateResult as AnimateResult
    from skill.mcp.api import CallFailed as CallFailed
    from skill.mcp.api import ChatResult as ChatResult
    from skill.mcp.api import CreditsResult as CreditsResult
    from skill.mcp.api import ExportResult as ExportResult
    from skill.mcp.api import Failure as Failure
    from skill.mcp.api import Jiggle as Jiggle
    from skill.mcp.api import JobsResult as JobsResult
    from skill.mcp.api import PendingRender as PendingRender
    from skill.mcp.api import SessionState as SessionState
    from skill.mcp.api import StateResult as StateResult
    from skill.mcp.api import UploadResult as UploadResult
    from skill.mcp.api import Video as Video
    from skill.mcp.server import build_server as build_server
    from skill.mcp.server import run as run

_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "AnimateResult",
            "CallFailed",
            "ChatResult",
            "CreditsResult",
            "ExportResult",
            "Failure",
            "Jiggle",
            "JobsResult",
            "PendingRender",
            "SessionState",
            "StateResult",
            "UploadResult",
            "Video",
        ),
        "skill.mcp.api",
    ),
    "build_server": "skill.mcp.server",
    "run": "skill.mcp.server",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'skill.mcp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
