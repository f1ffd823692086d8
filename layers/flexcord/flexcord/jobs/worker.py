"""The worker: runs each queued job once, in order per member, and tells the member when a job
is about to be dead-lettered.

Two layers keep a redelivered job from acting twice. Powertools idempotency records each finished
job (keyed by its interaction id) and replays the stored result instead of running it again; and
each step is idempotent on its own (the case is keyed by the interaction, the post carries a
nonce), for a job that failed half-way and is retried.

A job goes to the dead-letter queue after its queue's maxReceiveCount deliveries, so its last
delivery is known from ApproximateReceiveCount. On that delivery the member is told when the job
fails, and also when it is skipped: in a FIFO batch, the member's later jobs wait (and fail
unrun) behind a failed one, and they are dead-lettered with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor
from aws_lambda_powertools.utilities.batch.exceptions import SQSFifoMessageGroupCircuitBreakerError
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from flexcord.adapters.discord import DiscordClient
from flexcord.adapters.queue.job_queue import SqsJobQueue
from flexcord.jobs.model import Job, JobKind
from flexcord.jobs.notify import tell_member
from flexcord.observability import logger, metrics

Executor = Callable[[Job], dict[str, Any]]

# SQS keeps a message up to four days; an idempotency record must outlive any redelivery.
IDEMPOTENCY_TTL_SECONDS = 4 * 24 * 3600
# A job is not started with less time than this left: one that the Lambda timeout cuts short
# fails the whole batch, unreported.
MIN_SECONDS_TO_START_A_JOB = 15
# A failed job comes back after 30 s, 60 s, 120 s... (at most 5 minutes).
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 300

WHAT_FAILED: dict[JobKind, str] = {
    JobKind.CREATE_CASE: "finish filing your report",
    JobKind.SHOW_CASE: "load that case",
    JobKind.LIST_CASES: "load your cases",
    JobKind.OPEN_CHAT: "open your support chat",
    JobKind.MEMBER_MESSAGE: "deliver your message",
    JobKind.REQUEST_AGENT: "reach an agent",
    JobKind.END_CHAT: "end your chat",
    JobKind.ASSISTANT_HELPED: "record that",
    JobKind.ASSISTANT_REPLY: "show the assistant's answer",
}


class UnknownJobKind(ValueError):
    pass


class NotEnoughTimeLeft(RuntimeError):
    """Not started: the invocation is about to time out. SQS delivers the job again."""


class JobWorker:
    def __init__(
        self,
        *,
        executors: dict[JobKind, Executor],
        discord: DiscordClient,
        persistence: BasePersistenceLayer,
        max_receive_count: int,
        queue: SqsJobQueue | None = None,
    ) -> None:
        self._executors = executors
        self._discord = discord
        self._queue = queue
        self._max_receive_count = max_receive_count
        self._context: LambdaContext | None = None
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
        # Lets an in-progress record expire with the invocation if the Lambda is killed mid-job.
        self.idempotency_config.register_lambda_context(context)
        return process_partial_response(
            event=event, record_handler=self.process_record, processor=_FifoProcessor(self), context=context
        )

    def process_record(self, record: SQSRecord) -> dict[str, Any]:
        if self._context and self._context.get_remaining_time_in_millis() < MIN_SECONDS_TO_START_A_JOB * 1000:
            raise NotEnoughTimeLeft(record.message_id)
        try:
            document = json.loads(record.body)
            job = Job.from_dict(document)
        except (ValueError, KeyError, TypeError):
            # Nobody to tell: the message names no member. It is retried, then dead-lettered.
            logger.exception("unreadable job message", extra={"message_id": record.message_id})
            raise
        logger.append_keys(job_kind=job.kind.value, job_key=job.key)
        try:
            result: dict[str, Any] = self._run_once(job=document)
        except Exception:
            attempt = self._attempt(record)
            logger.exception("job failed", extra={"attempt": attempt, "final_attempt": self._is_last(record)})
            metrics.add_metric(name="JobFailures", unit="Count", value=1)
            if self._is_last(record):
                self._tell_member_it_failed(job)
            else:
                self._retry_soon(record, attempt)
            raise
        finally:
            logger.remove_keys(["job_kind", "job_key"])
        metrics.add_metric(name="JobsCompleted", unit="Count", value=1)
        return result

    def record_skipped(self, record: SQSRecord) -> None:
        """A job not run because an earlier job of the same member failed in this batch."""
        if not self._is_last(record):
            return
        try:
            job = Job.from_json(record.body)
        except (ValueError, KeyError, TypeError):
            return
        logger.warning("job dead-lettered behind a failed one", extra={"job_key": job.key})
        self._tell_member_it_failed(job)

    def _run(self, job: dict[str, Any]) -> dict[str, Any]:
        parsed = Job.from_dict(job)
        executor = self._executors.get(parsed.kind)
        if executor is None:
            raise UnknownJobKind(parsed.kind)
        return executor(parsed)

    def _retry_soon(self, record: SQSRecord, attempt: int) -> None:
        if self._queue is None:
            return
        delay = min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_MAX_SECONDS)
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
        if job.context is None:
            return  # not asked for by a member (e.g. a Twilio event): the alarm is the signal
        what = WHAT_FAILED.get(job.kind, "finish your request")
        try:
            tell_member(
                self._discord,
                job.context,
                content=f"⚠️ Sorry, Flexcord couldn't {what} after several tries. "
                "Our team has been alerted and will follow up; please don't resend it yet.",
            )
        except Exception:
            logger.exception("could not tell the member their job failed")


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
