"""Feeds the worker Lambda-shaped SQS batches, as the SQS event source mapping does: receive up
to ten messages, invoke the handler, delete what succeeded, leave the reported failures.

For chaos runs it can also stand in for what goes wrong around a Lambda consumer (``PollerFaults``):
an invocation that dies part-way through its batch (the records before the crash ran, the result
is lost, and the whole batch comes back), a message whose visibility runs out while its first
delivery is still running (so another poller thread receives it again), and a delete that never
happens (the finished message is delivered again later). Several threads (``concurrency``) play
concurrent invocations; SQS FIFO still hands out one member's jobs one batch at a time."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import UserDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from devstack.lambda_runtime import Handler, LocalLambdaContext

log = logging.getLogger("devstack.poller")

Message = dict[str, Any]  # one message as ReceiveMessage returns it (attributes included)


class PollerFaults(Protocol):
    """What goes wrong around the worker, decided message by message (e.g. seeded chaos)."""

    def crash_after(self, messages: list[Message]) -> int | None:
        """Die after this many of the batch's records (``None``: no crash)."""
        ...

    def expire_visibility(self, message: Message) -> bool:
        """The message's visibility runs out right away, while this delivery still runs it."""
        ...

    def lose_delete(self, message: Message) -> bool:
        """The delete of this finished message is lost: SQS delivers it again later."""
        ...


@dataclass
class PollerStats:
    """What the poller saw and did (thread-safe counters)."""

    batches: int = 0
    received: int = 0
    #: Deliveries of a message already received before (ApproximateReceiveCount > 1).
    redelivered: int = 0
    reported_failures: int = 0
    crashes: int = 0
    expired_visibilities: int = 0
    lost_deletes: int = 0
    #: Deletes and visibility changes refused (e.g. a receipt handle gone stale).
    refused_receipts: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {name: value for name, value in vars(self).items() if not name.startswith("_")}


class SqsPoller:
    def __init__(
        self,
        *,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        function_name: str,
        timeout_seconds: int,
        retry_delay_seconds: int | None = 1,
        batch_size: int = 10,
        concurrency: int = 1,
        retry_delay: Callable[[Message], int] | None = None,
        faults: PollerFaults | None = None,
        crash_visibility_seconds: int | None = None,
    ) -> None:
        """``retry_delay`` decides when each failed message comes back (default: after
        ``retry_delay_seconds``; None leaves it as the function set it, as Lambda does); a
        crashed batch comes back after ``crash_visibility_seconds`` (default: the same).
        ``concurrency`` threads poll side by side."""
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._handler = handler
        self._function_name = function_name
        self._timeout_seconds = timeout_seconds
        # Lambda leaves a failed message invisible for the queue's whole visibility timeout
        # (minutes). Locally a failure becomes visible again after this short delay, so retries
        # and dead-lettering can be watched in seconds.
        self._retry_delay_seconds = retry_delay_seconds
        self._batch_size = batch_size
        self._retry_delay = retry_delay
        self._faults = faults
        self._crash_visibility_seconds = crash_visibility_seconds
        self._sqs = boto3.client("sqs")
        self._stop = threading.Event()
        self._concurrency = max(1, concurrency)
        self._threads = [
            threading.Thread(target=self._run, name=f"sqs-poller-{index}", daemon=True)
            for index in range(self._concurrency)
        ]
        self._thread = self._threads[0]
        self.batches_delivered = 0
        self.stats = PollerStats()

    def start(self) -> None:
        if self._concurrency > 1:
            isolate_metrics_per_thread()
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        if self._concurrency > 1:
            share_metrics_again()

    def poll_once(self, wait_seconds: int = 1) -> int:
        """Receive one batch and run it through the handler; returns how many messages came."""
        messages = self._receive(wait_seconds)
        if not messages:
            return 0
        self.stats.add(
            batches=1,
            received=len(messages),
            redelivered=sum(_receive_count(message) > 1 for message in messages),
        )
        faults = self._faults
        # Messages whose visibility ran out while this delivery holds them: no longer in flight,
        # so (as in SQS, which answers MessageNotInflight) their visibility cannot be changed.
        expired: set[str] = set()
        if faults is not None:
            for message in messages:
                if faults.expire_visibility(message):
                    self.stats.add(expired_visibilities=1)
                    self._set_visibility(message, 0)
                    expired.add(message["MessageId"])
        records = [self._record(message) for message in messages]
        context = LocalLambdaContext(function_name=self._function_name, timeout_seconds=self._timeout_seconds)
        crash_after = faults.crash_after(messages) if faults is not None else None
        if crash_after is not None:
            self._crash(messages, records[:crash_after], context, expired)
            return len(messages)
        try:
            result = self._handler({"Records": records}, context)
            failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
        except BatchProcessingError as every_record:
            # Every record failed (Powertools then fails the invocation), each already logged by
            # the worker: one line here, not their tracebacks again.
            log.warning(
                "worker invocation failed: all %d records failed; the whole batch will be retried",
                len(every_record.child_exceptions),
            )
            failed = {message["MessageId"] for message in messages}
        except Exception:
            log.exception("worker invocation failed; the whole batch will be retried")
            failed = {message["MessageId"] for message in messages}
        self.batches_delivered += 1
        self.stats.add(reported_failures=len(failed))
        for message in messages:
            if message["MessageId"] in failed:
                delay = self._retry_delay(message) if self._retry_delay else self._retry_delay_seconds
                self._set_visibility(message, delay, in_flight=message["MessageId"] not in expired)
            elif faults is not None and faults.lose_delete(message):
                self.stats.add(lost_deletes=1)
                self._set_visibility(
                    message, self._retry_delay_seconds, in_flight=message["MessageId"] not in expired
                )
            else:
                self._delete(message)
        return len(messages)

    def _receive(self, wait_seconds: int) -> list[Message]:
        # Several threads receive at once: devstack.moto_server makes moto's FIFO receive atomic.
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return [dict(message) for message in response.get("Messages", [])]

    def _crash(
        self, messages: list[Message], done: list[dict[str, Any]], context: Any, expired: set[str]
    ) -> None:
        """The invocation dies once ``done`` has run: what it did stays done, its answer is lost,
        and SQS hands the whole batch out again when the visibility timeout runs out."""
        log.warning("simulated worker crash after %d of %d records", len(done), len(messages))
        self.stats.add(crashes=1)
        if done:
            try:
                self._handler({"Records": done}, context)
            except Exception:
                log.exception("worker invocation failed before the simulated crash")
        self.batches_delivered += 1
        delay = self._crash_visibility_seconds
        for message in messages:
            self._set_visibility(
                message,
                self._retry_delay_seconds if delay is None else delay,
                in_flight=message["MessageId"] not in expired,
            )

    def _set_visibility(self, message: Message, seconds: int | None, *, in_flight: bool = True) -> None:
        if seconds is None:
            return  # left to the queue's visibility timeout, or to what the function set
        if not in_flight:
            # moto would change it, and keep it out of its FIFO group's in-flight set, so a later
            # job of the member could overtake it; SQS refuses (MessageNotInflight).
            self.stats.add(refused_receipts=1)
            return
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=seconds
            )
        except ClientError as error:
            # E.g. another delivery of the message finished and deleted it meanwhile.
            self.stats.add(refused_receipts=1)
            log.info("visibility change refused: %s", error)

    def _delete(self, message: Message) -> None:
        try:
            self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        except ClientError as error:
            self.stats.add(refused_receipts=1)
            log.info("delete refused: %s", error)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("polling failed")
                self._stop.wait(1)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._sqs.meta.region_name,
        }


