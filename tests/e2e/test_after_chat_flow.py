"""After a support chat, end to end: the closing notice's rating, comment and transcript, the
member's recent cases on the agent's task, and support hours (with the worker's clock set by the
test), through the real functions over moto and the Discord and Twilio emulators."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from devstack.twilio_emulator import TwilioEmulator
from tests.e2e.conftest import dm_texts, final_reply, session_item, stored_case, wait_until

BUG_VALUES = {
    "title": "Raid lobby freezes after the countdown",
    "what_happened": "The lobby froze at 0 seconds.",
    "steps": "1. Join a raid\n2. Wait",
    "expected_actual": "Expected the battle; got a frozen screen.",
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(parameters={"MemberRateLimitPerMinute": 0}) as running:
        yield running


@pytest.fixture
def hours(stack: LocalStack) -> Iterator[Any]:
    """Set the emulated server's support hours; they are cleared after the test."""
    from flexcord.wiring import server_directory

    assert stack.discord is not None
    guild = stack.discord.guild_id

    def set_hours(document: dict[str, Any] | None) -> None:
        server_directory().change(guild, by="test", now="2026-12-01T00:00:00+00:00", hours=document)

    yield set_hours
    set_hours(None)


@pytest.fixture
def worker_clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The time the worker checks support hours against: the test sets ``clock[0]``."""
    from flexcord.jobs import support_jobs

    clock = [datetime(2026, 12, 2, 12, 0, tzinfo=UTC)]
    monkeypatch.setattr(support_jobs, "wall_clock", lambda: clock[0])
    return clock


def chat_messages(discord: DiscordEmulator, user: str) -> list[dict[str, Any]]:
    return discord.messages(discord.dm_channel_id(user))


def button_ids(message: dict[str, Any]) -> list[str]:
    return [b["custom_id"] for row in message.get("components", []) for b in row["components"]]


def open_chat(discord: DiscordEmulator, user: str, question: str | None = None) -> None:
    opened = discord.run_command(user, "helpme", {"question": question} if question else None)
    assert final_reply(discord, opened.token)["content"].startswith("✅")


def hand_off(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator, user: str
) -> dict[str, Any]:
    """Talk to a human; returns the agent's task once Flex has it."""
    welcome = chat_messages(discord, user)[0]
    told = final_reply(discord, discord.click(user, welcome, "chat:human").token)["content"]
    assert told.startswith("📨 Case #"), told
    session = session_item(stack, discord.user_id(user))
    assert session is not None
    [task] = wait_until(
        lambda: [
            t
            for t in twilio.tasks()
            if t["attributes"].get("conversation_sid") == session["conversation_sid"]
        ]
    )
    return task


def closing_notice(discord: DiscordEmulator, user: str) -> dict[str, Any]:
    return wait_until(
        lambda: next(
            (
                m
                for m in chat_messages(discord, user)
                if any(i.startswith("chat:rate:") for i in button_ids(m))
            ),
            None,
        )
    )


def forge_press(discord: DiscordEmulator, pressed: Any, custom_id: str, bump: int) -> None:
    """A tampered client: a genuine signed press by the same member, with another custom_id."""
    forged = json.loads(json.dumps(pressed.interaction))
    forged["id"] = str(int(forged["id"]) + bump)
    forged["data"]["custom_id"] = custom_id
    body = json.dumps(forged).encode()
    assert discord.send_raw(body, discord.sign(body)).status_code == 200


