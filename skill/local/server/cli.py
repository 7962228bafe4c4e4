"""``jiggle serve-local``: serve the NemoVideo API on this machine until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import sys
import threading

from skill.errors import JiggleError

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Start the backend, print where it listens, wait for Ctrl-C, stop cleanly (exit 0)."""
    from skill.local.server.backend import LocalBackend

    # Access and error lines on stderr (tokens never appear: only paths are logged, and the
    # redaction filter is installed on uvicorn's loggers).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        backend = LocalBackend(
            data_dir=args.data_dir,
            faults=args.faults,
            host=args.host,
            port=args.port,
            log_level="info",
            access_log=True,
        ).start()
    except JiggleError as exc:
        print(f"jiggle serve-local: {exc.human()}", file=sys.stderr)
        return exc.exit_code
    print(f"API:       {backend.base_url}", flush=True)
    print(f"Downloads: {backend.download_base_url}", flush=True)
    print(f"Data:      {args.data_dir or 'temporary (lost on exit; use --data-dir to keep it)'}")
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
