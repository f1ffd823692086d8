"""Use cases for tracked cases: open one, record where it was posted, triage it, gather support,
and show cases to the right people.

Every case belongs to one server and is numbered within it (``#12`` in one server is not ``#12``
in another). A case from the bot's DMs belongs to the deployment's default server.

Changes are read-modify-write under optimistic locking (the repository refuses a save over a
newer version); each change retries on a conflict, so two staff acting at once, or many members
pressing "Me too", never overwrite one another. A change caused by a delivery carries its
``event_id``: a retried job finds its change recorded and does not make it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from flexcord.cases.model import (
    NO_SERVER,
    OPEN_STATUSES,
    Assignee,
    Attachment,
    Case,
    CaseDraft,
    CaseEvent,
    CaseKind,
    CaseSection,
    CaseStatus,
    PostedMessage,
    can_transition,
)
from flexcord.cases.repository import CaseRepository, VersionConflict

#: Attempts at a change that keeps meeting newer versions before giving up (the job is retried).
MAX_CHANGE_ATTEMPTS = 8
RATINGS = range(1, 6)


class InvalidTransition(ValueError):
    def __init__(self, number: int, current: CaseStatus, target: CaseStatus) -> None:
        super().__init__(f"case #{number} is already {current.label.lower()}")


class CaseNotFound(LookupError):
    def __init__(self, number: int) -> None:
        super().__init__(f"there is no case #{number}")
        self.number = number


class CaseAccessDenied(PermissionError):
    def __init__(self, number: int) -> None:
        super().__init__(f"case #{number} belongs to someone else")
        self.number = number


class InvalidCaseChange(ValueError):
    """A change that makes no sense for this case (a duplicate of itself, rating a bug report)."""


@dataclass(frozen=True)
class Viewer:
    """Who is asking. ``is_staff`` comes from the member's roles in the signed interaction,
    checked against the staff role of the case's server."""

    user_id: str
    is_staff: bool


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the case history shows them."""

    user_id: str
    name: str


@dataclass(frozen=True)
class CaseFilter:
    kind: CaseKind | None = None
    status: CaseStatus | None = None
    assignee_id: str | None = None
    by_support: bool = False


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class CaseService:
    def __init__(
        self,
        repository: CaseRepository,
        clock: Callable[[], str] = utc_now_iso,
        *,
        default_server: str | None = None,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._default_server = default_server or NO_SERVER

    def server_of(self, guild_id: str | None) -> str:
        """The numbering partition of a case filed from ``guild_id`` (None: the bot's DMs)."""
        return guild_id or self._default_server

    # -- filing ---------------------------------------------------------------------------------

    def open_case(self, draft: CaseDraft, *, source_id: str) -> Case:
        if not draft.title.strip():
            raise ValueError("a case needs a title")
        draft = replace(draft, guild_id=self.server_of(draft.guild_id))
        return self._repository.create(draft, source_id=source_id, now=self._clock())

    def record_post(self, case: Case, post: PostedMessage, attachments: tuple[Attachment, ...]) -> Case:
        def record(current: Case) -> Case | None:
            if current.post is not None:
                return None
            return current.with_post(post, attachments, self._clock())

        return self._change(case.server, case.number, record)

    def filed_by(self, source_id: str) -> Case | None:
        """The case a submission already opened (a retried job finds it), if any."""
        return self._repository.created_by(source_id)

    def record_thread(self, case: Case, thread_id: str) -> Case:
        return self._change(case.server, case.number, lambda current: replace(current, thread_id=thread_id))

    def record_event(self, case: Case, action: str, *, note: str = "", event_id: str = "") -> Case:
        """Add an entry to the case's history (something that happened to it, not a status
        change); once per ``event_id`` when one is given."""

        def add(current: Case) -> Case | None:
            if current.has_event(event_id):
                return None
            event = CaseEvent(
                at=self._clock(), actor_id="flexcord", action=action, note=note, event_id=event_id
            )
            return self._with_event(current, event)

        return self._change(case.server, case.number, add)

    def note_once(self, guild_id: str | None, number: int, action: str, *, note: str = "") -> Case:
        """Record ``action`` in the case's history unless it is there already (a repeated
        event must not add history twice)."""

        def add(current: Case) -> Case | None:
            if any(event.action == action for event in current.history):
                return None
            return self._with_event(
                current, CaseEvent(at=self._clock(), actor_id="flexcord", action=action, note=note)
            )

        return self._change(self.server_of(guild_id), number, add)

    def link_conversation(self, case: Case, conversation_sid: str) -> Case:
        return self._change(
            case.server, case.number, lambda current: replace(current, conversation_sid=conversation_sid)
        )

    # -- triage ---------------------------------------------------------------------------------

    def move(
        self,
        guild_id: str | None,
        number: int,
        target: CaseStatus,
        *,
        actor: Actor,
        note: str = "",
        event_id: str = "",
        duplicate_of: int | None = None,
    ) -> Case:
        """Change a case's status, recording who and when. Moving to the status it already has
        changes nothing (a repeated event must not add history twice); so does a change whose
        ``event_id`` is recorded already."""

        def move(current: Case) -> Case | None:
            if current.has_event(event_id) or current.status is target:
                return None
            if not can_transition(current.status, target):
                raise InvalidTransition(number, current.status, target)
            now = self._clock()
            by_staff = target is not CaseStatus.OPEN and actor.user_id != current.reporter.user_id
            event = CaseEvent(
                at=now,
                actor_id=actor.user_id,
                actor_name=actor.name,
                action="status_changed",
                from_status=current.status,
                to_status=target,
                note=note,
                event_id=event_id,
            )
            moved = replace(
                current,
                status=target,
                duplicate_of=duplicate_of if target is CaseStatus.DUPLICATE else None,
                first_response_at=current.first_response_at or (now if by_staff else None),
                resolved_at=now if target is CaseStatus.RESOLVED else current.resolved_at,
            )
            return self._with_event(moved, event)

        return self._change(self.server_of(guild_id), number, move)

    def add_note(
        self,
        guild_id: str | None,
        number: int,
        note: str,
        *,
        actor: Actor,
        tell_reporter: bool,
        event_id: str,
        action: str = "note",
    ) -> Case:
        if not note.strip():
            raise InvalidCaseChange("the note is empty")

        def add(current: Case) -> Case | None:
            if current.has_event(event_id):
                return None
            event = CaseEvent(
                at=self._clock(),
                actor_id=actor.user_id,
                actor_name=actor.name,
                action=action,
                note=note.strip(),
                event_id=event_id,
                tell_reporter=tell_reporter,
            )
            return self._with_event(current, event)

        return self._change(self.server_of(guild_id), number, add)

    def assign(self, guild_id: str | None, number: int, *, actor: Actor, event_id: str) -> Case:
        def assign(current: Case) -> Case | None:
            if current.has_event(event_id) or (
                current.assignee and current.assignee.user_id == actor.user_id
            ):
                return None
            previous = current.assignee.name if current.assignee else "nobody"
            event = CaseEvent(
                at=self._clock(),
                actor_id=actor.user_id,
                actor_name=actor.name,
                action="assigned",
                note=f"{previous} → {actor.name}",
                event_id=event_id,
            )
            return self._with_event(replace(current, assignee=Assignee(actor.user_id, actor.name)), event)

        return self._change(self.server_of(guild_id), number, assign)

    def mark_duplicate(
        self, guild_id: str | None, number: int, original_number: int, *, actor: Actor, event_id: str
    ) -> tuple[Case, Case]:
        """Mark ``number`` a duplicate of ``original_number`` (same server): the original gains the
        duplicate's reporter and supporters. Returns (duplicate, original)."""
        if number == original_number:
            raise InvalidCaseChange(f"case #{number} cannot be a duplicate of itself")
        server = self.server_of(guild_id)
        original = self.find(server, original_number)
        if original is None:
            raise CaseNotFound(original_number)
        if original.status is CaseStatus.DUPLICATE:
            # Point at the case that is followed, never at another duplicate.
            raise InvalidCaseChange(
                f"case #{original_number} is itself a duplicate of #{original.duplicate_of}: use that number"
            )
        current = self.find(server, number)
        if current is not None and current.status is CaseStatus.DUPLICATE and not current.has_event(event_id):
            raise InvalidCaseChange(f"case #{number} is already a duplicate of #{current.duplicate_of}")
        duplicate = self.move(
            server,
            number,
            CaseStatus.DUPLICATE,
            actor=actor,
            event_id=event_id,
            note=f"duplicate of #{original_number}",
            duplicate_of=original_number,
        )
        merged = self.add_supporters(
            server,
            original_number,
            (duplicate.reporter.user_id, *duplicate.supporters),
            note=f"merged from duplicate #{number}",
            event_id=f"{event_id}:merge",
            actor=actor,
        )
        return duplicate, merged

    # -- members --------------------------------------------------------------------------------

    def toggle_supporter(
        self, guild_id: str | None, number: int, user_id: str, *, event_id: str
    ) -> tuple[Case, bool]:
        """Count the member once as a supporter, or uncount them on a second press. Returns the
        case and whether they now support it. The press (``event_id``) is recorded, so a retried
        job finds its toggle made and does not undo it."""
        supporting = False

        def toggle(current: Case) -> Case | None:
            nonlocal supporting
            if current.has_event(event_id):
                supporting = user_id in current.supporters
                return None
            supporting = user_id not in current.supporters
            supporters = (
                (*current.supporters, user_id)
                if supporting
                else tuple(s for s in current.supporters if s != user_id)
            )
            event = CaseEvent(
                at=self._clock(),
                actor_id=user_id,
                action="supported" if supporting else "support_withdrawn",
                event_id=event_id,
            )
            return self._with_event(replace(current, supporters=supporters), event)

        case = self._change(self.server_of(guild_id), number, toggle)
        return case, supporting

    def add_supporters(
        self,
        guild_id: str | None,
        number: int,
        user_ids: Iterable[str],
        *,
        note: str,
        event_id: str,
        actor: Actor,
    ) -> Case:
        """Add members as supporters (once each), e.g. a member who found their report already
        filed, or a duplicate's reporters merged into the original."""
        wanted = tuple(user_ids)

        def add(current: Case) -> Case | None:
            if current.has_event(event_id):
                return None
            new = tuple(
                u
                for u in dict.fromkeys(wanted)
                if u not in current.supporters and u != current.reporter.user_id
            )
            event = CaseEvent(
                at=self._clock(),
                actor_id=actor.user_id,
                actor_name=actor.name,
                action="supporters_added",
                note=note,
                event_id=event_id,
            )
            return self._with_event(replace(current, supporters=(*current.supporters, *new)), event)

        return self._change(self.server_of(guild_id), number, add)

    def add_details(
        self,
        guild_id: str | None,
        number: int,
        *,
        viewer: Viewer,
        details: str,
        attachments: tuple[Attachment, ...],
        event_id: str,
    ) -> Case:
        """The reporter adds to their own case; anyone else is refused."""
        if not details.strip() and not attachments:
            raise InvalidCaseChange("add some details or a screenshot")

        def add(current: Case) -> Case | None:
            if current.reporter.user_id != viewer.user_id:
                raise CaseAccessDenied(number)
            if current.has_event(event_id):
                return None
            names = ", ".join(a.filename for a in attachments)
            text = details.strip() + (f"\n(attached: {names})" if names else "")
            event = CaseEvent(
                at=self._clock(),
                actor_id=viewer.user_id,
                actor_name=current.reporter.display_name,
                action="details_added",
                note=text.strip(),
                event_id=event_id,
            )
            section = CaseSection("Added by the reporter", details.strip()) if details.strip() else None
            sections = (*current.sections, section) if section else current.sections
            return self._with_event(
                replace(current, sections=sections, attachments=(*current.attachments, *attachments)), event
            )

        return self._change(self.server_of(guild_id), number, add)

    def rate(
        self,
        guild_id: str | None,
        number: int,
        *,
        user_id: str,
        rating: int | None,
        comment: str,
        event_id: str,
    ) -> Case:
        """The member's rating (1–5) of their support chat and an optional comment. The last
        rating counts (a member may change their mind); only the case's reporter may rate."""
        if rating is not None and rating not in RATINGS:
            raise InvalidCaseChange("a rating is 1 to 5")

        def rate(current: Case) -> Case | None:
            if current.reporter.user_id != user_id:
                raise CaseAccessDenied(number)
            if current.kind is not CaseKind.SUPPORT:
                raise InvalidCaseChange(f"case #{number} is not a support chat")
            if current.has_event(event_id):
                return None
            stars = rating if rating is not None else current.rating
            text = comment.strip() or current.rating_comment
            event = CaseEvent(
                at=self._clock(),
                actor_id=user_id,
                actor_name=current.reporter.display_name,
                action="rated",
                note=(f"{stars}/5" if stars is not None else "comment") + (f": {text}" if text else ""),
                event_id=event_id,
            )
            return self._with_event(replace(current, rating=stars, rating_comment=text), event)

        return self._change(self.server_of(guild_id), number, rate)

    # -- reading --------------------------------------------------------------------------------

    def find(self, guild_id: str | None, number: int) -> Case | None:
        return self._repository.get(self.server_of(guild_id), number)

    def case_for(self, guild_id: str | None, number: int, viewer: Viewer) -> Case:
        case = self.find(guild_id, number)
        if case is None:
            raise CaseNotFound(number)
        if not viewer.is_staff and case.reporter.user_id != viewer.user_id:
            raise CaseAccessDenied(number)
        return case

    def cases_of(self, user_id: str, *, limit: int = 10) -> list[Case]:
        return self._repository.list_by_reporter(user_id, limit=limit)

    def open_cases(self, guild_id: str | None, case_filter: CaseFilter, *, limit: int = 25) -> list[Case]:
        """The server's cases still waiting on staff (or those of one status), filtered, newest
        first, or most supported first."""
        server = self.server_of(guild_id)
        statuses = (case_filter.status,) if case_filter.status else OPEN_STATUSES
        found = [case for status in statuses for case in self._repository.list_by_status(server, status)]
        found = [
            case
            for case in found
            if (case_filter.kind is None or case.kind is case_filter.kind)
            and (
                case_filter.assignee_id is None
                or (case.assignee is not None and case.assignee.user_id == case_filter.assignee_id)
            )
        ]
        if case_filter.by_support:
            found.sort(key=lambda case: (-case.support_count, -case.number))
        else:
            found.sort(key=lambda case: -case.number)
        return found[:limit]

    # -- helpers --------------------------------------------------------------------------------

    def _with_event(self, case: Case, event: CaseEvent) -> Case:
        return replace(case, updated_at=event.at, history=(*case.history, event))

    def _change(self, server: str, number: int, change: Callable[[Case], Case | None]) -> Case:
        """Apply ``change`` to the stored case and save it, again on a newer version if another
        change got there first. ``change`` returns None when there is nothing to do."""
        for _ in range(MAX_CHANGE_ATTEMPTS):
            current = self._repository.get(server, number)
            if current is None:
                raise CaseNotFound(number)
            changed = change(current)
            if changed is None or changed == current:
                return current
            try:
                return self._repository.save(changed)
            except VersionConflict:
                continue
        raise VersionConflict(f"case #{number} kept changing under this update")
