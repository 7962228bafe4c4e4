"""The ``jiggle`` command line.

Parsing is cheap and happens here; each subcommand's work lives in its own module, named in
``_HANDLERS`` and imported only when that subcommand runs, so ``jiggle --help`` and
``jiggle --version`` load nothing heavy (no httpx, numpy or cv2).

A handler is ``run(args: argparse.Namespace) -> int`` (the exit code). Exit codes:

    0    success
    1    an unexpected failure (a bug: please report it)
    2    user error: bad arguments, a missing or unsupported file
    3    auth or credits: token rejected, out of credits, plan does not allow export
    4    backend failure: unreachable, server error, render or download failed
    5    a file on this machine cannot be written: read-only folder, disk full, name too long
    130  interrupted (Ctrl-C); a render keeps running and ``jiggle resume`` picks it up
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from skill._version import __version__

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

ASPECTS = ("9:16", "16:9", "1:1")
INTENSITIES = ("subtle", "medium", "strong")
MOTIONS = ("jiggle", "bounce", "wobble", "jelly")

_HANDLERS: dict[str, str] = {
    "animate": "skill.commands:animate",
    "chat": "skill.repl:run",
    "credits": "skill.commands:credits",
    "state": "skill.commands:state",
    "upload": "skill.commands:upload",
    "export": "skill.commands:export",
    "jobs": "skill.commands:jobs",
    "resume": "skill.commands:resume",
    "say": "skill.commands:turn",
    "render-local": "skill.local.render.cli:run",
    "serve-local": "skill.local.server.cli:run",
    "mcp": "skill.mcp.server:run",
}


def _default_backend() -> str:
    return os.environ.get("JIGGLE_BACKEND", "cloud")


def build_parser() -> argparse.ArgumentParser:
    """The whole command-line grammar, without importing any subcommand's code."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", help="one JSON object per line, for scripts and agents"
    )
    common.add_argument(
        "--backend",
        choices=("cloud", "local"),
        default=_default_backend(),
        help="cloud: the NemoVideo API (default; env JIGGLE_BACKEND); local: this machine",
    )
    common.add_argument("--lang", choices=("en", "zh"), default=None, help="reply language")

    parser = argparse.ArgumentParser(
        prog="jiggle",
        description="Turn still photos into looping jiggle-and-bounce 1080p MP4s.",
        epilog="Exit codes: 0 ok, 2 user error, 3 auth or credits, 4 backend failure, "
        "5 cannot write a local file (read-only folder, disk full, name too long), "
        "130 interrupted. An existing file is never overwritten without --force: the video "
        "takes the first free name (NAME-1.mp4).",
    )
    parser.add_argument("--version", action="version", version=f"jiggle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _conversation_commands(sub, common)
    _machine_commands(sub)
    return parser


def _conversation_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """The commands that talk to a backend: animate, chat, say, and the project steps."""
    p = sub.add_parser(
        "animate", parents=[common], help="photo(s) + instruction -> MP4, in one command"
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="PHOTO... INSTRUCTION",
        help="one or more photos (paths or URLs), then the instruction in quotes",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="OUT", help="output file (one photo)")
    out.add_argument("--out-dir", metavar="DIR", help="output directory (one MP4 per photo)")
    p.add_argument("--aspect", choices=ASPECTS, default=None, help="canvas aspect ratio")
    p.add_argument("--intensity", choices=INTENSITIES, default=None, help="motion strength")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="clip length")
    p.add_argument("--title", default=None, help="a title burned into the video")
    p.add_argument("--preview", metavar="PNG", default=None, help="also write a preview image")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="photos rendered at once")
    _force_option(p)

    p = sub.add_parser("chat", parents=[common], help="interactive chat (REPL)")

    p = sub.add_parser(
        "say", parents=[common], help="one chat message to the last project (for scripts, agents)"
    )
    p.add_argument("message", nargs="+", metavar="MESSAGE", help="what to say; paths attach files")
    p.add_argument("--session", default=None, help="session id (default: the last project)")

    p = sub.add_parser("credits", parents=[common], help="show the credit balance")
    p = sub.add_parser("state", parents=[common], help="show a session's timeline")
    p.add_argument("session", nargs="?", help="session id (default: the last one)")
    p = sub.add_parser("upload", parents=[common], help="upload files to a session")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--session", default=None, help="session id (default: a new one)")
    p = sub.add_parser("export", parents=[common], help="render a session and download the MP4")
    p.add_argument("session", nargs="?", help="session id (default: the last one)")
    p.add_argument("-o", "--output", metavar="OUT", default=None)
    _force_option(p)
    p = sub.add_parser("jobs", parents=[common], help="list renders not yet downloaded")
    p = sub.add_parser("resume", parents=[common], help="finish an interrupted render")
    p.add_argument("render_id", nargs="?", metavar="RENDER_ID")
    p.add_argument(
        "-o", "--output", metavar="OUT", default=None, help="default: where the export meant it"
    )
    _force_option(p)


def _machine_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands that run something on this machine: the renderer, the local backend, MCP."""
    p = sub.add_parser("render-local", help="render a jiggle loop on this machine, no server")
    p.add_argument("photo", metavar="PHOTO")
    p.add_argument("-o", "--output", metavar="OUT.mp4", required=True)
    p.add_argument("--intensity", choices=INTENSITIES, default="subtle")
    p.add_argument("--motion", choices=MOTIONS, default="jiggle")
    p.add_argument("--aspect", choices=ASPECTS, default="9:16")
    p.add_argument("--duration", type=float, default=5.0, metavar="S")
    p.add_argument("--title", default=None, metavar="TEXT")
    p.add_argument("--preview", default=None, metavar="PNG", help="a 4-frame contact sheet")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser("serve-local", help="serve the NemoVideo API on loopback")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--data-dir", default=None, help="keep state here across restarts")
    p.add_argument("--faults", default=None, metavar="SPEC", help="inject faults (see README)")
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer to this Host name (default: loopback names only)",
    )
    p.add_argument(
        "--allow-files",
        action="append",
        default=[],
        metavar="DIR",
        help="let file:// uploads from this machine read below DIR (default: none)",
    )

    p = sub.add_parser("mcp", help="run the MCP server on stdio")
    p.add_argument("--backend", choices=("cloud", "local"), default=_default_backend())


def _force_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite existing files (default: keep them; the new file gets a free name)",
    )


def _load(target: str) -> Callable[[argparse.Namespace], int]:
    module_name, _, func_name = target.partition(":")
    handler: Callable[[argparse.Namespace], int] = getattr(
        importlib.import_module(module_name), func_name
    )
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jiggle`` console script and ``python -m skill``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return _load(_HANDLERS[args.command])(args)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
