"""/setup end to end: an admin changes a server's settings from Discord (the emulator sends the
signed command, selects and form), the real endpoint and worker check and save them in DynamoDB on
moto, and the ephemeral settings message is edited to show the new state."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from tests.e2e.conftest import final_reply, table_item
from tests.e2e.test_cases_flow import assert_requests_follow_the_spec
from tests.e2e.test_member_cli import devstack_up, run_devstack

SECOND_SERVER = "Second server"
SEND_MESSAGES, ATTACH_FILES, MANAGE_CHANNELS, VIEW_CHANNEL = 1 << 11, 1 << 15, 1 << 4, 1 << 10


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """A deployment serving two servers: the emulator's first and a second one."""
    with LocalStack(parameters={"JobMaxReceiveCount": 2}, extra_guilds=[SECOND_SERVER]) as running:
        yield running


def stored_settings(stack: LocalStack, guild_id: str) -> dict[str, Any]:
    item = table_item(stack, f"SERVER#{guild_id}", "SETTINGS") or {}
    return {name[2:]: json.loads(value) for name, value in item.items() if name.startswith("s_")}


def fields(message: dict[str, Any]) -> dict[str, str]:
    return {field["name"]: field["value"] for field in message["embeds"][0]["fields"]}


def open_setup(discord: DiscordEmulator, user: str = "mod", guild_id: str | None = None) -> dict[str, Any]:
    opened = discord.run_command(user, "setup", guild_id=guild_id)
    assert opened.response == {"type": 5, "data": {"flags": 64}}, opened.error
    panel = final_reply(discord, opened.token)
    assert panel["flags"] & 64  # only the admin sees it
    return panel


def choose(
    discord: DiscordEmulator,
    panel: dict[str, Any],
    custom_id: str,
    value: str,
    *,
    user: str = "mod",
    guild_id: str | None = None,
) -> dict[str, Any]:
    """Pick ``value`` in a select of the settings message; the message once the worker redrew it."""
    picked = discord.select(user, panel["id"], custom_id, [value], guild_id=guild_id)
    assert picked.response == {"type": 6}, picked.error
    return redrawn(discord, picked.token, panel)


def redrawn(discord: DiscordEmulator, token: str, before: dict[str, Any]) -> dict[str, Any]:
    """The settings message once the worker has edited it with a new outcome line (the message
    ``before`` the change is the same message, so its text tells the edit apart)."""

    def edited() -> dict[str, Any] | None:
        message = discord.original_response(token)
        if message is None or message["content"] == before["content"]:
            return None
        return message if message["content"].startswith(("✅", "⚠️")) else None

    return discord.wait_for(edited, timeout=20)


def test_setup_is_offered_to_server_managers_only(discord: DiscordEmulator) -> None:
    [command] = [c for c in discord.commands() if c["name"] == "setup"]
    assert command["default_member_permissions"] == "32"
    assert command["contexts"] == [0]
    with pytest.raises(ValueError, match="setup"):
        discord.run_command("alice", "setup")  # the client does not offer it to her


def test_an_admin_sees_the_settings_and_picks_a_channel(stack: LocalStack, discord: DiscordEmulator) -> None:
    panel = open_setup(discord)
    channels = discord.channel_ids
    assert fields(panel)["Bug reports"] == f"<#{channels['bug-report']}>"  # the template's default
    assert fields(panel)["Announcements"] == "Not set"
    assert len(panel["components"]) == 5

    after = choose(discord, panel, "setup:channel:announcements_channel_id", "announcements")
    assert after["content"].startswith(f"✅ Announcements: now <#{channels['announcements']}>.")
    assert fields(after)["Announcements"] == f"<#{channels['announcements']}>"
    assert after["id"] == panel["id"]  # the same message, edited
    saved = stored_settings(stack, discord.guild_id)
    assert saved["announcements_channel_id"] == channels["announcements"]
    assert saved["updated_by"] == discord.user_id("mod")
    assert_requests_follow_the_spec(discord)


