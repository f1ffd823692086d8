"""A member's attempts per minute, counted in DynamoDB (implements
flexcord.interactions.access.MemberRateLimiter).

One UpdateItem per attempt: ``ADD hits :1`` on the member's counter for the current minute
returns the new count, so concurrent attempts (one Lambda each) are counted exactly, without a
read first. Fixed one-minute windows: simple and one item per member per minute, at the price of
letting up to twice the limit through across a window's edge, which is enough to protect the
queue. Counters expire through the table's TTL a minute after their window.

If DynamoDB cannot be reached the attempt is let through (fail open) and logged: the limit
protects the queue from a flood, and refusing every member while DynamoDB is unavailable would
turn a storage outage into a support outage; the API's own throttling still bounds the flood.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from flexcord.adapters.storage import keys
from flexcord.interactions.access import (
    WINDOW_SECONDS,
    RateDecision,
    epoch_minute,
    seconds_left_in_window,
)
from flexcord.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: The endpoint must answer Discord within 3 s, cold start and enqueue included: one bounded
#: call (a retry's backoff alone could take seconds), then the attempt is let through.
CONNECT_TIMEOUT_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 0.5
MAX_ATTEMPTS = 1


class DynamoMemberRateLimiter:
    def __init__(
        self,
        *,
        table_name: str,
        limit_per_minute: int,
        client: Callable[[], DynamoDBClient] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._limit = limit_per_minute
        self._client_factory = client or _fast_client
        self._clock = clock

    @cached_property
    def _client(self) -> DynamoDBClient:
        # Created on the first attempt, not at import: boto3 costs ~250 ms to load, and only
        # interactions that enqueue (which load it anyway) are counted.
        return self._client_factory()

    def attempt(self, user_id: str) -> RateDecision:
        from botocore.exceptions import BotoCoreError, ClientError

        now = self._clock()
        minute = epoch_minute(now)
        try:
            hits = self._count(user_id, minute)
        except (BotoCoreError, ClientError):
            logger.warning("rate limit not checked: DynamoDB unavailable", exc_info=True)
            return RateDecision(allowed=True)
        if hits <= self._limit:
            return RateDecision(allowed=True)
        return RateDecision(allowed=False, retry_after_seconds=seconds_left_in_window(now))

    def _count(self, user_id: str, minute: int) -> int:
        response = self._client.update_item(
            TableName=self._table,
            Key=keys.rate_limit_key(user_id, minute),
            UpdateExpression="ADD hits :one SET expires_at = if_not_exists(expires_at, :expires)",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":expires": {"N": str((minute + 2) * WINDOW_SECONDS)},
            },
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["hits"]["N"])


def _fast_client() -> DynamoDBClient:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        config=Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        ),
    )
