"""Hostile members and agents, end to end: mentions never ping, a button replayed by another member
acts only for that member, and someone outside every allowed server gets nothing from the bot's
DMs (issue 7's defect 11 and hostile-input suite)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from devstack.twilio_emulator import TwilioEmulator
from tests.e2e.conftest import final_reply, session_item, wait_until


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


def queue_is_empty(stack: LocalStack) -> bool:
    assert stack.resources is not None
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.resources.job_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(value == "0" for value in attributes.values())


def test_mentions_written_by_members_and_agents_never_ping(
    discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    discord.add_user("rae")
    final_reply(discord, discord.run_command("rae", "helpme").token)
    welcome = discord.messages(discord.dm_channel_id("rae"))[0]
    final_reply(discord, discord.click("rae", welcome, "chat:human").token)
    [task] = wait_until(
        lambda: [t for t in twilio.tasks() if t["attributes"].get("discord_display_name") == "Rae"]
    )
    twilio.accept(task["sid"], agent="agent_rae", friendly_name="@everyone")
    staff = discord.staff_role_id
    bob = discord.user_id("bob")
    pings = f"@everyone @here <@&{staff}> <@{bob}> <@!{bob}>"
    sent = discord.run_command("rae", "reply", {"message": f"member says {pings}"}, channel="dm")
    final_reply(discord, sent.token)
    twilio.agent_say(task["sid"], f"agent says {pings}")
    wait_until(
        lambda: any("agent says" in m["content"] for m in discord.messages(discord.dm_channel_id("rae")))
    )
    relayed = [m for m in discord.messages(discord.dm_channel_id("rae")) if "@everyone" in m["content"]]
    assert len(relayed) >= 3  # the agent's name, the member's echo, the agent's message
    for message in relayed:
        assert message["mention_everyone"] is False
        assert message["mentions"] == []
        assert message["mention_roles"] == []
    assert all(write.allowed_mentions_sent for write in discord.message_writes)


def test_a_button_replayed_by_another_member_acts_only_for_them(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    """The chat buttons carry no owner: whoever presses acts on their own chat, never another's,
    whatever ``custom_id`` a tampered client sends."""
    discord.add_user("sam")
    discord.add_user("tia")
    final_reply(discord, discord.run_command("sam", "helpme").token)
    sam_session = session_item(stack, discord.user_id("sam"))
    assert sam_session is not None
    final_reply(discord, discord.run_command("tia", "helpme").token)
    final_reply(discord, discord.run_command("tia", "endchat", channel="dm").token)
    tia_welcome = discord.messages(discord.dm_channel_id("tia"))[0]
    # Tia's stale buttons, pressed after her chat ended, while Sam's is open.
    pressed = discord.click("tia", tia_welcome, "chat:human")
    assert (
        final_reply(discord, pressed.token)["content"]
        == "You have no open support chat. Use `/helpme` to start one."
    )
    # A tampered client: the same signed press with another button's custom_id, and a new id.
    forged = json.loads(json.dumps(pressed.interaction))
    for custom_id, number in (("chat:end:confirm", 1), ("assistant:helped", 2), ("chat:human", 3)):
        forged["id"] = str(int(forged["id"]) + number)
        forged["data"]["custom_id"] = custom_id
        body = json.dumps(forged).encode()
        assert discord.send_raw(body, discord.sign(body)).status_code == 200
    wait_until(lambda: queue_is_empty(stack))  # the worker has run whatever was queued
    assert session_item(stack, discord.user_id("sam")) == sam_session  # untouched
    sams = sam_session["conversation_sid"]
    assert [t for t in twilio.tasks() if t["attributes"].get("conversation_sid") == sams] == []
    assert twilio.conversation(sam_session["conversation_sid"])["state"] == "active"


def test_someone_in_no_allowed_server_is_refused_in_dms_and_asked_once(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    discord.add_user("uma", in_guild=False)
    conversations_before = len(twilio.conversations())
    for _ in range(2):
        answer = final_reply(discord, discord.run_command("uma", "helpme", channel="dm").token)
        assert answer["content"].startswith("Flexcord helps members of this community's Discord server.")
    assert len(twilio.conversations()) == conversations_before
    uma = discord.user_id("uma")
    lookups = [r for r in discord.requests if r.method == "GET" and r.path.endswith(f"/members/{uma}")]
    assert len(lookups) == 1  # remembered after the first answer
    # A member of the server is served from the DMs as usual.
    discord.add_user("val")
    served = final_reply(discord, discord.run_command("val", "helpme", channel="dm").token)
    assert served["content"].startswith("✅ Your support chat is open")


def test_a_flood_of_helpme_is_refused_politely_past_the_limit(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    """The template's default: 20 queue-bound commands a member a minute. The windows are whole
    minutes, so 41 quick commands span at most two: at least 21 fall in one, and one is refused."""
    discord.add_user("wes")
    answers = [discord.run_command("wes", "helpme", channel="dm") for _ in range(41)]
    refused = [a for a in answers if a.response and a.response.get("type") == 4]
    assert 1 <= len(refused) <= 41 - 20
    for answer in refused:
        assert answer.response["data"]["flags"] & 64  # only wes sees it
        assert "taking a short breather" in answer.response["data"]["content"]
