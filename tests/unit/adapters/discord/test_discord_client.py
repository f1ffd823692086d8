"""DiscordClient against a real HTTP stub on 127.0.0.1 (see conftest.py)."""

import json
import logging

import pytest
import requests

from flexcord.adapters.discord import (
    AllowedMentions,
    AttachmentTooLarge,
    CannotMessageUser,
    DiscordApiError,
    DiscordClient,
    DiscordUnavailable,
    FileUpload,
    MissingPermissions,
    RateLimited,
    UnknownChannel,
    UnknownInteraction,
    UnknownWebhook,
)

# The values the make_client fixture in conftest.py builds clients with.
APPLICATION_ID = "900000000000000001"
BOT_TOKEN = "bot-token-VERY-SECRET"
USER_AGENT = "DiscordBot (https://github.com/flexcord/flexcord, 0.1.0)"
NO_PINGS: dict[str, list[str]] = {"parse": []}
INTERACTION_TOKEN = "aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0"
CHANNEL = "111111111111111111"


def rate_limit_body(retry_after: float, *, is_global: bool = False) -> dict[str, object]:
    return {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}


# -- headers, bodies and paths -------------------------------------------------------------


def test_create_message_sends_bot_auth_user_agent_json_and_no_pings(client, stub):
    [message] = client.create_message(CHANNEL, content="hello @everyone")

    assert message == {"id": "1"}
    [request] = stub.requests
    assert (request.method, request.path) == ("POST", f"/api/v10/channels/{CHANNEL}/messages")
    assert request.headers["Authorization"] == f"Bot {BOT_TOKEN}"
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert body["content"] == "hello @everyone"
    assert body["allowed_mentions"] == NO_PINGS
    assert body["enforce_nonce"] is True
    assert 0 < len(body["nonce"]) <= 25


def test_an_explicit_role_whitelist_is_sent_as_given(client, stub):
    client.create_message(CHANNEL, content="<@&42> new case", allowed_mentions=AllowedMentions(roles=["42"]))
    assert stub.requests[0].json()["allowed_mentions"] == {"parse": [], "roles": ["42"]}


def test_allowed_mentions_rejects_a_type_both_parsed_and_whitelisted():
    with pytest.raises(ValueError, match="roles"):
        AllowedMentions(parse=["roles"], roles=["42"])


def test_a_callable_bot_token_is_read_for_each_request(make_client, stub):
    tokens = iter(["first-token", "rotated-token"])
    client = make_client(bot_token=lambda: next(tokens))
    client.get_message(CHANNEL, "1")
    client.get_message(CHANNEL, "2")
    assert [request.headers["Authorization"] for request in stub.requests] == [
        "Bot first-token",
        "Bot rotated-token",
    ]


def test_edit_message_sends_only_the_given_fields_plus_allowed_mentions(client, stub):
    client.edit_message(CHANNEL, "555", components=[])
    [request] = stub.requests
    assert (request.method, request.path) == ("PATCH", f"/api/v10/channels/{CHANNEL}/messages/555")
    assert request.json() == {"components": [], "allowed_mentions": NO_PINGS}


def test_get_message_and_open_dm(client, stub):
    client.get_message(CHANNEL, "555")
    client.open_dm("222")
    get, dm = stub.requests
    assert (get.method, get.path, get.body) == ("GET", f"/api/v10/channels/{CHANNEL}/messages/555", b"")
    assert (dm.method, dm.path, dm.json()) == ("POST", "/api/v10/users/@me/channels", {"recipient_id": "222"})
    assert dm.headers["Authorization"] == f"Bot {BOT_TOKEN}"


def test_put_application_commands_globally_and_per_guild(client, stub):
    commands = [{"name": "helpme", "description": "Get help", "contexts": [0, 1]}]
    stub.respond(200, [{"id": "7", **commands[0]}])
    stub.respond(200, [])
    assert client.put_application_commands(commands)[0]["id"] == "7"
    assert client.put_application_commands([], guild_id="333") == []
    global_put, guild_put = stub.requests
    assert (global_put.method, global_put.path) == ("PUT", f"/api/v10/applications/{APPLICATION_ID}/commands")
    assert global_put.json() == commands
    assert guild_put.path == f"/api/v10/applications/{APPLICATION_ID}/guilds/333/commands"


