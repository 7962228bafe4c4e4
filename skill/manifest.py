"""The skill manifest: the YAML frontmatter of ``SKILL.md``.

``load_manifest()`` reads it; ``detect_platform()`` and ``attribution_headers()`` turn it into the
three ``X-Skill-*`` headers every API request carries.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from skill.errors import ManifestError
from skill.protocol import SKILL_PLATFORM, SKILL_SOURCE, SKILL_VERSION

__all__ = [
    "Manifest",
    "attribution_headers",
    "default_manifest_path",
    "detect_platform",
    "load_manifest",
]

# Agent Skills spec: lowercase letters, digits and single hyphens, at most 64 characters.
_NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NAME_MAX = 64
_DESCRIPTION_MAX = 1024
# Semantic Versioning 2.0.0, the regular expression semver.org recommends.
_SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_FENCE = "---"

# Install locations that tell which agent platform loaded the skill (nemo-api.md, "Every request").
# ClawHub installs under ~/.openclaw/workspace/skills/<name>/.
_PLATFORM_MARKERS: tuple[tuple[str, str], ...] = (
    ("/.clawhub/", "clawhub"),
    ("/.openclaw/workspace/skills/", "clawhub"),
    ("/.openclaw/", "clawhub"),
    ("/.agents/skills/", "clawhub"),
    ("/.cursor/", "cursor"),
)


@dataclass(frozen=True)
class Manifest:
    """What ``SKILL.md`` declares about the skill."""

    name: str
    version: str
    description: str
    homepage: str | None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    body: str = ""
    path: Path | None = None


def default_manifest_path() -> Path:
    """``SKILL.md`` at the project root (a checkout or an installed skill folder).

    A wheel install carries a copy inside the package, used when there is no root copy. The
    package is looked up where it was imported from (a skill folder that is a symlink keeps
    its install path), then where that path resolves to.
    """
    for package_dir in _package_dirs():
        root_copy = package_dir.parent / "SKILL.md"
        if root_copy.is_file():
            return root_copy
    return _package_dirs()[0] / "SKILL.md"


def _package_dirs() -> list[Path]:
    """This package's folder as imported (symlinks kept), then resolved, without repeats."""
    found: list[Path] = []
    for where in (Path(os.path.abspath(__file__)).parent, Path(__file__).resolve().parent):
        if where not in found:
            found.append(where)
    return found


def load_manifest(path: str | os.PathLike[str] | None = None) -> Manifest:
    """Parse the frontmatter of ``SKILL.md``; every error names the file."""
    file = Path(path) if path is not None else default_manifest_path()
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ManifestError(f"{file}: manifest not found (expected a SKILL.md file)") from None
    except IsADirectoryError:
        raise ManifestError(f"{file}: is a directory, expected a SKILL.md file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{file}: cannot read the manifest ({exc})") from None

    front, body = _split_frontmatter(file, text)
    try:
        data = yaml.safe_load(front)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""  # +1 fence, +1 one-based
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ManifestError(f"{file}: invalid YAML in the frontmatter{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{file}: the frontmatter must be a YAML mapping of keys to values")

    name = _require_str(file, data, "name")
    if len(name) > _NAME_MAX or not _NAME_RE.match(name):
        raise ManifestError(
            f"{file}: name {name!r} is malformed: use lowercase letters, digits and single "
            f"hyphens, at most {_NAME_MAX} characters"
        )
    version = data.get("version")
    if version is None:
        raise ManifestError(f"{file}: the frontmatter has no 'version'")
    if not isinstance(version, str):
        raise ManifestError(
            f'{file}: version must be a quoted string such as "1.2.3", not {version!r}'
        )
    if not _SEMVER_RE.match(version):
        raise ManifestError(f"{file}: version {version!r} is not a semantic version like 1.2.3")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise ManifestError(f"{file}: description must be text")
    if len(description) > _DESCRIPTION_MAX:
        raise ManifestError(
            f"{file}: description is {len(description)} characters; the limit is {_DESCRIPTION_MAX}"
        )
    homepage = data.get("homepage")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ManifestError(f"{file}: metadata must be a mapping")
    return Manifest(
        name=name,
        version=version,
        description=description.strip(),
        homepage=str(homepage) if homepage is not None else None,
        metadata=metadata,
        body=body,
        path=file,
    )


def _split_frontmatter(file: Path, text: str) -> tuple[str, str]:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != _FENCE:
        raise ManifestError(f"{file}: no YAML frontmatter (the file must start with '---')")
    for index in range(1, len(lines)):
        if lines[index].rstrip() == _FENCE:
            front = "".join(lines[1:index])
            body = "".join(lines[index + 1 :])
            return front, body.lstrip("\n")
    raise ManifestError(f"{file}: the frontmatter is not terminated (no closing '---' line)")


def _require_str(file: Path, data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        raise ManifestError(f"{file}: the frontmatter has no {key!r}")
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{file}: {key} must be a non-empty string, not {value!r}")
    return value.strip()


def detect_platform(
    install_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Which agent platform runs the skill: ``SKILL_SOURCE`` first, then the install path.

    The install path is where the installed ``SKILL.md`` is (``install_path``, as the platform
    put it: symlinks are not resolved, a ClawHub folder may link elsewhere), else this package
    as imported, then as resolved. The first path with a known platform folder decides.
    """
    env = os.environ if environ is None else environ
    source = env.get("SKILL_SOURCE", "").strip()
    if source:
        return source
    candidates = [Path(os.path.abspath(install_path))] if install_path is not None else []
    candidates += _package_dirs()
    for where in candidates:
        posix = where.as_posix()
        if not posix.endswith("/"):
            posix += "/"
        for marker, platform in _PLATFORM_MARKERS:
            if marker in posix:
                return platform
    return "unknown"


def attribution_headers(
    manifest: Manifest | None = None, *, platform: str | None = None
) -> dict[str, str]:
    """The three headers the API requires on every request."""
    manifest = manifest if manifest is not None else load_manifest()
    if platform is None:
        platform = detect_platform(manifest.path.parent if manifest.path is not None else None)
    return {
        SKILL_SOURCE: manifest.name,
        SKILL_VERSION: manifest.version,
        SKILL_PLATFORM: platform,
    }
