"""Feeds the worker Lambda-shaped SQS batches, as the SQS event source mapping does: receive up
to ten messages, invoke the handler, delete what succeeded, leave the reported failures."""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

import boto3

from devstack.lambda_runtime import Handler, LocalLambdaContext

log = logging.getLogger("devstack.poller")


class SqsPoller:
    def __init__(
        self,
        *,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        function_name: str,
        timeout_seconds: int,
        retry_delay_seconds: int = 1,
        batch_size: int = 10,
    ) -> None:
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
        self._sqs = boto3.client("sqs")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqs-poller", daemon=True)
        self.batches_delivered = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def poll_once(self, wait_seconds: int = 1) -> int:
        """Receive one batch and run it through the handler; returns how many messages came."""
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._record(dict(message)) for message in messages]}
        context = LocalLambdaContext(function_name=self._function_name, timeout_seconds=self._timeout_seconds)
        try:
            result = self._handler(event, context)
            failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
        except Exception:
            log.exception("worker invocation failed; the whole batch will be retried")
            failed = {message["MessageId"] for message in messages}
        self.batches_delivered += 1
        for message in messages:
            if message["MessageId"] in failed:
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self._retry_delay_seconds,
                )
            else:
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

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
