"""The examples keep working: each runs at a small size, its claims are checked."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, *args):
    argv = sys.argv
    sys.argv = [name, *args]
    try:
        return runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    finally:
        sys.argv = argv


@pytest.mark.slow
def test_quickstart_finds_the_planted_lag(capsys):
    run_example("quickstart.py", "--small")
    out = capsys.readouterr().out
    assert "attention peaks at lag 7 (planted: 7)" in out
    r2 = float(out.split("rows: ")[1].split()[0])
    assert r2 > 0.0
