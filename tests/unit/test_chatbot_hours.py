"""ChatbotFunction and support hours: outside them the flow is told not to hand off, and the
member is answered with when agents are back; inside them the hand-off carries recent cases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from flexcord.cases import CaseDraft, CaseKind, CaseService, Reporter
from flexcord.servers.hours import parse_support_hours
from flexcord.servers.settings import ServerDirectory
from flexcord.sessions.model import SessionMode
from flexcord.twilio_webhooks.chatbot import ChatbotEndpoint
from tests.unit.fakes import InMemoryServerSettings
from tests.unit.test_chatbot_endpoint import (
    BASE,
    CONVERSATION,
    TOKEN,
    FakeKnowledgeBase,
    answer,
    message,
    studio_json,
)
from tests.unit.test_chatbot_endpoint import world as base_world  # noqa: F401 - a fixture

EVENING = datetime(2026, 12, 2, 19, 30, tzinfo=UTC)  # Wednesday 20:30 in Paris
MORNING = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # Thursday 10:00 in Paris


@pytest.fixture
def world(base_world: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    servers = ServerDirectory(InMemoryServerSettings(), defaults=None)
    hours = parse_support_hours(
        time_zone="Europe/Paris",
        days=["mon", "tue", "wed", "thu", "fri"],
        opens="09:00",
        closes="17:00",
        after_hours_message="Our team is offline.",
    )
    servers.change("g", by="test", now="2026-12-01T00:00:00+00:00", hours=hours.to_document())
    clock = [EVENING]
    base_world["clock"] = clock
    base_world["endpoint"] = ChatbotEndpoint(
        auth_token=lambda: TOKEN,
        public_base_url=BASE,
        sessions=lambda: base_world["sessions"],
        cases=lambda: base_world["cases"],
        knowledge_base=FakeKnowledgeBase,
        queue=lambda: base_world["queue"],
        servers=lambda: servers,
        now=lambda: clock[0],
    )
    return base_world


def test_outside_hours_asking_for_a_human_does_not_hand_off(world: dict[str, Any]) -> None:
    status, body = answer(world, studio_json(message("can I talk to a human please")))
    assert status == 200
    assert body["handoff"] is False
    assert body["reply"].startswith("🌙 Our team is offline. They're back Thursday 3 December at 09:00")
    assert "task" not in body
    session = world["sessions"].for_conversation(CONVERSATION)
    assert session.mode is SessionMode.ASSISTANT
    assert session.case_number is None
    cases: CaseService = world["cases"]
    assert cases.cases_of("111") == []
    [job] = world["queue"].jobs
    assert job.payload["after_hours"] is True
    assert job.payload["decision"]["handoff"] is False
    assert job.payload["decision"]["reply"] == body["reply"]


def test_inside_hours_the_hand_off_carries_the_recent_cases(world: dict[str, Any]) -> None:
    cases: CaseService = world["cases"]
    cases.open_case(
        CaseDraft(CaseKind.BUG, "Raid crash", (), Reporter("111", "alice", "Alice"), "g", "c"), source_id="b"
    )
    world["clock"][0] = MORNING
    _, body = answer(world, studio_json(message("can I talk to a human please")))
    assert body["handoff"] is True
    assert body["task"]["recent_cases"] == [
        {"number": 1, "kind": "bug", "title": "Raid crash", "status": "open"}
    ]
    assert body["task"]["case_number"] == 2
    assert world["queue"].jobs[0].payload["after_hours"] is False


def test_a_plain_answer_is_the_same_at_any_hour(world: dict[str, Any]) -> None:
    _, body = answer(world, studio_json(message("my raid pass vanished")))
    assert body["handoff"] is False
    assert body["reply"] == "These articles might help:"
    assert world["queue"].jobs[0].payload["after_hours"] is False
