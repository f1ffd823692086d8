"""POST /twilio/conversation-events: Twilio Conversations' webhook.

Validate, enqueue, answer: Twilio gives a webhook 5 s, so the work (posting to Discord, updating
the case) runs in the worker. Deliveries are deduplicated twice: SQS FIFO drops a repeat of the
same delivery within five minutes (deduplication id), and the worker's idempotency record keeps a
message from being relayed twice however it comes back (key = MessageSid).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

from flexcord.adapters.queue.job_queue import JobQueue, QueueUnavailable
from flexcord.apigateway import BadRequestBody, HttpRequest, error_response, json_response
from flexcord.jobs.model import Job, JobKind
from flexcord.observability import logger, metrics

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


class ConversationEventsEndpoint:
    def __init__(
        self, *, auth_token: Callable[[], str], public_base_url: str | None, queue: Callable[[], JobQueue]
    ):
        self._auth_token = auth_token
        self._public_base_url = public_base_url
        self._queue = queue

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        try:
            request = HttpRequest.from_event(event)
            params = dict(parse_qsl(request.raw_body.decode("utf-8"), keep_blank_values=True))
        except (BadRequestBody, UnicodeDecodeError, ValueError, TypeError) as problem:
            return error_response(400, f"unreadable request: {problem}")
        url = self._public_url(event, request.path)
        signature = request.header("x-twilio-signature") or ""
        if not RequestValidator(self._auth_token()).validate(url, params, signature):
            logger.warning("Twilio signature rejected", extra={"url": url})
            metrics.add_metric(name="TwilioSignatureRejected", unit="Count", value=1)
            return error_response(403, "invalid Twilio signature")
        conversation_sid = params.get("ConversationSid", "")
        if not conversation_sid or not params.get("EventType"):
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

    def _public_url(self, event: Mapping[str, Any], path: str) -> str:
        """The exact URL Twilio signed: the configured public base URL, or else the host API
        Gateway was called on (the execute-api default endpoint)."""
        if self._public_base_url:
            return self._public_base_url + path
        domain = ((event.get("requestContext") or {}).get("domainName")) or ""
        return f"https://{domain}{path}"


def _delivery_key(params: Mapping[str, str], idempotency_token: str | None) -> str:
    # A message is relayed once whatever delivers it; other events once per delivery.
    if params.get("EventType") == "onMessageAdded" and params.get("MessageSid"):
        return f"message:{params['MessageSid']}"
    if idempotency_token:
        return f"delivery:{idempotency_token}"
    parts = [params.get(name, "") for name in ("EventType", "ConversationSid", "ParticipantSid", "StateTo")]
    return "event:" + ":".join(parts)
