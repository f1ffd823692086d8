"""The case model: what a case is and how its status may move. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class CaseKind(StrEnum):
    BUG = "bug"
    FEATURE = "feature"
    SUPPORT = "support"

    @property
    def label(self) -> str:
        return {"bug": "Bug report", "feature": "Feature request", "support": "Support case"}[self.value]


class CaseStatus(StrEnum):
    OPEN = "open"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    WONT_FIX = "wont_fix"
    DUPLICATE = "duplicate"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        """Still waiting on staff: listed by ``/cases`` and offered as a possible duplicate."""
        return self in OPEN_STATUSES


_STATUS_LABELS = {
    CaseStatus.OPEN: "Open",
    CaseStatus.TRIAGED: "Triaged",
    CaseStatus.IN_PROGRESS: "In progress",
    CaseStatus.RESOLVED: "Resolved",
    CaseStatus.WONT_FIX: "Won't fix",
    CaseStatus.DUPLICATE: "Duplicate",
}
OPEN_STATUSES = (CaseStatus.OPEN, CaseStatus.TRIAGED, CaseStatus.IN_PROGRESS)


def can_transition(current: CaseStatus, target: CaseStatus) -> bool:
    """Staff may move a case to any other status (reopening included): a community manager
    triages by hand and must be able to undo a slip. Duplicate needs the original's number, so
    it is set only by marking the duplicate."""
    return target is not current


@dataclass(frozen=True)
class Reporter:
    user_id: str
    username: str
    display_name: str


@dataclass(frozen=True)
class CaseSection:
    """One labelled part of a case's body ("What happened", "Steps to reproduce", ...)."""

    label: str
    text: str


#: The numbering partition of cases that belong to no server (a deployment with none configured).
NO_SERVER = "0"

#: The largest attachment a case keeps (Discord's upload limit for bots without boosts).
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    """A file the reporter attached.

    ``source_url`` is Discord's CDN link from the interaction, which expires within about a day;
    ``kept_url`` is the copy made when the case was posted (empty until then, or when copying
    failed and the post links the source instead).
    """

    filename: str
    content_type: str
    size: int
    source_url: str
    kept_url: str = ""

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


@dataclass(frozen=True)
class CaseEvent:
    """An entry in a case's history: who did what, when, from which status to which.

    ``event_id`` names what caused it (the interaction or webhook delivery): a retried job finds
    its event already recorded and does not add it twice. ``tell_reporter`` marks a staff note
    the reporter is sent."""

    at: str
    actor_id: str
    action: str
    from_status: CaseStatus | None = None
    to_status: CaseStatus | None = None
    note: str = ""
    actor_name: str = ""
    event_id: str = ""
    tell_reporter: bool = False


@dataclass(frozen=True)
class Assignee:
    user_id: str
    name: str


@dataclass(frozen=True)
class CaseDraft:
    """What a reporter submits; the repository turns it into a numbered case."""

    kind: CaseKind
    title: str
    sections: tuple[CaseSection, ...]
    reporter: Reporter
    guild_id: str | None
    channel_id: str | None
    attachments: tuple[Attachment, ...] = ()
    priority: str = "normal"


@dataclass(frozen=True)
class PostedMessage:
    channel_id: str
    message_id: str


@dataclass(frozen=True)
class Case:
    number: int
    kind: CaseKind
    title: str
    sections: tuple[CaseSection, ...]
    status: CaseStatus
    priority: str
    reporter: Reporter
    guild_id: str | None
    channel_id: str | None
    created_at: str
    updated_at: str
    attachments: tuple[Attachment, ...] = ()
    history: tuple[CaseEvent, ...] = ()
    post: PostedMessage | None = None
    conversation_sid: str | None = None
    first_response_at: str | None = None
    resolved_at: str | None = None
    source_id: str = ""
    assignee: Assignee | None = None
    #: Members who said "me too" (feature requests) or reported the same thing (merged duplicates).
    supporters: tuple[str, ...] = ()
    duplicate_of: int | None = None
    #: Where the case is discussed: the forum post, or the thread started on the channel post.
    thread_id: str | None = None
    rating: int | None = None
    rating_comment: str = ""
    #: Bumped by every save; a save that finds another version stored is refused (see
    #: CaseRepository.save), so two staff acting at once cannot overwrite each other.
    version: int = 0

    @property
    def reference(self) -> str:
        return f"#{self.number}"

    @property
    def server(self) -> str:
        """The server whose numbering the case belongs to."""
        return self.guild_id or NO_SERVER

    @property
    def support_count(self) -> int:
        return len(self.supporters)

    def has_event(self, event_id: str) -> bool:
        return bool(event_id) and any(event.event_id == event_id for event in self.history)

    @property
    def body(self) -> str:
        return "\n\n".join(f"{section.label}\n{section.text}" for section in self.sections)

    @classmethod
    def open_from(cls, draft: CaseDraft, *, number: int, now: str, source_id: str) -> Case:
        return cls(
            number=number,
            kind=draft.kind,
            title=draft.title,
            sections=draft.sections,
            status=CaseStatus.OPEN,
            priority=draft.priority,
            reporter=draft.reporter,
            guild_id=draft.guild_id,
            channel_id=draft.channel_id,
            created_at=now,
            updated_at=now,
            attachments=draft.attachments,
            history=(
                CaseEvent(
                    at=now, actor_id=draft.reporter.user_id, action="opened", to_status=CaseStatus.OPEN
                ),
            ),
            source_id=source_id,
        )

    def with_post(self, post: PostedMessage, attachments: tuple[Attachment, ...], now: str) -> Case:
        # A channel mention: Discord shows it as the channel's name ("posted: #bug-report").
        event = CaseEvent(at=now, actor_id="flexcord", action="posted", note=f"<#{post.channel_id}>")
        return replace(
            self, post=post, attachments=attachments, updated_at=now, history=(*self.history, event)
        )