def test_long_content_is_split_into_several_posts_in_order(client, stub):
    paragraphs = [f"paragraph {number} " + "x" * 900 for number in range(5)]
    content = "\n".join(paragraphs)  # ~4,600 characters
    button_row = {"type": 1, "components": [{"type": 2, "style": 1, "label": "Reply", "custom_id": "reply"}]}

    messages = client.create_message(
        CHANNEL, content=content, embeds=[{"title": "Case #12"}], components=[button_row], nonce="job-1234"
    )

    assert [message["id"] for message in messages] == ["1", "2", "3"]
    bodies = [request.json() for request in stub.requests]
    assert all(len(body["content"]) <= 2000 for body in bodies)
    assert "\n".join(body["content"] for body in bodies) == content
    assert all(body["allowed_mentions"] == NO_PINGS for body in bodies)
    extras_per_message = [("embeds" in body, "components" in body) for body in bodies]
    assert extras_per_message == [(False, False), (False, False), (True, True)]
    assert [body["nonce"] for body in bodies] == ["job-1234", "job-1234-1", "job-1234-2"]


def test_files_are_sent_as_multipart_with_payload_json_and_attachments(client, stub):
    screenshot = FileUpload("screen.png", b"\x89PNG-bytes", "image/png", description="the error")
    log = FileUpload("log.txt", b"trace", "text/plain")

    client.create_message(CHANNEL, content="Bug report", files=[screenshot, log])

    [request] = stub.requests
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert request.headers["Authorization"] == f"Bot {BOT_TOKEN}"
    parts = request.multipart()
    assert set(parts) == {"payload_json", "files[0]", "files[1]"}
    assert parts["payload_json"].get_content_type() == "application/json"
    payload = json.loads(parts["payload_json"].get_payload(decode=True))
    assert payload["content"] == "Bug report"
    assert payload["allowed_mentions"] == NO_PINGS
    assert payload["attachments"] == [
        {"id": 0, "filename": "screen.png", "description": "the error"},
        {"id": 1, "filename": "log.txt"},
    ]
    assert parts["files[0]"].get_filename() == "screen.png"
    assert parts["files[0]"].get_content_type() == "image/png"
    assert parts["files[0]"].get_payload(decode=True) == b"\x89PNG-bytes"
    assert parts["files[1]"].get_payload(decode=True) == b"trace"


def test_a_message_needs_something_to_send(client, stub):
    with pytest.raises(ValueError, match="needs content"):
        client.create_message(CHANNEL, content="   ")
    assert stub.requests == []


# -- interaction webhooks ------------------------------------------------------------------


def test_followup_uses_the_token_not_the_bot_token(client, stub):
    client.create_followup(INTERACTION_TOKEN, content="Thanks!", ephemeral=True)

    [request] = stub.requests
    assert (request.method, request.path) == (
        "POST",
        f"/api/v10/webhooks/{APPLICATION_ID}/{INTERACTION_TOKEN}",
    )
    assert request.query == {"wait": ["true"]}
    assert "Authorization" not in request.headers
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.json() == {"content": "Thanks!", "allowed_mentions": NO_PINGS, "flags": 64}


def test_webhook_routes_drop_an_authorization_default_on_the_session(make_client, stub):
    session = requests.Session()
    session.headers["Authorization"] = f"Bot {BOT_TOKEN}"
    client = make_client(session=session)
    client.edit_original_response(INTERACTION_TOKEN, content="done")
    assert "Authorization" not in stub.requests[0].headers


def test_a_client_without_bot_token_still_answers_interactions(make_client, stub):
    client = make_client(bot_token=None)
    client.create_followup(INTERACTION_TOKEN, content="ok")
    assert len(stub.requests) == 1


