"""jiggle: turn still photos into looping jiggle-and-bounce videos, by conversation.

The public surface is re-exported here and imported lazily, so that ``jiggle --help`` and
``import skill`` stay fast: nothing heavy loads until it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from skill._version import __version__

if TYPE_CHECKING:
    from skill.client import ChatEvent as ChatEvent
    from skill.client import Credits as Credits
    from skill.client import JobStore as JobStore
    from skill.client import MediaInfo as MediaInfo
    from skill.client import NemoClient as NemoClient
    from skill.client import RenderJob as RenderJob
    from skill.client import Session as Session
    from skill.client import SessionState as SessionState
    from skill.client import TokenCache as TokenCache
    from skill.client import TurnChanges as TurnChanges
    from skill.errors import ApiError as ApiError
    from skill.errors import AuthError as AuthError
    from skill.errors import BackendUnreachable as BackendUnreachable
    from skill.errors import BadToken as BadToken
    from skill.errors import Cancelled as Cancelled
    from skill.errors import ConnectionLost as ConnectionLost
    from skill.errors import DiskFull as DiskFull
    from skill.errors import DownloadFailed as DownloadFailed
    from skill.errors import EmptyDraft as EmptyDraft
    from skill.errors import ExportBlockedByPlan as ExportBlockedByPlan
    from skill.errors import FileNotFound as FileNotFound
    from skill.errors import FileTooLarge as FileTooLarge
    from skill.errors import FolderNotWritable as FolderNotWritable
    from skill.errors import InputError as InputError
    from skill.errors import JiggleError as JiggleError
    from skill.errors import LocalFileError as LocalFileError
    from skill.errors import MissingClientId as MissingClientId
    from skill.errors import NameTooLong as NameTooLong
    from skill.errors import NotUnderstood as NotUnderstood
    from skill.errors import OutOfCredits as OutOfCredits
    from skill.errors import PermissionDenied as PermissionDenied
    from skill.errors import RateLimited as RateLimited
    from skill.errors import RenderAccountUnavailable as RenderAccountUnavailable
    from skill.errors import RenderFailed as RenderFailed
    from skill.errors import RenderTimeout as RenderTimeout
    from skill.errors import RequestTimeout as RequestTimeout
    from skill.errors import ServerError as ServerError
    from skill.errors import SessionNotFound as SessionNotFound
    from skill.errors import StreamError as StreamError
    from skill.errors import TokenExpired as TokenExpired
    from skill.errors import TokenNotSaved as TokenNotSaved
    from skill.errors import TransportError as TransportError
    from skill.errors import TurnTimeout as TurnTimeout
    from skill.errors import UnsupportedFile as UnsupportedFile
    from skill.host import SkillHost as SkillHost
    from skill.manifest import Manifest as Manifest
    from skill.manifest import attribution_headers as attribution_headers
    from skill.manifest import detect_platform as detect_platform
    from skill.manifest import load_manifest as load_manifest
    from skill.mcp.api import CallFailed as CallFailed
    from skill.mcp.api import Jiggle as Jiggle
    from skill.replies import Reply as Reply
    from skill.replies import ReplyKind as ReplyKind
    from skill.timeline import Timeline as Timeline
    from skill.timeline import TimelineChange as TimelineChange

# name -> module that defines it; later modules add their public names here.
_LAZY: dict[str, str] = {
    "Manifest": "skill.manifest",
    "load_manifest": "skill.manifest",
    "detect_platform": "skill.manifest",
    "attribution_headers": "skill.manifest",
    "NemoClient": "skill.client",
    "JobStore": "skill.client",
    "TokenCache": "skill.client",
    "Session": "skill.client",
    "ChatEvent": "skill.client",
    "MediaInfo": "skill.client",
    "Credits": "skill.client",
    "SessionState": "skill.client",
    "RenderJob": "skill.client",
    "TurnChanges": "skill.client",
    "Timeline": "skill.timeline",
    "TimelineChange": "skill.timeline",
    "JiggleError": "skill.errors",
    "InputError": "skill.errors",
    "FileNotFound": "skill.errors",
    "UnsupportedFile": "skill.errors",
    "FileTooLarge": "skill.errors",
    "ApiError": "skill.errors",
    "AuthError": "skill.errors",
    "TokenExpired": "skill.errors",
    "MissingClientId": "skill.errors",
    "OutOfCredits": "skill.errors",
    "ExportBlockedByPlan": "skill.errors",
    "SessionNotFound": "skill.errors",
    "RateLimited": "skill.errors",
    "ServerError": "skill.errors",
    "StreamError": "skill.errors",
    "RenderFailed": "skill.errors",
    "TransportError": "skill.errors",
    "BackendUnreachable": "skill.errors",
    "ConnectionLost": "skill.errors",
    "RequestTimeout": "skill.errors",
    "DownloadFailed": "skill.errors",
    "Cancelled": "skill.errors",
    "NotUnderstood": "skill.errors",
    "EmptyDraft": "skill.errors",
    "BadToken": "skill.errors",
    "RenderAccountUnavailable": "skill.errors",
    "PermissionDenied": "skill.errors",
    "TurnTimeout": "skill.errors",
    "RenderTimeout": "skill.errors",
    "LocalFileError": "skill.errors",
    "FolderNotWritable": "skill.errors",
    "DiskFull": "skill.errors",
    "NameTooLong": "skill.errors",
    "TokenNotSaved": "skill.errors",
    "SkillHost": "skill.host",
    "Jiggle": "skill.mcp.api",
    "CallFailed": "skill.mcp.api",
    "Reply": "skill.replies",
    "ReplyKind": "skill.replies",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'skill' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
