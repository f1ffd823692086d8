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
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    WONT_FIX = "wont_fix"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


# open → in_progress → resolved → closed, with "won't fix" for requests and reopening a resolved
# case when the fix did not hold.
_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.WONT_FIX}),
    CaseStatus.IN_PROGRESS: frozenset({CaseStatus.RESOLVED, CaseStatus.WONT_FIX, CaseStatus.OPEN}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.CLOSED, CaseStatus.IN_PROGRESS}),
    CaseStatus.WONT_FIX: frozenset({CaseStatus.CLOSED, CaseStatus.OPEN}),
    CaseStatus.CLOSED: frozenset(),
}


def can_transition(current: CaseStatus, target: CaseStatus) -> bool:
    return target in _TRANSITIONS[current]


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
    """An entry in a case's history."""

    at: str
    actor_id: str
    action: str
    from_status: CaseStatus | None = None
    to_status: CaseStatus | None = None
    note: str = ""


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

    @property
    def reference(self) -> str:
        return f"#{self.number}"

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
        event = CaseEvent(at=now, actor_id="flexcord", action="posted", note=f"channel {post.channel_id}")
        return replace(
            self, post=post, attachments=attachments, updated_at=now, history=(*self.history, event)
        )
