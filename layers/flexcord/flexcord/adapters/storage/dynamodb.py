"""The DynamoDB client, created once per process.

boto3 is imported inside the function: importing it costs ~250 ms, and the interactions endpoint
must not pay that unless it actually talks to AWS. Endpoints come from boto3's standard
configuration (``AWS_ENDPOINT_URL``), which is how the local stack points it at moto.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@cache
def dynamodb_client() -> DynamoDBClient:
    import boto3

    return boto3.client("dynamodb")
