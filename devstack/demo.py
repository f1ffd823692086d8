"""A scripted member's journey through the running local stack, printed as a transcript.

    make demo                                  (with `make local` running in another terminal)
    python -m devstack.demo [--pace SECONDS] [--timeout SECONDS]

A member asks a question and gets articles from the help centre, asks for a human, an agent
("Sam", in Flex) joins and answers, she replies, the agent closes the task, she rates the chat;
then she files a bug report with a screenshot, and staff (``mod``) triage it and send her a note.
Each step is played through the emulators' control APIs, as the ``python -m devstack`` commands
do, and prints who did what and the messages it produced (a browser on the local stack's
console shows the same messages as they arrive). ``--pace`` waits between steps so a person can
follow (0: no pauses).

The worker is asynchronous, so each step waits for its outcome, at most ``--timeout`` seconds;
a step whose outcome does not come, or that Discord or Flex refuses, ends the demo with one line
on stderr naming the step, and exit status 1.

The member is ``alice`` on a stack she has not used yet; otherwise the first of ``alice2``,
``alice3``... with an empty DM (added to the emulated server), so the demo runs again cleanly.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import requests

from devstack.__main__ import STATE_FILE, render_message
from devstack.control_client import EmulatorControlError, wait_for
from devstack.discord_emulator.control import EmulatorControl as DiscordControl
from devstack.discord_markup import Directory
from devstack.discord_names import directory_for
from devstack.twilio_emulator import EmulatorControl as TwilioControl

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "sample-screenshot.png"
NOT_RUNNING = "The local stack is not running: start it with `make local` first."
LOADING_FLAG = 1 << 7
FILE_UPLOAD = 19
#: The answer to a report: "... is filed as **case #12**: ...".
FILED = re.compile(r"filed as \*\*case #(\d+)\*\*")
#: The expiring signature on an attachment's link (``?ex=...&is=...&hm=...``).
SIGNED_LINK_QUERY = re.compile(r"\?ex=\S*")
STAFF = "mod"
AGENT = "Sam"
BUG_CHANNEL = "bug-report"

QUESTION = "A Waystone disappeared from the map, where did it go?"
AGENT_SAYS = "Hi {name}, I'm Sam. That Waystone was hidden during a map update; it's back now."
MEMBER_REPLIES = "It's back, thank you!"
STARS = 5
BUG = {
    "title": "Raid lobby freezes at the countdown",
    "what_happened": "The raid lobby froze when the countdown reached 0 and the game stopped responding.",
    "steps": "1. Join a raid\n2. Wait for the countdown",
    "expected_actual": "Expected the battle to start; got a frozen lobby.",
}
STAFF_NOTE = "Thanks! We can reproduce it, and a fix is coming in the next update."


class StepFailed(Exception):
    """A step's outcome did not come (or was not what it should be): the reason, for a person."""


@dataclass
class Seen:
    """Messages already printed, by id (with how they looked then), so each is printed once and
    again only when what the transcript shows of it changes."""

    shown: dict[str, str] = field(default_factory=dict)

    def news(self, messages: Iterable[dict[str, Any]]) -> list[tuple[dict[str, Any], bool]]:
        """The messages not printed yet or changed since, with whether each was edited; a reply
        still "thinking…" waits until the worker has written it."""
        fresh = []
        for message in messages:
            if message.get("flags", 0) & LOADING_FLAG:
                continue
            # What the transcript would show; Discord signs attachment links afresh on every read.
            shown = {key: message.get(key) for key in ("content", "embeds", "components", "attachments")}
            snapshot = SIGNED_LINK_QUERY.sub("", json.dumps(shown, sort_keys=True))
            before = self.shown.get(message["id"])
            if before != snapshot:
                fresh.append((message, before is not None))
                self.shown[message["id"]] = snapshot
        return fresh


