"""Feed entries for tests, with only the fields a test cares about spelled out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flexcord.feeds import FeedEntry

#: A Thursday, noon UTC.
NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def make_entry(
    *,
    guid: str | None = None,
    title: str = "Patch 1.2",
    link: str | None = None,
    summary: str = "",
    author: str = "",
    published: datetime | None = None,
    image_url: str | None = None,
) -> FeedEntry:
    return FeedEntry(
        guid=guid,
        title=title,
        link=link,
        summary=summary,
        author=author,
        published=published,
        image_url=image_url,
    )


def numbered_entries(count: int) -> list[FeedEntry]:
    """``count`` entries newest first, as a parsed feed lists them: number ``count`` was published
    last, an hour after the one before it."""
    return [
        make_entry(
            guid=f"https://example.com/posts/{number}",
            title=f"Post {number}",
            published=NOON + timedelta(hours=number),
        )
        for number in range(count, 0, -1)
    ]