def test_multipart_followup_carries_allowed_mentions(client, stub):
    client.create_followup(INTERACTION_TOKEN, files=[FileUpload("a.txt", b"a", "text/plain")])
    payload = json.loads(stub.requests[0].multipart()["payload_json"].get_payload(decode=True))
    assert payload["allowed_mentions"] == NO_PINGS
    assert "content" not in payload


def test_edit_original_response_overflow_becomes_followups(client, stub):
    content = "a" * 1500 + "\n" + "b" * 1500 + "\n" + "c" * 1500
    row = {"type": 1, "components": []}

    original = client.edit_original_response(
        INTERACTION_TOKEN, content=content, components=[row], ephemeral=True
    )

    assert original == {"id": "1"}
    edit, first_followup, last_followup = stub.requests
    assert (edit.method, edit.path) == (
        "PATCH",
        f"/api/v10/webhooks/{APPLICATION_ID}/{INTERACTION_TOKEN}/messages/@original",
    )
    assert edit.json() == {"content": "a" * 1500, "allowed_mentions": NO_PINGS}
    assert [request.method for request in (first_followup, last_followup)] == ["POST", "POST"]
    assert first_followup.json() == {"content": "b" * 1500, "allowed_mentions": NO_PINGS, "flags": 64}
    assert last_followup.json() == {
        "content": "c" * 1500,
        "allowed_mentions": NO_PINGS,
        "components": [row],
        "flags": 64,
    }
    assert all("Authorization" not in request.headers for request in stub.requests)


# -- rate limits -----------------------------------------------------------------------------


def test_an_exhausted_bucket_makes_the_next_call_wait_until_reset(client, stub, fake_time):
    stub.respond(
        200,
        {"id": "1"},
        headers={
            "X-RateLimit-Bucket": "abcd1234",
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": "1.5",
        },
    )
    client.create_message(CHANNEL, content="one")
    assert fake_time.sleeps == []

    client.create_message(CHANNEL, content="two")
    assert fake_time.sleeps == [pytest.approx(1.5)]
    client.create_message("999", content="another channel, another bucket")
    assert len(fake_time.sleeps) == 1
    assert len(stub.requests) == 3


def test_inside_route_waits_capped_a_long_bucket_wait_raises_instead_of_sleeping(client, stub, fake_time):
    spent = {
        "X-RateLimit-Bucket": "abcd1234",
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset-After": "4.5",
    }
    stub.respond(200, {"id": "1"}, headers=spent)
    client.create_message(CHANNEL, content="one")
    with client.route_waits_capped(1.0), pytest.raises(RateLimited) as raised:
        client.create_message(CHANNEL, content="two")
    assert (raised.value.retry_after, raised.value.is_global) == (pytest.approx(4.5), False)
    assert fake_time.sleeps == []
    assert len(stub.requests) == 1  # refused before sending: no 429 spent
    client.create_message(CHANNEL, content="two, outside the block")  # waits as before
    assert fake_time.sleeps == [pytest.approx(4.5)]


def test_a_429_sleeps_retry_after_once_then_succeeds(client, stub, fake_time):
    stub.respond(429, rate_limit_body(0.75), headers={"Retry-After": "1"})
    stub.respond(200, {"id": "42"})

    [message] = client.create_message(CHANNEL, content="hi")

    assert message == {"id": "42"}
    assert fake_time.sleeps == [pytest.approx(0.75)]
    assert len(stub.requests) == 2
    assert stub.requests[0].json()["nonce"] == stub.requests[1].json()["nonce"]  # the retry is idempotent