class Demo:
    def __init__(
        self,
        discord: DiscordControl,
        flex: TwilioControl,
        *,
        timeout: float = 30.0,
        out: TextIO = sys.stdout,
    ) -> None:
        self.discord = discord
        self.flex = flex
        self.timeout = timeout
        self.out = out
        self.seen = Seen()
        self.member = ""
        self.name = ""
        self.task_sid = ""
        self.conversation_sid = ""
        self.case_number = 0
        self.closing_notice: dict[str, Any] = {}
        self.bug_number = 0
        self.bug_post: dict[str, Any] = {}

    # -- the journey ---------------------------------------------------------------------------

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            ("A member asks a question", self.ask),
            ("She asks for a human", self.ask_for_a_human),
            (f"The agent, {AGENT}, accepts the chat in Flex", self.accept),
            (f"{AGENT} answers", self.agent_answers),
            ("She replies", self.member_replies),
            (f"{AGENT} completes the task: the chat ends", self.complete),
            ("She rates the chat", self.rate),
            ("She files a bug report with a screenshot", self.file_bug),
            (f"Staff ({STAFF}) triage the report", self.triage),
            (f"Staff ({STAFF}) send her a note", self.tell),
        ]

    def start(self) -> None:
        """Choose the member and note what is already there, so only what the demo does shows."""
        self.member = self._fresh_member()
        self.name = self.discord.state()["users"][self.member].get("global_name") or self.member
        self.seen.news(self.discord.messages(BUG_CHANNEL))
        self.say(f"The member is {self.name} ({self.member}); the agent is {AGENT}; staff is {STAFF}.")

    def ask(self) -> None:
        self.act(self.member, f'/helpme question: "{QUESTION}"')
        opened = self.discord.run_command(self.member, "helpme", {"question": QUESTION})
        self.show(f"reply to {self.member}", self.final_reply(opened, "the chat did not open"))
        answer = self.wait(
            lambda: self._dm_message(lambda m: m.get("content") == "These articles might help:"),
            f"no articles in {self.name}'s chat",
        )
        self.show_news()
        titles = [f["name"] for embed in answer.get("embeds", []) for f in embed.get("fields", [])]
        if not titles:
            raise StepFailed(f"the assistant's answer to {self.name} names no article")
        self.outcome(f"the assistant answered from the help centre: {titles[0]}")

    def ask_for_a_human(self) -> None:
        offer = self._dm_message(lambda m: "chat:human" in _custom_ids(m))  # the latest one
        if offer is None:
            raise StepFailed(f"no Talk to a human button in {self.name}'s chat")
        tasks_before = {task["sid"] for task in self.flex.tasks(include_closed=True)}
        self.act(self.member, "presses Talk to a human")
        pressed = self.discord.click(self.member, offer, "chat:human")
        told = self.final_reply(pressed, f"{self.name} was not told a case was opened")
        self.show(f"reply to {self.member}", told)
        task = self.wait(
            lambda: next(
                (
                    t
                    for t in self.flex.tasks()
                    if t["sid"] not in tasks_before
                    and t.get("attributes", {}).get("discord_display_name") == self.name
                ),
                None,
            ),
            f"Flex has no task for {self.name}",
        )
        attributes = task.get("attributes", {})
        self.task_sid, self.case_number = task["sid"], int(attributes.get("case_number") or 0)
        self.conversation_sid = str(attributes.get("conversation_sid") or "")
        self.show_news()
        self.flex_line(f"task {self.task_sid} is waiting: case #{self.case_number}, {self.name}")
        self.outcome(f"case #{self.case_number} is open and the chat is in Flex's queue")

    def accept(self) -> None:
        self.act(f"{AGENT} (Flex)", f"accepts task {self.task_sid}")
        self.flex.accept(self.task_sid, agent=AGENT.lower(), friendly_name=AGENT)
        self.wait(lambda: self._dm_text(f"🎧 **{AGENT}** joined the chat."), f"{self.name} was not told")
        self.show_news()
        self.outcome(f"{self.name} is told {AGENT} joined; the case is in progress")

    def agent_answers(self) -> None:
        text = AGENT_SAYS.format(name=self.name)
        self.act(f"{AGENT} (Flex)", f'says "{text}"')
        self.flex.agent_say(self.task_sid, text)
        self.wait(lambda: self._dm_text(f"**{AGENT}:** {text}"), f"{AGENT}'s message is not in the chat")
        self.show_news()
        self.outcome(f"{AGENT}'s message is in {self.name}'s DM")

    def member_replies(self) -> None:
        self.act(self.member, f'/reply message: "{MEMBER_REPLIES}" (in her DM)')
        sent = self.discord.run_command(self.member, "reply", {"message": MEMBER_REPLIES}, channel="dm")
        self.final_reply(sent, "her message was not taken")
        self.wait(
            lambda: any(m.get("body") == MEMBER_REPLIES for m in self.flex.messages(self.conversation_sid)),
            f"{AGENT} does not see her message in Flex",
        )
        self.show_news()
        self.flex_line(f'{AGENT} sees: "{MEMBER_REPLIES}"')
        self.outcome(f"her message reached {AGENT}")

    def complete(self) -> None:
        self.act(f"{AGENT} (Flex)", f"completes task {self.task_sid}")
        self.flex.complete(self.task_sid)
        self.closing_notice = self.wait(
            lambda: self._dm_message(lambda m: any(i.startswith("chat:rate:") for i in _custom_ids(m))),
            f"{self.name} was not asked to rate the chat",
        )
        self.show_news()
        self.outcome(f"the chat ended, case #{self.case_number} is resolved, and she is asked to rate it")

    def rate(self) -> None:
        button = next(
            (b for b in _buttons(self.closing_notice) if b["custom_id"].startswith("chat:rate:")
             and b["custom_id"].endswith(f":{STARS}")),
            None,
        )  # fmt: skip
        if button is None:
            raise StepFailed(f"no {STARS} ★ button under the closing notice")
        self.act(self.member, f"presses {button.get('label', STARS)}")
        pressed = self.discord.click(self.member, self.closing_notice, button["custom_id"])
        if pressed.get("failed"):
            raise StepFailed(f"the press failed: {pressed.get('error') or pressed.get('status_code')}")
        notice_id = self.closing_notice["id"]
        self.wait(
            lambda: self._dm_message(
                lambda m: (
                    m["id"] == notice_id
                    and any("Thanks for telling us" in str(e.get("description")) for e in m.get("embeds", []))
                )
            ),
            "the closing notice does not show the rating",
        )
        self.show_news()
        self.outcome(f"rated {STARS}/5 on case #{self.case_number}")

    def file_bug(self) -> None:
        self.act(self.member, f'/bug, fills the form ("{BUG["title"]}") and attaches {SCREENSHOT.name}')
        opened = self.discord.run_command(self.member, "bug")
        modal = opened.get("modal")
        if not modal:
            raise StepFailed(f"/bug opened no form: {opened.get('error') or opened.get('message')}")
        uploads = [
            top["component"]["custom_id"]
            for top in modal.get("components", [])
            if (top.get("component") or {}).get("type") == FILE_UPLOAD
        ]
        files = {uploads[0]: [{"path": str(SCREENSHOT), "filename": SCREENSHOT.name}]} if uploads else None
        submitted = self.discord.submit_modal(self.member, modal, BUG, files=files)
        reply = self.final_reply(submitted, "the report was not answered")
        file_mine = next((i for i in _custom_ids(reply) if i.startswith("dupe:file:")), None)
        if file_mine is not None:  # an earlier run's report looks like this one
            self.show(f"reply to {self.member}", reply)
            self.act(self.member, "presses No, file mine")
            pressed = self.discord.click(self.member, reply, file_mine)
            if pressed.get("failed"):
                raise StepFailed(f"the press failed: {pressed.get('error') or pressed.get('status_code')}")
            token = pressed["interaction"]["token"]
            # The press updates the question in place: the answer replaces it once filed.
            reply = self.wait(
                lambda: next(
                    (r for r in [self.discord.original_response(token)] if r and FILED.search(str(r))),
                    None,
                ),
                "the report was not filed",
            )
        found = FILED.search(str(reply.get("content")))
        if found is None:
            raise StepFailed(f"the report was not filed: {reply.get('content')!r}")
        self.show(f"reply to {self.member}", reply)
        self.bug_number = int(found.group(1))
        self.bug_post = self.wait(
            lambda: next(
                (
                    m
                    for m in self.discord.messages(BUG_CHANNEL)
                    if f"#{self.bug_number}:" in str((m.get("embeds") or [{}])[0].get("title"))
                    and m.get("attachments")
                ),
                None,
            ),
            f"case #{self.bug_number} with its screenshot is not posted in #{BUG_CHANNEL}",
        )
        self.show_news()
        self.outcome(f"case #{self.bug_number} is filed and posted in #{BUG_CHANNEL} with the screenshot")

    def triage(self) -> None:
        number = self.bug_number
        self.act(STAFF, f"sets case #{number}'s status to triaged on its post in #{BUG_CHANNEL}")
        chosen = self.discord.select(STAFF, self.bug_post["id"], f"case:status:{number}", ["triaged"])
        reply = self.final_reply(chosen, f"{STAFF} got no answer")
        self.show(f"reply to {STAFF}", reply)
        if "**Triaged**" not in str(reply.get("content")):
            raise StepFailed(f"case #{number} was not triaged: {reply.get('content')!r}")
        self.wait(lambda: self._dm_text("is now **triaged**"), f"{self.name} was not told")
        self.show_news()
        self.outcome(f"case #{number} is triaged, and {self.name} was told by DM")

    def tell(self) -> None:
        number = self.bug_number
        self.act(STAFF, f'presses Update reporter on case #{number}: "{STAFF_NOTE}"')
        pressed = self.discord.click(STAFF, self.bug_post, f"case:tell:{number}")
        modal = pressed.get("modal")
        if not modal:
            raise StepFailed(f"Update reporter opened no form: {pressed.get('error')}")
        field_id = next(top["component"]["custom_id"] for top in modal["components"] if top.get("component"))
        reply = self.final_reply(
            self.discord.submit_modal(STAFF, modal, {field_id: STAFF_NOTE}), f"{STAFF} got no answer"
        )
        self.show(f"reply to {STAFF}", reply)
        self.wait(lambda: self._dm_text(STAFF_NOTE), f"{self.name} did not get the note")
        self.show_news()
        self.outcome(f"{self.name}'s DM has the note on case #{number}")

    # -- waiting -------------------------------------------------------------------------------

    def wait[T](self, condition: Callable[[], T | None], failure: str) -> T:
        """The condition's first truthy value, asked every 0.2 s for at most ``timeout`` seconds."""
        try:
            return wait_for(condition, self.timeout, 0.2)
        except TimeoutError:
            raise StepFailed(f"{failure} within {self.timeout:g} s") from None

    def final_reply(self, result: dict[str, Any], failure: str) -> dict[str, Any]:
        """An interaction's reply once the worker has written it (no longer "thinking…")."""
        if result.get("failed"):
            raise StepFailed(f"the interaction failed: {result.get('error') or result.get('status_code')}")
        token = result["interaction"]["token"]

        def written() -> dict[str, Any] | None:
            reply = self.discord.original_response(token)
            return reply if reply and not reply.get("flags", 0) & LOADING_FLAG else None

        return self.wait(written, failure)

    def _dm(self) -> list[dict[str, Any]]:
        return self.discord.messages(f"dm:{self.member}")

    def _dm_message(self, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        return next((m for m in reversed(self._dm()) if matches(m)), None)

    def _dm_text(self, text: str) -> bool:
        return any(text in str(m.get("content")) for m in self._dm())

    def _fresh_member(self) -> str:
        users = self.discord.state()["users"]
        for number in range(1, 1000):
            name = "alice" if number == 1 else f"alice{number}"
            if name not in users:
                self.discord.add_user(name)
                return name
            if not self.discord.messages(f"dm:{name}"):
                return name
        raise StepFailed("no fresh member name left (alice … alice999 all have a chat)")

    # -- printing ------------------------------------------------------------------------------

    def heading(self, number: int, total: int, title: str) -> None:
        text = f"── {number}/{total} · {title} "
        self.say(f"\n{text}{'─' * max(3, 78 - len(text))}")

    def act(self, who: str, what: str) -> None:
        self.say(f"▶ {who}: {what}")

    def flex_line(self, text: str) -> None:
        self.say(f"◆ Flex: {text}")

    def outcome(self, text: str) -> None:
        self.say(f"✔ {text}")

    def show(self, where: str, message: dict[str, Any], *, edited: bool = False) -> None:
        self.seen.news([message])
        self.say(f"  · {where}{' (edited)' if edited else ''}")
        self.say(render_message(message, self._names(message), hints=False))

    def _names(self, message: dict[str, Any]) -> Directory:
        """Who and what the ids in a message are, as the member's client knows them."""
        return directory_for(self.discord, [message], self.member)

    def show_news(self) -> None:
        """Print what changed in the member's DM and in #bug-report since the last look."""
        for where, messages in (
            (f"{self.member}'s DM", self._dm()),
            (f"#{BUG_CHANNEL}", self.discord.messages(BUG_CHANNEL)),
        ):
            for message, edited in self.seen.news(messages):
                self.say(f"  · {where}{' (edited)' if edited else ''}")
                self.say(render_message(message, self._names(message), hints=False))

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        b for row in message.get("components", []) for b in row.get("components", []) if b.get("custom_id")
    ]


