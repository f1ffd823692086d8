"""The Discord emulator's several guilds, channel permissions, forum channels, threads started from
messages and select menus, against Discord's documented behaviour, over real HTTP on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.discord_emulator import ChannelAccessError, DiscordEmulator, EmulatorControl
from tests.integration.test_discord_emulator import PNG, FakeBot, api, load_spec, required_fields

ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38

MISSING_ACCESS = {"message": "Missing Access", "code": 50001}
MISSING_PERMISSIONS = {"message": "Missing Permissions", "code": 50013}
TAGS = [
    {"name": "bug"},
    {"name": "feature", "emoji_name": "✨"},
    {"name": "resolved", "moderated": True},
]


@pytest.fixture
def emulator() -> Iterator[DiscordEmulator]:
    with DiscordEmulator() as running:
        yield running


@pytest.fixture
def bot(emulator: DiscordEmulator) -> Iterator[FakeBot]:
    fake = FakeBot(emulator.public_key_hex)
    emulator.interactions_url = fake.url
    yield fake
    fake.close()


def post(
    emulator: DiscordEmulator, channel_id: str, payload: dict[str, Any], **kwargs: Any
) -> requests.Response:
    return api(emulator, "POST", f"/channels/{channel_id}/messages", json=payload, **kwargs)


def error(response: requests.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


def reply_with(bot: FakeBot, data: dict[str, Any]) -> None:
    bot.reply = lambda body: (200, {"type": 4, "data": {"allowed_mentions": {"parse": []}, **data}})


def forum(emulator: DiscordEmulator, guild_id: str | None = None) -> dict[str, Any]:
    return emulator.create_channel(guild_id or emulator.guild_id, "cases", type=15, available_tags=TAGS)


def tag_ids(channel: dict[str, Any]) -> dict[str, str]:
    return {tag["name"]: tag["id"] for tag in channel["available_tags"]}


def forum_post(emulator: DiscordEmulator, forum_id: str, **overrides: Any) -> requests.Response:
    body = {"name": "Case 1: crash", "message": {"content": "It crashes", "allowed_mentions": {"parse": []}}}
    return api(emulator, "POST", f"/channels/{forum_id}/threads", json={**body, **overrides})


# -- several guilds ----------------------------------------------------------------------------


def test_a_second_guild_is_seeded_like_the_first(emulator: DiscordEmulator) -> None:
    first_channels = dict(emulator.channel_ids)
    second = emulator.add_guild("Second Server")
    assert second != emulator.guild_id
    assert emulator.guild_ids == [emulator.guild_id, second]
    channels = emulator.channel_ids_of(second)
    assert (
        set(channels)
        == set(first_channels)
        == {
            "general",
            "bug-report",
            "feature-request",
            "announcements",
            "support",
        }
    )
    assert not set(channels.values()) & set(first_channels.values())
    assert emulator.channel_ids == first_channels == emulator.channel_ids_of(emulator.guild_id)
    assert emulator.staff_role_id_of(second) not in (emulator.staff_role_id, second)
    assert emulator.staff_role_id_of(emulator.guild_id) == emulator.staff_role_id
    assert emulator.channel("announcements", guild_id=second)["type"] == 5
    assert emulator.channel(channels["general"])["guild_id"] == second

    roles = api(emulator, "GET", f"/guilds/{second}/roles").json()
    spec = load_spec()
    for role in roles:
        assert set(required_fields(spec, "GuildRoleResponse")) <= set(role)
    assert [role["name"] for role in roles] == ["@everyone", "staff", "flexcord"]
    assert roles[0]["id"] == second
    assert roles[2]["managed"] is True
    assert roles[2]["tags"] == {"bot_id": emulator.application_id}
    listed = api(emulator, "GET", f"/guilds/{second}/channels").json()
    assert [c["name"] for c in listed] == list(channels)
    assert {c["guild_id"] for c in listed} == {second}
    for channel in listed:
        assert set(required_fields(spec, "GuildChannelResponse")) <= set(channel)
    assert error(api(emulator, "GET", "/guilds/123456789012345678/roles")) == (403, MISSING_ACCESS)
    assert error(api(emulator, "GET", "/guilds/123456789012345678/channels")) == (403, MISSING_ACCESS)


def test_get_guild_member_answers_per_guild(emulator: DiscordEmulator) -> None:
    second = emulator.add_guild("Second Server")
    alice = emulator.user_id("alice")
    assert api(emulator, "GET", f"/guilds/{emulator.guild_id}/members/{alice}").json()["roles"] == []
    outside = api(emulator, "GET", f"/guilds/{second}/members/{alice}")
    assert error(outside) == (404, {"message": "Unknown Member", "code": 10007})
    joined = emulator.join_guild("alice", second, roles=["staff"])
    assert joined["roles"] == [emulator.staff_role_id_of(second)]
    member = api(emulator, "GET", f"/guilds/{second}/members/{alice}").json()
    assert member["roles"] == [emulator.staff_role_id_of(second)]
    assert member["user"]["id"] == alice
    # Her roles in the first guild did not change.
    assert api(emulator, "GET", f"/guilds/{emulator.guild_id}/members/{alice}").json()["roles"] == []
    with pytest.raises(ValueError, match="unknown role"):
        emulator.join_guild("alice", second, roles=[emulator.staff_role_id])  # the first guild's role
    emulator.add_user("zed", guild_ids=[second], roles=["staff"])
    zed = emulator.user_id("zed")
    assert api(emulator, "GET", f"/guilds/{second}/members/{zed}").json()["roles"] == [
        emulator.staff_role_id_of(second)
    ]
    assert api(emulator, "GET", f"/guilds/{emulator.guild_id}/members/{zed}").status_code == 404
    unknown = api(emulator, "GET", f"/guilds/123456789012345678/members/{zed}")
    assert error(unknown) == (403, MISSING_ACCESS)


def test_members_act_in_the_guild_they_choose(emulator: DiscordEmulator, bot: FakeBot) -> None:
    reply_with(bot, {"content": "ok"})
    second = emulator.add_guild("Second Server")
    emulator.join_guild("mod", second)  # a plain member there: staff only in the first guild
    result = emulator.run_command("mod", "status", guild_id=second)
    assert not result.failed, result.error
    payload = bot.received[-1]
    assert payload["guild_id"] == payload["guild"]["id"] == second
    assert payload["channel_id"] == emulator.channel_ids_of(second)["general"]
    assert payload["channel"]["guild_id"] == second
    assert payload["authorizing_integration_owners"] == {"0": second}
    assert payload["member"]["roles"] == []
    assert not int(payload["member"]["permissions"]) & (1 << 5)  # no Manage Server there
    first = emulator.run_command("mod", "status")
    assert first.interaction["guild_id"] == emulator.guild_id
    assert first.interaction["member"]["roles"] == [emulator.staff_role_id]
    assert int(first.interaction["member"]["permissions"]) & (1 << 5)
    with pytest.raises(ChannelAccessError, match="not a member"):
        emulator.run_command("bob", "status", guild_id=second)
    with pytest.raises(ValueError, match="not in guild"):
        emulator.run_command("mod", "status", channel=emulator.channel_ids["general"], guild_id=second)

    # A guild command is offered in its own guild only.
    api(
        emulator,
        "PUT",
        f"/applications/{emulator.application_id}/guilds/{second}/commands",
        json=[{"name": "setup", "description": "Set the server up"}],
    )
    assert emulator.commands(guild=second)[0]["guild_id"] == second
    registered = emulator.run_command("mod", "setup", guild_id=second)
    assert registered.interaction["data"]["guild_id"] == second
    assert registered.interaction["data"]["id"] == emulator.commands(guild=second)[0]["id"]
    elsewhere = emulator.run_command("mod", "setup")  # not registered in the first guild
    assert elsewhere.interaction["data"]["id"] != registered.interaction["data"]["id"]
    assert "guild_id" not in elsewhere.interaction["data"]


# -- permissions ---------------------------------------------------------------------------------


def test_overwrites_follow_discords_order(emulator: DiscordEmulator) -> None:
    guild = emulator.guild_id
    staff = emulator.staff_role_id
    channel = "bug-report"
    base = emulator.permissions_in("alice", channel)
    assert base & SEND_MESSAGES
    # @everyone's deny applies to everyone...
    emulator.set_channel_overwrite(channel, guild, deny=SEND_MESSAGES)
    assert not emulator.permissions_in("alice", channel) & SEND_MESSAGES
    # ...a role's allow comes after it...
    emulator.set_channel_overwrite(channel, staff, allow=SEND_MESSAGES)
    assert emulator.permissions_in("mod", channel) & SEND_MESSAGES
    assert not emulator.permissions_in("alice", channel) & SEND_MESSAGES
    # ...and the member's own overwrite comes last.
    emulator.set_channel_overwrite(channel, emulator.user_id("mod"), deny=SEND_MESSAGES)
    assert not emulator.permissions_in("mod", channel) & SEND_MESSAGES
    emulator.set_channel_overwrite(channel, emulator.user_id("alice"), allow=SEND_MESSAGES)
    assert emulator.permissions_in("alice", channel) & SEND_MESSAGES
    # Role overwrites act together: one role's allow beats another role's deny.
    muted = emulator.create_role(guild, "muted")
    helper = emulator.create_role(guild, "helper")
    emulator.add_user("carol", roles=["muted", "helper"])
    emulator.set_channel_overwrite(channel, muted, deny=SEND_MESSAGES | ATTACH_FILES)
    emulator.set_channel_overwrite(channel, helper, allow=SEND_MESSAGES)
    carol = emulator.permissions_in("carol", channel)
    assert carol & SEND_MESSAGES
    assert not carol & ATTACH_FILES
    emulator.set_channel_overwrite(channel, muted)
    emulator.set_channel_overwrite(channel, helper)
    rendered = emulator.channel(channel)["permission_overwrites"]
    assert {o["id"]: (o["type"], o["allow"], o["deny"]) for o in rendered} == {
        guild: (0, "0", str(SEND_MESSAGES)),
        staff: (0, str(SEND_MESSAGES), "0"),
        emulator.user_id("mod"): (1, "0", str(SEND_MESSAGES)),
        emulator.user_id("alice"): (1, str(SEND_MESSAGES), "0"),
    }
    # Removing an overwrite (allow == deny == 0) restores what the roles give.
    emulator.set_channel_overwrite(channel, emulator.user_id("mod"))
    assert emulator.permissions_in("mod", channel) & SEND_MESSAGES
    # Other channels are untouched.
    assert emulator.permissions_in("alice", "general") == base
    # Administrator ignores every overwrite.
    emulator.set_channel_overwrite(channel, staff, deny=VIEW_CHANNEL)
    emulator.set_role_permissions(staff, ADMINISTRATOR)
    assert emulator.permissions_in("mod", channel) == emulator.permissions_in("mod", "general")
    assert emulator.permissions_in("mod", channel) & VIEW_CHANNEL
    with pytest.raises(ValueError, match="neither a role"):
        emulator.set_channel_overwrite(channel, "123456789012345678", deny=SEND_MESSAGES)


def test_the_guild_owner_has_every_permission(emulator: DiscordEmulator) -> None:
    second = emulator.add_guild("Bob's Server", owner="bob")
    general = emulator.channel_ids_of(second)["general"]
    emulator.set_channel_overwrite(general, second, deny=VIEW_CHANNEL | SEND_MESSAGES)
    assert emulator.permissions_in("bob", general) & (VIEW_CHANNEL | SEND_MESSAGES | ADMINISTRATOR)
    assert emulator.state()["guilds"][second]["owner_id"] == emulator.user_id("bob")


def test_the_bot_needs_its_permissions_on_each_route(emulator: DiscordEmulator) -> None:
    bot_role = emulator.bot_role_id_of(emulator.guild_id)
    bug_report = emulator.channel_ids["bug-report"]
    emulator.set_channel_overwrite("bug-report", bot_role, deny=SEND_MESSAGES)
    refused = post(emulator, bug_report, {"content": "case"})
    assert error(refused) == (403, MISSING_PERMISSIONS)
    assert post(emulator, emulator.channel_ids["general"], {"content": "case"}).status_code == 200
    # A member overwrite for the bot beats its role's deny.
    emulator.set_channel_overwrite("bug-report", emulator.application_id, allow=SEND_MESSAGES)
    assert post(emulator, bug_report, {"content": "case"}).status_code == 200

    emulator.set_channel_overwrite("feature-request", emulator.guild_id, deny=VIEW_CHANNEL)
    hidden = emulator.channel_ids["feature-request"]
    assert error(post(emulator, hidden, {"content": "x"})) == (403, MISSING_ACCESS)
    assert error(api(emulator, "GET", f"/channels/{hidden}")) == (403, MISSING_ACCESS)
    assert error(api(emulator, "GET", f"/channels/{hidden}/messages")) == (403, MISSING_ACCESS)
    with pytest.raises(ChannelAccessError, match="cannot view"):
        emulator.run_command("alice", "status", channel="feature-request")

    general = emulator.channel_ids["general"]
    emulator.set_channel_overwrite("general", bot_role, deny=ATTACH_FILES | EMBED_LINKS)
    upload = api(
        emulator,
        "POST",
        f"/channels/{general}/messages",
        data={"payload_json": json.dumps({"content": "shot"})},
        files={"files[0]": ("shot.png", PNG, "image/png")},
    )
    assert error(upload) == (403, MISSING_PERMISSIONS)
    embed = {"title": "Case 1"}
    assert error(post(emulator, general, {"embeds": [embed]})) == (403, MISSING_PERMISSIONS)
    with_text = post(emulator, general, {"content": "Case 1", "embeds": [embed]})
    assert with_text.status_code == 200
    assert with_text.json()["embeds"] == []  # shown without its embed
    assert with_text.json()["content"] == "Case 1"


def test_interactions_carry_permissions_computed_for_the_channel(
    emulator: DiscordEmulator, bot: FakeBot
) -> None:
    reply_with(bot, {"content": "ok"})
    emulator.set_channel_overwrite("support", emulator.bot_role_id_of(emulator.guild_id), deny=SEND_MESSAGES)
    emulator.set_channel_overwrite("support", emulator.user_id("alice"), deny=ATTACH_FILES)
    in_support = emulator.run_command("alice", "status", channel="support").interaction
    in_general = emulator.run_command("alice", "status").interaction
    assert int(in_general["app_permissions"]) & SEND_MESSAGES
    assert not int(in_support["app_permissions"]) & SEND_MESSAGES
    assert int(in_support["app_permissions"]) == emulator.permissions_in("flexcord", "support")
    assert int(in_general["member"]["permissions"]) & ATTACH_FILES
    assert not int(in_support["member"]["permissions"]) & ATTACH_FILES
    assert in_support["channel"]["permissions"] == in_support["member"]["permissions"]
    assert in_support["channel"]["permission_overwrites"]


def test_threads_follow_their_parents_overwrites(emulator: DiscordEmulator) -> None:
    support = emulator.channel_ids["support"]
    thread = api(emulator, "POST", f"/channels/{support}/threads", json={"name": "t", "type": 11}).json()
    assert post(emulator, thread["id"], {"content": "in the thread"}).status_code == 200
    emulator.set_channel_overwrite(
        "support", emulator.bot_role_id_of(emulator.guild_id), deny=SEND_MESSAGES_IN_THREADS
    )
    assert error(post(emulator, thread["id"], {"content": "again"})) == (403, MISSING_PERMISSIONS)
    assert post(emulator, support, {"content": "the channel itself"}).status_code == 200
    emulator.set_channel_overwrite(
        "support", emulator.bot_role_id_of(emulator.guild_id), deny=CREATE_PUBLIC_THREADS
    )
    refused = api(emulator, "POST", f"/channels/{support}/threads", json={"name": "t2", "type": 11})
    assert error(refused) == (403, MISSING_PERMISSIONS)
    with pytest.raises(ValueError, match="threads use their parent"):
        emulator.set_channel_overwrite(thread["id"], emulator.guild_id, deny=SEND_MESSAGES)


# -- forum channels ------------------------------------------------------------------------------


def test_a_forum_channel_has_tags_and_refuses_plain_messages(emulator: DiscordEmulator) -> None:
    created = forum(emulator)
    fetched = api(emulator, "GET", f"/channels/{created['id']}").json()
    assert fetched == created
    assert fetched["type"] == 15
    spec = load_spec()
    assert set(required_fields(spec, "GuildChannelResponse")) <= set(fetched)
    for tag in fetched["available_tags"]:
        assert set(required_fields(spec, "ForumTagResponse")) == set(tag)
    assert [(t["name"], t["moderated"], t["emoji_name"]) for t in fetched["available_tags"]] == [
        ("bug", False, None),
        ("feature", False, "✨"),
        ("resolved", True, None),
    ]
    assert emulator.channel_ids["cases"] == created["id"]
    refused = post(emulator, created["id"], {"content": "hello"})
    assert error(refused) == (400, {"message": "Cannot send messages in a non-text channel", "code": 50008})


def test_a_forum_post_is_a_thread_whose_starter_message_shares_its_id(emulator: DiscordEmulator) -> None:
    created = forum(emulator)
    tags = tag_ids(created)
    response = forum_post(
        emulator,
        created["id"],
        applied_tags=[tags["bug"], tags["feature"]],
        message={"content": "It crashes", "embeds": [{"title": "Case 1"}], "allowed_mentions": {"parse": []}},
    )
    assert response.status_code == 201, response.text
    post_ = response.json()
    spec = load_spec()
    assert set(required_fields(spec, "ThreadResponse")) <= set(post_)
    assert (post_["type"], post_["parent_id"], post_["guild_id"]) == (11, created["id"], emulator.guild_id)
    assert post_["applied_tags"] == [tags["bug"], tags["feature"]]
    assert post_["owner_id"] == emulator.application_id
    assert post_["member"]["user_id"] == emulator.application_id
    assert post_["message"]["id"] == post_["id"]
    assert post_["message"]["channel_id"] == post_["id"]
    assert post_["message"]["embeds"][0]["title"] == "Case 1"
    assert post_["message_count"] == 0  # the starter message does not count
    reply = post(emulator, post_["id"], {"content": "Staff looked at it"})
    assert reply.status_code == 200
    thread = api(emulator, "GET", f"/channels/{post_['id']}").json()
    assert (thread["message_count"], thread["total_message_sent"]) == (1, 1)
    assert [m["content"] for m in emulator.messages(post_["id"])] == ["It crashes", "Staff looked at it"]
    assert [t["id"] for t in emulator.threads(parent=created["id"])] == [post_["id"]]
    assert api(emulator, "GET", f"/channels/{created['id']}").json()["last_message_id"] == post_["id"]

    upload = api(
        emulator,
        "POST",
        f"/channels/{created['id']}/threads",
        data={
            "payload_json": json.dumps(
                {
                    "name": "Case 2",
                    "applied_tags": [tags["bug"]],
                    "message": {"content": "see shot", "attachments": [{"id": 0, "filename": "shot.png"}]},
                }
            )
        },
        files={"files[0]": ("shot.png", PNG, "image/png")},
    )
    assert upload.status_code == 201, upload.text
    attachment = upload.json()["message"]["attachments"][0]
    assert attachment["filename"] == "shot.png"
    assert requests.get(attachment["url"], timeout=5).content == PNG


def test_forum_posts_are_validated(emulator: DiscordEmulator) -> None:
    created = forum(emulator)
    tags = tag_ids(created)
    too_many = forum_post(emulator, created["id"], applied_tags=[tags["bug"]] * 6)
    assert too_many.status_code == 400
    assert too_many.json()["errors"]["applied_tags"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    unknown = forum_post(emulator, created["id"], applied_tags=["123456789012345678"])
    assert unknown.status_code == 400
    assert "0" in unknown.json()["errors"]["applied_tags"]
    no_message = api(emulator, "POST", f"/channels/{created['id']}/threads", json={"name": "x"})
    assert no_message.status_code == 400
    assert no_message.json()["errors"]["message"]["_errors"][0]["code"] == "BASE_TYPE_REQUIRED"
    too_long = forum_post(emulator, created["id"], message={"content": "x" * 2001})
    assert too_long.status_code == 400
    assert too_long.json()["errors"]["message"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    empty = forum_post(emulator, created["id"], message={})
    assert error(empty) == (400, {"message": "Cannot send an empty message", "code": 50006})
    assert emulator.threads(parent=created["id"]) == []  # nothing was left behind
    # A moderated tag takes Manage Threads.
    emulator.set_channel_overwrite(
        created["id"], emulator.bot_role_id_of(emulator.guild_id), deny=MANAGE_THREADS
    )
    moderated = forum_post(emulator, created["id"], applied_tags=[tags["resolved"]])
    assert error(moderated) == (403, MISSING_PERMISSIONS)
    assert forum_post(emulator, created["id"], applied_tags=[tags["bug"]]).status_code == 201


def test_editing_a_forums_tags_needs_manage_channels(emulator: DiscordEmulator) -> None:
    created = forum(emulator)
    tags = tag_ids(created)
    path = f"/channels/{created['id']}"
    edited = api(
        emulator,
        "PATCH",
        path,
        json={"available_tags": [{"id": tags["bug"], "name": "bug report"}, {"name": "question"}]},
    )
    assert edited.status_code == 200, edited.text
    renamed = edited.json()["available_tags"]
    assert renamed[0] == {
        "id": tags["bug"],
        "name": "bug report",
        "moderated": False,
        "emoji_id": None,
        "emoji_name": None,
    }
    assert renamed[1]["name"] == "question"
    assert renamed[1]["id"] not in tags.values()
    too_long = api(emulator, "PATCH", path, json={"available_tags": [{"name": "x" * 21}]})
    assert too_long.status_code == 400
    assert "name" in too_long.json()["errors"]["available_tags"]["0"]
    too_many = api(emulator, "PATCH", path, json={"available_tags": [{"name": f"t{i}"} for i in range(21)]})
    assert too_many.status_code == 400
    emulator.set_channel_overwrite(
        created["id"], emulator.bot_role_id_of(emulator.guild_id), deny=MANAGE_CHANNELS
    )
    refused = api(emulator, "PATCH", path, json={"available_tags": [{"name": "other"}]})
    assert error(refused) == (403, MISSING_PERMISSIONS)
    assert [t["name"] for t in api(emulator, "GET", path).json()["available_tags"]] == [
        "bug report",
        "question",
    ]


def test_editing_a_post_tags_name_archive_and_lock(emulator: DiscordEmulator) -> None:
    created = forum(emulator)
    tags = tag_ids(created)
    post_id = forum_post(emulator, created["id"], applied_tags=[tags["bug"]]).json()["id"]
    path = f"/channels/{post_id}"
    edited = api(emulator, "PATCH", path, json={"applied_tags": [tags["feature"]], "name": "Case 1: idea"})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["applied_tags"], edited.json()["name"]) == ([tags["feature"]], "Case 1: idea")
    unknown = api(emulator, "PATCH", path, json={"applied_tags": ["123456789012345678"]})
    assert unknown.status_code == 400
    archived = api(emulator, "PATCH", path, json={"archived": True, "locked": True}).json()
    assert archived["thread_metadata"]["archived"] is True
    assert archived["thread_metadata"]["locked"] is True
    rename = api(emulator, "PATCH", path, json={"name": "while archived"})
    assert error(rename) == (400, {"message": "Thread is archived", "code": 50083})
    emulator.set_channel_overwrite(
        created["id"], emulator.bot_role_id_of(emulator.guild_id), deny=MANAGE_THREADS
    )
    assert error(post(emulator, post_id, {"content": "x"})) == (
        400,
        {"message": "Thread is archived", "code": 50083},
    )
    assert error(api(emulator, "PATCH", path, json={"archived": False})) == (403, MISSING_PERMISSIONS)
    emulator.set_channel_overwrite(created["id"], emulator.bot_role_id_of(emulator.guild_id))
    reopened = api(emulator, "PATCH", path, json={"archived": False, "locked": False}).json()
    assert reopened["thread_metadata"]["archived"] is False
    # Sending to an archived thread that is not locked unarchives it.
    api(emulator, "PATCH", path, json={"archived": True})
    assert post(emulator, post_id, {"content": "back"}).status_code == 200
    assert api(emulator, "GET", path).json()["thread_metadata"]["archived"] is False


def test_starting_a_thread_from_a_message(emulator: DiscordEmulator) -> None:
    general = emulator.channel_ids["general"]
    message = post(emulator, general, {"content": "Case 7 opened"}).json()
    path = f"/channels/{general}/messages/{message['id']}/threads"
    response = api(emulator, "POST", path, json={"name": "Case 7", "auto_archive_duration": 4320})
    assert response.status_code == 201, response.text
    thread = response.json()
    assert set(required_fields(load_spec(), "ThreadResponse")) <= set(thread)
    assert (thread["id"], thread["type"], thread["parent_id"]) == (message["id"], 11, general)
    assert thread["thread_metadata"]["auto_archive_duration"] == 4320
    again = api(emulator, "POST", path, json={"name": "Case 7 again"})
    assert error(again) == (
        400,
        {"message": "A thread has already been created for this message", "code": 160004},
    )
    starter = api(emulator, "GET", f"/channels/{general}/messages/{message['id']}").json()
    assert starter["thread"]["id"] == thread["id"]
    assert starter["flags"] & (1 << 5)  # HAS_THREAD
    assert post(emulator, thread["id"], {"content": "in the public thread"}).status_code == 200
    assert [m["content"] for m in emulator.messages(thread["id"], as_user="alice")] == [
        "in the public thread"
    ]

    announcements = emulator.channel_ids["announcements"]
    news = post(emulator, announcements, {"content": "v2 is out"}).json()
    announced = api(
        emulator, "POST", f"/channels/{announcements}/messages/{news['id']}/threads", json={"name": "v2"}
    )
    assert announced.json()["type"] == 10
    unknown = api(
        emulator, "POST", f"/channels/{general}/messages/123456789012345678/threads", json={"name": "x"}
    )
    assert error(unknown) == (404, {"message": "Unknown Message", "code": 10008})
    nameless = api(emulator, "POST", f"/channels/{general}/messages/{news['id']}/threads", json={})
    assert nameless.status_code == 400
    cases = forum(emulator)
    in_forum = api(
        emulator, "POST", f"/channels/{cases['id']}/messages/{message['id']}/threads", json={"name": "x"}
    )
    assert error(in_forum) == (400, {"message": "Cannot execute action on this channel type", "code": 50024})
    private_in_news = api(
        emulator, "POST", f"/channels/{announcements}/threads", json={"name": "x", "type": 12}
    )
    assert private_in_news.status_code == 400


# -- select menus --------------------------------------------------------------------------------


def row(*components: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(components)}


def string_select(custom_id: str = "pick", count: int = 3, **extra: Any) -> dict[str, Any]:
    options = [{"label": f"Option {i}", "value": f"v{i}"} for i in range(count)]
    return {"type": 3, "custom_id": custom_id, "options": options, **extra}


SELECT_MESSAGE = {
    "content": "Triage",
    "allowed_mentions": {"parse": []},
    "components": [
        row(string_select("priority", max_values=2)),
        row({"type": 5, "custom_id": "assignee", "min_values": 1, "max_values": 2}),
        row({"type": 6, "custom_id": "team"}),
        row({"type": 7, "custom_id": "notify", "max_values": 3}),
        row({"type": 8, "custom_id": "move", "channel_types": [0, 15]}),
    ],
}


@pytest.mark.parametrize(
    ("components", "where", "code"),
    [
        ([row(string_select(count=0))], ("0", "components", "0", "options"), "BASE_TYPE_BAD_LENGTH"),
        ([row(string_select(count=26))], ("0", "components", "0", "options"), "BASE_TYPE_BAD_LENGTH"),
        ([row(string_select(max_values=4))], ("0", "components", "0", "max_values"), "BASE_TYPE_MAX"),
        (
            [row(string_select(min_values=3, max_values=2))],
            ("0", "components", "0", "min_values"),
            "BASE_TYPE_BAD_VALUE",
        ),
        ([row(string_select(max_values=26))], ("0", "components", "0", "max_values"), "NUMBER_TYPE_MAX"),
        (
            [row(string_select(default_values=[{"id": "1", "type": "user"}]))],
            ("0", "components", "0", "default_values"),
            "BASE_TYPE_BAD_VALUE",
        ),
        (
            [row({"type": 6, "custom_id": "r", "options": []})],
            ("0", "components", "0", "options"),
            "BASE_TYPE_BAD_VALUE",
        ),
        (
            [row({"type": 6, "custom_id": "r", "channel_types": [0]})],
            ("0", "components", "0", "channel_types"),
            "BASE_TYPE_BAD_VALUE",
        ),
        (
            [row({"type": 8, "custom_id": "c", "channel_types": [99]})],
            ("0", "components", "0", "channel_types", "0"),
            "BASE_TYPE_CHOICES",
        ),
        (
            [row({"type": 6, "custom_id": "r", "default_values": [{"id": "123", "type": "user"}]})],
            ("0", "components", "0", "default_values", "0", "type"),
            "BASE_TYPE_CHOICES",
        ),
        (
            [
                row(
                    {
                        "type": 5,
                        "custom_id": "u",
                        "default_values": [{"id": "1", "type": "user"}, {"id": "2", "type": "user"}],
                    }
                )
            ],
            ("0", "components", "0", "default_values"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            [row(string_select("a"), string_select("b"))],
            ("0", "components"),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
        ),
        (
            [row(string_select("a"), {"type": 2, "style": 1, "label": "b", "custom_id": "b"})],
            ("0", "components"),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
        ),
        ([row(string_select(f"s{i}")) for i in range(6)], (), "BASE_TYPE_MAX_LENGTH"),
    ],
)
def test_select_menus_are_validated(
    emulator: DiscordEmulator, components: list[dict[str, Any]], where: tuple[str, ...], code: str
) -> None:
    response = post(emulator, emulator.channel_ids["general"], {"content": "x", "components": components})
    assert response.status_code == 400, response.text
    node = response.json()["errors"]["components"]
    for key in where:
        node = node[key]
    assert code in [e["code"] for e in node["_errors"]]


def test_valid_select_menus_are_stored_and_checked_in_interaction_responses(
    emulator: DiscordEmulator, bot: FakeBot
) -> None:
    message = post(emulator, emulator.channel_ids["general"], SELECT_MESSAGE)
    assert message.status_code == 200, message.text
    assert [c["components"][0]["type"] for c in message.json()["components"]] == [3, 5, 6, 7, 8]
    defaults = [{"id": emulator.staff_role_id, "type": "role"}]
    ok = post(
        emulator,
        emulator.channel_ids["general"],
        {"components": [row({"type": 6, "custom_id": "team", "default_values": defaults})]},
    )
    assert ok.status_code == 200, ok.text
    reply_with(bot, {"content": "pick", "components": [row(string_select(count=0))]})
    result = emulator.run_command("alice", "status")
    assert result.failed
    assert "options" in (result.error or "")


def test_select_sends_values_and_resolved_objects(emulator: DiscordEmulator, bot: FakeBot) -> None:
    reply_with(bot, {"content": "noted"})
    message = post(emulator, emulator.channel_ids["general"], SELECT_MESSAGE).json()
    emulator.set_channel_overwrite("support", emulator.user_id("mod"), deny=SEND_MESSAGES)

    chosen = emulator.select("mod", message["id"], "priority", ["v2", "v0"])
    assert not chosen.failed, chosen.error
    data = bot.received[-1]["data"]
    assert data == {"custom_id": "priority", "component_type": 3, "values": ["v2", "v0"]}
    assert bot.received[-1]["message"]["id"] == message["id"]
    assert bot.received[-1]["type"] == 3

    emulator.select("mod", message["id"], "assignee", ["alice", emulator.user_id("bob")])
    data = bot.received[-1]["data"]
    alice, bob = emulator.user_id("alice"), emulator.user_id("bob")
    assert (data["component_type"], data["values"]) == (5, [alice, bob])
    assert set(data["resolved"]["users"]) == set(data["resolved"]["members"]) == {alice, bob}
    assert data["resolved"]["users"][alice]["username"] == "alice"
    assert "user" not in data["resolved"]["members"][alice]
    assert data["resolved"]["members"][alice]["permissions"] == str(
        emulator.permissions_in("alice", "general")
    )

    emulator.select("mod", message["id"], "team", ["staff"])
    data = bot.received[-1]["data"]
    assert data["values"] == [emulator.staff_role_id]
    assert data["resolved"]["roles"][emulator.staff_role_id]["name"] == "staff"

    emulator.select("mod", message["id"], "notify", ["staff", "alice"])
    data = bot.received[-1]["data"]
    assert data["values"] == [emulator.staff_role_id, alice]
    assert set(data["resolved"]) == {"roles", "users", "members"}

    cases = forum(emulator)
    emulator.select("mod", message["id"], "move", ["support"])
    data = bot.received[-1]["data"]
    support = emulator.channel_ids["support"]
    assert data["values"] == [support]
    resolved = data["resolved"]["channels"][support]
    assert set(resolved) == {"id", "name", "type", "permissions"}
    assert int(resolved["permissions"]) == emulator.permissions_in("mod", "support")
    assert not int(resolved["permissions"]) & SEND_MESSAGES  # the member's own permissions there
    emulator.select("mod", message["id"], "move", [cases["id"]])
    assert bot.received[-1]["data"]["resolved"]["channels"][cases["id"]]["type"] == 15

    with pytest.raises(ValueError, match="takes 1-1 values"):
        emulator.select("mod", message["id"], "team", [])
    with pytest.raises(ValueError, match="not an option"):
        emulator.select("mod", message["id"], "priority", ["v9"])
    with pytest.raises(ValueError, match="not of the types"):
        emulator.select("mod", message["id"], "move", ["announcements"])
    button = post(
        emulator,
        emulator.channel_ids["general"],
        {"components": [row({"type": 2, "style": 1, "label": "b", "custom_id": "b"})]},
    ).json()
    with pytest.raises(ValueError, match="not a select"):
        emulator.select("mod", button["id"], "b", ["x"])


def test_select_in_a_second_guild_resolves_that_guilds_objects(
    emulator: DiscordEmulator, bot: FakeBot
) -> None:
    reply_with(bot, {"content": "noted"})
    second = emulator.add_guild("Second Server")
    emulator.join_guild("alice", second)
    general = emulator.channel_ids_of(second)["general"]
    message = post(emulator, general, SELECT_MESSAGE).json()
    emulator.select("alice", message["id"], "team", ["staff"], guild_id=second)
    payload = bot.received[-1]
    assert payload["guild_id"] == second
    assert payload["data"]["values"] == [emulator.staff_role_id_of(second)]
    with pytest.raises(ValueError, match="not a role of this server"):
        emulator.select("alice", message["id"], "team", [emulator.staff_role_id])
    with pytest.raises(ValueError, match="not a member of this server"):
        emulator.select("alice", message["id"], "assignee", ["bob"])
    with pytest.raises(ValueError, match="not in guild"):
        emulator.select("alice", message["id"], "team", ["staff"], guild_id=emulator.guild_id)
    with pytest.raises(ChannelAccessError):
        emulator.select("bob", message["id"], "team", ["staff"])


def test_control_api_for_guilds_channels_overwrites_and_selects(
    emulator: DiscordEmulator, bot: FakeBot
) -> None:
    reply_with(bot, {"content": "noted"})
    control = EmulatorControl(emulator.base_url)
    added = control.add_guild("Remote Server")
    assert added["channels"] == emulator.channel_ids_of(added["id"])
    assert added["staff_role_id"] == emulator.staff_role_id_of(added["id"])
    member = control.join_guild("bob", added["id"], roles=["staff"])
    assert member["roles"] == [added["staff_role_id"]]
    created = control.create_channel(added["id"], "cases", type=15, available_tags=[{"name": "bug"}])
    assert created["available_tags"][0]["name"] == "bug"
    channel = control.set_channel_overwrite(created["id"], added["id"], deny=SEND_MESSAGES)
    assert channel["permission_overwrites"] == [
        {"id": added["id"], "type": 0, "allow": "0", "deny": str(SEND_MESSAGES)}
    ]
    message = post(emulator, added["channels"]["general"], SELECT_MESSAGE).json()
    result = control.select("bob", message["id"], "team", ["staff"], guild_id=added["id"])
    assert result["interaction"]["data"]["values"] == [added["staff_role_id"]]
    command = control.run_command("bob", "status", guild_id=added["id"])
    assert command["interaction"]["guild_id"] == added["id"]
    assert set(control.state()["guilds"]) == {emulator.guild_id, added["id"]}
    control.add_user("remote", roles=["staff"], guild_ids=[added["id"]])
    assert control.state()["users"]["remote"]["guild_ids"] == [added["id"]]
    assert emulator.join_guild("remote", added["id"])["roles"] == [added["staff_role_id"]]
