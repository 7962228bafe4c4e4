"""``jiggle chat`` once in a real terminal: tmux runs it, we type, and read the screen back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import repo_root

TMUX = shutil.which("tmux")
pytestmark = [
    pytest.mark.skipif(TMUX is None, reason="tmux is not installed"),
    pytest.mark.slow,
]
_WAIT_SECONDS = 90.0


class _Pane:
    """One detached tmux session on a private server socket, so no one else's is touched."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def _tmux(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "chat", *keys)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "chat")

    def wait_for(self, needle: str) -> str:
        """The screen once it shows ``needle``; fails with the screen if it never does."""
        deadline = time.monotonic() + _WAIT_SECONDS
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if needle in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} never appeared on the screen:\n{screen}")


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[_Pane]:
    socket = f"jiggle-test-{uuid.uuid4().hex[:12]}"
    env = {
        "JIGGLE_DATA_DIR": os.environ["JIGGLE_DATA_DIR"],
        "NEMO_CONFIG_DIR": os.environ["NEMO_CONFIG_DIR"],
        "PYTHONPATH": str(repo_root()),
        "LANG": "C.UTF-8",
    }
    command = [TMUX or "tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d"]
    command += ["-x", "120", "-y", "40", "-s", "chat", "-c", str(tmp_path)]
    for name, value in env.items():
        command += ["-e", f"{name}={value}"]
    command.append(f"{sys.executable} -m skill chat --backend local --lang en")
    subprocess.run(command, check=True)
    # The pane outlives the chat, so its last words ("Bye.") can still be read after it exits.
    subprocess.run(
        [TMUX or "tmux", "-L", socket, "set-option", "-w", "-t", "chat", "remain-on-exit", "on"],
        check=True,
    )
    try:
        yield _Pane(socket)
    finally:
        subprocess.run([TMUX or "tmux", "-L", socket, "kill-server"], check=False)


def test_a_short_conversation_in_a_real_terminal(pane: _Pane) -> None:
    screen = pane.wait_for("backend: local")  # the bottom toolbar, drawn with the prompt
    assert "make this image jiggle and bounce" in screen  # the banner
    assert "you>" in screen

    pane.send("/cre")  # completion of a command: the menu, then Tab picks it
    pane.wait_for("your credit balance")
    pane.send("Tab")
    pane.wait_for("you> /credits")
    pane.send("Enter")
    pane.wait_for("credits available")  # the reply
    # The toolbar, redrawn with the next prompt, learned the balance on connecting.
    screen = pane.wait_for("credits: 100")
    assert "session: —" in screen

    pane.send("C-c")  # at the prompt: drops the line, the chat stays
    pane.wait_for("Ctrl-D or exit leaves.)")
    pane.send("exit", "Enter")
    pane.wait_for("Bye.")
