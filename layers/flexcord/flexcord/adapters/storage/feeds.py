"""Followed feeds and their seen entries in DynamoDB (implements flexcord.feeds.subscription's
FeedRepository and SeenEntries).

A feed is one item in its server's partition (``FEEDS#<server>``, sort key the feed id), with its
settings and its poll state as JSON documents beside ``next_poll_at``. While it is not paused it
carries ``gsi2pk = FEEDS_DUE`` and ``gsi2sk = <next poll:012>#<server>#<id>``: the scheduler's "which
feeds are due" is one Query on gsi2. A poll writes the state only if ``next_poll_at`` is still
the slot it was queued for (a conditional UpdateItem), so a duplicate poll writes nothing.

Seen entries are one small item each (``FEEDSEEN#<feed id>``, sort key the entry's digest),
read with BatchGetItem and written with BatchWriteItem, kept 400 days by the table's TTL: an
entry still in a feed after that is rare, and would be posted again at worst.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from flexcord.adapters.storage import keys
from flexcord.adapters.storage.case_repository import StorageError
from flexcord.adapters.storage.dynamodb import CONDITION_FAILED, due_items, error_code, partition_items
from flexcord.feeds.policy import FeedHealth
from flexcord.feeds.subscription import FeedSubscription

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SEEN_LIFETIME_SECONDS = 400 * 24 * 3600
_SETTINGS = (
    "url",
    "channel_id",
    "added_by",
    "template",
    "include",
    "exclude",
    "role_id",
    "review_first",
    "backfill",
    "interval_seconds",
)
_STATE = ("title", "etag", "last_modified", "baselined", "day", "posts_today")
#: DynamoDB's batch sizes.
_BATCH_GET, _BATCH_WRITE = 100, 25


class DynamoFeedRepository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, feed: FeedSubscription) -> FeedSubscription:
        item = {
            **keys.feed_key(feed.server, feed.feed_id),
            "settings": {"S": _json({name: getattr(feed, name) for name in _SETTINGS})},
            **_state_attributes(feed),
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not add the feed") from error
            stored = self.get(feed.server, feed.feed_id)
            return stored if stored is not None else feed
        return feed

    def get(self, server: str, feed_id: str) -> FeedSubscription | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key=keys.feed_key(server, feed_id), ConsistentRead=True
            ).get("Item")
        except ClientError as error:
            raise StorageError("could not read the feed") from error
        return _from_item(item) if item else None

    def of_server(self, server: str) -> list[FeedSubscription]:
        try:
            items = partition_items(self._client, self._table, keys.feeds_partition(server))
        except ClientError as error:
            raise StorageError("could not list the feeds") from error
        return [_from_item(item) for item in items]

    def remove(self, server: str, feed_id: str) -> bool:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=keys.feed_key(server, feed_id),
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) == CONDITION_FAILED:
                return False
            raise StorageError("could not remove the feed") from error
        return True

    def due(self, now: int, *, limit: int) -> list[FeedSubscription]:
        try:
            items = due_items(
                self._client,
                self._table,
                index=keys.STATUS_INDEX,
                partition=keys.FEEDS_DUE_PARTITION,
                now=now,
                limit=limit,
            )
        except ClientError as error:
            raise StorageError("could not read the due feeds") from error
        return [_from_item(item) for item in items]

    def record_poll(self, feed: FeedSubscription, *, slot: int) -> bool:
        return self._write_state(feed, condition="next_poll_at = :slot", values={":slot": {"N": str(slot)}})

    def resume(self, server: str, feed_id: str, *, now: int) -> FeedSubscription | None:
        feed = self.get(server, feed_id)
        if feed is None:
            return None
        resumed = replace(feed, health=FeedHealth(), next_poll_at=now)
        if not self._write_state(resumed, condition="attribute_exists(pk)", values={}):
            return None
        return resumed

    def _write_state(self, feed: FeedSubscription, *, condition: str, values: dict[str, Any]) -> bool:
        state = _state_attributes(feed)
        names = {"#state": "state", "#next": "next_poll_at"}
        assignments = ["#state = :state", "#next = :next"]
        attribute_values = {":state": state["state"], ":next": state["next_poll_at"], **values}
        if "gsi2pk" in state:
            assignments += ["gsi2pk = :due", "gsi2sk = :when"]
            attribute_values |= {":due": state["gsi2pk"], ":when": state["gsi2sk"]}
            update = "SET " + ", ".join(assignments)
        else:  # paused: no longer due until resumed
            update = "SET " + ", ".join(assignments) + " REMOVE gsi2pk, gsi2sk"
        try:
            self._client.update_item(
                TableName=self._table,
                Key=keys.feed_key(feed.server, feed.feed_id),
                UpdateExpression=update,
                ConditionExpression=condition.replace("next_poll_at", "#next"),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attribute_values,
            )
        except ClientError as error:
            if error_code(error) == CONDITION_FAILED:
                return False
            raise StorageError("could not record the feed's poll") from error
        return True


class DynamoSeenEntries:
    def __init__(self, client: DynamoDBClient, table_name: str, *, clock: Any = None) -> None:
        import time

        self._client = client
        self._table = table_name
        self._clock = clock or time.time

    def seen_among(self, feed_id: str, digests: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(digests))
        seen: set[str] = set()
        for start in range(0, len(wanted), _BATCH_GET):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [
                        keys.feed_seen_key(feed_id, digest) for digest in wanted[start : start + _BATCH_GET]
                    ],
                    "ProjectionExpression": "sk",
                    "ConsistentRead": True,
                }
            }
            try:
                while request:
                    answer = self._client.batch_get_item(RequestItems=request)
                    seen.update(item["sk"]["S"] for item in answer.get("Responses", {}).get(self._table, []))
                    request = dict(answer.get("UnprocessedKeys") or {})
            except ClientError as error:
                raise StorageError("could not read the feed's seen entries") from error
        return seen

    def mark_seen(self, feed_id: str, digests: Iterable[str]) -> None:
        expires_at = str(int(self._clock()) + SEEN_LIFETIME_SECONDS)
        unique = list(dict.fromkeys(digests))
        for start in range(0, len(unique), _BATCH_WRITE):
            request: dict[str, Any] = {
                self._table: [
                    {
                        "PutRequest": {
                            "Item": {**keys.feed_seen_key(feed_id, digest), "expires_at": {"N": expires_at}}
                        }
                    }
                    for digest in unique[start : start + _BATCH_WRITE]
                ]
            }
            try:
                while request:
                    answer = self._client.batch_write_item(RequestItems=request)
                    request = dict(answer.get("UnprocessedItems") or {})
            except ClientError as error:
                raise StorageError("could not record the feed's seen entries") from error


def _state_attributes(feed: FeedSubscription) -> dict[str, Any]:
    state = {name: getattr(feed, name) for name in _STATE} | {"health": asdict(feed.health)}
    attributes: dict[str, Any] = {
        "state": {"S": _json(state)},
        "next_poll_at": {"N": str(feed.next_poll_at)},
    }
    if not feed.health.paused:
        attributes["gsi2pk"] = {"S": keys.FEEDS_DUE_PARTITION}
        attributes["gsi2sk"] = {"S": keys.feed_due_sort(feed.next_poll_at, feed.server, feed.feed_id)}
    return attributes


def _from_item(item: dict[str, Any]) -> FeedSubscription:
    settings = json.loads(item["settings"]["S"])
    state = json.loads(item["state"]["S"])
    server = item["pk"]["S"].removeprefix(keys.feeds_partition(""))
    return FeedSubscription(
        feed_id=item["sk"]["S"],
        server=server,
        url=str(settings["url"]),
        channel_id=str(settings["channel_id"]),
        added_by=str(settings["added_by"]),
        template=str(settings["template"]),
        include=tuple(settings.get("include") or ()),
        exclude=tuple(settings.get("exclude") or ()),
        role_id=settings.get("role_id"),
        review_first=bool(settings.get("review_first")),
        backfill=int(settings.get("backfill") or 0),
        interval_seconds=int(settings["interval_seconds"]),
        title=str(state.get("title") or ""),
        etag=state.get("etag"),
        last_modified=state.get("last_modified"),
        next_poll_at=int(item["next_poll_at"]["N"]),
        baselined=bool(state.get("baselined")),
        health=FeedHealth(**state.get("health", {})),
        day=str(state.get("day") or ""),
        posts_today=int(state.get("posts_today") or 0),
    )


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))
