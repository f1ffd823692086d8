from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from devstack.twilio_emulator import TwilioEmulator

LOADING = 1 << 7


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Two deliveries before the dead-letter queue keeps the failure tests short; the template's
    # default (5) is what deploys use.
    # The cases tests file many reports as one member within a minute: the per-member rate limit
    # is off here (tests/e2e/test_hostile_members.py runs it at the template's default).
    with LocalStack(parameters={"JobMaxReceiveCount": 2, "MemberRateLimitPerMinute": 0}) as running:
        yield running


@pytest.fixture
def discord(stack: LocalStack) -> Iterator[DiscordEmulator]:
    """The stack's Discord, with no injected fault left over from another test, nor after this one."""
    assert stack.discord is not None
    stack.discord.clear_faults()
    yield stack.discord
    stack.discord.clear_faults()


@pytest.fixture
def twilio(stack: LocalStack) -> Iterator[TwilioEmulator]:
    """The stack's Twilio, with no injected fault left over from another test, nor after this one."""
    assert stack.twilio is not None
    stack.twilio.clear_faults()
    yield stack.twilio
    stack.twilio.clear_faults()


def final_reply(discord: DiscordEmulator, token: str, timeout: float = 20.0) -> dict[str, Any]:
    """The deferred reply once the worker has edited it (no longer "thinking…")."""

    def edited() -> dict[str, Any] | None:
        message = discord.original_response(token)
        return message if message and not message.get("flags", 0) & LOADING else None

    return discord.wait_for(edited, timeout=timeout)


@pytest.fixture
def recorded_metrics(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the metrics the functions add (still emitted as EMF), for assertions that
    must not depend on when a batch's metrics are flushed to stdout."""
    from flexcord.observability import metrics

    names: list[str] = []
    add_metric = metrics.add_metric

    def recording(*args: Any, **kwargs: Any) -> None:
        names.append(str(kwargs.get("name", args[0] if args else "")))
        add_metric(*args, **kwargs)

    monkeypatch.setattr(metrics, "add_metric", recording)
    return names


#: More 500s than the Discord client tries within one delivery of a job: the job fails once.
MORE_THAN_ONE_DELIVERY_TRIES = 4


@contextlib.contextmanager
def refusing_posts(
    discord: DiscordEmulator, containing: bytes, times: int = MORE_THAN_ONE_DELIVERY_TRIES
) -> Iterator[list[str]]:
    """Discord answers 500 to the next ``times`` POSTs whose body contains ``containing``; the
    list yielded collects the paths refused. The refusals stop when the block ends."""
    from devstack.http_server import HttpRequest

    refused: list[str] = []

    def policy(request: HttpRequest) -> Any:
        if request.method == "POST" and containing in request.body and len(refused) < times:
            refused.append(request.path)
            return discord.make_fault(500)
        return None

    discord.set_fault_policy(policy)
    try:
        yield refused
    finally:
        discord.set_fault_policy(None)


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    """The predicate's first truthy value; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def dm_texts(discord: DiscordEmulator, user: str) -> list[str]:
    return [str(message.get("content", "")) for message in discord.messages(discord.dm_channel_id(user))]


def table_item(stack: LocalStack, pk: str, sk: str) -> dict[str, Any] | None:
    """An item of Flexcord's table, as Python values (read consistently)."""
    from boto3.dynamodb.types import TypeDeserializer

    assert stack.resources is not None
    found = boto3.client("dynamodb").get_item(
        TableName=stack.resources.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
    )
    if "Item" not in found:
        return None
    return {key: TypeDeserializer().deserialize(value) for key, value in found["Item"].items()}


def session_item(stack: LocalStack, user_id: str) -> dict[str, Any] | None:
    """A member's open support session."""
    return table_item(stack, f"USER#{user_id}", "SESSION")


def stored_case(stack: LocalStack, number: int, guild_id: str | None = None) -> dict[str, Any]:
    """Case ``#number`` of a server (the emulated server unless named)."""
    assert stack.discord is not None
    case = table_item(stack, f"CASE#{guild_id or stack.discord.guild_id}#{number}", "CASE")
    assert case is not None, f"no case #{number}"
    return case


def queue_is_empty(stack: LocalStack) -> bool:
    """No job waiting or in flight on the job queue."""
    assert stack.resources is not None
    counts = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.resources.job_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(value == "0" for value in counts.values())
