"""The app's Discord client against the Discord emulator: per-server setup (roles, channels, the
bot's permissions), forum-mode cases and threads started from messages, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.discord_emulator import DiscordEmulator
from flexcord.adapters.discord import (
    DiscordClient,
    DiscordUnavailable,
    FileUpload,
    MissingAccess,
    MissingPermissions,
    NotATextChannel,
)
from flexcord.adapters.discord import permissions as perms
from tests.integration.test_discord_emulator import PNG, FakeBot

TAGS = [{"name": "bug"}, {"name": "feature"}, {"name": "resolved", "moderated": True}]


@pytest.fixture
def discord() -> Iterator[DiscordEmulator]:
    with DiscordEmulator() as running:
        yield running


@pytest.fixture
def client(discord: DiscordEmulator) -> DiscordClient:
    return DiscordClient(
        base_url=discord.api_base_url,
        application_id=discord.application_id,
        bot_token=discord.bot_token,
        max_attempts=2,
        sleep=lambda _seconds: None,
    )


def bot_permissions(client: DiscordClient, guild_id: str, channel_id: str, bot_id: str) -> int:
    """What setup code does: the bot's permissions in a channel from the API's own objects."""
    roles = client.list_guild_roles(guild_id)
    member = client.get_guild_member(guild_id, bot_id)
    assert member is not None
    channel = client.get_channel(channel_id)
    parent = client.get_channel(channel["parent_id"]) if channel["type"] in (10, 11, 12) else None
    return perms.channel_permissions(
        guild_id=guild_id,
        member_role_ids=member["roles"],
        member_id=bot_id,
        roles=roles,
        channel=channel,
        parent=parent,
    )


def test_setup_reads_roles_channels_and_computes_the_bots_permissions(
    discord: DiscordEmulator, client: DiscordClient
) -> None:
    second = discord.add_guild("Second Server")
    channels = client.list_guild_channels(second)
    assert {c["name"]: c["id"] for c in channels} == discord.channel_ids_of(second)
    roles = {role["name"]: role["id"] for role in client.list_guild_roles(second)}
    assert roles["staff"] == discord.staff_role_id_of(second)
    assert roles["@everyone"] == second

    bug_report = discord.channel_ids_of(second)["bug-report"]
    bot_role = discord.bot_role_id_of(second)
    discord.set_channel_overwrite(bug_report, bot_role, deny=perms.SEND_MESSAGES | perms.EMBED_LINKS)
    granted = bot_permissions(client, second, bug_report, discord.application_id)
    # The app's computation agrees with the emulator's, which is what it enforces.
    assert granted == discord.permissions_in("flexcord", bug_report)
    required = perms.VIEW_CHANNEL | perms.SEND_MESSAGES | perms.EMBED_LINKS | perms.ATTACH_FILES
    assert perms.missing(required, granted) == ["Send Messages", "Embed Links"]
    with pytest.raises(MissingPermissions):
        client.create_message(bug_report, content="Case 1")
    general = discord.channel_ids_of(second)["general"]
    assert perms.missing(required, bot_permissions(client, second, general, discord.application_id)) == []
    assert client.create_message(general, content="Case 1")[0]["channel_id"] == general

    discord.set_channel_overwrite(bug_report, second, deny=perms.VIEW_CHANNEL)
    with pytest.raises(MissingAccess):
        client.get_channel(bug_report)
    assert client.get_guild_member(second, discord.user_id("alice")) is None
    discord.join_guild("alice", second, roles=["staff"])
    member = client.get_guild_member(second, discord.user_id("alice"))
    assert member is not None
    assert member["roles"] == [discord.staff_role_id_of(second)]


def test_the_computation_matches_interaction_permissions(
    discord: DiscordEmulator, client: DiscordClient
) -> None:
    fake = FakeBot(discord.public_key_hex)
    discord.interactions_url = fake.url
    fake.reply = lambda body: (200, {"type": 4, "data": {"content": "ok", "allowed_mentions": {"parse": []}}})
    try:
        discord.set_channel_overwrite("support", discord.staff_role_id, deny=perms.ATTACH_FILES)
        discord.set_channel_overwrite("support", discord.user_id("mod"), allow=perms.MANAGE_CHANNELS)
        payload = discord.run_command("mod", "status", channel="support").interaction
    finally:
        fake.close()
    member = payload["member"]
    computed = perms.channel_permissions(
        guild_id=payload["guild_id"],
        member_role_ids=member["roles"],
        member_id=member["user"]["id"],
        roles=client.list_guild_roles(payload["guild_id"]),
        channel=client.get_channel(payload["channel_id"]),
    )
    assert computed == int(member["permissions"])
    assert not computed & perms.ATTACH_FILES
    assert computed & perms.MANAGE_CHANNELS
    assert bot_permissions(client, discord.guild_id, payload["channel_id"], discord.application_id) == int(
        payload["app_permissions"]
    )


def test_forum_mode_cases(discord: DiscordEmulator, client: DiscordClient) -> None:
    forum = discord.create_channel(discord.guild_id, "cases", type=15)
    with pytest.raises(NotATextChannel):
        client.create_message(forum["id"], content="a case")
    edited = client.edit_channel(forum["id"], available_tags=TAGS)
    tags = {tag["name"]: tag["id"] for tag in edited["available_tags"]}
    assert client.get_channel(forum["id"])["available_tags"] == edited["available_tags"]

    post = client.create_forum_post(
        forum["id"],
        name="Case 1: raid lobby freezes",
        content=f"Reported by <@{discord.user_id('alice')}>",
        embeds=[{"title": "Case 1", "description": "It froze"}],
        files=[FileUpload("shot.png", PNG, "image/png")],
        applied_tags=[tags["bug"]],
    )
    assert post["type"] == 11
    assert post["parent_id"] == forum["id"]
    assert post["applied_tags"] == [tags["bug"]]
    assert post["message"]["id"] == post["id"]
    assert post["message"]["mentions"] == []  # allowed_mentions went with the message
    assert post["message"]["attachments"][0]["filename"] == "shot.png"
    assert discord.message_writes[-1].allowed_mentions == {"parse": []}

    client.create_message(post["id"], content="An agent is on it")
    assert [m["content"] for m in discord.messages(post["id"])][-1] == "An agent is on it"
    moved = client.edit_channel(
        post["id"], applied_tags=[tags["bug"], tags["resolved"]], name="Case 1: fixed", archived=True
    )
    assert moved["applied_tags"] == [tags["bug"], tags["resolved"]]
    assert moved["name"] == "Case 1: fixed"
    assert moved["thread_metadata"]["archived"] is True

    discord.set_channel_overwrite(
        forum["id"], discord.bot_role_id_of(discord.guild_id), deny=perms.MANAGE_CHANNELS
    )
    with pytest.raises(MissingPermissions):
        client.edit_channel(forum["id"], available_tags=[{"name": "other"}])


def test_a_failed_forum_post_is_not_sent_twice(discord: DiscordEmulator, client: DiscordClient) -> None:
    forum = discord.create_channel(discord.guild_id, "cases", type=15)
    discord.inject_fault("POST", rf"/channels/{forum['id']}/threads$", 500, {"message": "boom", "code": 0})
    with pytest.raises(DiscordUnavailable):
        client.create_forum_post(forum["id"], name="Case 2", content="x")
    posts = [r for r in discord.requests if r.method == "POST" and r.path.endswith(f"/{forum['id']}/threads")]
    assert len(posts) == 1


def test_a_retried_job_finds_the_forum_post_its_failed_attempt_opened(
    discord: DiscordEmulator, client: DiscordClient
) -> None:
    """A forum post takes no nonce: a job that opened one and then failed (recording the case)
    opened a second on its retry. Within a job, the post's key names what was opened."""
    forum = discord.create_channel(discord.guild_id, "cases", type=15)
    with DiscordClient.remembering_posts(dict) as first_attempt:
        opened = client.create_forum_post(
            forum["id"], name="Case 4", content="Raid lobby freezes", key="case-4"
        )
    assert first_attempt.made == {f"{forum['id']}/post:case-4": opened["id"]}
    with DiscordClient.remembering_posts(lambda: first_attempt.all) as retry:
        again = client.create_forum_post(
            forum["id"], name="Case 4", content="Raid lobby freezes", key="case-4"
        )
    assert again["id"] == opened["id"]
    assert again["message"]["id"] == opened["message"]["id"]
    assert again["message"]["content"] == "Raid lobby freezes"
    assert retry.all == first_attempt.all
    posts = [r for r in discord.requests if r.method == "POST" and r.path.endswith(f"/{forum['id']}/threads")]
    assert len(posts) == 1

    discord.world.remove_channel(opened["id"])  # a moderator deleted the post
    with DiscordClient.remembering_posts(lambda: first_attempt.all):
        reopened = client.create_forum_post(
            forum["id"], name="Case 4", content="Raid lobby freezes", key="case-4"
        )
    assert reopened["id"] != opened["id"]  # deleted since: opened again


