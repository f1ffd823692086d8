"""POST /twilio/conversation-events: Twilio's signature decides, then the event is queued once."""

from __future__ import annotations

import base64
from typing import Any, ClassVar
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from flexcord import apigateway
from flexcord.config import ConfigurationError, TwilioSettings
from flexcord.jobs.model import JobKind
from flexcord.twilio_webhooks import signature as twilio_signature
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
    params: dict[str, str],
    *,
    signature: str | None = None,
    url: str = URL,
    path: str = "/twilio/conversation-events",
    body: str | None = None,
    **headers: str,
) -> dict[str, Any]:
    body = urlencode(params) if body is None else body
    return {
        "version": "2.0",
        "rawPath": path,
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


class RecordingValidator:
    """Stands in for RequestValidator to show whether the signature was ever looked at."""

    calls: ClassVar[list[str]] = []

    def __init__(self, token: str) -> None:
        pass

    def validate(self, url: str, params: Any, signature: str) -> bool:
        RecordingValidator.calls.append(url)
        return False


@pytest.fixture
def validator_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    RecordingValidator.calls = []
    monkeypatch.setattr(twilio_signature, "RequestValidator", RecordingValidator)
    return RecordingValidator.calls


def test_an_oversized_body_gets_413_before_anything_else_even_when_signed() -> None:
    queue = RecordingQueue()
    huge = {**MESSAGE, "Body": "x" * (300 * 1024)}
    assert endpoint(queue).handle(event(huge))["statusCode"] == 413
    assert queue.jobs == []


def test_700k_empty_parameters_are_refused_unparsed_and_unverified(
    monkeypatch: pytest.MonkeyPatch, validator_calls: list[str]
) -> None:
    parsed: list[str] = []
    monkeypatch.setattr(apigateway, "parse_qsl", lambda *args, **kwargs: parsed.append("called") or [])
    queue = RecordingQueue()
    flood = "&".join(f"p{i}=" for i in range(700_000))  # 6 MB: 7 s to parse and verify before
    assert endpoint(queue).handle(event({}, body=flood, signature="x"))["statusCode"] == 413
    assert (parsed, validator_calls, queue.jobs) == ([], [], [])


def test_too_many_fields_in_a_small_body_get_400_without_a_signature_check(
    validator_calls: list[str],
) -> None:
    queue = RecordingQueue()
    many = "a=&" * 20_000  # 60 KB: under the size limit, far over any event's field count
    assert endpoint(queue).handle(event({}, body=many, signature="x"))["statusCode"] == 400
    assert (validator_calls, queue.jobs) == ([], [])


def test_a_real_sized_event_with_a_long_message_is_accepted() -> None:
    # A chat message may be 32 KB; percent-encoded non-ASCII triples it.
    queue = RecordingQueue()
    long_message = {**MESSAGE, "Body": "é" * 16_000}
    assert endpoint(queue).handle(event(long_message))["statusCode"] == 200
    assert queue.jobs[0].payload["Body"] == "é" * 16_000


CUSTOM = "https://support.example.com/flexcord"


@pytest.mark.parametrize(
    ("signed_for", "status"),
    [
        (CUSTOM + "/twilio/conversation-events", 200),  # the URL Twilio called
        (CUSTOM + "/flexcord/twilio/conversation-events", 403),  # the base path doubled
        ("https://support.example.com/twilio/conversation-events", 403),  # the base path dropped
        ("https://elsewhere.example/flexcord/twilio/conversation-events", 403),
    ],
)
def test_a_custom_domain_with_a_base_path_is_verified_against_the_url_twilio_called(
    signed_for: str, status: int
) -> None:
    # HTTP API keeps the API mapping key in rawPath: the route is /twilio/conversation-events.
    queue = RecordingQueue()
    result = endpoint(queue, base=CUSTOM).handle(
        event(MESSAGE, url=signed_for, path="/flexcord/twilio/conversation-events")
    )
    assert result["statusCode"] == status
    assert len(queue.jobs) == (1 if status == 200 else 0)


def test_the_query_string_twilio_called_is_part_of_the_signed_url() -> None:
    queue = RecordingQueue()
    url = URL + "?tenant=brand"
    request = event(MESSAGE, url=url)
    request["rawQueryString"] = "tenant=brand"
    assert endpoint(queue).handle(request)["statusCode"] == 200


@pytest.mark.parametrize(
    "mangle",
    [
        lambda e: e.update(headers=["x-twilio-signature", "abc"]),
        lambda e: e.update(requestContext="nope"),
        lambda e: e.update(body="Body=\ud800", isBase64Encoded=False),  # a lone surrogate
        lambda e: e.update(body=base64.b64encode(b"Body=\xff").decode()),  # not UTF-8
        lambda e: e.update(body=b"bytes"),
    ],
)
def test_an_unreadable_event_gets_400(mangle: Any) -> None:
    request = event(MESSAGE)
    mangle(request)
    assert endpoint(RecordingQueue()).handle(request)["statusCode"] == 400


def test_a_signed_event_whose_conversation_sid_is_not_a_sid_gets_400() -> None:
    queue = RecordingQueue()
    odd = {**MESSAGE, "ConversationSid": "CH" + "x" * 500}
    assert endpoint(queue).handle(event(odd))["statusCode"] == 400
    assert queue.jobs == []


def test_an_idempotency_token_sqs_would_refuse_becomes_a_hash() -> None:
    queue = RecordingQueue()
    joined = {**MESSAGE, "EventType": "onParticipantAdded", "ParticipantSid": "MB1"}
    endpoint(queue).handle(event(joined, **{"i-twilio-idempotency-token": "t o k" * 100}))
    [job] = queue.jobs
    assert job.key.startswith("sha256:")
    assert len(job.key) <= 128


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("https://support.example.com/flexcord/", "https://support.example.com/flexcord"),
        ("http://127.0.0.1:8787", "http://127.0.0.1:8787"),
        ("", None),
    ],
)
def test_the_public_base_url_setting_is_an_absolute_url(
    monkeypatch: pytest.MonkeyPatch, configured: str, expected: str | None
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("PUBLIC_BASE_URL", configured)
    assert TwilioSettings.from_env().public_base_url == expected


@pytest.mark.parametrize("configured", ["support.example.com/flexcord", "https://", "https://x.example/?a=1"])
def test_a_malformed_public_base_url_fails_loudly(monkeypatch: pytest.MonkeyPatch, configured: str) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("PUBLIC_BASE_URL", configured)
    with pytest.raises(ConfigurationError):
        TwilioSettings.from_env()
