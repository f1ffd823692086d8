"""/feeds and feed polls in the worker, over in-memory storage, a recording queue, a fake Discord
and a fake fetcher serving RSS written here: what is posted (never the entries already there,
each new one once), the caps, filters, failures, pausing and resuming, and who may do what."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from flexcord.feeds.fetch import FeedFetcher, FeedFetchError, FetchResult
from flexcord.jobs.feed_jobs import FeedJobs
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.scheduler import Scheduler
from flexcord.servers.settings import ServerDirectory
from tests.unit.fakes import (
    InMemoryFeeds,
    InMemoryScheduledAnnouncements,
    InMemorySeenEntries,
    InMemoryServerSettings,
    RecordingQueue,
)
from tests.unit.test_announcement_jobs import GUILD, NEWS, OTHER_GUILDS_CHANNEL, TEXT, FakeDiscord

URL = "https://blog.example/feed.xml"
STAFF_CHANNEL, STAFF_ROLE = "701", "77"
START = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@dataclass
class FakeFeedSite:
    """A blog whose posts are numbered; ``count`` are published. Answers 304 to its own ETag."""

    count: int = 50
    drift: bool = False
    failure: FeedFetchError | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> bytes:
        items = []
        for number in range(self.count, 0, -1):
            guid = f"https://blog.example/posts/{number}"
            if self.drift:
                guid = guid.upper().replace("HTTPS://", "https://") + "?utm_source=rss&amp;fbclid=x"
            when = format_datetime(START - timedelta(hours=self.count - number))
            items.append(
                f"<item><title>Post {number}</title><link>{guid}</link><guid>{guid}</guid>"
                f"<description>News number {number}{' about raids' if number % 2 else ''}</description>"
                f"<pubDate>{when}</pubDate></item>"
            )
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>The blog</title>'
            f"<link>https://blog.example/</link>{''.join(items)}</channel></rss>"
        ).encode()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        self.requests.append({"url": url, "etag": etag})
        if self.failure is not None:
            raise self.failure
        body = self.body()
        tag = hashlib.sha256(body).hexdigest()[:16]
        if etag == tag:
            return FetchResult(True, b"", tag, None, url, "application/rss+xml")
        return FetchResult(False, body, tag, None, url, "application/rss+xml")


def context(
    interaction_id: str = "9000", *, permissions: str = "32", roles: tuple[str, ...] = ()
) -> InteractionContext:
    return InteractionContext(
        interaction_id=interaction_id,
        application_id="1",
        token=f"tok-{interaction_id}",
        user_id="111",
        username="mod",
        display_name="Mod",
        roles=roles,
        guild_id=GUILD,
        channel_id=TEXT,
        locale="en-GB",
        permissions=permissions,
    )


class World:
    def __init__(self) -> None:
        self.now = START
        self.site = FakeFeedSite()
        self.settings = InMemoryServerSettings()
        self.settings.update(GUILD, {"staff_channel_id": STAFF_CHANNEL, "staff_role_id": STAFF_ROLE})
        self.discord = FakeDiscord()
        self.discord.channels[STAFF_CHANNEL] = {"id": STAFF_CHANNEL, "type": 0, "guild_id": GUILD}
        self.feeds = InMemoryFeeds()
        self.seen = InMemorySeenEntries()
        self.queue = RecordingQueue()
        self.jobs = self.feed_jobs(self.site)
        self.scheduler = Scheduler(InMemoryScheduledAnnouncements(), self.feeds, self.queue)

    def feed_jobs(self, fetcher: Any) -> FeedJobs:
        return FeedJobs(
            ServerDirectory(self.settings, defaults=None),
            self.discord,  # type: ignore[arg-type]
            self.feeds,
            self.seen,
            fetcher,
            queue=self.queue,
            clock=lambda: self.now,
        )

    def add(self, **options: Any) -> dict[str, Any]:
        payload = {"url": URL, "channel_id": NEWS, "template": "{summary}", **options}
        return self.jobs.add(Job.for_interaction(JobKind.FEEDS_ADD, context(), payload))

    def posts_queued(self) -> list[Job]:
        return [job for job in self.queue.jobs if job.kind is JobKind.POST_ANNOUNCEMENT]

    def run_polls(self, advance: timedelta = timedelta(hours=1)) -> list[dict[str, Any]]:
        """Move the clock, run the scheduler's minute and the polls it queued."""
        self.now += advance
        self.scheduler.tick(self.now)
        polls = [job for job in self.queue.jobs if job.kind is JobKind.FEED_POLL]
        self.queue.jobs = [job for job in self.queue.jobs if job.kind is not JobKind.FEED_POLL]
        return [self.jobs.poll(job) for job in polls]

    @property
    def feed(self) -> Any:
        [feed] = self.feeds.items.values()
        return feed


