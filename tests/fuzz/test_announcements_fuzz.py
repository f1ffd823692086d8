"""POST /announcements/webhook under fuzz: validly signed bodies of every shape (the announcement's
fields scrambled, odd values, any header case, base64 or not), the signature matrix (forged,
tampered body, signature or timestamp, stale, from the future, headers missing or malformed,
replayed late), and random bytes and odd events. Never a 5xx, always a well-formed answer; every
forged, tampered, stale or late-replayed request refused with nothing queued; a replay within the
window queued under the original's deduplication key."""

from __future__ import annotations

import random
import re
from typing import Any
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from flexcord.announcements.webhook import AnnouncementsWebhook, announcement_id, sign
from tests.fuzz.harness import (
    ANNOUNCEMENTS,
    FAN_OUT,
    TALLY,
    SqsLikeQueue,
    exercise,
    record_attack,
    variants_of,
)
from tests.fuzz.strategies import (
    NOW,
    ODD_STRINGS,
    envelope,
    json_body,
    odd_event,
    random_bodies,
    scrambled,
    seeds,
)

FUZZ = settings.get_profile("flexcord-fuzz")
PATH = "/announcements/webhook"
SECRET = "fuzz-announcements-secret"
SERVER = "900000000000000000"
TOLERANCE = 300

texts = st.text(min_size=0, max_size=300) | st.sampled_from(ODD_STRINGS)
urls = st.one_of(
    st.none(),
    st.sampled_from(
        (
            "https://example.com/post",
            "https://cdn.example.com/a.png?x=1",
            "http://example.com",
            "javascript:alert(1)",
            "https://",
            "https://[::1",
            "//example.com",
            "https://example.com/a b",
        )
    ),
    st.text(max_size=40),
)
keys = st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True) | texts


@st.composite
def announcements(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {
        "title": draw(texts),
        "text": draw(texts),
        "url": draw(urls),
        "image_url": draw(urls),
        "channel": draw(st.none() | st.sampled_from(("223456789012345678", "12", "general")) | texts),
        "idempotency_key": draw(keys),
    }
    for name in draw(st.sets(st.sampled_from(sorted(document)))):
        del document[name]
    if draw(st.integers(0, 9)) == 0:
        document[draw(st.sampled_from(("titel", "role_id", "", "x" * 100)))] = draw(texts)
    return document


def endpoint(now: float = NOW) -> tuple[AnnouncementsWebhook, SqsLikeQueue]:
    queue = SqsLikeQueue()
    return AnnouncementsWebhook(
        secret=lambda: SECRET, queue=lambda: queue, server=SERVER, now=lambda: now
    ), queue


def signed_headers(body: bytes, timestamp: int | str = NOW, secret: str = SECRET) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-flexcord-timestamp": str(timestamp),
        "x-flexcord-signature": sign(secret, timestamp, body),
    }


# An oracle written apart from the endpoint's code: what a valid announcement is.
_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SNOWFLAKE = re.compile(r"[0-9]{17,20}")


def _valid_text(value: Any, limit: int) -> bool:
    if not isinstance(value, str) or not 0 < len(value.strip()) <= limit:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _valid_url(value: Any) -> bool:
    if value is None or value == "":
        return True
    if (
        not isinstance(value, str)
        or len(value) > 2048
        or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value)
    ):
        return False
    try:
        value.encode()
        parts = urlsplit(value)
        return parts.scheme.lower() == "https" and bool(parts.hostname)
    except (UnicodeEncodeError, ValueError):
        return False


def is_valid(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and set(document) <= {"title", "text", "url", "image_url", "channel", "idempotency_key"}
        and _valid_text(document.get("title"), 256)
        and _valid_text(document.get("text"), 4096)
        and _valid_url(document.get("url"))
        and _valid_url(document.get("image_url"))
        and (
            document.get("channel") in (None, "")
            or (isinstance(document["channel"], str) and bool(_SNOWFLAKE.fullmatch(document["channel"])))
        )
        and isinstance(document.get("idempotency_key"), str)
        and bool(_KEY.fullmatch(document["idempotency_key"]))
    )


@settings(FUZZ)
@given(document=announcements(), seed=seeds)
def test_signed_announcements_of_every_shape(document: dict[str, Any], seed: int) -> None:
    rng = random.Random(seed)
    for variant in [
        document,
        *(scrambled(document, rng, breaks=rng.randint(1, 2)) for _ in range(FAN_OUT - 1)),
    ]:
        body = json_body(variant, rng)
        webhook, queue = endpoint()
        event = envelope(body, signed_headers(body), rng, path=PATH)

        def check(status: int, answer: Any, variant: Any = variant, queue: SqsLikeQueue = queue) -> None:
            if is_valid(variant):
                assert status == 202, answer
                [job] = queue.jobs
                assert answer == {"announcement_id": announcement_id(variant["idempotency_key"])}
                assert job.key.startswith(f"announcement:{answer['announcement_id']}:")
                assert job.group == f"announcements:{SERVER}"
                assert job.payload["title"] == variant["title"].strip()
                assert job.payload["source"] == "webhook"
            else:
                assert status == 400, answer
                assert isinstance(answer["error"], str)
                assert isinstance(answer.get("field"), str | None)
                assert queue.jobs == []

        exercise(ANNOUNCEMENTS, webhook.handle, event, check)


