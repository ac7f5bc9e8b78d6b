"""Helpers shared by the tests: catalogue names, the CLI as a user runs it, tools CI must have."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["softmax-jacobian", "cross-entropy", "softmax-cross-entropy", "log-softmax-cross-entropy",
         "batch-cross-entropy", "linear-softmax-cross-entropy"]
# Every (name, method) the catalogue can show: the linear layer also goes by differentials.
ROUTES = [(name, "index") for name in NAMES] + [("linear-softmax-cross-entropy", "differentials")]


def require_tool(available: bool, what: str) -> None:
    """Skip locally when a tool is missing; under CI=true a missing tool is a failure, never a skip."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required under CI=true but missing")
    pytest.skip(f"{what} not installed")


def run_cli(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed command line as a user would (``python -m derive`` = the console script)."""
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True,
                          input=stdin, cwd=cwd or ROOT, timeout=120)