@pytest.fixture
def world() -> World:
    return World()


def titles(jobs: list[Job]) -> list[str]:
    return [job.payload["title"] for job in jobs]


def test_adding_a_feed_with_50_entries_posts_none_of_them(world: World) -> None:
    assert world.add() == {"ok": True}
    assert world.posts_queued() == []
    assert world.feed.baselined
    assert len(world.seen.seen[world.feed.feed_id]) == 50
    assert world.discord.replies[-1].startswith("✅ Following **The blog** in <#502> (id `9000`)")
    assert "its 50 current entries are marked as seen, none is posted" in world.discord.replies[-1]


def test_backfill_posts_the_newest_entries_oldest_first(world: World) -> None:
    world.add(backfill=3)
    assert titles(world.posts_queued()) == ["Post 48", "Post 49", "Post 50"]


def test_each_new_entry_is_posted_once_in_order(world: World) -> None:
    world.add()
    world.site.count = 52
    assert world.run_polls() == [{"posted": 2, "not_modified": False}]
    posted = world.posts_queued()
    assert titles(posted) == ["Post 51", "Post 52"]
    first = posted[0]
    assert first.key == f"announcement:{first.payload['announcement_id']}"
    assert first.payload | {"announcement_id": "", "text": ""} == {
        "announcement_id": "",
        "server": GUILD,
        "channel_id": NEWS,
        "title": "Post 51",
        "text": "",
        "url": "https://blog.example/posts/51",
        "image_url": None,
        "image_is_upload": False,
        "role_id": None,
        "source": "feed",
        "author_id": None,
        "review_first": False,
        "feed_id": "9000",
        "feed_name": "The blog",
    }
    assert "News number 51" in first.payload["text"]
    # Nothing new: the site answers 304 to the validator it gave.
    assert world.run_polls() == [{"posted": 0, "not_modified": True}]
    assert world.site.requests[-1]["etag"] is not None
    assert len(world.posts_queued()) == 2


def test_a_guid_that_changes_case_or_gains_tracking_parameters_is_the_same_entry(world: World) -> None:
    world.add()
    world.site.drift = True
    assert world.run_polls() == [{"posted": 0, "not_modified": False}]
    assert world.posts_queued() == []


def test_a_poll_cut_short_queues_the_very_same_jobs_again(world: World) -> None:
    """The post is queued before the entry is marked seen: a poll that dies in between leaves it
    unseen, and the next poll queues a job with the same key, which the queue and the poster
    drop, rather than losing the entry."""
    world.add()
    world.site.count = 51
    world.now += timedelta(hours=1)
    world.scheduler.tick(world.now)
    [poll] = [job for job in world.queue.jobs if job.kind is JobKind.FEED_POLL]
    forgetful = InMemorySeenEntries()
    forgetful.seen = {key: set(value) for key, value in world.seen.seen.items()}
    crashing = FeedJobs(
        ServerDirectory(world.settings, defaults=None),
        world.discord,  # type: ignore[arg-type]
        world.feeds,
        forgetful,
        world.site,  # type: ignore[arg-type]
        queue=world.queue,
        clock=lambda: world.now,
    )

    def crash(feed_id: str, digests: Any) -> None:
        if list(digests):  # once the post is queued, before it is marked seen
            raise RuntimeError("the Lambda timed out")

    forgetful.mark_seen = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        crashing.poll(poll)
    assert world.jobs.poll(poll) == {"posted": 1, "not_modified": False}  # the retry
    first, second = world.posts_queued()
    assert first.key == second.key
    assert first.payload == second.payload


def test_two_polls_of_one_slot_write_once(world: World) -> None:
    world.add()
    world.site.count = 51
    world.now += timedelta(hours=1)
    world.scheduler.tick(world.now)
    world.scheduler.tick(world.now)  # an overlapping run: the same key, dropped by the queue
    polls = [job for job in world.queue.jobs if job.kind is JobKind.FEED_POLL]
    assert len({job.key for job in polls}) == 1
    assert world.jobs.poll(polls[0])["posted"] == 1
    assert world.jobs.poll(polls[1]) == {"already_polled": True}
    assert len(world.posts_queued()) == 1


def test_at_most_five_a_poll_and_the_rest_next_time(world: World) -> None:
    world.add()
    world.site.count = 58
    world.run_polls()
    assert titles(world.posts_queued()) == [f"Post {n}" for n in range(51, 56)]
    world.run_polls()
    assert titles(world.posts_queued())[5:] == ["Post 56", "Post 57", "Post 58"]


