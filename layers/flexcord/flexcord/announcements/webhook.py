"""POST /announcements/webhook: announcements from the brand's CMS, CI or any automation.

The caller signs each request with a shared secret (Secrets Manager):

    X-Flexcord-Timestamp: <Unix seconds>
    X-Flexcord-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">

A request is checked before its body is read as JSON: a size cap (413), then the signature over
the exact bytes sent, compared in constant time, and a timestamp within five minutes of now (401
otherwise). Then the body, ``{title, text, url, image_url, channel, idempotency_key}``, field by
field (400 naming the field). Accepted, it becomes one POST_ANNOUNCEMENT job and the answer is
202 with the announcement id.

With review first on (``ANNOUNCEMENTS_WEBHOOK_REVIEW_FIRST``), the job says so
(``review_first``) and the executor shows the announcement to staff instead of posting it; the
answer is 202 all the same: the caller learns nothing of the review, which may take days.

The id is a hash of the idempotency key, and the job's key (the FIFO deduplication id and the
worker's idempotency key) is ``announcement:<id>:<signed timestamp>``: a replayed request queues
the same job, which SQS drops within its five-minute deduplication window. A new request reusing
the idempotency key is a new delivery: its job runs, and the executor finds the announcement
already posted (or under review, or approved and not yet posted, which it then posts), so nothing
is posted twice and a held announcement can be sent again. The endpoint cannot ask Discord
cheaply whether ``channel`` belongs to an allowed server, so the job names the configured server
and the executor checks the channel's guild before posting.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flexcord.adapters.queue.job_queue import JobQueue, QueueUnavailable
from flexcord.announcements.model import announcement_job_group, announcement_job_key
from flexcord.apigateway import HttpRequest, RequestRejected, error_response, json_response
from flexcord.jobs.model import Job, JobKind
from flexcord.observability import logger, metrics

TIMESTAMP_HEADER = "x-flexcord-timestamp"
SIGNATURE_HEADER = "x-flexcord-signature"
SIGNATURE_PREFIX = "sha256="
#: How far the signed timestamp may be from now, either way (clock skew included).
TOLERANCE_SECONDS = 300
#: The largest legitimate body: 256 + 4,096 characters of text, each up to 12 bytes as a JSON
#: escaped surrogate pair, and two URLs, fit well inside it.
MAX_BODY_BYTES = 64 * 1024

#: Discord's embed limits: a title of 256 characters, a description of 4,096, 6,000 in all.
MAX_TITLE = 256
MAX_TEXT = 4096
MAX_URL = 2048
FIELDS = ("title", "text", "url", "image_url", "channel", "idempotency_key")

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}")
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SNOWFLAKE = re.compile(r"[0-9]{17,20}")


class InvalidAnnouncement(ValueError):
    """The body is not an acceptable announcement; ``field`` names the culprit (None: the whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def response(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": str(self)}
        if self.field is not None:
            body["field"] = self.field
        return json_response(400, body)


@dataclass(frozen=True)
class WebhookAnnouncement:
    title: str
    text: str
    idempotency_key: str
    url: str | None = None
    image_url: str | None = None
    channel: str | None = None

    @property
    def announcement_id(self) -> str:
        return announcement_id(self.idempotency_key)


def announcement_id(idempotency_key: str) -> str:
    """The announcement's id, the same for every request with this key: 24 hex characters (fits
    a Discord message nonce, 25 at most)."""
    return hashlib.sha256(f"webhook:{idempotency_key}".encode()).hexdigest()[:24]


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The ``X-Flexcord-Signature`` value of ``body`` sent at ``timestamp``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_is_valid(
    *, secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> bool:
    """True when ``signature`` is ``body``'s, signed with ``secret`` at ``timestamp``, and
    ``timestamp`` is within TOLERANCE_SECONDS of ``now``. Headers of the wrong shape are refused
    before any HMAC; the digests are compared in constant time."""
    if not secret or timestamp is None or signature is None:
        return False
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        return False
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, timestamp, body)
    return hmac.compare_digest(expected.encode("ascii"), signature.lower().encode("ascii"))


def parse_announcement(data: Any) -> WebhookAnnouncement:
    """The announcement in a decoded JSON body; InvalidAnnouncement names the first bad field."""
    if not isinstance(data, dict):
        raise InvalidAnnouncement("the body must be a JSON object")
    for name in data:
        if name not in FIELDS:
            raise InvalidAnnouncement(f"unknown field (expected one of {', '.join(FIELDS)})", str(name)[:64])
    return WebhookAnnouncement(
        title=_text(data, "title", MAX_TITLE),
        text=_text(data, "text", MAX_TEXT),
        url=_https_url(data, "url"),
        image_url=_https_url(data, "image_url"),
        channel=_channel(data),
        idempotency_key=_idempotency_key(data),
    )


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    if value is None:
        raise InvalidAnnouncement(f"{name} is required", name)
    if not isinstance(value, str):
        raise InvalidAnnouncement(f"{name} must be a string", name)
    value = value.strip()
    if not value:
        raise InvalidAnnouncement(f"{name} must not be empty", name)
    if not _is_unicode_text(value):
        raise InvalidAnnouncement(f"{name} is not valid Unicode text", name)
    if len(value) > limit:
        raise InvalidAnnouncement(f"{name} is over {limit} characters (Discord's limit)", name)
    return value


def _https_url(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidAnnouncement(f"{name} must be a string", name)
    if len(value) > MAX_URL:
        raise InvalidAnnouncement(f"{name} is over {MAX_URL} characters", name)
    if not _is_unicode_text(value) or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidAnnouncement(f"{name} must not contain spaces or control characters", name)
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise InvalidAnnouncement(f"{name} is not a valid URL", name) from None
    if parts.scheme.lower() != "https" or not host:
        raise InvalidAnnouncement(f"{name} must be an https:// URL", name)
    return value


def _is_unicode_text(value: str) -> bool:
    """False for a lone surrogate (a JSON "\\ud800" escape): Discord could not be sent it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _channel(data: dict[str, Any]) -> str | None:
    value = data.get("channel")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _SNOWFLAKE.fullmatch(value):
        raise InvalidAnnouncement(
            "channel must be a Discord channel id (17 to 20 digits, as a string)", "channel"
        )
    return value


def _idempotency_key(data: dict[str, Any]) -> str:
    value = data.get("idempotency_key")
    if value is None:
        raise InvalidAnnouncement("idempotency_key is required", "idempotency_key")
    if not isinstance(value, str) or not _IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidAnnouncement(
            "idempotency_key must be 1 to 64 letters, digits or . _ : -", "idempotency_key"
        )
    return value


def announcement_job(
    announcement: WebhookAnnouncement, *, server: str, delivery: str, review_first: bool = False
) -> Job:
    """The POST_ANNOUNCEMENT job of the shared contract (issue 9). ``delivery``: the request's
    signed timestamp (one request, one job). ``review_first``: staff approve it in the staff
    channel before it is posted (``review_first`` in the payload; absent, false)."""
    announcement_id = announcement.announcement_id
    job = Job(
        kind=JobKind.POST_ANNOUNCEMENT,
        key=f"{announcement_job_key(announcement_id)}:{delivery}",
        group=announcement_job_group(server),
        context=None,
        payload={
            "announcement_id": announcement_id,
            "server": server,
            # None: the server's announcements channel. Otherwise the caller's channel, NOT
            # checked here (that needs a Discord call): the executor checks that it is a channel
            # of ``server`` (an allowed server) before posting, and refuses it otherwise.
            "channel_id": announcement.channel,
            "title": announcement.title,
            "text": announcement.text,
            "url": announcement.url,
            "image_url": announcement.image_url,
            "role_id": None,
            "source": "webhook",
            "author_id": None,
        },
    )
    if review_first:
        job.payload["review_first"] = True
    return job


def wall_clock() -> float:
    return time.time()


class AnnouncementsWebhook:
    def __init__(
        self,
        *,
        secret: Callable[[], str],
        queue: Callable[[], JobQueue],
        server: str,
        now: Callable[[], float] = wall_clock,
        review_first: bool = False,
    ) -> None:
        """``secret``: the signing secret (read on the first request, cached by get_secret).
        ``server``: the configured server the announcements go to. ``now``: Unix seconds.
        ``review_first``: every announcement waits for a staff member's approval in the server's
        staff channel (ANNOUNCEMENTS_WEBHOOK_REVIEW_FIRST)."""
        self._secret = secret
        self._queue = queue
        self._server = server
        self._now = now
        self._review_first = review_first

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        try:
            request = HttpRequest.from_event(event, max_body_bytes=MAX_BODY_BYTES)
            self._check_signature(request)
            announcement = _read(request)
        except SignatureRejected as rejection:
            logger.warning("announcements webhook signature rejected")
            metrics.add_metric(name="AnnouncementWebhookRejected", unit="Count", value=1)
            return rejection.response()
        except (RequestRejected, InvalidAnnouncement) as invalid:
            metrics.add_metric(name="AnnouncementWebhookInvalid", unit="Count", value=1)
            return invalid.response()
        job = announcement_job(
            announcement,
            server=self._server,
            delivery=str(request.header(TIMESTAMP_HEADER)),
            review_first=self._review_first,
        )
        try:
            self._queue().enqueue(job)
        except QueueUnavailable:
            logger.exception("announcement not queued")
            return error_response(503, "the announcement could not be queued; send it again")
        logger.info(
            "announcement queued",
            extra={"announcement_id": announcement.announcement_id, "channel": announcement.channel},
        )
        metrics.add_metric(name="AnnouncementWebhookAccepted", unit="Count", value=1)
        return json_response(202, {"announcement_id": announcement.announcement_id})

    def _check_signature(self, request: HttpRequest) -> None:
        if not signature_is_valid(
            secret=self._secret(),
            timestamp=request.header(TIMESTAMP_HEADER),
            signature=request.header(SIGNATURE_HEADER),
            body=request.raw_body,
            now=self._now(),
        ):
            raise SignatureRejected("invalid or expired signature")


class SignatureRejected(RequestRejected):
    """Unsigned, badly signed, or signed outside the window."""

    status = 401


def _read(request: HttpRequest) -> WebhookAnnouncement:
    try:
        data = json.loads(request.text())
    except RequestRejected:  # not UTF-8: already a 400 of its own
        raise
    # JSONDecodeError is a ValueError; absurdly deep nesting raises RecursionError.
    except (ValueError, RecursionError):
        raise InvalidAnnouncement("the body is not JSON") from None
    return parse_announcement(data)
