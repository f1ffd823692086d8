"""Announcement reviews in DynamoDB (implements flexcord.announcements.review.AnnouncementReviews).

One item per announcement (``REVIEW#<announcement id>`` / ``REVIEW``), kept like the posted
announcement's record: it is what tells a press on an old review message who decided it.

Every write is one conditional request, so concurrent presses and retried jobs cannot both win:
the submission is a PutItem that fails when a review exists (the first wins); the decision an
UpdateItem conditional on the review being pending, or decided by the same press (a retried
deciding job); an edit an UpdateItem conditional on pending. The title and text are attributes of
their own, not part of the stored payload, so an edit replaces them in one UpdateItem without
reading the payload first.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from flexcord.adapters.storage import keys
from flexcord.adapters.storage.case_repository import StorageError
from flexcord.adapters.storage.dynamodb import CONDITION_FAILED, error_code
from flexcord.announcements.review import AnnouncementReview, ReviewState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: The payload fields kept as attributes of their own (Edit replaces them).
_EDITABLE = ("title", "text")


class DynamoAnnouncementReviews:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def submit(self, review: AnnouncementReview) -> AnnouncementReview:
        rest = {name: value for name, value in review.job_payload.items() if name not in _EDITABLE}
        item: dict[str, Any] = {
            **keys.review_key(review.announcement_id),
            "server": {"S": review.server},
            "job_payload": {"S": json.dumps(rest, separators=(",", ":"))},
            "title": {"S": review.title},
            "text": {"S": review.text},
            "state": {"S": review.state.value},
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not store the announcement review") from error
            stored = self.get(review.announcement_id)
            if stored is None:
                raise StorageError("the announcement review was stored and is gone") from error
            return stored
        return review

    def get(self, announcement_id: str) -> AnnouncementReview | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key=keys.review_key(announcement_id), ConsistentRead=True
            ).get("Item")
        except ClientError as error:
            raise StorageError("could not read the announcement review") from error
        return _from_item(announcement_id, item) if item else None

    def set_message(self, announcement_id: str, channel_id: str, message_id: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=keys.review_key(announcement_id),
                UpdateExpression="SET channel_id = :channel, message_id = :message",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":channel": {"S": channel_id}, ":message": {"S": message_id}},
            )
        except ClientError as error:
            raise StorageError("could not record the review message") from error

    def decide(
        self, announcement_id: str, state: ReviewState, *, by: str, press: str
    ) -> AnnouncementReview | None:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=keys.review_key(announcement_id),
                UpdateExpression="SET #state = :state, decided_by = :by, decided_press = :press",
                ConditionExpression="attribute_exists(pk) AND (#state = :pending OR decided_press = :press)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":state": {"S": state.value},
                    ":by": {"S": by},
                    ":press": {"S": press},
                    ":pending": {"S": ReviewState.PENDING.value},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not record the review's decision") from error
            return self.get(announcement_id)  # decided by another press, or gone
        return _from_item(announcement_id, response["Attributes"])

    def release(self, announcement_id: str, *, press: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=keys.review_key(announcement_id),
                UpdateExpression="SET #state = :pending REMOVE decided_by, decided_press",
                ConditionExpression="decided_press = :press",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":pending": {"S": ReviewState.PENDING.value},
                    ":press": {"S": press},
                },
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not reopen the announcement review") from error

    def edit(self, announcement_id: str, *, title: str, text: str, by: str) -> AnnouncementReview | None:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=keys.review_key(announcement_id),
                UpdateExpression="SET title = :title, #text = :text, edited_by = :by",
                ConditionExpression="#state = :pending",
                ExpressionAttributeNames={"#state": "state", "#text": "text"},
                ExpressionAttributeValues={
                    ":title": {"S": title},
                    ":text": {"S": text},
                    ":by": {"S": by},
                    ":pending": {"S": ReviewState.PENDING.value},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not edit the announcement review") from error
            return None  # decided meanwhile, or no such review
        return _from_item(announcement_id, response["Attributes"])


def _from_item(announcement_id: str, item: dict[str, Any]) -> AnnouncementReview:
    payload = json.loads(item["job_payload"]["S"])
    payload.update({name: item[name]["S"] for name in _EDITABLE})
    return AnnouncementReview(
        announcement_id=announcement_id,
        server=item["server"]["S"],
        job_payload=payload,
        state=ReviewState(item["state"]["S"]),
        channel_id=_optional(item, "channel_id"),
        message_id=_optional(item, "message_id"),
        decided_by=_optional(item, "decided_by"),
        decided_press=_optional(item, "decided_press"),
        edited_by=_optional(item, "edited_by"),
    )


def _optional(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name, {}).get("S")
    return str(value) if value is not None else None