def flip_bit(data: bytes, rng: random.Random) -> bytes:
    flipped = bytearray(data or b"\0")
    flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
    return bytes(flipped)


VALID = {"title": "Version 1.5", "text": "Out now.", "idempotency_key": "release-1.5"}


@settings(FUZZ)
@given(seed=seeds, skew=st.integers(-TOLERANCE, TOLERANCE), late=st.integers(TOLERANCE + 1, 10**9))
def test_forged_tampered_stale_and_late_replays_are_all_refused(seed: int, skew: int, late: int) -> None:
    rng = random.Random(seed)
    document = {**VALID, "idempotency_key": f"k{seed}"}
    body = json_body(document, rng)
    sent_at = NOW + skew  # within the window of the endpoint's clock
    good = signed_headers(body, sent_at)
    signature = good["x-flexcord-signature"]
    hex_digest = signature.removeprefix("sha256=")

    attacks: dict[str, tuple[bytes, dict[str, str], float]] = {
        "forged": (
            body,
            signed_headers(body, sent_at, secret=rng.choice(("", "x", SECRET + "x", SECRET[:-1]))),
            NOW,
        ),
        "body bit flipped": (flip_bit(body, rng), good, NOW),
        "signature bit flipped": (
            body,
            # A bit of the digest itself (flipping a hex character's bit may only change its case).
            {**good, "x-flexcord-signature": "sha256=" + flip_bit(bytes.fromhex(hex_digest), rng).hex()},
            NOW,
        ),
        "timestamp changed": (
            body,
            {**good, "x-flexcord-timestamp": str(sent_at + rng.choice((-1, 1)))},
            NOW,
        ),
        "stale": (body, signed_headers(body, NOW - late), NOW),
        "from the future": (body, signed_headers(body, NOW + late), NOW),
        "replayed after the window": (body, good, sent_at + late),
        "timestamp missing": (body, {k: v for k, v in good.items() if k != "x-flexcord-timestamp"}, NOW),
        "signature missing": (body, {k: v for k, v in good.items() if k != "x-flexcord-signature"}, NOW),
        "wrong prefix": (
            body,
            {
                **good,
                "x-flexcord-signature": rng.choice(("sha1=", "SHA256=", "sha512=", "", "v1=")) + hex_digest,
            },
            NOW,
        ),
        "odd headers": (
            body,
            {**good, rng.choice(("x-flexcord-signature", "x-flexcord-timestamp")): rng.choice(ODD_STRINGS)},
            NOW,
        ),
    }
    # The control: the genuine request is accepted, and a replay within the window queues the
    # same job key (SQS FIFO drops it).
    webhook, queue = endpoint()
    first, _ = exercise(ANNOUNCEMENTS, webhook.handle, envelope(body, good, rng, path=PATH))
    replay, _ = exercise(ANNOUNCEMENTS, webhook.handle, envelope(body, good, rng, path=PATH))
    assert (first, replay) == (202, 202)
    TALLY.replays[ANNOUNCEMENTS] += 1
    if len({job.key for job in queue.jobs}) == 1 and len(queue.jobs) == 2:
        TALLY.replays_deduplicated[ANNOUNCEMENTS] += 1
    assert queue.jobs[0].key == queue.jobs[1].key
    assert queue.jobs[0].key.startswith(f"announcement:{announcement_id(document['idempotency_key'])}:")

    for name, (sent_body, headers, now) in attacks.items():
        webhook, queue = endpoint(now)
        status, answer = exercise(ANNOUNCEMENTS, webhook.handle, envelope(sent_body, headers, rng, path=PATH))
        rejected = status == 401 and queue.jobs == []
        record_attack(ANNOUNCEMENTS, name, rejected=rejected)
        assert rejected, (name, status, answer)


@settings(FUZZ)
@given(body=random_bodies, seed=seeds)
def test_random_bytes_and_odd_events_are_refused_cleanly(body: bytes, seed: int) -> None:
    rng = random.Random(seed)
    for variant in variants_of(body, rng):
        webhook, queue = endpoint()
        choice = rng.choice(("signed bytes", "unsigned bytes", "odd event"))
        if choice == "odd event":
            event = odd_event(variant, rng, PATH)
        elif choice == "signed bytes":
            event = envelope(variant, signed_headers(variant), rng, path=PATH)
        else:
            headers = {
                "x-flexcord-signature": rng.choice(ODD_STRINGS),
                "x-flexcord-timestamp": rng.choice(ODD_STRINGS),
            }
            event = envelope(variant, headers, rng, path=PATH)

        def check(status: int, answer: Any, queue: SqsLikeQueue = queue, choice: str = choice) -> None:
            # Random bytes are never a valid announcement (the odds are nil at these sizes).
            assert status in ((400, 413) if choice == "signed bytes" else (400, 401, 413)), answer
            assert queue.jobs == []

        exercise(ANNOUNCEMENTS, webhook.handle, event, check)