def test_a_global_429_blocks_other_routes(make_client, stub, fake_time):
    client = make_client(max_attempts=1)
    stub.respond(429, rate_limit_body(2.0, is_global=True), headers={"X-RateLimit-Global": "true"})
    with pytest.raises(RateLimited) as raised:
        client.create_message(CHANNEL, content="first")
    assert raised.value.is_global is True

    client.open_dm("222")  # another route, another bucket: still held by the global limit
    assert fake_time.sleeps == [pytest.approx(2.0)]
    client.create_followup(INTERACTION_TOKEN, content="interaction webhooks are exempt")
    assert len(fake_time.sleeps) == 1
    assert len(stub.requests) == 3


def test_a_wait_over_budget_raises_rate_limited_without_sleeping(client, stub, fake_time):
    stub.respond(429, rate_limit_body(30.0))
    with pytest.raises(RateLimited) as raised:
        client.create_message(CHANNEL, content="hi")
    assert raised.value.retry_after == pytest.approx(30.0)
    assert raised.value.is_global is False
    assert fake_time.sleeps == []
    assert len(stub.requests) == 1

    with pytest.raises(RateLimited):  # the bucket is still blocked: refused before sending
        client.create_message(CHANNEL, content="again")
    assert len(stub.requests) == 1


def test_a_429_that_is_not_discord_json_is_not_retried(client, stub, fake_time):
    stub.respond(
        429, b"<html>Error 1015</html>", headers={"Content-Type": "text/html", "Retry-After": "3600"}
    )
    with pytest.raises(RateLimited) as raised:
        client.get_message(CHANNEL, "1")
    assert (raised.value.retry_after, raised.value.is_global) == (3600.0, True)
    assert len(stub.requests) == 1
    assert fake_time.sleeps == []


# -- retries -------------------------------------------------------------------------------


def test_a_5xx_is_retried_with_backoff_then_succeeds(client, stub, fake_time):
    stub.respond(502, b"Bad Gateway", headers={"Content-Type": "text/plain"})
    stub.respond(200, {"id": "9"})

    assert client.get_message(CHANNEL, "9") == {"id": "9"}
    assert len(stub.requests) == 2
    [backoff] = fake_time.sleeps
    assert 0.25 <= backoff <= 0.5


def test_5xx_exhaustion_raises_after_exactly_max_attempts(client, stub, fake_time):
    for _ in range(5):
        stub.respond(500, {"message": "500: Internal Server Error", "code": 0})

    with pytest.raises(DiscordUnavailable) as raised:
        client.create_message(CHANNEL, content="hi")

    assert len(stub.requests) == 4
    assert (raised.value.attempts, raised.value.last_status) == (4, 500)
    assert len(fake_time.sleeps) == 3  # between attempts, not after the last
    assert fake_time.sleeps[0] <= 0.5 <= fake_time.sleeps[1] <= 1.0 <= fake_time.sleeps[2] <= 2.0


def test_a_timeout_is_retried(make_client, stub):
    client = make_client(timeout=(1.0, 0.2))
    stub.respond(200, {"id": "late"}, delay=0.6)
    stub.respond(200, {"id": "on-time"})

    [message] = client.create_followup(INTERACTION_TOKEN, content="hi")

    assert message == {"id": "on-time"}
    assert len(stub.requests) == 2


def test_connection_errors_are_retried_then_raise_unavailable(make_client, fake_time, caplog):
    client = make_client(base_url="http://127.0.0.1:9/api/v10", max_attempts=3)  # port 9: nothing listens
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DiscordUnavailable) as raised:
        client.create_followup(INTERACTION_TOKEN, content="hi")
    assert raised.value.attempts == 3
    assert raised.value.last_status is None
    assert len(fake_time.sleeps) == 2
    # requests' message names the URL; the token in it is redacted, and nothing chains to it.
    assert "ConnectionError" in str(raised.value)
    assert INTERACTION_TOKEN not in str(raised.value)
    assert raised.value.__context__ is None
    assert raised.value.__cause__ is None
    assert all(INTERACTION_TOKEN not in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (403, 50007, CannotMessageUser),
        (404, 10003, UnknownChannel),
        (403, 50013, MissingPermissions),
        (404, 10062, UnknownInteraction),
        (404, 10015, UnknownWebhook),
        (400, 50035, DiscordApiError),
    ],
)
def test_each_error_code_raises_its_type_at_once(client, stub, status, code, error_class):
    errors = {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "too long"}]}}
    stub.respond(status, {"code": code, "message": "Nope", "errors": errors})

    with pytest.raises(error_class) as raised:
        client.create_message(CHANNEL, content="hi")

    assert type(raised.value) is error_class
    assert (raised.value.status, raised.value.code, raised.value.message) == (status, code, "Nope")
    assert raised.value.errors == errors
    assert len(stub.requests) == 1  # a 4xx is never retried


