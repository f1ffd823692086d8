"""The scheduled function's work: every minute (an EventBridge rule), queue what is due: the
announcements whose time has come, and a poll of each feed whose time to be read has come.

It only reads DynamoDB and queues jobs, so it finishes in well under its timeout however much is
due: the worker does the posting, one job each. "Now" is the event's own ``time`` (the minute
EventBridge scheduled), so a late or retried invocation acts on its minute, and the local stack
can move the clock by sending a later time.

Two runs that overlap (a retry, a slow minute) queue the same jobs: an announcement's job key is
the announcement's, a poll's is the feed's and its slot (when it was due), so the FIFO queue
drops the copy within five minutes and the worker's idempotency and the announcement's own record
(or the feed's slot) drop it after that. Nothing is written here: the poster marks the
announcement being posted and forgets it once posted, and a poll moves its feed's slot, so a run
that fails half-way leaves the rest for the next minute. However many feeds there are, a run
only queues: the polls fan out to the worker, one job each.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flexcord.adapters.queue.job_queue import JobQueue
from flexcord.announcements.model import (
    ScheduledAnnouncements,
    ScheduleState,
    announcement_job_group,
    announcement_job_key,
)
from flexcord.feeds.subscription import FeedRepository
from flexcord.jobs.model import Job, JobKind
from flexcord.observability import logger, metrics

#: Announcements and feed polls queued per run at most; the rest are still due the next minute.
ANNOUNCEMENTS_PER_RUN = 200
FEED_POLLS_PER_RUN = 500


class Scheduler:
    def __init__(
        self,
        announcements: ScheduledAnnouncements,
        feeds: FeedRepository,
        queue: JobQueue,
        *,
        per_run: int = ANNOUNCEMENTS_PER_RUN,
        polls_per_run: int = FEED_POLLS_PER_RUN,
    ) -> None:
        self._announcements = announcements
        self._feeds = feeds
        self._queue = queue
        self._per_run = per_run
        self._polls_per_run = polls_per_run

    def tick(self, now: datetime) -> dict[str, Any]:
        due = self._announcements.due(int(now.timestamp()), limit=self._per_run)
        queued = 0
        for scheduled in due:
            if scheduled.state is not ScheduleState.SCHEDULED:
                continue  # its job is running (or failing, and will tell staff)
            self._queue.enqueue(
                Job(
                    JobKind.POST_ANNOUNCEMENT,
                    key=announcement_job_key(scheduled.announcement_id),
                    group=announcement_job_group(scheduled.server),
                    payload=scheduled.job_payload,
                )
            )
            queued += 1
        polls = self._queue_feed_polls(int(now.timestamp()))
        if queued or polls:
            logger.info("scheduled work queued", extra={"announcements": queued, "feed_polls": polls})
            metrics.add_metric(name="ScheduledAnnouncementsQueued", unit="Count", value=queued)
            metrics.add_metric(name="FeedPollsQueued", unit="Count", value=polls)
        return {"now": int(now.timestamp()), "announcements_queued": queued, "feed_polls_queued": polls}

    def _queue_feed_polls(self, now: int) -> int:
        due = self._feeds.due(now, limit=self._polls_per_run)
        for feed in due:
            self._queue.enqueue(
                Job(
                    JobKind.FEED_POLL,
                    key=f"feedpoll:{feed.feed_id}:{feed.next_poll_at}",
                    group=f"feed:{feed.feed_id}",
                    # ``now``: the poll measures the feed's next read from this minute.
                    payload={
                        "server": feed.server,
                        "feed_id": feed.feed_id,
                        "slot": feed.next_poll_at,
                        "now": now,
                    },
                )
            )
        return len(due)


def event_time(event: dict[str, Any], *, fallback: datetime | None = None) -> datetime:
    """The minute an EventBridge scheduled event is for (its ``time``); now if it has none."""
    raw = event.get("time") if isinstance(event, dict) else None
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            logger.warning("scheduled event with an unreadable time", extra={"time": raw[:40]})
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return fallback or datetime.now(UTC)
