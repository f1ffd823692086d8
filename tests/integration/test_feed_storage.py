"""Followed feeds and their seen entries in DynamoDB on moto (the table built from template.yaml):
the due index, the poll's claim on its slot, pausing and resuming, and seen entries in batches
larger than DynamoDB takes at once."""

from __future__ import annotations

from dataclasses import replace

from devstack.aws_resources import LocalResources
from flexcord.adapters.storage.dynamodb import dynamodb_client
from flexcord.adapters.storage.feeds import DynamoFeedRepository, DynamoSeenEntries
from flexcord.feeds.policy import FeedHealth
from flexcord.feeds.subscription import FeedSubscription


def feed(feed_id: str, server: str = "100", next_poll_at: int = 1_000) -> FeedSubscription:
    return FeedSubscription(
        feed_id=feed_id,
        server=server,
        url=f"https://example.com/{feed_id}.xml",
        channel_id="500",
        added_by="111",
        include=("raids",),
        exclude=("/beta/",),
        role_id="77",
        review_first=True,
        backfill=2,
        next_poll_at=next_poll_at,
    )


def test_feeds_are_due_by_time_claimed_by_one_poll_and_left_out_while_paused(aws: LocalResources) -> None:
    feeds = DynamoFeedRepository(dynamodb_client(), aws.table_name)
    first = feeds.add(feed("1"))
    assert feeds.add(replace(first, url="https://elsewhere.example/")) == first  # the first stays
    feeds.add(feed("2", server="200", next_poll_at=500))
    feeds.add(feed("3", next_poll_at=5_000))
    assert feeds.get("100", "1") == first
    assert [f.feed_id for f in feeds.due(1_000, limit=10)] == ["2", "1"]
    assert sorted(f.feed_id for f in feeds.of_server("100")) == ["1", "3"]

    polled = replace(first, etag='"abc"', baselined=True, posts_today=3, day="2026-12-03", next_poll_at=1_900)
    assert feeds.record_poll(polled, slot=1_000) is True
    assert feeds.record_poll(replace(polled, posts_today=9), slot=1_000) is False  # the slot moved
    assert feeds.get("100", "1") == polled
    assert [f.feed_id for f in feeds.due(1_000, limit=10)] == ["2"]

    paused = replace(polled, health=FeedHealth(consecutive_failures=6, paused=True, last_error="HTTP 503"))
    assert feeds.record_poll(paused, slot=1_900) is True
    assert [f.feed_id for f in feeds.due(10_000, limit=10)] == ["2", "3"]  # paused: never due
    resumed = feeds.resume("100", "1", now=10_000)
    assert resumed is not None
    assert resumed.health == FeedHealth()
    assert [f.feed_id for f in feeds.due(10_000, limit=10)] == ["2", "3", "1"]
    assert feeds.resume("100", "404", now=10_000) is None

    assert feeds.remove("100", "1") is True
    assert feeds.remove("100", "1") is False
    assert feeds.get("100", "1") is None


def test_seen_entries_in_batches_over_dynamodbs_limits(aws: LocalResources) -> None:
    seen = DynamoSeenEntries(dynamodb_client(), aws.table_name)
    digests = [f"{n:032x}" for n in range(230)]
    seen.mark_seen("1", digests[:130])
    assert seen.seen_among("1", digests) == set(digests[:130])
    assert seen.seen_among("2", digests) == set()  # per feed
    seen.mark_seen("1", digests[120:140] + digests[120:125])  # repeats are fine
    assert seen.seen_among("1", digests) == set(digests[:140])
