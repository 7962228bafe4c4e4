"""Files replaced whole or not at all: a reader (or a crash) never sees half a write.

Each write goes to a fresh private (0600) file beside the target, then ``os.replace`` moves it
into place; on any failure the temporary file is removed and the target is left as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["replacing", "write_json"]


@contextlib.contextmanager
def replacing(target: Path, *, suffix: str = ".tmp") -> Iterator[Path]:
    """A new empty file beside ``target`` to write; it becomes ``target`` if the block ends
    without an exception, and is removed otherwise."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)  # already gone once replaced


def write_json(path: Path, value: Any, *, indent: int | None = None, sync: bool = True) -> None:
    """Replace ``path`` with ``value`` as JSON; ``sync`` flushes it to the disk first, for
    files whose loss costs the user something (a token, a render not yet downloaded)."""
    with replacing(path) as temp, temp.open("w", encoding="utf-8") as out:
        json.dump(value, out, ensure_ascii=False, indent=indent)
        if sync:
            out.flush()
            os.fsync(out.fileno())
