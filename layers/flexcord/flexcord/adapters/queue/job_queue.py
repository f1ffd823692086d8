"""Sends jobs to the SQS FIFO queue the worker consumes."""

from __future__ import annotations

from functools import cache, cached_property
from typing import TYPE_CHECKING, Protocol

from flexcord.config import ConfigurationError, aws_settings
from flexcord.jobs.model import Job

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


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

    def retry_after(self, receipt_handle: str, seconds: int) -> None:
        """Make a failed message visible again after ``seconds`` instead of the queue's whole
        visibility timeout (sized for the worst-case batch, minutes), so a member waits less."""
        self._client.change_message_visibility(
            QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )


@cache
def job_queue() -> SqsJobQueue:
    """The job queue named by JOB_QUEUE_URL, one per process (every function that enqueues)."""
    queue_url = aws_settings().job_queue_url
    if not queue_url:
        raise ConfigurationError("JOB_QUEUE_URL is not set")
    return SqsJobQueue(queue_url)
