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
from flexcord.cases.model import Attachment, PostedMessage
from flexcord.cases.repository import VersionConflict
from flexcord.cases.service import Actor, CaseFilter, InvalidCaseChange
from tests.unit.fakes import InMemoryCaseRepository

ALICE = Reporter("111", "alice", "Alice")
BOB = Reporter("222", "bob", "Bob")
STAFF = Actor("900", "Sam")
NOW = "2026-11-21T10:00:00+00:00"


def draft(
    reporter: Reporter = ALICE,
    title: str = "Raid lobby freezes",
    guild: str | None = "g",
    kind: CaseKind = CaseKind.BUG,
) -> CaseDraft:
    return CaseDraft(
        kind=kind,
        title=title,
        sections=(CaseSection("What happened?", "It froze"),),
        reporter=reporter,
        guild_id=guild,
        channel_id="c",
    )


@pytest.fixture
def repository() -> InMemoryCaseRepository:
    return InMemoryCaseRepository()


@pytest.fixture
def service(repository: InMemoryCaseRepository) -> CaseService:
    return CaseService(repository, clock=lambda: NOW, default_server="home")


def test_cases_are_numbered_in_order_and_start_open_with_an_opening_event(service: CaseService) -> None:
    first = service.open_case(draft(), source_id="i1")
    second = service.open_case(draft(BOB), source_id="i2")
    assert (first.number, second.number) == (1, 2)
    assert first.status is CaseStatus.OPEN
    assert [(e.action, e.actor_id, e.to_status) for e in first.history] == [
        ("opened", "111", CaseStatus.OPEN)
    ]
    assert first.created_at == first.updated_at == NOW


def test_each_server_numbers_its_own_cases_and_dms_belong_to_the_default_server(service: CaseService) -> None:
    in_one = service.open_case(draft(guild="one"), source_id="a")
    in_two = service.open_case(draft(guild="two"), source_id="b")
    from_dm = service.open_case(draft(guild=None), source_id="c")
    assert (in_one.number, in_two.number, from_dm.number) == (1, 1, 1)
    assert from_dm.guild_id == "home"
    assert service.find("one", 1) == in_one
    assert service.find("two", 1) == in_two
    assert service.find(None, 1) == from_dm


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
    assert service.case_for("g", case.number, Viewer("111", is_staff=False)).number == case.number
    with pytest.raises(CaseAccessDenied):
        service.case_for("g", case.number, Viewer("222", is_staff=False))
    assert service.case_for("g", case.number, Viewer("999", is_staff=True)).number == case.number
    with pytest.raises(CaseNotFound):
        service.case_for("g", 42, Viewer("999", is_staff=True))
    with pytest.raises(CaseNotFound):
        service.case_for("other", case.number, Viewer("999", is_staff=True))


def test_cases_of_lists_only_the_reporters_newest_first(repository: InMemoryCaseRepository) -> None:
    times = iter(f"2026-11-21T10:0{i}:00+00:00" for i in range(9))
    service = CaseService(repository, clock=lambda: next(times))
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
    assert posted.history[-1].note == "<#chan>"  # a mention: staff read the channel's name
    assert service.find("g", case.number).post == PostedMessage("chan", "msg")  # type: ignore[union-attr]


def test_a_status_change_records_who_when_from_and_to_and_happens_once_per_event(
    service: CaseService,
) -> None:
    case = service.open_case(draft(), source_id="i1")
    moved = service.move("g", case.number, CaseStatus.TRIAGED, actor=STAFF, note="seen it", event_id="e1")
    event = moved.history[-1]
    assert (event.actor_id, event.actor_name, event.from_status, event.to_status, event.note) == (
        "900",
        "Sam",
        CaseStatus.OPEN,
        CaseStatus.TRIAGED,
        "seen it",
    )
    assert moved.first_response_at == NOW
    # The same delivery again (a retried job) changes nothing, even after another change.
    service.move("g", case.number, CaseStatus.IN_PROGRESS, actor=STAFF, event_id="e2")
    again = service.move("g", case.number, CaseStatus.TRIAGED, actor=STAFF, event_id="e1")
    assert again.status is CaseStatus.IN_PROGRESS
    assert [e.to_status for e in again.history if e.action == "status_changed"] == [
        CaseStatus.TRIAGED,
        CaseStatus.IN_PROGRESS,
    ]


