"""Publishing (crossposting) in the Discord emulator through the real DiscordClient, and the
announcement log in DynamoDB on moto (the table built from template.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from devstack.aws_resources import LocalResources
from devstack.discord_emulator import DiscordEmulator
from flexcord.adapters.discord import DiscordApiError, DiscordClient, RateLimited
from flexcord.adapters.storage.announcements import (
    DynamoAnnouncementDrafts,
    DynamoAnnouncementLog,
    DynamoScheduledAnnouncements,
)
from flexcord.adapters.storage.dynamodb import dynamodb_client
from flexcord.announcements.model import (
    AnnouncementDraft,
    CancelOutcome,
    PostedAnnouncement,
    Publication,
    ScheduledAnnouncement,
    ScheduleState,
)

SEND_MESSAGES = 1 << 11
CROSSPOSTED = 1 << 0


@pytest.fixture
def emulator() -> Iterator[DiscordEmulator]:
    with DiscordEmulator() as running:
        yield running


@pytest.fixture
def client(emulator: DiscordEmulator) -> DiscordClient:
    return client_of(emulator)


def client_of(emulator: DiscordEmulator) -> DiscordClient:
    return DiscordClient(
        base_url=emulator.api_base_url,
        application_id=emulator.application_id,
        bot_token=emulator.bot_token,
        max_attempts=2,
        sleep=lambda _seconds: None,
    )


def post(client: DiscordClient, channel_id: str, text: str = "v2 is out") -> str:
    [message] = client.create_message(channel_id, content=text)
    return str(message["id"])


def test_the_bot_publishes_its_post_in_an_announcement_channel(
    emulator: DiscordEmulator, client: DiscordClient
) -> None:
    channel = emulator.channel_ids["announcements"]
    message_id = post(client, channel)
    published = client.crosspost_message(channel, message_id)
    assert published["id"] == message_id
    assert published["flags"] & CROSSPOSTED
    assert emulator.crossposts == [(channel, message_id)]
    assert client.get_message(channel, message_id)["flags"] & CROSSPOSTED


def test_publishing_twice_or_outside_an_announcement_channel_is_refused(
    emulator: DiscordEmulator, client: DiscordClient
) -> None:
    channel = emulator.channel_ids["announcements"]
    message_id = post(client, channel)
    client.crosspost_message(channel, message_id)
    with pytest.raises(DiscordApiError) as twice:
        client.crosspost_message(channel, message_id)
    assert twice.value.code == 40033
    text_channel = emulator.channel_ids["general"]
    with pytest.raises(DiscordApiError) as not_news:
        client.crosspost_message(text_channel, post(client, text_channel))
    assert not_news.value.code == 50024
    assert emulator.crossposts == [(channel, message_id)]


def test_publishing_needs_send_messages(emulator: DiscordEmulator, client: DiscordClient) -> None:
    channel = emulator.channel_ids["announcements"]
    message_id = post(client, channel)
    emulator.set_channel_overwrite(channel, emulator.bot_user["id"], deny=SEND_MESSAGES)
    with pytest.raises(DiscordApiError) as refused:
        client.crosspost_message(channel, message_id)
    assert refused.value.code == 50013
    assert emulator.crossposts == []


def test_about_ten_publications_an_hour_per_channel() -> None:
    # Posting itself is limited to 5 per 5 s: lift that to reach the publication limit quickly.
    with DiscordEmulator(rate_limits={"POST /channels/{channel_id}/messages": (50, 1.0)}) as emulator:
        limited_by_publications(emulator, client_of(emulator))


def limited_by_publications(emulator: DiscordEmulator, client: DiscordClient) -> None:
    channel = emulator.channel_ids["announcements"]
    for index in range(10):
        client.crosspost_message(channel, post(client, channel, f"news {index}"))
    eleventh = post(client, channel, "one too many")
    with pytest.raises(RateLimited) as limited:
        client.crosspost_message(channel, eleventh)
    assert limited.value.retry_after > 3000
    assert len(emulator.crossposts) == 10
    assert not client.get_message(channel, eleventh)["flags"] & CROSSPOSTED


def test_the_announcement_log_records_a_post_once(aws: LocalResources) -> None:
    log = DynamoAnnouncementLog(dynamodb_client(), aws.table_name)
    assert log.posted("a1") is None
    first = PostedAnnouncement("a1", "100", "502", "9001", Publication.PENDING)
    assert log.record_post(first) == first
    # A second writer (a retry that posted again in a race) gets the first post back.
    assert log.record_post(PostedAnnouncement("a1", "100", "502", "9002", Publication.PENDING)) == first
    log.record_publication("a1", Publication.NOT_PUBLISHED, "over the limit")
    assert log.posted("a1") == PostedAnnouncement(
        "a1", "100", "502", "9001", Publication.NOT_PUBLISHED, "over the limit"
    )
    item = dynamodb_client().get_item(
        TableName=aws.table_name, Key={"pk": {"S": "ANNOUNCEMENT#a1"}, "sk": {"S": "ANNOUNCEMENT"}}
    )["Item"]
    assert item["message_id"] == {"S": "9001"}


def test_an_announce_draft_is_kept_once_used_by_one_press_and_dropped(aws: LocalResources) -> None:
    drafts = DynamoAnnouncementDrafts(dynamodb_client(), aws.table_name)
    draft = AnnouncementDraft("500", "100", "111", "v2 — “out”", "news", None, "77", 1_796_086_400)
    assert drafts.keep(draft) == draft
    assert drafts.keep(replace(draft, title="other")) == draft  # a retried job keeps the first
    assert drafts.get("500") == draft
    assert drafts.claim("500", press_id="501") == replace(draft, used_by="501")
    assert drafts.claim("500", press_id="501") == replace(draft, used_by="501")  # its retry
    assert drafts.claim("500", press_id="502") == replace(draft, used_by="501")  # another press loses
    drafts.release("500", press_id="502")  # not its claim: nothing changes
    assert drafts.get("500") == replace(draft, used_by="501")
    drafts.release("500", press_id="501")
    assert drafts.get("500") == draft
    item = dynamodb_client().get_item(
        TableName=aws.table_name, Key={"pk": {"S": "ANNOUNCEDRAFT#500"}, "sk": {"S": "DRAFT"}}
    )["Item"]
    assert item["expires_at"] == {"N": "1796086400"}
    drafts.drop("500")
    assert drafts.get("500") is None
    assert drafts.claim("500", press_id="503") is None


def test_scheduled_announcements_are_due_in_time_order_and_either_cancelled_or_posted(
    aws: LocalResources,
) -> None:
    schedule = DynamoScheduledAnnouncements(dynamodb_client(), aws.table_name)

    def waiting(announcement_id: str, server: str, post_at: int) -> ScheduledAnnouncement:
        return ScheduledAnnouncement(
            announcement_id=announcement_id,
            server=server,
            author_id="111",
            post_at=post_at,
            title=f"title {announcement_id}",
            job_payload={"announcement_id": announcement_id, "server": server, "scheduled": True},
        )

    first = schedule.schedule(waiting("a", "100", 2_000))
    assert schedule.schedule(replace(first, title="changed")) == first  # the first one stays
    schedule.schedule(waiting("b", "200", 1_000))
    schedule.schedule(waiting("c", "100", 3_000))
    # moto's indexes are up to date at once; DynamoDB's within a second, well inside a minute.
    assert [s.announcement_id for s in schedule.due(2_000, limit=10)] == ["b", "a"]
    assert [s.announcement_id for s in schedule.due(5_000, limit=2)] == ["b", "a"]
    assert [s.announcement_id for s in schedule.of_server("100")] == ["a", "c"]
    assert schedule.get("100", "a") == first

    assert schedule.start_posting("100", "a") is True
    assert schedule.cancel("100", "a") is CancelOutcome.TOO_LATE
    assert schedule.get("100", "a").state is ScheduleState.POSTING  # type: ignore[union-attr]
    schedule.remove("100", "a")
    assert schedule.cancel("100", "c") is CancelOutcome.CANCELLED
    assert schedule.cancel("100", "c") is CancelOutcome.UNKNOWN
    assert schedule.start_posting("100", "c") is False  # cancelled: the poster posts nothing
    assert schedule.cancel("100", "b") is CancelOutcome.UNKNOWN  # another server's
    assert [s.announcement_id for s in schedule.due(5_000, limit=10)] == ["b"]