def test_an_error_without_discord_json_is_still_a_typed_api_error(client, stub):
    stub.respond(401, b"401: Unauthorized", headers={"Content-Type": "text/plain"})
    with pytest.raises(DiscordApiError) as raised:
        client.open_dm("222")
    assert (raised.value.status, raised.value.code) == (401, 0)


# -- tokens stay out of logs -----------------------------------------------------------------


def test_tokens_never_reach_the_logs(make_client, stub, caplog):
    client = make_client(timeout=(1.0, 0.2))
    stub.respond(500, {"message": "oops", "code": 0})
    stub.respond(200, {"id": "1"}, delay=0.6)  # a timeout: requests' message names the URL
    stub.respond(429, rate_limit_body(0.1))
    caplog.set_level(logging.DEBUG)

    client.create_followup(INTERACTION_TOKEN, content="hi")
    client.create_message(CHANNEL, content="hi")

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "<redacted>" in logged  # the interaction route was logged, token-free
    assert INTERACTION_TOKEN not in logged
    assert BOT_TOKEN not in logged


# -- CDN downloads ---------------------------------------------------------------------------


def test_download_returns_the_bytes_without_authorization(make_client, stub):
    session = requests.Session()
    session.headers["Authorization"] = f"Bot {BOT_TOKEN}"  # even a session default is dropped
    client = make_client(session=session)
    stub.respond(200, b"PNGDATA", headers={"Content-Type": "image/png"})

    data = client.download_attachment(f"{stub.origin}/attachments/1/2/screen.png?ex=1&hm=abc", max_bytes=100)

    assert data == b"PNGDATA"
    [request] = stub.requests
    assert request.path == "/attachments/1/2/screen.png"
    assert "Authorization" not in request.headers


def test_download_refuses_a_body_announced_over_the_limit(client, stub):
    stub.respond(200, b"x" * 101, headers={"Content-Type": "image/png"})
    with pytest.raises(AttachmentTooLarge) as raised:
        client.download_attachment(f"{stub.origin}/attachments/big.png", max_bytes=100)
    assert raised.value.announced_bytes == 101
    assert "Authorization" not in stub.requests[0].headers


def test_download_refuses_an_oversize_body_without_content_length(client, stub):
    stub.respond(200, b"x" * 200_000, headers={"Content-Type": "image/png"}, chunked=True)
    with pytest.raises(AttachmentTooLarge) as raised:
        client.download_attachment(f"{stub.origin}/attachments/big.png", max_bytes=100_000)
    assert raised.value.announced_bytes is None


def test_download_of_an_expired_link_raises_an_api_error(client, stub):
    stub.respond(404, b"This content is no longer available.", headers={"Content-Type": "text/plain"})
    with pytest.raises(DiscordApiError) as raised:
        client.download_attachment(f"{stub.origin}/attachments/old.png", max_bytes=100)
    assert raised.value.status == 404
    assert len(stub.requests) == 1


def test_download_rejects_non_http_urls(client):
    with pytest.raises(ValueError, match="http"):
        client.download_attachment("file:///etc/passwd", max_bytes=100)


# -- a job's posts, remembered for its retry ---------------------------------------------------------


