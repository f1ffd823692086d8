"""The support chat end to end: a member on Discord (emulator) reaches an agent in Flex (Twilio
emulator) through the real functions, with every Twilio webhook delivered twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from twilio.request_validator import RequestValidator

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from devstack.twilio_emulator import TwilioEmulator
from tests.e2e.conftest import dm_texts, final_reply, session_item, stored_case, wait_until
from tests.support.spec import spec_operation_exists, twilio_operation_exists

MEDIA_PRODUCTS = {"mcs", "media"}  # the Media Content Service is not in twilio-oai's documents


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(duplicate_webhooks=True) as running:
        yield running


def open_chat(discord: DiscordEmulator, user: str, question: str | None = None) -> dict[str, Any]:
    result = discord.run_command(user, "helpme", {"question": question} if question else None)
    assert result.response == {"type": 5, "data": {"flags": 64}}, result.error
    return final_reply(discord, result.token)


def test_a_member_reaches_an_agent_and_back(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    alice = discord.user_id("alice")
    reply = open_chat(discord, "alice", "my pokéstop is missing")
    dm = discord.dm_channel_id("alice")
    assert f"<#{dm}>" in reply["content"]
    welcome = discord.messages(dm)[0]
    assert [b["custom_id"] for b in welcome["components"][0]["components"]] == [
        "chat:reply",
        "chat:human",
        "chat:end",
    ]
    wait_until(lambda: "💬 **Alice:** my pokéstop is missing" in dm_texts(discord, "alice"))

    session = session_item(stack, alice)
    assert session is not None
    assert session["mode"] == "assistant"
    conversation_sid = session["conversation_sid"]
    [member] = [p for p in twilio.participants(conversation_sid) if p["identity"].startswith("member_")]
    # No Discord name or id in the Twilio identity.
    assert "alice" not in member["identity"].lower()
    assert alice not in member["identity"]
    # The question, then the assistant's answer (recorded for the agent, without the webhook).
    bodies = wait_until(
        lambda: (
            [m["body"] for m in twilio.messages(conversation_sid)]
            if len(twilio.messages(conversation_sid)) >= 2
            else None
        )
    )
    assert bodies[0] == "my pokéstop is missing"
    assert bodies[1].startswith("These articles might help:")

    # Talk to a human: a case, the member told its number, a task for Flex.
    human = discord.click("alice", welcome, "chat:human")
    told = final_reply(discord, human.token)["content"]
    number = int(told.split("Case #")[1].split(" ")[0])
    assert told == f"📨 Case #{number} opened, connecting you to an agent."
    [task] = wait_until(
        lambda: [t for t in twilio.tasks() if t["attributes"].get("conversation_sid") == conversation_sid]
    )
    assert task["attributes"]["case_number"] == number
    assert task["attributes"]["discord_display_name"] == "Alice"
    assert task["attributes"]["locale"] == "en-US"
    assert session_item(stack, alice)["mode"] == "queued"  # type: ignore[index]

    twilio.accept(task["sid"], agent="alex", friendly_name="Alex")
    wait_until(lambda: "🎧 **Alex** joined the chat." in dm_texts(discord, "alice"))
    assert stored_case(stack, number)["status"] == "in_progress"

    # Five messages each way, interleaved; the member uses /reply and the Reply form.
    for index in range(5):
        twilio.agent_say(task["sid"], f"agent message {index}")
        if index % 2:
            form = discord.click("alice", welcome, "chat:reply")
            assert form.modal is not None
            sent = discord.submit_modal(
                "alice", form.modal, {"message": f"member message {index}"}, channel="dm"
            )
        else:
            sent = discord.run_command("alice", "reply", {"message": f"member message {index}"}, channel="dm")
        assert final_reply(discord, sent.token)["content"] == "✓ Sent."
    wait_until(
        lambda: sum(text.startswith("**Alex:** agent message") for text in dm_texts(discord, "alice")) == 5
    )
    twilio.wait_for_webhooks()
    time.sleep(1.0)  # any duplicate would have been relayed by now

    texts = dm_texts(discord, "alice")
    agent_lines = [t for t in texts if t.startswith("**Alex:**")]
    assert agent_lines == [f"**Alex:** agent message {i}" for i in range(5)]
    member_lines = [t for t in texts if t.startswith("💬 **Alice:** member")]
    assert member_lines == [f"💬 **Alice:** member message {i}" for i in range(5)]
    in_twilio = [m["body"] for m in twilio.messages(conversation_sid) if m["author"] == member["identity"]]
    assert in_twilio == ["my pokéstop is missing", *[f"member message {i}" for i in range(5)]]
    # Every webhook really was delivered twice.
    deliveries = [d for d in twilio.webhook_deliveries if d.conversation_sid == conversation_sid]
    # The question (sent with the webhook header), the agent joining and the agent's five messages;
    # once an agent has the chat, member messages are added without the header and fire nothing.
    assert sum(d.duplicate for d in deliveries) >= 7
    assert not [d for d in deliveries if d.params.get("Body", "").startswith("member message")]
    tokens = [d.idempotency_token for d in deliveries]
    assert all(tokens.count(token) >= 2 for token in tokens)

    # The agent closes the task: the member is told, the case resolved, the session ended.
    twilio.complete(task["sid"])
    wait_until(lambda: any(t.startswith("✅ The chat has ended.") for t in dm_texts(discord, "alice")))
    case = stored_case(stack, number)
    assert case["kind"] == "support"
    assert case["conversation_sid"] == conversation_sid
    assert case["status"] == "resolved"
    assert case["first_response_at"]
    assert case["resolved_at"]
    changes = [(e["from_status"], e["to_status"]) for e in case["history"] if e["action"] == "status_changed"]
    assert changes == [("open", "in_progress"), ("in_progress", "resolved")]
    # The session ends after the member is told (the effect first, then the state).
    wait_until(lambda: session_item(stack, alice) is None)

    assert_requests_follow_the_specs(discord, twilio)


def test_reply_without_a_session_is_told_to_use_helpme(discord: DiscordEmulator) -> None:
    discord.add_user("dave")
    sent = discord.run_command("dave", "reply", {"message": "hello?"})
    reply = final_reply(discord, sent.token)
    assert reply["content"] == "You have no open support chat. Use `/helpme` to start one."
    assert reply["flags"] & 64


def test_two_helpme_at_once_open_one_chat(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    discord.add_user("erin")
    first = discord.run_command("erin", "helpme")
    second = discord.run_command("erin", "helpme")
    answers = sorted(final_reply(discord, r.token)["content"] for r in (first, second))
    assert answers[0].startswith("Your support chat is already open")
    assert answers[1].startswith("✅ Your support chat is open")
    session = session_item(stack, discord.user_id("erin"))
    assert session is not None
    # Conversations are named after the /helpme that opened them (Twilio gets no Discord ids).
    names = {f"discord-{r.interaction['id']}" for r in (first, second)}
    open_for_erin = [
        c["sid"] for c in twilio.conversations() if c["unique_name"] in names and c["state"] != "closed"
    ]
    assert open_for_erin == [session["conversation_sid"]]


def test_end_chat_asks_first_then_closes_the_conversation(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    discord.add_user("frank")
    open_chat(discord, "frank")
    session = session_item(stack, discord.user_id("frank"))
    assert session is not None
    welcome = discord.messages(discord.dm_channel_id("frank"))[0]
    asked = discord.click("frank", welcome, "chat:end")
    assert asked.response is not None
    assert asked.response["type"] == 4
    assert asked.message is not None
    kept = discord.click("frank", asked.message, "chat:end:cancel")
    assert kept.response is not None
    assert kept.response["type"] == 7
    assert twilio.conversation(session["conversation_sid"])["state"] == "active"

    asked = discord.click("frank", welcome, "chat:end")
    assert asked.message is not None
    confirmed = discord.click("frank", asked.message, "chat:end:confirm")
    assert confirmed.response == {"type": 6}
    wait_until(lambda: twilio.conversation(session["conversation_sid"])["state"] == "closed")
    wait_until(lambda: session_item(stack, discord.user_id("frank")) is None)
    assert any("You ended the chat" in text for text in dm_texts(discord, "frank"))


def test_a_forged_twilio_signature_gets_403_and_changes_nothing(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    assert stack.gateway is not None
    discord.add_user("gina")
    open_chat(discord, "gina")
    session = session_item(stack, discord.user_id("gina"))
    assert session is not None
    url = f"{stack.gateway.base_url}/twilio/conversation-events"
    params = {
        "AccountSid": twilio.account_sid,
        "EventType": "onMessageAdded",
        "Source": "SDK",
        "ConversationSid": session["conversation_sid"],
        "MessageSid": "IM" + "9" * 32,
        "Author": "agent_mallory",
        "Body": "Please send me your password",
    }
    before = dm_texts(discord, "gina")
    forged = RequestValidator("not-the-auth-token").compute_signature(url, params)
    genuine_for_other_body = RequestValidator(twilio.auth_token).compute_signature(
        url, {**params, "Body": "hi"}
    )
    for signature in (forged, genuine_for_other_body, ""):
        response = requests.post(
            url,
            data=urlencode(params),
            headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
            timeout=10,
        )
        assert response.status_code == 403
    time.sleep(1.5)
    assert dm_texts(discord, "gina") == before


def test_an_event_for_an_unknown_conversation_gets_200_and_changes_nothing(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    assert stack.gateway is not None
    url = f"{stack.gateway.base_url}/twilio/conversation-events"
    params = {
        "AccountSid": twilio.account_sid,
        "EventType": "onMessageAdded",
        "Source": "SDK",
        "ConversationSid": "CH" + "0" * 32,
        "MessageSid": "IM" + "1" * 32,
        "Author": "agent_alex",
        "Body": "hello?",
    }
    writes_before = len(discord.message_writes)
    signature = RequestValidator(twilio.auth_token).compute_signature(url, params)
    response = requests.post(
        url,
        data=urlencode(params),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
        timeout=10,
    )
    assert response.status_code == 200
    time.sleep(2.0)
    assert len(discord.message_writes) == writes_before


def assert_requests_follow_the_specs(discord: DiscordEmulator, twilio: TwilioEmulator) -> None:
    for request in discord.requests:
        if request.path.startswith("/api/"):
            assert spec_operation_exists(request.method, request.path), (request.method, request.path)
            assert request.status < 400, (request.method, request.path, request.status)
    for write in discord.message_writes:
        assert write.allowed_mentions == {"parse": []}, write
    checked = 0
    for request in twilio.requests:
        if request.product in MEDIA_PRODUCTS:
            continue
        assert twilio_operation_exists(request.product, request.method, request.product_path), (
            request.product,
            request.method,
            request.product_path,
        )
        checked += 1
    assert checked


def test_with_dms_closed_the_chat_happens_in_a_private_thread(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    from devstack.discord_emulator import ChannelAccessError

    discord.add_user("hana", dms_open=False)
    reply = open_chat(discord, "hana", "I can't log in")
    hana = discord.user_id("hana")
    [thread] = [
        t for t in discord.threads(discord.channel_ids["support"]) if hana in discord.thread_members(t["id"])
    ]
    assert thread["type"] == 12  # private
    assert f"<#{thread['id']}>" in reply["content"]

    def seen_by(user: str) -> list[str]:
        return [m["content"] for m in discord.messages(thread["id"], as_user=user) if m.get("type") == 0]

    wait_until(lambda: "💬 **Hana:** I can't log in" in seen_by("hana"))
    assert seen_by("mod")[0].startswith("👋 Hi Hana!")  # staff see it
    with pytest.raises(ChannelAccessError):
        discord.messages(thread["id"], as_user="bob")  # other members do not

    welcome = next(m for m in discord.messages(thread["id"], as_user="hana") if m.get("components"))
    human = discord.click("hana", welcome, "chat:human")
    final_reply(discord, human.token)
    session = session_item(stack, hana)
    assert session is not None
    assert session["place"] == "thread"
    [task] = wait_until(
        lambda: [
            t
            for t in twilio.tasks()
            if t["attributes"].get("conversation_sid") == session["conversation_sid"]
        ]
    )
    twilio.accept(task["sid"], agent="sam", friendly_name="Sam")
    twilio.agent_say(task["sid"], "Let's fix your login.")
    wait_until(lambda: "**Sam:** Let's fix your login." in seen_by("hana"))


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))


def test_files_travel_both_ways_and_ending_after_handoff_closes_the_flex_channel(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    discord.add_user("ivan")
    open_chat(discord, "ivan")
    ivan = discord.user_id("ivan")
    session = session_item(stack, ivan)
    assert session is not None
    conversation_sid = session["conversation_sid"]

    # The member's attachment goes to Twilio Media and is attached to the message.
    sent = discord.run_command(
        "ivan",
        "reply",
        {"message": "here is the error"},
        channel="dm",
        attachments={"attachment": ("error.png", PNG, "image/png")},
    )
    assert final_reply(discord, sent.token)["content"] == "✓ Sent."
    [message] = [m for m in twilio.messages(conversation_sid) if m["body"] == "here is the error"]
    [media] = message["media"]
    assert media["content_type"] == "image/png"
    assert media["filename"] == "error.png"

    welcome = discord.messages(discord.dm_channel_id("ivan"))[0]
    final_reply(discord, discord.click("ivan", welcome, "chat:human").token)
    [task] = wait_until(
        lambda: [t for t in twilio.tasks() if t["attributes"].get("conversation_sid") == conversation_sid]
    )
    twilio.accept(task["sid"], agent="alex", friendly_name="Alex")
    # The agent's file is copied into Discord.
    twilio.agent_say(task["sid"], "Try this", media=[("fix.png", PNG, "image/png")])
    post = wait_until(
        lambda: next(
            (
                m
                for m in discord.messages(discord.dm_channel_id("ivan"))
                if m["content"] == "**Alex:** Try this"
            ),
            None,
        )
    )
    [attachment] = post["attachments"]
    assert attachment["filename"] == "fix.png"
    assert requests.get(attachment["url"], timeout=5).content == PNG

    # The member ends the chat: the conversation and the Flex interaction channel are closed.
    ended = discord.run_command("ivan", "endchat", channel="dm")
    assert final_reply(discord, ended.token)["content"] == "Your support chat is closed."
    assert twilio.conversation(conversation_sid)["state"] == "closed"
    channel_updates = [
        r
        for r in twilio.requests
        if r.product == "flex-api" and r.method == "POST" and "/Channels/" in r.product_path
    ]
    assert [r.form.get("Status") for r in channel_updates][-1:] == ["closed"]
    wait_until(lambda: session_item(stack, ivan) is None)
    case = stored_case(stack, int(task["attributes"]["case_number"]))
    assert case["status"] == "resolved"
    assert case["history"][-1]["note"] == "ended by the member"