def test_at_most_fifty_a_day(world: World) -> None:
    world.add()
    world.feeds.items[(GUILD, "9000")] = replace(world.feed, day=world.now.date().isoformat(), posts_today=48)
    world.site.count = 60
    world.run_polls(timedelta(minutes=20))
    assert len(world.posts_queued()) == 2
    world.run_polls(timedelta(minutes=20))
    assert len(world.posts_queued()) == 2
    world.run_polls(timedelta(days=1))  # a new day
    assert len(world.posts_queued()) == 7


def test_filters_decide_what_is_posted_and_rejected_entries_stay_unposted(world: World) -> None:
    world.add(include=["raids"], exclude=["/number 5[3-9]/"])
    world.site.count = 56
    world.run_polls()
    assert titles(world.posts_queued()) == ["Post 51"]  # 52, 54, 56: no raids; 53, 55: excluded
    world.run_polls()
    assert titles(world.posts_queued()) == ["Post 51"]


def test_a_failing_feed_backs_off_then_pauses_and_staff_hear_once(world: World) -> None:
    world.add()
    world.site.failure = FeedFetchError("HTTP 503")
    delays = []
    for _ in range(6):
        before = world.feed.next_poll_at
        [result] = world.run_polls(timedelta(hours=7))
        assert result["failed"] == "HTTP 503"
        delays.append(world.feed.next_poll_at - int(world.now.timestamp()))
        assert world.feed.next_poll_at != before
    assert delays[:5] == [1800, 3600, 7200, 14400, 21600]
    assert world.feed.health.paused
    notices = [post for post in world.discord.posts if post["channel_id"] == STAFF_CHANNEL]
    assert len(notices) == 1
    assert "is paused after 6 failed reads in a row. Last error: HTTP 503" in notices[0]["content"]
    assert world.run_polls(timedelta(hours=7)) == []  # paused: not due any more

    world.site.failure = None
    world.site.count = 51
    world.jobs.resume(Job.for_interaction(JobKind.FEEDS_RESUME, context("9100"), {"id": "9000"}))
    assert world.discord.replies[-1].startswith("▶️ Feed **The blog** resumed")
    assert world.run_polls(timedelta(minutes=1)) == [{"posted": 1, "not_modified": False}]


def test_the_feeds_other_than_the_failing_one_go_on(world: World) -> None:
    world.add()
    other = FakeFeedSite(count=3)
    world.jobs = world.feed_jobs(_BySite({URL: world.site, "https://status.example/rss": other}))
    world.jobs.add(
        Job.for_interaction(
            JobKind.FEEDS_ADD,
            context("9200"),
            {"url": "https://status.example/rss", "channel_id": NEWS, "template": "{title}"},
        )
    )
    world.site.failure = FeedFetchError("timed out after 12 s")
    other.count = 4
    results = world.run_polls()
    assert sorted(str(r) for r in results) == sorted(
        [str({"failed": "timed out after 12 s", "paused": False}), str({"posted": 1, "not_modified": False})]
    )


@dataclass
class _BySite:
    sites: dict[str, FakeFeedSite]

    def fetch(self, url: str, **validators: Any) -> FetchResult:
        return self.sites[url].fetch(url, **validators)


def test_an_address_inside_the_network_is_refused_and_nothing_is_kept(world: World) -> None:
    world.jobs = world.feed_jobs(FeedFetcher(allow_private=False, resolver=lambda host, port: ["10.0.0.5"]))
    assert world.add() == {"refused": True}
    assert world.feeds.items == {}
    assert world.discord.replies[-1].startswith("⚠️ Not added:")
    assert "10.0.0.5" in world.discord.replies[-1]


@pytest.mark.parametrize(
    ("channel", "why"),
    [(OTHER_GUILDS_CHANNEL, "isn't a text or announcement channel"), ("404", "isn't a text")],
)
def test_a_channel_outside_the_server_is_refused(world: World, channel: str, why: str) -> None:
    assert world.add(channel_id=channel) == {"refused": True}
    assert why in world.discord.replies[-1]
    assert world.feeds.items == {}


def test_members_who_are_not_staff_change_nothing(world: World) -> None:
    member = context("9300", permissions="0", roles=("99",))
    payload = {"url": URL, "channel_id": NEWS, "template": "{summary}"}
    assert world.jobs.add(Job.for_interaction(JobKind.FEEDS_ADD, member, payload)) == {"refused": True}
    assert world.feeds.items == {}
    world.add()
    for kind, run in (
        (JobKind.FEEDS_REMOVE, world.jobs.remove),
        (JobKind.FEEDS_TEST, world.jobs.test),
        (JobKind.FEEDS_LIST, world.jobs.list_feeds),
    ):
        assert run(Job.for_interaction(kind, member, {"id": "9000"})) == {"refused": True}
    assert len(world.feeds.items) == 1
    staff = context("9301", permissions="0", roles=(STAFF_ROLE,))
    assert world.jobs.list_feeds(Job.for_interaction(JobKind.FEEDS_LIST, staff)) == {"feeds": 1}


