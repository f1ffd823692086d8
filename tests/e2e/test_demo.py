"""`make demo` (`python -m devstack.demo`): a member's scripted journey through the running local
stack, printed as a transcript; a step that breaks ends it with one line naming the step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.twilio_emulator import EmulatorControl as TwilioControl
from tests.e2e.test_member_cli import devstack_up

ROOT = Path(__file__).resolve().parents[2]
DEMO_TIMEOUT = 300  # a bound against a wedged run, not a timing assertion
KB_ARTICLE = ROOT / "layers" / "flexcord" / "flexcord" / "kb" / "articles" / "waystones-and-map-points.md"
HEADINGS = [
    "1/10 · A member asks a question",
    "2/10 · She asks for a human",
    "3/10 · The agent, Sam, accepts the chat in Flex",
    "4/10 · Sam answers",
    "5/10 · She replies",
    "6/10 · Sam completes the task: the chat ends",
    "7/10 · She rates the chat",
    "8/10 · She files a bug report with a screenshot",
    "9/10 · Staff (mod) triage the report",
    "10/10 · Staff (mod) send her a note",
]


def run_demo(state_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devstack.demo", *arguments],
        cwd=ROOT,
        env={**os.environ, "FLEXCORD_DEVSTACK_DIR": str(state_dir)},
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@dataclass
class DemoStack:
    state_dir: Path
    first_run: subprocess.CompletedProcess[str]

    def flex(self) -> TwilioControl:
        return TwilioControl(json.loads((self.state_dir / "stack.json").read_text())["twilio"])


@pytest.fixture(scope="module")
def demo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    """A fresh local stack, and the demo's first run on it."""
    state_dir = tmp_path_factory.mktemp("demo-stack")
    with devstack_up(state_dir) as stack:
        stack.wait_for((state_dir / "stack.json").exists, "the stack did not start")
        yield DemoStack(state_dir, run_demo(state_dir, "--pace", "0"))


def in_order(transcript: str, expected: list[str]) -> None:
    position = 0
    for text in expected:
        found = transcript.find(text, position)
        assert found >= 0, f"{text!r} missing (or out of order) in:\n{transcript}"
        position = found + len(text)


def article_title(path: Path) -> str:
    front_matter = path.read_text().split("---")[1]
    return next(
        line.split(":", 1)[1].strip() for line in front_matter.splitlines() if line.startswith("title:")
    )


def test_the_demo_plays_the_whole_journey_and_prints_it(demo_stack: DemoStack) -> None:
    run = demo_stack.first_run
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr == ""
    transcript = run.stdout
    assert "The member is Alice (alice)" in transcript  # a fresh stack: alice
    in_order(transcript, HEADINGS)
    in_order(
        transcript,
        [
            # 1: the question, answered from the shipped help centre
            '▶ alice: /helpme question: "A Waystone disappeared from the map, where did it go?"',
            "✅ Your support chat is open",
            "💬 Alice: A Waystone disappeared from the map",
            "These articles might help:",
            f"┃ {article_title(KB_ARTICLE)}: ",
            "https://help.example-game.com/articles/waystones-and-map-points",
            # 2: a human, through Flex
            "▶ alice: presses Talk to a human",
            "📨 Case #1 opened, connecting you to an agent.",
            "◆ Flex: task WT",
            "is waiting: case #1, Alice",
            # 3-5: the agent joins and answers, she replies and Flex has it
            "🎧 Sam joined the chat.",
            "Sam: Hi Alice, I'm Sam. That Waystone was hidden during a map update; it's back now.",
            "💬 Alice: It's back, thank you!",
            '◆ Flex: Sam sees: "It\'s back, thank you!"',
            # 6-7: the chat ends, and she rates it
            "✅ The chat has ended. Case #1 is resolved.",
            "[5 ★] (chat:rate:",
            "▶ alice: presses 5 ★",
            "· alice's DM (edited)",
            "Your rating: ★★★★★ (5/5). Thanks for telling us!",
            # 8: her bug report, posted with the screenshot re-uploaded
            "filed as case #2",
            "🐞 Bug report #2: Raid lobby freezes at the countdown",
            "📎 case-2-1.png",
            # 9-10: triage, and what she is told
            "Case #2 is now Triaged. The reporter was told by DM.",
            "Your bug report #2 “Raid lobby freezes at the countdown” is now triaged.",
            "Status: 🔎 Triaged",
            "Staff replied on bug report #2 “Raid lobby freezes at the countdown”: Thanks!",
            "Done: 10 steps.",
        ],
    )
    # Each message is printed once, and again only when it changes.
    assert transcript.count("🎧 Sam joined the chat.") == 1


def test_a_step_that_breaks_ends_the_demo_in_one_line_naming_it_and_a_rerun_still_works(
    demo_stack: DemoStack,
) -> None:
    assert demo_stack.first_run.returncode == 0, demo_stack.first_run.stderr
    flex = demo_stack.flex()
    # Flex refuses every hand-off: the chat never reaches an agent.
    flex.inject_fault("POST", r"^/flex-api/v1/Interactions$", 503, times=1000)
    try:
        broken = run_demo(demo_stack.state_dir, "--pace", "0", "--timeout", "15")
    finally:
        flex.clear_faults()
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "Traceback" not in broken.stderr
    [line] = broken.stderr.splitlines()
    assert line.startswith("demo failed at step 2/10 (She asks for a human): "), line
    assert "The member is Alice2 (alice2)" in broken.stdout  # alice has had her turn
    assert "✔ the assistant answered from the help centre" in broken.stdout  # step 1 went through

    # Again, with leftovers (alice2's chat stuck, alice's open report): a fresh member, and her
    # report, which looks like alice's, is filed anyway.
    again = run_demo(demo_stack.state_dir, "--pace", "0")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "The member is Alice3 (alice3)" in again.stdout
    in_order(again.stdout, ["Is it one of these?", "▶ alice3: presses No, file mine", "filed as case #"])
    assert "Done: 10 steps." in again.stdout


def test_without_a_running_stack_the_demo_says_to_start_it(tmp_path: Path) -> None:
    completed = run_demo(tmp_path, "--pace", "0")
    assert completed.returncode == 1
    assert completed.stderr == "The local stack is not running: start it with `make local` first.\n"
    assert completed.stdout == ""


def test_a_stack_that_stopped_is_one_line_naming_where_the_demo_was(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    (tmp_path / "stack.json").write_text(json.dumps({"discord": dead, "twilio": dead}), encoding="utf-8")
    completed = run_demo(tmp_path, "--pace", "0")
    assert completed.returncode == 1
    assert completed.stderr == (
        "demo failed at getting ready: nothing answers at "
        f"{dead}: is the local stack (`make local`) still running?\n"
    )
