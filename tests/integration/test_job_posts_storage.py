"""A failed job's Discord posts, kept for its retry, against moto on loopback on the table built
from template.yaml: one item per job, replaced as attempts post more, expiring with the TTL."""

from __future__ import annotations

import boto3

from devstack.aws_resources import LocalResources
from flexcord.adapters.storage import keys
from flexcord.adapters.storage.job_posts import KEPT_SECONDS, DynamoJobPosts

NOW = 1_790_000_000.0


def test_what_an_attempt_posted_is_found_by_the_retry_and_later_attempts_add_to_it(
    aws: LocalResources,
) -> None:
    posts = DynamoJobPosts(boto3.client("dynamodb"), aws.table_name)
    assert posts.earlier("handoff:123", now=NOW) == {}
    posts.keep("handoff:123", {"42/queued-7": "501"}, now=NOW)
    assert posts.earlier("handoff:123", now=NOW + 30) == {"42/queued-7": "501"}
    posts.keep("handoff:123", {"42/queued-7": "501", "42/bot-abc": "502"}, now=NOW + 30)
    assert posts.earlier("handoff:123", now=NOW + 90) == {"42/queued-7": "501", "42/bot-abc": "502"}
    assert posts.earlier("handoff:456", now=NOW) == {}  # another job's are its own


def test_the_record_expires_with_the_tables_ttl_and_is_ignored_once_expired(aws: LocalResources) -> None:
    posts = DynamoJobPosts(boto3.client("dynamodb"), aws.table_name)
    posts.keep("relay:9", {"42/msg-1": "601"}, now=NOW)
    item = boto3.client("dynamodb").get_item(TableName=aws.table_name, Key=keys.job_posts_key("relay:9"))[
        "Item"
    ]
    assert int(item["expires_at"]["N"]) == int(NOW) + KEPT_SECONDS
    # DynamoDB deletes expired items up to days late: the reader does not wait for it.
    assert posts.earlier("relay:9", now=NOW + KEPT_SECONDS) == {}