def test_a_channel_the_bot_cannot_post_in_is_refused_with_the_missing_permissions(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    channel = discord.create_channel(discord.guild_id, "locked-bugs")
    discord.set_channel_overwrite(
        channel["id"], discord.bot_role_id_of(discord.guild_id), deny=SEND_MESSAGES | ATTACH_FILES
    )
    before = stored_settings(stack, discord.guild_id).get("bug_report_channel_id")
    after = choose(discord, open_setup(discord), "setup:channel:bug_report_channel_id", "locked-bugs")
    assert after["content"].startswith(
        "⚠️ I can't use #locked-bugs: I'm missing **Send Messages** and **Attach Files** there. "
        "Nothing was changed."
    )
    assert stored_settings(stack, discord.guild_id).get("bug_report_channel_id") == before

    # A channel the bot cannot even see: Discord refuses to show it to the bot (50001).
    hidden = discord.create_channel(discord.guild_id, "staff-only")
    discord.set_channel_overwrite(hidden["id"], discord.bot_role_id_of(discord.guild_id), deny=VIEW_CHANNEL)
    unseen = choose(discord, open_setup(discord), "setup:channel:support_channel_id", "staff-only")
    assert unseen["content"].startswith("⚠️ I can't use #staff-only: I'm missing **View Channels** there.")
    assert stored_settings(stack, discord.guild_id).get("support_channel_id") != hidden["id"]


def test_a_forum_without_its_tags_needs_manage_channels(stack: LocalStack, discord: DiscordEmulator) -> None:
    forum = discord.create_channel(discord.guild_id, "ideas-forum", type=15)
    bot_role = discord.bot_role_id_of(discord.guild_id)
    discord.set_channel_overwrite(forum["id"], bot_role, deny=MANAGE_CHANNELS)
    panel = open_setup(discord)
    refused = choose(discord, panel, "setup:channel:feature_request_channel_id", "ideas-forum")
    assert refused["content"].startswith("⚠️ I can't use #ideas-forum: I'm missing **Manage Channels** there")
    assert "(Feature, Open, Triaged, In progress, Resolved, Won't fix, Duplicate)" in refused["content"]
    assert "feature_request_channel_id" not in stored_settings(stack, discord.guild_id)

    discord.set_channel_overwrite(forum["id"], bot_role)  # the admin grants it back
    accepted = choose(discord, refused, "setup:channel:feature_request_channel_id", "ideas-forum")
    assert accepted["content"].startswith(f"✅ Feature requests: now <#{forum['id']}>.")
    assert stored_settings(stack, discord.guild_id)["feature_request_channel_id"] == forum["id"]


def test_the_staff_role_and_support_hours(stack: LocalStack, discord: DiscordEmulator) -> None:
    panel = open_setup(discord)
    staff_view = discord.click("mod", panel, "setup:view:staff")
    assert staff_view.response == {"type": 6}
    view = discord.wait_for(
        lambda: (m := discord.original_response(staff_view.token)) and len(m["components"]) == 3 and m,
        timeout=20,
    )
    assert view["components"][0]["components"][0]["type"] == 6
    staff_channel = view["components"][1]["components"][0]
    assert (staff_channel["type"], staff_channel["custom_id"]) == (8, "setup:channel:staff_channel_id")

    role = choose(discord, view, "setup:staff_role", "staff")
    assert role["content"].startswith(f"✅ Staff role: now <@&{discord.staff_role_id}>.")

    opened = discord.click("mod", role, "setup:hours")
    assert opened.modal is not None, opened.error
    form = {
        label["component"]["custom_id"]: label["component"].get("value")
        for label in opened.modal["components"]
    }
    assert form["hours"] == "always open"  # it opens with the current hours

    bad = discord.submit_modal(
        "mod", opened.modal, {"days": "Mon-Fri", "hours": "9am-5pm", "time_zone": "UTC"}
    )
    assert bad.response["type"] == 4
    assert bad.response["data"]["content"].startswith("⚠️ Support hours not saved: '9am' is not a time.")
    assert "hours" not in stored_settings(stack, discord.guild_id)

    reopened = discord.click("mod", role, "setup:hours")
    good = discord.submit_modal(
        "mod",
        reopened.modal,
        {
            "days": "Mon-Fri",
            "hours": "09:00-17:00",
            "time_zone": "Europe/Paris",
            "holidays": "2026-12-25",
            "after_hours_message": "The team is offline.",
        },
    )
    assert good.response == {"type": 6}, good.error
    saved_view = redrawn(discord, good.token, role)
    assert saved_view["content"].startswith("✅ Support hours: now Mon–Fri 09:00–17:00 Europe/Paris")
    assert fields(saved_view)["After-hours message"] == "The team is offline."
    hours = stored_settings(stack, discord.guild_id)["hours"]
    assert hours == {
        "time_zone": "Europe/Paris",
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "opens": "09:00",
        "closes": "17:00",
        "holidays": ["2026-12-25"],
        "after_hours_message": "The team is offline.",
    }


def test_a_non_admin_crafting_a_setup_control_changes_nothing(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    panel = open_setup(discord)
    picked = discord.select("mod", panel["id"], "setup:channel:support_channel_id", ["support"])
    redrawn(discord, picked.token, panel)
    before = stored_settings(stack, discord.guild_id)
    # alice replays the admin's select as her own (a forged custom_id on a message she can't see).
    alice = discord.run_command("alice", "mycases").interaction
    forged = {**picked.interaction, "id": str(int(picked.interaction["id"]) + 7), "member": alice["member"]}
    forged["token"] = alice["token"]
    forged["data"] = {**forged["data"], "values": [discord.channel_ids["general"]]}
    body = json.dumps(forged).encode()
    answer = discord.send_raw(body, discord.sign(body)).json()
    assert answer["type"] == 4
    assert "Only members with the **Manage Server** permission" in answer["data"]["content"]
    assert stored_settings(stack, discord.guild_id) == before


def test_two_servers_keep_separate_settings(stack: LocalStack, discord: DiscordEmulator) -> None:
    first, second = discord.guild_ids[0], discord.guild_ids[1]
    discord.join_guild("mod", second, roles=["staff"])
    panel = open_setup(discord, guild_id=second)
    # The second server has no template defaults: it starts empty.
    assert fields(panel)["Bug reports"] == "Not set"
    their_bugs = discord.channel_ids_of(second)["bug-report"]
    after = choose(discord, panel, "setup:channel:bug_report_channel_id", their_bugs, guild_id=second)
    assert after["content"].startswith(f"✅ Bug reports: now <#{their_bugs}>.")
    assert stored_settings(stack, second)["bug_report_channel_id"] == their_bugs
    assert stored_settings(stack, first).get("bug_report_channel_id") != their_bugs
    # A channel of the first server picked from the second's message is refused (a crafted value).
    crafted = discord.select(
        "mod", after["id"], "setup:channel:support_channel_id", ["support"], guild_id=second
    )
    redrawn(discord, crafted.token, after)
    forged = {**crafted.interaction, "id": str(int(crafted.interaction["id"]) + 7)}
    forged["data"] = {**forged["data"], "values": [discord.channel_ids["support"]]}
    body = json.dumps(forged).encode()
    assert discord.send_raw(body, discord.sign(body)).json() == {"type": 6}
    refused = discord.wait_for(
        lambda: (
            "isn't a channel of this server"
            in (discord.original_response(crafted.token) or {}).get("content", "")
        ),
        timeout=20,
    )
    assert refused
    assert stored_settings(stack, second)["support_channel_id"] == discord.channel_ids_of(second)["support"]


def test_an_admin_sets_the_server_up_from_the_command_line(tmp_path: Path) -> None:
    def devstack(*arguments: str) -> subprocess.CompletedProcess[str]:
        return run_devstack(tmp_path, *arguments)

    with devstack_up(tmp_path) as stack:
        stack.wait_for((tmp_path / "stack.json").exists, "the stack did not start")
        shown = devstack("member", "mod", "setup")
        assert "┃ Flexcord settings for this server" in shown.stdout, shown.stderr
        assert (
            "[▾ Bug reports: pick a text or forum channel] (setup:channel:bug_report_channel_id)"
            in shown.stdout
        )
        token = shown.stdout.split("choose: python -m devstack select mod ", 1)[1].split()[0]

        picked = devstack("select", "mod", token, "setup:channel:announcements_channel_id", "announcements")
        assert "✅ Announcements: now #announcements." in picked.stdout, picked.stderr

        staff = devstack("click", "mod", token, "setup:view:staff")
        assert "[Edit support hours] (setup:hours)" in staff.stdout, staff.stderr

        hours = devstack(
            "click", "mod", token, "setup:hours", "--field=days=Sat-Sun", "--field=hours=10:00-16:00"
        )
        assert "✅ Support hours: now Sat, Sun 10:00–16:00 UTC." in hours.stdout, hours.stderr
        # Fields not given keep what the form opened with.
        assert "┃ After-hours message: Our agents are away right now." in hours.stdout

        refused = devstack("member", "alice", "setup")
        assert refused.returncode == 2
        assert "Discord refused that" in refused.stderr
        assert stack.stop(signal.SIGINT) == 0, stack.output()
