"""The support chat under faults, end to end: each test injects one fault into the emulated
Discord or Twilio and checks that the member's chat still completes, once, or that the member is
told. Each one failed before the fix it guards (issue 7's defects 1, 2, 6, 7, 9 and 12)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from devstack.twilio_emulator import TwilioEmulator
from tests.e2e.conftest import (
    MORE_THAN_ONE_DELIVERY_TRIES,
    dm_texts,
    final_reply,
    refusing_posts,
    session_item,
    stored_case,
    wait_until,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
#: What Discord answers a request with files over the upload limit.
TOO_LARGE = {"code": 40005, "message": "Request entity too large"}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Three deliveries: two runs, then the notice.
    with LocalStack(parameters={"JobMaxReceiveCount": 3}) as running:
        yield running


def session_of(stack: LocalStack, discord: DiscordEmulator, user: str) -> dict[str, Any] | None:
    return session_item(stack, discord.user_id(user))


def open_chat(discord: DiscordEmulator, stack: LocalStack, user: str) -> dict[str, Any]:
    discord.add_user(user)
    final_reply(discord, discord.run_command(user, "helpme").token)
    session = session_of(stack, discord, user)
    assert session is not None
    return session


def task_for(twilio: TwilioEmulator, conversation_sid: str) -> dict[str, Any]:
    [task] = wait_until(
        lambda: [t for t in twilio.tasks() if t["attributes"].get("conversation_sid") == conversation_sid]
    )
    return dict(task)


def with_agent(
    discord: DiscordEmulator,
    twilio: TwilioEmulator,
    stack: LocalStack,
    user: str,
    *,
    agent_name: str = "Alex",
) -> tuple[dict[str, Any], dict[str, Any]]:
    session = open_chat(discord, stack, user)
    welcome = discord.messages(discord.dm_channel_id(user))[0]
    final_reply(discord, discord.click(user, welcome, "chat:human").token)
    task = task_for(twilio, session["conversation_sid"])
    twilio.accept(task["sid"], agent=f"agent_{user}", friendly_name=agent_name)
    wait_until(lambda: any("joined the chat" in text for text in dm_texts(discord, user)))
    return session, task


def test_a_handoff_whose_flex_call_fails_is_completed_by_the_retry(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    """Defect 1: the session was queued before the Flex call, and the retry answered "already
    on it" without calling Flex: no task, ever."""
    session = open_chat(discord, stack, "fay")
    twilio.inject_fault("POST", r"^/flex-api/v1/Interactions$", 503, times=1)
    welcome = discord.messages(discord.dm_channel_id("fay"))[0]
    told = final_reply(discord, discord.click("fay", welcome, "chat:human").token)["content"]
    assert told.startswith("📨 Case #")  # from the retry, not "Already on it"
    task = task_for(twilio, session["conversation_sid"])
    assert task["attributes"]["case_number"] == int(told.split("#")[1].split(" ")[0])
    stored = session_of(stack, discord, "fay")
    assert stored is not None
    assert (stored["mode"], stored["handed_to_flex"]) == ("queued", True)
    assert stored["interaction_sid"]


