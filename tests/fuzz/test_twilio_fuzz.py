"""POST /twilio/conversation-events and /twilio/chatbot under fuzz: validly signed form and JSON
bodies with random fields, behind a custom domain with a base path or the API's own host,
random bytes, odd events and odd hosts. Never a 5xx, never an exception, always a well-formed
answer, and nothing queued for a refused request."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flexcord.cases import CaseService
from flexcord.kb import load_knowledge_base
from flexcord.sessions.model import ChatPlace, SessionMode, SupportSession
from flexcord.twilio_webhooks import is_sid
from flexcord.twilio_webhooks.chatbot import ChatbotEndpoint
from flexcord.twilio_webhooks.conversation_events import ConversationEventsEndpoint
from tests.fuzz.harness import CHATBOT, CONVERSATION_EVENTS, FAN_OUT, SqsLikeQueue, exercise, variants_of
from tests.fuzz.strategies import (
    API_HOST,
    KNOWN_CONVERSATION,
    MEMBER_IDENTITY,
    ODD_STRINGS,
    TWILIO_DEPLOYMENTS,
    TWILIO_TOKEN,
    body_hash_query,
    chatbot_payloads,
    envelope,
    form_body,
    json_body,
    odd_event,
    random_bodies,
    scrambled,
    scrambled_form,
    seeds,
    twilio_event_params,
    twilio_signature,
    twilio_url,
)
from tests.unit.fakes import InMemoryCaseRepository, InMemorySessionRepository

FUZZ = settings.get_profile("flexcord-fuzz")
EVENTS_PATH, CHATBOT_PATH = "/twilio/conversation-events", "/twilio/chatbot"
KNOWLEDGE_BASE = load_knowledge_base(None)
#: Studio's HTTP Request widget takes at most 64 kB back.
STUDIO_MAX_RESPONSE = 64_000
FORM = "application/x-www-form-urlencoded"
JSON_TYPES = ("application/json", "application/json;charset=utf-8", "Application/JSON")
deployments = st.sampled_from(TWILIO_DEPLOYMENTS)


def events_endpoint(base: str | None) -> tuple[ConversationEventsEndpoint, SqsLikeQueue]:
    queue = SqsLikeQueue()
    endpoint = ConversationEventsEndpoint(
        auth_token=lambda: TWILIO_TOKEN, public_base_url=base, queue=lambda: queue
    )
    return endpoint, queue


def chatbot_world(
    base: str | None, mode: SessionMode = SessionMode.ASSISTANT, misses: int = 0
) -> tuple[ChatbotEndpoint, SqsLikeQueue]:
    """A member's chat in ``mode`` behind a fresh endpoint: each request starts from scratch."""
    sessions = InMemorySessionRepository()
    session = SupportSession(
        user_id="111000000000000000",
        display_name="Alice",
        locale="en-GB",
        guild_id="900000000000000000",
        channel_id="901000000000000000",
        place=ChatPlace.DM,
        conversation_sid=KNOWN_CONVERSATION,
        member_identity=MEMBER_IDENTITY,
        mode=SessionMode.ASSISTANT,
        opened_at="2026-11-21T10:00:00+00:00",
    )
    sessions.open(replace(session, mode=mode, assistant_misses=misses))
    queue = SqsLikeQueue()
    cases = CaseService(InMemoryCaseRepository())
    endpoint = ChatbotEndpoint(
        auth_token=lambda: TWILIO_TOKEN,
        public_base_url=base,
        sessions=lambda: sessions,
        cases=lambda: cases,
        knowledge_base=lambda: KNOWLEDGE_BASE,
        queue=lambda: queue,
    )
    return endpoint, queue


@settings(FUZZ)
@given(params=twilio_event_params(), deployment=deployments, seed=seeds)
def test_signed_conversation_events_of_every_shape(
    params: dict[str, str], deployment: tuple[str | None, str], seed: int
) -> None:
    rng = random.Random(seed)
    base, prefix = deployment
    path = prefix + EVENTS_PATH
    for variant in [params, *(scrambled_form(params, rng) for _ in range(FAN_OUT - 1))]:
        query = rng.choice(["", "", "tenant=brand"])
        headers = {
            "x-twilio-signature": twilio_signature(twilio_url(base, path, query), variant),
            "content-type": FORM,
        }
        if rng.random() < 0.5:
            headers["i-twilio-idempotency-token"] = rng.choice(("tok-1", *ODD_STRINGS))
        endpoint, queue = events_endpoint(base)
        event = envelope(form_body(variant), headers, rng, path=path, query=query)

        def check(
            status: int, answer: Any, variant: dict[str, str] = variant, queue: SqsLikeQueue = queue
        ) -> None:
            if is_sid(variant.get("ConversationSid"), "CH") and variant.get("EventType"):
                assert (status, answer) == (200, {"queued": True})
                [job] = queue.jobs
                assert job.group == variant["ConversationSid"]
            else:
                assert status == 400
                assert queue.jobs == []

        exercise(CONVERSATION_EVENTS, endpoint.handle, event, check)


