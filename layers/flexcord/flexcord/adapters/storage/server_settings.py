"""Server settings in DynamoDB (implements flexcord.servers.settings.ServerSettingsRepository)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from flexcord.adapters.storage import keys
from flexcord.adapters.storage.case_repository import StorageError
from flexcord.servers.settings import ServerSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoServerSettings:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, guild_id: str) -> ServerSettings | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key=keys.server_settings_key(guild_id), ConsistentRead=True
            )
        except ClientError as error:
            raise StorageError("could not read the server's settings") from error
        item = response.get("Item")
        if not item:
            return None
        document = {name: json.loads(value["S"]) for name, value in item.items() if name.startswith("s_")}
        # The item's key names the server; the settings attributes never do.
        return ServerSettings.from_document(
            {**{name[2:]: value for name, value in document.items()}, "guild_id": guild_id}
        )

    def update(self, guild_id: str, changes: dict[str, Any]) -> None:
        """Set only the settings that changed, each an attribute of its own (a JSON value), so
        two admins changing different settings at once both keep their change."""
        if not changes:
            return
        names = {f"#f{index}": f"s_{name}" for index, name in enumerate(changes)}
        values = {
            f":v{index}": {"S": json.dumps(value, separators=(",", ":"))}
            for index, value in enumerate(changes.values())
        }
        try:
            self._client.update_item(
                TableName=self._table,
                Key=keys.server_settings_key(guild_id),
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            raise StorageError("could not save the server's settings") from error