def test_a_member_rates_comments_and_gets_the_transcript_and_others_cannot(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator, recorded_metrics: list[str]
) -> None:
    discord.add_user("rita")
    # An earlier case of Rita's, which the agent's task should show.
    opened = discord.run_command("rita", "bug")
    assert opened.modal is not None
    final_reply(discord, discord.submit_modal("rita", opened.modal, BUG_VALUES).token)

    open_chat(discord, "rita", "my pokéstop is missing")
    task = hand_off(stack, discord, twilio, "rita")
    number = int(task["attributes"]["case_number"])
    [earlier] = task["attributes"]["recent_cases"]
    assert earlier["kind"] == "bug"
    assert earlier["title"] == BUG_VALUES["title"]
    assert earlier["status"] == "open"
    assert earlier["number"] != number
    assert (
        f"#{earlier['number']} Bug report: {BUG_VALUES['title']}"
        in task["attributes"]["recent_cases_summary"]
    )

    twilio.accept(task["sid"], agent="alex", friendly_name="Alex")
    wait_until(lambda: "🎧 **Alex** joined the chat." in dm_texts(discord, "rita"))
    twilio.agent_say(task["sid"], "Which pokéstop?")
    wait_until(lambda: "**Alex:** Which pokéstop?" in dm_texts(discord, "rita"))
    final_reply(
        discord, discord.run_command("rita", "reply", {"message": "The one by the lake"}, channel="dm").token
    )
    twilio.complete(task["sid"])

    notice = closing_notice(discord, "rita")
    assert notice["content"].startswith("✅ The chat has ended.")
    guild = discord.guild_id
    assert button_ids(notice) == [
        *(f"chat:rate:{guild}:{number}:{stars}" for stars in range(1, 6)),
        f"chat:comment:{guild}:{number}",
        f"chat:transcript:{guild}:{number}",
    ]
    wait_until(lambda: session_item(stack, discord.user_id("rita")) is None)

    # Rate 4, then change to 2: the last press counts, each is in the history.
    pressed = discord.click("rita", notice, f"chat:rate:{guild}:{number}:4")
    assert pressed.response == {"type": 6}
    wait_until(lambda: stored_case(stack, number).get("rating") == 4)
    shown = wait_until(
        lambda: next(
            (m for m in chat_messages(discord, "rita") if m["id"] == notice["id"] and m.get("embeds")), None
        )
    )
    assert "(4/5)" in shown["embeds"][0]["description"]
    styles = {b["custom_id"]: b["style"] for row in shown["components"] for b in row["components"]}
    assert styles[f"chat:rate:{guild}:{number}:4"] == 3
    again = discord.click("rita", shown, f"chat:rate:{guild}:{number}:2")
    assert again.response == {"type": 6}
    wait_until(lambda: stored_case(stack, number).get("rating") == 2)
    wait_until(
        lambda: (
            "(2/5)"
            in next(m for m in chat_messages(discord, "rita") if m["id"] == notice["id"])["embeds"][0][
                "description"
            ]
        )
    )
    rated = [e["note"] for e in stored_case(stack, number)["history"] if e["action"] == "rated"]
    assert rated == ["4/5", "2/5"]
    assert recorded_metrics.count("ChatRating") == 2

    # A comment, through the form.
    form = discord.click("rita", notice, f"chat:comment:{guild}:{number}")
    assert form.modal is not None
    saved = discord.submit_modal("rita", form.modal, {"comment": "Quick and kind, thanks!"}, channel="dm")
    assert (
        final_reply(discord, saved.token)["content"] == f"Thanks! Your comment is saved with case #{number}."
    )
    case = stored_case(stack, number)
    assert case["rating_comment"] == "Quick and kind, thanks!"
    assert case["rating"] == 2

    # The transcript, read back from Twilio after the chat has closed.
    sent = discord.click("rita", notice, f"chat:transcript:{guild}:{number}")
    reply = final_reply(discord, sent.token)
    assert reply["flags"] & 64
    [attachment] = reply["attachments"]
    assert attachment["filename"] == f"support-case-{number}-transcript.txt"
    text = requests.get(attachment["url"], timeout=5).content.decode()
    lines = text.splitlines()
    assert lines[1] == "Member: Rita"
    assert any(line.endswith("UTC] Rita: my pokéstop is missing") for line in lines)
    assert any("UTC] Assistant: These articles might help:" in line for line in lines)
    assert any(line.endswith("UTC] Alex (agent): Which pokéstop?") for line in lines)
    assert any(line.endswith("UTC] Rita: The one by the lake") for line in lines)
    assert "agent_alex" not in text  # agents by name, never their identity
    order = [i for i, line in enumerate(lines) if "Which pokéstop?" in line or "by the lake" in line]
    assert len(order) == 2
    assert order == sorted(order)


