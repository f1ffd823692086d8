"""The worker: runs each queued job once, in order per member, and makes sure that a job which
cannot be done is reported to the member rather than lost.

Two layers keep a redelivered job from acting twice. Powertools idempotency records each finished
job (keyed by its interaction id) and replays the stored result instead of running it again; and
each step is idempotent on its own (the case is keyed by the interaction, Discord posts carry a
nonce, Twilio messages a key that a retry looks for), for a job that failed half-way. The busiest
jobs, a message to relay either way, deduplicate themselves (``SelfDeduplicating``: a mark on the
session, written last) and skip the record: two DynamoDB writes fewer per relayed message.

Delivery schedule. SQS hands a job over at most ``max_receive_count`` times (the queue's
maxReceiveCount) before moving it to the dead-letter queue. The worker runs the job on every
delivery but the last, and keeps the last for the notice: it tells the member their request could
not be done and lets the message go to the dead-letter queue. So a member hears about a job that
kept failing, one cut short by the Lambda timeout or a crash on its final run, and one that was
never started for lack of time. In a FIFO batch a member's later jobs are skipped behind a failed
one; they are retried with it (the same delay, so they never hold the member's group back) and
told about with it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor
from aws_lambda_powertools.utilities.batch.exceptions import SQSFifoMessageGroupCircuitBreakerError
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from flexcord.adapters.discord import DiscordClient, PostsOfOneJob, RateLimited
from flexcord.adapters.discord.snowflake import snowflake_time
from flexcord.adapters.queue.job_queue import SqsJobQueue
from flexcord.jobs.access import NOT_A_MEMBER, DmAccess
from flexcord.jobs.model import Job, JobKind
from flexcord.jobs.notify import tell_member
from flexcord.observability import logger, metrics

Executor = Callable[[Job], dict[str, Any]]

# SQS keeps a message up to four days; an idempotency record must outlive any redelivery.
IDEMPOTENCY_TTL_SECONDS = 4 * 24 * 3600
# A job is not started with less time than this left: one that the Lambda timeout cuts short
# fails the whole batch, unreported.
MIN_SECONDS_TO_START_A_JOB = 15
# A failed job comes back after 30 s, 60 s, 120 s... (at most 5 minutes). One stopped by a
# Discord rate limit comes back when the limit resets (its retry_after), neither sooner, which
# would fail again, nor later, which would hold the member's chat back for nothing.
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 300
# A job not started for lack of time did nothing wrong: it comes back at once.
NOT_STARTED_RETRY_SECONDS = 0
SQS_MAX_VISIBILITY_SECONDS = 12 * 3600
# A relay held up longer than this by one channel's rate limit goes back to the queue on its first
# delivery, when the queue allows at least MIN_RECEIVES_TO_DEFER deliveries (JobWorker._run_job).
ROUTE_WAIT_BEFORE_DEFERRING_SECONDS = 1.0
MIN_RECEIVES_TO_DEFER = 3
# Discord honours a message's nonce "for a few minutes": a first delivery of an interaction older
# than this may be a job that ran before (redriven from the dead-letter queue), so it looks for
# what that run posted (EarlierPosts).
NONCE_REMEMBERED_SECONDS = 120

WHAT_FAILED: dict[JobKind, str] = {
    JobKind.CREATE_CASE: "finish filing your report",
    JobKind.SHOW_CASE: "load that case",
    JobKind.LIST_CASES: "load your cases",
    JobKind.LIST_SERVER_CASES: "list the cases",
    JobKind.UPDATE_CASE: "update that case",
    JobKind.ADD_CASE_DETAILS: "add to your case",
    JobKind.SUPPORT_CASE: "count your support",
    JobKind.OPEN_CHAT: "open your support chat",
    JobKind.MEMBER_MESSAGE: "deliver your message",
    JobKind.REQUEST_AGENT: "reach an agent",
    JobKind.END_CHAT: "end your chat",
    JobKind.ASSISTANT_HELPED: "record that",
    JobKind.ASSISTANT_REPLY: "show the assistant's answer",
    JobKind.RATE_CHAT: "record your rating",
    JobKind.COMMENT_CHAT: "save your comment",
    JobKind.SEND_TRANSCRIPT: "send your transcript",
    JobKind.LEAVE_MESSAGE: "leave your message",
    JobKind.DUPLICATE_CHOICE: "record your choice",
    JobKind.SETUP_SHOW: "show this server's settings",
    JobKind.SETUP_CHANGE: "save that setting",
    JobKind.POST_ANNOUNCEMENT: "post the announcement",
    JobKind.REVIEW_DECIDE: "record your decision on that announcement",
    JobKind.REVIEW_EDIT: "save your edit of that announcement",
    JobKind.ANNOUNCE_DRAFT: "prepare your announcement",
    JobKind.ANNOUNCE_DECIDE: "act on your announcement",
    JobKind.ANNOUNCE_LIST: "list the scheduled announcements",
    JobKind.ANNOUNCE_CANCEL: "cancel that announcement",
    JobKind.FEEDS_ADD: "add that feed",
    JobKind.FEEDS_LIST: "list the feeds",
    JobKind.FEEDS_TEST: "read that feed",
    JobKind.FEEDS_REMOVE: "remove that feed",
    JobKind.FEEDS_RESUME: "resume that feed",
}


@dataclass(frozen=True)
class SelfDeduplicating:
    """Jobs that need no idempotency record: ``covers`` says which; ``done`` says whether one of
    them was completed by an earlier delivery (asked on its last delivery only); ``deferrable``,
    which of them may go back to the queue rather than wait for a channel's rate limit (see
    ``JobWorker._run_job``)."""

    covers: Callable[[Job], bool]
    done: Callable[[Job], bool]
    deferrable: Callable[[Job], bool] = lambda job: True


class JobPostLog(Protocol):
    """Where a failed job's Discord posts are kept for its retry (``DynamoJobPosts``)."""

    def earlier(self, job_key: str, *, now: float) -> dict[str, str]: ...

    def keep(self, job_key: str, posts: Mapping[str, str], *, now: float) -> None: ...


