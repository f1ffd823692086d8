"""ChatbotFunction: Studio's signed request in, the assistant's decision out, within its contract."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from flexcord.cases import CaseService
from flexcord.jobs.model import JobKind
from flexcord.sessions.model import ChatPlace, SessionMode, SupportSession
from flexcord.twilio_webhooks import signature as twilio_signature
from flexcord.twilio_webhooks.chatbot import ChatbotEndpoint
from tests.unit.fakes import InMemoryCaseRepository, InMemorySessionRepository, RecordingQueue

TOKEN = "twilio-auth-token"
BASE = "https://chat.example.com"
CONVERSATION = "CH" + "1" * 32


@dataclass(frozen=True)
class FakeArticle:
    stem: str
    title: str
    url: str
    snippet: str


@dataclass(frozen=True)
class FakeHit:
    article: FakeArticle
    score: float


@dataclass(frozen=True)
class FakeResult:
    hits: list[FakeHit] = field(default_factory=list)
    abstain: bool = True


class FakeKnowledgeBase:
    """Knows one article, about raid passes."""

    def search(self, query: str, k: int = 10, *, locale: str | None = None) -> FakeResult:
        if "raid" in query.lower():
            article = FakeArticle("raid-passes", "Raid passes", "https://help/raid-passes", "Passes are...")
            return FakeResult([FakeHit(article, 12.5)], abstain=False)
        return FakeResult()


@pytest.fixture
def world() -> dict[str, Any]:
    sessions = InMemorySessionRepository()
    sessions.open(
        SupportSession(
            user_id="111",
            display_name="Alice",
            locale="en-GB",
            guild_id="g",
            channel_id="dm",
            place=ChatPlace.DM,
            conversation_sid=CONVERSATION,
            member_identity="member_abc",
            mode=SessionMode.ASSISTANT,
            opened_at="2026-11-21T10:00:00+00:00",
        )
    )
    queue = RecordingQueue()
    cases = CaseService(InMemoryCaseRepository())
    endpoint = ChatbotEndpoint(
        auth_token=lambda: TOKEN,
        public_base_url=BASE,
        sessions=lambda: sessions,
        cases=lambda: cases,
        knowledge_base=FakeKnowledgeBase,
        queue=lambda: queue,
    )
    return {"endpoint": endpoint, "sessions": sessions, "queue": queue, "cases": cases}


def studio_json(
    payload: dict[str, Any],
    *,
    token: str = TOKEN,
    tamper: bool = False,
    signed_for: str = f"{BASE}/twilio/chatbot",
    path: str = "/twilio/chatbot",
) -> dict[str, Any]:
    """As Studio's HTTP Request widget sends JSON: the body's SHA-256 in the query, signed URL."""
    body = json.dumps(payload)
    query = f"bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
    signature = RequestValidator(token).compute_signature(f"{signed_for}?{query}", {})
    if tamper:
        body = body.replace("raid", "RAID")
    return {
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "x-twilio-signature": signature},
        "requestContext": {"http": {"method": "POST"}},
        "body": body,
        "isBase64Encoded": False,
    }


def studio_form(payload: dict[str, str], *, token: str = TOKEN) -> dict[str, Any]:
    signature = RequestValidator(token).compute_signature(f"{BASE}/twilio/chatbot", payload)
    return {
        "rawPath": "/twilio/chatbot",
        "rawQueryString": "",
        "headers": {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature},
        "requestContext": {"http": {"method": "POST"}},
        "body": urlencode(payload),
        "isBase64Encoded": False,
    }


def message(body: str, author: str = "member_abc", **extra: Any) -> dict[str, Any]:
    return {
        "conversation_sid": CONVERSATION,
        "message_sid": "IM" + "2" * 32,
        "author": author,
        "body": body,
        **extra,
    }


def answer(world: dict[str, Any], event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = world["endpoint"].handle(event)
    return result["statusCode"], json.loads(result["body"])


def test_a_question_the_kb_knows_is_answered_and_queued_for_the_member(world: dict[str, Any]) -> None:
    status, body = answer(world, studio_json(message("my raid pass vanished")))
    assert status == 200
    assert body["handoff"] is False
    assert body["articles"] == [{"title": "Raid passes", "url": "https://help/raid-passes", "score": 12.5}]
    [job] = world["queue"].jobs
    assert job.kind is JobKind.ASSISTANT_REPLY
    assert job.group == "111"
    assert job.payload["decision"]["articles"][0]["stem"] == "raid-passes"


def test_two_misses_in_a_row_hand_off_with_the_case_in_the_task(world: dict[str, Any]) -> None:
    status, first = answer(world, studio_json(message("what's the weather")))
    assert (status, first["handoff"]) == (200, False)
    # The worker records the miss from the queued decision; stand in for it here.
    from dataclasses import replace

    session = world["sessions"].for_conversation(CONVERSATION)
    world["sessions"].save(replace(session, assistant_misses=1))
    _, second = answer(world, studio_json(message("and tomorrow?")))
    assert second["handoff"] is True
    assert second["task"]["case_number"] == 1
    assert second["task"]["discord_display_name"] == "Alice"
    assert world["sessions"].for_conversation(CONVERSATION).mode is SessionMode.QUEUED


def test_the_flows_handoff_is_recorded_as_done(world: dict[str, Any]) -> None:
    """Send to Flex runs on this answer, so the session must not look like a hand-off still to do
    (the member's next "Talk to a human" would ask Flex a second time)."""
    _, body = answer(world, studio_json(message("can I talk to a human please")))
    assert body["handoff"] is True
    session = world["sessions"].for_conversation(CONVERSATION)
    assert (session.mode, session.handed_to_flex) == (SessionMode.QUEUED, True)


def test_an_answer_that_cannot_be_queued_sends_the_chat_to_an_agent(world: dict[str, Any]) -> None:
    """Defect 7: a queue failure was swallowed and the member never saw the answer. A 503 takes
    the shipped flow's failed transition, which is Send to Flex."""
    world["queue"].fail = True
    status, _ = answer(world, studio_json(message("my raid pass vanished")))
    assert status == 503
    flow = json.loads((Path(__file__).resolve().parents[2] / "studio" / "flexcord-flow.json").read_text())
    [ask] = [state for state in flow["states"] if state["name"] == "ask_assistant"]
    assert {"next": "send_to_flex", "event": "failed"} in ask["transitions"]


@pytest.mark.parametrize("text", ["can I talk to a human please", "that didn't help"])
def test_asking_for_a_human_or_saying_it_did_not_help_hands_off(world: dict[str, Any], text: str) -> None:
    _, body = answer(world, studio_json(message(text)))
    assert body["handoff"] is True


def test_flexcords_own_handoff_note_sends_the_queued_chat_to_flex(world: dict[str, Any]) -> None:
    from dataclasses import replace

    session = world["sessions"].for_conversation(CONVERSATION)
    world["sessions"].save(replace(session, mode=SessionMode.QUEUED, case_number=7))
    _, body = answer(
        world, studio_json(message("The member asked", author="flexcord", attributes='{"handoff": true}'))
    )
    assert body["handoff"] is True
    assert body["task"]["case_number"] == 7
    assert world["queue"].jobs == []


def test_nothing_happens_once_an_agent_has_the_chat(world: dict[str, Any]) -> None:
    from dataclasses import replace

    session = world["sessions"].for_conversation(CONVERSATION)
    world["sessions"].save(replace(session, mode=SessionMode.AGENT))
    _, body = answer(world, studio_json(message("my raid pass vanished")))
    assert body == {"handoff": False, "reply": "", "articles": []}
    assert world["queue"].jobs == []


def test_form_bodies_are_accepted_too(world: dict[str, Any]) -> None:
    status, body = answer(world, studio_form({k: str(v) for k, v in message("raid pass?").items()}))
    assert status == 200
    assert body["articles"]


@pytest.mark.parametrize(
    "event",
    [
        lambda: studio_json(message("raid pass"), token="someone-else"),
        lambda: studio_json(message("raid pass"), tamper=True),  # body no longer matches bodySHA256
        lambda: studio_form({"conversation_sid": CONVERSATION, "body": "x"}, token="someone-else"),
    ],
)
def test_forged_or_tampered_requests_get_403(world: dict[str, Any], event: Any) -> None:
    status, _ = answer(world, event())
    assert status == 403
    assert world["queue"].jobs == []


def test_an_unknown_conversation_changes_nothing(world: dict[str, Any]) -> None:
    status, body = answer(world, studio_json({**message("raid"), "conversation_sid": "CH" + "9" * 32}))
    assert (status, body["handoff"]) == (200, False)
    assert world["queue"].jobs == []


def test_json_without_its_body_hash_in_the_url_is_unsigned_403_not_500(world: dict[str, Any]) -> None:
    # RequestValidator raises TypeError on a str body without ?bodySHA256: that was a 500.
    event = studio_json(message("raid pass"))
    event["rawQueryString"] = ""
    event["headers"]["x-twilio-signature"] = RequestValidator(TOKEN).compute_signature(
        f"{BASE}/twilio/chatbot", {}
    )
    status, _ = answer(world, event)
    assert status == 403
    assert world["queue"].jobs == []


def test_any_failure_inside_the_validator_is_a_rejection(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> bool:
        raise TypeError("the validator could not cope")

    monkeypatch.setattr(twilio_signature.RequestValidator, "validate", explode)
    assert answer(world, studio_json(message("raid pass")))[0] == 403
    assert answer(world, studio_form({"conversation_sid": CONVERSATION}))[0] == 403


def test_an_oversized_body_gets_413_and_is_never_verified(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    monkeypatch.setattr(
        twilio_signature.RequestValidator, "validate", lambda *args, **kwargs: checked.append("x") or True
    )
    assert answer(world, studio_json(message("raid " * 60_000)))[0] == 413
    assert (checked, world["queue"].jobs) == ([], [])


def test_a_form_with_too_many_fields_gets_400(world: dict[str, Any]) -> None:
    event = studio_form({"conversation_sid": CONVERSATION})
    event["body"] = "a=&" * 20_000
    assert answer(world, event)[0] == 400


@pytest.mark.parametrize(
    ("signed_for", "status"),
    [
        ("https://support.example.com/flexcord/twilio/chatbot", 200),
        ("https://support.example.com/flexcord/flexcord/twilio/chatbot", 403),
        ("https://support.example.com/twilio/chatbot", 403),
    ],
)
def test_a_custom_domain_base_path_is_verified_against_the_url_studio_called(
    world: dict[str, Any], signed_for: str, status: int
) -> None:
    endpoint = ChatbotEndpoint(
        auth_token=lambda: TOKEN,
        public_base_url="https://support.example.com/flexcord",
        sessions=lambda: world["sessions"],
        cases=lambda: world["cases"],
        knowledge_base=FakeKnowledgeBase,
        queue=lambda: world["queue"],
    )
    event = studio_json(
        message("my raid pass vanished"), signed_for=signed_for, path="/flexcord/twilio/chatbot"
    )
    assert endpoint.handle(event)["statusCode"] == status


def test_without_a_base_url_the_api_host_is_what_studio_signed(world: dict[str, Any]) -> None:
    host = "abc123.execute-api.us-east-1.amazonaws.com"
    endpoint = ChatbotEndpoint(
        auth_token=lambda: TOKEN,
        public_base_url=None,
        sessions=lambda: world["sessions"],
        cases=lambda: world["cases"],
        knowledge_base=FakeKnowledgeBase,
        queue=lambda: world["queue"],
    )
    event = studio_json(message("my raid pass vanished"), signed_for=f"https://{host}/twilio/chatbot")
    event["requestContext"]["domainName"] = host
    assert endpoint.handle(event)["statusCode"] == 200


@pytest.mark.parametrize("sid", ["CH" + "1" * 31, 12, None, "CH" + "1" * 32 + "\n", ["CH"]])
def test_a_signed_body_whose_conversation_sid_is_not_a_sid_gets_400(world: dict[str, Any], sid: Any) -> None:
    status, _ = answer(world, studio_json({**message("raid"), "conversation_sid": sid}))
    assert status == 400
    assert world["queue"].jobs == []