def test_moving_to_the_current_status_changes_nothing(service: CaseService) -> None:
    case = service.open_case(draft(), source_id="i1")
    same = service.move("g", case.number, CaseStatus.OPEN, actor=STAFF, event_id="e1")
    assert same.history == case.history


def test_resolving_stamps_the_time_and_a_resolved_case_can_be_reopened(service: CaseService) -> None:
    case = service.open_case(draft(), source_id="i1")
    resolved = service.move("g", case.number, CaseStatus.RESOLVED, actor=STAFF, event_id="e1")
    assert resolved.resolved_at == NOW
    reopened = service.move("g", case.number, CaseStatus.OPEN, actor=STAFF, event_id="e2")
    assert reopened.status is CaseStatus.OPEN


def test_a_change_retries_when_another_writer_got_there_first(
    service: CaseService, repository: InMemoryCaseRepository
) -> None:
    case = service.open_case(draft(), source_id="i1")
    repository.conflicts = 2
    moved = service.move("g", case.number, CaseStatus.TRIAGED, actor=STAFF, event_id="e1")
    assert moved.status is CaseStatus.TRIAGED
    assert repository.get("g", case.number) == moved


def test_a_change_gives_up_after_too_many_conflicts(
    service: CaseService, repository: InMemoryCaseRepository
) -> None:
    case = service.open_case(draft(), source_id="i1")
    repository.conflicts = 100
    with pytest.raises(VersionConflict):
        service.move("g", case.number, CaseStatus.TRIAGED, actor=STAFF, event_id="e1")


def test_notes_and_assignment_are_recorded_once(service: CaseService) -> None:
    case = service.open_case(draft(), source_id="i1")
    service.add_note("g", case.number, "Fixed in 1.4.2", actor=STAFF, tell_reporter=True, event_id="n1")
    service.add_note("g", case.number, "Fixed in 1.4.2", actor=STAFF, tell_reporter=True, event_id="n1")
    assigned = service.assign("g", case.number, actor=STAFF, event_id="a1")
    assert assigned.assignee is not None
    assert assigned.assignee.name == "Sam"
    notes = [e for e in assigned.history if e.action == "note"]
    assert len(notes) == 1
    assert notes[0].tell_reporter
    with pytest.raises(InvalidCaseChange):
        service.add_note("g", case.number, "   ", actor=STAFF, tell_reporter=False, event_id="n2")


def test_me_too_counts_each_member_once_and_a_second_press_takes_it_back(service: CaseService) -> None:
    case = service.open_case(draft(kind=CaseKind.FEATURE), source_id="i1")
    _, supporting = service.toggle_supporter("g", case.number, "333", event_id="t1")
    after, _ = service.toggle_supporter("g", case.number, "444", event_id="t2")
    assert supporting
    assert after.support_count == 2
    undone, supporting = service.toggle_supporter("g", case.number, "333", event_id="t3")
    assert not supporting
    assert undone.supporters == ("444",)
    # The same press again (a retried job) is not a second press: it does not undo anything.
    again, supporting = service.toggle_supporter("g", case.number, "333", event_id="t3")
    assert not supporting
    assert again.supporters == ("444",)
    kept, supporting = service.toggle_supporter("g", case.number, "444", event_id="t2")
    assert supporting
    assert kept.supporters == ("444",)


