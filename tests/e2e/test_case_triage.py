"""Staff triage inside Discord, end to end: the controls on a case post, `/case update`, `/cases`,
`/case add`, Me too, duplicates, forum posts with tags, reporters told by DM (or in the case's
thread), and two servers in one deployment. Real handlers over moto and the emulators."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from tests.e2e.conftest import dm_texts, final_reply, stored_case, wait_until

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(50))
FORUM = 15


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        parameters={"JobMaxReceiveCount": 2, "MemberRateLimitPerMinute": 0}, extra_guilds=("Second server",)
    ) as running:
        yield running


def file_case(
    discord: DiscordEmulator, user: str, command: str, title: str, *, guild_id: str | None = None
) -> int:
    opened = discord.run_command(user, command, guild_id=guild_id)
    assert opened.modal is not None, opened.error
    values = (
        {"title": title, "what_happened": "It broke.", "steps": "1. Play", "expected_actual": "No crash"}
        if command == "bug"
        else {"title": title, "problem": "I can't.", "proposal": "A screen."}
    )
    submitted = discord.submit_modal(user, opened.modal, values, guild_id=guild_id)
    content = final_reply(discord, submitted.token)["content"]
    return int(content.split("case #", 1)[1].split("*", 1)[0])


def case_post(discord: DiscordEmulator, channel_id: str, number: int) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next(
            (
                message
                for message in discord.messages(channel_id)
                if message.get("embeds") and f"#{number}:" in message["embeds"][0]["title"]
            ),
            None,
        )

    return wait_until(found)


def field(message: dict[str, Any], name: str) -> str:
    return next(f["value"] for f in message["embeds"][0]["fields"] if f["name"] == name)


def updates_about(discord: DiscordEmulator, user: str, number: int) -> list[str]:
    return [text for text in dm_texts(discord, user) if f"#{number} " in text and "is now" in text]


def resend(discord: DiscordEmulator, interaction: dict[str, Any]) -> None:
    body = json.dumps(interaction).encode()
    assert discord.send_raw(body, discord.sign(body)).status_code == 200


def test_a_status_change_from_the_post_edits_it_and_reaches_the_reporter_once(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    number = file_case(discord, "alice", "bug", "Crash when trading")
    channel = discord.channel_ids["bug-report"]
    post = case_post(discord, channel, number)
    assert field(post, "Status") == "🟢 Open"
    # The post carries the staff controls, and a thread holds the discussion.
    ids = [c["custom_id"] for row in post["components"] for c in row["components"]]
    assert ids[:5] == [f"case:status:{number}", f"case:tell:{number}", f"case:note:{number}",
                       f"case:dup:{number}", f"case:assign:{number}"]  # fmt: skip
    assert stored_case(stack, number)["thread_id"] == post["id"]
    assert [t["id"] for t in discord.threads(channel)].count(post["id"]) == 1

    chosen = discord.select("mod", post["id"], f"case:status:{number}", ["in_progress"])
    answer = final_reply(discord, chosen.token)
    assert answer["content"] == f"Case #{number} is now **In progress**. The reporter was told by DM."
    assert field(case_post(discord, channel, number), "Status") == "🛠️ In progress"
    assert wait_until(lambda: updates_about(discord, "alice", number)) == [
        f"Your bug report #{number} “Crash when trading” is now **in progress**."
    ]
    # The same interaction delivered again: one history entry, one DM.
    resend(discord, chosen.interaction)
    time.sleep(2.5)
    assert len(updates_about(discord, "alice", number)) == 1
    changes = [e for e in stored_case(stack, number)["history"] if e["action"] == "status_changed"]
    assert [(c["from_status"], c["to_status"], c["actor_name"]) for c in changes] == [
        ("open", "in_progress", "Mod")
    ]
    dm = next(m for m in discord.messages(discord.dm_channel_id("alice")) if "is now" in m.get("content", ""))
    assert dm["components"][0]["components"][0]["custom_id"] == f"case:show:{discord.guild_id}:{number}"
    shown = final_reply(
        discord, discord.click("alice", dm, dm["components"][0]["components"][0]["custom_id"]).token
    )
    assert shown["embeds"][0]["title"].endswith("Crash when trading")


def test_members_pressing_staff_controls_or_crafting_their_ids_change_nothing(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    number = file_case(discord, "alice", "bug", "Refused controls")
    post = case_post(discord, discord.channel_ids["bug-report"], number)
    before = stored_case(stack, number)

    refused = discord.select("bob", post["id"], f"case:status:{number}", ["resolved"])
    assert final_reply(discord, refused.token)["content"].startswith("Only this server's staff")
    assign = discord.click("bob", post, f"case:assign:{number}")
    assert final_reply(discord, assign.token)["content"].startswith("Only this server's staff")
    # A forged select: bob's own signed interaction with another case's id and a value.
    forged = dict(refused.interaction)
    forged["id"] = str(int(forged["id"]) + 1)
    forged["data"] = {**forged["data"], "custom_id": f"case:status:{number}", "values": ["wont_fix"]}
    resend(discord, forged)
    # And the note form, submitted without ever being opened.
    note = discord.click("bob", post, f"case:tell:{number}")
    assert note.modal is not None  # a form opens for anyone; its submission is checked
    submitted = discord.submit_modal("bob", note.modal, {"value": "pwned"})
    assert final_reply(discord, submitted.token)["content"].startswith("Only this server's staff")
    for action, value in (("note", "pwned"), ("dup", "1")):
        form = discord.click("bob", post, f"case:{action}:{number}")
        assert form.modal is not None
        sent = discord.submit_modal("bob", form.modal, {"value": value})
        assert final_reply(discord, sent.token)["content"].startswith("Only this server's staff")
    update = discord.run_command("bob", "case", {"update": {"number": number, "status": "resolved"}})
    assert final_reply(discord, update.token)["content"].startswith("Only this server's staff")
    listing = discord.run_command("bob", "cases")
    assert final_reply(discord, listing.token)["content"] == "Only this server's staff can list its cases."
    time.sleep(1.5)
    after = stored_case(stack, number)
    assert after["status"] == "open"
    assert after["history"] == before["history"]
    assert after.get("assignee") is None
    assert not [t for t in dm_texts(discord, "alice") if f"#{number} " in t and "pwned" in t]


def test_update_command_notes_assignment_and_the_reporters_thread_when_dms_are_closed(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    discord.add_user("quiet", dms_open=False)
    number = file_case(discord, "quiet", "bug", "Sound cuts out")
    channel = discord.channel_ids["bug-report"]
    post = case_post(discord, channel, number)

    assigned = discord.click("mod", post, f"case:assign:{number}")
    assert final_reply(discord, assigned.token)["content"] == f"Case #{number} is assigned to you."
    assert field(case_post(discord, channel, number), "Assigned to") == f"<@{discord.user_id('mod')}>"

    staff_only = discord.click("mod", post, f"case:note:{number}")
    assert staff_only.modal is not None
    final_reply(discord, discord.submit_modal("mod", staff_only.modal, {"value": "Audio team owns it"}).token)

    updated = discord.run_command(
        "mod",
        "case",
        {"update": {"number": number, "status": "resolved", "note": "fixed in 1.4.2"}},
        channel="general",
    )
    answer = final_reply(discord, updated.token)
    assert answer["content"].endswith(
        "The reporter's DMs are closed, so they were mentioned in the case's thread."
    )
    thread_texts = [m["content"] for m in discord.messages(post["id"])]
    mention = (
        f"<@{discord.user_id('quiet')}> Your bug report #{number} “Sound cuts out” is now **resolved**: "
        "fixed in 1.4.2"
    )
    assert thread_texts.count(mention) == 1
    # Only the reporter may be pinged by it; the staff-only note is never sent to them.
    write = next(w for w in discord.message_writes if w.content == mention)
    assert write.allowed_mentions == {"parse": [], "users": [discord.user_id("quiet")]}
    assert not any("Audio team" in text for text in thread_texts)
    case = stored_case(stack, number)
    assert case["status"] == "resolved"
    assert [e["action"] for e in case["history"]][-4:] == [
        "assigned",
        "note",
        "status_changed",
        "reporter_told",
    ]

    # The reporter's own view hides the staff note; staff see it.
    mine = final_reply(discord, discord.run_command("quiet", "case", {"show": {"number": number}}).token)
    history = field(mine, "History")
    assert "staff note" in history
    assert "Audio team" not in history
    theirs = final_reply(discord, discord.run_command("mod", "case", {"show": {"number": number}}).token)
    assert "Audio team owns it" in field(theirs, "History")


def test_the_reporter_adds_details_and_a_screenshot_others_are_refused(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    number = file_case(discord, "alice", "bug", "Map does not load")
    post = case_post(discord, discord.channel_ids["bug-report"], number)
    added = discord.run_command(
        "alice",
        "case",
        {"add": {"number": number, "details": "Also on iPad"}},
        attachments={"screenshot": ("ipad.png", PNG, "image/png")},
    )
    assert final_reply(discord, added.token)["content"].startswith(f"Added to case #{number}")
    [shared] = [m for m in discord.messages(post["id"]) if "Also on iPad" in m.get("content", "")]
    assert shared["attachments"][0]["filename"] == "ipad.png"
    case = stored_case(stack, number)
    assert case["sections"][-1] == {"label": "Added by the reporter", "text": "Also on iPad"}
    assert case["attachments"][-1]["kept_url"].split("?")[0] == shared["attachments"][0]["url"].split("?")[0]

    refused = discord.run_command("bob", "case", {"add": {"number": number, "details": "me too"}})
    assert "isn't one of yours" in final_reply(discord, refused.token)["content"]
    assert stored_case(stack, number)["sections"] == case["sections"]


def test_me_too_counts_each_member_once_duplicates_merge_and_cases_sorts_by_support(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    for name in ("carol", "dave", "erin"):
        discord.add_user(name)
    channel = discord.channel_ids["feature-request"]
    wanted = file_case(discord, "alice", "new_feature", "Dark mode")
    other = file_case(discord, "bob", "new_feature", "Guild banners")
    duplicate = file_case(discord, "carol", "new_feature", "Night theme")
    post = case_post(discord, channel, wanted)
    for name in ("bob", "dave", "erin"):
        final_reply(discord, discord.click(name, post, f"case:metoo:{wanted}").token)
    again = discord.click("erin", post, f"case:metoo:{wanted}")  # a second press takes it back
    assert final_reply(discord, again.token)["content"] == f"You're no longer counted on #{wanted}."
    final_reply(
        discord, discord.click("dave", case_post(discord, channel, other), f"case:metoo:{other}").token
    )
    refreshed = case_post(discord, channel, wanted)
    assert refreshed["components"][2]["components"][0]["label"] == "Me too (2)"
    assert field(refreshed, "Support") == "👍 2"

    marked = discord.click("mod", case_post(discord, channel, duplicate), f"case:dup:{duplicate}")
    assert marked.modal is not None
    reply = final_reply(discord, discord.submit_modal("mod", marked.modal, {"value": f"#{wanted}"}).token)
    assert reply["content"].startswith(f"Case #{duplicate} is marked a duplicate of #{wanted}")
    original = stored_case(stack, wanted)
    assert sorted(original["supporters"]) == sorted(discord.user_id(n) for n in ("bob", "dave", "carol"))
    assert stored_case(stack, duplicate)["status"] == "duplicate"
    assert any(f"#{duplicate} " in t and f"duplicate** of #{wanted}" in t for t in dm_texts(discord, "carol"))

    listed = discord.run_command("mod", "cases", {"kind": "feature", "sort": "support"})
    lines = final_reply(discord, listed.token)["content"].splitlines()[1:]
    numbers = [int(line.split("**#", 1)[1].split("**", 1)[0]) for line in lines]
    assert numbers.index(wanted) < numbers.index(other)
    assert duplicate not in numbers  # no longer open
    refused = discord.run_command("bob", "cases")
    assert final_reply(discord, refused.token)["content"] == "Only this server's staff can list its cases."


def test_in_a_forum_channel_each_case_is_a_post_tagged_by_kind_and_status(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    forum_id = str(discord.create_channel(discord.guild_id, "bug-forum", type=FORUM)["id"])
    configure(stack, discord.guild_id, bug_report_channel_id=forum_id)
    try:
        number = file_case(discord, "alice", "bug", "Forum bug")
        thread = wait_until(
            lambda: next((t for t in discord.threads(forum_id) if t["name"].startswith(f"#{number} ")), None)
        )
        tags = {tag["id"]: tag["name"] for tag in discord.channel(forum_id)["available_tags"]}
        assert {
            "Bug",
            "Feature",
            "Open",
            "Triaged",
            "In progress",
            "Resolved",
            "Won't fix",
            "Duplicate",
        } <= set(tags.values())
        assert sorted(tags[t] for t in thread["applied_tags"]) == ["Bug", "Open"]
        post = case_post(discord, thread["id"], number)
        final_reply(discord, discord.select("mod", post["id"], f"case:status:{number}", ["resolved"]).token)
        retagged = wait_until(
            lambda: (
                sorted(tags[t] for t in discord.channel(thread["id"])["applied_tags"]) == ["Bug", "Resolved"]
                or None
            )
        )
        assert retagged
        assert stored_case(stack, number)["thread_id"] == thread["id"]
    finally:
        configure(stack, discord.guild_id, bug_report_channel_id=None)


def test_two_servers_keep_their_own_numbers_channels_staff_and_lists(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    assert stack.discord is not None
    [second] = stack.discord.guild_ids[1:]
    second_channels = discord.channel_ids_of(second)
    discord.add_user("sasha", guild_ids=[second])
    discord.join_guild("alice", second)
    discord.join_guild("sasha", second, roles=["staff"])
    configure(
        stack,
        second,
        bug_report_channel_id=second_channels["bug-report"],
        staff_role_id=discord.staff_role_id_of(second),
    )
    here = file_case(discord, "alice", "bug", "Home server bug")
    there = file_case(discord, "alice", "bug", "Second server bug", guild_id=second)
    assert there == 1  # its own numbering
    post = case_post(discord, second_channels["bug-report"], there)
    assert post["embeds"][0]["title"].endswith("Second server bug")
    assert stored_case(stack, there, second)["guild_id"] == second

    # The first server's staff are not the second's: mod's role means nothing there.
    discord.join_guild("mod", second)
    refused = discord.select("mod", post["id"], f"case:status:{there}", ["resolved"], guild_id=second)
    assert final_reply(discord, refused.token)["content"].startswith("Only this server's staff")
    accepted = discord.select("sasha", post["id"], f"case:status:{there}", ["triaged"], guild_id=second)
    assert (
        final_reply(discord, accepted.token)["content"]
        == f"Case #{there} is now **Triaged**. The reporter was told by DM."
    )
    assert stored_case(stack, there, second)["status"] == "triaged"
    assert stored_case(stack, here)["title"] == "Home server bug"

    mine = final_reply(discord, discord.run_command("mod", "cases").token)["content"]
    theirs = final_reply(discord, discord.run_command("sasha", "cases", guild_id=second).token)["content"]
    assert "Second server bug" in theirs
    assert "Home server bug" not in theirs
    assert "Second server bug" not in mine


def configure(stack: LocalStack, guild_id: str, **settings: str | None) -> None:
    """Set a server's settings as /setup stores them."""
    from flexcord.adapters.storage.dynamodb import dynamodb_client
    from flexcord.adapters.storage.server_settings import DynamoServerSettings

    assert stack.resources is not None
    DynamoServerSettings(dynamodb_client(), stack.resources.table_name).update(guild_id, dict(settings))
