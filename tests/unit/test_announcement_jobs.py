"""Posting an announcement (``announcement.post``) over a fake Discord and an in-memory log:
where it goes, who it pings, that it posts once, and publication in announcement channels."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from flexcord.adapters.discord import NO_MENTIONS, AllowedMentions, DiscordApiError, RateLimited
from flexcord.announcements.model import (
    PostedAnnouncement,
    Publication,
    announcement_embed,
    announcement_nonce,
)
from flexcord.jobs.announcement_jobs import AnnouncementJobs
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.servers.settings import ServerDirectory
from tests.unit.fakes import InMemoryScheduledAnnouncements, InMemoryServerSettings

GUILD, OTHER_GUILD = "100", "200"
TEXT, NEWS, OTHER_GUILDS_CHANNEL, VOICE = "501", "502", "601", "503"
ROLE = "77"


class FakeDiscord:
    """Channels of two servers; messages keyed by nonce as Discord does inside its nonce window
    (``forget_nonces`` plays a retry after the window); crossposts that may be over the limit."""

    def __init__(self) -> None:
        self.channels = {
            TEXT: {"id": TEXT, "type": 0, "guild_id": GUILD},
            NEWS: {"id": NEWS, "type": 5, "guild_id": GUILD},
            VOICE: {"id": VOICE, "type": 2, "guild_id": GUILD},
            OTHER_GUILDS_CHANNEL: {"id": OTHER_GUILDS_CHANNEL, "type": 0, "guild_id": OTHER_GUILD},
        }
        self.posts: list[dict[str, Any]] = []
        self.nonces: dict[str, str] = {}
        self.crossposts: list[tuple[str, str]] = []
        self.crosspost_failure: Exception | None = None
        self.post_failure: Exception | None = None
        self.replies: list[str] = []

    def get_channel(self, channel_id: str) -> dict[str, Any]:
        if channel_id not in self.channels:
            raise DiscordApiError(404, 10003, "Unknown Channel")
        return self.channels[channel_id]

    def create_message(
        self, channel_id: str, *, nonce: str | None = None, **fields: Any
    ) -> list[dict[str, Any]]:
        if self.post_failure is not None:
            raise self.post_failure
        assert nonce is not None
        assert len(nonce) <= 25
        if nonce in self.nonces:
            return [{"id": self.nonces[nonce]}]
        message_id = str(1000 + len(self.posts))
        self.nonces[nonce] = message_id
        self.posts.append({"id": message_id, "channel_id": channel_id, **fields})
        return [{"id": message_id}]

    def forget_nonces(self) -> None:
        self.nonces.clear()

    def download_attachment(self, url: str, *, max_bytes: int) -> bytes:
        if "expired" in url:
            raise DiscordApiError(404, 0, "Not Found")
        return b"png:" + url.encode()

    def crosspost_message(self, channel_id: str, message_id: str) -> dict[str, Any]:
        if self.crosspost_failure is not None:
            raise self.crosspost_failure
        self.crossposts.append((channel_id, message_id))
        return {"id": message_id, "flags": 1}

    def edit_original_response(self, token: str, *, content: str | None = None, **_: Any) -> dict[str, Any]:
        self.replies.append(content or "")
        return {}


class InMemoryAnnouncementLog:
    def __init__(self) -> None:
        self.items: dict[str, PostedAnnouncement] = {}

    def posted(self, announcement_id: str) -> PostedAnnouncement | None:
        return self.items.get(announcement_id)

    def record_post(self, posted: PostedAnnouncement) -> PostedAnnouncement:
        return self.items.setdefault(posted.announcement_id, posted)

    def record_publication(self, announcement_id: str, publication: Publication, note: str = "") -> None:
        self.items[announcement_id] = replace(self.items[announcement_id], publication=publication, note=note)


ADMIN = InteractionContext(
    interaction_id="900",
    application_id="1",
    token="tok",
    user_id="111",
    username="alice",
    display_name="Alice",
    roles=(),
    guild_id=GUILD,
    channel_id=TEXT,
    locale="en-GB",
    permissions="32",
)


def job(*, context: InteractionContext | None = ADMIN, **payload: Any) -> Job:
    body = {
        "announcement_id": "a1",
        "server": GUILD,
        "channel_id": TEXT,
        "title": "v2 is out",
        "text": "Release notes @everyone <@111>",
        "url": "https://example.com/v2",
        "image_url": None,
        "role_id": None,
        "source": "announce",
        "author_id": "111",
        **payload,
    }
    return Job(
        JobKind.POST_ANNOUNCEMENT,
        key=f"announcement:{body['announcement_id']}",
        group=f"announcements:{body['server']}",
        context=context,
        payload=body,
    )


@pytest.fixture
def settings() -> InMemoryServerSettings:
    return InMemoryServerSettings()


@pytest.fixture
def discord() -> FakeDiscord:
    return FakeDiscord()


@pytest.fixture
def log() -> InMemoryAnnouncementLog:
    return InMemoryAnnouncementLog()


@pytest.fixture
def jobs(
    settings: InMemoryServerSettings, discord: FakeDiscord, log: InMemoryAnnouncementLog
) -> AnnouncementJobs:
    return AnnouncementJobs(
        ServerDirectory(settings, defaults=None),
        discord,
        log,
        InMemoryScheduledAnnouncements(),
        allowed_guild_ids=(GUILD, OTHER_GUILD),
    )


def test_posts_the_embed_in_a_text_channel_pinging_nobody(
    jobs: AnnouncementJobs, discord: FakeDiscord, log: InMemoryAnnouncementLog
) -> None:
    result = jobs.post(job())
    [post] = discord.posts
    assert post["channel_id"] == TEXT
    assert post["embeds"] == [
        announcement_embed(
            title="v2 is out", text="Release notes @everyone <@111>", url="https://example.com/v2"
        )
    ]
    assert post["embeds"][0]["url"] == "https://example.com/v2"
    assert post["content"] is None
    assert post["allowed_mentions"] == NO_MENTIONS
    assert discord.crossposts == []
    assert result == {"message_id": post["id"], "channel_id": TEXT, "publication": "not_needed"}
    assert log.items["a1"].message_id == post["id"]
    assert discord.replies == [f"✅ Posted in <#{TEXT}>."]


def test_pings_only_the_role_asked_for(jobs: AnnouncementJobs, discord: FakeDiscord) -> None:
    jobs.post(job(role_id=ROLE, image_url="https://cdn.example.com/v2.png"))
    [post] = discord.posts
    assert post["content"] == f"<@&{ROLE}>"
    assert post["allowed_mentions"] == AllowedMentions(roles=[ROLE])
    assert post["allowed_mentions"].to_payload() == {"parse": [], "roles": [ROLE]}
    assert post["embeds"][0]["image"] == {"url": "https://cdn.example.com/v2.png"}


def test_an_announcement_channel_post_is_published(
    jobs: AnnouncementJobs, discord: FakeDiscord, log: InMemoryAnnouncementLog
) -> None:
    result = jobs.post(job(channel_id=NEWS))
    [post] = discord.posts
    assert discord.crossposts == [(NEWS, post["id"])]
    assert result["publication"] == "published"
    assert log.items["a1"].publication is Publication.PUBLISHED
    assert discord.replies == [f"✅ Posted in <#{NEWS}> and published to the servers that follow it."]


def test_without_a_channel_the_servers_announcements_channel_is_used(
    jobs: AnnouncementJobs, settings: InMemoryServerSettings, discord: FakeDiscord
) -> None:
    settings.update(GUILD, {"announcements_channel_id": NEWS})
    jobs.post(job(channel_id=None))
    assert [post["channel_id"] for post in discord.posts] == [NEWS]
    assert len(discord.crossposts) == 1


def test_no_channel_anywhere_posts_nothing_and_says_so(jobs: AnnouncementJobs, discord: FakeDiscord) -> None:
    assert jobs.post(job(channel_id=None))["refused"] is True
    assert discord.posts == []
    assert "`/setup`" in discord.replies[0]


@pytest.mark.parametrize("channel", [OTHER_GUILDS_CHANNEL, VOICE, "404"])
def test_a_channel_outside_the_server_or_not_for_messages_is_refused(
    jobs: AnnouncementJobs, discord: FakeDiscord, log: InMemoryAnnouncementLog, channel: str
) -> None:
    assert jobs.post(job(channel_id=channel))["refused"] is True
    assert discord.posts == []
    assert log.items == {}
    assert discord.replies[0].startswith("⚠️ Not posted.")


def test_a_server_flexcord_does_not_serve_is_refused(
    settings: InMemoryServerSettings, discord: FakeDiscord, log: InMemoryAnnouncementLog
) -> None:
    jobs = AnnouncementJobs(
        ServerDirectory(settings, defaults=None),
        discord,
        log,
        InMemoryScheduledAnnouncements(),
        allowed_guild_ids=(OTHER_GUILD,),
    )
    assert jobs.post(job())["refused"] is True
    assert discord.posts == []


def test_a_retry_after_the_nonce_window_does_not_post_again(
    jobs: AnnouncementJobs, discord: FakeDiscord
) -> None:
    first = jobs.post(job(channel_id=NEWS))
    discord.forget_nonces()
    again = jobs.post(replace(job(channel_id=NEWS), attempt=2))
    assert len(discord.posts) == 1
    assert len(discord.crossposts) == 1
    assert again == first


def test_a_retry_inside_the_nonce_window_gets_the_same_message(
    jobs: AnnouncementJobs, discord: FakeDiscord, log: InMemoryAnnouncementLog
) -> None:
    jobs.post(job())
    log.items.clear()  # as if the first attempt died before recording its post
    jobs.post(job())
    assert len(discord.posts) == 1


def test_the_nonce_comes_from_the_announcement_id() -> None:
    assert announcement_nonce("a1") == announcement_nonce("a1")
    assert announcement_nonce("a1") != announcement_nonce("a2")
    assert len(announcement_nonce("x" * 200)) == 25


def test_over_the_publication_limit_the_post_stands_and_the_admin_is_told(
    jobs: AnnouncementJobs, discord: FakeDiscord, log: InMemoryAnnouncementLog
) -> None:
    discord.crosspost_failure = RateLimited(retry_after=3000, is_global=False)
    result = jobs.post(job(channel_id=NEWS))
    assert len(discord.posts) == 1
    assert result["publication"] == "not_published"
    assert log.items["a1"].publication is Publication.NOT_PUBLISHED
    assert "**not published**" in discord.replies[0]
    assert "ten publications per hour" in discord.replies[0]


def test_a_refused_publication_leaves_the_post_and_says_why(
    jobs: AnnouncementJobs, discord: FakeDiscord
) -> None:
    discord.crosspost_failure = DiscordApiError(403, 50013, "Missing Permissions")
    assert jobs.post(job(channel_id=NEWS))["publication"] == "not_published"
    assert "Send Messages" in discord.replies[0]


def test_an_already_published_post_counts_as_published(jobs: AnnouncementJobs, discord: FakeDiscord) -> None:
    discord.crosspost_failure = DiscordApiError(400, 40033, "This message has already been crossposted")
    assert jobs.post(job(channel_id=NEWS))["publication"] == "published"


def test_a_retry_after_the_post_but_before_publishing_publishes_once(
    jobs: AnnouncementJobs, discord: FakeDiscord, log: InMemoryAnnouncementLog
) -> None:
    discord.crosspost_failure = RuntimeError("the worker died")
    with pytest.raises(RuntimeError):
        jobs.post(job(channel_id=NEWS))
    assert log.items["a1"].publication is Publication.PENDING
    discord.crosspost_failure = None
    jobs.post(replace(job(channel_id=NEWS), attempt=2))
    assert len(discord.posts) == 1
    assert len(discord.crossposts) == 1


def test_a_post_discord_refuses_is_reported_not_retried(
    jobs: AnnouncementJobs, discord: FakeDiscord, log: InMemoryAnnouncementLog
) -> None:
    discord.post_failure = DiscordApiError(403, 50013, "Missing Permissions")
    assert jobs.post(job())["refused"] is True
    assert log.items == {}
    assert "Send Messages and Embed Links" in discord.replies[0]


def test_a_webhook_job_tells_nobody(jobs: AnnouncementJobs, discord: FakeDiscord) -> None:
    jobs.post(job(context=None, source="webhook", author_id=None, channel_id=NEWS))
    assert len(discord.posts) == 1
    assert discord.replies == []


def test_an_uploaded_picture_is_copied_into_the_post(jobs: AnnouncementJobs, discord: FakeDiscord) -> None:
    jobs.post(job(image_url="https://cdn.example.com/att/1/map.png?ex=1", image_is_upload=True))
    [post] = discord.posts
    [upload] = post["files"]
    assert (upload.filename, upload.content_type) == ("announcement.png", "image/png")
    assert upload.content == b"png:https://cdn.example.com/att/1/map.png?ex=1"
    assert post["embeds"][0]["image"] == {"url": "attachment://announcement.png"}


def test_a_picture_that_cannot_be_read_is_left_out(jobs: AnnouncementJobs, discord: FakeDiscord) -> None:
    jobs.post(job(image_url="https://cdn.example.com/expired/map.png", image_is_upload=True))
    [post] = discord.posts
    assert post["files"] == []
    assert "image" not in post["embeds"][0]
