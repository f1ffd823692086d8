"""The DynamoDB client, created once per process.

boto3 is imported inside the function: importing it costs ~250 ms, and the interactions endpoint
must not pay that unless it actually talks to AWS. Endpoints come from boto3's standard
configuration (``AWS_ENDPOINT_URL``), which is how the local stack points it at moto.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb import DynamoDBClient


@cache
def dynamodb_client() -> DynamoDBClient:
    import boto3

    return boto3.client("dynamodb")


#: The code of a ClientError whose ConditionExpression did not hold: someone else wrote first.
CONDITION_FAILED = "ConditionalCheckFailedException"


def error_code(error: ClientError) -> str:
    """DynamoDB's code for a failed call ("ConditionalCheckFailedException", ...)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def query_all(client: DynamoDBClient, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item a Query matches, page after page (raises ClientError as the client does)."""
    items: list[dict[str, Any]] = []
    request = dict(query)
    while True:
        page = client.query(**request)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def partition_items(client: DynamoDBClient, table: str, partition: str) -> list[dict[str, Any]]:
    """Every item of one partition (``pk``), read consistently."""
    return query_all(
        client,
        {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "ConsistentRead": True,
        },
    )


def due_items(
    client: DynamoDBClient, table: str, *, index: str, partition: str, now: int, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` items of a time index whose sort keys start with a time (``<seconds:012>#``)
    of ``now`` or earlier, oldest first: what a scheduler must act on."""
    page = client.query(
        TableName=table,
        IndexName=index,
        KeyConditionExpression="gsi2pk = :pk AND gsi2sk <= :upto",
        # Every sort key of a time up to ``now`` sorts before this one.
        ExpressionAttributeValues={":pk": {"S": partition}, ":upto": {"S": f"{now:012d}~"}},
        Limit=limit,
    )
    return list(page.get("Items", []))
