"""/announce end to end: an admin fills the form in Discord (the emulator), the real endpoint and
worker keep the draft in DynamoDB on moto and show a private preview, and Post puts the
announcement in the server's announcements channel, published when that is an announcement
channel. Who may post is checked at every step, and a post happens once."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import requests

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from flexcord.adapters.discord import DiscordClient
from flexcord.adapters.storage.server_settings import DynamoServerSettings
from tests.e2e.conftest import final_reply, queue_is_empty, table_item, wait_until

EPHEMERAL, CROSSPOSTED = 1 << 6, 1 << 0
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(60))
VALUES = {"title": "Version 2 is out", "text": "New maps, fewer bugs. Thanks @everyone <@1>!"}


def use_channel(stack: LocalStack, discord: DiscordEmulator, channel_id: str) -> None:
    """The server's announcements channel, as /setup would save it."""
    assert stack.resources is not None
    DynamoServerSettings(boto3.client("dynamodb"), stack.resources.table_name).update(
        discord.guild_id, {"announcements_channel_id": channel_id}
    )


def preview(
    discord: DiscordEmulator, user: str = "mod", files: Any = None, **values: Any
) -> tuple[dict[str, Any], str]:
    """Run /announce, submit the form; the preview once the worker showed it, and its draft id."""
    opened = discord.run_command(user, "announce", {"new": {}})
    assert opened.modal is not None, opened.response
    submitted = discord.submit_modal(user, opened.modal, {**VALUES, **values}, files=files)
    assert submitted.response == {"type": 5, "data": {"flags": EPHEMERAL}}, submitted.error
    shown = final_reply(discord, submitted.token)
    return shown, str(submitted.interaction["id"])


def press(
    discord: DiscordEmulator, message: dict[str, Any], action: str, draft_id: str, user: str = "mod"
) -> Any:
    pressed = discord.click(user, message, f"announce:{action}:{draft_id}")
    assert pressed.response == {"type": 6}, pressed.error
    return pressed


def outcome(discord: DiscordEmulator, token: str) -> dict[str, Any]:
    def edited() -> dict[str, Any] | None:
        message = discord.original_response(token)
        return message if message and message["content"].startswith(("✅", "⚠️")) else None

    return discord.wait_for(edited, timeout=20)


def posts(discord: DiscordEmulator, channel_id: str) -> list[dict[str, Any]]:
    return [m for m in discord.messages(channel_id) if m.get("embeds") and m["embeds"][0].get("title")]


def test_announce_is_offered_to_server_managers_in_servers(discord: DiscordEmulator) -> None:
    [command] = [c for c in discord.commands() if c["name"] == "announce"]
    assert command["default_member_permissions"] == "32"


def test_an_admin_previews_then_posts_to_a_text_channel(stack: LocalStack, discord: DiscordEmulator) -> None:
    channel = discord.create_channel(discord.guild_id, "news-text")["id"]
    use_channel(stack, discord, channel)
    shown, draft_id = preview(discord, role=[discord.staff_role_id])
    assert shown["flags"] & EPHEMERAL
    assert shown["content"].startswith(f"**Preview** — this is how it will look in <#{channel}>.")
    assert [b["custom_id"] for b in shown["components"][0]["components"]] == [
        f"announce:post:{draft_id}",
        f"announce:edit:{draft_id}",
        f"announce:cancel:{draft_id}",
    ]
    draft = table_item(stack, f"ANNOUNCEDRAFT#{draft_id}", "DRAFT")
    assert draft is not None
    assert json.loads(draft["draft"])["author_id"] == discord.user_id("mod")
    assert posts(discord, channel) == []  # nothing posted before Post

    done = outcome(discord, press(discord, shown, "post", draft_id).token)
    assert done["content"] == f"✅ Posted in <#{channel}>."
    assert done["embeds"] == []
    assert done["components"] == []
    [posted] = posts(discord, channel)
    # Exactly as previewed, the role mention in the content, the same embed.
    assert posted["embeds"][0]["title"] == shown["embeds"][0]["title"] == VALUES["title"]
    assert posted["embeds"][0]["description"] == shown["embeds"][0]["description"]
    assert posted["content"] == f"<@&{discord.staff_role_id}>"
    # Only the role may ping: not @everyone nor the user mentioned in the text.
    [write] = [w for w in discord.message_writes if w.message_id == posted["id"]]
    assert write.allowed_mentions == {"parse": [], "roles": [discord.staff_role_id]}
    assert posted["mention_roles"] == [discord.staff_role_id]
    assert posted["mention_everyone"] is False
    assert posted["mentions"] == []
    record = table_item(stack, f"ANNOUNCEMENT#{draft_id}", "ANNOUNCEMENT")
    assert record is not None
    assert record["message_id"] == posted["id"]
    assert record["publication"] == "not_needed"


