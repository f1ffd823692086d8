"""What /setup says about a channel the bot must work in, over a fake server: its roles, the bot's
member and each channel's permission overwrites."""

from __future__ import annotations

import pytest

from flexcord.adapters.discord import DiscordApiError, DiscordUnavailable
from flexcord.adapters.discord.permissions import (
    ADMINISTRATOR,
    ATTACH_FILES,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    MANAGE_CHANNELS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
)
from flexcord.servers.channel_check import ChannelChecker
from tests.unit.servers.guild_fakes import (
    ALL_TAGS,
    BOT,
    BOT_ROLE,
    EVERYTHING_NEEDED,
    GUILD,
    OTHER_GUILD,
    FakeGuild,
)


@pytest.fixture
def guild() -> FakeGuild:
    return FakeGuild()


def check(guild: FakeGuild, setting: str, channel_id: str, shown_name: str = "") -> str | None:
    checker = ChannelChecker(guild, bot_user_id=BOT)
    return checker.check(GUILD, setting, channel_id, shown_name=shown_name).problem


def test_a_text_channel_where_the_bot_has_everything_is_accepted(guild: FakeGuild) -> None:
    guild.add("1", "bug-report")
    result = ChannelChecker(guild, bot_user_id=BOT).check(GUILD, "bug_report_channel_id", "1")
    assert result.ok
    assert result.name == "#bug-report"


def test_the_missing_permissions_are_named_exactly(guild: FakeGuild) -> None:
    guild.add("1", "bug-report")
    guild.deny("1", BOT_ROLE, SEND_MESSAGES | ATTACH_FILES)
    assert check(guild, "bug_report_channel_id", "1") == (
        "I can't use #bug-report: I'm missing **Send Messages** and **Attach Files** there."
    )


def test_overwrites_for_everyone_roles_and_the_bot_itself_all_count(guild: FakeGuild) -> None:
    guild.add("1", "ideas")
    # @everyone's deny in the channel removes what the bot's server role grants...
    guild.deny("1", GUILD, EMBED_LINKS)
    assert check(guild, "feature_request_channel_id", "1") == (
        "I can't use #ideas: I'm missing **Embed Links** there."
    )
    # ...unless an overwrite for the bot's role allows it again; the bot's own overwrite is last.
    guild.channels["1"]["permission_overwrites"].append(
        {"id": BOT_ROLE, "type": 0, "allow": str(EMBED_LINKS), "deny": "0"}
    )
    assert check(guild, "feature_request_channel_id", "1") is None
    guild.deny("1", BOT, CREATE_PUBLIC_THREADS)
    assert check(guild, "feature_request_channel_id", "1") == (
        "I can't use #ideas: I'm missing **Create Public Threads** there."
    )


def test_administrator_passes_every_overwrite(guild: FakeGuild) -> None:
    guild.roles[1]["permissions"] = str(ADMINISTRATOR)
    guild.add("1", "bug-report")
    guild.deny("1", BOT_ROLE, VIEW_CHANNEL | SEND_MESSAGES)
    assert check(guild, "bug_report_channel_id", "1") is None


def test_three_missing_permissions_read_as_a_list(guild: FakeGuild) -> None:
    guild.add("1", "support")
    guild.deny("1", BOT_ROLE, CREATE_PRIVATE_THREADS | SEND_MESSAGES_IN_THREADS | ATTACH_FILES)
    assert check(guild, "support_channel_id", "1") == (
        "I can't use #support: I'm missing **Attach Files**, **Create Private Threads** and "
        "**Send Messages in Threads** there."
    )


def test_a_channel_the_bot_cannot_see_is_named_from_the_select(guild: FakeGuild) -> None:
    guild.refusals["1"] = DiscordApiError(403, 50001, "Missing Access")
    assert check(guild, "bug_report_channel_id", "1", shown_name="secret") == (
        "I can't use #secret: I'm missing **View Channels** there."
    )


def test_a_deleted_channel_is_explained(guild: FakeGuild) -> None:
    assert check(guild, "bug_report_channel_id", "404") == (
        "I can't find that channel: it may have been deleted. Pick another."
    )


def test_an_outage_is_raised_so_the_job_is_retried(guild: FakeGuild) -> None:
    guild.refusals["1"] = DiscordUnavailable("down", attempts=3)
    with pytest.raises(DiscordUnavailable):
        check(guild, "bug_report_channel_id", "1")


