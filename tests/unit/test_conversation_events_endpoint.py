"""POST /twilio/conversation-events: Twilio's signature decides, then the event is queued once."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from flexcord.jobs.model import JobKind
from flexcord.twilio_webhooks.conversation_events import ConversationEventsEndpoint
from tests.unit.fakes import RecordingQueue

TOKEN = "twilio-auth-token"
BASE = "https://chat.example.com"
URL = BASE + "/twilio/conversation-events"

MESSAGE = {
    "AccountSid": "AC" + "0" * 32,
    "EventType": "onMessageAdded",
    "Source": "SDK",
    "ConversationSid": "CH" + "1" * 32,
    "MessageSid": "IM" + "2" * 32,
    "Index": "3",
    "Author": "agent_alex",
    "Body": "Hello! I'm Alex.",
    "RetryCount": "0",
    "ClientIdentity": "agent_alex",
}


def event(
    params: dict[str, str], *, signature: str | None = None, url: str = URL, **headers: str
) -> dict[str, Any]:
    body = urlencode(params)
    return {
        "version": "2.0",
        "rawPath": "/twilio/conversation-events",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": signature
            if signature is not None
            else RequestValidator(TOKEN).compute_signature(url, params),
            **headers,
        },
        "requestContext": {
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "http": {"method": "POST"},
        },
        "body": base64.b64encode(body.encode()).decode(),
        "isBase64Encoded": True,
    }


def endpoint(queue: RecordingQueue, base: str | None = BASE) -> ConversationEventsEndpoint:
    return ConversationEventsEndpoint(auth_token=lambda: TOKEN, public_base_url=base, queue=lambda: queue)


def test_a_signed_event_is_queued_in_its_conversations_group_keyed_by_the_message() -> None:
    queue = RecordingQueue()
    result = endpoint(queue).handle(event(MESSAGE, **{"i-twilio-idempotency-token": "tok-1"}))
    assert result["statusCode"] == 200
    [job] = queue.jobs
    assert job.kind is JobKind.CONVERSATION_EVENT
    assert job.group == MESSAGE["ConversationSid"]
    assert job.key == f"message:{MESSAGE['MessageSid']}"
    assert job.context is None
    assert job.payload["Body"] == "Hello! I'm Alex."
    assert "AccountSid" not in job.payload


def test_other_events_are_keyed_by_the_delivery() -> None:
    queue = RecordingQueue()
    joined = {**MESSAGE, "EventType": "onParticipantAdded", "Identity": "agent_alex", "ParticipantSid": "MB1"}
    endpoint(queue).handle(event(joined, **{"i-twilio-idempotency-token": "tok-9"}))
    assert queue.jobs[0].key == "delivery:tok-9"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda params: {**params, "Body": "I am not Alex"},  # body changed after signing
        lambda params: {**params, "Author": "member_x"},
    ],
)
def test_a_tampered_event_gets_403_and_queues_nothing(tamper: Any) -> None:
    queue = RecordingQueue()
    signature = RequestValidator(TOKEN).compute_signature(URL, MESSAGE)
    assert endpoint(queue).handle(event(tamper(MESSAGE), signature=signature))["statusCode"] == 403
    assert queue.jobs == []


def test_a_forged_or_missing_signature_gets_403() -> None:
    queue = RecordingQueue()
    forged = RequestValidator("someone-elses-token").compute_signature(URL, MESSAGE)
    assert endpoint(queue).handle(event(MESSAGE, signature=forged))["statusCode"] == 403
    assert endpoint(queue).handle(event(MESSAGE, signature=""))["statusCode"] == 403
    # Signed for another URL (e.g. replayed from another deployment).
    other = RequestValidator(TOKEN).compute_signature(
        "https://elsewhere.example/twilio/conversation-events", MESSAGE
    )
    assert endpoint(queue).handle(event(MESSAGE, signature=other))["statusCode"] == 403
    assert queue.jobs == []


def test_without_a_configured_base_url_the_api_host_is_what_twilio_signed() -> None:
    queue = RecordingQueue()
    url = "https://abc123.execute-api.us-east-1.amazonaws.com/twilio/conversation-events"
    assert endpoint(queue, base=None).handle(event(MESSAGE, url=url))["statusCode"] == 200
    assert len(queue.jobs) == 1


def test_a_queue_outage_asks_twilio_to_retry() -> None:
    queue = RecordingQueue(fail=True)
    assert endpoint(queue).handle(event(MESSAGE))["statusCode"] == 503


def test_a_signed_post_that_is_not_a_conversation_event_gets_400() -> None:
    queue = RecordingQueue()
    assert endpoint(queue).handle(event({"Hello": "world"}))["statusCode"] == 400
    assert queue.jobs == []