def _receive_count(message: Message) -> int:
    return int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))


class _PerThreadDict(UserDict[str, Any]):
    """A dict of which each thread sees its own copy (starting from ``initial``)."""

    def __init__(self, initial: dict[str, Any]) -> None:
        self._initial = dict(initial)
        self._local = threading.local()
        super().__init__()
        self._local = threading.local()  # UserDict's __init__ set this thread's copy to {}

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] | None = getattr(self._local, "data", None)
        if data is None:
            data = self._local.data = dict(self._initial)
        return data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._local.data = value


def isolate_metrics_per_thread() -> None:
    """Give each thread its own Powertools metric set and logger keys: concurrent invocations in
    one process would otherwise share them (Lambda runs each in its own environment): one flushing
    metrics while another adds raises "dictionary changed size during iteration", and one job's
    ``job_key`` lands on another's log lines."""
    from flexcord.observability import logger, metrics

    logger.append_keys = logger.thread_safe_append_keys  # type: ignore[method-assign]
    logger.remove_keys = logger.thread_safe_remove_keys  # type: ignore[method-assign]

    for name in _METRIC_SETS:
        current = getattr(metrics.provider, name)
        if isinstance(current, _PerThreadDict):
            continue
        per_thread = _PerThreadDict(dict(current))
        setattr(metrics.provider, name, per_thread)
        setattr(metrics, name, per_thread)


def share_metrics_again() -> None:
    """Undo :func:`isolate_metrics_per_thread` (this thread's sets become the shared ones)."""
    from flexcord.observability import logger, metrics

    for name in ("append_keys", "remove_keys"):
        logger.__dict__.pop(name, None)

    for name in _METRIC_SETS:
        current = getattr(metrics.provider, name)
        if isinstance(current, _PerThreadDict):
            shared = dict(current.data)
            setattr(metrics.provider, name, shared)
            setattr(metrics, name, shared)


_METRIC_SETS = ("metric_set", "dimension_set", "metadata_set")
