"""`python tests/sandbox.py --help` tells a newcomer what the sandbox is and
what it needs, and starts nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_help_prints_usage_and_starts_no_server() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "sandbox.py"), "--help"],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: python tests/sandbox.py")
    assert "bash .ci/install" in run.stdout
    assert "Wiki:" not in run.stdout and "IRC:" not in run.stdout  # what a started sandbox prints


def test_an_unknown_option_is_refused_before_anything_starts() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "sandbox.py"), "--services-typo"],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert run.returncode == 2
    assert "unrecognized arguments: --services-typo" in run.stderr
    assert "Wiki:" not in run.stdout
