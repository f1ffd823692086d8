"""Feeds end to end: staff follow the local stack's sample feeds with /feeds add (the Discord
emulator), the real endpoint and worker read them over HTTP (the sample feeds serve on
loopback, which only the local stack allows), SchedulerFunction, run at the stack's movable
clock, queues each due feed's poll, and the worker posts new entries once. Broken feeds are
backed off, paused and reported once; the other feeds carry on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.sample_feeds import SampleFeeds
from devstack.stack import LocalStack
from flexcord.adapters.storage.server_settings import DynamoServerSettings
from flexcord.jobs.model import Job, JobKind
from tests.e2e.conftest import final_reply, table_item, wait_until

EPHEMERAL = 1 << 6


@pytest.fixture
def feeds(stack: LocalStack) -> Iterator[SampleFeeds]:
    assert stack.sample_feeds is not None
    stack.sample_feeds.reset()
    yield stack.sample_feeds
    stack.sample_feeds.reset()


def staff_channel(stack: LocalStack, discord: DiscordEmulator, name: str) -> str:
    channel = discord.create_channel(discord.guild_id, name)["id"]
    assert stack.resources is not None
    DynamoServerSettings(boto3.client("dynamodb"), stack.resources.table_name).update(
        discord.guild_id, {"staff_channel_id": channel}
    )
    return str(channel)


def run(discord: DiscordEmulator, subcommand: str, user: str = "mod", **options: Any) -> str:
    answered = discord.run_command(user, "feeds", {subcommand: options})
    assert answered.response == {"type": 5, "data": {"flags": EPHEMERAL}}, answered.error or answered.response
    return str(final_reply(discord, answered.token)["content"])


def add(discord: DiscordEmulator, url: str, channel: str, **options: Any) -> str:
    answer = run(discord, "add", url=url, channel=channel, **options)
    assert answer.startswith("✅ Following"), answer
    return answer.split("(id `")[1].split("`")[0]


def posts(discord: DiscordEmulator, channel: str) -> list[dict[str, Any]]:
    return [m for m in discord.messages(channel) if m.get("embeds")]


def health(stack: LocalStack, discord: DiscordEmulator, feed_id: str) -> dict[str, Any]:
    stored = table_item(stack, f"FEEDS#{discord.guild_id}", feed_id)
    assert stored is not None
    return dict(json.loads(stored["state"])["health"])


def advance(stack: LocalStack, hours: float) -> dict[str, Any]:
    """Move the clock; the scheduler runs at the new time and its polls are queued."""
    return stack.advance_clock(hours * 3600)


def test_a_new_feed_posts_nothing_then_each_new_entry_once(
    stack: LocalStack, discord: DiscordEmulator, feeds: SampleFeeds
) -> None:
    channel = discord.create_channel(discord.guild_id, "blog-posts")["id"]
    answer = run(discord, "add", url=feeds.url("blog"), channel=channel)
    assert "its 50 current entries are marked as seen, none is posted" in answer
    feed_id = answer.split("(id `")[1].split("`")[0]
    assert posts(discord, channel) == []

    before = feeds.entries("blog")[0].number
    assert advance(stack, 1)["feed_polls_queued"] == 1
    assert feeds.entries("blog")[0].number == before + 1
    [posted] = wait_until(lambda: posts(discord, channel))
    assert posted["embeds"][0]["title"].endswith(f"#{before + 1}")
    assert f"-{before + 1}" in posted["embeds"][0]["url"]

    # The same entries with their guids' case changed and tracking parameters added: nothing new.
    feeds.set_mode("blog", "drift")
    assert advance(stack, 0.5)["feed_polls_queued"] == 1
    wait_until(lambda: (table_item(stack, f"FEEDS#{discord.guild_id}", feed_id) or {}).get("next_poll_at", 0)
               > stack.scheduler.now().timestamp())  # fmt: skip
    assert len(posts(discord, channel)) == 1

    # Two polls of one slot (two schedulers a long while apart): one post for the new entry.
    feeds.set_mode("blog", "ok")
    stack.scheduler.advance(3600)
    feed = table_item(stack, f"FEEDS#{discord.guild_id}", feed_id)
    assert feed is not None
    poll = {
        "server": discord.guild_id,
        "feed_id": feed_id,
        "slot": int(feed["next_poll_at"]),
        "now": int(stack.scheduler.now().timestamp()),
    }
    for copy in ("a", "b"):
        job = Job(
            JobKind.FEED_POLL, key=f"feedpoll:{feed_id}:copy-{copy}", group=f"feed:{feed_id}", payload=poll
        )
        boto3.client("sqs").send_message(
            QueueUrl=stack.resources.job_queue_url,  # type: ignore[union-attr]
            MessageBody=job.to_json(),
            MessageGroupId=job.group,
            MessageDeduplicationId=job.key,
        )
    wait_until(lambda: len(posts(discord, channel)) == 2)
    stack.scheduler.tick()
    wait_until(
        lambda: table_item(stack, f"FEEDS#{discord.guild_id}", feed_id)["next_poll_at"] != poll["slot"]
    )  # type: ignore[index]
    assert len(posts(discord, channel)) == 2
    assert [m["embeds"][0]["title"] for m in posts(discord, channel)].count(
        posts(discord, channel)[-1]["embeds"][0]["title"]
    ) == 1


def test_a_broken_feed_is_paused_and_reported_once_while_the_others_carry_on(
    stack: LocalStack, discord: DiscordEmulator, feeds: SampleFeeds
) -> None:
    notices = staff_channel(stack, discord, "staff-notices")
    status_channel = discord.create_channel(discord.guild_id, "status-posts")["id"]
    social_channel = discord.create_channel(discord.guild_id, "social-posts")["id"]
    broken = add(discord, feeds.url("status"), status_channel)
    add(discord, feeds.url("social"), social_channel)
    feeds.set_mode("status", "broken")
    for failures in range(1, 7):  # back-off doubles up to 6 h: 7 h always makes it due again
        advance(stack, 7)
        wait_until(lambda n=failures: health(stack, discord, broken)["consecutive_failures"] == n)
    assert health(stack, discord, broken)["paused"] is True
    wait_until(lambda: [m for m in discord.messages(notices) if "paused" in str(m.get("content"))])
    advance(stack, 7)
    [notice] = [m for m in discord.messages(notices) if "paused" in str(m.get("content"))]
    assert f"/feeds resume id:{broken}" in notice["content"]
    assert "malformed" in notice["content"].lower() or "xml" in notice["content"].lower()
    assert posts(discord, status_channel) == []
    # Mastodon-style posts (no titles) kept coming all along.
    assert len(posts(discord, social_channel)) >= 5
    listing = run(discord, "list")
    assert f"`{broken}`" in listing
    assert "⏸️ paused" in listing


@pytest.mark.parametrize(
    ("mode", "options", "why"),
    [
        ("huge", {"bytes": 5_000_000}, "larger than"),
        ("redirect", {}, "redirects"),
        ("html", {}, "not an RSS or Atom feed"),
        ("gone", {}, "HTTP 404"),
    ],
)
def test_a_feed_that_cannot_be_read_is_not_added(
    discord: DiscordEmulator,
    feeds: SampleFeeds,
    mode: str,
    options: dict[str, Any],
    why: str,
) -> None:
    feeds.set_mode("videos", mode, **options)
    channel = discord.create_channel(discord.guild_id, f"videos-{mode}")["id"]
    answer = run(discord, "add", url=feeds.url("videos"), channel=channel)
    assert answer.startswith("⚠️ Not added:"), answer
    assert why in answer


def test_a_slow_feed_times_out_without_stalling_the_worker(
    stack: LocalStack, discord: DiscordEmulator, feeds: SampleFeeds
) -> None:
    feeds.set_mode("videos", "slow", seconds=60)
    channel = discord.create_channel(discord.guild_id, "videos-slow")["id"]
    answer = run(discord, "add", url=feeds.url("videos"), channel=channel)
    assert answer.startswith("⚠️ Not added: timed out"), answer
    # The worker is free again: another member's request is answered.
    assert run(discord, "list").startswith(("**Feeds**", "This server follows no feed"))


def test_bad_options_are_refused_at_once_and_members_are_not_offered_feeds(
    stack: LocalStack, discord: DiscordEmulator, feeds: SampleFeeds
) -> None:
    channel = discord.create_channel(discord.guild_id, "feeds-bad")["id"]
    for options, why in (
        ({"url": "ftp://files.example/feed"}, "must start with https://"),
        ({"url": feeds.url("blog"), "template": "{title} {nope}"}, "nope"),
        ({"url": feeds.url("blog"), "include": "/[unclosed/"}, "[unclosed"),
    ):
        answered = discord.run_command("mod", "feeds", {"add": {"channel": channel, **options}})
        assert answered.response["type"] == 4, answered.response
        assert why in answered.response["data"]["content"]
    with pytest.raises(ValueError, match="feeds"):
        discord.run_command("alice", "feeds", {"list": {}})
    assert json.dumps(run(discord, "test", id="123"))  # an unknown id is explained
    assert run(discord, "remove", id="123").startswith("⚠️ This server follows no feed `123`")


def test_a_review_first_feed_posts_only_what_staff_approve(
    stack: LocalStack, discord: DiscordEmulator, feeds: SampleFeeds
) -> None:
    notices = staff_channel(stack, discord, "staff-reviews")
    channel = discord.create_channel(discord.guild_id, "videos-reviewed")["id"]
    add(discord, feeds.url("videos"), channel, review_first=True)
    advance(stack, 3)  # one new video every 3 h

    def reviews() -> list[dict[str, Any]]:
        return [m for m in discord.messages(notices) if m.get("components")]

    [review] = wait_until(reviews)
    assert "a new entry of the feed **Flexcord**" in review["content"]
    assert posts(discord, channel) == []
    approve = review["components"][0]["components"][0]["custom_id"]
    assert approve.startswith("review:approve:feed-")
    pressed = discord.click("mod", review, approve)
    assert pressed.response == {"type": 6}, pressed.error
    [posted] = wait_until(lambda: posts(discord, channel))
    assert posted["embeds"][0]["title"] == review["embeds"][0]["title"]
    decided = wait_until(
        lambda: [m for m in discord.messages(notices) if "Approved by" in str(m.get("content"))]
    )
    assert decided[0]["components"] == []


def test_every_sets_how_often_a_feed_is_read(
    stack: LocalStack, discord: DiscordEmulator, feeds: SampleFeeds
) -> None:
    channel = discord.create_channel(discord.guild_id, "social-hourly")["id"]
    feed_id = add(discord, feeds.url("social") + "?hourly", channel, every=60)
    stored = table_item(stack, f"FEEDS#{discord.guild_id}", feed_id)
    assert stored is not None
    assert json.loads(stored["settings"])["interval_seconds"] == 3600
    answered = discord.run_command(
        "mod", "feeds", {"add": {"url": feeds.url("blog"), "channel": channel, "every": 1}}
    )
    assert (
        answered.error or answered.response["type"] == 4
    )  # the client refuses below min_value, else the endpoint