def test_a_duplicate_merges_its_reporter_and_supporters_into_the_original(service: CaseService) -> None:
    original = service.open_case(draft(kind=CaseKind.FEATURE), source_id="i1")
    duplicate = service.open_case(draft(BOB, kind=CaseKind.FEATURE), source_id="i2")
    service.toggle_supporter("g", duplicate.number, "555", event_id="t4")
    service.toggle_supporter("g", original.number, "555", event_id="t5")
    marked, merged = service.mark_duplicate(
        "g", duplicate.number, original.number, actor=STAFF, event_id="d1"
    )
    assert marked.status is CaseStatus.DUPLICATE
    assert marked.duplicate_of == original.number
    assert sorted(merged.supporters) == ["222", "555"]
    with pytest.raises(InvalidCaseChange):
        service.mark_duplicate("g", original.number, original.number, actor=STAFF, event_id="d2")
    with pytest.raises(CaseNotFound):
        service.mark_duplicate("g", original.number, 99, actor=STAFF, event_id="d3")
    # Never a duplicate of a duplicate, nor marked twice; the same delivery again changes nothing.
    third = service.open_case(draft(kind=CaseKind.FEATURE), source_id="i3")
    with pytest.raises(InvalidCaseChange, match="itself a duplicate"):
        service.mark_duplicate("g", third.number, duplicate.number, actor=STAFF, event_id="d4")
    with pytest.raises(InvalidCaseChange, match="already a duplicate"):
        service.mark_duplicate("g", duplicate.number, third.number, actor=STAFF, event_id="d5")
    again, _ = service.mark_duplicate("g", duplicate.number, original.number, actor=STAFF, event_id="d1")
    assert again.duplicate_of == original.number


def test_only_the_reporter_adds_details(service: CaseService) -> None:
    case = service.open_case(draft(), source_id="i1")
    screenshot = Attachment("shot.png", "image/png", 10, "https://cdn/shot.png")
    with pytest.raises(CaseAccessDenied):
        service.add_details(
            "g", case.number, viewer=Viewer("222", False), details="me", attachments=(), event_id="x"
        )
    added = service.add_details(
        "g",
        case.number,
        viewer=Viewer("111", False),
        details="Also on iPad",
        attachments=(screenshot,),
        event_id="x",
    )
    assert added.sections[-1].text == "Also on iPad"
    assert added.attachments == (screenshot,)
    assert added.history[-1].action == "details_added"


def test_only_the_member_rates_their_support_case_from_1_to_5(service: CaseService) -> None:
    case = service.open_case(draft(kind=CaseKind.SUPPORT), source_id="i1")
    rated = service.rate("g", case.number, user_id="111", rating=4, comment="", event_id="r1")
    commented = service.rate("g", case.number, user_id="111", rating=None, comment="Quick!", event_id="r2")
    assert (rated.rating, commented.rating, commented.rating_comment) == (4, 4, "Quick!")
    with pytest.raises(InvalidCaseChange):
        service.rate("g", case.number, user_id="111", rating=6, comment="", event_id="r3")
    with pytest.raises(CaseAccessDenied):
        service.rate("g", case.number, user_id="222", rating=1, comment="", event_id="r4")


def test_open_cases_filter_by_kind_status_assignee_and_sort_by_support(service: CaseService) -> None:
    bug = service.open_case(draft(), source_id="b")
    small = service.open_case(draft(kind=CaseKind.FEATURE), source_id="f1")
    wanted = service.open_case(draft(kind=CaseKind.FEATURE), source_id="f2")
    done = service.open_case(draft(kind=CaseKind.FEATURE), source_id="f3")
    service.open_case(draft(guild="elsewhere"), source_id="x")
    for user in ("1", "2"):
        service.toggle_supporter("g", wanted.number, user, event_id="t6")
    service.toggle_supporter("g", small.number, "1", event_id="t7")
    service.move("g", done.number, CaseStatus.RESOLVED, actor=STAFF, event_id="e")
    service.assign("g", bug.number, actor=STAFF, event_id="a")
    numbers = [c.number for c in service.open_cases("g", CaseFilter())]
    assert numbers == [wanted.number, small.number, bug.number]
    by_support = service.open_cases("g", CaseFilter(kind=CaseKind.FEATURE, by_support=True))
    assert [c.number for c in by_support] == [wanted.number, small.number]
    assert [c.number for c in service.open_cases("g", CaseFilter(assignee_id="900"))] == [bug.number]
    resolved = service.open_cases("g", CaseFilter(status=CaseStatus.RESOLVED))
    assert [c.number for c in resolved] == [done.number]
