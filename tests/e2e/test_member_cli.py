"""The README's way to try Flexcord: `python -m devstack up`, then be a member from another
terminal. Runs the real commands as subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_member_files_a_bug_from_the_command_line_and_sees_it_posted(tmp_path: Path) -> None:
    environment = {**os.environ, "FLEXCORD_DEVSTACK_DIR": str(tmp_path)}
    ports = ["--gateway-port", "0", "--discord-port", "0", "--moto-port", "0"]
    stack = subprocess.Popen(
        [sys.executable, "-m", "devstack", "up", *ports],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "stack.json").exists():
            assert stack.poll() is None, stack.stdout.read() if stack.stdout else ""
            assert time.monotonic() < deadline, "the stack did not start"
            time.sleep(0.2)
        assert json.loads((tmp_path / "env.json").read_text())["Parameters"]["DISCORD_BOT_TOKEN_SECRET_ID"]

        def devstack(*arguments: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "devstack", *arguments],
                cwd=ROOT,
                env=environment,
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
                check=False,
            )

        fields = {
            "title": "Shiny counter resets",
            "what_happened": "The counter went back to zero",
            "steps": "1. Catch\\n2. Check",
            "expected_actual": "Kept vs reset",
        }
        filed = devstack("member", "alice", "bug", *[f"--field={k}={v}" for k, v in fields.items()])
        assert filed.returncode == 0, filed.stderr
        assert "filed as **case #1**" in filed.stdout
        assert "(only you can see this)" in filed.stdout

        posted = devstack("channel", "bug-report")
        assert "🐞 Bug report #1: Shiny counter resets" in posted.stdout
        assert "1. Catch\n" in posted.stdout.replace("  ┃ ", "")

        refused = devstack("member", "bob", "case", "--option", "number=1")
        assert "isn't one of yours" in refused.stdout

        # The support chat, from both sides of the command line.
        helped = devstack("member", "alice", "helpme", "--option", "question=my pokéstop is missing")
        assert "support chat is open" in helped.stdout, helped.stderr
        dm = devstack("dm", "alice")
        assert "💬 **Alice:** my pokéstop is missing" in dm.stdout
        assert "[Talk to a human] (chat:human)" in dm.stdout
        welcome_token = devstack("member", "alice", "agent", "--channel", "dm")
        assert "connecting you to an agent" in welcome_token.stdout, welcome_token.stderr
        tasks = devstack("agent", "tasks")
        task_sid = tasks.stdout.split()[0]
        assert task_sid.startswith("WT")
        assert "Alice" in tasks.stdout
        assert devstack("agent", "accept", task_sid, "--name", "Sam").returncode == 0
        assert devstack("agent", "say", task_sid, "Hi Alice, I'm on it").returncode == 0
        deadline = time.monotonic() + 15
        while "**Sam:** Hi Alice, I'm on it" not in devstack("dm", "alice").stdout:
            assert time.monotonic() < deadline, devstack("dm", "alice").stdout
            time.sleep(0.3)
        assert "🎧 **Sam** joined the chat." in devstack("dm", "alice").stdout

        incomplete = devstack("member", "alice", "bug")  # no terminal to ask, no fields given
        assert incomplete.returncode == 2
        assert "is required" in incomplete.stderr
    finally:
        stack.send_signal(signal.SIGINT)
        output, _ = stack.communicate(timeout=30)
    assert stack.returncode == 0, output
    assert "stopping" in output
    assert not (tmp_path / "stack.json").exists()
