"""Where jiggle keeps files on the user's machine, and how it names the files it writes.

The token cache lives in NemoVideo's config dir, shared with the other NemoVideo skills;
everything else of jiggle's (pending renders, REPL history, the last session) in its data dir.

Names that come from a server (render ids, session ids, a URL's last segment) pass through
:func:`safe_name` before they become part of a path, so that an id such as ``../../x`` never
leaves the folder the user chose. :func:`unused_path` is the one no-clobber rule: an existing
file is never overwritten unless the user asked for it (``--force``); without it the video gets
the first free name ``NAME-1.mp4``, ``NAME-2.mp4``... :func:`check_writable` says before any work
(and before any credit is spent) that a folder cannot take the file.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Collection
from pathlib import Path

import platformdirs
from platformdirs.unix import Unix

__all__ = [
    "NAME_MAX",
    "check_writable",
    "client_id_path",
    "config_dir",
    "data_dir",
    "name_max",
    "safe_name",
    "unused_path",
]

NAME_MAX = 255  # bytes in one file name on Linux, macOS and Windows filesystems alike
_SAFE_NAME_BYTES = 100
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def _dirs(app: str, *, roaming: bool = False) -> platformdirs.PlatformDirs | Unix:
    """The user folders of ``app``: the XDG ones on Linux *and* macOS (``~/.config/APP``,
    ``~/.local/share/APP``, or under ``$XDG_CONFIG_HOME`` / ``$XDG_DATA_HOME``), where NemoVideo's
    other skills keep the shared config and where jiggle always kept its data; the platform's own
    folders elsewhere (``%APPDATA%`` and ``%LOCALAPPDATA%`` on Windows)."""
    if sys.platform == "win32":
        return platformdirs.PlatformDirs(app, appauthor=False, roaming=roaming)
    return Unix(app)


def config_dir() -> Path:
    """``$NEMO_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/nemovideo``, else ``~/.config/nemovideo``
    (``%APPDATA%\\nemovideo`` on Windows)."""
    override = os.environ.get("NEMO_CONFIG_DIR")
    if override:
        return Path(override)
    return Path(_dirs("nemovideo", roaming=True).user_config_dir)


def client_id_path() -> Path:
    """Where the ``X-Client-Id`` is kept: ``client_id`` in the NemoVideo config dir (the file
    NemoVideo's own skill writes, so every NemoVideo skill on the machine shares one id)."""
    return config_dir() / "client_id"


def data_dir() -> Path:
    """``$JIGGLE_DATA_DIR``, else ``$XDG_DATA_HOME/jiggle``, else ``~/.local/share/jiggle``
    (``%LOCALAPPDATA%\\jiggle`` on Windows)."""
    override = os.environ.get("JIGGLE_DATA_DIR")
    if override:
        return Path(override)
    return Path(_dirs("jiggle").user_data_dir)


def safe_name(raw: object, *, fallback: str = "video") -> str:
    """One harmless file-name segment made from text a server (or a URL) chose.

    Path separators, control and reserved characters become ``_``; leading and trailing dots,
    spaces and underscores go (no ``..``, no hidden file); the result is at most 100 bytes of
    UTF-8. ``fallback`` when nothing is left. ``render_123`` stays ``render_123``; ``../../x``
    becomes ``x``.
    """
    text = unicodedata.normalize("NFC", str(raw))
    text = _UNSAFE.sub("_", text).strip(" ._-\t")
    encoded = text.encode("utf-8")[:_SAFE_NAME_BYTES]
    text = encoded.decode("utf-8", errors="ignore").rstrip(" ._-")
    return text or fallback


def name_max(folder: Path) -> int:
    """The longest file name (in bytes) ``folder``'s filesystem takes."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    return NAME_MAX


def unused_path(path: Path, taken: Collection[Path] = ()) -> Path:
    """``path`` if no file is there (and it is not in ``taken``), else the first free
    ``STEM-N.SUFFIX``: the no-clobber rule of every command that writes a file."""
    if not path.exists() and path not in taken:
        return path
    for n in range(1, 100_000):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists() and candidate not in taken:
            return candidate
    return path


def check_writable(target: Path) -> None:
    """Raise a :class:`~skill.errors.LocalFileError` unless a file can be written at ``target``:
    its folder is created if needed, the name fits the filesystem and a probe file can be
    created there (and is removed at once). Called before a render is paid for."""
    from skill.errors import DiskFull, NameTooLong, error_for_os_error

    folder = target.parent.absolute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error_for_os_error(exc, folder=_existing_ancestor(folder)) from None
    limit = name_max(folder)
    length = len(os.fsencode(target.name))
    if length > limit:
        raise NameTooLong(
            f"{length} bytes; the limit is {limit}", folder=str(folder), length=length, limit=limit
        )
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".jiggle-", suffix=".probe")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise error_for_os_error(exc, folder=folder) from None
    with contextlib.suppress(OSError):
        if shutil.disk_usage(folder).free == 0:
            raise DiskFull("no space left", folder=str(folder))


def _existing_ancestor(folder: Path) -> Path:
    """The nearest folder above ``folder`` that exists: the one that refused the mkdir."""
    for parent in [folder, *folder.parents]:
        if parent.exists():
            return parent
    return folder
