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
        both = (keys.member_session_key(session.user_id), keys.conversation_key(session.conversation_sid))
        self._write([{"Update": self._update_if_same_chat(key, session)} for key in both], ended_is_done=True)

    def record_relayed(self, conversation_sid: str, index: int) -> None:
        self._move_mark_forward(
            keys.conversation_key(conversation_sid),
            "relayed_through",
            index,
            still_open="attribute_exists(pk)",
        )

    def record_member_relayed(self, session: SupportSession, interaction_id: int) -> None:
        self._move_mark_forward(
            keys.member_session_key(session.user_id),
            "member_relayed_through",
            interaction_id,
            still_open="conversation_sid = :sid",
            values={":sid": {"S": session.conversation_sid}},
        )

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

    def _update_if_same_chat(self, key: dict[str, dict[str, str]], session: SupportSession) -> dict[str, Any]:
        fields = [(name, value) for name, value in asdict(session).items() if name not in _RELAY_MARKS]
        values = {f":f{i}": self._serializer.serialize(value) for i, (_, value) in enumerate(fields)}
        return {
            "TableName": self._table,
            "Key": key,
            # Placeholders for every name: several (mode, place, locale) are reserved words.
            "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
            "ConditionExpression": "conversation_sid = :sid",
            "ExpressionAttributeNames": {f"#f{i}": name for i, (name, _) in enumerate(fields)},
            "ExpressionAttributeValues": {**values, ":sid": {"S": session.conversation_sid}},
        }

    def _move_mark_forward(
        self,
        key: dict[str, dict[str, str]],
        mark: str,
        value: int,
        *,
        still_open: str,
        values: dict[str, Any] | None = None,
    ) -> None:
        """Set a relay mark to ``value`` if that moves it forward and the chat is still open
        (``still_open``); otherwise nothing changes."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=f"SET {mark} = :mark",
                ConditionExpression=f"{still_open} AND (attribute_not_exists({mark}) OR {mark} < :mark)",
                ExpressionAttributeValues={":mark": {"N": str(value)}, **(values or {})},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return  # the chat ended meanwhile, or a later message is recorded already
            raise StorageError("could not record the relayed message") from error

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

    def _write(self, items: list[dict[str, Any]], *, ended_is_done: bool = False) -> None:
        """``ended_is_done``: a transaction its conditions cancelled (the chat ended meanwhile)
        has nothing left to do, rather than failing."""
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            cancelled = error.response.get("Error", {}).get("Code") == "TransactionCanceledException"
            if ended_is_done and cancelled:
                return
            raise StorageError("could not write the session") from error


_ABSENT = {"ConditionExpression": "attribute_not_exists(pk)"}


#: Written by their own conditional updates only (``record_relayed``, ``record_member_relayed``).
_RELAY_MARKS = frozenset({"relayed_through", "member_relayed_through"})
