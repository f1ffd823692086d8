"""The knowledge-base assistant on the direct path (no Studio): the worker answers from the shipped
help centre in the member's chat, and hands the chat to Flex when it cannot help."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from tests.e2e.conftest import MORE_THAN_ONE_DELIVERY_TRIES, final_reply, refusing_posts, wait_until


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


def chat(discord: DiscordEmulator, user: str) -> list[dict[str, Any]]:
    return discord.messages(discord.dm_channel_id(user))


def test_a_question_the_help_centre_answers_gets_articles_and_this_helped_is_counted(
    stack: LocalStack, recorded_metrics: list[str]
) -> None:
    discord, twilio = stack.discord, stack.twilio
    assert discord is not None
    assert twilio is not None
    final_reply(
        discord, discord.run_command("alice", "helpme", {"question": "my raid pass disappeared"}).token
    )
    answer = wait_until(lambda: next((m for m in chat(discord, "alice") if m.get("embeds")), None))
    assert answer["content"] == "These articles might help:"
    [embed] = answer["embeds"]
    titles = [field["name"] for field in embed["fields"]]
    assert any("raid" in title.lower() for title in titles), titles
    assert all("https://help.example-game.com/articles/" in field["value"] for field in embed["fields"])
    buttons = [b["custom_id"] for b in answer["components"][0]["components"]]
    assert buttons == ["assistant:helped", "chat:human"]

    helped = discord.click("alice", answer, "assistant:helped")
    assert final_reply(discord, helped.token)["content"].startswith("Glad that helped!")
    conversation = twilio.conversations()[0]["sid"]
    notes = [m for m in twilio.messages(conversation) if m["author"] == "flexcord"]
    assert notes[0]["body"].startswith("These articles might help:")  # the agent's transcript
    assert notes[-1]["body"] == "The member said the suggested articles helped."
    wait_until(lambda: "AssistantDeflected" in recorded_metrics)


def one_miss(discord: DiscordEmulator, user: str) -> None:
    """A new member opens a chat with a question the assistant cannot answer."""
    discord.add_user(user)
    question = {"question": "what is the capital of peru"}
    final_reply(discord, discord.run_command(user, "helpme", question).token)
    wait_until(lambda: any("say it another way" in m["content"] for m in chat(discord, user)))


def test_two_questions_it_cannot_answer_send_the_chat_to_flex(stack: LocalStack) -> None:
    discord, twilio = stack.discord, stack.twilio
    assert discord is not None
    assert twilio is not None
    one_miss(discord, "kim")
    tasks_before = len(twilio.tasks())
    sent = discord.run_command("kim", "reply", {"message": "who won the football yesterday"}, channel="dm")
    final_reply(discord, sent.token)
    wait_until(lambda: any(m["content"].startswith("📨 Case #") for m in chat(discord, "kim")))
    [task] = wait_until(lambda: twilio.tasks()[tasks_before:])
    assert task["attributes"]["discord_display_name"] == "Kim"
    assert isinstance(task["attributes"]["case_number"], int)


def test_asking_for_a_human_in_words_hands_off_too(stack: LocalStack) -> None:
    discord, twilio = stack.discord, stack.twilio
    assert discord is not None
    assert twilio is not None
    discord.add_user("lee")
    tasks_before = len(twilio.tasks())
    final_reply(
        discord, discord.run_command("lee", "helpme", {"question": "can I talk to a real person"}).token
    )
    wait_until(lambda: twilio.tasks()[tasks_before:])
    assert any(m["content"] == "Sure, let me get you a human." for m in chat(discord, "lee"))


def test_a_hand_off_whose_notice_failed_is_finished_by_the_retry(stack: LocalStack) -> None:
    """The second miss opened the case and reached Flex, then Discord refused the "Case #"
    notice once: the retry found the chat queued, skipped the assistant, and never told the
    member. It must finish what the first attempt began: one notice, one task."""
    discord, twilio = stack.discord, stack.twilio
    assert discord is not None
    assert twilio is not None
    one_miss(discord, "max")
    tasks_before = len(twilio.tasks())
    with refusing_posts(discord, b"Case #") as refused:
        question = {"message": "who won the football yesterday"}
        final_reply(discord, discord.run_command("max", "reply", question, channel="dm").token)
        wait_until(lambda: any(m["content"].startswith("📨 Case #") for m in chat(discord, "max")))
    assert len(refused) == MORE_THAN_ONE_DELIVERY_TRIES
    assert len([m for m in chat(discord, "max") if m["content"].startswith("📨 Case #")]) == 1
    assert len(twilio.tasks()) == tasks_before + 1
