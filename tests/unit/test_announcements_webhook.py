"""POST /announcements/webhook: the signature matrix, every field's 400, and the job it queues."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from flexcord.announcements.webhook import (
    MAX_BODY_BYTES,
    AnnouncementsWebhook,
    announcement_id,
    sign,
)
from flexcord.jobs.model import Job, JobKind
from tests.unit.fakes import RecordingQueue

SECRET = "s3cret-for-tests"
NOW = 1_800_000_000
SERVER = "123456789012345678"
CHANNEL = "223456789012345678"


def event(
    body: bytes | str,
    *,
    timestamp: str | None = str(NOW),
    signature: str | None = None,
    secret: str = SECRET,
    base64_encoded: bool = False,
    header_case: str = "lower",
) -> dict[str, Any]:
    raw = body.encode() if isinstance(body, str) else body
    headers: dict[str, str] = {"content-type": "application/json"}
    if timestamp is not None:
        headers["X-Flexcord-Timestamp" if header_case == "title" else "x-flexcord-timestamp"] = timestamp
    if signature is None and timestamp is not None:
        signature = sign(secret, timestamp, raw)
    if signature is not None:
        headers["X-Flexcord-Signature" if header_case == "title" else "x-flexcord-signature"] = signature
    return {
        "version": "2.0",
        "rawPath": "/announcements/webhook",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/announcements/webhook"}},
        "body": base64.b64encode(raw).decode() if base64_encoded else raw.decode(),
        "isBase64Encoded": base64_encoded,
    }


def body(**fields: Any) -> str:
    document = {"title": "Version 1.5", "text": "Out now, with **raids**.", "idempotency_key": "release-1.5"}
    document.update(fields)
    return json.dumps({k: v for k, v in document.items() if v is not ...})


def webhook(queue: RecordingQueue, now: float = NOW) -> AnnouncementsWebhook:
    return AnnouncementsWebhook(secret=lambda: SECRET, queue=lambda: queue, server=SERVER, now=lambda: now)


def answer(response: dict[str, Any]) -> tuple[int, Any]:
    return response["statusCode"], json.loads(response["body"])


# --------------------------------------------------------------------------- accepted


def test_a_signed_announcement_is_queued_as_the_contracts_job() -> None:
    queue = RecordingQueue()
    status, answered = answer(
        webhook(queue).handle(
            event(
                body(
                    url="https://example.com/v1.5", image_url="https://cdn.example.com/a.png", channel=CHANNEL
                )
            )
        )
    )
    assert status == 202
    expected_id = announcement_id("release-1.5")
    assert answered == {"announcement_id": expected_id}
    (job,) = queue.jobs
    assert job.kind is JobKind.POST_ANNOUNCEMENT
    assert job.kind.value == "announcement.post"
    assert job.key == f"announcement:{expected_id}:{NOW}"  # one signed request, one job
    assert job.group == f"announcements:{SERVER}"
    assert job.context is None
    assert job.payload == {
        "announcement_id": expected_id,
        "server": SERVER,
        "channel_id": CHANNEL,
        "title": "Version 1.5",
        "text": "Out now, with **raids**.",
        "url": "https://example.com/v1.5",
        "image_url": "https://cdn.example.com/a.png",
        "role_id": None,
        "source": "webhook",
        "author_id": None,
    }
    # It survives the queue as JSON.
    assert Job.from_json(job.to_json()) == job


def test_optional_fields_absent_or_null_mean_the_servers_announcements_channel() -> None:
    queue = RecordingQueue()
    status, _ = answer(webhook(queue).handle(event(body(url=None, image_url="", channel=None))))
    assert status == 202
    payload = queue.jobs[0].payload
    assert (payload["channel_id"], payload["url"], payload["image_url"]) == (None, None, None)


def test_title_and_text_are_trimmed_and_may_reach_discords_limits() -> None:
    queue = RecordingQueue()
    status, _ = answer(webhook(queue).handle(event(body(title="  " + "t" * 256 + " ", text="x" * 4096))))
    assert status == 202
    assert queue.jobs[0].payload["title"] == "t" * 256
    assert len(queue.jobs[0].payload["text"]) == 4096


def test_headers_in_any_case_and_base64_bodies_are_read() -> None:
    queue = RecordingQueue()
    assert webhook(queue).handle(event(body(), header_case="title"))["statusCode"] == 202
    assert webhook(queue).handle(event(body(idempotency_key="b64"), base64_encoded=True))["statusCode"] == 202
    assert [j.payload["title"] for j in queue.jobs] == ["Version 1.5", "Version 1.5"]


def test_a_replay_or_a_reused_key_queues_the_same_deduplication_key() -> None:
    queue = RecordingQueue()
    endpoint = webhook(queue)
    first = endpoint.handle(event(body()))
    replayed = endpoint.handle(event(body()))
    # A new request (another text, another time) reusing the key.
    reused = webhook(queue, now=NOW + 60).handle(event(body(text="changed"), timestamp=str(NOW + 60)))
    other = endpoint.handle(event(body(idempotency_key="release-1.6")))
    ids = [json.loads(r["body"])["announcement_id"] for r in (first, replayed, reused, other)]
    assert ids[0] == ids[1] == ids[2] != ids[3]
    # The replay is the same job (the queue drops it); the new request reusing the key is a new
    # delivery of the same announcement, which the executor finds posted (or under review).
    keys = [j.key for j in queue.jobs]
    assert keys[0] == keys[1] == f"announcement:{ids[0]}:{NOW}"
    assert keys[2] == f"announcement:{ids[0]}:{NOW + 60}"
    assert queue.jobs[2].payload["announcement_id"] == ids[0]
    assert keys[3] == f"announcement:{ids[3]}:{NOW}"


def test_the_announcement_id_is_a_short_stable_hash() -> None:
    assert announcement_id("k") == announcement_id("k")
    assert announcement_id("k") != announcement_id("K")
    assert len(announcement_id("x" * 64)) == 24  # fits a Discord nonce (25 at most)
    assert all(c in "0123456789abcdef" for c in announcement_id("k"))


def test_the_queue_down_is_a_503_to_retry() -> None:
    status, answered = answer(webhook(RecordingQueue(fail=True)).handle(event(body())))
    assert status == 503
    assert "again" in answered["error"]


# --------------------------------------------------------------------------- the signature matrix


def _forged(raw: str) -> dict[str, Any]:
    return event(raw, secret="not-the-secret")


def _tampered_body(raw: str) -> dict[str, Any]:
    signed = event(raw)
    signed["body"] = raw.replace("Version 1.5", "Version 6.6")
    return signed


def _tampered_timestamp(raw: str) -> dict[str, Any]:
    signed = event(raw)
    signed["headers"]["x-flexcord-timestamp"] = str(NOW + 1)
    return signed


def _signed_without_the_dot(raw: str) -> dict[str, Any]:
    import hashlib
    import hmac

    digest = hmac.new(SECRET.encode(), f"{NOW}{raw}".encode(), hashlib.sha256).hexdigest()
    return event(raw, signature=f"sha256={digest}")


def _wrong_prefix(raw: str) -> dict[str, Any]:
    signed = event(raw)
    signed["headers"]["x-flexcord-signature"] = "sha1=" + signed["headers"]["x-flexcord-signature"][7:]
    return signed


def _no_prefix(raw: str) -> dict[str, Any]:
    signed = event(raw)
    signed["headers"]["x-flexcord-signature"] = signed["headers"]["x-flexcord-signature"][7:]
    return signed


def _truncated_signature(raw: str) -> dict[str, Any]:
    signed = event(raw)
    signed["headers"]["x-flexcord-signature"] = signed["headers"]["x-flexcord-signature"][:-2]
    return signed


def _non_ascii_signature(raw: str) -> dict[str, Any]:
    return event(raw, signature="sha256=" + "é" * 64)


def _no_timestamp(raw: str) -> dict[str, Any]:
    signed = event(raw)
    del signed["headers"]["x-flexcord-timestamp"]
    return signed


def _no_signature(raw: str) -> dict[str, Any]:
    return event(raw, signature="")  # empty header


def _no_headers(raw: str) -> dict[str, Any]:
    return event(raw, timestamp=None)


def _stale(raw: str) -> dict[str, Any]:
    return event(raw, timestamp=str(NOW - 301))


def _future(raw: str) -> dict[str, Any]:
    return event(raw, timestamp=str(NOW + 301))


def _timestamp_in_milliseconds(raw: str) -> dict[str, Any]:
    return event(raw, timestamp=str(NOW * 1000))


def _negative_timestamp(raw: str) -> dict[str, Any]:
    return event(raw, timestamp=f"-{NOW}")


def _decimal_timestamp(raw: str) -> dict[str, Any]:
    return event(raw, timestamp=f"{NOW}.0")


@pytest.mark.parametrize(
    "attack",
    [
        _forged,
        _tampered_body,
        _tampered_timestamp,
        _signed_without_the_dot,
        _wrong_prefix,
        _no_prefix,
        _truncated_signature,
        _non_ascii_signature,
        _no_timestamp,
        _no_signature,
        _no_headers,
        _stale,
        _future,
        _timestamp_in_milliseconds,
        _negative_timestamp,
        _decimal_timestamp,
    ],
)
def test_forged_tampered_stale_and_unsigned_requests_are_401_and_queue_nothing(attack: Any) -> None:
    queue = RecordingQueue()
    status, answered = answer(webhook(queue).handle(attack(body())))
    assert status == 401
    assert answered == {"error": "invalid or expired signature"}
    assert queue.jobs == []


@pytest.mark.parametrize("skew", [-300, 300, 0])
def test_the_window_is_five_minutes_either_way(skew: int) -> None:
    queue = RecordingQueue()
    assert webhook(queue, now=NOW - skew).handle(event(body()))["statusCode"] == 202


def test_a_replay_after_the_window_is_refused() -> None:
    queue = RecordingQueue()
    request = event(body())
    assert webhook(queue).handle(request)["statusCode"] == 202
    assert webhook(queue, now=NOW + 301).handle(request)["statusCode"] == 401
    assert len(queue.jobs) == 1


def test_an_uppercase_hex_signature_is_the_same_signature() -> None:
    queue = RecordingQueue()
    raw = body()
    signature = sign(SECRET, str(NOW), raw.encode())
    assert webhook(queue).handle(event(raw, signature="sha256=" + signature[7:].upper()))["statusCode"] == 202


def test_an_empty_secret_refuses_everything() -> None:
    queue = RecordingQueue()
    endpoint = AnnouncementsWebhook(secret=lambda: "", queue=lambda: queue, server=SERVER, now=lambda: NOW)
    assert endpoint.handle(event(body(), secret=""))["statusCode"] == 401


def test_the_signature_is_checked_before_the_body_is_read() -> None:
    queue = RecordingQueue()
    assert webhook(queue).handle(event("not json", secret="wrong"))["statusCode"] == 401
    assert webhook(queue).handle(event("not json"))["statusCode"] == 400


# --------------------------------------------------------------------------- 400: the field named


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ...}, "title"),
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": 5}, "title"),
        ({"title": ["a"]}, "title"),
        ({"title": "t" * 257}, "title"),
        ({"text": ...}, "text"),
        ({"text": ""}, "text"),
        ({"text": True}, "text"),
        ({"text": "x" * 4097}, "text"),
        ({"text": "lone \ud800 surrogate"}, "text"),
        ({"url": "https://example.com/\udc00"}, "url"),
        ({"url": "http://example.com"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "example.com/page"}, "url"),
        ({"url": "https://exa mple.com"}, "url"),
        ({"url": "https://[::1"}, "url"),
        ({"url": "https://example.com/" + "a" * 2048}, "url"),
        ({"url": 42}, "url"),
        ({"image_url": "ftp://example.com/a.png"}, "image_url"),
        ({"image_url": "https://example.com/\n.png"}, "image_url"),
        ({"image_url": {"u": 1}}, "image_url"),
        ({"channel": "general"}, "channel"),
        ({"channel": 223456789012345678}, "channel"),
        ({"channel": "1234"}, "channel"),
        ({"channel": "<#223456789012345678>"}, "channel"),
        ({"idempotency_key": ...}, "idempotency_key"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 65}, "idempotency_key"),
        ({"idempotency_key": "has space"}, "idempotency_key"),
        ({"idempotency_key": "a/b"}, "idempotency_key"),
        ({"idempotency_key": 7}, "idempotency_key"),
        ({"titel": "typo"}, "titel"),
    ],
)
def test_each_bad_field_is_a_400_naming_it(fields: dict[str, Any], field: str) -> None:
    queue = RecordingQueue()
    status, answered = answer(webhook(queue).handle(event(body(**fields))))
    assert status == 400
    assert answered["field"] == field
    assert answered["error"]
    assert queue.jobs == []


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", b'"a string"', b"null", b"[" * 10_000 + b"]" * 10_000, b"\xff{}"]
)
def test_a_body_that_is_not_a_json_object_is_a_400(raw: bytes) -> None:
    queue = RecordingQueue()
    request = event(raw, base64_encoded=True)  # the only way to send bytes that are not UTF-8
    status, answered = answer(webhook(queue).handle(request))
    assert status == 400
    assert answered["error"]
    assert queue.jobs == []


def test_a_body_over_the_cap_is_a_413_before_anything_else() -> None:
    queue = RecordingQueue()
    oversized = body(text="x" * MAX_BODY_BYTES)
    assert webhook(queue).handle(event(oversized))["statusCode"] == 413
    assert webhook(queue).handle(event(oversized, base64_encoded=True))["statusCode"] == 413
    assert queue.jobs == []
