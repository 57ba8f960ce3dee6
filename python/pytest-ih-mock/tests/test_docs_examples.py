"""The examples of the README's pytest section and of docs/pytest.md, run as written: each is copied
into a test file of an inner pytest run (pytester), next to a `call.webm` (the conformance kit's
12-s VP8 + Opus sample), with the plugin loaded as a user loads it."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

import pytest_ih_mock

REPO = Path(__file__).resolve().parents[3]


def python_block(page: str, heading: str) -> str:
    """The first ```python block after `heading` in the page."""
    text = (REPO / page).read_text()
    start = text.index("\n" + heading + "\n")
    match = re.compile(r"^```python\n(.*?)^```", re.S | re.M).search(text, start)
    assert match, f"no python example after {heading!r} in {page}"
    return match.group(1)


def test_the_readme_and_guide_examples_pass_as_written(pytester, monkeypatch):
    here = os.path.dirname(os.path.dirname(os.path.abspath(pytest_ih_mock.__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in [here, os.environ.get("PYTHONPATH")] if p))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    shutil.copy(REPO / "conformance" / "media" / "sample-12s.webm", pytester.path / "call.webm")
    pytester.makepyfile(
        test_readme=python_block("README.md", "### pytest"),
        test_guide_first=python_block("docs/pytest.md", "## A first test"),
        test_guide_steering=python_block("docs/pytest.md", "## Steering a live session"),
    )
    result = pytester.runpytest_subprocess("-p", "pytest_ih_mock", "-p", "no:cacheprovider", "-v", timeout=240)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_readme.py::test_the_quota_runs_out_after_the_first_segment PASSED*"])
