"""How fast ``jiggle chat`` starts, and what drawing a reply costs.

Start-up: a fresh ``jiggle chat --backend local`` with stdin at end of file prints its banner
and leaves; the host connects lazily, so this is imports and the banner. Reported as a ratio to
``python -c "import prompt_toolkit"`` (the chat cannot cost less) measured in the same run.

Drawing: streamed chat text arrives as many small deltas and progress as many small updates;
each is written through prompt-toolkit at once. Reported per reply and as a ratio to writing the
same text straight into the same kind of stream.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time

from prompt_toolkit.data_structures import Size
from prompt_toolkit.output.vt100 import Vt100_Output

from skill.repl import ReplyView
from skill.repl._screen import TerminalScreen
from skill.replies import Reply, ReplyKind

_RUNS = 7
_REPLIES = 4000


def _wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *argv],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    return time.perf_counter() - start


def _median_wall(argv: list[str], env: dict[str, str]) -> float:
    _wall(argv, env)  # warm the file cache
    return statistics.median(_wall(argv, env) for _ in range(_RUNS))


def _startup() -> None:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "JIGGLE_DATA_DIR": home, "NEMO_CONFIG_DIR": home, "TERM": "dumb"}
        baseline = _median_wall(["-c", "import prompt_toolkit"], env)
        chat = _median_wall(["-m", "skill", "chat", "--backend", "local"], env)
    print(f'  python -c "import prompt_toolkit"   {baseline * 1000:7.1f} ms   1.00x')
    print(f"  jiggle chat (banner, then EOF)      {chat * 1000:7.1f} ms   {chat / baseline:.2f}x")


def _replies() -> list[Reply]:
    replies: list[Reply] = []
    for n in range(_REPLIES // 2):
        replies.append(Reply(ReplyKind.DELTA, f"word{n} "))
        done = n * 100 // (_REPLIES // 2)
        replies.append(
            Reply(ReplyKind.PROGRESS, "", {"phase": "render", "done": done, "total": 100})
        )
    return replies


def _terminal() -> Vt100_Output:
    return Vt100_Output(io.StringIO(), lambda: Size(rows=40, columns=120), term="xterm-256color")


def _drawing() -> None:
    replies = _replies()
    raw_text = [r.text or f"render {r.data.get('done')}%" for r in replies]

    def straight() -> float:
        output = _terminal()
        start = time.perf_counter()
        for text in raw_text:
            output.write(text)
            output.flush()
        return time.perf_counter() - start

    def through_view() -> float:
        view = ReplyView(TerminalScreen(_terminal()), lambda: "en")
        start = time.perf_counter()
        for reply in replies:
            view.show(reply)
        return time.perf_counter() - start

    baseline = statistics.median(straight() for _ in range(_RUNS))
    drawn = statistics.median(through_view() for _ in range(_RUNS))
    per_reply_us = drawn / len(replies) * 1e6
    print(f"  write + flush, {len(replies)} pieces           1.00x")
    print(f"  ReplyView.show, {len(replies)} replies        {drawn / baseline:.1f}x")
    print(f"  per reply: {per_reply_us:.0f} µs (a 60-per-second stream needs < 16 000 µs)")


def main() -> None:
    print("chat start-up (median of fresh interpreters):")
    _startup()
    print("drawing replies (median of runs, in process):")
    _drawing()
