"""The scheduled function's work: every minute (an EventBridge rule), queue what is due.

It only reads DynamoDB and queues jobs, so it finishes in well under its timeout however much is
due: the worker does the posting, one job each. "Now" is the event's own ``time`` (the minute
EventBridge scheduled), so a late or retried invocation acts on its minute, and the local stack
can move the clock by sending a later time.

Two runs that overlap (a retry, a slow minute) queue the same jobs: each job's key is the
announcement's, so the FIFO queue drops the copy within five minutes and the worker's idempotency
and the announcement's own record drop it after that. Nothing is written here: the poster marks
the announcement being posted, and forgets it once posted, so a run that fails half-way leaves
the rest for the next minute.
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
from flexcord.jobs.model import Job, JobKind
from flexcord.observability import logger, metrics

#: Announcements queued per run at most; the rest are due still and go the next minute.
ANNOUNCEMENTS_PER_RUN = 200


class Scheduler:
    def __init__(
        self, announcements: ScheduledAnnouncements, queue: JobQueue, *, per_run: int = ANNOUNCEMENTS_PER_RUN
    ) -> None:
        self._announcements = announcements
        self._queue = queue
        self._per_run = per_run

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
        if queued:
            logger.info("scheduled announcements queued", extra={"queued": queued})
            metrics.add_metric(name="ScheduledAnnouncementsQueued", unit="Count", value=queued)
        return {"now": int(now.timestamp()), "announcements_queued": queued}


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
