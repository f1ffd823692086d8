"""The command line shows Discord as a member would read it (names, local times, no markup), says
how to press each button (and the command it prints works), shows a support chat's transcript as
Flex has it, and words every mistake as one line on stderr. One local stack for the module."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.discord_emulator.control import EmulatorControl as DiscordControl
from devstack.discord_markup import Directory, format_timestamp
from devstack.twilio_emulator import EmulatorControl as TwilioControl
from tests.e2e.test_member_cli import devstack_up, run_devstack

BUG_FIELDS = {
    "title": "Shiny counter resets",
    "what_happened": "The counter went back to zero",
    "steps": "1. Catch\\n2. Check",
    "expected_actual": "Kept vs reset",
}
TIME = r"\d\d:\d\d"


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("devstack")
    with devstack_up(directory) as stack:
        stack.wait_for((directory / "stack.json").exists, "the stack did not start")
        yield directory


def devstack(state_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    completed = run_devstack(state_dir, *arguments)
    assert "Traceback" not in completed.stdout + completed.stderr, completed.stdout + completed.stderr
    return completed


@pytest.fixture(scope="module")
def case_filed(state_dir: Path) -> None:
    """alice's bug is case #1, triaged by mod (so alice has a DM with a button)."""
    filed = devstack(
        state_dir, "member", "alice", "bug", *[f"--field={k}={v}" for k, v in BUG_FIELDS.items()]
    )
    assert "filed as case #1" in filed.stdout, filed.stdout + filed.stderr
    triaged = devstack(state_dir, "staff", "mod", "status", "1", "triaged")
    assert "Case #1 is now Triaged." in triaged.stdout, triaged.stdout + triaged.stderr


def test_replies_and_posts_name_people_and_times(state_dir: Path, case_filed: None) -> None:
    mine = devstack(state_dir, "member", "alice", "mycases")
    assert mine.returncode == 0, mine.stderr
    assert "#1 🐞 Shiny counter resets · 🔎 Triaged · opened " in mine.stdout
    assert re.search(r"opened (a few seconds|a minute|\d+ minutes) ago", mine.stdout), mine.stdout
    assert "<t:" not in mine.stdout
    assert "**" not in mine.stdout

    posted = devstack(state_dir, "channel", "bug-report")
    assert "┃ Reporter: @Alice\n" in posted.stdout, posted.stdout
    assert not re.search(r"<[@#t]", posted.stdout), posted.stdout
    assert "┃ What happened?\n  ┃ The counter went back to zero\n" in posted.stdout
    # The same instant the bot wrote as <t:N:f>, in this machine's time zone.
    discord = DiscordControl(json.loads((state_dir / "stack.json").read_text())["discord"])
    (post,) = discord.messages("bug-report")
    opened = next(field["value"] for field in post["embeds"][0]["fields"] if field["name"] == "Opened")
    seconds = int(re.fullmatch(r"<t:(\d+):f>", opened).group(1))  # type: ignore[union-attr]
    local = format_timestamp(seconds, "f", Directory(users={}, channels={}, roles={}))
    assert f"┃ Opened: {local}\n" in posted.stdout

    dm = devstack(state_dir, "dm", "alice")
    assert "Your bug report #1 “Shiny counter resets” is now triaged." in dm.stdout, dm.stdout


def test_the_press_hints_are_commands_that_work(state_dir: Path, case_filed: None) -> None:
    dm = devstack(state_dir, "dm", "alice")
    # A button on a message the bot posted in the DM: pressed by the message's id.
    hint = re.search(
        r"^    press: python -m devstack (click alice --message \d+ case:show:\d+:1)$", dm.stdout, re.M
    )
    assert hint, dm.stdout
    pressed = devstack(state_dir, *shlex.split(hint.group(1)))
    assert pressed.returncode == 0, pressed.stderr
    assert "(only you can see this)" in pressed.stdout
    assert "┃ 🐞 Bug report #1: Shiny counter resets" in pressed.stdout

    # A button on a reply: pressed with the reply's token.
    mine = devstack(state_dir, "member", "alice", "mycases")
    hint = re.search(r"^    press: python -m devstack (click alice \S+ case:show:\d+:1)$", mine.stdout, re.M)
    assert hint, mine.stdout
    pressed = devstack(state_dir, *shlex.split(hint.group(1)))
    assert pressed.returncode == 0, pressed.stderr
    assert "┃ 🐞 Bug report #1: Shiny counter resets" in pressed.stdout

    # A select menu on a channel post, by its id: the hint names its values.
    posted = devstack(state_dir, "channel", "bug-report", "--as", "mod")
    hint = re.search(
        r"^    choose: python -m devstack (select mod --message \d+ case:status:1) "
        r"VALUE  \(one of: open, triaged, ",
        posted.stdout,
        re.M,
    )
    assert hint, posted.stdout
    chosen = devstack(state_dir, *shlex.split(hint.group(1)), "in_progress")
    assert "Case #1 is now In progress." in chosen.stdout, chosen.stdout + chosen.stderr


