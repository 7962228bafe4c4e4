"""``make demo``: its sample photo, and the command it runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.conftest import repo_root


def test_the_demo_photo_is_a_real_jpeg(tmp_path: Path) -> None:
    target = tmp_path / "out" / "astronaut.jpg"
    done = subprocess.run(
        [sys.executable, str(repo_root() / "scripts" / "demo_photo.py"), str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(target) in done.stdout
    with Image.open(target) as photo:
        assert photo.format == "JPEG"
        assert photo.size == (512, 512)
        assert photo.mode == "RGB"


def test_make_demo_sets_up_first_and_animates_offline() -> None:
    makefile = (repo_root() / "Makefile").read_text(encoding="utf-8")
    rule = re.search(r"^demo: (.*)$", makefile, re.MULTILINE)
    assert rule is not None
    assert "setup" in rule.group(1).split()
    recipe = makefile[rule.end() :].split("\n\n", 1)[0]
    assert "jiggle animate" in recipe
    assert "--backend local" in recipe
    assert "-o out/demo.mp4" in recipe
    assert "--preview out/demo-preview.png" in recipe