class EarlierPosts:
    """What a job's failed attempts posted, read when the job first posts (``load`` is given to
    ``DiscordClient.remembering_posts``), and only when it may have run before: a retry, or a
    first delivery of an interaction older than Discord's nonce (a job redriven from the
    dead-letter queue starts counting its deliveries again)."""

    def __init__(self, log: JobPostLog | None, job: Job, *, read: bool) -> None:
        self._log = log if read else None
        self._job = job
        self.unreadable = False

    def load(self) -> dict[str, str]:
        if self._log is None:
            return {}
        try:
            return self._log.earlier(self._job.key, now=time.time())
        except Exception:
            # Discord's nonce still stops a second post for a few minutes.
            logger.warning("could not read the job's earlier posts", exc_info=True)
            self.unreadable = True
            return {}


class UnknownJobKind(ValueError):
    pass


class NotEnoughTimeLeft(RuntimeError):
    """Not started: the invocation is about to time out. SQS delivers the job again."""


class DeliveriesExhausted(RuntimeError):
    """The job's last delivery: the member has been told, and SQS moves it to the dead-letter
    queue."""


class JobWorker:
    def __init__(
        self,
        *,
        executors: dict[JobKind, Executor],
        discord: DiscordClient,
        persistence: BasePersistenceLayer,
        max_receive_count: int,
        queue: SqsJobQueue | None = None,
        report_undelivered: Callable[[Job], bool] | None = None,
        dm_access: DmAccess | None = None,
        self_deduplicating: SelfDeduplicating | None = None,
        job_posts: JobPostLog | None = None,
    ) -> None:
        """``report_undelivered`` tells the member about a failed job that no interaction of
        theirs asked for (an agent's message): it finds them from the job itself. ``dm_access``
        refuses members who write from the bot's DMs without belonging to an allowed server.
        ``job_posts`` keeps what a failed attempt posted in Discord, so its retry does not post
        it again once Discord's nonce has been forgotten (a few minutes; retries take longer)."""
        self._executors = executors
        self._persistence = persistence
        self._report_undelivered = report_undelivered
        self._dm_access = dm_access
        self._self_deduplicating = self_deduplicating
        self._job_posts = job_posts
        self._discord = discord
        self._queue = queue
        self._max_receive_count = max_receive_count
        self._context: LambdaContext | None = None
        #: The retry delay given to each member's failed job in the current batch.
        self._group_delays: dict[str, int] = {}
        self.idempotency_config = IdempotencyConfig(
            event_key_jmespath="key",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        )
        self._run_once = idempotent_function(
            data_keyword_argument="job",
            config=self.idempotency_config,
            persistence_store=persistence,
        )(self._run)

    def handle_batch(self, event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        from aws_lambda_powertools.utilities.batch import process_partial_response

        self._context = context
        self._group_delays = {}
        # Lets an in-progress record expire with the invocation if the Lambda is killed mid-job.
        self.idempotency_config.register_lambda_context(context)
        return process_partial_response(
            event=event, record_handler=self.process_record, processor=_FifoProcessor(self), context=context
        )

    def process_record(self, record: SQSRecord) -> dict[str, Any]:
        attempt = self._attempt(record)
        try:
            document = json.loads(record.body)
            job = Job.from_dict(document)
        except (ValueError, KeyError, TypeError):
            # Nobody to tell: the message names no member. It is retried, then dead-lettered.
            logger.exception("unreadable job message", extra={"message_id": record.message_id})
            raise
        deduplicates_itself = self._self_deduplicating is not None and self._self_deduplicating.covers(job)
        if self._is_last(record):
            if self._completed_earlier(job, document, deduplicates_itself):
                return {"completed_earlier": True}  # an earlier delivery did it; only the delete was lost
            self._give_up(job, record)
        if self._context and self._context.get_remaining_time_in_millis() < MIN_SECONDS_TO_START_A_JOB * 1000:
            self._retry_soon(record, job.group, NOT_STARTED_RETRY_SECONDS)
            raise NotEnoughTimeLeft(record.message_id)
        logger.append_keys(job_kind=job.kind.value, job_key=job.key)
        try:
            run = self._run if deduplicates_itself else self._run_once
            may_defer = deduplicates_itself and attempt == 1 and self._deferrable(job)
            earlier = EarlierPosts(self._job_posts, job, read=attempt > 1 or _older_than_a_nonce(job))
            with DiscordClient.remembering_posts(earlier.load) as posts:
                try:
                    result = self._run_job(run, {**document, "attempt": attempt}, may_defer=may_defer)
                except Exception:
                    self._keep_posts(job, posts, earlier)
                    raise
        except IdempotencyAlreadyInProgressError:
            # Another delivery holds the job's lock: one still running, or one that did the work
            # but could not record it (the lock then lasts until that invocation's deadline).
            # Come back when the lock expires, when the job runs again, instead of spending the
            # job's deliveries on the lock.
            logger.warning("job locked by another delivery", extra={"attempt": attempt})
            metrics.add_metric(name="JobsLockedElsewhere", unit="Count", value=1)
            self._retry_soon(record, job.group, self._until_lock_expires(document))
            raise
        except Exception as failure:
            limit = _rate_limit(failure)
            if limit is not None:
                # Routine in a burst, not a fault: no traceback, and not counted as a failure.
                logger.info(
                    "job deferred until Discord's rate limit resets",
                    extra={
                        "attempt": attempt,
                        "retry_after": round(limit.retry_after, 3),
                        "global": limit.is_global,
                    },
                )
                metrics.add_metric(name="JobsDeferredByRateLimit", unit="Count", value=1)
            else:
                logger.exception("job failed", extra={"attempt": attempt})
                metrics.add_metric(name="JobFailures", unit="Count", value=1)
            self._retry_soon(record, job.group, retry_delay(attempt, failure))
            raise
        finally:
            logger.remove_keys(["job_kind", "job_key"])
        metrics.add_metric(name="JobsCompleted", unit="Count", value=1)
        return result

    def _run_job(
        self, run: Callable[..., dict[str, Any]], job: dict[str, Any], *, may_defer: bool
    ) -> dict[str, Any]:
        """Run the job. A relay on its first delivery does not wait long for a channel's rate
        limit (Discord: 5 messages per 5 s per channel): it goes back to the queue until the
        bucket resets, and the worker serves other members meanwhile instead of sleeping on its
        share of the global limit. Only an agent's message is handed back (one post, then its
        mark: it has posted or not, where a job of several steps would be re-entered half-done),
        once, and only when the queue allows three deliveries or more, so that real failures
        keep theirs.
        Other jobs wait the limit out inside the Discord client, as long as its budget allows."""
        if not (may_defer and self._max_receive_count >= MIN_RECEIVES_TO_DEFER):
            return run(job=job)
        with self._discord.route_waits_capped(ROUTE_WAIT_BEFORE_DEFERRING_SECONDS):
            return run(job=job)

    def _keep_posts(self, job: Job, posts: PostsOfOneJob, earlier: EarlierPosts) -> None:
        """Record what this failed attempt posted (written only when it posted something new;
        not at all when the earlier record could not be read, which a write would replace)."""
        if self._job_posts is None or not posts.new or earlier.unreadable:
            return
        try:
            self._job_posts.keep(job.key, posts.all, now=time.time())
        except Exception:
            logger.warning("could not record the job's posts", exc_info=True)

    def _deferrable(self, job: Job) -> bool:
        return self._self_deduplicating is not None and self._self_deduplicating.deferrable(job)

    def record_skipped(self, record: SQSRecord) -> None:
        """A job not run because an earlier job of the same member failed in this batch: it
        comes back with that job, and on its last delivery the member is told."""
        try:
            job = Job.from_json(record.body)
        except (ValueError, KeyError, TypeError):
            return
        if self._is_last(record):
            logger.warning("job dead-lettered behind a failed one", extra={"job_key": job.key})
            self._tell_member_it_failed(job)
            return
        self._retry_soon(record, job.group, self._group_delays.get(job.group, RETRY_BASE_SECONDS))

    def _until_lock_expires(self, document: dict[str, Any]) -> int:
        """Seconds until the job's in-progress idempotency record may be taken over."""
        record = self._idempotency_record(document)
        expiry_ms = record.in_progress_expiry_timestamp if record is not None else None
        if not expiry_ms:
            return RETRY_BASE_SECONDS
        return max(0, min(math.ceil(expiry_ms / 1000 - time.time()) + 1, RETRY_MAX_SECONDS))

    def _idempotency_record(self, document: dict[str, Any]) -> DataRecord | None:
        """The job's idempotency record, as the idempotent wrapper stores it; None when there is
        none or it cannot be read (the callers then fall back to the plain schedule)."""
        self._persistence.configure(
            config=self.idempotency_config, function_name=f"{self._run.__module__}.{self._run.__qualname__}"
        )
        try:
            return self._persistence.get_record(document)
        except IdempotencyItemNotFoundError:
            return None
        except Exception:
            logger.warning("could not read the job's idempotency record", exc_info=True)
            return None

    def _completed_earlier(self, job: Job, document: dict[str, Any], deduplicates_itself: bool) -> bool:
        """Whether an earlier delivery did the job (its message came back: a lost delete, or a
        redelivery while it ran), as its idempotency record, or the job itself, tells."""
        if deduplicates_itself and self._self_deduplicating is not None:
            try:
                return self._self_deduplicating.done(job)
            except Exception:
                logger.warning("could not tell whether the job was done earlier", exc_info=True)
                return False
        record = self._idempotency_record(document)
        return record is not None and record.status == "COMPLETED"

    def _give_up(self, job: Job, record: SQSRecord) -> None:
        logger.error(
            "job's last delivery: not run, the member is told",
            extra={"job_kind": job.kind.value, "job_key": job.key, "attempt": self._attempt(record)},
        )
        self._tell_member_it_failed(job)
        # The member's later jobs in this batch are skipped; on the next delivery they run.
        self._group_delays[job.group] = 0
        raise DeliveriesExhausted(job.key)

    def _run(self, job: dict[str, Any]) -> dict[str, Any]:
        parsed = Job.from_dict(job)
        executor = self._executors.get(parsed.kind)
        if executor is None:
            raise UnknownJobKind(parsed.kind)
        member = parsed.context
        if member is not None and self._dm_access is not None and not self._dm_access.allows(member):
            tell_member(self._discord, member, content=NOT_A_MEMBER)
            return {"refused": "not in an allowed server"}
        return executor(parsed)

    def _retry_soon(self, record: SQSRecord, group: str, delay: int) -> None:
        """Make the job visible again after ``delay`` seconds instead of the queue's visibility
        timeout (sized for the worst-case batch). Its group's skipped jobs get the same delay:
        a FIFO group waits for every message in flight, so one left at the long timeout would
        hold the member's chat back for minutes."""
        self._group_delays[group] = delay
        if self._queue is None:
            return
        try:
            self._queue.retry_after(record.receipt_handle, delay)
        except Exception:
            # The queue's own visibility timeout still brings the job back, only later.
            logger.warning("could not shorten the retry delay", exc_info=True)

    @staticmethod
    def _attempt(record: SQSRecord) -> int:
        return int(record.attributes.approximate_receive_count)

    def _is_last(self, record: SQSRecord) -> bool:
        return self._attempt(record) >= self._max_receive_count

    def _tell_member_it_failed(self, job: Job) -> None:
        metrics.add_metric(name="JobsDeadLettered", unit="Count", value=1)
        try:
            if job.context is None:
                told = self._report_undelivered is not None and self._report_undelivered(job)
            else:
                what = WHAT_FAILED.get(job.kind, "finish your request")
                told = tell_member(
                    self._discord,
                    job.context,
                    content=f"⚠️ Sorry, Flexcord couldn't {what} after several tries. "
                    "Our team has been alerted and will follow up; please don't resend it yet.",
                )
        except Exception:
            logger.exception("could not tell the member their job failed")
            told = False
        # The dead-letter queue's alarm is the operator's signal either way; this counts the
        # members who heard nothing.
        metrics.add_metric(name="MembersTold" if told else "MembersNotTold", unit="Count", value=1)


def _older_than_a_nonce(job: Job) -> bool:
    """Whether the job's interaction is older than Discord keeps a nonce (its id is a snowflake,
    which tells when it was made); False for jobs no interaction asked for."""
    made = snowflake_time(job.context.interaction_id) if job.context is not None else None
    return made is not None and time.time() - made > NONCE_REMEMBERED_SECONDS


def retry_delay(attempt: int, failure: BaseException) -> int:
    """Seconds before the next delivery: when a Discord rate limit stopped the job, its
    ``retry_after`` (rounded up to SQS's whole seconds, at least one); otherwise exponential in
    the attempt, capped."""
    limit = _rate_limit(failure)
    if limit is not None:
        return min(max(1, math.ceil(float(limit.retry_after))), SQS_MAX_VISIBILITY_SECONDS)
    backoff: int = min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_MAX_SECONDS)
    return backoff


def _rate_limit(failure: BaseException | None) -> RateLimited | None:
    seen: set[int] = set()
    while failure is not None and id(failure) not in seen:
        if isinstance(failure, RateLimited):
            return failure
        seen.add(id(failure))
        failure = failure.__cause__ or failure.__context__
    return None


class _FifoProcessor(SqsFifoPartialProcessor):
    """Powertools' FIFO processor, skipping only the failed member's later jobs (other members'
    jobs run on), and telling the worker about each job it skips."""

    def __init__(self, worker: JobWorker) -> None:
        super().__init__(skip_group_on_error=True)
        self._worker = worker

    def failure_handler(self, record: Any, exception: Any) -> Any:
        if exception and exception[0] is SQSFifoMessageGroupCircuitBreakerError:
            self._worker.record_skipped(record)
        return super().failure_handler(record, exception)