def test_the_agent_sees_the_task_and_its_transcript(state_dir: Path, case_filed: None) -> None:
    helped = devstack(state_dir, "member", "alice", "helpme", "--option", "question=my pokéstop is missing")
    assert "support chat is open in @flexcord" in helped.stdout, helped.stdout + helped.stderr
    asked = devstack(state_dir, "member", "alice", "agent", "--channel", "dm")
    assert "connecting you to an agent" in asked.stdout, asked.stdout + asked.stderr
    tasks = devstack(state_dir, "agent", "tasks")
    task_sid = tasks.stdout.split()[0]
    assert task_sid.startswith("WT"), tasks.stdout
    assert "  Alice  (CH" in tasks.stdout
    assert "\n    locale: en-US\n" in tasks.stdout
    assert "\n    recent cases: #1 Bug report: Shiny counter resets (" in tasks.stdout

    # The agent's mistakes: one line each.
    early = devstack(state_dir, "agent", "say", task_sid, "before accepting")
    assert (early.returncode, early.stderr.count("\n")) == (2, 1), early.stderr
    assert early.stderr.startswith(f"Flex refused that: no agent of {task_sid} is in conversation CH")
    assert devstack(state_dir, "agent", "accept", task_sid, "--name", "Sam").returncode == 0
    too_long = devstack(state_dir, "agent", "say", task_sid, "x" * 1601)
    assert (too_long.returncode, too_long.stderr) == (
        2,
        "Flex refused that: Body can be up to 1,600 characters long\n",
    )

    assert devstack(state_dir, "agent", "say", task_sid, "Hi Alice, I'm on it").returncode == 0
    replied = devstack(
        state_dir, "member", "alice", "reply", "--option", "message=thanks!", "--channel", "dm"
    )
    assert "Sent" in replied.stdout, replied.stdout + replied.stderr
    flex = TwilioControl(json.loads((state_dir / "stack.json").read_text())["twilio"])
    flex.agent_say(task_sid, "Here are the steps", media=[("steps.txt", b"1. Open the map", "text/plain")])

    deadline = time.monotonic() + 20
    while "Alice: thanks!" not in (transcript := devstack(state_dir, "agent", "transcript", task_sid)).stdout:
        assert time.monotonic() < deadline, transcript.stdout + transcript.stderr
        time.sleep(0.3)
    lines = transcript.stdout.splitlines()

    def index(pattern: str) -> int:
        found = [n for n, line in enumerate(lines) if re.fullmatch(pattern, line)]
        assert len(found) == 1, (pattern, transcript.stdout)
        return found[0]

    question = index(f"{TIME} Alice: my pokéstop is missing")
    answer = index(rf"{TIME} flexcord \(assistant\): \S.*")
    greeting = index(f"{TIME} Sam: Hi Alice, I'm on it")
    thanks = index(f"{TIME} Alice: thanks!")
    steps = index(f"{TIME} Sam: Here are the steps")
    assert question < answer < greeting < thanks < steps
    assert lines[steps + 1] == " " * len("00:00 Sam: ") + "📎 steps.txt"
    assert "member_" not in transcript.stdout  # the member as Flex names them, not an opaque identity


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (("agent", "accept", "WTnotatask"), "Flex refused that: no task WTnotatask"),
        (("agent", "transcript", "WTnotatask"), "Flex refused that: no task WTnotatask"),
        (
            ("click", "alice", "nosuchtoken", "case:show:1"),
            "Discord refused that: unknown interaction token nosuchtoken...",
        ),
        (
            ("click", "alice", "--message", "12345", "case:show:1"),
            "Discord refused that: unknown message '12345'",
        ),
        (
            ("select", "mod", "nosuchtoken", "case:status:1", "open"),
            "Discord refused that: unknown interaction token nosuchtoken...",
        ),
        (
            ("click", "alice", "case:show:1"),
            "Give the reply's token, or --message MESSAGE_ID for any message.",
        ),
        (("member", "nosuchuser", "bug"), "Discord refused that: unknown user 'nosuchuser'"),
        (("dm", "nosuchuser"), "Discord refused that: unknown user 'nosuchuser'"),
        (
            (
                "member",
                "alice",
                "bug",
                "--screenshot",
                "/nonexistent/shot.png",
                *[f"--field={k}={v}" for k, v in BUG_FIELDS.items()],
            ),
            "No such file or directory: /nonexistent/shot.png",
        ),
    ],
)
def test_mistakes_are_one_line_on_stderr(state_dir: Path, command: tuple[str, ...], said: str) -> None:
    completed = devstack(state_dir, *command)
    assert completed.returncode != 0
    assert completed.stderr == said + "\n"
