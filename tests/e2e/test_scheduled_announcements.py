"""Scheduled announcements end to end: an admin schedules a post with /announce new (the
emulator), the real endpoint and worker keep it in DynamoDB on moto, and SchedulerFunction, run by
the local stack at its movable clock as EventBridge runs it each minute, queues it when its time
comes; the worker posts it once. /announce list and cancel manage what is waiting."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from tests.e2e.conftest import final_reply, table_item, wait_until
from tests.e2e.test_announcements import outcome, posts, press, preview, use_channel

EPHEMERAL = 1 << 6


def scheduled(discord: DiscordEmulator, token: str) -> dict[str, Any]:
    def edited() -> dict[str, Any] | None:
        message = discord.original_response(token)
        return message if message and message["content"].startswith("🗓️") else None

    return discord.wait_for(edited, timeout=20)


def run(discord: DiscordEmulator, user: str, subcommand: str, **options: Any) -> dict[str, Any]:
    answered = discord.run_command(user, "announce", {subcommand: options})
    assert answered.response == {"type": 5, "data": {"flags": EPHEMERAL}}, answered.error
    return final_reply(discord, answered.token)


def test_a_scheduled_post_goes_out_once_when_its_time_comes(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    assert stack.scheduler is not None
    channel = discord.create_channel(discord.guild_id, "news-scheduled")["id"]
    use_channel(stack, discord, channel)
    shown, draft_id = preview(discord, when="in 3h")
    assert "🗓️ To be posted <t:" in shown["content"]
    assert shown["components"][0]["components"][0]["label"] == "Schedule"
    done = scheduled(discord, press(discord, shown, "post", draft_id).token)
    assert f"as `{draft_id}`" in done["content"]
    waiting = table_item(stack, f"SCHEDULEDANN#{discord.guild_id}", draft_id)
    assert waiting is not None
    assert waiting["state"] == "scheduled"

    listing = run(discord, "mod", "list")["content"]
    assert f"`{draft_id}`" in listing
    assert "Version 2 is out" in listing

    assert stack.advance_clock(2 * 3600)["announcements_queued"] == 0
    assert posts(discord, channel) == []
    assert stack.advance_clock(3600)["announcements_queued"] == 1
    stack.scheduler.tick()  # an overlapping run queues it again: still one post
    [posted] = wait_until(lambda: posts(discord, channel))
    assert posted["embeds"][0]["title"] == "Version 2 is out"
    assert wait_until(lambda: table_item(stack, f"SCHEDULEDANN#{discord.guild_id}", draft_id) is None)
    stack.scheduler.tick()
    assert len(posts(discord, channel)) == 1
    assert table_item(stack, f"ANNOUNCEMENT#{draft_id}", "ANNOUNCEMENT") is not None
    assert "No announcement is scheduled" in run(discord, "mod", "list")["content"]


def test_a_cancelled_post_never_goes_out_and_members_cannot_cancel(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    channel = discord.create_channel(discord.guild_id, "news-cancelled")["id"]
    use_channel(stack, discord, channel)
    shown, draft_id = preview(discord, when="in 2h")
    scheduled(discord, press(discord, shown, "post", draft_id).token)

    # A member without Manage Server is not offered /announce at all...
    with pytest.raises(ValueError, match="announce"):
        discord.run_command("alice", "announce", {"cancel": {"id": draft_id}})
    # ...and one who sends it anyway (signed, with a role that is not staff: the endpoint lets a
    # role through, the staff role is the worker's to check) is refused by the worker.
    helper = discord.create_role(discord.guild_id, "helpers-cancel", permissions=0)
    listed = discord.run_command("mod", "announce", {"list": {}})
    final_reply(discord, listed.token)  # the listing; the forged request's refusal replaces it
    forged = json.loads(json.dumps(listed.interaction))
    forged["id"] = str(int(forged["id"]) + 11)
    forged["data"]["options"] = [
        {"type": 1, "name": "cancel", "options": [{"type": 3, "name": "id", "value": draft_id}]}
    ]
    forged["member"]["roles"] = [helper]
    forged["member"]["permissions"] = "0"
    forged["member"]["user"] = {**forged["member"]["user"], "id": discord.user_id("alice")}
    body = json.dumps(forged).encode()
    assert discord.send_raw(body, discord.sign(body)).status_code == 200
    wait_until(
        lambda: str((discord.original_response(forged["token"]) or {}).get("content")).startswith(
            "⚠️ Only this server's staff"
        )
    )
    assert table_item(stack, f"SCHEDULEDANN#{discord.guild_id}", draft_id) is not None

    cancelled = run(discord, "mod", "cancel", id=draft_id)["content"]
    assert cancelled == f"Scheduled announcement `{draft_id}` cancelled; nothing was posted."
    assert stack.advance_clock(3 * 3600)["announcements_queued"] == 0
    assert posts(discord, channel) == []
    again = run(discord, "mod", "cancel", id=draft_id)["content"]
    assert again.startswith(f"⚠️ No announcement `{draft_id}` is scheduled")


def test_a_time_that_cannot_be_read_is_explained_and_keeps_nothing(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    opened = discord.run_command("mod", "announce", {"new": {}})
    assert opened.modal is not None
    submitted = discord.submit_modal(
        "mod", opened.modal, {"title": "Soon", "text": "Something", "when": "whenever you like"}
    )
    answer = final_reply(discord, submitted.token)["content"]
    assert re.match(r"⚠️ Nothing was saved\. “whenever you like” is not a time", answer)
    assert table_item(stack, f"ANNOUNCEDRAFT#{submitted.interaction['id']}", "DRAFT") is None


def test_editing_a_scheduled_preview_keeps_its_time(stack: LocalStack, discord: DiscordEmulator) -> None:
    channel = discord.create_channel(discord.guild_id, "news-edited-schedule")["id"]
    use_channel(stack, discord, channel)
    shown, draft_id = preview(discord, when="in 5h")
    at = re.search(r"<t:(\d+):F>", shown["content"])
    assert at is not None
    edit = discord.click("mod", shown, f"announce:edit:{draft_id}")
    assert edit.modal is not None
    when_field = [c["component"] for c in edit.modal["components"] if c["component"]["custom_id"] == "when"]
    assert when_field[0]["value"] == f"<t:{at.group(1)}>"
    # Submitted unchanged, the new preview is for the same moment.
    values = {"title": "Version 2 is out", "text": "New maps", "when": when_field[0]["value"]}
    resubmitted = discord.submit_modal("mod", edit.modal, values)
    again = final_reply(discord, resubmitted.token)
    assert f"<t:{at.group(1)}:F>" in again["content"]
    done = scheduled(discord, press(discord, again, "post", str(resubmitted.interaction["id"])).token)
    assert f"<t:{at.group(1)}:F>" in done["content"]
    # The first preview's draft was replaced: it can no longer schedule a second copy.
    stale = outcome(discord, press(discord, shown, "post", draft_id).token)
    assert stale["content"].startswith("⚠️ This announcement draft has expired or was cancelled")
