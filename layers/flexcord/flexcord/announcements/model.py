"""An announcement as posted: its embed (the /announce preview uses the same builder, so the
preview looks exactly like the post), and the record of a post that makes a retried job post once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

ANNOUNCEMENT_COLOUR = 0x5865F2
#: Discord's embed limits.
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
#: Discord's nonce is at most 25 characters.
NONCE_LENGTH = 25


class Publication(StrEnum):
    """Whether the post reached the servers that follow the channel (announcement channels only)."""

    NOT_NEEDED = "not_needed"  # a text channel: nothing to publish
    PENDING = "pending"  # posted, publication not yet tried
    PUBLISHED = "published"
    NOT_PUBLISHED = "not_published"  # Discord refused or its hourly limit was reached


@dataclass(frozen=True)
class PostedAnnouncement:
    announcement_id: str
    server: str
    channel_id: str
    message_id: str
    publication: Publication
    #: Why it was not published, for the admin (empty otherwise).
    note: str = ""


class AnnouncementLog(Protocol):
    """Posted announcements, keyed by announcement id."""

    def posted(self, announcement_id: str) -> PostedAnnouncement | None: ...

    def record_post(self, posted: PostedAnnouncement) -> PostedAnnouncement:
        """Store the post unless one is already stored; returns the stored one."""
        ...

    def record_publication(self, announcement_id: str, publication: Publication, note: str = "") -> None: ...


def announcement_embed(
    *, title: str, text: str, url: str | None = None, image_url: str | None = None
) -> dict[str, Any]:
    """The announcement's embed: title (a link when ``url``), text and image."""
    embed: dict[str, Any] = {"title": title.strip()[:TITLE_MAX], "color": ANNOUNCEMENT_COLOUR}
    if text.strip():  # a feed entry may have no text; Discord refuses an empty description
        embed["description"] = text.strip()[:DESCRIPTION_MAX]
    if url:
        embed["url"] = url
    if image_url:
        embed["image"] = {"url": image_url}
    return embed


def role_mention(role_id: str | None) -> str | None:
    """The content that pings the role (only that role is whitelisted in allowed_mentions)."""
    return f"<@&{role_id}>" if role_id else None


def announcement_nonce(announcement_id: str) -> str:
    """A nonce (≤25 characters) derived from the announcement id: the same announcement always
    sends the same nonce, so Discord answers a retry with the message already posted."""
    return "ann" + hashlib.sha256(announcement_id.encode()).hexdigest()[: NONCE_LENGTH - 3]


def announcement_job_key(announcement_id: str) -> str:
    """The post job's key: one announcement, one job, however many times it is queued."""
    return f"announcement:{announcement_id}"


def announcement_job_group(server: str) -> str:
    """A server's announcements are posted in the order they were queued."""
    return f"announcements:{server}"


#: How long an /announce draft waits for Post (seconds).
DRAFT_LIFETIME = 24 * 3600


@dataclass(frozen=True)
class AnnouncementDraft:
    """An /announce form waiting for its author's Post (``draft_id``: the submit's id)."""

    draft_id: str
    server: str
    author_id: str
    title: str
    text: str
    image_url: str | None
    role_id: str | None
    expires_at: int
    #: The id of the Post press that used it (None: not posted yet).
    used_by: str | None = None
    #: When to post it (Unix seconds); None: as soon as Post is pressed.
    post_at: int | None = None


class AnnouncementDrafts(Protocol):
    def keep(self, draft: AnnouncementDraft) -> AnnouncementDraft:
        """Store the draft unless stored already; returns the stored one."""
        ...

    def get(self, draft_id: str) -> AnnouncementDraft | None: ...

    def claim(self, draft_id: str, *, press_id: str) -> AnnouncementDraft | None:
        """Mark the draft used by ``press_id`` unless another press used it; returns the draft as
        stored (``used_by`` says which press won), None when it is gone."""
        ...

    def release(self, draft_id: str, *, press_id: str) -> None:
        """Undo ``press_id``'s claim (nothing was posted), so Post can be pressed again."""
        ...

    def drop(self, draft_id: str) -> None: ...


class ScheduleState(StrEnum):
    SCHEDULED = "scheduled"
    #: The scheduler handed it to the poster: too late to cancel.
    POSTING = "posting"


@dataclass(frozen=True)
class ScheduledAnnouncement:
    """An announcement waiting for its time. ``job_payload`` is the poster's payload, exactly
    as the scheduler will queue it."""

    announcement_id: str
    server: str
    author_id: str
    post_at: int
    title: str
    job_payload: dict[str, Any]
    state: ScheduleState = ScheduleState.SCHEDULED


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # no such scheduled announcement in this server (posted, or never was)
    TOO_LATE = "too_late"  # being posted right now


class ScheduledAnnouncements(Protocol):
    """Announcements waiting for their time, per server, and due across servers."""

    def schedule(self, scheduled: ScheduledAnnouncement) -> ScheduledAnnouncement:
        """Store it unless already stored; returns the stored one."""
        ...

    def get(self, server: str, announcement_id: str) -> ScheduledAnnouncement | None: ...

    def of_server(self, server: str) -> list[ScheduledAnnouncement]:
        """The server's scheduled announcements, soonest first."""
        ...

    def due(self, now: int, *, limit: int) -> list[ScheduledAnnouncement]:
        """Announcements of every server whose time is ``now`` or earlier, oldest first."""
        ...

    def start_posting(self, server: str, announcement_id: str) -> bool:
        """Mark it being posted, so it can no longer be cancelled; False when it is gone
        (cancelled, or posted and removed)."""
        ...

    def cancel(self, server: str, announcement_id: str) -> CancelOutcome: ...

    def remove(self, server: str, announcement_id: str) -> None:
        """Forget it once posted."""
        ...
