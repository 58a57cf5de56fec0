"""Run the jpkikit command as a user does: a new process, from a given directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conformance_runner import REPO


def jpkikit(*args: str, cwd: Path = REPO, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return python_module("jpkikit", *args, cwd=cwd, timeout=timeout)


def python_module(
    module: str,
    *args: str,
    cwd: Path = REPO,
    timeout: float = 180,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` in a new process (``env``: instead of this one's environment)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=dict(os.environ if env is None else env, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr
