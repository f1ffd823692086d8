"""The Discord emulator against Discord's documented behaviour, over real HTTP on loopback.

A tiny local HTTP server plays the bot's interactions endpoint where a test needs one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from devstack.discord_emulator import (
    ROUTES,
    ChannelAccessError,
    CommandUnavailableError,
    DiscordEmulator,
    EmulatorControl,
    EmulatorControlError,
    snowflake_datetime,
)
from tests.support.spec import DISCORD_SPEC

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (3).to_bytes(4, "big") + (2).to_bytes(4, "big") + b"rest"

BotAnswer = tuple[int, Any] | tuple[int, Any, dict[str, str]]


class FakeBot:
    """A minimal interactions endpoint: verifies Discord's signature, then answers via ``reply``."""

    def __init__(self, public_key_hex: str) -> None:
        self.verify_key = VerifyKey(bytes.fromhex(public_key_hex))
        self.received: list[dict[str, Any]] = []
        self.reply: Callable[[dict[str, Any]], BotAnswer] = lambda body: (200, {"type": 1})
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                signature = self.headers.get("X-Signature-Ed25519", "")
                timestamp = self.headers.get("X-Signature-Timestamp", "")
                try:
                    bot.verify_key.verify(timestamp.encode() + raw, bytes.fromhex(signature))
                except (BadSignatureError, ValueError):
                    self._send(401, b"invalid request signature", "text/plain")
                    return
                body = json.loads(raw)
                bot.received.append(body)
                if body["type"] == 1:
                    self._send(200, b'{"type": 1}', "application/json")
                    return
                answer = bot.reply(body)
                headers = answer[2] if len(answer) == 3 else {}
                content_type = headers.get("Content-Type", "application/json")
                payload = answer[1] if isinstance(answer[1], bytes) else json.dumps(answer[1]).encode()
                self._send(answer[0], payload, content_type)

            def _send(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/interactions"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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


def api(emulator: DiscordEmulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bot {emulator.bot_token}", **kwargs.pop("headers", {})}
    return requests.request(method, emulator.api_base_url + path, headers=headers, timeout=5, **kwargs)


def send(emulator: DiscordEmulator, channel: str, payload: dict[str, Any]) -> requests.Response:
    return api(emulator, "POST", f"/channels/{emulator.channel_ids[channel]}/messages", json=payload)


def webhook(
    emulator: DiscordEmulator, method: str, token: str, tail: str = "", **kwargs: Any
) -> requests.Response:
    url = f"{emulator.api_base_url}/webhooks/{emulator.application_id}/{token}{tail}"
    return requests.request(method, url, timeout=5, **kwargs)


def load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(DISCORD_SPEC.read_text())
    return spec


def created_between(snowflake: str, before: float, after: float) -> bool:
    """The snowflake's millisecond timestamp falls between two clock readings around its request."""
    created = snowflake_datetime(snowflake).timestamp()
    return before - 0.001 <= created <= after + 0.001


def required_fields(spec: dict[str, Any], schema: str) -> list[str]:
    fields: list[str] = spec["components"]["schemas"][schema]["required"]
    return fields


# -- the REST surface matches the spec ---------------------------------------------------------


def test_every_route_exists_in_the_openapi_document_with_its_method() -> None:
    spec = load_spec()

    def shape(path: str) -> str:
        return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))

    spec_paths = {shape(path): item for path, item in spec["paths"].items()}
    for route in ROUTES:
        assert shape(route.template) in spec_paths, route.template
        assert route.method.lower() in spec_paths[shape(route.template)], route.key


def test_responses_carry_the_fields_the_spec_requires(emulator: DiscordEmulator) -> None:
    spec = load_spec()
    before = time.time()
    message = send(emulator, "general", {"content": "hello", "nonce": "n-1"}).json()
    after = time.time()
    assert set(required_fields(spec, "MessageResponse")) <= set(message)
    assert set(required_fields(spec, "UserResponse")) <= set(message["author"])
    assert message["author"]["bot"] is True
    assert message["author"]["id"] == emulator.application_id
    assert message["nonce"] == "n-1"
    assert message["type"] == 0
    assert message["edited_timestamp"] is None
    assert created_between(message["id"], before, after)
    assert message["timestamp"].endswith("+00:00")

    dm = api(emulator, "POST", "/users/@me/channels", json={"recipient_id": emulator.user_id("alice")}).json()
    assert set(required_fields(spec, "PrivateChannelResponse")) <= set(dm)
    assert dm["type"] == 1
    assert dm["recipients"][0]["username"] == "alice"
    again = api(emulator, "POST", "/users/@me/channels", json={"recipient_id": emulator.user_id("alice")})
    assert again.json()["id"] == dm["id"]

    commands = api(
        emulator,
        "PUT",
        f"/applications/{emulator.application_id}/commands",
        json=[{"name": "ticket", "description": "Open a ticket", "default_member_permissions": "32"}],
    ).json()
    assert set(required_fields(spec, "ApplicationCommandResponse")) <= set(commands[0])
    assert commands[0]["default_member_permissions"] == "32"


# -- auth and errors ---------------------------------------------------------------------------


def test_bot_routes_require_the_bot_token(emulator: DiscordEmulator) -> None:
    path = f"/channels/{emulator.channel_ids['general']}/messages"
    for headers in ({}, {"Authorization": "Bot wrong"}, {"Authorization": emulator.bot_token}):
        response = requests.post(
            emulator.api_base_url + path, json={"content": "x"}, headers=headers, timeout=5
        )
        assert response.status_code == 401
        assert response.json() == {"message": "401: Unauthorized", "code": 0}
    # Interaction webhooks need no token: an unknown token is 10015, not 401.
    response = webhook(emulator, "GET", "not-a-token", "/messages/@original")
    assert response.status_code == 404
    assert response.json() == {"message": "Unknown Webhook", "code": 10015}


def test_unknown_channel_and_closed_dms(emulator: DiscordEmulator) -> None:
    response = api(emulator, "POST", "/channels/123456789012345678/messages", json={"content": "x"})
    assert response.status_code == 404
    assert response.json() == {"message": "Unknown Channel", "code": 10003}

    emulator.add_user("carol", dms_open=False)
    dm = api(emulator, "POST", "/users/@me/channels", json={"recipient_id": emulator.user_id("carol")}).json()
    response = api(emulator, "POST", f"/channels/{dm['id']}/messages", json={"content": "hi"})
    assert response.status_code == 403
    assert response.json() == {"message": "Cannot send messages to this user", "code": 50007}
    open_dm = api(
        emulator, "POST", "/users/@me/channels", json={"recipient_id": emulator.user_id("bob")}
    ).json()
    assert (
        api(emulator, "POST", f"/channels/{open_dm['id']}/messages", json={"content": "hi"}).status_code
        == 200
    )


def test_an_empty_message_is_refused(emulator: DiscordEmulator) -> None:
    response = send(emulator, "general", {"content": "   "})
    assert response.status_code == 400
    assert response.json() == {"message": "Cannot send an empty message", "code": 50006}


def _rows(rows: int, buttons: int, custom_id: str = "b") -> list[dict[str, Any]]:
    return [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 1, "label": "x", "custom_id": f"{custom_id}{r}-{b}" if custom_id else ""}
                for b in range(buttons)
            ],
        }
        for r in range(rows)
    ]


@pytest.mark.parametrize(
    ("payload", "error_path"),
    [
        ({"content": "x" * 2001}, ["content"]),
        ({"embeds": [{"title": "t"}] * 11}, ["embeds"]),
        ({"embeds": [{"title": "t" * 257}]}, ["embeds", "0", "title"]),
        ({"embeds": [{"description": "d" * 4097}]}, ["embeds", "0", "description"]),
        ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, ["embeds", "0", "fields"]),
        (
            {"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]},
            ["embeds", "0", "fields", "0", "name"],
        ),
        (
            {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]},
            ["embeds", "0", "fields", "0", "value"],
        ),
        ({"embeds": [{"footer": {"text": "f" * 2049}}]}, ["embeds", "0", "footer", "text"]),
        ({"embeds": [{"author": {"name": "a" * 257}}]}, ["embeds", "0", "author", "name"]),
        ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, ["embeds"]),
        ({"components": _rows(6, 1)}, ["components"]),
        ({"components": _rows(1, 6)}, ["components", "0", "components"]),
        ({"components": _rows(1, 1, custom_id="")}, ["components", "0", "components", "0", "custom_id"]),
        (
            {"components": [{"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "c" * 101}]}]},
            ["components", "0", "components", "0", "custom_id"],
        ),
    ],
)
def test_limits_give_invalid_form_body(
    emulator: DiscordEmulator, payload: dict[str, Any], error_path: list[str]
) -> None:
    response = send(emulator, "general", {"content": "c", **payload} if "content" not in payload else payload)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 50035
    assert body["message"] == "Invalid Form Body"
    node = body["errors"]
    for key in error_path:
        node = node[key]
    assert node["_errors"][0]["code"]


def test_embed_total_counts_trimmed_text_and_limits_apply_to_edits(emulator: DiscordEmulator) -> None:
    padded = " " * 100 + "d" * 4096 + " " * 100  # whitespace is trimmed before counting
    assert send(emulator, "general", {"embeds": [{"description": padded}]}).status_code == 200
    message = send(emulator, "general", {"content": "original"}).json()
    path = f"/channels/{message['channel_id']}/messages/{message['id']}"
    assert api(emulator, "PATCH", path, json={"content": "x" * 2001}).json()["code"] == 50035
    edited = api(emulator, "PATCH", path, json={"content": "edited"}).json()
    assert edited["content"] == "edited"
    assert edited["edited_timestamp"] is not None
    assert api(emulator, "GET", path).json()["content"] == "edited"


def test_list_messages_newest_first_with_limit(emulator: DiscordEmulator) -> None:
    channel = emulator.channel_ids["support"]
    for index in range(3):
        send(emulator, "support", {"content": f"m{index}"})
    listed = api(emulator, "GET", f"/channels/{channel}/messages", params={"limit": 2}).json()
    assert [m["content"] for m in listed] == ["m2", "m1"]
    assert (
        api(emulator, "GET", f"/channels/{channel}/messages", params={"limit": 101}).json()["code"] == 50035
    )
    assert api(emulator, "GET", f"/channels/{channel}/messages/1").json()["code"] == 10008


def test_enforced_nonce_returns_the_existing_message(emulator: DiscordEmulator) -> None:
    first = send(emulator, "general", {"content": "once", "nonce": "abc", "enforce_nonce": True}).json()
    repeat = send(emulator, "general", {"content": "once", "nonce": "abc", "enforce_nonce": True}).json()
    assert repeat["id"] == first["id"]
    other_channel = send(
        emulator, "support", {"content": "once", "nonce": "abc", "enforce_nonce": True}
    ).json()
    assert other_channel["id"] != first["id"]
    not_enforced = send(emulator, "general", {"content": "once", "nonce": "abc"}).json()
    assert not_enforced["id"] != first["id"]
    assert [m["content"] for m in emulator.messages("general")].count("once") == 2


def test_allowed_mentions_are_recorded_and_filter_mentions(emulator: DiscordEmulator) -> None:
    alice = emulator.user_id("alice")
    silent = send(
        emulator, "general", {"content": f"<@{alice}> @everyone", "allowed_mentions": {"parse": []}}
    )
    loud = send(emulator, "general", {"content": f"<@{alice}> @everyone"})
    assert silent.json()["mentions"] == []
    assert silent.json()["mention_everyone"] is False
    assert [user["id"] for user in loud.json()["mentions"]] == [alice]
    assert loud.json()["mention_everyone"] is True
    writes = emulator.message_writes
    assert [(w.allowed_mentions_sent, w.allowed_mentions) for w in writes] == [
        (True, {"parse": []}),
        (False, None),
    ]
    assert emulator.requests[-1].body == {"content": f"<@{alice}> @everyone"}
    exclusive = {"parse": ["users"], "users": [alice]}
    assert send(emulator, "general", {"content": "x", "allowed_mentions": exclusive}).json()["code"] == 50035


# -- files and the CDN -------------------------------------------------------------------------


def test_multipart_upload_is_served_by_the_cdn_until_its_link_expires(emulator: DiscordEmulator) -> None:
    channel = emulator.channel_ids["bug-report"]
    payload = {
        "content": "screenshot",
        "embeds": [{"title": "Bug", "image": {"url": "attachment://shot.png"}}],
        "attachments": [{"id": 0, "description": "the bug"}],
    }
    response = api(
        emulator,
        "POST",
        f"/channels/{channel}/messages",
        data={"payload_json": json.dumps(payload)},
        files={"files[0]": ("shot.png", PNG, "image/png"), "files[1]": ("log.txt", b"trace", "text/plain")},
    )
    assert response.status_code == 200, response.text
    message = response.json()
    attachments = {a["filename"]: a for a in message["attachments"]}
    shot = attachments["shot.png"]
    assert shot["description"] == "the bug"
    assert (shot["size"], shot["width"], shot["height"]) == (len(PNG), 3, 2)
    assert "?ex=" in shot["url"]
    assert "&is=" in shot["url"]
    assert "&hm=" in shot["url"]
    assert shot["url"].endswith("&")
    assert message["embeds"][0]["image"]["url"] == shot["url"]
    served = requests.get(shot["url"], timeout=5)
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert requests.get(attachments["log.txt"]["url"], timeout=5).content == b"trace"
    assert requests.get(shot["url"].split("?")[0], timeout=5).status_code == 404  # unsigned
    assert requests.get(shot["url"].replace("hm=", "hm=0"), timeout=5).status_code == 404  # tampered
    logged = next(entry for entry in emulator.requests if entry.method == "POST")
    assert logged.route == "POST /channels/{channel_id}/messages"
    assert logged.body["payload_json"] == payload
    assert [f["size"] for f in logged.body["files"]] == [len(PNG), 5]

    emulator.attachment_url_ttl = -1  # links handed out from now on are already expired
    refetched = api(emulator, "GET", f"/channels/{channel}/messages/{message['id']}").json()
    expired = requests.get(refetched["attachments"][0]["url"], timeout=5)
    assert expired.status_code == 404
    assert expired.text == "This content is no longer available."


# -- rate limits and faults --------------------------------------------------------------------


def test_rate_limit_headers_and_a_real_429() -> None:
    limits = {"POST /channels/{channel_id}/messages": (2, 0.6)}
    with DiscordEmulator(rate_limits=limits) as emulator:
        before = time.time()
        first = send(emulator, "general", {"content": "1"})
        after = time.time()
        assert first.headers["X-RateLimit-Limit"] == "2"
        assert first.headers["X-RateLimit-Remaining"] == "1"
        assert 0 < float(first.headers["X-RateLimit-Reset-After"]) <= 0.6
        # The window opened during the request and lasts 0.6 s (the header has 3 decimals).
        assert before + 0.6 - 0.001 <= float(first.headers["X-RateLimit-Reset"]) <= after + 0.6 + 0.001
        bucket = first.headers["X-RateLimit-Bucket"]
        assert send(emulator, "general", {"content": "2"}).headers["X-RateLimit-Remaining"] == "0"
        limited = send(emulator, "general", {"content": "3"})
        assert limited.status_code == 429
        body = limited.json()
        assert body["message"] == "You are being rate limited."
        assert body["global"] is False
        assert 0 < body["retry_after"] <= 0.6
        assert limited.headers["Retry-After"] == "1"
        assert limited.headers["X-RateLimit-Scope"] == "user"
        # Another channel is another bucket (same route hash); other routes have their own.
        other = send(emulator, "support", {"content": "1"})
        assert other.status_code == 200
        assert other.headers["X-RateLimit-Bucket"] == bucket
        listed = api(emulator, "GET", f"/channels/{emulator.channel_ids['general']}/messages")
        assert listed.status_code == 200
        assert listed.headers["X-RateLimit-Bucket"] != bucket
        time.sleep(body["retry_after"] + 0.05)
        assert send(emulator, "general", {"content": "4"}).status_code == 200
        assert [m["content"] for m in emulator.messages("general")] == ["1", "2", "4"]


def test_global_rate_limit_per_bot_token() -> None:
    with DiscordEmulator(global_rate_limit=5) as emulator:
        path = f"/channels/{emulator.channel_ids['general']}/messages"
        statuses = [api(emulator, "GET", path).status_code for _ in range(5)]
        limited = api(emulator, "GET", path)
        assert statuses == [200] * 5
        assert limited.status_code == 429
        assert limited.json()["global"] is True
        assert limited.headers["X-RateLimit-Global"] == "true"
        assert 0 < limited.json()["retry_after"] <= 1
        # Interaction webhooks are not bound by the global limit.
        assert webhook(emulator, "GET", "tok", "/messages/@original").json()["code"] == 10015


def test_fault_injection(emulator: DiscordEmulator) -> None:
    emulator.inject_fault("POST", r"/channels/\d+/messages$", 502, times=2)
    assert send(emulator, "general", {"content": "x"}).status_code == 502
    assert send(emulator, "general", {"content": "x"}).status_code == 502
    assert send(emulator, "general", {"content": "x"}).status_code == 200
    emulator.inject_fault("POST", "/messages", 500, body={"message": "boom", "code": 0})
    failed = send(emulator, "general", {"content": "x"})
    assert (failed.status_code, failed.json()) == (500, {"message": "boom", "code": 0})
    emulator.inject_fault("*", "/messages", 0, delay=0.5)
    with pytest.raises(requests.ReadTimeout):
        requests.get(
            f"{emulator.api_base_url}/channels/{emulator.channel_ids['general']}/messages",
            headers={"Authorization": f"Bot {emulator.bot_token}"},
            timeout=0.2,
        )
    assert [r.status for r in emulator.requests][:4] == [502, 502, 200, 500]


# -- interactions: signing, payloads, responses ----------------------------------------------


def test_interactions_are_signed_and_carry_the_documented_fields(
    emulator: DiscordEmulator, bot: FakeBot
) -> None:
    bot.reply = lambda body: (
        200,
        {"type": 4, "data": {"content": "pong", "allowed_mentions": {"parse": []}}},
    )
    result = emulator.run_command("mod", "status", {"verbose": True, "count": 3, "topic": "x"})
    assert not result.failed, result.error
    payload = bot.received[-1]
    assert payload == result.interaction
    for key in (
        "id",
        "application_id",
        "type",
        "data",
        "guild_id",
        "channel_id",
        "channel",
        "member",
        "token",
        "version",
        "locale",
        "guild_locale",
        "app_permissions",
        "entitlements",
        "authorizing_integration_owners",
        "context",
        "attachment_size_limit",
    ):
        assert key in payload, key
    assert (payload["type"], payload["version"], payload["context"]) == (2, 1, 0)
    assert payload["application_id"] == emulator.application_id
    assert payload["guild_id"] == emulator.guild_id
    assert payload["authorizing_integration_owners"] == {"0": emulator.guild_id}
    assert payload["entitlements"] == []
    assert len(payload["token"]) > 100
    assert payload["member"]["user"]["username"] == "mod"
    assert payload["member"]["roles"] == [emulator.staff_role_id]
    assert int(payload["member"]["permissions"]) & (1 << 5)  # staff may manage the server
    assert {"joined_at", "nick", "deaf", "mute", "pending"} <= set(payload["member"])
    assert "user" not in payload
    assert payload["channel"]["id"] == payload["channel_id"] == emulator.channel_ids["general"]
    assert payload["data"]["name"] == "status"
    assert [(o["name"], o["type"], o["value"]) for o in payload["data"]["options"]] == [
        ("verbose", 5, True),
        ("count", 4, 3),
        ("topic", 3, "x"),
    ]
    assert result.message is not None
    assert result.message["content"] == "pong"
    assert result.message["type"] == 20
    assert result.message["interaction_metadata"]["user"]["username"] == "mod"
    assert emulator.original_response(result.token) == result.message

    dm = emulator.run_command("alice", "status", channel="dm")
    dm_payload = bot.received[-1]
    assert not dm.failed
    assert dm_payload["context"] == 1
    assert dm_payload["user"]["username"] == "alice"
    assert "member" not in dm_payload
    assert "guild_id" not in dm_payload
    assert dm_payload["channel"]["type"] == 1
    assert dm_payload["channel_id"] == emulator.dm_channel_id("alice")


def test_ping_and_endpoint_checks(emulator: DiscordEmulator, bot: FakeBot) -> None:
    response = emulator.ping()
    assert (response.status_code, response.json()) == (200, {"type": 1})
    assert emulator.check_endpoint() == []
    body = b'{"type":1}'
    forged = {**emulator.sign(body), "X-Signature-Ed25519": "00" * 64}
    assert emulator.send_raw(body, forged).status_code == 401
    stale = emulator.sign(body, timestamp="1")
    VerifyKey(bytes.fromhex(emulator.public_key_hex)).verify(
        b"1" + body, bytes.fromhex(stale["X-Signature-Ed25519"])
    )


def test_registered_commands_shape_interactions_and_visibility(
    emulator: DiscordEmulator, bot: FakeBot
) -> None:
    commands = [
        {
            "name": "report",
            "description": "Report a bug",
            "contexts": [0, 1],
            "options": [
                {"type": 3, "name": "title", "description": "Title", "required": True},
                {
                    "type": 4,
                    "name": "severity",
                    "description": "1-3",
                    "choices": [{"name": "low", "value": 1}, {"name": "high", "value": 3}],
                },
                {"type": 11, "name": "screenshot", "description": "Image"},
                {"type": 6, "name": "who", "description": "Who saw it"},
            ],
        },
        {
            "name": "staffonly",
            "description": "Staff tools",
            "contexts": [0],
            "default_member_permissions": "32",
        },
    ]
    registered = api(
        emulator, "PUT", f"/applications/{emulator.application_id}/commands", json=commands
    ).json()
    again = api(emulator, "PUT", f"/applications/{emulator.application_id}/commands", json=commands).json()
    assert [c["id"] for c in again] == [c["id"] for c in registered]  # ids survive re-registration
    assert [c["version"] for c in again] == [c["version"] for c in registered]
    assert api(emulator, "GET", f"/applications/{emulator.application_id}/commands").json() == again

    bot.reply = lambda body: (200, {"type": 4, "data": {"content": "ok", "flags": 64}})
    result = emulator.run_command(
        "alice",
        "report",
        {"title": "Crash", "severity": 3, "who": "bob"},
        channel="bug-report",
        attachments={"screenshot": ("bug.png", PNG, "image/png")},
    )
    assert not result.failed, result.error
    data = result.interaction["data"]
    assert data["id"] == registered[0]["id"]
    options = {o["name"]: o for o in data["options"]}
    assert options["severity"] == {"name": "severity", "type": 4, "value": 3}
    attachment_id = options["screenshot"]["value"]
    attachment = data["resolved"]["attachments"][attachment_id]
    assert attachment["ephemeral"] is True
    assert requests.get(attachment["url"], timeout=5).content == PNG
    assert data["resolved"]["users"][options["who"]["value"]]["username"] == "bob"

    # The ephemeral reply is visible to alice only.
    channel = emulator.channel_ids["bug-report"]
    assert result.message is not None
    assert result.message["flags"] == 64
    assert [m["content"] for m in emulator.messages(channel, as_user="alice")] == ["ok"]
    assert emulator.messages(channel) == []
    assert emulator.messages(channel, as_user="bob") == []
    assert api(emulator, "GET", f"/channels/{channel}/messages").json() == []

    with pytest.raises(ValueError, match="requires option"):
        emulator.run_command("alice", "report", {"severity": 1})
    with pytest.raises(ValueError, match="choices"):
        emulator.run_command("alice", "report", {"title": "x", "severity": 2})
    with pytest.raises(ValueError, match="no option"):
        emulator.run_command("alice", "report", {"title": "x", "nope": 1})
    with pytest.raises(CommandUnavailableError):
        emulator.run_command("alice", "staffonly")
    with pytest.raises(CommandUnavailableError):
        emulator.run_command("mod", "staffonly", channel="dm")
    assert not emulator.run_command("mod", "staffonly").failed


@pytest.mark.parametrize(
    ("command", "field"),
    [
        ({"name": "Ticket", "description": "d"}, "name"),
        ({"name": "t" * 33, "description": "d"}, "name"),
        ({"name": "ticket", "description": "d" * 101}, "description"),
        ({"name": "ticket"}, "description"),
        (
            {
                "name": "ticket",
                "description": "d",
                "options": [{"type": 12, "name": "o", "description": "d"}],
            },
            "options",
        ),
        (
            {
                "name": "ticket",
                "description": "d",
                "options": [{"type": 3, "name": f"o{i}", "description": "d"} for i in range(26)],
            },
            "options",
        ),
        (
            {"name": "ticket", "description": "d", "default_member_permissions": "manage"},
            "default_member_permissions",
        ),
        ({"name": "ticket", "description": "d", "contexts": [5]}, "contexts"),
        ({"name": "ticket", "description": "d", "integration_types": []}, "integration_types"),
    ],
)
def test_command_registration_is_validated(
    emulator: DiscordEmulator, command: dict[str, Any], field: str
) -> None:
    response = api(
        emulator,
        "PUT",
        f"/applications/{emulator.application_id}/guilds/{emulator.guild_id}/commands",
        json=[command],
    )
    assert response.status_code == 400
    assert response.json()["code"] == 50035
    assert field in response.json()["errors"]["0"]


def test_commands_of_another_application_or_guild_are_refused(emulator: DiscordEmulator) -> None:
    body = [{"name": "ticket", "description": "d"}]
    for path in ("/applications/1/commands", f"/applications/{emulator.application_id}/guilds/1/commands"):
        response = api(emulator, "PUT", path, json=body)
        assert (response.status_code, response.json()["code"]) == (403, 50001)
    guild_path = f"/applications/{emulator.application_id}/guilds/{emulator.guild_id}/commands"
    stored = api(emulator, "PUT", guild_path, json=body).json()
    assert stored[0]["guild_id"] == emulator.guild_id
    assert api(emulator, "GET", guild_path).json() == stored
    assert api(emulator, "GET", f"/applications/{emulator.application_id}/commands").json() == []


def test_deferred_reply_then_edit_original_and_followups(emulator: DiscordEmulator, bot: FakeBot) -> None:
    edits: list[requests.Response] = []

    def defer_and_finish_in_background(body: dict[str, Any]) -> BotAnswer:
        # Edit @original before the deferral is even answered: Discord-side ordering is kept.
        def finish() -> None:
            edits.append(
                webhook(
                    emulator,
                    "PATCH",
                    body["token"],
                    "/messages/@original",
                    json={"content": "done", "allowed_mentions": {"parse": []}},
                )
            )

        threading.Thread(target=finish).start()
        time.sleep(0.1)
        return 200, {"type": 5, "data": {"flags": 64}}

    bot.reply = defer_and_finish_in_background
    result = emulator.run_command("alice", "ticket", channel="support")
    assert not result.failed, result.error
    assert result.message is not None
    assert result.message["flags"] == 64 | 128  # ephemeral "thinking…" placeholder
    emulator.wait_for(lambda: edits)
    assert edits[0].status_code == 200, edits[0].text
    original = emulator.original_response(result.token)
    assert original is not None
    assert (original["content"], original["flags"], original["id"]) == ("done", 64, result.message["id"])

    followup = webhook(
        emulator, "POST", result.token, json={"content": "public", "allowed_mentions": {"parse": []}}
    )
    private = webhook(emulator, "POST", result.token, json={"content": "private", "flags": 64})
    assert followup.status_code == private.status_code == 200
    assert private.json()["flags"] == 64
    assert [m["content"] for m in emulator.followups(result.token)] == ["public", "private"]
    channel = emulator.channel_ids["support"]
    assert [m["content"] for m in emulator.messages(channel)] == ["public"]
    assert [m["content"] for m in emulator.messages(channel, as_user="alice")] == [
        "done",
        "public",
        "private",
    ]
    edited = webhook(
        emulator, "PATCH", result.token, f"/messages/{private.json()['id']}", json={"content": "p2"}
    )
    assert edited.json()["content"] == "p2"
    assert webhook(emulator, "GET", result.token, "/messages/@original").json()["content"] == "done"
    assert (
        webhook(
            emulator, "PATCH", result.token, "/messages/@original", json={"content": "y" * 2001}
        ).status_code
        == 400
    )
    assert webhook(emulator, "DELETE", result.token, "/messages/@original").status_code == 204
    assert webhook(emulator, "GET", result.token, "/messages/@original").json()["code"] == 10008

    emulator.expire_interaction(result.token)
    expired = webhook(emulator, "POST", result.token, json={"content": "late"})
    assert (expired.status_code, expired.json()) == (404, {"message": "Unknown Webhook", "code": 10015})


def test_first_followup_after_a_defer_edits_the_placeholder(emulator: DiscordEmulator, bot: FakeBot) -> None:
    bot.reply = lambda body: (200, {"type": 5})
    result = emulator.run_command("bob", "ticket")
    response = webhook(emulator, "POST", result.token, json={"content": "answer", "flags": 64})
    assert response.json()["id"] == result.message["id"]  # type: ignore[index]
    assert response.json()["flags"] == 0  # the ephemeral state was fixed at defer time


@pytest.mark.parametrize(
    ("answer", "expected_error"),
    [
        ((500, {"error": "boom"}), "HTTP 500"),
        ((200, b"not json", {"Content-Type": "text/plain"}), "Content-Type"),
        ((200, {"data": {}}), "type"),
        ((200, {"type": 6}), "not valid"),
        ((200, {"type": 5, "data": {"flags": 4}}), "EPHEMERAL"),
        ((200, {"type": 4, "data": {"content": "x" * 2001}}), "50035"),
        ((200, {"type": 4, "data": {}}), "50006"),
    ],
)
def test_invalid_endpoint_answers_fail_the_interaction(
    emulator: DiscordEmulator, bot: FakeBot, answer: BotAnswer, expected_error: str
) -> None:
    bot.reply = lambda body: answer
    result = emulator.run_command("alice", "ticket")
    assert result.failed
    assert result.error is not None
    assert expected_error in result.error
    assert result.message is None
    assert webhook(emulator, "POST", result.token, json={"content": "late"}).json()["code"] == 10015


def test_an_answer_after_the_deadline_fails(emulator: DiscordEmulator, bot: FakeBot) -> None:
    emulator.interaction_timeout = 0.3

    def slow(body: dict[str, Any]) -> BotAnswer:
        time.sleep(0.5)
        return 200, {"type": 4, "data": {"content": "too late"}}

    bot.reply = slow
    result = emulator.run_command("alice", "ticket")
    assert result.failed
    assert result.error is not None
    assert "within" in result.error
    assert emulator.messages("general") == []


# -- components and modals ---------------------------------------------------------------------

REPLY_BUTTON: list[dict[str, Any]] = [
    {"type": 1, "components": [{"type": 2, "style": 1, "label": "Reply", "custom_id": "reply:42"}]}
]
MODAL: dict[str, Any] = {
    "custom_id": "reply_modal:42",
    "title": "Reply to the agent",
    "components": [
        {"type": 18, "label": "Your message", "component": {"type": 4, "custom_id": "body", "style": 2}},
        {
            "type": 18,
            "label": "Screenshots",
            "component": {
                "type": 19,
                "custom_id": "shots",
                "min_values": 0,
                "max_values": 3,
                "required": False,
            },
        },
        {
            "type": 1,
            "components": [{"type": 4, "custom_id": "legacy", "style": 1, "label": "Old", "required": False}],
        },
    ],
}


def test_button_opens_a_modal_and_its_submit_has_the_documented_shape(
    emulator: DiscordEmulator, bot: FakeBot
) -> None:
    dm = emulator.dm_channel_id("alice")
    prompt = api(
        emulator,
        "POST",
        f"/channels/{dm}/messages",
        json={"content": "Agent: hi", "components": REPLY_BUTTON},
    )
    assert prompt.status_code == 200
    message = emulator.messages("dm:alice")[0]
    assert message["components"][0]["components"][0]["id"] == 2  # Discord numbers components

    def answer(body: dict[str, Any]) -> BotAnswer:
        if body["type"] == 3:
            return 200, {"type": 9, "data": MODAL}
        return 200, {"type": 4, "data": {"content": "Sent!", "flags": 64}}

    bot.reply = answer
    clicked = emulator.click("alice", message, "reply:42")
    assert not clicked.failed, clicked.error
    assert clicked.interaction["data"] == {"custom_id": "reply:42", "component_type": 2}
    assert clicked.interaction["message"]["id"] == message["id"]
    assert clicked.modal == MODAL

    with pytest.raises(ValueError, match="required"):
        emulator.submit_modal("alice", MODAL, {"body": ""})
    submitted = emulator.submit_modal(
        "alice",
        MODAL,
        {"body": "It still crashes"},
        {"shots": [("a.png", PNG, "image/png"), ("b.txt", b"log", "")]},
    )
    assert not submitted.failed, submitted.error
    payload = submitted.interaction
    assert payload["type"] == 5
    assert payload["channel_id"] == dm
    assert payload["message"]["id"] == message["id"]  # opened from a component
    data = payload["data"]
    assert data["custom_id"] == "reply_modal:42"
    label, upload, legacy = data["components"]
    assert label == {
        "type": 18,
        "id": 1,
        "component": {"type": 4, "id": 2, "custom_id": "body", "value": "It still crashes"},
    }
    assert upload["type"] == 18
    assert upload["id"] == 3
    assert upload["component"]["type"] == 19
    assert upload["component"]["custom_id"] == "shots"
    assert upload["component"]["id"] == 4
    assert legacy == {
        "type": 1,
        "id": 5,
        "components": [{"type": 4, "id": 6, "custom_id": "legacy", "value": ""}],
    }
    resolved = data["resolved"]["attachments"]
    assert list(resolved) == upload["component"]["values"]
    files = [resolved[attachment_id] for attachment_id in upload["component"]["values"]]
    assert [(f["filename"], f["content_type"]) for f in files] == [
        ("a.png", "image/png"),
        ("b.txt", "text/plain"),
    ]
    assert "ephemeral-attachments" in files[0]["url"]
    assert requests.get(files[1]["url"], timeout=5).content == b"log"
    assert [m["content"] for m in emulator.messages("dm:alice", as_user="alice")] == ["Agent: hi", "Sent!"]

    with pytest.raises(ValueError, match="no inputs"):
        emulator.submit_modal("alice", MODAL, {"body": "x", "unknown": "y"})


@pytest.mark.parametrize(
    ("modal", "fragment"),
    [
        ({**MODAL, "title": "t" * 46}, "title"),
        ({**MODAL, "custom_id": "c" * 101}, "custom_id"),
        ({**MODAL, "components": MODAL["components"] * 2}, "components"),
        ({**MODAL, "components": []}, "components"),
        ({**MODAL, "components": [{"type": 4, "custom_id": "bare", "style": 1}]}, "Label"),
        (
            {**MODAL, "components": [{"type": 1, "components": [{"type": 19, "custom_id": "f"}]}]},
            "text inputs",
        ),
        (
            {
                **MODAL,
                "components": [
                    {"type": 18, "label": "l", "component": {"type": 4, "custom_id": "", "style": 1}}
                ],
            },
            "custom_id",
        ),
    ],
)
def test_invalid_modals_are_rejected(
    emulator: DiscordEmulator, bot: FakeBot, modal: dict[str, Any], fragment: str
) -> None:
    bot.reply = lambda body: (200, {"type": 9, "data": modal})
    result = emulator.run_command("alice", "feedback")
    assert result.failed
    assert result.error is not None
    assert "invalid modal" in result.error
    assert fragment in result.error


def test_a_modal_cannot_answer_a_modal_submit(emulator: DiscordEmulator, bot: FakeBot) -> None:
    bot.reply = lambda body: (200, {"type": 9, "data": MODAL})
    opened = emulator.run_command("alice", "feedback")
    assert opened.modal is not None
    result = emulator.submit_modal("alice", opened.modal, {"body": "text"})
    assert result.failed
    assert result.error == "a modal cannot be the response to a modal submit"


def test_component_updates_and_deferred_updates(emulator: DiscordEmulator, bot: FakeBot) -> None:
    send(emulator, "support", {"content": "Ticket #1", "components": REPLY_BUTTON})
    message = emulator.messages("support")[0]
    bot.reply = lambda body: (200, {"type": 7, "data": {"content": "Ticket #1 (claimed)", "components": []}})
    updated = emulator.click("mod", message, "reply:42")
    assert updated.message is not None
    assert updated.message["id"] == message["id"]
    assert emulator.messages("support")[0]["content"] == "Ticket #1 (claimed)"
    with pytest.raises(ValueError, match="no component"):
        emulator.click("mod", emulator.messages("support")[0], "reply:42")

    send(emulator, "support", {"content": "Ticket #2", "components": REPLY_BUTTON})
    second = emulator.messages("support")[1]
    bot.reply = lambda body: (200, {"type": 6})
    deferred = emulator.click("mod", second, "reply:42")
    assert not deferred.failed
    edit = webhook(
        emulator, "PATCH", deferred.token, "/messages/@original", json={"content": "Ticket #2 (closed)"}
    )
    assert edit.json()["id"] == second["id"]
    assert emulator.messages("support")[1]["content"] == "Ticket #2 (closed)"
    assert [w.kind for w in emulator.message_writes][-2:] == ["channel_create", "webhook_edit_original"]


# -- private threads (DMs closed) --------------------------------------------------------------

FLEXCORD_THREAD = {"name": "Support: Alice", "type": 12, "invitable": False, "auto_archive_duration": 10080}


def start_thread(emulator: DiscordEmulator, parent: str = "support", **overrides: Any) -> requests.Response:
    body = {**FLEXCORD_THREAD, **overrides}
    return api(emulator, "POST", f"/channels/{emulator.channel_ids[parent]}/threads", json=body)


def private_thread_with(emulator: DiscordEmulator, *usernames: str) -> dict[str, Any]:
    thread: dict[str, Any] = start_thread(emulator).json()
    for username in usernames:
        added = api(emulator, "PUT", f"/channels/{thread['id']}/thread-members/{emulator.user_id(username)}")
        assert added.status_code == 204, added.text
    return thread


def test_private_thread_for_a_member_with_closed_dms(emulator: DiscordEmulator) -> None:
    spec = load_spec()
    create_op = spec["paths"]["/channels/{channel_id}/threads"]["post"]
    add_op = spec["paths"]["/channels/{channel_id}/thread-members/{user_id}"]["put"]
    assert "201" in create_op["responses"]
    assert "204" in add_op["responses"]

    # What Flexcord does: the DM answers 50007, so it opens a private thread in #support.
    emulator.set_dms_open("alice", False)
    dm = api(emulator, "POST", "/users/@me/channels", json={"recipient_id": emulator.user_id("alice")}).json()
    refused = api(emulator, "POST", f"/channels/{dm['id']}/messages", json={"content": "hi"})
    assert (refused.status_code, refused.json()["code"]) == (403, 50007)

    before = time.time()
    created = start_thread(emulator)
    after = time.time()
    assert created.status_code == 201, created.text
    thread = created.json()
    assert set(required_fields(spec, "CreatedThreadResponse")) <= set(thread)
    assert set(required_fields(spec, "ThreadMetadataResponse")) <= set(thread["thread_metadata"])
    assert set(required_fields(spec, "ThreadMemberResponse")) <= set(thread["member"])
    support = emulator.channel_ids["support"]
    assert (thread["type"], thread["parent_id"], thread["guild_id"]) == (12, support, emulator.guild_id)
    assert (thread["name"], thread["owner_id"]) == ("Support: Alice", emulator.application_id)
    assert (thread["member_count"], thread["message_count"], thread["total_message_sent"]) == (1, 0, 0)
    assert thread["flags"] == 0
    assert thread["last_message_id"] is None
    metadata = thread["thread_metadata"]
    assert metadata["invitable"] is False
    assert metadata["auto_archive_duration"] == 10080
    assert (metadata["archived"], metadata["locked"]) == (False, False)
    assert metadata["create_timestamp"] == metadata["archive_timestamp"]
    assert created_between(thread["id"], before, after)
    assert thread["member"]["id"] == thread["id"]
    assert thread["member"]["user_id"] == emulator.application_id

    alice = emulator.user_id("alice")
    path = f"/channels/{thread['id']}/thread-members/{alice}"
    added = api(emulator, "PUT", path)
    assert (added.status_code, added.content) == (204, b"")
    assert api(emulator, "PUT", path).status_code == 204  # already a member: still 204
    assert api(emulator, "PUT", f"/channels/{thread['id']}/thread-members/@me").status_code == 204
    assert emulator.thread_members(thread["id"]) == [emulator.application_id, alice]

    # Discord's "flexcord added Alice to the thread." system message, once.
    system = emulator.messages(thread["id"])
    assert [(m["type"], m["content"], [u["id"] for u in m["mentions"]]) for m in system] == [(7, "", [alice])]
    assert system[0]["author"]["id"] == emulator.application_id

    welcome = api(emulator, "POST", f"/channels/{thread['id']}/messages", json={"content": "👋 Hi Alice!"})
    assert welcome.status_code == 200, welcome.text
    assert (welcome.json()["channel_id"], welcome.json()["guild_id"]) == (thread["id"], emulator.guild_id)
    listed = api(emulator, "GET", f"/channels/{thread['id']}/messages").json()
    assert [m["content"] for m in listed] == ["👋 Hi Alice!", ""]
    assert emulator.messages("support") == []  # a private thread announces nothing in its parent

    [stored] = emulator.threads("support")
    assert stored["id"] == thread["id"]
    assert (stored["member_count"], stored["message_count"], stored["total_message_sent"]) == (2, 2, 2)
    assert stored["last_message_id"] == welcome.json()["id"]
    assert emulator.threads("general") == []
    assert EmulatorControl(emulator.base_url).threads() == [stored]
    assert EmulatorControl(emulator.base_url).thread_members(thread["id"]) == [emulator.application_id, alice]
    assert emulator.state()["threads"] == [stored]

    # The new routes go through the same transport: request log, rate-limit buckets.
    routes = [entry.route for entry in emulator.requests if entry.method != "GET"]
    assert "POST /channels/{channel_id}/threads" in routes
    assert "PUT /channels/{channel_id}/thread-members/{user_id}" in routes
    assert "PUT /channels/{channel_id}/thread-members/@me" in routes
    logged = next(
        entry for entry in emulator.requests if entry.route == "POST /channels/{channel_id}/threads"
    )
    assert (logged.status, logged.body) == (201, FLEXCORD_THREAD)
    assert created.headers["X-RateLimit-Bucket"] != added.headers["X-RateLimit-Bucket"]
    assert added.headers["X-RateLimit-Remaining"] == str(int(added.headers["X-RateLimit-Limit"]) - 1)


def test_thread_routes_have_their_own_rate_limits() -> None:
    limits = {"PUT /channels/{channel_id}/thread-members/{user_id}": (1, 5.0)}
    with DiscordEmulator(rate_limits=limits) as emulator:
        thread = start_thread(emulator).json()
        first = api(emulator, "PUT", f"/channels/{thread['id']}/thread-members/{emulator.user_id('alice')}")
        limited = api(emulator, "PUT", f"/channels/{thread['id']}/thread-members/{emulator.user_id('bob')}")
        assert first.status_code == 204
        assert (limited.status_code, limited.json()["global"]) == (429, False)
        assert emulator.thread_members(thread["id"]) == [emulator.application_id, emulator.user_id("alice")]


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"name": None}, "name", "BASE_TYPE_REQUIRED"),
        ({"name": ""}, "name", "BASE_TYPE_BAD_LENGTH"),
        ({"name": "n" * 101}, "name", "BASE_TYPE_BAD_LENGTH"),
        ({"name": 5}, "name", "BASE_TYPE_STRING"),
        ({"type": 0}, "type", "BASE_TYPE_CHOICES"),
        ({"type": 13}, "type", "BASE_TYPE_CHOICES"),
        ({"type": "private"}, "type", "NUMBER_TYPE_COERCE"),
        ({"auto_archive_duration": 30}, "auto_archive_duration", "BASE_TYPE_CHOICES"),
        ({"auto_archive_duration": 10081}, "auto_archive_duration", "BASE_TYPE_CHOICES"),
        ({"invitable": "no"}, "invitable", "BASE_TYPE_BOOLEAN"),
        ({"rate_limit_per_user": 21601}, "rate_limit_per_user", "NUMBER_TYPE_MAX"),
    ],
)
def test_thread_creation_is_validated(
    emulator: DiscordEmulator, overrides: dict[str, Any], field: str, code: str
) -> None:
    body = {key: value for key, value in {**FLEXCORD_THREAD, **overrides}.items() if value is not None}
    response = api(emulator, "POST", f"/channels/{emulator.channel_ids['support']}/threads", json=body)
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["message"]) == (50035, "Invalid Form Body")
    assert response.json()["errors"][field]["_errors"][0]["code"] == code
    assert emulator.threads() == []


def test_thread_defaults_and_other_types(emulator: DiscordEmulator) -> None:
    # ``type`` defaults to PRIVATE_THREAD (v10); the archive duration to 24 hours.
    minimal = api(
        emulator, "POST", f"/channels/{emulator.channel_ids['general']}/threads", json={"name": "x"}
    )
    assert minimal.status_code == 201
    assert minimal.json()["type"] == 12
    assert minimal.json()["thread_metadata"]["auto_archive_duration"] == 1440
    assert minimal.json()["thread_metadata"]["invitable"] is True
    public = start_thread(emulator, type=11, auto_archive_duration=60).json()
    assert public["type"] == 11
    assert "invitable" not in public["thread_metadata"]  # private threads only
    form = api(
        emulator,
        "POST",
        f"/channels/{emulator.channel_ids['support']}/threads",
        data={"name": "form", "type": "12", "auto_archive_duration": "4320", "invitable": "false"},
    )
    assert form.status_code == 201, form.text
    assert form.json()["thread_metadata"]["auto_archive_duration"] == 4320
    assert form.json()["thread_metadata"]["invitable"] is False
    assert [t["name"] for t in emulator.threads()] == ["x", "Support: Alice", "form"]
    assert [t["name"] for t in EmulatorControl(emulator.base_url).threads(parent="support")] == [
        "Support: Alice",
        "form",
    ]


def test_thread_routes_refuse_unknown_channels_users_and_wrong_channel_types(
    emulator: DiscordEmulator,
) -> None:
    unknown = {"message": "Unknown Channel", "code": 10003}
    response = api(emulator, "POST", "/channels/123456789012345678/threads", json=FLEXCORD_THREAD)
    assert (response.status_code, response.json()) == (404, unknown)
    response = api(emulator, "PUT", f"/channels/123456789012345678/thread-members/{emulator.user_id('bob')}")
    assert (response.status_code, response.json()) == (404, unknown)

    wrong_type = {"message": "Cannot execute action on this channel type", "code": 50024}
    dm = emulator.dm_channel_id("alice")
    response = api(emulator, "POST", f"/channels/{dm}/threads", json=FLEXCORD_THREAD)
    assert (response.status_code, response.json()) == (400, wrong_type)
    thread = start_thread(emulator).json()
    nested = api(emulator, "POST", f"/channels/{thread['id']}/threads", json=FLEXCORD_THREAD)
    assert (nested.status_code, nested.json()) == (400, wrong_type)
    announcement = start_thread(emulator, type=10)  # only in announcement channels
    assert (announcement.status_code, announcement.json()) == (400, wrong_type)
    not_a_thread = api(
        emulator,
        "PUT",
        f"/channels/{emulator.channel_ids['support']}/thread-members/{emulator.user_id('bob')}",
    )
    assert (not_a_thread.status_code, not_a_thread.json()) == (400, wrong_type)

    stranger = api(emulator, "PUT", f"/channels/{thread['id']}/thread-members/123456789012345678")
    assert (stranger.status_code, stranger.json()) == (404, {"message": "Unknown Member", "code": 10007})
    garbage = api(emulator, "PUT", f"/channels/{thread['id']}/thread-members/alice")
    assert garbage.status_code == 400
    assert garbage.json()["errors"]["user_id"]["_errors"][0]["code"] == "NUMBER_TYPE_COERCE"
    unauthorized = requests.put(
        f"{emulator.api_base_url}/channels/{thread['id']}/thread-members/{emulator.user_id('bob')}", timeout=5
    )
    assert unauthorized.status_code == 401
    assert emulator.thread_members(thread["id"]) == [emulator.application_id]


def test_a_private_thread_is_seen_by_its_members_and_staff_only(emulator: DiscordEmulator) -> None:
    roles = {role["name"]: role for role in emulator.state()["guild"]["roles"]}
    assert int(roles["staff"]["permissions"]) & (1 << 34)  # MANAGE_THREADS
    assert not int(roles["@everyone"]["permissions"]) & (1 << 34)
    thread = private_thread_with(emulator, "alice")
    api(emulator, "POST", f"/channels/{thread['id']}/messages", json={"content": "welcome"})

    def contents(as_user: str | None) -> list[str]:
        return [m["content"] for m in emulator.messages(thread["id"], as_user=as_user) if m["type"] == 0]

    assert contents("alice") == contents("mod") == contents(None) == ["welcome"]
    with pytest.raises(ChannelAccessError, match="bob cannot see private thread"):
        emulator.messages(thread["id"], as_user="bob")
    emulator.add_user("helper", roles=("staff",))
    assert contents("helper") == ["welcome"]
    control = EmulatorControl(emulator.base_url)
    assert [m["content"] for m in control.messages(thread["id"], as_user="alice")][-1] == "welcome"
    with pytest.raises(EmulatorControlError, match=r"HTTP 400 .*bob cannot see private thread"):
        control.messages(thread["id"], as_user="bob")

    # A public thread is visible to everyone who sees its parent.
    public = start_thread(emulator, type=11, name="open").json()
    api(emulator, "POST", f"/channels/{public['id']}/messages", json={"content": "hello all"})
    assert [m["content"] for m in emulator.messages(public["id"], as_user="bob")] == ["hello all"]


