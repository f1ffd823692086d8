"""Sends jobs to the SQS FIFO queue the worker consumes."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, cached_property
from typing import TYPE_CHECKING, Final, Protocol

from flexcord.config import ConfigurationError, aws_settings
from flexcord.jobs.model import Job

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef


SQS_BATCH_LIMIT: Final = 10


class JobQueue(Protocol):
    def enqueue(self, job: Job) -> None: ...


class QueueUnavailable(RuntimeError):
    """The job could not be queued; the member should be asked to try again."""


class SqsJobQueue:
    def __init__(self, queue_url: str) -> None:
        self._queue_url = queue_url

    @cached_property
    def _client(self) -> SQSClient:
        # boto3 loads on the first enqueue, not at import: most interactions (PING, modals,
        # ephemeral answers) never touch AWS and should not pay ~250 ms for it.
        import boto3

        return boto3.client("sqs")

    def enqueue(self, job: Job) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=job.to_json(),
                MessageGroupId=job.group,
                MessageDeduplicationId=job.key,
            )
        except (BotoCoreError, ClientError) as error:
            raise QueueUnavailable(f"could not enqueue {job.kind} job") from error

    def enqueue_many(self, jobs: Sequence[Job]) -> None:
        """Queue jobs ten to a request (SendMessageBatch), in order. Raises QueueUnavailable if
        any was refused; the ones already sent stay queued, and sending them again is harmless
        within SQS's five-minute deduplication window."""
        from botocore.exceptions import BotoCoreError, ClientError

        for start in range(0, len(jobs), SQS_BATCH_LIMIT):
            entries = [
                _batch_entry(index, job) for index, job in enumerate(jobs[start : start + SQS_BATCH_LIMIT])
            ]
            try:
                refused = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries).get(
                    "Failed"
                )
            except (BotoCoreError, ClientError) as error:
                raise QueueUnavailable(f"could not enqueue {len(entries)} jobs") from error
            if refused:
                raise QueueUnavailable(
                    f"{len(refused)} of {len(entries)} jobs refused: {refused[0].get('Code')}"
                )

    def retry_after(self, receipt_handle: str, seconds: int) -> None:
        """Make a failed message visible again after ``seconds`` instead of the queue's whole
        visibility timeout (sized for the worst-case batch, minutes), so a member waits less."""
        self._client.change_message_visibility(
            QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )


def _batch_entry(index: int, job: Job) -> SendMessageBatchRequestEntryTypeDef:
    # As enqueue sends one: FIFO, one member's (or conversation's) jobs in order, and a repeat
    # of a delivery within five minutes dropped by its key.
    return {
        "Id": str(index),
        "MessageBody": job.to_json(),
        "MessageGroupId": job.group,
        "MessageDeduplicationId": job.key,
    }


@cache
def job_queue() -> SqsJobQueue:
    """The job queue named by JOB_QUEUE_URL, one per process (every function that enqueues)."""
    queue_url = aws_settings().job_queue_url
    if not queue_url:
        raise ConfigurationError("JOB_QUEUE_URL is not set")
    return SqsJobQueue(queue_url)
