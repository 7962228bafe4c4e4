"""``jiggle render-local``: the path and figures, one JSON object, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from skimage import data

from skill.cli import main


@pytest.mark.slow
def test_render_local_prints_one_json_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "coffee.jpg"
    pixels = data.coffee()  # type: ignore[no-untyped-call]
    Image.fromarray(pixels).save(photo)
    out = tmp_path / "coffee.mp4"
    sheet = tmp_path / "coffee.png"
    code = main(
        [
            "render-local",
            str(photo),
            "-o",
            str(out),
            "--aspect",
            "1:1",
            "--duration",
            "1",
            "--intensity",
            "strong",
            "--motion",
            "wobble",
            "--preview",
            str(sheet),
            "--json",
        ]
    )
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is True
    assert payload["path"] == str(out)
    assert out.is_file()
    assert sheet.is_file()
    assert (payload["width"], payload["height"], payload["frames"]) == (1080, 1080, 30)
    assert set(payload["seconds"]) >= {"decode", "subject", "compose", "encode", "total"}
    assert payload["motion"] == "wobble"
    assert payload["subject"] == "salient object"  # the cup, found by its salience
    assert payload["layered"] is True


def test_render_local_bad_photo_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "holiday.jpg"
    bogus.write_text("not a photo")
    code = main(["render-local", str(bogus), "-o", str(tmp_path / "x.mp4")])
    assert code == 2
    err = capsys.readouterr().err
    assert "holiday.jpg" in err
    assert "JPG, PNG, WEBP, HEIC or GIF" in err
    assert not (tmp_path / "x.mp4").exists()
    code = main(
        ["render-local", str(tmp_path / "gone.png"), "-o", str(tmp_path / "x.mp4"), "--json"]
    )
    assert code == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "file_not_found"


# The child reports its own peak. ru_maxrss is not used: Linux carries the parent's high-water
# mark into a forked child across exec, so it would count pytest's memory; VmHWM belongs to the
# child's fresh address space.
_CHILD = """
import sys
from skill.local.render import render
result = render(sys.argv[1], sys.argv[2], aspect="9:16", duration=1.0)
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(result.frames, int(status.split()[0]))
"""


@pytest.mark.slow
def test_huge_jpeg_renders_under_600_mb(tmp_path: Path) -> None:
    photo = tmp_path / "huge.jpg"
    image = Image.new("RGB", (9000, 12000), (200, 205, 210))
    ImageDraw.Draw(image).ellipse((2500, 3000, 6500, 12000), fill=(180, 60, 40))
    image.save(photo, quality=85)
    del image
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(photo), str(tmp_path / "huge.mp4")],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=True,
    )
    frames, peak_kb = (int(v) for v in done.stdout.split())
    assert frames == 30
    assert peak_kb * 1024 < 600 * 2**20, f"peak RSS {peak_kb / 1024:.0f} MB"
