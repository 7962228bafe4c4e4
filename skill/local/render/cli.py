"""``jiggle render-local PHOTO -o OUT.mp4``: render on this machine, no server, no account."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from skill.errors import JiggleError

__all__ = ["run"]


def _bar(stream: object) -> Callable[[float], None]:
    """A one-line progress bar on a terminal; nothing when output is piped."""
    isatty = getattr(stream, "isatty", None)
    if not (callable(isatty) and isatty()):
        return lambda _: None
    shown = [-1]

    def draw(fraction: float) -> None:
        percent = int(fraction * 100)
        if percent == shown[0]:
            return
        shown[0] = percent
        filled = percent // 4
        print(
            f"\r  rendering [{'#' * filled}{'.' * (25 - filled)}] {percent:3d}%",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if percent >= 100:
            print(file=sys.stderr)

    return draw


def run(args: argparse.Namespace) -> int:
    """Render ``args.photo`` to ``args.output``; print the path and figures (or one JSON object)."""
    from skill.local.render import make_preview, render

    as_json = bool(getattr(args, "json", False))
    try:
        result = render(
            args.photo,
            args.output,
            intensity=args.intensity,
            motion=getattr(args, "motion", "jiggle"),
            aspect=args.aspect,
            duration=args.duration,
            title=args.title,
            progress=None if as_json else _bar(sys.stderr),
        )
        preview = make_preview(result, args.preview) if args.preview else None
    except JiggleError as exc:
        if as_json:
            print(json.dumps({"ok": False, "error": exc.to_dict()}, ensure_ascii=False))
        else:
            print(f"jiggle: {exc.human()}", file=sys.stderr)
        return exc.exit_code
    if as_json:
        payload = {"ok": True, **result.to_dict()}
        if preview is not None:
            payload["preview"] = str(preview)
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    seconds = result.phases
    print(result.path)
    print(
        f"  {result.width}x{result.height}, {result.frames} frames, {result.duration:.2f} s, "
        f"{result.intensity} {result.motion}, subject: {result.subject}"
    )
    split = ", ".join(f"{name} {value:.2f}" for name, value in seconds.items() if name != "total")
    print(f"  rendered in {seconds['total']:.2f} s ({split})")
    if preview is not None:
        print(f"  preview: {preview}")
    return 0