def test_a_job_records_the_messages_it_posts_with_its_own_nonce_only(client, stub):
    stub.respond(body={"id": "501"})
    stub.respond(body={"id": "502"})
    with DiscordClient.remembering_posts(dict) as posts:
        client.create_message("42", content="📨 Case #7", nonce="queued-7")
        client.create_message("42", content="no nonce of the job's")
    assert posts.made == {"42/queued-7": "501"}
    assert [request.method for request in stub.requests] == ["POST", "POST"]


def test_a_retry_fetches_what_its_failed_attempt_posted_instead_of_posting_again(client, stub):
    stub.respond(body={"id": "501", "channel_id": "42", "content": "📨 Case #7"})
    with DiscordClient.remembering_posts(lambda: {"42/queued-7": "501"}) as posts:
        [message] = client.create_message("42", content="📨 Case #7", nonce="queued-7")
    assert message["content"] == "📨 Case #7"
    assert [(request.method, request.path) for request in stub.requests] == [
        ("GET", "/api/v10/channels/42/messages/501")
    ]
    assert posts.all == {"42/queued-7": "501"}


def test_a_message_deleted_since_the_failed_attempt_is_posted_again(client, stub):
    stub.respond(404, {"code": 10008, "message": "Unknown Message"})
    stub.respond(body={"id": "777"})
    with DiscordClient.remembering_posts(lambda: {"42/queued-7": "501"}) as posts:
        client.create_message("42", content="📨 Case #7", nonce="queued-7")
    assert [request.method for request in stub.requests] == ["GET", "POST"]
    assert posts.made == {"42/queued-7": "777"}


def test_each_part_of_a_long_message_is_remembered_on_its_own(client, stub):
    stub.respond(body={"id": "601"})
    stub.respond(body={"id": "602"})
    for _ in range(4):  # every try of the third part
        stub.respond(500, {})
    with DiscordClient.remembering_posts(dict) as first_attempt, pytest.raises(DiscordUnavailable):
        client.create_message("42", content="word " * 1000, nonce="answer-1")
    # The first two parts were posted; the third failed on every try.
    assert list(first_attempt.made.values()) == ["601", "602"]
    stub.requests.clear()
    stub.respond(body={"id": "601"})
    stub.respond(body={"id": "602"})
    stub.respond(body={"id": "603"})
    with DiscordClient.remembering_posts(lambda: first_attempt.all) as retry:
        messages = client.create_message("42", content="word " * 1000, nonce="answer-1")
    assert [message["id"] for message in messages] == ["601", "602", "603"]
    assert [request.method for request in stub.requests] == ["GET", "GET", "POST"]
    assert len(retry.all) == 3


def test_outside_a_job_nothing_is_remembered_or_looked_up(client, stub):
    client.create_message("42", content="hello", nonce="queued-7")
    with DiscordClient.remembering_posts(lambda: {"42/queued-7": "501"}):
        pass
    client.create_message("42", content="hello", nonce="queued-7")
    assert [request.method for request in stub.requests] == ["POST", "POST"]


def test_an_earlier_post_the_bot_may_not_read_back_is_taken_as_posted(client, stub):
    """Reading a message needs Read Message History, which posting does not."""
    stub.respond(403, {"code": 50001, "message": "Missing Access"})
    with DiscordClient.remembering_posts(lambda: {"42/queued-7": "501"}) as posts:
        [message] = client.create_message("42", content="📨 Case #7", nonce="queued-7")
    assert message == {"id": "501", "channel_id": "42"}
    assert [request.method for request in stub.requests] == ["GET"]
    assert posts.new == set()


def test_a_message_posted_again_after_a_deletion_counts_as_new(client, stub):
    """Otherwise a later failure would keep the deleted message's id, and the next retry would
    post a third copy."""
    stub.respond(404, {"code": 10008, "message": "Unknown Message"})
    stub.respond(body={"id": "777"})
    with DiscordClient.remembering_posts(lambda: {"42/queued-7": "501"}) as posts:
        client.create_message("42", content="📨 Case #7", nonce="queued-7")
    assert posts.new == {"42/queued-7"}
    assert posts.all == {"42/queued-7": "777"}
