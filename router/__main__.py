"""``python -m router [--json] [--gui] TEXT... [--attach PATH ...]``: how TEXT is read."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from router.gui import translate_gui
from router.intent import classify


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m router",
        description="Show which steps a message asks for (upload, credits, state, export, chat).",
    )
    parser.add_argument("text", nargs="*", help="the message (words are joined with spaces)")
    parser.add_argument(
        "--attach",
        action="append",
        default=[],
        metavar="PATH",
        help="a file sent along with the message (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--gui",
        action="store_true",
        help="read TEXT as a backend reply and list the GUI actions it suggests",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    text = " ".join(args.text)
    if args.gui:
        actions = translate_gui(text)
        if args.json:
            print(json.dumps([{"kind": str(a.kind), "phrase": a.phrase} for a in actions]))
        else:
            print(", ".join(f"{a.kind} ({a.phrase})" for a in actions) or "no GUI actions")
        return 0
    intent = classify(text, args.attach)
    if args.json:
        print(json.dumps(intent.as_dict(), ensure_ascii=False))
        return 0
    steps = " -> ".join(str(a) for a in intent.actions)
    sse = "no chat stream" if intent.skip_sse else "needs the chat stream"
    files = f"; files: {', '.join(intent.files)}" if intent.files else ""
    print(f"{steps} ({sse}; language {intent.language}{files})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