def test_a_retried_job_finds_the_private_support_thread_its_failed_attempt_opened(
    discord: DiscordEmulator, client: DiscordClient
) -> None:
    """A member with closed DMs gets a private thread; a job that opened it and then failed
    (Twilio down) opened a second one on its retry, and added the member to both."""
    support = discord.channel_ids["general"]
    with DiscordClient.remembering_posts(dict) as first_attempt:
        opened = client.create_private_thread(support, name="Support: Ann", key="thread-1")
    with DiscordClient.remembering_posts(lambda: first_attempt.all):
        again = client.create_private_thread(support, name="Support: Ann", key="thread-1")
    assert again["id"] == opened["id"]
    assert again["type"] == 12
    opened_threads = [
        r for r in discord.requests if r.method == "POST" and r.path.endswith(f"/{support}/threads")
    ]
    assert len(opened_threads) == 1


def test_a_thread_on_a_case_message(discord: DiscordEmulator, client: DiscordClient) -> None:
    channel = discord.channel_ids["bug-report"]
    [message] = client.create_message(channel, content="Case 3 opened")
    thread = client.start_thread_from_message(
        channel, message["id"], name="Case 3", auto_archive_duration=10080
    )
    assert thread["id"] == message["id"]
    assert thread["thread_metadata"]["auto_archive_duration"] == 10080
    client.create_message(thread["id"], content="Discussion here")
    assert client.get_message(channel, message["id"])["thread"]["id"] == thread["id"]
    assert client.get_channel(thread["id"])["message_count"] == 1