def test_commands_and_buttons_inside_a_private_thread(emulator: DiscordEmulator, bot: FakeBot) -> None:
    thread = private_thread_with(emulator, "alice")
    bot.reply = lambda body: (200, {"type": 4, "data": {"content": "Got it", "flags": 64}})
    result = emulator.run_command("alice", "reply", {"text": "hello"}, channel=thread["id"])
    assert not result.failed, result.error
    payload = bot.received[-1]
    assert payload["channel_id"] == thread["id"]
    assert payload["context"] == 0
    assert payload["guild_id"] == emulator.guild_id
    assert payload["member"]["user"]["username"] == "alice"
    channel = payload["channel"]
    assert (channel["id"], channel["type"], channel["parent_id"]) == (
        thread["id"],
        12,
        emulator.channel_ids["support"],
    )
    assert channel["thread_metadata"]["invitable"] is False
    assert "permissions" in channel
    assert result.message is not None
    assert result.message["channel_id"] == thread["id"]
    assert [m["content"] for m in emulator.messages(thread["id"], as_user="alice")][-1] == "Got it"

    # Staff see every private thread and can act there; anyone else's client shows no thread.
    assert not emulator.run_command("mod", "reply", {"text": "staff here"}, channel=thread["id"]).failed
    with pytest.raises(ChannelAccessError):
        emulator.run_command("bob", "reply", {"text": "let me in"}, channel=thread["id"])
    with pytest.raises(EmulatorControlError, match="ChannelAccessError"):
        EmulatorControl(emulator.base_url).run_command("bob", "reply", channel=thread["id"])

    api(
        emulator,
        "POST",
        f"/channels/{thread['id']}/messages",
        json={"content": "Pick", "components": REPLY_BUTTON},
    )
    prompt = emulator.messages(thread["id"], as_user="alice")[-1]
    bot.reply = lambda body: (200, {"type": 6})
    clicked = emulator.click("alice", prompt, "reply:42")
    assert not clicked.failed, clicked.error
    assert (clicked.interaction["channel_id"], clicked.interaction["channel"]["type"]) == (thread["id"], 12)
    with pytest.raises(ChannelAccessError):
        emulator.click("bob", prompt, "reply:42")
    assert len(bot.received) == 3  # the refused actions never reached the bot


