"""Reports held back for a duplicate question, in DynamoDB (implements
flexcord.cases.pending.PendingDrafts).

One item per draft (``DRAFT#<submit interaction id>``), gone after a day by the table's TTL.
DynamoDB deletes expired items late (up to a couple of days), so readers also compare
``expires_at`` with their clock. The choice is one conditional UpdateItem: the first press to
choose wins, and only that press may write it again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from flexcord.adapters.storage import keys
from flexcord.adapters.storage.case_repository import StorageError
from flexcord.adapters.storage.dynamodb import CONDITION_FAILED, error_code
from flexcord.cases.pending import Offered, PendingDraft
from flexcord.jobs.payloads import draft_from_payload, draft_to_payload

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoPendingDrafts:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def keep(self, pending: PendingDraft) -> PendingDraft:
        offered = [[case.number, case.title] for case in pending.offered]
        item: dict[str, Any] = {
            **keys.pending_draft_key(pending.draft_id),
            "draft": {"S": json.dumps(draft_to_payload(pending.draft), separators=(",", ":"))},
            "offered": {"S": json.dumps(offered, separators=(",", ":"))},
            "expires_at": {"N": str(pending.expires_at)},
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not keep the draft") from error
            stored = self.get(pending.draft_id)
            if stored is None:
                raise StorageError("the draft was kept and is gone") from error
            return stored
        return pending

    def get(self, draft_id: str) -> PendingDraft | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key=keys.pending_draft_key(draft_id), ConsistentRead=True
            ).get("Item")
        except ClientError as error:
            raise StorageError("could not read the draft") from error
        return _from_item(draft_id, item) if item else None

    def decide(self, draft_id: str, choice: int, *, press_id: str) -> PendingDraft | None:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=keys.pending_draft_key(draft_id),
                UpdateExpression="SET choice = :choice, decided_by = :press",
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(decided_by) OR decided_by = :press)"
                ),
                ExpressionAttributeValues={":choice": {"N": str(choice)}, ":press": {"S": press_id}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise StorageError("could not record the choice") from error
            return self.get(draft_id)  # chosen by another press already, or gone
        return _from_item(draft_id, response["Attributes"])


def _from_item(draft_id: str, item: dict[str, Any]) -> PendingDraft:
    return PendingDraft(
        draft_id=draft_id,
        draft=draft_from_payload(json.loads(item["draft"]["S"])),
        offered=tuple(Offered(int(number), str(title)) for number, title in json.loads(item["offered"]["S"])),
        expires_at=int(item["expires_at"]["N"]),
        choice=int(item["choice"]["N"]) if "choice" in item else None,
        decided_by=item.get("decided_by", {}).get("S", ""),
    )
