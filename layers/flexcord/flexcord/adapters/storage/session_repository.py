"""Support sessions in DynamoDB (implements flexcord.sessions.repository.SessionRepository).

A session is stored twice, in one transaction: under the member (``USER#<id>``), which answers
"the open session of this member", and under its conversation (``CONVERSATION#<sid>``), which
answers "whose conversation is this" for Twilio's webhooks. Each question is one GetItem.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from flexcord.adapters.storage import keys
from flexcord.adapters.storage.case_repository import StorageError
from flexcord.sessions.model import ChatPlace, SessionMode, SupportSession

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoSessionRepository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._client = client
        self._table = table_name
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    def open(self, session: SupportSession) -> SupportSession:
        items: list[Any] = [
            {"Put": {**self._put(keys.member_session_key(session.user_id), session), **_ABSENT}},
            {"Put": self._put(keys.conversation_key(session.conversation_sid), session)},
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise StorageError("could not open the session") from error
            existing = self.for_member(session.user_id)
            if existing is None:
                raise StorageError("session creation was cancelled and none exists") from error
            return existing
        return session

    def for_member(self, user_id: str) -> SupportSession | None:
        return self._get(keys.member_session_key(user_id))

    def for_conversation(self, conversation_sid: str) -> SupportSession | None:
        return self._get(keys.conversation_key(conversation_sid))

    def save(self, session: SupportSession) -> None:
        # Updates, not Puts: a Put would write back whatever relay marks this (possibly older)
        # copy of the session holds, moving a mark another job has just advanced backwards. Each
        # only if the session is still there: a job finishing after the chat ended must not bring
        # it back, nor write over the member's next chat.
        same_chat = {
            "ConditionExpression": "conversation_sid = :sid",
            "ExpressionAttributeValues": {":sid": {"S": session.conversation_sid}},
        }
        both = (keys.member_session_key(session.user_id), keys.conversation_key(session.conversation_sid))
        items = [{"Update": _merged(self._update(key, session), same_chat)} for key in both]
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return  # the chat ended meanwhile: nothing left to save
            raise StorageError("could not write the session") from error

    def record_relayed(self, conversation_sid: str, index: int) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=keys.conversation_key(conversation_sid),
                UpdateExpression="SET relayed_through = :index",
                ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(relayed_through) OR relayed_through < :index)",
                ExpressionAttributeValues={":index": {"N": str(index)}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return  # the chat ended meanwhile, or a later message is recorded already
            raise StorageError("could not record the relayed message") from error

    def record_member_relayed(self, session: SupportSession, interaction_id: int) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=keys.member_session_key(session.user_id),
                UpdateExpression="SET member_relayed_through = :id",
                ConditionExpression="conversation_sid = :sid AND "
                "(attribute_not_exists(member_relayed_through) OR member_relayed_through < :id)",
                ExpressionAttributeValues={
                    ":id": {"N": str(interaction_id)},
                    ":sid": {"S": session.conversation_sid},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return  # the chat ended meanwhile, or a later message is recorded already
            raise StorageError("could not record the relayed message") from error

    def end(self, session: SupportSession) -> None:
        self._write(
            [
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": keys.member_session_key(session.user_id),
                        # Only this session: the member may have opened a new one meanwhile.
                        "ConditionExpression": "attribute_not_exists(pk) OR conversation_sid = :sid",
                        "ExpressionAttributeValues": {":sid": {"S": session.conversation_sid}},
                    }
                },
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": keys.conversation_key(session.conversation_sid),
                    }
                },
            ]
        )

    # -- helpers --------------------------------------------------------------------------------

    def _put(self, key: dict[str, dict[str, str]], session: SupportSession) -> dict[str, Any]:
        item = {name: self._serializer.serialize(value) for name, value in asdict(session).items()}
        return {"TableName": self._table, "Item": {**item, **key}}

    def _update(self, key: dict[str, dict[str, str]], session: SupportSession) -> dict[str, Any]:
        fields = [(name, value) for name, value in asdict(session).items() if name not in _RELAY_MARKS]
        return {
            "TableName": self._table,
            "Key": key,
            # Placeholders for every name: several (mode, place, locale) are reserved words.
            "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
            "ExpressionAttributeNames": {f"#f{i}": name for i, (name, _) in enumerate(fields)},
            "ExpressionAttributeValues": {
                f":f{i}": self._serializer.serialize(value) for i, (_, value) in enumerate(fields)
            },
        }

    def _get(self, key: dict[str, dict[str, str]]) -> SupportSession | None:
        try:
            item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        except ClientError as error:
            raise StorageError("could not read the session") from error
        if not item:
            return None
        data = {name: self._deserializer.deserialize(value) for name, value in item.items()}
        return SupportSession(
            user_id=data["user_id"],
            display_name=data["display_name"],
            locale=data["locale"],
            guild_id=data.get("guild_id"),
            channel_id=data["channel_id"],
            place=ChatPlace(data["place"]),
            conversation_sid=data["conversation_sid"],
            member_identity=data["member_identity"],
            mode=SessionMode(data["mode"]),
            opened_at=data["opened_at"],
            case_number=int(data["case_number"]) if data.get("case_number") is not None else None,
            interaction_sid=data.get("interaction_sid"),
            interaction_channel_sid=data.get("interaction_channel_sid"),
            agent_name=data.get("agent_name"),
            assistant_misses=int(data.get("assistant_misses") or 0),
            # Sessions stored before the field existed were handed off when they were queued.
            handed_to_flex=bool(data.get("handed_to_flex", data["mode"] != SessionMode.ASSISTANT)),
            relayed_through=int(data.get("relayed_through", -1)),
            member_relayed_through=int(data.get("member_relayed_through", 0)),
            opened_by_interaction=int(data.get("opened_by_interaction", 0)),
        )

    def _write(self, items: list[dict[str, Any]]) -> None:
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            raise StorageError("could not write the session") from error


_ABSENT = {"ConditionExpression": "attribute_not_exists(pk)"}


def _merged(update: dict[str, Any], condition: dict[str, Any]) -> dict[str, Any]:
    """An Update with a condition added (its values joined to the update's own)."""
    values = {**update["ExpressionAttributeValues"], **condition["ExpressionAttributeValues"]}
    return {
        **update,
        "ConditionExpression": condition["ConditionExpression"],
        "ExpressionAttributeValues": values,
    }


#: Written by their own conditional updates only (``record_relayed``, ``record_member_relayed``).
_RELAY_MARKS = frozenset({"relayed_through", "member_relayed_through"})