# -- the control API ---------------------------------------------------------------------------


def test_control_api_round_trip(emulator: DiscordEmulator, bot: FakeBot, tmp_path: Path) -> None:
    control = EmulatorControl(emulator.base_url)
    state = control.state()
    assert state["application_id"] == emulator.application_id
    assert state["public_key"] == emulator.public_key_hex
    assert state["guild"]["id"] == emulator.guild_id
    assert set(state["channels"]) == {"general", "bug-report", "feature-request", "announcements", "support"}
    assert state["users"]["mod"]["roles"] == [emulator.staff_role_id]

    def answer(body: dict[str, Any]) -> BotAnswer:
        if body["type"] == 2:
            return 200, {"type": 4, "data": {"content": "Pick", "components": REPLY_BUTTON}}
        if body["type"] == 3:
            return 200, {"type": 9, "data": MODAL}
        return 200, {"type": 5, "data": {"flags": 64}}

    bot.reply = answer
    command = control.run_command("bob", "ticket", {"topic": "billing"}, channel="support")
    assert command["failed"] is False
    assert command["interaction"]["data"]["options"] == [{"name": "topic", "type": 3, "value": "billing"}]
    shown = control.messages("support", as_user="bob")
    assert [m["content"] for m in shown] == ["Pick"]
    clicked = control.click("bob", shown[0], "reply:42")
    assert clicked["modal"]["custom_id"] == "reply_modal:42"
    screenshot = tmp_path / "s.png"
    screenshot.write_bytes(PNG)
    submitted = control.submit_modal(
        "bob", clicked["modal"], {"body": "hello"}, {"shots": [{"path": str(screenshot)}]}
    )
    assert submitted["failed"] is False
    resolved = submitted["interaction"]["data"]["resolved"]["attachments"]
    assert next(iter(resolved.values()))["content_type"] == "image/png"
    assert requests.get(next(iter(resolved.values()))["url"], timeout=5).content == PNG
    token = submitted["interaction"]["token"]
    placeholder = control.original_response(token)
    assert placeholder is not None
    assert placeholder["flags"] == 64 | 128
    webhook(emulator, "PATCH", token, "/messages/@original", json={"content": "Delivered"})
    delivered = control.original_response(token)
    assert delivered is not None
    assert delivered["content"] == "Delivered"
    assert control.followups(token) == []
    assert control.messages("support") == [m for m in shown if not m["flags"] & 64]
    with pytest.raises(RuntimeError, match="unknown user"):
        control.run_command("nobody", "ticket")
