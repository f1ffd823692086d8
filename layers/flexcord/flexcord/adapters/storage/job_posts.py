"""The Discord messages a failed job posted (implements flexcord.jobs.worker.JobPostLog), so that
its retry finds them instead of posting them again: one item per job, written only when an attempt
fails after posting, read only by a retry, expiring with the table's TTL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from flexcord.adapters.storage import keys
from flexcord.adapters.storage.case_repository import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: A job's retries end within about ten minutes (docs/reliability.md); two days is ample.
KEPT_SECONDS = 2 * 24 * 3600


class DynamoJobPosts:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def earlier(self, job_key: str, *, now: float) -> dict[str, str]:
        """``"<channel id>/<nonce>"`` → message id, for what the job's failed attempts posted."""
        try:
            item = self._client.get_item(
                TableName=self._table, Key=keys.job_posts_key(job_key), ConsistentRead=True
            ).get("Item")
        except ClientError as error:
            raise StorageError("could not read the job's earlier posts") from error
        # TTL deletion lags by up to a couple of days: an expired item is nothing.
        if not item or float(item["expires_at"]["N"]) <= now:
            return {}
        return {key: value["S"] for key, value in item["posts"]["M"].items()}

    def keep(self, job_key: str, posts: Mapping[str, str], *, now: float) -> None:
        """Record every post of the job so far (the earlier attempts' included)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **keys.job_posts_key(job_key),
                    "posts": {"M": {key: {"S": message_id} for key, message_id in posts.items()}},
                    "expires_at": {"N": str(int(now) + KEPT_SECONDS)},
                },
            )
        except ClientError as error:
            raise StorageError("could not record the job's posts") from error
