"""Review first end to end, with the webhook set to it (AnnouncementsWebhookReviewFirst=true): a
signed webhook announcement goes to the server's staff channel (the emulator) with Approve, Edit
and Reject instead of the announcements channel; the real endpoint and worker, over DynamoDB and
SQS on moto, post it only when a staff member approves, once, and record who decided."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from flexcord.adapters.storage.server_settings import DynamoServerSettings
from flexcord.announcements.webhook import announcement_id
from tests.e2e.conftest import table_item, wait_until
from tests.e2e.test_announcements_webhook_flow import post


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The conftest's stack, with the webhook's announcements reviewed first."""
    parameters = {
        "JobMaxReceiveCount": 2,
        "MemberRateLimitPerMinute": 0,
        "AnnouncementsWebhookReviewFirst": "true",
    }
    with LocalStack(parameters=parameters) as running:
        yield running


@pytest.fixture
def channels(stack: LocalStack, discord: DiscordEmulator, request: pytest.FixtureRequest) -> tuple[str, str]:
    """A fresh (announcements, staff) pair of channels for this test, saved as /setup would."""
    name = request.node.name[:40]
    news = discord.create_channel(discord.guild_id, f"news-{name}")["id"]
    staff = discord.create_channel(discord.guild_id, f"staff-{name}")["id"]
    assert stack.resources is not None
    DynamoServerSettings(boto3.client("dynamodb"), stack.resources.table_name).update(
        discord.guild_id, {"announcements_channel_id": news, "staff_channel_id": staff}
    )
    return news, staff


def send(stack: LocalStack, key: str, **fields: str) -> str:
    """A signed webhook announcement; its announcement id."""
    document = {"title": "Season 4 is live", "text": "Patch notes inside.", "idempotency_key": key, **fields}
    response = post(stack, document)
    assert response.status_code == 202, response.text
    assert response.json() == {"announcement_id": announcement_id(key)}
    return announcement_id(key)


def review_message(discord: DiscordEmulator, staff: str, review_id: str) -> dict[str, Any]:
    """The review message in the staff channel, once the worker has posted it."""

    def shown() -> dict[str, Any] | None:
        for message in discord.messages(staff):
            if f"review:approve:{review_id}" in json.dumps(message.get("components")):
                return message
        return None

    found: dict[str, Any] = wait_until(shown)
    return found


def current(discord: DiscordEmulator, staff: str, message_id: str) -> dict[str, Any]:
    [message] = [m for m in discord.messages(staff) if m["id"] == message_id]
    return message


def decided(discord: DiscordEmulator, staff: str, message_id: str, mark: str) -> dict[str, Any]:
    """The review message once the worker has written its outcome (``mark``) into it."""

    def written() -> dict[str, Any] | None:
        message = current(discord, staff, message_id)
        return message if mark in message["content"] else None

    found: dict[str, Any] = wait_until(written)
    return found


def posts(discord: DiscordEmulator, channel: str) -> list[dict[str, Any]]:
    return [m for m in discord.messages(channel) if m.get("embeds")]


def again(discord: DiscordEmulator, pressed: Any, custom_id: str | None = None) -> dict[str, Any]:
    """The same member's press delivered once more as a new interaction (a double click, or a
    stale client's other button when ``custom_id`` is given), signed as Discord signs it."""
    copy = json.loads(json.dumps(pressed.interaction))
    copy["id"] = str(int(copy["id"]) + 1)
    if custom_id is not None:
        copy["data"]["custom_id"] = custom_id
    body = json.dumps(copy).encode()
    answer = discord.send_raw(body, discord.sign(body))
    assert answer.status_code == 200
    assert answer.json() == {"type": 6}
    return copy


def test_a_webhook_announcement_waits_in_the_staff_channel_not_the_announcements_channel(
    stack: LocalStack, discord: DiscordEmulator, channels: tuple[str, str]
) -> None:
    news, staff = channels
    review_id = send(stack, "e2e-review-waits", url="https://example.com/s4")
    review = review_message(discord, staff, review_id)
    assert (
        review["content"]
        == f"📝 **Review first** — from the announcements webhook, to be posted in <#{news}>."
    )
    [embed] = review["embeds"]
    assert (embed["title"], embed["description"], embed["url"]) == (
        "Season 4 is live",
        "Patch notes inside.",
        "https://example.com/s4",
    )
    [row] = review["components"]
    assert [(b["label"], b["style"]) for b in row["components"]] == [
        ("Approve", 3),
        ("Edit", 2),
        ("Reject", 4),
    ]
    writes = [w for w in discord.message_writes if w.message_id == review["id"]]
    assert writes
    assert all(w.allowed_mentions == {"parse": []} for w in writes)
    stored = table_item(stack, f"REVIEW#{review_id}", "REVIEW")
    assert stored is not None
    assert (stored["state"], stored["message_id"]) == ("pending", review["id"])
    # The job that showed the review has finished: nothing was posted, nor is anything coming.
    assert posts(discord, news) == []
    assert table_item(stack, f"ANNOUNCEMENT#{review_id}", "ANNOUNCEMENT") is None


