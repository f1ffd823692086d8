"""Review first: an announcement from a feed or the webhook waits for a staff decision before it
is posted.

The poster hands such an announcement (``review_first`` in its payload, not yet ``approved``) to
the review instead of posting it. The review keeps the poster's payload exactly as it would be
posted, shows it in the server's staff channel with Approve, Edit and Reject, and records who
decided. Approve queues nothing: the deciding job runs the poster itself, with ``approved`` added
to the payload, so the post happens in the job that the staff member's press started.

A review is decided once. ``decide`` is one conditional write: it succeeds while the review is
pending, or when the same press (the deciding interaction's id) decided it already. The second
case is the deciding job delivered again: the state is written before the post, so a job that
failed between the two must be able to finish what it began. Every other press finds the review
decided, and ``decided_by`` says by whom.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from flexcord.adapters.discord.snowflake import snowflake_time
from flexcord.announcements.model import NONCE_LENGTH


class ReviewState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class AnnouncementReview:
    """An announcement waiting for (or past) a staff decision.

    ``job_payload`` is the poster's payload as it will be posted (Edit changes its title and
    text). ``channel_id`` and ``message_id`` are the review message in the staff channel (None
    until it is posted). ``decided_press`` is the id of the interaction that decided: a retried
    deciding job recognises its own decision by it.
    """

    announcement_id: str
    server: str
    job_payload: dict[str, Any]
    state: ReviewState = ReviewState.PENDING
    channel_id: str | None = None
    message_id: str | None = None
    decided_by: str | None = None
    decided_press: str | None = None
    edited_by: str | None = None

    @property
    def title(self) -> str:
        return str(self.job_payload.get("title") or "")

    @property
    def text(self) -> str:
        return str(self.job_payload.get("text") or "")

    @property
    def decided_at(self) -> int | None:
        """When it was decided (Unix seconds), read from the deciding press's id: Discord stamps
        every interaction id with its time, so no clock is needed and a retry shows the same."""
        return snowflake_time(self.decided_press) if self.decided_press else None


class AnnouncementReviews(Protocol):
    """Reviews, keyed by announcement id."""

    def submit(self, review: AnnouncementReview) -> AnnouncementReview:
        """Store the review unless one is stored already (the first wins); returns the stored one."""
        ...

    def get(self, announcement_id: str) -> AnnouncementReview | None: ...

    def set_message(self, announcement_id: str, channel_id: str, message_id: str) -> None:
        """Record the review message in the staff channel."""
        ...

    def decide(
        self, announcement_id: str, state: ReviewState, *, by: str, press: str
    ) -> AnnouncementReview | None:
        """Set the decision if the review is pending, or already decided by ``press`` (a retried
        deciding job). Returns the review as stored either way (compare ``decided_press`` with
        ``press`` to know whether this press decided); None when there is no such review."""
        ...

    def release(self, announcement_id: str, *, press: str) -> None:
        """Undo ``press``'s decision (its approved post was refused: nothing was posted), so the
        review is pending again and Approve can be pressed once the cause is fixed."""
        ...

    def edit(self, announcement_id: str, *, title: str, text: str, by: str) -> AnnouncementReview | None:
        """Replace the title and text of a pending review; returns it as edited, None when it is
        not pending (decided meanwhile) or does not exist."""
        ...


def review_nonce(announcement_id: str) -> str:
    """The review message's nonce (≤25 characters): a retried submission, inside Discord's nonce
    window, gets the message already posted instead of a second one. It differs from the post's
    nonce (``announcement_nonce``), so the review never stands in for the post."""
    return "rv" + hashlib.sha256(f"review:{announcement_id}".encode()).hexdigest()[: NONCE_LENGTH - 2]
