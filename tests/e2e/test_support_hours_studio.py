"""Support hours on the Studio path: outside hours, neither the flow (ChatbotFunction answering a
member who asks for a human) nor "Talk to a human" hands the chat to Flex; the member is told
when agents are back and offered to leave a message. Inside hours the flow hands off with the
member's recent cases on the task."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from devstack.twilio_emulator import TwilioEmulator
from tests.e2e.conftest import final_reply, session_item, wait_until
from tests.e2e.test_after_chat_flow import paris_weekdays_9_to_17

WEDNESDAY_EVENING = datetime(2026, 12, 2, 19, 30, tzinfo=UTC)  # 20:30 in Paris
THURSDAY_MORNING = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # 10:00 in Paris


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(studio=True) as running:
        yield running


@pytest.fixture
def clock(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """Paris weekday hours on the emulated server, and one clock for the worker and
    ChatbotFunction (``clock[0]``)."""
    from flexcord.jobs import support_jobs
    from flexcord.twilio_webhooks import chatbot
    from flexcord.wiring import server_directory

    assert stack.discord is not None
    guild = stack.discord.guild_id
    server_directory().change(
        guild, by="test", now="2026-12-01T00:00:00+00:00", hours=paris_weekdays_9_to_17()
    )
    now = [WEDNESDAY_EVENING]
    monkeypatch.setattr(support_jobs, "wall_clock", lambda: now[0])
    monkeypatch.setattr(chatbot, "wall_clock", lambda: now[0])
    yield now
    server_directory().change(guild, by="test", now="2026-12-01T00:00:00+00:00", hours=None)


def chat(discord: DiscordEmulator, user: str) -> list[dict[str, Any]]:
    return discord.messages(discord.dm_channel_id(user))


def conversation_of(twilio: TwilioEmulator, helpme: Any) -> str:
    return next(
        c["sid"] for c in twilio.conversations() if c["unique_name"] == f"discord-{helpme.interaction['id']}"
    )


def tasks_for(twilio: TwilioEmulator, conversation_sid: str) -> list[dict[str, Any]]:
    return [t for t in twilio.tasks() if conversation_sid in str(t["attributes"])]


def test_outside_hours_the_flow_does_not_hand_off_and_inside_it_does(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator, clock: list[datetime]
) -> None:
    discord.add_user("nora")
    # An earlier case of Nora's, for the task's recent cases.
    opened = discord.run_command("nora", "bug")
    assert opened.modal is not None
    final_reply(
        discord,
        discord.submit_modal(
            "nora",
            opened.modal,
            {
                "title": 'Gym "badge" missing',
                "what_happened": "Gone.",
                "steps": "1. Open the gym",
                "expected_actual": "A badge; none.",
            },
        ).token,
    )
    helpme = discord.run_command("nora", "helpme", {"question": "I want to talk to a human"})
    final_reply(discord, helpme.token)
    sid = conversation_of(twilio, helpme)
    notice = wait_until(
        lambda: next((m for m in chat(discord, "nora") if m["content"].startswith("🌙 ")), None)
    )
    assert "They're back Thursday 3 December at 09:00 (Europe/Paris)" in notice["content"]
    assert [b["custom_id"] for row in notice["components"] for b in row["components"]][-1] == "chat:leave"
    wait_until(lambda: [e for e in twilio.studio_executions if e.conversation_sid == sid])
    assert tasks_for(twilio, sid) == []
    session = session_item(stack, discord.user_id("nora"))
    assert session is not None
    assert session["mode"] == "assistant"

    # "Talk to a human" outside hours: the same answer, and nothing reaches the flow for Flex.
    welcome = chat(discord, "nora")[0]
    told = final_reply(discord, discord.click("nora", welcome, "chat:human").token)
    assert told["content"].startswith("🌙 ")
    assert tasks_for(twilio, sid) == []

    # Inside hours, asking again hands off through the flow, with Nora's earlier case.
    clock[0] = THURSDAY_MORNING
    sent = discord.run_command("nora", "reply", {"message": "a human please"}, channel="dm")
    final_reply(discord, sent.token)
    [task] = wait_until(lambda: tasks_for(twilio, sid))
    assert "Bug report: Gym 'badge' missing (open)" in task["attributes"]["recent_cases"]
