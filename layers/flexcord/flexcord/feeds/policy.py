"""When to poll a feed again, when to give up on it, and which entries to post.

Pure decisions for the poller, which owns the storage:

* **Polling.** A healthy feed is polled every ``interval_seconds`` (never more often than
  ``MIN_INTERVAL_SECONDS``), or less often when the feed's ttl asks for it (capped at a day, so a
  feed claiming a week's ttl is still seen daily). Each failure in a row doubles the wait, up to
  ``MAX_BACKOFF_SECONDS``.
* **Pausing.** After ``PAUSE_AFTER_FAILURES`` failures in a row the feed is paused and staff are
  told once; only staff resume it. A success resets the count but does not resume a paused feed.
* **Posting.** The first poll only learns what the feed holds (posting a backfill of the newest
  few if asked), so following a feed never floods a channel with its archive. Later polls post
  the entries not seen before, oldest first so the channel reads in order, at most
  ``MAX_POSTS_PER_POLL`` at a time and ``MAX_POSTS_PER_DAY`` a day. When capped, the oldest are
  posted and the rest wait for the next poll (the caller marks only posted entries seen), so a
  burst is spread out rather than lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from flexcord.feeds.filters import FeedFilters
from flexcord.feeds.model import FeedEntry

MAX_POSTS_PER_POLL = 5
MAX_POSTS_PER_DAY = 50
DEFAULT_INTERVAL_SECONDS = 900
MIN_INTERVAL_SECONDS = 300
MAX_BACKOFF_SECONDS = 6 * 3600
PAUSE_AFTER_FAILURES = 6
#: The longest a feed's own ttl can push the next poll out.
MAX_TTL_SECONDS = 24 * 3600
#: Kept with the feed for staff; a reason longer than this is an error page, not a reason.
LAST_ERROR_MAX_LENGTH = 300


@dataclass(frozen=True)
class FeedHealth:
    consecutive_failures: int = 0
    paused: bool = False
    #: Why the last poll failed, for staff ("" after a success).
    last_error: str = ""


def next_poll_delay(*, interval_seconds: int, ttl_seconds: int | None, consecutive_failures: int) -> int:
    """Seconds until the feed should be polled again (see the module docstring)."""
    interval = max(interval_seconds, MIN_INTERVAL_SECONDS)
    if consecutive_failures > 0:
        # interval * 2**failures; the shift is capped only to keep the number small.
        return min(interval << min(consecutive_failures, 32), MAX_BACKOFF_SECONDS)
    if ttl_seconds is not None and ttl_seconds > 0:
        return max(interval, min(ttl_seconds, MAX_TTL_SECONDS))
    return interval


def after_failure(health: FeedHealth, reason: str) -> tuple[FeedHealth, bool]:
    """The feed's health after a failed poll, and whether this failure paused it (True once, so
    staff are told once)."""
    failures = health.consecutive_failures + 1
    pauses_now = not health.paused and failures >= PAUSE_AFTER_FAILURES
    updated = FeedHealth(
        consecutive_failures=failures,
        paused=health.paused or pauses_now,
        last_error=reason[:LAST_ERROR_MAX_LENGTH],
    )
    return updated, pauses_now


def after_success(health: FeedHealth) -> FeedHealth:
    """The feed's health after a successful poll. A paused feed stays paused: staff resume it."""
    return replace(health, consecutive_failures=0, last_error="")


def new_entries(
    entries: Sequence[FeedEntry],
    *,
    is_seen: Callable[[str], bool],
    filters: FeedFilters,
    per_poll_cap: int,
    remaining_today: int,
) -> list[FeedEntry]:
    """The entries to post now, oldest first.

    ``entries`` are newest first, as ``ParsedFeed.entries``; ``is_seen`` answers for an
    ``identity_key()``. Unseen entries that pass ``filters`` are posted, at most ``per_poll_cap``
    and ``remaining_today``, the oldest of them when there are more.
    """
    limit = max(0, min(per_poll_cap, remaining_today))
    if limit == 0:
        return []
    unseen = [entry for entry in _distinct(entries) if not is_seen(entry.identity_key())]
    wanted = [entry for entry in unseen if filters.accepts(entry)]
    return wanted[::-1][:limit]


def baseline(entries: Sequence[FeedEntry], *, backfill: int, filters: FeedFilters) -> list[FeedEntry]:
    """What the first poll of a feed posts: the newest ``backfill`` entries that pass ``filters``,
    oldest first. The caller marks every entry of the feed seen, posted or not."""
    if backfill <= 0:
        return []
    wanted = [entry for entry in _distinct(entries) if filters.accepts(entry)]
    return wanted[:backfill][::-1]


def _distinct(entries: Sequence[FeedEntry]) -> Iterator[FeedEntry]:
    """``entries`` without repeats of an identity key (feeds do list an entry twice), keeping the
    first, newest, occurrence."""
    keys: set[str] = set()
    for entry in entries:
        key = entry.identity_key()
        if key not in keys:
            keys.add(key)
            yield entry
