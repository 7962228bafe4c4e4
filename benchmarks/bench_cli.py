"""How fast ``jiggle --help`` and ``jiggle --version`` start, and what they import.

The CLI parses arguments before importing any subcommand's code, so these two must cost about
as much as a bare interpreter and much less than ``import httpx``. Figures are medians of
several fresh interpreters, reported as ratios to ``python -c "import httpx"`` measured in the
same run (and to a bare ``python -c pass``).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

_RUNS = 9
# Modules whose presence would mean the fast path is not fast any more.
_HEAVY = (
    "httpx",
    "httpx_sse",
    "numpy",
    "cv2",
    "av",
    "PIL",
    "jinja2",
    "yaml",
    "prompt_toolkit",
    "starlette",
    "uvicorn",
    "mcp",
    "skill.host",
    "skill.client",
    "router",
)

_CASES: tuple[tuple[str, list[str]], ...] = (
    ("python -c pass", ["-c", "pass"]),
    ('python -c "import httpx"', ["-c", "import httpx"]),
    ("jiggle --version", ["-m", "skill", "--version"]),
    ("jiggle --help", ["-m", "skill", "--help"]),
)

# Runs the CLI in-process and prints the modules it imported, as JSON.
_PROBE = """
import json, sys
before = set(sys.modules)
from skill.cli import main
try:
    main([{arg!r}])
except SystemExit:
    pass
sys.stdout = sys.__stdout__
print("\\n" + json.dumps(sorted(set(sys.modules) - before)))
"""


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _median_wall(argv: list[str]) -> float:
    _wall(argv)  # warm the file cache
    return statistics.median(_wall(argv) for _ in range(_RUNS))


def _imported_by(arg: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(arg=arg)],
        check=True,
        capture_output=True,
        text=True,
    )
    names: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return names


def main() -> None:
    timings = {label: _median_wall(argv) for label, argv in _CASES}
    bare = timings["python -c pass"]
    httpx_time = timings['python -c "import httpx"']
    print(f"median of {_RUNS} fresh interpreters each")
    for label, seconds in timings.items():
        print(
            f"  {label:<28} {seconds * 1000:7.1f} ms"
            f"   x{seconds / httpx_time:5.2f} of import httpx"
            f"   x{seconds / bare:5.2f} of bare python"
        )
    for arg in ("--version", "--help"):
        names = _imported_by(arg)
        heavy = sorted(n for n in names if n.split(".")[0] in _HEAVY or n in _HEAVY)
        ours = sorted(n for n in names if n.split(".")[0] in ("skill", "router"))
        print(f"jiggle {arg}: {len(names)} modules imported beyond the interpreter's own")
        print(f"  of jiggle: {', '.join(ours) or '-'}")
        print(f"  heavy: {', '.join(heavy) or 'none'}")