def _custom_ids(message: dict[str, Any]) -> list[str]:
    return [str(b["custom_id"]) for b in _buttons(message)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--pace", type=float, default=1.0, help="seconds between steps (default 1; 0: none)")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="how long each step waits for its outcome (default 30 s)"
    )
    arguments = parser.parse_args(argv)
    if not STATE_FILE.exists():
        print(NOT_RUNNING, file=sys.stderr)
        return 1
    stack = json.loads(STATE_FILE.read_text())
    demo = Demo(DiscordControl(stack["discord"]), TwilioControl(stack["twilio"]), timeout=arguments.timeout)
    demo.say(f"Flexcord demo: a member's journey through the local stack (Discord at {stack['discord']})")
    steps = demo.steps()
    current = "getting ready"
    try:
        demo.start()
        for number, (title, run) in enumerate(steps, start=1):
            current = f"step {number}/{len(steps)} ({title})"
            if number > 1:
                time.sleep(arguments.pace)
            demo.heading(number, len(steps), title)
            run()
    except StepFailed as failure:
        print(f"demo failed at {current}: {failure}", file=sys.stderr)
        return 1
    except EmulatorControlError as refusal:
        print(f"demo failed at {current}: {refusal.reason}", file=sys.stderr)
        return 1
    except requests.RequestException as error:  # e.g. an emulator that stopped answering in time
        print(f"demo failed at {current}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ndemo stopped at {current}", file=sys.stderr)
        return 130
    demo.say(f"\nDone: {len(steps)} steps. Play them yourself with `python -m devstack` (README, Try it).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