def test_test_shows_the_next_post_and_posts_nothing(world: World) -> None:
    world.add()
    world.site.count = 51
    world.jobs.test(Job.for_interaction(JobKind.FEEDS_TEST, context("9400"), {"id": "9000"}))
    assert world.discord.replies[-1].startswith("**Next post** from **The blog**")
    assert world.posts_queued() == []
    assert world.run_polls()[0]["posted"] == 1  # still new for the poll


def test_remove_stops_the_feed(world: World) -> None:
    world.add()
    world.jobs.remove(Job.for_interaction(JobKind.FEEDS_REMOVE, context("9500"), {"id": "9000"}))
    assert world.feeds.items == {}
    world.site.count = 60
    assert world.run_polls() == []
    assert world.jobs.remove(Job.for_interaction(JobKind.FEEDS_REMOVE, context("9501"), {"id": "9000"})) == {
        "refused": True
    }


def test_the_same_address_twice_is_refused(world: World) -> None:
    world.add()
    again = Job.for_interaction(
        JobKind.FEEDS_ADD, context("9600"), {"url": URL, "channel_id": TEXT, "template": "x"}
    )
    assert world.jobs.add(again) == {"refused": True}
    assert "already follows that feed (`9000`)" in world.discord.replies[-1]


def test_a_feed_read_every_hour_is_due_an_hour_after_each_read(world: World) -> None:
    world.add(interval_seconds=3600)
    assert world.feed.next_poll_at == int(world.now.timestamp()) + 3600
    assert world.run_polls(timedelta(minutes=30)) == []
    assert len(world.run_polls(timedelta(minutes=30))) == 1
    listed = world.jobs.list_feeds(Job.for_interaction(JobKind.FEEDS_LIST, context("9700")))
    assert listed == {"feeds": 1}
    assert "every 60 min" in world.discord.replies[-1]


def test_a_poll_whose_posts_cannot_be_queued_is_a_failed_read_and_loses_nothing(world: World) -> None:
    world.add()
    world.site.count = 51
    world.now += timedelta(hours=1)
    world.scheduler.tick(world.now)
    [poll] = [job for job in world.queue.jobs if job.kind is JobKind.FEED_POLL]
    world.queue.jobs.clear()
    world.queue.fail = True
    result = world.jobs.poll(poll)
    assert result == {"failed": "its new entries could not be queued", "paused": False}
    assert world.feed.health.consecutive_failures == 1
    world.queue.fail = False
    assert world.run_polls(timedelta(hours=1)) == [{"posted": 1, "not_modified": False}]
    assert titles(world.posts_queued()) == ["Post 51"]


def test_a_pause_notice_discord_could_not_take_is_sent_by_the_retry(world: World) -> None:
    from flexcord.adapters.discord import DiscordUnavailable

    world.add()
    world.site.failure = FeedFetchError("HTTP 503")
    for _ in range(5):
        world.run_polls(timedelta(hours=7))
    world.now += timedelta(hours=7)
    world.scheduler.tick(world.now)
    [poll] = [job for job in world.queue.jobs if job.kind is JobKind.FEED_POLL]
    world.discord.post_failure = DiscordUnavailable("Discord answered 503", attempts=3)
    with pytest.raises(DiscordUnavailable):
        world.jobs.poll(poll)
    assert not world.feed.health.paused  # nothing recorded: the job comes back
    world.discord.post_failure = None
    assert world.jobs.poll(poll) == {"failed": "HTTP 503", "paused": True}
    assert len([p for p in world.discord.posts if p["channel_id"] == STAFF_CHANNEL]) == 1


def test_links_and_images_discord_would_refuse_are_left_out(world: World) -> None:
    from flexcord.feeds.model import FeedEntry

    entry = FeedEntry(
        guid="1",
        title="Long",
        link="https://blog.example/" + "a" * 2100,
        summary="",
        author="",
        published=None,
        image_url="https://img.example/a picture.png",
    )
    world.add()
    payload = world.jobs._post_payload(world.feed, entry)
    assert (payload["url"], payload["image_url"]) == (None, None)


def test_a_retried_add_finds_its_own_feed_and_says_it_is_followed(world: World) -> None:
    world.add()
    assert world.add() == {"ok": True}  # the same interaction, delivered again
    assert world.discord.replies[-1].startswith("✅ Following")
    assert len(world.feeds.items) == 1


def test_review_first_needs_a_staff_channel(world: World) -> None:
    world.settings.update(GUILD, {"staff_channel_id": None})
    assert world.add(review_first=True) == {"refused": True}
    assert "review first needs a staff channel" in world.discord.replies[-1]
    assert world.feeds.items == {}