def test_another_servers_channel_is_refused(guild: FakeGuild) -> None:
    guild.add("1", "elsewhere", guild=OTHER_GUILD)
    assert check(guild, "bug_report_channel_id", "1") == (
        "#elsewhere isn't a channel of this server. Pick one of this server's channels."
    )


@pytest.mark.parametrize(
    ("setting", "kind", "problem"),
    [
        ("support_channel_id", 15, "a forum channel. Support chats (private threads) go in a text channel."),
        ("bug_report_channel_id", 5, "an announcement channel. Bug reports go to a text or forum channel."),
        (
            "announcements_channel_id",
            15,
            "a forum channel. Announcements go to a text or announcement channel.",
        ),
        ("feature_request_channel_id", 2, "a voice channel. Feature requests go to a text or forum channel."),
        ("announcements_channel_id", 5, None),
        ("announcements_channel_id", 0, None),
    ],
)
def test_only_the_channel_types_that_fit_are_taken(
    guild: FakeGuild, setting: str, kind: int, problem: str | None
) -> None:
    guild.add("1", "c", kind)
    assert check(guild, setting, "1") == (f"#c is {problem}" if problem else None)


def test_announcements_need_only_posting_with_embeds(guild: FakeGuild) -> None:
    guild.add("1", "news", 5)
    guild.deny("1", BOT_ROLE, ATTACH_FILES | CREATE_PUBLIC_THREADS)
    assert check(guild, "announcements_channel_id", "1") is None
    guild.deny("1", BOT_ROLE, EMBED_LINKS)
    problem = check(guild, "announcements_channel_id", "1")
    assert problem == "I can't use #news: I'm missing **Embed Links** there."


def test_a_forum_with_all_its_tags_needs_no_manage_channels(guild: FakeGuild) -> None:
    guild.add("1", "bugs", 15, available_tags=ALL_TAGS)
    assert check(guild, "bug_report_channel_id", "1") is None


def test_a_forum_missing_tags_needs_manage_channels_to_create_them(guild: FakeGuild) -> None:
    guild.add("1", "bugs", 15, available_tags=[{"id": "1", "name": "bug"}, {"id": "2", "name": "OPEN"}])
    assert check(guild, "bug_report_channel_id", "1") == (
        "I can't use #bugs: I'm missing **Manage Channels** there, which I need to create the case tags "
        "this forum lacks (Triaged, In progress, Resolved, Won't fix, Duplicate). Grant it, or create "
        "those tags yourself, then pick the forum again."
    )
    guild.roles[1]["permissions"] = str(EVERYTHING_NEEDED | MANAGE_CHANNELS)
    assert check(guild, "bug_report_channel_id", "1") is None


def test_a_forum_missing_tags_and_permissions_names_them_all(guild: FakeGuild) -> None:
    guild.add("1", "ideas", 15, available_tags=[])
    guild.deny("1", BOT_ROLE, SEND_MESSAGES_IN_THREADS)
    problem = check(guild, "feature_request_channel_id", "1")
    assert problem == (
        "I can't use #ideas: I'm missing **Send Messages in Threads** and **Manage Channels** there. "
        "Manage Channels lets me create the case tags this forum lacks (Feature, Open, Triaged, "
        "In progress, Resolved, Won't fix, Duplicate); grant it, or create those tags yourself."
    )


def test_a_forum_does_not_need_create_public_threads(guild: FakeGuild) -> None:
    guild.add("1", "bugs", 15, available_tags=ALL_TAGS)
    guild.deny("1", BOT_ROLE, CREATE_PUBLIC_THREADS)
    assert check(guild, "bug_report_channel_id", "1") is None


def test_a_forum_with_no_room_for_the_missing_tags_is_refused(guild: FakeGuild) -> None:
    guild.roles[1]["permissions"] = str(EVERYTHING_NEEDED | MANAGE_CHANNELS)
    others = [{"id": str(100 + i), "name": f"Topic {i}"} for i in range(15)]
    guild.add("1", "bugs", 15, available_tags=[*others, {"id": "9", "name": "Bug"}])
    assert check(guild, "bug_report_channel_id", "1") == (
        "I can't use #bugs: it has 16 tags and Discord allows 20, so the case tags it lacks (Open, "
        "Triaged, In progress, Resolved, Won't fix, Duplicate) don't fit. Remove some tags, then pick "
        "the forum again."
    )
    guild.channels["1"]["available_tags"] = [*others[:13], {"id": "9", "name": "Bug"}]  # 14 + 6 fit
    assert check(guild, "bug_report_channel_id", "1") is None
