"""Fixtures: KaTeX in one node process."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from helpers import ROOT, require_tool


@pytest.fixture(scope="session")
def katex():
    """A function validating math strings with KaTeX in one node process."""
    script = ROOT / "tests" / "tools" / "katex_check.js"
    require_tool(shutil.which("node") is not None and (ROOT / "node_modules" / "katex").is_dir(),
                 "node with KaTeX (npm ci)")

    def check(items: list[dict]) -> list[dict]:
        import json

        done = subprocess.run(["node", str(script)], input=json.dumps(items), capture_output=True,
                              text=True, cwd=ROOT, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    return check
