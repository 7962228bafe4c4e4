from __future__ import annotations

from pathlib import Path

import pytest

from skill._version import __version__
from skill.errors import ManifestError
from skill.manifest import attribution_headers, detect_platform, load_manifest

ROOT = Path(__file__).resolve().parent.parent
GOOD = """---
name: image-to-video-ai-jiggle
description: Animate photos.
version: "1.2.3"
homepage: https://example.invalid/
metadata:
  openclaw:
    emoji: "x"
---
# Body
text
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "SKILL.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_project_manifest_satisfies_agent_skills_and_clawhub() -> None:
    manifest = load_manifest(ROOT / "SKILL.md")
    assert manifest.name == "image-to-video-ai-jiggle"
    assert 0 < len(manifest.description) <= 1024
    assert manifest.version == __version__
    assert str(manifest.homepage).startswith("https://")
    openclaw = manifest.metadata["openclaw"]
    assert openclaw["emoji"]
    assert openclaw["requires"]["bins"] == ["python3"]
    assert openclaw["requires"]["env"] == []
    assert openclaw["primaryEnv"] == "NEMO_TOKEN"
    assert manifest.body.strip()


def test_version_is_quoted_in_the_frontmatter() -> None:
    text = (ROOT / "SKILL.md").read_text(encoding="utf-8")
    assert f'version: "{__version__}"' in text


def test_default_path_is_the_project_manifest() -> None:
    assert load_manifest().path == ROOT / "SKILL.md"


def test_good_manifest_parses(tmp_path: Path) -> None:
    manifest = load_manifest(_write(tmp_path, GOOD))
    assert (manifest.name, manifest.version) == ("image-to-video-ai-jiggle", "1.2.3")
    assert manifest.body.startswith("# Body")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# no frontmatter\n", "no YAML frontmatter"),
        ("", "no YAML frontmatter"),
        ("---\nname: x\nversion: '1.0.0'\n", "not terminated"),
        (
            "---\nname: [unclosed\nversion: '1.0.0'\n---\n",
            "invalid YAML in the frontmatter at line",
        ),
        ("---\n- a\n- b\n---\n", "must be a YAML mapping"),
        ("---\nversion: '1.0.0'\n---\n", "has no 'name'"),
        ("---\nname: Bad_Name\nversion: '1.0.0'\n---\n", "is malformed"),
        ("---\nname: double--hyphen\nversion: '1.0.0'\n---\n", "is malformed"),
        ("---\nname: " + "a" * 65 + "\nversion: '1.0.0'\n---\n", "is malformed"),
        ("---\nname: ok\n---\n", "has no 'version'"),
        ("---\nname: ok\nversion: 1.0\n---\n", "must be a quoted string"),
        ("---\nname: ok\nversion: 'one'\n---\n", "not a semantic version"),
        (
            "---\nname: ok\nversion: '1.0.0'\ndescription: " + "d" * 1025 + "\n---\n",
            "limit is 1024",
        ),
    ],
)
def test_manifest_errors_name_the_file(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_manifest_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="manifest not found") as info:
        load_manifest(tmp_path / "nope" / "SKILL.md")
    assert "nope" in str(info.value)


def test_invalid_yaml_reports_the_file_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "---\nname: ok\nversion: '1.0.0'\nbad: [\n---\n")
    with pytest.raises(ManifestError, match=r"line [45]"):
        load_manifest(path)


@pytest.mark.parametrize(
    ("path", "env", "expected"),
    [
        ("/home/u/.clawhub/skills/image-to-video-ai-jiggle/skill", {}, "clawhub"),
        ("/home/u/.openclaw/skills/x", {}, "clawhub"),
        ("/home/u/.agents/skills/x/skill", {}, "clawhub"),
        ("/home/u/.cursor/skills/x", {}, "cursor"),
        ("/home/u/projects/x", {}, "unknown"),
        ("/home/u/.cursor/skills/x", {"SKILL_SOURCE": "claude"}, "claude"),
        ("/home/u/projects/x", {"SKILL_SOURCE": "  "}, "unknown"),
    ],
)
def test_detect_platform(path: str, env: dict[str, str], expected: str) -> None:
    assert detect_platform(path, env) == expected


def test_attribution_headers_come_from_the_manifest(tmp_path: Path) -> None:
    manifest = load_manifest(_write(tmp_path, GOOD))
    headers = attribution_headers(manifest, platform="cursor")
    assert headers == {
        "X-Skill-Source": "image-to-video-ai-jiggle",
        "X-Skill-Version": "1.2.3",
        "X-Skill-Platform": "cursor",
    }
