"""Fixtures: KaTeX in one node process. Order: the longest kinds of test first, so that the two workers
(pytest-xdist hands out tests one at a time, in collection order) do not end with one of them alone on a long one."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from helpers import ROOT, require_tool

# Node ids containing these run first, in this order; every other test keeps its place after them.
LONGEST_FIRST = ("test_corpus.py::test_corpus[",                    # a whole corpus set through derive check
                 "rechecks_with_plain_sympy[",                      # every step at many points, plain SymPy
                 "checks_all_valid[", "check_valid[",               # generated documents read back by derive check
                 "is_invalid_at_its_line")                          # the same, with a slip


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((place for place, part in enumerate(LONGEST_FIRST) if part in item.nodeid), len(LONGEST_FIRST))
    items.sort(key=rank)  # stable: the same order on every worker, as xdist requires


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
