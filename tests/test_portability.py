"""The package imports where there is no ``fcntl`` (Windows): its file locks are filelock's."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import repo_root

_IMPORT_WITHOUT_FCNTL = """
import sys
sys.modules["fcntl"] = None  # any `import fcntl` now raises ImportError, as on Windows
import skill.client
import skill.local.server
import skill.paths
print("ok")
"""


def test_client_and_local_server_import_without_fcntl() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", _IMPORT_WITHOUT_FCNTL],
        cwd=repo_root(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
