"""``jiggle serve-local``: serve the NemoVideo API on this machine until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from skill.errors import JiggleError

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Start the backend, print where it listens, wait for Ctrl-C, stop cleanly (exit 0)."""
    from skill.local.server.backend import LocalBackend

    # Access and error lines on stderr (tokens never appear: only paths are logged, and the
    # redaction filter is installed on uvicorn's loggers).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # --allow-host NAME and --allow-files DIR, each repeatable (absent from older parsers).
    allowed_hosts = tuple(getattr(args, "allow_host", None) or ())
    file_roots = tuple(Path(d) for d in getattr(args, "allow_files", None) or ())
    missing = [str(d) for d in file_roots if not d.expanduser().is_dir()]
    if missing:
        print(
            f"jiggle serve-local: --allow-files needs a folder that exists: {', '.join(missing)}",
            file=sys.stderr,
        )
        return 2
    try:
        backend = LocalBackend(
            data_dir=args.data_dir,
            faults=args.faults,
            host=args.host,
            port=args.port,
            log_level="info",
            access_log=True,
            allowed_hosts=allowed_hosts,
            file_roots=file_roots,
        ).start()
    except JiggleError as exc:
        print(f"jiggle serve-local: {exc.human()}", file=sys.stderr)
        return exc.exit_code
    print(f"API:       {backend.base_url}", flush=True)
    print(f"Downloads: {backend.download_base_url}", flush=True)
    print(f"Data:      {args.data_dir or 'temporary (lost on exit; use --data-dir to keep it)'}")
    if allowed_hosts:
        print(f"Hosts:     localhost names and {', '.join(allowed_hosts)}")
    if backend.config.file_roots:
        roots = ", ".join(str(r) for r in backend.config.file_roots)
        print(f"file://:   read below {roots} (clients on this machine only)")
    if backend.armed_faults:
        print(f"Faults:    {', '.join(backend.armed_faults)}")
    print(f"Use it:    NEMO_API_BASE={backend.base_url} jiggle chat   (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("\nStopping...", file=sys.stderr)
    finally:
        backend.stop()
    return 0