def test_an_announcement_channel_post_is_published(stack: LocalStack, discord: DiscordEmulator) -> None:
    channel = discord.create_channel(discord.guild_id, "news-published", type=5)["id"]
    use_channel(stack, discord, channel)
    shown, draft_id = preview(discord, files={"image": [("map.png", PNG, "image/png")]})
    assert shown["embeds"][0]["image"]["url"]  # the uploaded picture, in the preview
    done = outcome(discord, press(discord, shown, "post", draft_id).token)
    assert done["content"] == f"✅ Posted in <#{channel}> and published to the servers that follow it."
    [posted] = posts(discord, channel)
    assert posted["content"] == ""
    # The post carries its own copy of the picture: the form's upload link expires.
    [attachment] = posted["attachments"]
    assert attachment["filename"] == "announcement.png"
    assert posted["embeds"][0]["image"]["url"] == attachment["url"]
    assert requests.get(attachment["url"], timeout=5).content == PNG
    assert posted["flags"] & CROSSPOSTED
    assert (channel, posted["id"]) in discord.crossposts


def test_posting_twice_posts_once(stack: LocalStack, discord: DiscordEmulator) -> None:
    channel = discord.create_channel(discord.guild_id, "news-twice")["id"]
    use_channel(stack, discord, channel)
    shown, draft_id = preview(discord)
    first = press(discord, shown, "post", draft_id)
    second = press(discord, shown, "post", draft_id)
    outcome(discord, first.token)
    assert outcome(discord, second.token)["content"] in (
        "⚠️ This announcement was already posted.",
        f"✅ Posted in <#{channel}>.",
    )
    wait_until(lambda: posts(discord, channel))
    assert len(posts(discord, channel)) == 1


def test_a_member_without_permission_is_refused(stack: LocalStack, discord: DiscordEmulator) -> None:
    # No role at all: the endpoint refuses at once.
    with pytest.raises(ValueError, match="announce"):
        discord.run_command("alice", "announce", {"new": {}})  # the client does not offer it to her
    # A role that is not staff: the endpoint lets it through, the worker refuses.
    discord.add_user("carol")
    role = discord.create_role(discord.guild_id, "helpers", permissions=1 << 31)
    discord.join_guild("carol", discord.guild_id, roles=[role])
    channel = discord.create_channel(discord.guild_id, "news-refused")["id"]
    use_channel(stack, discord, channel)
    discord.set_role_permissions(role, 1 << 5 | 1 << 31)  # she may open the form...
    opened = discord.run_command("carol", "announce", {"new": {}})
    discord.set_role_permissions(role, 1 << 31)  # ...but is not staff when she submits
    assert opened.modal is not None
    submitted = discord.submit_modal("carol", opened.modal, VALUES)
    refused = final_reply(discord, submitted.token)
    assert refused["content"].startswith("⚠️ Only this server's staff")
    assert table_item(stack, f"ANNOUNCEDRAFT#{submitted.interaction['id']}", "DRAFT") is None
    assert posts(discord, channel) == []


def test_a_post_forged_by_another_member_is_refused(stack: LocalStack, discord: DiscordEmulator) -> None:
    channel = discord.create_channel(discord.guild_id, "news-forged")["id"]
    use_channel(stack, discord, channel)
    shown, draft_id = preview(discord)
    discord.add_user("sam", roles=("staff",))
    own, own_draft = preview(discord, "sam")
    pressed = discord.click("sam", own, f"announce:cancel:{own_draft}")
    forged = json.loads(json.dumps(pressed.interaction))
    forged["id"] = str(int(forged["id"]) + 7)
    forged["data"]["custom_id"] = f"announce:post:{draft_id}"
    body = json.dumps(forged).encode()
    assert discord.send_raw(body, discord.sign(body)).status_code == 200
    wait_until(
        lambda: any("Only the author" in str(m.get("content")) for m in discord.followups(forged["token"]))
    )
    assert posts(discord, channel) == []
    draft = table_item(stack, f"ANNOUNCEDRAFT#{draft_id}", "DRAFT")
    assert draft is not None
    assert "used_by" not in draft
    # The author still can.
    outcome(discord, press(discord, shown, "post", draft_id).token)
    assert len(posts(discord, channel)) == 1


