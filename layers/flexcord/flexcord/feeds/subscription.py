"""A followed feed: what staff asked for with /feeds add, and what the poller keeps between polls.

The settings (url, channel, template, filters, role, review first, backfill) change only through
/feeds; the state (conditional-request validators, when to poll next, health, today's count, the
baseline) is written by the poll that owns the feed's current slot: a poll claims ``next_poll_at``
as it was when the scheduler queued it, so two polls of one slot never both write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from flexcord.feeds.filters import FeedFilters
from flexcord.feeds.policy import DEFAULT_INTERVAL_SECONDS, MAX_POSTS_PER_DAY, FeedHealth
from flexcord.feeds.template import DEFAULT_TEMPLATE

#: Feeds one server may follow.
MAX_FEEDS_PER_SERVER = 25
#: Entries a new feed may post at once (its backfill).
MAX_BACKFILL = 10


@dataclass(frozen=True)
class FeedSubscription:
    feed_id: str
    server: str
    url: str
    channel_id: str
    added_by: str
    template: str = DEFAULT_TEMPLATE
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    role_id: str | None = None
    review_first: bool = False
    backfill: int = 0
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS
    #: The feed's own title, once read (for lists and notices).
    title: str = ""
    # -- state, written by polls --
    etag: str | None = None
    last_modified: str | None = None
    #: When the feed is due (Unix seconds): the slot the next poll claims.
    next_poll_at: int = 0
    #: Whether the first poll has marked the feed's entries seen.
    baselined: bool = False
    health: FeedHealth = field(default_factory=FeedHealth)
    #: The UTC day (YYYY-MM-DD) ``posts_today`` counts.
    day: str = ""
    posts_today: int = 0

    @property
    def filters(self) -> FeedFilters:
        return FeedFilters(include=self.include, exclude=self.exclude)

    @property
    def name(self) -> str:
        """How staff recognise it: its title, else its address."""
        return self.title or self.url

    def remaining_today(self, day: str) -> int:
        return MAX_POSTS_PER_DAY - (self.posts_today if self.day == day else 0)


class FeedRepository(Protocol):
    def add(self, feed: FeedSubscription) -> FeedSubscription:
        """Store it unless a feed of that id is stored; returns the stored one."""
        ...

    def get(self, server: str, feed_id: str) -> FeedSubscription | None: ...

    def of_server(self, server: str) -> list[FeedSubscription]: ...

    def remove(self, server: str, feed_id: str) -> bool:
        """False when there was no such feed in that server."""
        ...

    def due(self, now: int, *, limit: int) -> list[FeedSubscription]:
        """Feeds of every server that are due at ``now`` and not paused, most overdue first."""
        ...

    def record_poll(self, feed: FeedSubscription, *, slot: int) -> bool:
        """Write the feed's state if its ``next_poll_at`` is still ``slot``; False when another
        poll has written it (this one's work is then a duplicate)."""
        ...

    def resume(self, server: str, feed_id: str, *, now: int) -> FeedSubscription | None:
        """Unpause it and make it due at ``now``; None when there is no such feed."""
        ...


class SeenEntries(Protocol):
    """Which entries of a feed were posted or passed over, by ``entry_key_digest``."""

    def seen_among(self, feed_id: str, digests: Iterable[str]) -> set[str]: ...

    def mark_seen(self, feed_id: str, digests: Iterable[str]) -> None: ...