def test_a_crafted_custom_id_rates_nothing_and_reads_nothing(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    discord.add_user("sara")
    discord.add_user("mallory")
    open_chat(discord, "sara", "hello")
    task = hand_off(stack, discord, twilio, "sara")
    number = int(task["attributes"]["case_number"])
    twilio.accept(task["sid"], agent="alex", friendly_name="Alex")
    twilio.agent_say(task["sid"], "A secret only Sara should see")
    wait_until(lambda: "**Alex:** A secret only Sara should see" in dm_texts(discord, "sara"))
    ended = discord.run_command("sara", "endchat", channel="dm")
    assert final_reply(discord, ended.token)["content"] == "Your support chat is closed."
    notice = closing_notice(discord, "sara")
    assert "You ended the chat" in notice["content"]
    guild = discord.guild_id

    # Mallory presses a button of her own chat, with Sara's case in the custom_id.
    open_chat(discord, "mallory")
    mallory_welcome = chat_messages(discord, "mallory")[0]
    pressed = discord.click("mallory", mallory_welcome, "chat:end")
    sara_sid = stored_case(stack, number)["conversation_sid"]

    def transcript_reads() -> int:
        return len(
            [
                r
                for r in twilio.requests
                if r.method == "GET" and r.product_path.endswith(f"{sara_sid}/Messages")
            ]
        )

    reads_before = transcript_reads()
    forge_press(discord, pressed, f"chat:rate:{guild}:{number}:1", 1)
    forge_press(discord, pressed, f"chat:transcript:{guild}:{number}", 2)
    forge_press(discord, pressed, f"chat:rate:{guild}:{number}:9", 3)  # not a rating at all
    refusal = "Only the member who had this chat can rate it or get its transcript."
    # The rating is refused in a follow-up (the message pressed is left as it is); the
    # transcript request is answered with the same refusal.
    wait_until(lambda: [f["content"] for f in discord.followups(pressed.token)] == [refusal])
    wait_until(lambda: (discord.original_response(pressed.token) or {}).get("content") == refusal)
    assert not (discord.original_response(pressed.token) or {}).get("attachments")
    case = stored_case(stack, number)
    assert case.get("rating") is None
    assert not [e for e in case["history"] if e["action"] == "rated"]
    assert transcript_reads() == reads_before  # nothing of Sara's chat was read
    assert not any("Sara should see" in t for t in dm_texts(discord, "mallory"))


def test_the_transcript_follows_the_pages_of_a_long_conversation(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    discord.add_user("tom")
    open_chat(discord, "tom")
    task = hand_off(stack, discord, twilio, "tom")
    number = int(task["attributes"]["case_number"])
    twilio.accept(task["sid"], agent="pat", friendly_name="Pat")
    wait_until(lambda: "🎧 **Pat** joined the chat." in dm_texts(discord, "tom"))
    sid = str(task["attributes"]["conversation_sid"])
    messages = twilio.twilio_client().conversations.v1.conversations(sid).messages
    for index in range(130):  # more than the API's largest page (100)
        messages.create(author="agent_pat", body=f"line {index:03d}")
    twilio.complete(task["sid"])
    notice = closing_notice(discord, "tom")

    sent = discord.click("tom", notice, f"chat:transcript:{discord.guild_id}:{number}")
    [attachment] = final_reply(discord, sent.token)["attachments"]
    text = requests.get(attachment["url"], timeout=5).content.decode()
    said = [line.split("] ", 1)[1] for line in text.splitlines() if "Pat (agent): line" in line]
    assert said == [f"Pat (agent): line {index:03d}" for index in range(130)]
    pages = [
        r.query
        for r in twilio.requests
        if r.method == "GET"
        and r.product_path == f"/v1/Conversations/{sid}/Messages"
        and r.query.get("Order") == "asc"
    ]
    assert [p.get("Page", "0") for p in pages] == ["0", "1"]
    assert {p["PageSize"] for p in pages} == {"100"}


def paris_weekdays_9_to_17(*holidays: date) -> dict[str, Any]:
    from flexcord.servers.hours import parse_support_hours

    return parse_support_hours(
        time_zone="Europe/Paris",
        days=["mon", "tue", "wed", "thu", "fri"],
        opens="09:00",
        closes="17:00",
        holidays=",".join(d.isoformat() for d in holidays),
        after_hours_message="Our team is offline.",
    ).to_document()


def test_outside_hours_talk_to_a_human_offers_to_leave_a_message(
    stack: LocalStack,
    discord: DiscordEmulator,
    twilio: TwilioEmulator,
    hours: Any,
    worker_clock: list[datetime],
) -> None:
    hours(paris_weekdays_9_to_17())
    worker_clock[0] = datetime(2026, 12, 2, 19, 30, tzinfo=UTC)  # Wednesday 20:30 in Paris
    discord.add_user("una")
    open_chat(discord, "una")
    una = discord.user_id("una")
    welcome = chat_messages(discord, "una")[0]
    told = final_reply(discord, discord.click("una", welcome, "chat:human").token)
    assert told["content"].startswith(
        "🌙 Our team is offline. They're back Thursday 3 December at 09:00 (Europe/Paris)"
    )
    assert button_ids(told) == ["chat:leave"]
    session = session_item(stack, una)
    assert session is not None
    assert session["mode"] == "assistant"
    assert not session.get("case_number")
    assert [
        t for t in twilio.tasks() if t["attributes"].get("conversation_sid") == session["conversation_sid"]
    ] == []

    # The assistant keeps answering.
    sent = discord.run_command("una", "reply", {"message": "my raid pass disappeared"}, channel="dm")
    assert final_reply(discord, sent.token)["content"] == "✓ Sent."
    wait_until(lambda: any(m.get("embeds") for m in chat_messages(discord, "una")))

    # Leave a message: one case, even when the same submission arrives twice.
    form = discord.click("una", told, "chat:leave")
    assert form.modal is not None
    left = discord.submit_modal(
        "una", form.modal, {"message": "My raid pass vanished after the update."}, channel="dm"
    )
    reply = final_reply(discord, left.token)["content"]
    assert reply.startswith("📝 Thanks! Your message is case #")
    number = int(reply.split("case #")[1].split(".")[0])
    body = json.dumps(left.interaction).encode()
    assert discord.send_raw(body, discord.sign(body)).status_code == 200
    time.sleep(2.5)
    case = stored_case(stack, number)
    assert case["kind"] == "support"
    assert case["status"] == "open"
    assert case["title"] == "Message left after hours"
    assert una in json.dumps(case["reporter"], default=str)
    assert "My raid pass vanished after the update." in json.dumps(case, default=str)
    left_cases = [
        item
        for item in _all_cases(stack)
        if item.get("title") == "Message left after hours"
        and "vanished after the update" in json.dumps(item, default=str)
    ]
    assert len(left_cases) == 1

    # Staff find it among the server's open support cases (what /cases lists).
    from flexcord.cases import CaseKind
    from flexcord.cases.service import CaseFilter
    from flexcord.wiring import case_service

    waiting = case_service().open_cases(discord.guild_id, CaseFilter(kind=CaseKind.SUPPORT))
    assert number in [c.number for c in waiting]

    # Inside hours (Thursday 10:00 in Paris), the same button hands off.
    worker_clock[0] = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    handed = final_reply(discord, discord.click("una", welcome, "chat:human").token)["content"]
    assert handed.startswith("📨 Case #")


def _all_cases(stack: LocalStack) -> list[dict[str, Any]]:
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    assert stack.resources is not None
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=stack.resources.table_name)
    items = [item for page in pages for item in page["Items"]]
    return [
        {key: TypeDeserializer().deserialize(value) for key, value in item.items()}
        for item in items
        if item["pk"]["S"].startswith("CASE#") and item["sk"]["S"] == "CASE"
    ]


@pytest.mark.parametrize(
    ("now", "holiday", "is_open"),
    [
        # A holiday: Thursday 24 December 2026, 10:00 in Paris, is closed.
        (datetime(2026, 12, 24, 9, 0, tzinfo=UTC), date(2026, 12, 24), False),
        # Across the spring-forward change (Sunday 29 March 2026): 07:30 UTC on the Monday after
        # is 09:30 in Paris (CEST, open); the same UTC time a week before is 08:30 (CET, closed).
        (datetime(2026, 3, 30, 7, 30, tzinfo=UTC), None, True),
        (datetime(2026, 3, 23, 7, 30, tzinfo=UTC), None, False),
    ],
)
def test_support_hours_follow_holidays_and_daylight_saving(  # noqa: PLR0917 - fixtures and parameters
    stack: LocalStack,
    discord: DiscordEmulator,
    twilio: TwilioEmulator,
    hours: Any,
    worker_clock: list[datetime],
    now: datetime,
    holiday: date | None,
    is_open: bool,
) -> None:
    hours(paris_weekdays_9_to_17(*([holiday] if holiday else [])))
    worker_clock[0] = now
    user = f"dst{int(now.timestamp())}"
    discord.add_user(user)
    open_chat(discord, user)
    welcome = chat_messages(discord, user)[0]
    told = final_reply(discord, discord.click(user, welcome, "chat:human").token)["content"]
    assert told.startswith("📨 Case #" if is_open else "🌙 Our team is offline."), told
