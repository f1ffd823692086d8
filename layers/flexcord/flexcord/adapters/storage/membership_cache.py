"""Remembered answers to "is this member in an allowed server?" (implements
flexcord.jobs.access.MembershipCache): one item per member, expiring with the table's TTL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from flexcord.adapters.storage import keys
from flexcord.adapters.storage.case_repository import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoMembershipCache:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, user_id: str, *, now: float) -> bool | None:
        try:
            item = self._client.get_item(TableName=self._table, Key=keys.membership_key(user_id)).get("Item")
        except ClientError as error:
            raise StorageError("could not read the membership") from error
        # TTL deletion lags by up to a couple of days: an expired item is no answer.
        if not item or float(item["expires_at"]["N"]) <= now:
            return None
        return item["allowed"]["BOOL"]

    def put(self, user_id: str, allowed: bool, *, expires_at: float) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **keys.membership_key(user_id),
                    "allowed": {"BOOL": allowed},
                    "expires_at": {"N": str(int(expires_at))},
                },
            )
        except ClientError as error:
            raise StorageError("could not record the membership") from error
