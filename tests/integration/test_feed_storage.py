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


def test_two_pollers_at_once_queue_each_new_entry_under_one_key_and_one_records_the_poll(
    aws: LocalResources,
) -> None:
    """Both pollers read the feed at the same moment (a barrier in the fetch): both may queue an
    entry, but under the same key, so the FIFO queue and the poster post it once; only one of
    them writes the feed's state."""
    import threading
    from collections import Counter
    from datetime import UTC, datetime

    from flexcord.jobs.feed_jobs import FeedJobs
    from flexcord.jobs.model import Job, JobKind
    from flexcord.servers.settings import ServerDirectory
    from tests.unit.fakes import InMemoryServerSettings, RecordingQueue
    from tests.unit.test_feed_jobs import FakeFeedSite

    client = dynamodb_client()
    feeds = DynamoFeedRepository(client, aws.table_name)
    seen = DynamoSeenEntries(client, aws.table_name)
    site = FakeFeedSite(count=50)
    barrier = threading.Barrier(2, timeout=10)

    class TogetherSite:
        def fetch(self, url: str, **validators: object) -> object:
            barrier.wait()
            return site.fetch(url)

    queue = RecordingQueue()
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    def jobs(fetcher: object) -> FeedJobs:
        return FeedJobs(
            ServerDirectory(InMemoryServerSettings(), defaults=None),
            None,  # type: ignore[arg-type]  # no Discord call on a poll that succeeds
            feeds,
            seen,
            fetcher,  # type: ignore[arg-type]
            queue=queue,
            clock=lambda: now,
        )

    added = feeds.add(
        replace(feed("77"), include=(), exclude=(), review_first=False, backfill=0, next_poll_at=0)
    )
    assert (
        jobs(site).poll(Job(JobKind.FEED_POLL, key="p0", group="g", payload=_poll(added, 0)))["posted"] == 0
    )
    site.count = 53
    slot = feeds.get("100", "77").next_poll_at  # type: ignore[union-attr]
    results: list[dict[str, object]] = []
    pollers = [
        threading.Thread(
            target=lambda: results.append(
                jobs(TogetherSite()).poll(
                    Job(JobKind.FEED_POLL, key="p", group="g", payload=_poll(added, slot))
                )
            )
        )
        for _ in range(2)
    ]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join(timeout=30)
    assert len(results) == 2
    assert sum(1 for result in results if not result.get("already_polled")) == 1, results
    keys = [job.key for job in queue.jobs if job.kind is JobKind.POST_ANNOUNCEMENT]
    assert len(set(keys)) == 3  # posts 51, 52 and 53, whichever poller queued them
    # Each entry is queued by one poller or by both, decided entry by entry as the two interleave
    # (a run queued 5), never more than once by the same one.
    assert all(count in (1, 2) for count in Counter(keys).values()), keys


def _poll(subscription: FeedSubscription, slot: int) -> dict[str, object]:
    return {
        "server": subscription.server,
        "feed_id": subscription.feed_id,
        "slot": slot,
        "now": 1_796_299_200,
    }
