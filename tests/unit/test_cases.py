from __future__ import annotations

import pytest

from flexcord.cases import (
    CaseAccessDenied,
    CaseDraft,
    CaseKind,
    CaseNotFound,
    CaseSection,
    CaseService,
    CaseStatus,
    Reporter,
    Viewer,
)
from flexcord.cases.model import PostedMessage, can_transition
from tests.unit.fakes import InMemoryCaseRepository

ALICE = Reporter("111", "alice", "Alice")
BOB = Reporter("222", "bob", "Bob")


def draft(reporter: Reporter = ALICE, title: str = "Raid lobby freezes") -> CaseDraft:
    return CaseDraft(
        kind=CaseKind.BUG,
        title=title,
        sections=(CaseSection("What happened?", "It froze"),),
        reporter=reporter,
        guild_id="g",
        channel_id="c",
    )


@pytest.fixture
def service() -> CaseService:
    return CaseService(InMemoryCaseRepository(), clock=lambda: "2026-11-21T10:00:00+00:00")


def test_cases_are_numbered_in_order_and_start_open_with_an_opening_event(service: CaseService) -> None:
    first = service.open_case(draft(), source_id="i1")
    second = service.open_case(draft(BOB), source_id="i2")
    assert (first.number, second.number) == (1, 2)
    assert first.status is CaseStatus.OPEN
    assert [(e.action, e.actor_id, e.to_status) for e in first.history] == [
        ("opened", "111", CaseStatus.OPEN)
    ]
    assert first.created_at == first.updated_at == "2026-11-21T10:00:00+00:00"


def test_the_same_source_interaction_opens_one_case(service: CaseService) -> None:
    first = service.open_case(draft(), source_id="i1")
    again = service.open_case(draft(title="changed"), source_id="i1")
    assert again.number == first.number
    assert again.title == "Raid lobby freezes"


def test_a_case_needs_a_title(service: CaseService) -> None:
    with pytest.raises(ValueError, match="title"):
        service.open_case(draft(title="   "), source_id="i1")


def test_reporters_see_their_cases_others_are_refused_staff_see_all(service: CaseService) -> None:
    case = service.open_case(draft(), source_id="i1")
    assert service.case_for(case.number, Viewer("111", is_staff=False)).number == case.number
    with pytest.raises(CaseAccessDenied):
        service.case_for(case.number, Viewer("222", is_staff=False))
    assert service.case_for(case.number, Viewer("999", is_staff=True)).number == case.number
    with pytest.raises(CaseNotFound):
        service.case_for(42, Viewer("999", is_staff=True))


def test_cases_of_lists_only_the_reporters_newest_first(service: CaseService) -> None:
    for index in range(3):
        service.open_case(draft(), source_id=f"a{index}")
    service.open_case(draft(BOB), source_id="b")
    assert [c.number for c in service.cases_of("111", limit=2)] == [3, 2]
    assert [c.number for c in service.cases_of("222")] == [4]


def test_recording_the_post_keeps_it_and_adds_history(service: CaseService) -> None:
    case = service.open_case(draft(), source_id="i1")
    posted = service.record_post(case, PostedMessage("chan", "msg"), case.attachments)
    assert posted.post == PostedMessage("chan", "msg")
    assert [e.action for e in posted.history] == ["opened", "posted"]
    assert service.case_for(case.number, Viewer("111", is_staff=False)).post == PostedMessage("chan", "msg")


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (CaseStatus.OPEN, CaseStatus.IN_PROGRESS, True),
        (CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, True),
        (CaseStatus.RESOLVED, CaseStatus.CLOSED, True),
        (CaseStatus.OPEN, CaseStatus.WONT_FIX, True),
        (CaseStatus.CLOSED, CaseStatus.OPEN, False),
        (CaseStatus.OPEN, CaseStatus.CLOSED, False),
    ],
)
def test_status_transitions(current: CaseStatus, target: CaseStatus, allowed: bool) -> None:
    assert can_transition(current, target) is allowed
