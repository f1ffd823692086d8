"""Cases in DynamoDB (implements flexcord.cases.CaseRepository)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from flexcord.adapters.storage import keys
from flexcord.adapters.storage.dynamodb import CONDITION_FAILED, error_code
from flexcord.cases.model import (
    Assignee,
    Attachment,
    Case,
    CaseDraft,
    CaseEvent,
    CaseKind,
    CaseSection,
    CaseStatus,
    PostedMessage,
    Reporter,
)
from flexcord.cases.repository import VersionConflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class StorageError(RuntimeError):
    """DynamoDB refused or failed a request; the job that needed it should be retried."""


class DynamoCaseRepository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._client = client
        self._table = table_name
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    # -- CaseRepository -------------------------------------------------------------------------

    def create(self, draft: CaseDraft, *, source_id: str, now: str) -> Case:
        existing = self.created_by(source_id)
        if existing is not None:
            return existing
        server = draft.guild_id or "0"
        case = Case.open_from(draft, number=self._next_number(server), now=now, source_id=source_id)
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": self._to_item(case),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **keys.case_source_key(source_id),
                                "case_number": {"N": str(case.number)},
                                "server": {"S": server},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise StorageError(f"could not store case #{case.number}") from error
            # Another delivery of the same interaction won the race; its case is the case. The
            # number drawn here is skipped, which is harmless: numbers are unique, not dense.
            winner = self.created_by(source_id)
            if winner is None:
                raise StorageError("case creation was cancelled and no winner was found") from error
            return winner
        return case

    def get(self, server: str, number: int) -> Case | None:
        response = self._call(
            "get_item", TableName=self._table, Key=keys.case_key(server, number), ConsistentRead=True
        )
        item = response.get("Item")
        return self._from_item(item) if item else None

    def list_by_reporter(self, user_id: str, *, limit: int) -> list[Case]:
        response = self._call(
            "query",
            TableName=self._table,
            IndexName=keys.REPORTER_INDEX,
            # Sort keys start with the creation time; an older version's ("CASE#<n>", from before
            # cases were numbered per server) sort after every date and are left out.
            KeyConditionExpression="gsi1pk = :reporter AND gsi1sk < :legacy",
            ExpressionAttributeValues={
                ":reporter": {"S": keys.reporter_partition(user_id)},
                ":legacy": {"S": keys.LEGACY_REPORTER_SORT_PREFIX},
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        return [self._from_item(item) for item in response.get("Items", [])]

    def list_by_status(self, server: str, status: CaseStatus) -> list[Case]:
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": keys.STATUS_INDEX,
            "KeyConditionExpression": "gsi2pk = :status",
            "ExpressionAttributeValues": {":status": {"S": keys.status_partition(server, status.value)}},
            "ScanIndexForward": False,
        }
        while True:
            response = self._call("query", **query)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [self._from_item(item) for item in items]

    def save(self, case: Case) -> Case:
        stored = replace(case, version=case.version + 1)
        try:
            self._client.put_item(
                TableName=self._table,
                Item=self._to_item(stored),
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(version) OR version = :read)"
                ),
                ExpressionAttributeValues={":read": {"N": str(case.version)}},
            )
        except ClientError as error:
            if error_code(error) == CONDITION_FAILED:
                raise VersionConflict(f"case #{case.number} changed since it was read") from error
            raise StorageError(f"DynamoDB put_item failed: {error_code(error)}") from error
        return stored

    # -- helpers --------------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self._client, operation)(**kwargs)
        except ClientError as error:
            raise StorageError(f"DynamoDB {operation} failed: {error_code(error)}") from error
        return result

    def _next_number(self, server: str) -> int:
        response = self._call(
            "update_item",
            TableName=self._table,
            Key=keys.case_counter_key(server),
            UpdateExpression="ADD #value :one",
            ExpressionAttributeNames={"#value": "value"},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["value"]["N"])

    def created_by(self, source_id: str) -> Case | None:
        response = self._call(
            "get_item", TableName=self._table, Key=keys.case_source_key(source_id), ConsistentRead=True
        )
        marker = response.get("Item")
        if not marker:
            return None
        return self.get(marker.get("server", {}).get("S", "0"), int(marker["case_number"]["N"]))

    def _to_item(self, case: Case) -> dict[str, Any]:
        document: dict[str, Any] = {
            "number": case.number,
            "kind": case.kind.value,
            "title": case.title,
            "sections": [{"label": s.label, "text": s.text} for s in case.sections],
            "status": case.status.value,
            "priority": case.priority,
            "reporter": {
                "user_id": case.reporter.user_id,
                "username": case.reporter.username,
                "display_name": case.reporter.display_name,
            },
            "guild_id": case.guild_id,
            "channel_id": case.channel_id,
            "created_at": case.created_at,
            "updated_at": case.updated_at,
            "attachments": [
                {
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                    "source_url": a.source_url,
                    "kept_url": a.kept_url,
                }
                for a in case.attachments
            ],
            "history": [
                {
                    "at": e.at,
                    "actor_id": e.actor_id,
                    "action": e.action,
                    "from_status": e.from_status.value if e.from_status else None,
                    "to_status": e.to_status.value if e.to_status else None,
                    "note": e.note,
                    "actor_name": e.actor_name,
                    "event_id": e.event_id,
                    "tell_reporter": e.tell_reporter,
                }
                for e in case.history
            ],
            "post": {"channel_id": case.post.channel_id, "message_id": case.post.message_id}
            if case.post
            else None,
            "conversation_sid": case.conversation_sid,
            "first_response_at": case.first_response_at,
            "resolved_at": case.resolved_at,
            "source_id": case.source_id,
            "assignee": {"user_id": case.assignee.user_id, "name": case.assignee.name}
            if case.assignee
            else None,
            # A list, not a string set: DynamoDB refuses an empty set.
            "supporters": list(case.supporters),
            "duplicate_of": case.duplicate_of,
            "thread_id": case.thread_id,
            "rating": case.rating,
            "rating_comment": case.rating_comment,
            "version": case.version,
        }
        item: dict[str, Any] = {name: self._serializer.serialize(value) for name, value in document.items()}
        item.update(keys.case_key(case.server, case.number))
        item["gsi1pk"] = {"S": keys.reporter_partition(case.reporter.user_id)}
        item["gsi1sk"] = {"S": keys.reporter_sort(case.created_at, case.server, case.number)}
        item["gsi2pk"] = {"S": keys.status_partition(case.server, case.status.value)}
        item["gsi2sk"] = {"S": keys.status_sort(case.number)}
        return item

    def _from_item(self, item: dict[str, Any]) -> Case:
        d = {name: self._deserializer.deserialize(value) for name, value in item.items()}
        post = d.get("post")
        return Case(
            number=int(d["number"]),
            kind=CaseKind(d["kind"]),
            title=d["title"],
            sections=tuple(CaseSection(s["label"], s["text"]) for s in d["sections"]),
            status=CaseStatus(d["status"]),
            priority=d["priority"],
            reporter=Reporter(**d["reporter"]),
            guild_id=d.get("guild_id"),
            channel_id=d.get("channel_id"),
            created_at=d["created_at"],
            updated_at=d["updated_at"],
            attachments=tuple(
                Attachment(
                    filename=a["filename"],
                    content_type=a["content_type"],
                    size=int(a["size"]),
                    source_url=a["source_url"],
                    kept_url=a.get("kept_url", ""),
                )
                for a in d.get("attachments", [])
            ),
            history=tuple(
                CaseEvent(
                    at=e["at"],
                    actor_id=e["actor_id"],
                    action=e["action"],
                    from_status=CaseStatus(e["from_status"]) if e.get("from_status") else None,
                    to_status=CaseStatus(e["to_status"]) if e.get("to_status") else None,
                    note=e.get("note", ""),
                    actor_name=e.get("actor_name", ""),
                    event_id=e.get("event_id", ""),
                    tell_reporter=bool(e.get("tell_reporter", False)),
                )
                for e in d.get("history", [])
            ),
            post=PostedMessage(post["channel_id"], post["message_id"]) if post else None,
            conversation_sid=d.get("conversation_sid"),
            first_response_at=d.get("first_response_at"),
            resolved_at=d.get("resolved_at"),
            source_id=d.get("source_id", ""),
            assignee=Assignee(**assignee) if (assignee := d.get("assignee")) else None,
            supporters=tuple(d.get("supporters") or ()),
            duplicate_of=int(d["duplicate_of"]) if d.get("duplicate_of") is not None else None,
            thread_id=d.get("thread_id"),
            rating=int(d["rating"]) if d.get("rating") is not None else None,
            rating_comment=d.get("rating_comment", ""),
            version=int(d.get("version", 0)),
        )
