"""Use cases for tracked cases: open one, record where it was posted, show cases to the right people."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from flexcord.cases.model import (
    Attachment,
    Case,
    CaseDraft,
    CaseEvent,
    CaseStatus,
    PostedMessage,
    can_transition,
)
from flexcord.cases.repository import CaseRepository


class InvalidTransition(ValueError):
    def __init__(self, number: int, current: CaseStatus, target: CaseStatus) -> None:
        super().__init__(f"case #{number} cannot go from {current.label} to {target.label}")


class CaseNotFound(LookupError):
    def __init__(self, number: int) -> None:
        super().__init__(f"there is no case #{number}")
        self.number = number


class CaseAccessDenied(PermissionError):
    def __init__(self, number: int) -> None:
        super().__init__(f"case #{number} belongs to someone else")
        self.number = number


@dataclass(frozen=True)
class Viewer:
    """Who is asking. ``is_staff`` comes from the member's roles in the signed interaction."""

    user_id: str
    is_staff: bool


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class CaseService:
    def __init__(self, repository: CaseRepository, clock: Callable[[], str] = utc_now_iso) -> None:
        self._repository = repository
        self._clock = clock

    def open_case(self, draft: CaseDraft, *, source_id: str) -> Case:
        if not draft.title.strip():
            raise ValueError("a case needs a title")
        return self._repository.create(draft, source_id=source_id, now=self._clock())

    def record_post(self, case: Case, post: PostedMessage, attachments: tuple[Attachment, ...]) -> Case:
        updated = case.with_post(post, attachments, self._clock())
        self._repository.save(updated)
        return updated

    def record_event(self, case: Case, action: str, *, note: str = "") -> Case:
        """Add an entry to the case's history (something that happened to it, not a status change)."""
        now = self._clock()
        event = CaseEvent(at=now, actor_id="flexcord", action=action, note=note)
        updated = replace(case, updated_at=now, history=(*case.history, event))
        self._repository.save(updated)
        return updated

    def note_once(self, number: int, action: str, *, note: str = "") -> Case:
        """Record ``action`` in the case's history unless it is there already (a repeated
        event must not add history twice)."""
        case = self._repository.get(number)
        if case is None:
            raise CaseNotFound(number)
        if any(event.action == action for event in case.history):
            return case
        return self.record_event(case, action, note=note)

    def link_conversation(self, case: Case, conversation_sid: str) -> Case:
        updated = replace(case, conversation_sid=conversation_sid, updated_at=self._clock())
        self._repository.save(updated)
        return updated

    def move(self, number: int, target: CaseStatus, *, actor_id: str, note: str = "") -> Case:
        """Change a case's status, recording who and when. Moving to the status it already has
        changes nothing (a repeated event must not add history twice)."""
        case = self._repository.get(number)
        if case is None:
            raise CaseNotFound(number)
        if case.status is target:
            return case
        if not can_transition(case.status, target):
            raise InvalidTransition(number, case.status, target)
        now = self._clock()
        event = CaseEvent(at=now, actor_id=actor_id, action="status_changed", from_status=case.status,
                          to_status=target, note=note)  # fmt: skip
        updated = replace(
            case,
            status=target,
            updated_at=now,
            history=(*case.history, event),
            first_response_at=case.first_response_at or (now if target is CaseStatus.IN_PROGRESS else None),
            resolved_at=now if target is CaseStatus.RESOLVED else case.resolved_at,
        )
        self._repository.save(updated)
        return updated

    def find(self, number: int) -> Case | None:
        return self._repository.get(number)

    def case_for(self, number: int, viewer: Viewer) -> Case:
        case = self._repository.get(number)
        if case is None:
            raise CaseNotFound(number)
        if not viewer.is_staff and case.reporter.user_id != viewer.user_id:
            raise CaseAccessDenied(number)
        return case

    def cases_of(self, user_id: str, *, limit: int = 10) -> list[Case]:
        return self._repository.list_by_reporter(user_id, limit=limit)
