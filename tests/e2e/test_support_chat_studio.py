"""The Studio path, through the shipped flow: scripts/setup_twilio.py uploads studio/flexcord-flow.json
to the Twilio emulator, which runs it for each member message: its HTTP Request widget calls
ChatbotFunction, and its Send to Flex widget creates the agent's task when the assistant hands off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from devstack.twilio_emulator import TwilioEmulator
from scripts.setup_twilio import set_up
from tests.e2e.conftest import final_reply, wait_until


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(studio=True) as running:
        yield running


def chat(discord: DiscordEmulator, user: str) -> list[dict[str, Any]]:
    return discord.messages(discord.dm_channel_id(user))


def conversation_of(twilio: TwilioEmulator, helpme: Any) -> str:
    """The conversation a /helpme opened (named after its interaction: Twilio gets no Discord
    user ids)."""
    return next(
        c["sid"] for c in twilio.conversations() if c["unique_name"] == f"discord-{helpme.interaction['id']}"
    )


def tasks_for(twilio: TwilioEmulator, conversation_sid: str) -> list[dict[str, Any]]:
    return [t for t in twilio.tasks() if conversation_sid in str(t["attributes"])]


def test_the_setup_command_changes_nothing_the_second_time(stack: LocalStack, twilio: TwilioEmulator) -> None:
    first = stack.studio_setup
    assert first.action == "created"
    assert first.flow_sid.startswith("FW")
    writes = len(
        [
            r
            for r in twilio.requests
            if r.product == "studio" and "/Validate" not in r.product_path and r.method == "POST"
        ]
    )
    assert stack.gateway is not None
    again = set_up(
        twilio.twilio_client(),
        chatbot_url=f"{stack.gateway.base_url}/twilio/chatbot",
        workflow_sid=twilio.workflow_sid,
        chat_channel_sid=twilio.chat_task_channel_sid,
        flow_name="Flexcord assistant",
    )
    assert (again.action, again.flow_sid, again.revision) == ("unchanged", first.flow_sid, first.revision)
    assert (
        len(
            [
                r
                for r in twilio.requests
                if r.product == "studio" and "/Validate" not in r.product_path and r.method == "POST"
            ]
        )
        == writes
    )
    assert again.conversations_service_sid == twilio.chat_service_sid


def test_a_question_is_answered_through_the_flow_and_this_helped_is_counted(
    discord: DiscordEmulator, twilio: TwilioEmulator, recorded_metrics: list[str]
) -> None:
    helpme = discord.run_command("alice", "helpme", {"question": "my raid pass disappeared"})
    final_reply(discord, helpme.token)
    answer = wait_until(lambda: next((m for m in chat(discord, "alice") if m.get("embeds")), None))
    assert any("raid" in field["name"].lower() for field in answer["embeds"][0]["fields"])
    sid = conversation_of(twilio, helpme)
    [execution] = wait_until(lambda: [e for e in twilio.studio_executions if e.conversation_sid == sid])
    assert [step.widget for step in execution.steps][:3] == ["Trigger", "ask_assistant", "route"]
    assert tasks_for(twilio, sid) == []  # answered: nothing for Flex

    final_reply(discord, discord.click("alice", answer, "assistant:helped").token)
    wait_until(lambda: "AssistantDeflected" in recorded_metrics)


def test_two_misses_go_to_flex_through_the_flow_with_the_case(
    discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    discord.add_user("kim")
    helpme = discord.run_command("kim", "helpme", {"question": "what is the capital of peru"})
    final_reply(discord, helpme.token)
    wait_until(lambda: any("say it another way" in m["content"] for m in chat(discord, "kim")))
    sent = discord.run_command("kim", "reply", {"message": "who won the football yesterday"}, channel="dm")
    final_reply(discord, sent.token)
    sid = conversation_of(twilio, helpme)
    [task] = wait_until(lambda: tasks_for(twilio, sid))
    notice = wait_until(
        lambda: next(
            (m["content"] for m in chat(discord, "kim") if m["content"].startswith("📨 Case #")), None
        )
    )
    number = notice.split("#")[1].split(" ")[0]
    assert task["attributes"]["case_number"] == number
    assert task["attributes"]["discord_display_name"] == "Kim"
    assert task["attributes"]["conversation_sid"] == sid
    # Flex got the chat from the flow's Send to Flex, not from Flexcord's own API call.
    assert not [r for r in twilio.requests if r.product == "flex-api" and r.method == "POST"]


def test_talk_to_a_human_goes_through_the_flow_and_studio_stops_with_the_agent(
    discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    discord.add_user("lee")
    helpme = discord.run_command("lee", "helpme")
    final_reply(discord, helpme.token)
    welcome = chat(discord, "lee")[0]
    told = final_reply(discord, discord.click("lee", welcome, "chat:human").token)["content"]
    number = told.split("#")[1].split(" ")[0]
    sid = conversation_of(twilio, helpme)
    [task] = wait_until(lambda: tasks_for(twilio, sid))
    assert task["attributes"]["case_number"] == number
    twilio.accept(task["sid"], agent="sam", friendly_name="Sam")
    wait_until(lambda: any(m["content"] == "🎧 **Sam** joined the chat." for m in chat(discord, "lee")))
    runs = len([e for e in twilio.studio_executions if e.conversation_sid == sid])
    final_reply(discord, discord.run_command("lee", "reply", {"message": "hi Sam"}, channel="dm").token)
    time.sleep(1.0)
    assert len([e for e in twilio.studio_executions if e.conversation_sid == sid]) == runs  # not re-run
