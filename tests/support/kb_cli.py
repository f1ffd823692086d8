"""``python -m flexcord.kb`` run as documented: in a fresh process, from the repository root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_kb(
    *arguments: object, stdin: str = "", check: bool = True, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command's result; with ``check``, it must have succeeded (its stderr shows if not)."""
    completed = subprocess.run(
        [sys.executable, "-m", "flexcord.kb", *map(str, arguments)],
        input=stdin,
        env={**os.environ, **(environment or {}), "PYTHONPATH": str(ROOT / "layers" / "flexcord")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check:
        assert completed.returncode == 0, completed.stderr
    return completed