def test_over_the_publication_limit_it_is_posted_not_published_and_the_admin_told(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    channel = discord.create_channel(discord.guild_id, "news-busy", type=5)["id"]
    use_channel(stack, discord, channel)
    bot = DiscordClient(
        base_url=discord.api_base_url, application_id=discord.application_id, bot_token=discord.bot_token
    )
    for index in range(10):  # this hour's ten publications
        [message] = bot.create_message(channel, content=f"news {index}")
        bot.crosspost_message(channel, message["id"])
    shown, draft_id = preview(discord)
    done = outcome(discord, press(discord, shown, "post", draft_id).token)
    assert done["content"].startswith(f"⚠️ Posted in <#{channel}>, but **not published** to following servers")
    [posted] = posts(discord, channel)
    assert not posted["flags"] & CROSSPOSTED
    record = table_item(stack, f"ANNOUNCEMENT#{draft_id}", "ANNOUNCEMENT")
    assert record is not None
    assert record["publication"] == "not_published"


def test_edit_reopens_the_form_filled_in_and_cancel_drops_the_draft(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    shown, draft_id = preview(discord, role=[discord.staff_role_id])
    edit = discord.click("mod", shown, f"announce:edit:{draft_id}")
    assert edit.modal is not None
    inputs = {row["component"]["custom_id"]: row["component"] for row in edit.modal["components"]}
    assert inputs["title"]["value"] == VALUES["title"]
    assert inputs["text"]["value"] == VALUES["text"]
    assert inputs["role"]["default_values"] == [{"id": discord.staff_role_id, "type": "role"}]
    cancelled = outcome_any(discord, press(discord, shown, "cancel", draft_id).token)
    assert cancelled["content"] == "Announcement cancelled; nothing was posted."
    assert table_item(stack, f"ANNOUNCEDRAFT#{draft_id}", "DRAFT") is None


def outcome_any(discord: DiscordEmulator, token: str) -> dict[str, Any]:
    def edited() -> dict[str, Any] | None:
        message = discord.original_response(token)
        return message if message and not message["content"].startswith("**Preview**") else None

    return discord.wait_for(edited, timeout=20)


def test_an_edited_announcement_replaces_its_draft_so_only_the_new_preview_posts(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    channel = discord.create_channel(discord.guild_id, "news-edited")["id"]
    use_channel(stack, discord, channel)
    first, first_id = preview(discord)
    edit = discord.click("mod", first, f"announce:edit:{first_id}")
    assert edit.modal is not None
    assert edit.modal["custom_id"] == f"announce:form:{first_id}"
    submitted = discord.submit_modal("mod", edit.modal, {**VALUES, "title": "Maintenance moved to 10:00"})
    second = final_reply(discord, submitted.token)
    second_id = str(submitted.interaction["id"])
    assert second["embeds"][0]["title"] == "Maintenance moved to 10:00"
    # The old preview no longer posts; the new one posts once.
    stale = outcome_any(discord, press(discord, first, "post", first_id).token)
    assert stale["content"].startswith("⚠️ This announcement draft has expired or was cancelled")
    done = outcome(discord, press(discord, second, "post", second_id).token)
    assert done["content"] == f"✅ Posted in <#{channel}>."
    assert [p["embeds"][0]["title"] for p in posts(discord, channel)] == ["Maintenance moved to 10:00"]


def test_a_signed_webhook_announcement_is_posted_once_in_the_announcements_channel(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    import time

    from devstack.stack import ANNOUNCEMENTS_WEBHOOK_SECRET
    from flexcord.announcements.webhook import sign

    channel = discord.create_channel(discord.guild_id, "news-webhook", type=5)["id"]
    use_channel(stack, discord, channel)
    assert stack.gateway is not None
    body = json.dumps(
        {"title": "Season 4 is live", "text": "Patch notes inside.", "idempotency_key": "cms-post-4471"}
    ).encode()
    sent_at = int(time.time())
    for attempt in range(2):  # the CMS sends it again a second later (a new request): one post
        timestamp = str(sent_at + attempt)
        answer = requests.post(
            f"{stack.gateway.base_url}/announcements/webhook",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Flexcord-Timestamp": timestamp,
                "X-Flexcord-Signature": sign(ANNOUNCEMENTS_WEBHOOK_SECRET, timestamp, body),
            },
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
    # Posted, then published (an announcement channel: to the servers that follow it): wait for
    # the published state itself, not only the post.
    [posted] = wait_until(lambda: [p for p in posts(discord, channel) if p["flags"] & CROSSPOSTED] or None)
    assert posted["embeds"][0]["title"] == "Season 4 is live"
    # Both requests' jobs have run (the queue is empty), and there is still one post.
    wait_until(lambda: queue_is_empty(stack))
    assert len(posts(discord, channel)) == 1
