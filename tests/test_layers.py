"""The layers run one way (docs/design.md, "Layers"): each package imports only what is below it.

Read from the source with ``ast``, so a lazy import inside a function counts as much as one at
the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import repo_root

# package -> the packages it must never import (a prefix covers its subpackages).
_CONTRACTS: dict[str, tuple[str, ...]] = {
    # The router is pure: it understands text and knows nothing of the app around it.
    "router": ("skill",),
    # The renderer turns a photo into frames; it knows no server, client or face.
    "skill.local.render": (
        "skill.local.server",
        "skill.client",
        "skill.host",
        "skill.repl",
        "skill.mcp",
        "skill.cli",
        "skill.commands",
    ),
    # The local backend serves the protocol; it shares no client code (an independent client
    # is how its tests check it) and knows no face.
    "skill.local.server": (
        "skill.client",
        "skill.host",
        "skill.repl",
        "skill.mcp",
        "skill.cli",
        "skill.commands",
    ),
    # The client speaks the protocol to any backend; it knows no face and no backend's inside.
    "skill.client": (
        "skill.host",
        "skill.repl",
        "skill.mcp",
        "skill.cli",
        "skill.commands",
        "skill.local",
    ),
}


def _modules(package: str) -> list[Path]:
    folder = repo_root().joinpath(*package.split("."))
    return sorted(folder.rglob("*.py"))


def _imports(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports, relative imports resolved against ``package``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = ".".join(path.relative_to(repo_root()).with_suffix("").parts)
    if path.name == "__init__.py":
        here = here.rsplit(".", 1)[0] + ".__init__"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: -node.level]
                found.add(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module:
                found.add(node.module)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("package", list(_CONTRACTS))
def test_each_layer_imports_only_what_is_below_it(package: str) -> None:
    forbidden = _CONTRACTS[package]
    broken = sorted(
        f"{path.relative_to(repo_root())} imports {name}"
        for path in _modules(package)
        for name in _imports(path, package)
        if any(_within(name, f) for f in forbidden)
    )
    assert broken == []


def test_the_contract_reader_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The check itself works: a lazy import in a function is found."""
    module = repo_root() / "router" / "_text.py"
    assert "router._tables" in _imports(module, "router")
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from skill.host import SkillHost\n", encoding="utf-8")
    tree_imports = {
        n.module for n in ast.walk(ast.parse(sample.read_text())) if isinstance(n, ast.ImportFrom)
    }
    assert tree_imports == {"skill.host"}
