"""Scheduled announcements: reading the time an admin typed, scheduling from the preview,
/announce list and cancel, the scheduler's minute, and the poster's side (posted once, never after
a cancel, staff told of what went wrong). In-memory ports, a fake Discord, an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flexcord.adapters.discord import RateLimited
from flexcord.announcements.post_time import InvalidPostTime, parse_post_time
from flexcord.jobs.announcement_jobs import AnnounceFlow, AnnouncementJobs
from flexcord.jobs.model import Job, JobKind
from flexcord.scheduler import Scheduler, event_time
from flexcord.servers.settings import ServerDirectory
from tests.unit.fakes import (
    InMemoryFeeds,
    InMemoryScheduledAnnouncements,
    InMemoryServerSettings,
    RecordingQueue,
)
from tests.unit.test_announce_routes import (
    NOW,
    STAFF_ROLE,
    Discord,
    InMemoryDrafts,
    context,
    decide,
    draft_job,
)
from tests.unit.test_announcement_jobs import GUILD, NEWS, InMemoryAnnouncementLog

STAFF_CHANNEL = "701"
PARIS = ZoneInfo("Europe/Paris")
# 2026-09-21 14:13:20 UTC, 16:13:20 in Paris (UTC+2 in September).
MOMENT = datetime.fromtimestamp(NOW, UTC)


# -- what the admin types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 2h", MOMENT + timedelta(hours=2)),
        ("in 1d 3h", MOMENT + timedelta(days=1, hours=3)),
        ("IN 45m", MOMENT + timedelta(minutes=45)),
        (f"<t:{NOW + 600}:F>", MOMENT + timedelta(minutes=10)),
        (str(NOW + 600), MOMENT + timedelta(minutes=10)),
        # A date and time on the server's clock.
        ("2026-09-22 09:00", datetime(2026, 9, 22, 7, 0, tzinfo=UTC)),
        # A bare time: today when still ahead, else tomorrow.
        ("18:00", datetime(2026, 9, 21, 16, 0, tzinfo=UTC)),
        ("09:15", datetime(2026, 9, 22, 7, 15, tzinfo=UTC)),
    ],
)
def test_the_times_an_admin_can_type(text: str, expected: datetime) -> None:
    assert MOMENT.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") == "2026-09-21 16:13"
    assert parse_post_time(text, now=MOMENT, zone=PARIS) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("tomorrow-ish", "not a time Flexcord understands"),
        ("2026-02-30 09:00", "not a time Flexcord understands"),
        ("25:00", "not a time Flexcord understands"),
        ("2026-09-21 09:00", "has already passed"),
        (str(NOW - 60), "has already passed"),
        ("in 61d", "up to 60 days ahead"),
        ("in 99999999999d", "not a time Flexcord understands"),
    ],
)
def test_times_that_are_refused_say_why(text: str, why: str) -> None:
    with pytest.raises(InvalidPostTime, match=why):
        parse_post_time(text, now=MOMENT, zone=PARIS)


# -- the flow -----------------------------------------------------------------------------------


class World:
    def __init__(self) -> None:
        self.now = MOMENT
        self.settings = InMemoryServerSettings()
        self.settings.update(
            GUILD,
            {
                "announcements_channel_id": NEWS,
                "staff_role_id": STAFF_ROLE,
                "staff_channel_id": STAFF_CHANNEL,
            },
        )
        servers = ServerDirectory(self.settings, defaults=None)
        self.discord = Discord()
        self.discord.channels[STAFF_CHANNEL] = {"id": STAFF_CHANNEL, "type": 0, "guild_id": GUILD}
        self.drafts = InMemoryDrafts()
        self.schedule = InMemoryScheduledAnnouncements()
        self.log = InMemoryAnnouncementLog()
        self.poster = AnnouncementJobs(servers, self.discord, self.log, self.schedule)  # type: ignore[arg-type]
        self.flow = AnnounceFlow(
            servers,
            self.discord,  # type: ignore[arg-type]
            self.drafts,
            self.poster,
            self.schedule,
            clock=lambda: self.now,
        )
        self.queue = RecordingQueue()
        self.scheduler = Scheduler(self.schedule, InMemoryFeeds(), self.queue)

    def schedule_one(self, when: str, draft_id: str = "500", press: str = "501") -> None:
        self.flow.draft(draft_job(context(draft_id), when=when))
        self.flow.decide(decide(context(press), draft_id))

    def run_queued(self) -> list[dict[str, Any]]:
        """Run what the scheduler queued, as the worker would, and forget it."""
        jobs, self.queue.jobs = list(self.queue.jobs), []
        return [self.poster.post(job) for job in jobs]

    def posts_in(self, channel: str) -> list[dict[str, Any]]:
        return [post for post in self.discord.posts if post["channel_id"] == channel]


@pytest.fixture
def world() -> World:
    return World()


def test_a_scheduled_preview_says_when_and_offers_schedule(world: World) -> None:
    world.flow.draft(draft_job(context("500"), when="in 2h"))
    [preview] = world.discord.previews
    at = NOW + 7200
    assert f"To be posted <t:{at}:F> (<t:{at}:R>)." in preview["content"]
    assert [b["label"] for b in preview["components"][0]["components"]] == ["Schedule", "Edit", "Cancel"]
    assert world.drafts.items["500"].post_at == at


def test_a_time_that_cannot_be_read_keeps_no_draft(world: World) -> None:
    world.flow.draft(draft_job(context("500"), when="next tuesday"))
    assert world.drafts.items == {}
    assert world.discord.replies[-1].startswith("⚠️ Nothing was saved. “next tuesday” is not a time")


def test_schedule_waits_for_its_minute_then_posts_once(world: World) -> None:
    world.schedule_one("in 2h")
    assert world.discord.posts == []
    assert world.discord.replies[-1].startswith(f"🗓️ Scheduled for <t:{NOW + 7200}:F>")
    [waiting] = world.schedule.of_server(GUILD)
    assert waiting.announcement_id == "500"

    world.now += timedelta(hours=1, minutes=59)
    assert world.scheduler.tick(world.now)["announcements_queued"] == 0
    world.now += timedelta(minutes=1)
    assert world.scheduler.tick(world.now)["announcements_queued"] == 1
    # A second, overlapping run queues the same job: same key, so the FIFO queue drops it.
    world.scheduler.tick(world.now)
    assert [job.key for job in world.queue.jobs] == ["announcement:500", "announcement:500"]
    results = world.run_queued()
    assert [r.get("publication") for r in results] == ["published", "published"]
    [post] = world.posts_in(NEWS)
    assert post["content"] == f"<@&{STAFF_ROLE}>"
    assert world.schedule.items == {}  # forgotten once posted
    assert world.scheduler.tick(world.now + timedelta(minutes=1))["announcements_queued"] == 0


def test_a_job_left_running_is_not_queued_again(world: World) -> None:
    world.schedule_one("in 10m")
    world.schedule.start_posting(GUILD, "500")  # a poster took it and has not finished
    assert world.scheduler.tick(world.now + timedelta(minutes=10))["announcements_queued"] == 0


def test_list_shows_the_servers_scheduled_posts_to_staff(world: World) -> None:
    world.schedule_one("in 2h", "500", "501")
    world.schedule_one("in 1h", "600", "601")
    world.flow.list_scheduled(
        Job.for_interaction(JobKind.ANNOUNCE_LIST, context("700", roles=(STAFF_ROLE,), permissions="0"))
    )
    listing = world.discord.replies[-1].splitlines()
    assert listing[0].startswith("**Scheduled announcements**")
    assert [line.split("`")[1] for line in listing[1:]] == ["600", "500"]  # soonest first


def test_cancel_before_the_time_posts_nothing(world: World) -> None:
    world.schedule_one("in 2h")
    cancel = Job.for_interaction(JobKind.ANNOUNCE_CANCEL, context("700"), {"id": "500"})
    assert world.flow.cancel_scheduled(cancel) == {"outcome": "cancelled"}
    world.now += timedelta(hours=3)
    assert world.scheduler.tick(world.now)["announcements_queued"] == 0
    assert world.discord.posts == []


def test_a_job_queued_before_the_cancel_posts_nothing(world: World) -> None:
    world.schedule_one("in 2h")
    world.scheduler.tick(world.now + timedelta(hours=2))
    world.flow.cancel_scheduled(Job.for_interaction(JobKind.ANNOUNCE_CANCEL, context("700"), {"id": "500"}))
    assert world.run_queued() == [{"cancelled": True}]
    assert world.discord.posts == []


def test_cancel_while_it_is_being_posted_is_too_late(world: World) -> None:
    world.schedule_one("in 2h")
    world.schedule.start_posting(GUILD, "500")
    cancel = Job.for_interaction(JobKind.ANNOUNCE_CANCEL, context("700"), {"id": "500"})
    assert world.flow.cancel_scheduled(cancel) == {"outcome": "too_late"}
    assert "Too late" in world.discord.replies[-1]


def test_members_cannot_list_or_cancel(world: World) -> None:
    world.schedule_one("in 2h")
    member = context("700", user_id="222", roles=("99",), permissions="0")
    assert world.flow.list_scheduled(Job.for_interaction(JobKind.ANNOUNCE_LIST, member)) == {"refused": True}
    cancel = Job.for_interaction(JobKind.ANNOUNCE_CANCEL, member, {"id": "500"})
    assert world.flow.cancel_scheduled(cancel) == {"refused": True}
    assert len(world.schedule.items) == 1


def test_an_id_from_another_server_cancels_nothing_here(world: World) -> None:
    world.schedule_one("in 2h")
    [(server, announcement_id)] = world.schedule.items
    world.schedule.items[("999", announcement_id)] = world.schedule.items.pop((server, announcement_id))
    cancel = Job.for_interaction(JobKind.ANNOUNCE_CANCEL, context("700"), {"id": announcement_id})
    assert world.flow.cancel_scheduled(cancel) == {"outcome": "unknown"}
    assert ("999", announcement_id) in world.schedule.items


def test_over_the_publication_limit_staff_are_told_once(world: World) -> None:
    world.schedule_one("in 2h")
    world.discord.crosspost_failure = RateLimited(retry_after=3000.0, is_global=False)
    world.scheduler.tick(world.now + timedelta(hours=2))
    world.scheduler.tick(world.now + timedelta(hours=2))
    world.run_queued()
    assert len(world.posts_in(NEWS)) == 1
    [notice] = world.posts_in(STAFF_CHANNEL)
    assert "**not published**" in notice["content"]
    assert "scheduled with /announce" in notice["content"]


def test_a_scheduled_post_with_nowhere_to_go_tells_staff_and_is_forgotten(world: World) -> None:
    world.schedule_one("in 2h")
    world.settings.update(GUILD, {"announcements_channel_id": "404"})
    world.scheduler.tick(world.now + timedelta(hours=2))
    assert [result["refused"] for result in world.run_queued()] == [True]
    [notice] = world.posts_in(STAFF_CHANNEL)
    assert "was **not posted**" in notice["content"]
    assert world.schedule.items == {}


def test_a_dead_lettered_scheduled_post_tells_staff_and_frees_the_schedule(world: World) -> None:
    world.schedule_one("in 2h")
    world.scheduler.tick(world.now + timedelta(hours=2))
    [job] = world.queue.jobs
    world.schedule.start_posting(GUILD, "500")
    assert world.poster.report_undelivered(job) is True
    [notice] = world.posts_in(STAFF_CHANNEL)
    assert "could not be posted after several tries" in notice["content"]
    assert world.schedule.items == {}


def test_the_scheduler_reads_the_minute_from_its_event() -> None:
    assert event_time({"time": "2026-12-03T17:36:00Z"}) == datetime(2026, 12, 3, 17, 36, tzinfo=UTC)
    fallback = datetime(2020, 1, 1, tzinfo=UTC)
    assert event_time({"time": "soon"}, fallback=fallback) == fallback
    assert event_time({}, fallback=fallback) == fallback


def test_a_date_utc_cannot_hold_is_refused_with_the_formats() -> None:
    with pytest.raises(InvalidPostTime, match="not a time Flexcord understands"):
        parse_post_time("9999-12-31 23:00", now=MOMENT, zone=ZoneInfo("America/New_York"))
    with pytest.raises(InvalidPostTime):
        parse_post_time("0001-01-01 00:00", now=MOMENT, zone=ZoneInfo("Asia/Tokyo"))