@settings(FUZZ)
@given(
    payload=chatbot_payloads(),
    deployment=deployments,
    mode=st.sampled_from(SessionMode),
    misses=st.integers(0, 2),
    seed=seeds,
)
def test_signed_studio_requests_of_every_shape(
    payload: Any, deployment: tuple[str | None, str], mode: SessionMode, misses: int, seed: int
) -> None:
    rng = random.Random(seed)
    base, prefix = deployment
    path = prefix + CHATBOT_PATH
    for variant in [
        payload,
        *(scrambled(payload, rng, breaks=rng.randint(1, 2)) for _ in range(FAN_OUT - 1)),
    ]:
        if rng.random() < 0.6:  # Studio's flow sends JSON; a form post is signed differently
            body = json_body(variant, rng)
            query = body_hash_query(body, rng.choice(["", "flow=FW1"]))
            signature = twilio_signature(twilio_url(base, path, query))
            content_type = rng.choice(JSON_TYPES)
        else:
            params = _flatten(variant)
            body, query, content_type = form_body(params), "", FORM
            signature = twilio_signature(twilio_url(base, path), params)
        endpoint, queue = chatbot_world(base, mode, misses)
        headers = {"x-twilio-signature": signature, "content-type": content_type}
        event = envelope(body, headers, rng, path=path, query=query)
        exercise(
            CHATBOT, endpoint.handle, event, lambda status, answer, q=queue: check_studio(status, answer, q)
        )


def check_studio(status: int, answer: Any, queue: SqsLikeQueue) -> None:
    """What Studio's HTTP Request widget can route on: a JSON object within its 64 kB."""
    assert status in (200, 400)
    if status == 400:
        assert queue.jobs == []
        return
    assert isinstance(answer["handoff"], bool)
    assert isinstance(answer["reply"], str)
    assert isinstance(answer["articles"], list)
    assert len(json.dumps(answer)) <= STUDIO_MAX_RESPONSE
    assert len(queue.jobs) <= 1


ODD_HOSTS = ("", "[", "host:port", "a b", "host:99999", "xn--", "é.example", "host/path", "host?q", "::1")


@settings(FUZZ)
@given(body=random_bodies, seed=seeds)
def test_random_bytes_odd_events_and_odd_hosts_are_refused_cleanly(body: bytes, seed: int) -> None:
    rng = random.Random(seed)
    for variant in variants_of(body, rng):
        name, path = rng.choice([(CONVERSATION_EVENTS, EVENTS_PATH), (CHATBOT, CHATBOT_PATH)])
        base = rng.choice([None, "https://support.example.com/flexcord"])
        choice = rng.choice(["bytes", "odd event", "odd host"])
        if choice == "odd event":
            event = odd_event(variant, rng, path)
        else:
            headers = {
                "x-twilio-signature": rng.choice(("", "abc=", *ODD_STRINGS)),
                "content-type": rng.choice([FORM, *JSON_TYPES, "text/plain"]),
            }
            domain = rng.choice(ODD_HOSTS) if choice == "odd host" else API_HOST
            query = rng.choice(
                ["", "bodySHA256=00", "bodySHA256", "a=%ZZ", "bodySHA256=&bodySHA256=1", *ODD_STRINGS]
            )
            event = envelope(variant, headers, rng, path=path, query=query, domain=domain)
        if name == CHATBOT:
            endpoint, queue = chatbot_world(base)
            handler = endpoint.handle
        else:
            events, queue = events_endpoint(base)
            handler = events.handle

        def check(status: int, answer: Any, queue: SqsLikeQueue = queue) -> None:
            assert status in (400, 403, 413)
            assert queue.jobs == []

        exercise(name, handler, event, check)


def _flatten(payload: Any) -> dict[str, str]:
    """A Studio form post: every value a string."""
    if not isinstance(payload, dict):
        return {"payload": json.dumps(payload)}
    return {
        str(key): value if isinstance(value, str) else json.dumps(value) for key, value in payload.items()
    }
