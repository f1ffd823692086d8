"""The Studio path of the support chat: with a flow configured, the chat's member messages run the
conversation's Studio webhook, and "Talk to a human" asks the flow to send the chat to Flex
instead of Flexcord handing off itself. (The flow's own logic is the knowledge-base issue's.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from devstack.stack import LocalStack
from tests.e2e.conftest import final_reply

FLOW_SID = "FW" + "a" * 32


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(studio_flow_sid=FLOW_SID) as running:
        yield running


def test_member_messages_run_the_flow_and_a_handoff_is_left_to_it(stack: LocalStack) -> None:
    discord, twilio = stack.discord, stack.twilio
    assert discord is not None
    assert twilio is not None
    opened = discord.run_command("alice", "helpme", {"question": "where is my raid pass?"})
    final_reply(discord, opened.token)
    conversation = discord.wait_for(lambda: next(iter(twilio.conversations()), None))
    sid = conversation["sid"]
    targets = sorted(w["target"] for w in twilio_webhooks(stack, sid))
    assert targets == ["studio", "webhook"]

    discord.wait_for(
        lambda: [t for t in twilio.studio_triggers if t.message["body"] == "where is my raid pass?"]
    )
    assert all(t.flow_sid == FLOW_SID and t.conversation_sid == sid for t in twilio.studio_triggers)

    welcome = discord.messages(discord.dm_channel_id("alice"))[0]
    told = final_reply(discord, discord.click("alice", welcome, "chat:human").token)["content"]
    number = int(told.split("Case #")[1].split(" ")[0])
    attributes = json.loads(twilio.conversation(sid)["attributes"])
    assert attributes["handoff"] is True
    assert attributes["case_number"] == number
    assert attributes["discord_display_name"] == "Alice"
    discord.wait_for(lambda: [t for t in twilio.studio_triggers if t.message["author"] == "flexcord"])
    time.sleep(0.5)
    # Flexcord did not create a Flex interaction itself: the flow's "Send to Flex" will.
    assert not [r for r in twilio.requests if r.product == "flex-api"]


def twilio_webhooks(stack: LocalStack, conversation_sid: str) -> list[dict[str, str]]:
    assert stack.twilio is not None
    client = stack.twilio.twilio_client()
    return [
        {"target": w.target} for w in client.conversations.v1.conversations(conversation_sid).webhooks.list()
    ]
