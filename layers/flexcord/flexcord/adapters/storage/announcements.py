"""Posted announcements in DynamoDB (implements flexcord.announcements.model.AnnouncementLog).

One item per announcement (``ANNOUNCEMENT#<announcement id>``), kept: it is what stops a job
retried after its post (even after Discord's nonce window) from posting again. The post is one
conditional PutItem (the first writer wins); the publication outcome is an UpdateItem.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from flexcord.adapters.storage import keys
from flexcord.adapters.storage.case_repository import StorageError
from flexcord.adapters.storage.dynamodb import CONDITION_FAILED, due_items, error_code, partition_items
from flexcord.announcements.model import (
    AnnouncementDraft,
    CancelOutcome,
    PostedAnnouncement,
    Publication,
    ScheduledAnnouncement,
    ScheduleState,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoAnnouncementLog:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def posted(self, announcement_id: str) -> PostedAnnouncement | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key=keys.announcement_key(announcement_id), ConsistentRead=True
            ).get("Item")
        except ClientError as error:
            raise StorageError("could not read the announcement") from error
        return _from_item(announcement_id, item) if item else None

    def record_post(self, posted: PostedAnnouncement) -> PostedAnnouncement:
        item: dict[str, Any] = {
            **keys.announcement_key(posted.announcement_id),
            "server": {"S": posted.server},
            "channel_id": {"S": posted.channel_id},
            "message_id": {"S": posted.message_id},
            "publication": {"S": posted.publication.value},
            "note": {"S": posted.note},
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not record the announcement") from error
            stored = self.posted(posted.announcement_id)
            if stored is None:
                raise StorageError("the announcement was recorded and is gone") from error
            return stored
        return posted

    def record_publication(self, announcement_id: str, publication: Publication, note: str = "") -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=keys.announcement_key(announcement_id),
                UpdateExpression="SET publication = :publication, note = :note",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":publication": {"S": publication.value}, ":note": {"S": note}},
            )
        except ClientError as error:
            raise StorageError("could not record the announcement's publication") from error


def _from_item(announcement_id: str, item: dict[str, Any]) -> PostedAnnouncement:
    return PostedAnnouncement(
        announcement_id=announcement_id,
        server=item["server"]["S"],
        channel_id=item["channel_id"]["S"],
        message_id=item["message_id"]["S"],
        publication=Publication(item["publication"]["S"]),
        note=item.get("note", {}).get("S", ""),
    )


class DynamoAnnouncementDrafts:
    """/announce drafts (``ANNOUNCEDRAFT#<submit id>``), gone after a day by the table's TTL;
    readers also compare ``expires_at`` with their clock. Post is one conditional UpdateItem."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def keep(self, draft: AnnouncementDraft) -> AnnouncementDraft:
        item: dict[str, Any] = {
            **keys.announcement_draft_key(draft.draft_id),
            "draft": {"S": json.dumps(_draft_fields(draft), separators=(",", ":"))},
            "expires_at": {"N": str(draft.expires_at)},
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not keep the announcement draft") from error
            stored = self.get(draft.draft_id)
            if stored is None:
                raise StorageError("the announcement draft was kept and is gone") from error
            return stored
        return draft

    def get(self, draft_id: str) -> AnnouncementDraft | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key=keys.announcement_draft_key(draft_id), ConsistentRead=True
            ).get("Item")
        except ClientError as error:
            raise StorageError("could not read the announcement draft") from error
        return _draft_from_item(draft_id, item) if item else None

    def claim(self, draft_id: str, *, press_id: str) -> AnnouncementDraft | None:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=keys.announcement_draft_key(draft_id),
                UpdateExpression="SET used_by = :press",
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(used_by) OR used_by = :press)"
                ),
                ExpressionAttributeValues={":press": {"S": press_id}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not use the announcement draft") from error
            return self.get(draft_id)  # used by another press already, or gone
        return _draft_from_item(draft_id, response["Attributes"])

    def release(self, draft_id: str, *, press_id: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=keys.announcement_draft_key(draft_id),
                UpdateExpression="REMOVE used_by",
                ConditionExpression="used_by = :press",
                ExpressionAttributeValues={":press": {"S": press_id}},
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not release the announcement draft") from error

    def drop(self, draft_id: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=keys.announcement_draft_key(draft_id))
        except ClientError as error:
            raise StorageError("could not drop the announcement draft") from error


def _draft_fields(draft: AnnouncementDraft) -> dict[str, Any]:
    return {
        "server": draft.server,
        "author_id": draft.author_id,
        "title": draft.title,
        "text": draft.text,
        "image_url": draft.image_url,
        "role_id": draft.role_id,
        "post_at": draft.post_at,
    }


def _draft_from_item(draft_id: str, item: dict[str, Any]) -> AnnouncementDraft:
    fields = json.loads(item["draft"]["S"])
    return AnnouncementDraft(
        draft_id=draft_id,
        server=str(fields["server"]),
        author_id=str(fields["author_id"]),
        title=str(fields["title"]),
        text=str(fields["text"]),
        image_url=fields.get("image_url"),
        role_id=fields.get("role_id"),
        expires_at=int(item["expires_at"]["N"]),
        used_by=item.get("used_by", {}).get("S"),
        post_at=int(fields["post_at"]) if fields.get("post_at") else None,
    )


class DynamoScheduledAnnouncements:
    """Scheduled announcements (implements ScheduledAnnouncements): one item per announcement in
    its server's partition, indexed by time on gsi2 for the scheduler. Cancel and the poster's
    start are conditional on the state, so an announcement is either cancelled or posted."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def schedule(self, scheduled: ScheduledAnnouncement) -> ScheduledAnnouncement:
        item: dict[str, Any] = {
            **keys.scheduled_announcement_key(scheduled.server, scheduled.announcement_id),
            "gsi2pk": {"S": keys.SCHEDULED_ANNOUNCEMENTS_PARTITION},
            "gsi2sk": {
                "S": keys.scheduled_announcement_sort(
                    scheduled.post_at, scheduled.server, scheduled.announcement_id
                )
            },
            "server": {"S": scheduled.server},
            "author_id": {"S": scheduled.author_id},
            "post_at": {"N": str(scheduled.post_at)},
            "title": {"S": scheduled.title},
            "job_payload": {"S": json.dumps(scheduled.job_payload, separators=(",", ":"))},
            "state": {"S": scheduled.state.value},
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not schedule the announcement") from error
            stored = self.get(scheduled.server, scheduled.announcement_id)
            return stored if stored is not None else scheduled
        return scheduled

    def get(self, server: str, announcement_id: str) -> ScheduledAnnouncement | None:
        try:
            item = self._client.get_item(
                TableName=self._table,
                Key=keys.scheduled_announcement_key(server, announcement_id),
                ConsistentRead=True,
            ).get("Item")
        except ClientError as error:
            raise StorageError("could not read the scheduled announcement") from error
        return _scheduled_from_item(item) if item else None

    def of_server(self, server: str) -> list[ScheduledAnnouncement]:
        try:
            items = partition_items(self._client, self._table, keys.scheduled_announcements_partition(server))
        except ClientError as error:
            raise StorageError("could not list the scheduled announcements") from error
        return sorted((_scheduled_from_item(item) for item in items), key=lambda s: s.post_at)

    def due(self, now: int, *, limit: int) -> list[ScheduledAnnouncement]:
        try:
            items = due_items(
                self._client,
                self._table,
                index=keys.STATUS_INDEX,
                partition=keys.SCHEDULED_ANNOUNCEMENTS_PARTITION,
                now=now,
                limit=limit,
            )
        except ClientError as error:
            raise StorageError("could not read the due announcements") from error
        return [_scheduled_from_item(item) for item in items]

    def start_posting(self, server: str, announcement_id: str) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=keys.scheduled_announcement_key(server, announcement_id),
                UpdateExpression="SET #state = :posting",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":posting": {"S": ScheduleState.POSTING.value}},
            )
        except ClientError as error:
            if error_code(error) == CONDITION_FAILED:
                return False
            raise StorageError("could not start posting the scheduled announcement") from error
        return True

    def cancel(self, server: str, announcement_id: str) -> CancelOutcome:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=keys.scheduled_announcement_key(server, announcement_id),
                ConditionExpression="#state = :scheduled",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":scheduled": {"S": ScheduleState.SCHEDULED.value}},
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not cancel the scheduled announcement") from error
            stored = self.get(server, announcement_id)
            return CancelOutcome.UNKNOWN if stored is None else CancelOutcome.TOO_LATE
        return CancelOutcome.CANCELLED

    def remove(self, server: str, announcement_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table, Key=keys.scheduled_announcement_key(server, announcement_id)
            )
        except ClientError as error:
            raise StorageError("could not remove the posted scheduled announcement") from error


def _scheduled_from_item(item: dict[str, Any]) -> ScheduledAnnouncement:
    return ScheduledAnnouncement(
        announcement_id=item["sk"]["S"],
        server=item["server"]["S"],
        author_id=item["author_id"]["S"],
        post_at=int(item["post_at"]["N"]),
        title=item["title"]["S"],
        job_payload=json.loads(item["job_payload"]["S"]),
        state=ScheduleState(item["state"]["S"]),
    )
