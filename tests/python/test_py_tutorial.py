"""docs/PYTHON.md is run: its ```python blocks, in order, in one namespace, from the repository
root. A block that raises fails the test and names the block. Blocks fenced ```py (a Slurm
cluster, a plugin on a remote cluster) and ```sh are shown, not run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytest.importorskip("needlesim", reason="the needlesim wheel is not installed (bash .ci/run builds it)")

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "PYTHON.md"


def blocks(text: str) -> list[tuple[int, str]]:
    """(line, code) of every ```python block."""
    out = []
    for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        out.append((text[: m.start()].count("\n") + 2, m.group(1)))
    return out


def test_the_tutorial_has_code():
    assert len(blocks(DOC.read_text())) >= 8


def test_the_tutorial_runs(capsys):
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        ns: dict[str, object] = {"__name__": "tutorial"}
        for line, code in blocks(DOC.read_text()):
            try:
                exec(compile(code, f"docs/PYTHON.md:{line}", "exec"), ns)
            except Exception as e:
                pytest.fail(f"docs/PYTHON.md block at line {line} raised {type(e).__name__}: {e}")
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "scenario 5" in out  # the first block printed what the text says it prints
