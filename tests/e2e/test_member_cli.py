"""The README's way to try Flexcord: `python -m devstack up`, then be a member from another
terminal. Runs the real commands as subprocesses."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Every part on a free port (0): test runs side by side, and beside a `make local`, never collide.
PORTS = [
    arg
    for part in ("gateway", "discord", "moto", "twilio", "feeds", "console")
    for arg in (f"--{part}-port", "0")
]
# Generous bounds, not timing assertions: they only keep a wedged run from hanging the suite.
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
CLEAN_UP_TIMEOUT = 15.0  # after a failure: SIGTERM, this long, then SIGKILL for the whole group


class DevStack:
    """`python -m devstack up` in its own process group, its output in a file (a pipe nobody
    reads until the end could fill up and block the stack)."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not condition():
            assert self.process.poll() is None, (
                f"the stack exited ({self.process.returncode}):\n{self.output()}"
            )
            assert time.monotonic() < deadline, f"{what}:\n{self.output()}"
            time.sleep(0.2)

    def stop(self, signal_number: int) -> int:
        """Send the signal and wait (boundedly) for the stack's own exit code."""
        self.process.send_signal(signal_number)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the stack ignored signal {signal_number}:\n{self.output()}") from None


@contextmanager
def devstack_up(state_dir: Path, arguments: Sequence[str] = PORTS) -> Iterator[DevStack]:
    """Runs the stack (``up ARGUMENTS``); whatever happens in the block, nothing of it survives
    the block."""
    log = state_dir / "up.log"
    environment = {**os.environ, "FLEXCORD_DEVSTACK_DIR": str(state_dir), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "up", *arguments],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one below
        )
    try:
        yield DevStack(process, log)
    finally:
        if process.poll() is None:
            process.terminate()
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=CLEAN_UP_TIMEOUT)
        # Whatever is left of the group (the process, anything it started) goes too, even after
        # a clean exit of the stack itself.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_devstack(state_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``python -m devstack ARGUMENTS`` from another terminal, as the README has it."""
    return subprocess.run(
        [sys.executable, "-m", "devstack", *arguments],
        cwd=ROOT,
        env={**os.environ, "FLEXCORD_DEVSTACK_DIR": str(state_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_a_member_files_a_bug_from_the_command_line_and_sees_it_posted(tmp_path: Path) -> None:
    with devstack_up(tmp_path) as stack:
        stack.wait_for((tmp_path / "stack.json").exists, "the stack did not start")
        assert json.loads((tmp_path / "env.json").read_text())["Parameters"]["DISCORD_BOT_TOKEN_SECRET_ID"]

        def devstack(*arguments: str) -> subprocess.CompletedProcess[str]:
            return run_devstack(tmp_path, *arguments)

        fields = {
            "title": "Shiny counter resets",
            "what_happened": "The counter went back to zero",
            "steps": "1. Catch\\n2. Check",
            "expected_actual": "Kept vs reset",
        }
        filed = devstack("member", "alice", "bug", *[f"--field={k}={v}" for k, v in fields.items()])
        assert filed.returncode == 0, filed.stderr
        assert "filed as case #1" in filed.stdout
        assert "(only you can see this)" in filed.stdout

        posted = devstack("channel", "bug-report")
        assert "🐞 Bug report #1: Shiny counter resets" in posted.stdout
        assert "1. Catch\n" in posted.stdout.replace("  ┃ ", "")

        refused = devstack("member", "bob", "case", "show", "--option", "number=1")
        assert "isn't one of yours" in refused.stdout

        # Playing staff: the post's controls, as mod (staff) and as bob (refused).
        not_staff = devstack("staff", "bob", "status", "1", "resolved")
        assert "Only this server's staff can change cases" in not_staff.stdout, not_staff.stderr
        triaged = devstack("staff", "mod", "status", "1", "triaged")
        assert "Case #1 is now Triaged. The reporter was told by DM." in triaged.stdout, triaged.stderr
        resolved = devstack("staff", "mod", "status", "1", "resolved", "--note", "fixed in 1.4.2")
        assert "Case #1 is now Resolved" in resolved.stdout, resolved.stderr
        assert "is now resolved: fixed in 1.4.2" in devstack("dm", "alice").stdout
        assert "Status: ✅ Resolved" in devstack("channel", "bug-report").stdout

        # The support chat, from both sides of the command line.
        no_tasks = devstack("agent", "tasks")
        assert no_tasks.returncode == 0
        assert no_tasks.stdout.startswith("No tasks: a member asks for a human first")
        helped = devstack("member", "alice", "helpme", "--option", "question=my pokéstop is missing")
        assert "support chat is open" in helped.stdout, helped.stderr
        dm = devstack("dm", "alice")
        assert "💬 Alice: my pokéstop is missing" in dm.stdout
        assert "[Talk to a human] (chat:human)" in dm.stdout
        welcome_token = devstack("member", "alice", "agent", "--channel", "dm")
        assert "connecting you to an agent" in welcome_token.stdout, welcome_token.stderr
        tasks = devstack("agent", "tasks")
        task_sid = tasks.stdout.split()[0]
        assert task_sid.startswith("WT")
        assert "Alice" in tasks.stdout
        # The agent's mistakes are one line each, never a traceback.
        for mistake in (
            ("agent", "say", task_sid, "before accepting"),
            ("agent", "accept", "WT00000000000000000000000000000000"),
            ("agent", "accept", "not-a-task"),
        ):
            refused = devstack(*mistake)
            assert refused.returncode == 2, mistake
            assert refused.stderr.startswith("Flex refused that: "), refused.stderr
            assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert devstack("agent", "accept", task_sid, "--name", "Sam").returncode == 0
        too_long = devstack("agent", "say", task_sid, "x" * 1601)
        assert too_long.returncode == 2
        assert too_long.stderr.startswith("Flex refused that: "), too_long.stderr
        assert len(too_long.stderr.strip().splitlines()) == 1, too_long.stderr
        assert devstack("agent", "say", task_sid, "Hi Alice, I'm on it").returncode == 0
        deadline = time.monotonic() + 15
        while "Sam: Hi Alice, I'm on it" not in devstack("dm", "alice").stdout:
            assert time.monotonic() < deadline, devstack("dm", "alice").stdout
            time.sleep(0.3)
        assert "🎧 Sam joined the chat." in devstack("dm", "alice").stdout

        # Announcements from the command line: a sample feed followed, the clock moved, a
        # signed webhook sent.
        assert "blog    http://127.0.0.1:" in devstack("feed", "urls").stdout
        followed = devstack("feed", "add", "blog", "--channel", "announcements")
        assert "✅ Following The Flexcord Blog" in followed.stdout, followed.stderr
        assert "none is posted" in followed.stdout
        moved = devstack("clock", "advance", "1h")
        assert "feed polls queued: 1" in moved.stdout, moved.stderr
        deadline = time.monotonic() + 15
        while "#51" not in devstack("channel", "announcements").stdout:
            assert time.monotonic() < deadline, devstack("channel", "announcements").stdout
            time.sleep(0.3)
        assert devstack("feed", "mode", "blog", "slow", "--option", "seconds=5").stdout == "blog: slow\n"
        sent = devstack("webhook", "--title", "From the CLI", "--text", "Hello", "--key", "cli-1")
        assert sent.stdout.startswith("202 "), sent.stdout + sent.stderr

        incomplete = devstack("member", "alice", "bug")  # no terminal to ask, no fields given
        assert incomplete.returncode == 2
        assert "is required" in incomplete.stderr

        # Ctrl-C: the stack stops by itself (exit code 0), and says so.
        assert stack.stop(signal.SIGINT) == 0, stack.output()
        assert "stopping" in stack.output()
    assert not (tmp_path / "stack.json").exists()


def test_commands_against_a_stack_that_was_killed_say_so_in_one_line(tmp_path: Path) -> None:
    # What a SIGKILLed stack leaves: its state file, pointing at ports nobody listens on.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    (tmp_path / "stack.json").write_text(json.dumps({"discord": dead, "twilio": dead}), encoding="utf-8")
    for command in (("agent", "tasks"), ("dm", "alice"), ("member", "alice", "case", "list")):
        completed = run_devstack(tmp_path, *command)
        assert completed.returncode == 2, command
        assert completed.stderr.strip() == (
            f"nothing answers at {dead}: is the local stack (`make local`) still running?"
        ), completed.stderr


def test_sigterm_while_the_stack_starts_stops_it_cleanly(tmp_path: Path) -> None:
    with devstack_up(tmp_path) as stack:
        # The signal handlers are in place once this is printed; the start itself takes seconds.
        stack.wait_for(lambda: "starting the Flexcord local stack" in stack.output(), "no start")
        assert stack.stop(signal.SIGTERM) == 0, stack.output()
    assert not (tmp_path / "stack.json").exists()


def test_sigterm_stops_a_running_stack_cleanly(tmp_path: Path) -> None:
    with devstack_up(tmp_path) as stack:
        stack.wait_for((tmp_path / "stack.json").exists, "the stack did not start")
        assert stack.stop(signal.SIGTERM) == 0, stack.output()
        assert "stopping" in stack.output()
    assert not (tmp_path / "stack.json").exists()
