"""The DynamoDB rate limiter against moto on loopback, on the table built from template.yaml: one
UpdateItem per attempt, a fixed one-minute window, TTL set, and open when DynamoDB is down."""

from __future__ import annotations

import boto3
import pytest

from devstack.aws_resources import LocalResources
from flexcord.adapters.storage import keys
from flexcord.adapters.storage.rate_limit import DynamoMemberRateLimiter
from tests.support.clock import FixedClock

MINUTE_START = 1_790_000_040  # a window starts here (divisible by 60)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MINUTE_START + 15)


@pytest.fixture
def limiter(aws: LocalResources, clock: FixedClock) -> DynamoMemberRateLimiter:
    return DynamoMemberRateLimiter(table_name=aws.table_name, limit_per_minute=6, clock=clock)


def test_six_attempts_a_minute_go_the_seventh_waits_for_the_next_window(
    limiter: DynamoMemberRateLimiter, clock: FixedClock
) -> None:
    decisions = [limiter.attempt("111") for _ in range(7)]
    assert [d.allowed for d in decisions] == [True] * 6 + [False]
    assert decisions[-1].retry_after_seconds == 45
    assert limiter.attempt("222").allowed  # another member has their own budget
    clock.now = MINUTE_START + 60
    assert limiter.attempt("111").allowed


def test_the_counter_is_one_item_per_member_and_minute_with_a_ttl(
    aws: LocalResources, limiter: DynamoMemberRateLimiter
) -> None:
    for _ in range(3):
        limiter.attempt("111")
    minute = MINUTE_START // 60
    item = boto3.client("dynamodb").get_item(
        TableName=aws.table_name, Key=keys.rate_limit_key("111", minute)
    )["Item"]
    assert item["pk"] == {"S": "RATE#111"}
    assert item["sk"] == {"S": str(minute)}
    assert item["hits"] == {"N": "3"}
    # The table's TTL attribute, a minute after the window closes.
    assert item["expires_at"] == {"N": str(MINUTE_START + 120)}


def test_when_dynamodb_is_unreachable_the_attempt_goes_through(
    aws: LocalResources, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    limiter = DynamoMemberRateLimiter(table_name=aws.table_name, limit_per_minute=1, clock=clock)
    assert [limiter.attempt("111").allowed for _ in range(3)] == [True, True, True]


def test_a_missing_table_fails_open_too(aws: LocalResources, clock: FixedClock) -> None:
    limiter = DynamoMemberRateLimiter(table_name="no-such-table", limit_per_minute=1, clock=clock)
    assert limiter.attempt("111").allowed