def test_a_handoff_whose_notice_failed_is_told_by_the_retry_not_already_on_it(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    """Flex was reached, then Discord refused the chat's "Case #" notice on every attempt of the
    first delivery: the retry answered "Already on it" as if another request had queued the chat,
    and the notice never came."""
    session = open_chat(discord, stack, "hue")
    with refusing_posts(discord, b"Case #") as refused:
        welcome = discord.messages(discord.dm_channel_id("hue"))[0]
        told = final_reply(discord, discord.click("hue", welcome, "chat:human").token)["content"]
    assert len(refused) == MORE_THAN_ONE_DELIVERY_TRIES
    assert told.startswith("📨 Case #")
    assert [t for t in dm_texts(discord, "hue") if t.startswith("📨 Case #")] == [told]
    conversation = session["conversation_sid"]
    assert len([t for t in twilio.tasks() if t["attributes"].get("conversation_sid") == conversation]) == 1


def test_a_handoff_retried_after_discords_nonce_window_posts_its_notice_once(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "Case #" notice was posted, then answering the member's press failed on every try:
    the retry posted the notice again, because its nonce protects a post for a few minutes only
    and retries come back for longer. The worker now keeps what a failed attempt posted."""
    from devstack.discord_emulator import state as discord_state
    from devstack.http_server import HttpRequest

    session = open_chat(discord, stack, "ivy")
    monkeypatch.setattr(discord_state, "NONCE_WINDOW_SECONDS", -1)  # every nonce forgotten
    refused: list[str] = []

    def refuse_the_answer(request: HttpRequest) -> Any:
        answering = request.method == "PATCH" and "/webhooks/" in request.path and b"Case #" in request.body
        if answering and len(refused) < MORE_THAN_ONE_DELIVERY_TRIES:
            refused.append(request.path)
            return discord.make_fault(500)
        return None

    discord.set_fault_policy(refuse_the_answer)
    try:
        welcome = discord.messages(discord.dm_channel_id("ivy"))[0]
        told = final_reply(discord, discord.click("ivy", welcome, "chat:human").token)["content"]
    finally:
        discord.set_fault_policy(None)
    assert len(refused) == MORE_THAN_ONE_DELIVERY_TRIES  # the first delivery failed after posting
    assert told.startswith("📨 Case #")
    assert [t for t in dm_texts(discord, "ivy") if t.startswith("📨 Case #")] == [told]
    task_for(twilio, session["conversation_sid"])


def test_a_second_request_finishes_a_handoff_that_never_reached_flex(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    """Every delivery of the first request fails; the member's next press hands off for real."""
    session = open_chat(discord, stack, "gil")
    twilio.inject_fault("POST", r"^/flex-api/v1/Interactions$", 503, times=2)
    welcome = discord.messages(discord.dm_channel_id("gil"))[0]
    first = final_reply(discord, discord.click("gil", welcome, "chat:human").token)["content"]
    assert first.startswith("⚠️ Sorry, Flexcord couldn't reach an agent")
    assert [
        t for t in twilio.tasks() if t["attributes"].get("conversation_sid") == session["conversation_sid"]
    ] == []
    again = final_reply(discord, discord.click("gil", welcome, "chat:human").token)["content"]
    assert again.startswith("📨 Case #")
    task_for(twilio, session["conversation_sid"])


def test_agent_files_discord_refuses_still_deliver_the_words(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    """Defect 2: an agent file Discord refused failed the relay on every delivery."""
    _, task = with_agent(discord, twilio, stack, "hal")
    dm = discord.dm_channel_id("hal")
    discord.inject_fault("POST", rf"/channels/{dm}/messages$", 413, TOO_LARGE, times=1)
    twilio.agent_say(task["sid"], "Here is the log", media=[("big.log", b"x" * 2048, "text/plain")])
    text = wait_until(lambda: next((t for t in dm_texts(discord, "hal") if "Here is the log" in t), None))
    assert text == "**Alex:** Here is the log\n📎 big.log (Discord refused it)"


def test_more_files_than_a_message_takes_are_named_not_dropped(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    _, task = with_agent(discord, twilio, stack, "ida")
    media = [(f"shot{n}.png", PNG, "image/png") for n in range(11)]
    twilio.agent_say(task["sid"], "Screenshots", media=media)
    post = wait_until(
        lambda: next(
            (m for m in discord.messages(discord.dm_channel_id("ida")) if "Screenshots" in m["content"]), None
        )
    )
    assert len(post["attachments"]) == 10
    assert post["content"].endswith("📎 shot10.png (too many files for one message)")


def test_a_member_file_named_in_any_script_reaches_twilio(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    """Defect 2: a filename outside Latin-1 raised UnicodeEncodeError in the upload header on
    every delivery; a quote went into the header unescaped."""
    session = open_chat(discord, stack, "jun")
    for filename in ("スクショ.png", 'say "cheese".png'):
        sent = discord.run_command(
            "jun",
            "reply",
            {"message": f"file {filename}"},
            channel="dm",
            attachments={"attachment": (filename, PNG, "image/png")},
        )
        assert final_reply(discord, sent.token)["content"] == "✓ Sent."
        [message] = [
            m for m in twilio.messages(session["conversation_sid"]) if m["body"] == f"file {filename}"
        ]
        [media] = message["media"]
        assert media["filename"] == filename


def test_a_member_file_that_cannot_be_uploaded_goes_as_a_link_and_the_member_is_told(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    session = open_chat(discord, stack, "kai")
    twilio.inject_fault("POST", r"/Media$", 500, times=1)
    sent = discord.run_command(
        "kai",
        "reply",
        {"message": "see attached"},
        channel="dm",
        attachments={"attachment": ("error.png", PNG, "image/png")},
    )
    assert "sent as a link" in final_reply(discord, sent.token)["content"]
    [message] = [
        m for m in twilio.messages(session["conversation_sid"]) if m["body"].startswith("see attached")
    ]
    assert message["media"] in (None, [])
    assert "error.png" in message["body"]  # the attachment's link


def test_a_retried_relay_adds_the_members_message_to_twilio_once(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    """Defect 9: a Discord failure after the Twilio write made the retry add it again."""
    session = open_chat(discord, stack, "lou")
    dm = discord.dm_channel_id("lou")
    # The echo in the member's chat fails on every attempt of the first delivery.
    discord.inject_fault("POST", rf"/channels/{dm}/messages$", 503, times=3)
    sent = discord.run_command("lou", "reply", {"message": "only once please"}, channel="dm")
    assert final_reply(discord, sent.token)["content"] == "✓ Sent."
    bodies = [m["body"] for m in twilio.messages(session["conversation_sid"])]
    assert bodies.count("only once please") == 1
    assert sum("only once please" in text for text in dm_texts(discord, "lou")) == 1


def test_a_chat_that_expires_before_an_agent_joins_is_not_resolved(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    """Defect 6: Twilio's timer closing an untaken chat read "Case #N is resolved"."""
    session = open_chat(discord, stack, "max")
    welcome = discord.messages(discord.dm_channel_id("max"))[0]
    told = final_reply(discord, discord.click("max", welcome, "chat:human").token)["content"]
    number = int(told.split("#")[1].split(" ")[0])
    task_for(twilio, session["conversation_sid"])
    twilio.advance_clock(2 * 24 * 3600)  # past the conversation's close timer
    text = wait_until(lambda: next((t for t in dm_texts(discord, "max") if t.startswith("⌛")), None))
    assert text.startswith(f"⌛ Your chat expired before an agent could join. Case #{number} stays open")
    case = stored_case(stack, number)
    assert case is not None
    assert case["status"] == "open"
    assert "chat_expired" in [event["action"] for event in case["history"]]
    # The session ends after the member is told (the effect first, then the state).
    wait_until(lambda: session_of(stack, discord, "max") is None)
    closed = [
        r
        for r in twilio.requests
        if r.product == "flex-api" and "/Channels/" in r.product_path and r.method == "POST"
    ]
    assert closed
    assert closed[-1].form.get("Status") == "closed"
    assert not any("resolved" in t for t in dm_texts(discord, "max"))


def test_the_chat_ended_notice_survives_a_failed_post(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    """Defect 7: the session ended before the notice was posted, so a retry found nothing."""
    _, task = with_agent(discord, twilio, stack, "ned")
    dm = discord.dm_channel_id("ned")
    discord.inject_fault("POST", rf"/channels/{dm}/messages$", 503, times=3)
    twilio.complete(task["sid"])
    wait_until(lambda: any(t.startswith("✅ The chat has ended.") for t in dm_texts(discord, "ned")))
    assert sum(t.startswith("✅ The chat has ended.") for t in dm_texts(discord, "ned")) == 1
    wait_until(lambda: session_of(stack, discord, "ned") is None)  # after the notice, not before
    case = stored_case(stack, int(task["attributes"]["case_number"]))
    assert case is not None
    assert case["status"] == "resolved"


def test_an_agent_message_that_cannot_be_delivered_is_reported_to_member_and_agent(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    """Defect 7: an agent's message dead-lettered told nobody."""
    session, task = with_agent(discord, twilio, stack, "oli")
    dm = discord.dm_channel_id("oli")
    # Both runs fail (3 attempts each); the third delivery is the notice, which gets through.
    discord.inject_fault("POST", rf"/channels/{dm}/messages$", 503, times=6)
    twilio.agent_say(task["sid"], "you will not see this")
    wait_until(lambda: any("could not be delivered here" in t for t in dm_texts(discord, "oli")), timeout=40)
    assert not any("you will not see this" in t for t in dm_texts(discord, "oli"))
    wait_until(
        lambda: any(
            "could not deliver your last message" in m["body"]
            for m in twilio.messages(session["conversation_sid"])
        )
    )


def test_an_agent_is_shown_by_name_never_by_identity(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    """Defect 12: with no name in the participant's attributes the member saw the identity."""
    session = open_chat(discord, stack, "pia")
    welcome = discord.messages(discord.dm_channel_id("pia"))[0]
    final_reply(discord, discord.click("pia", welcome, "chat:human").token)
    task = task_for(twilio, session["conversation_sid"])
    identity = "agent_cGlhQGJyYW5kLmV4YW1wbGU"  # Flex-style: an encoded e-mail address
    twilio.accept(task["sid"], agent=identity.removeprefix("agent_"), friendly_name="")
    twilio.agent_say(task["sid"], "Hello!")
    wait_until(lambda: "**Support agent:** Hello!" in dm_texts(discord, "pia"))
    assert "🎧 **Support agent** joined the chat." in dm_texts(discord, "pia")
    assert not any(identity.removeprefix("agent_") in t for t in dm_texts(discord, "pia"))


def test_twilio_learns_nothing_that_identifies_the_member(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator
) -> None:
    """Defect 12: the conversation carried the member's ids and display name."""
    session = open_chat(discord, stack, "quinn")
    conversation = twilio.conversation(session["conversation_sid"])
    shown = json.dumps(conversation) + json.dumps(twilio.participants(session["conversation_sid"]))
    assert discord.user_id("quinn") not in shown
    assert "quinn" not in shown.lower()
    assert json.loads(conversation["attributes"]) == {"source": "discord", "locale": "en-US"}


def test_an_agent_message_redelivered_after_every_window_is_not_posted_twice(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's relay keeps no idempotency record (issue 12: one write per message): a
    delivery that comes back after SQS's five-minute deduplication and Discord's nonce window
    must still find the message relayed, from the session's mark."""
    from devstack.discord_emulator import state as discord_state
    from flexcord.adapters.queue.job_queue import SqsJobQueue
    from flexcord.jobs.model import Job, JobKind

    session, task = with_agent(discord, twilio, stack, "rex")
    twilio.agent_say(task["sid"], "Have you tried turning it off and on?")
    wait_until(lambda: "**Alex:** Have you tried turning it off and on?" in dm_texts(discord, "rex"))
    [said] = [m for m in twilio.messages(session["conversation_sid"]) if m["body"].startswith("Have you")]
    monkeypatch.setattr(discord_state, "NONCE_WINDOW_SECONDS", -1)  # every nonce forgotten
    assert stack.resources is not None
    SqsJobQueue(stack.resources.job_queue_url).enqueue(
        Job(
            kind=JobKind.CONVERSATION_EVENT,
            key=f"message:{said['sid']}:much-later",  # past FIFO deduplication, as after 5 minutes
            group=session["conversation_sid"],
            payload={
                "EventType": "onMessageAdded",
                "Source": "SDK",
                "ConversationSid": session["conversation_sid"],
                "MessageSid": said["sid"],
                "Index": str(said["index"]),
                "Body": said["body"],
                "Author": said["author"],
            },
        )
    )
    # The conversation's jobs run in order: once the next message is in, the redelivery was run.
    twilio.agent_say(task["sid"], "Let me know.")
    wait_until(lambda: "**Alex:** Let me know." in dm_texts(discord, "rex"))
    assert dm_texts(discord, "rex").count("**Alex:** Have you tried turning it off and on?") == 1


def test_a_member_message_redelivered_after_every_window_is_relayed_once(
    stack: LocalStack, discord: DiscordEmulator, twilio: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The member's relay keeps no idempotency record either (issue 12): a delivery that comes
    back after SQS's deduplication and Discord's nonce window, once the message went through,
    must find it relayed from the session's mark: no second message to the agent, no second echo."""
    from devstack.discord_emulator import state as discord_state
    from flexcord.adapters.queue.job_queue import SqsJobQueue
    from flexcord.interactions.model import Interaction
    from flexcord.jobs.model import Job, JobKind

    session, _ = with_agent(discord, twilio, stack, "sol")
    sent = discord.run_command("sol", "reply", {"message": "It still crashes."}, channel="dm")
    assert final_reply(discord, sent.token)["content"] == "✓ Sent."
    # The mark is written last, just after "Sent".
    wait_until(lambda: stored_member_mark(stack, "sol", discord) == int(sent.interaction["id"]))
    monkeypatch.setattr(discord_state, "NONCE_WINDOW_SECONDS", -1)  # every nonce forgotten
    context = Interaction.parse(sent.interaction).context
    assert stack.resources is not None
    SqsJobQueue(stack.resources.job_queue_url).enqueue(
        Job(
            kind=JobKind.MEMBER_MESSAGE,
            key=f"{context.interaction_id}:much-later",  # past FIFO deduplication
            group=context.user_id,
            context=context,
            payload={"text": "It still crashes."},
        )
    )
    # The member's jobs run in order: once the next message is in, the redelivery was run.
    after = discord.run_command("sol", "reply", {"message": "Any news?"}, channel="dm")
    assert final_reply(discord, after.token)["content"] == "✓ Sent."
    bodies = [m["body"] for m in twilio.messages(session["conversation_sid"])]
    assert bodies.count("It still crashes.") == 1
    assert "Any news?" in bodies
    assert dm_texts(discord, "sol").count("💬 **Sol:** It still crashes.") == 1


def stored_member_mark(stack: LocalStack, user: str, discord: DiscordEmulator) -> int:
    item = session_item(stack, discord.user_id(user))
    assert item is not None
    return int(item["member_relayed_through"])
