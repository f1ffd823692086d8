"""DiscordClient's channel, forum and server-setup calls against a real HTTP stub (see conftest.py)."""

import json

import pytest

from flexcord.adapters.discord import (
    AllowedMentions,
    DiscordUnavailable,
    FileUpload,
    MissingAccess,
    NotATextChannel,
)

BOT_TOKEN = "bot-token-VERY-SECRET"
FORUM = "222222222222222222"
GUILD = "333333333333333333"
NO_PINGS: dict[str, list[str]] = {"parse": []}


def test_get_channel_and_guild_listings_use_their_routes(client, stub):
    stub.respond(200, {"id": FORUM, "type": 15})
    stub.respond(200, [{"id": GUILD, "name": "@everyone"}])
    stub.respond(200, [{"id": FORUM, "type": 15}])

    assert client.get_channel(FORUM) == {"id": FORUM, "type": 15}
    assert client.list_guild_roles(GUILD) == [{"id": GUILD, "name": "@everyone"}]
    assert client.list_guild_channels(GUILD) == [{"id": FORUM, "type": 15}]

    assert [(r.method, r.path) for r in stub.requests] == [
        ("GET", f"/api/v10/channels/{FORUM}"),
        ("GET", f"/api/v10/guilds/{GUILD}/roles"),
        ("GET", f"/api/v10/guilds/{GUILD}/channels"),
    ]
    assert all(r.headers["Authorization"] == f"Bot {BOT_TOKEN}" for r in stub.requests)


def test_edit_channel_sends_exactly_the_given_fields(client, stub):
    stub.respond(200, {"id": FORUM})
    client.edit_channel(FORUM, available_tags=[{"name": "bug"}], name="cases")
    stub.respond(200, {"id": "44"})
    client.edit_channel("44", applied_tags=[5, "6"], archived=True)

    first, second = stub.requests
    assert (first.method, first.path) == ("PATCH", f"/api/v10/channels/{FORUM}")
    assert first.headers["Content-Type"] == "application/json"
    assert first.json() == {"available_tags": [{"name": "bug"}], "name": "cases"}
    assert second.json() == {"applied_tags": ["5", "6"], "archived": True}
    with pytest.raises(ValueError, match="at least one field"):
        client.edit_channel(FORUM)
    with pytest.raises(ValueError, match="at most 5 tags"):
        client.edit_channel(FORUM, applied_tags=["1", "2", "3", "4", "5", "6"])
    assert len(stub.requests) == 2


def test_a_forum_post_carries_its_message_and_tags(client, stub):
    stub.respond(201, {"id": "77", "message": {"id": "77"}})

    post = client.create_forum_post(
        FORUM,
        name="Case 12: crash",
        content="<@&999> a new bug",
        embeds=[{"title": "Case 12"}],
        applied_tags=["8", "9"],
        allowed_mentions=AllowedMentions(roles=["999"]),
        auto_archive_duration=10080,
    )

    assert post["message"]["id"] == post["id"]
    [request] = stub.requests
    assert (request.method, request.path) == ("POST", f"/api/v10/channels/{FORUM}/threads")
    assert request.json() == {
        "name": "Case 12: crash",
        "message": {
            "allowed_mentions": {"parse": [], "roles": ["999"]},
            "content": "<@&999> a new bug",
            "embeds": [{"title": "Case 12"}],
        },
        "applied_tags": ["8", "9"],
        "auto_archive_duration": 10080,
    }


def test_a_forum_post_with_files_describes_them_in_its_message(client, stub):
    stub.respond(201, {"id": "78"})
    client.create_forum_post(
        FORUM, name="Case 13", content="see shot", files=[FileUpload("shot.png", b"png", "image/png")]
    )
    [request] = stub.requests
    parts = request.multipart()
    assert set(parts) == {"payload_json", "files[0]"}
    payload = json.loads(parts["payload_json"].get_payload(decode=True))
    assert payload["message"]["attachments"] == [{"id": 0, "filename": "shot.png"}]
    assert payload["message"]["allowed_mentions"] == NO_PINGS
    assert "attachments" not in payload  # the files belong to the message, not the thread
    assert parts["files[0]"].get_payload(decode=True) == b"png"


def test_a_forum_post_is_checked_before_sending(client, stub):
    with pytest.raises(ValueError, match="1-100"):
        client.create_forum_post(FORUM, name="", content="x")
    with pytest.raises(ValueError, match="1-100"):
        client.create_forum_post(FORUM, name="x" * 101, content="x")
    with pytest.raises(ValueError, match="2000"):
        client.create_forum_post(FORUM, name="x", content="y" * 2001)
    with pytest.raises(ValueError, match="at most 5 tags"):
        client.create_forum_post(FORUM, name="x", content="y", applied_tags=["1"] * 6)
    assert stub.requests == []


def test_a_forum_post_is_not_retried_once_it_may_have_arrived(client, stub, fake_time):
    # Discord takes no nonce for a post: a retry after a 5xx could open it twice.
    stub.respond(500, {"message": "500: Internal Server Error", "code": 0})
    stub.respond(201, {"id": "79"})

    with pytest.raises(DiscordUnavailable) as raised:
        client.create_forum_post(FORUM, name="Case 14", content="x")

    assert len(stub.requests) == 1
    assert (raised.value.attempts, raised.value.last_status) == (1, 500)
    assert fake_time.sleeps == []


def test_a_forum_post_waits_out_a_429_and_is_sent_again(client, stub, fake_time):
    stub.respond(
        429,
        {"message": "You are being rate limited.", "retry_after": 0.5, "global": False},
        headers={"Retry-After": "1"},
    )
    stub.respond(201, {"id": "80"})

    assert client.create_forum_post(FORUM, name="Case 15", content="x") == {"id": "80"}
    assert len(stub.requests) == 2


def test_start_thread_from_message(client, stub):
    stub.respond(201, {"id": "55", "type": 11})
    thread = client.start_thread_from_message("44", "55", name="Case 3", auto_archive_duration=4320)
    assert thread["id"] == "55"
    [request] = stub.requests
    assert (request.method, request.path) == ("POST", "/api/v10/channels/44/messages/55/threads")
    assert request.json() == {"name": "Case 3", "auto_archive_duration": 4320}
    with pytest.raises(ValueError, match="1-100"):
        client.start_thread_from_message("44", "55", name="")


@pytest.mark.parametrize(
    ("code", "error_class"),
    [(50001, MissingAccess), (50008, NotATextChannel)],
)
def test_new_error_codes_raise_their_types(client, stub, code, error_class):
    stub.respond(403 if code == 50001 else 400, {"message": "nope", "code": code})
    with pytest.raises(error_class) as raised:
        client.create_message(FORUM, content="hi")
    assert raised.value.code == code
    assert len(stub.requests) == 1
