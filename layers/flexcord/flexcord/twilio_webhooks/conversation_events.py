"""POST /twilio/conversation-events: Twilio Conversations' webhook.

Validate, enqueue, answer: Twilio gives a webhook 5 s, so the work (posting to Discord, updating
the case) runs in the worker. Deliveries are deduplicated twice: SQS FIFO drops a repeat of the
same delivery within five minutes (deduplication id), and the worker's idempotency record keeps a
message from being relayed twice however it comes back (key = MessageSid).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from flexcord.adapters.queue.job_queue import JobQueue, QueueUnavailable
from flexcord.apigateway import HttpRequest, RequestRejected, error_response, json_response, public_url
from flexcord.jobs.model import Job, JobKind
from flexcord.observability import logger, metrics
from flexcord.twilio_webhooks import is_sid
from flexcord.twilio_webhooks.signature import (
    MAX_BODY_BYTES,
    MAX_FORM_FIELDS,
    SIGNATURE_HEADER,
    signed_by_twilio,
)

# What the worker reads of an event (Twilio sends more; nothing else is kept).
EVENT_FIELDS = (
    "EventType",
    "Source",
    "ConversationSid",
    "MessageSid",
    "Index",
    "Body",
    "Author",
    "Attributes",
    "Media",
    "ParticipantSid",
    "Identity",
    "StateFrom",
    "StateTo",
    "Reason",
    "DateCreated",
)

# What SQS accepts as a FIFO deduplication id: 1-128 printable ASCII characters, no space.
_DEDUPLICATION_ID = re.compile(r"[!-~]{1,128}")


class ConversationEventsEndpoint:
    def __init__(
        self, *, auth_token: Callable[[], str], public_base_url: str | None, queue: Callable[[], JobQueue]
    ):
        self._auth_token = auth_token
        self._public_base_url = public_base_url
        self._queue = queue

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        # Bounded before anything else: the size, then the field count, then the signature.
        try:
            request = HttpRequest.from_event(event, max_body_bytes=MAX_BODY_BYTES)
            params = request.form(max_fields=MAX_FORM_FIELDS)
        except RequestRejected as rejection:
            return rejection.response()
        url = public_url(request, self._public_base_url)
        if not signed_by_twilio(url, params, request.header(SIGNATURE_HEADER), self._auth_token()):
            logger.warning("Twilio signature rejected", extra={"url": url})
            metrics.add_metric(name="TwilioSignatureRejected", unit="Count", value=1)
            return error_response(403, "invalid Twilio signature")
        conversation_sid = params.get("ConversationSid", "")
        # The SID becomes the FIFO group id: one SQS would refuse is not an event (400, not 503).
        if not is_sid(conversation_sid, "CH") or not params.get("EventType"):
            return error_response(400, "not a conversation event")
        job = Job(
            kind=JobKind.CONVERSATION_EVENT,
            key=_delivery_key(params, request.header("i-twilio-idempotency-token")),
            # Events of one conversation are handled in order (agent messages stay in sequence).
            group=conversation_sid,
            payload={name: params[name] for name in EVENT_FIELDS if name in params},
        )
        try:
            self._queue().enqueue(job)
        except QueueUnavailable:
            logger.exception("conversation event not queued")
            return error_response(503, "try again")  # Twilio retries
        metrics.add_metric(name="ConversationEventsQueued", unit="Count", value=1)
        return json_response(200, {"queued": True})


def _delivery_key(params: Mapping[str, str], idempotency_token: str | None) -> str:
    # A message is relayed once whatever delivers it; other events once per delivery.
    if params.get("EventType") == "onMessageAdded" and params.get("MessageSid"):
        key = f"message:{params['MessageSid']}"
    elif idempotency_token:
        key = f"delivery:{idempotency_token}"
    else:
        names = ("EventType", "ConversationSid", "ParticipantSid", "StateTo")
        key = "event:" + ":".join(params.get(name, "") for name in names)
    # The token header is not covered by the signature and the fields are free text: a key SQS
    # would refuse as a deduplication id is replaced by its hash, which deduplicates the same.
    if _DEDUPLICATION_ID.fullmatch(key):
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