def test_a_forged_approve_from_a_member_who_is_not_staff_changes_nothing(
    stack: LocalStack, discord: DiscordEmulator, channels: tuple[str, str]
) -> None:
    news, staff = channels
    review_id = send(stack, "e2e-review-forged")
    review = review_message(discord, staff, review_id)
    discord.add_user("carol")
    helpers = discord.create_role(discord.guild_id, "helpers-review", permissions=0)
    discord.join_guild("carol", discord.guild_id, roles=[helpers])
    # Carol presses Edit (a form opens: nothing is queued), then sends the same press again as
    # Approve: a custom_id she wrote herself, in a request Discord signed for her.
    pressed = discord.click("carol", review, f"review:edit:{review_id}")
    assert pressed.modal is not None
    forged = json.loads(json.dumps(pressed.interaction))
    forged["id"] = str(int(forged["id"]) + 3)
    forged["data"]["custom_id"] = f"review:approve:{review_id}"
    body = json.dumps(forged).encode()
    assert discord.send_raw(body, discord.sign(body)).json() == {"type": 6}
    refusal = wait_until(lambda: discord.followups(forged["token"]))
    assert refusal[-1]["content"].startswith("⚠️ Only this server's staff")
    assert refusal[-1]["flags"] & (1 << 6)  # privately
    # A member with no role at all is refused at the endpoint: nothing is queued.
    refused = discord.click("alice", review, f"review:approve:{review_id}")
    assert refused.response["type"] == 4
    assert refused.response["data"]["flags"] & (1 << 6)
    stored = table_item(stack, f"REVIEW#{review_id}", "REVIEW")
    assert stored is not None
    assert stored["state"] == "pending"
    assert "decided_by" not in stored
    assert current(discord, staff, review["id"])["components"] == review["components"]
    assert posts(discord, news) == []


def test_staff_approve_posts_it_once_and_the_review_says_who(
    stack: LocalStack, discord: DiscordEmulator, channels: tuple[str, str]
) -> None:
    news, staff = channels
    review_id = send(stack, "e2e-review-approve")
    review = review_message(discord, staff, review_id)
    first = discord.click("mod", review, f"review:approve:{review_id}")
    assert first.response == {"type": 6}
    second = again(discord, first)  # a double click: a second press, a second interaction
    mod = discord.user_id("mod")
    done = decided(discord, staff, review["id"], "✅ Approved by")
    assert f"✅ Approved by <@{mod}> <t:" in done["content"]
    assert done["content"].endswith(f" — posted in <#{news}>.")
    assert done["components"] == []
    [posted] = wait_until(lambda: posts(discord, news))
    assert posted["embeds"][0]["title"] == "Season 4 is live"
    late = wait_until(lambda: discord.followups(second["token"]))
    assert late[-1]["content"].startswith(f"✅ Already approved by <@{mod}>")
    stored = table_item(stack, f"REVIEW#{review_id}", "REVIEW")
    assert stored is not None
    assert (stored["state"], stored["decided_by"], stored["decided_press"]) == (
        "approved",
        mod,
        first.interaction["id"],
    )
    assert table_item(stack, f"ANNOUNCEMENT#{review_id}", "ANNOUNCEMENT") is not None
    assert len(posts(discord, news)) == 1


def test_reject_posts_nothing_and_records_who(
    stack: LocalStack, discord: DiscordEmulator, channels: tuple[str, str]
) -> None:
    news, staff = channels
    review_id = send(stack, "e2e-review-reject")
    review = review_message(discord, staff, review_id)
    discord.add_user("sam", roles=("staff",))
    pressed = discord.click("sam", review, f"review:reject:{review_id}")
    assert pressed.response == {"type": 6}
    done = decided(discord, staff, review["id"], "🚫 Rejected by")
    assert f"🚫 Rejected by <@{discord.user_id('sam')}> <t:" in done["content"]
    assert done["content"].endswith("— nothing was posted.")
    assert done["components"] == []
    # An Approve that arrives after the Reject (a stale client): told who rejected; nothing posted.
    late = again(discord, pressed, f"review:approve:{review_id}")
    told = wait_until(lambda: discord.followups(late["token"]))
    assert told[-1]["content"].startswith("🚫 Already rejected by")
    stored = table_item(stack, f"REVIEW#{review_id}", "REVIEW")
    assert stored is not None
    assert (stored["state"], stored["decided_by"]) == ("rejected", discord.user_id("sam"))
    assert posts(discord, news) == []


def test_edit_changes_the_title_and_text_that_are_posted(
    stack: LocalStack, discord: DiscordEmulator, channels: tuple[str, str]
) -> None:
    news, staff = channels
    review_id = send(stack, "e2e-review-edit", text="Patch notes insdie.")
    review = review_message(discord, staff, review_id)
    opened = discord.click("mod", review, f"review:edit:{review_id}")
    assert opened.modal is not None
    assert opened.modal["custom_id"] == f"review:form:{review_id}"
    inputs = {row["component"]["custom_id"]: row["component"] for row in opened.modal["components"]}
    assert (inputs["title"]["value"], inputs["text"]["value"]) == ("Season 4 is live", "Patch notes insdie.")
    submitted = discord.submit_modal(
        "mod", opened.modal, {"title": "Season 4 is live!", "text": "Patch notes inside."}
    )
    assert submitted.response == {"type": 6}, submitted.error
    edited = decided(discord, staff, review["id"], "✏️ Edited by")
    assert edited["embeds"][0]["title"] == "Season 4 is live!"
    assert edited["components"] == review["components"]  # still waiting for a decision
    discord.click("mod", edited, f"review:approve:{review_id}")
    [posted] = wait_until(lambda: posts(discord, news))
    assert (posted["embeds"][0]["title"], posted["embeds"][0]["description"]) == (
        "Season 4 is live!",
        "Patch notes inside.",
    )
