"""Feed entry identity: the key that stops an entry from being posted twice survives the cosmetic
changes publishers make to guids and links, and still tells different entries apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from flexcord.feeds import entry_key_digest, normalize_identity
from tests.unit.feeds.feed_fakes import make_entry as entry


@pytest.mark.parametrize(
    "variant",
    [
        "https://example.com/posts/42",
        "HTTPS://Example.COM/Posts/42",
        "http://example.com/posts/42",
        "https://example.com:443/posts/42/",
        "https://example.com/posts/42#comments",
        "https://example.com/posts/42?utm_source=rss&utm_medium=feed",
        "https://example.com/posts/42?fbclid=abc123",
        "https://example.com/posts/42?UTM_Campaign=x&gclid=1&ref=home&si=7",
        "  https://example.com/posts/42  ",
    ],
)
def test_guid_variants_keep_the_key(variant: str) -> None:
    original = entry(guid="https://example.com/posts/42")
    assert entry(guid=variant).identity_key() == original.identity_key()


def test_a_non_url_guid_ignores_case_and_spaces() -> None:
    assert entry(guid=" yt:video:ABC123 ").identity_key() == entry(guid="yt:video:abc123").identity_key()
    assert entry(guid="yt:video:abc123").identity_key() == "id:yt:video:abc123"


def test_meaningful_query_parameters_count_but_not_their_order() -> None:
    first = normalize_identity("https://example.com/watch?v=1&list=2")
    assert first == normalize_identity("https://example.com/watch?list=2&v=1&utm_source=x")
    assert first != normalize_identity("https://example.com/watch?v=2&list=2")


def test_a_non_default_port_counts() -> None:
    assert normalize_identity("https://example.com:8443/a") != normalize_identity("https://example.com/a")
    assert normalize_identity("http://example.com:80/a") == normalize_identity("https://example.com/a")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://example.com/posts/42", "https://example.com/posts/43"),
        ("https://example.com/posts/42", "https://example.org/posts/42"),
        ("tag:example.com,2026:1", "tag:example.com,2026:2"),
    ],
)
def test_distinct_entries_have_distinct_keys(first: str, second: str) -> None:
    assert entry(guid=first).identity_key() != entry(guid=second).identity_key()


def test_without_a_guid_the_link_and_title_identify_the_entry() -> None:
    first = entry(link="https://example.com/news?utm_source=rss", title="Patch 1.2")
    assert first.identity_key() == "link:https://example.com/news|patch 1.2"
    assert first.identity_key() == entry(link="https://EXAMPLE.com/news/", title="PATCH 1.2").identity_key()
    # One news page, many entries: the title tells them apart.
    assert first.identity_key() != entry(link="https://example.com/news", title="Patch 1.3").identity_key()


def test_with_neither_guid_nor_link_the_title_identifies_the_entry() -> None:
    assert entry(title="Server Maintenance").identity_key() == "title:server maintenance"
    assert entry(guid="  ", link="", title="A").identity_key() == "title:a"


def test_a_guid_wins_over_the_link() -> None:
    with_guid = entry(guid="abc", link="https://example.com/a")
    assert with_guid.identity_key() == entry(guid="ABC", link="https://example.com/b").identity_key()


def test_digest_is_short_stable_and_distinct() -> None:
    digest = entry_key_digest("id:abc")
    assert len(digest) == 32
    assert int(digest, 16) >= 0
    assert digest == entry_key_digest("id:abc")
    assert digest != entry_key_digest("id:abd")


def test_published_is_kept_in_utc_and_must_be_aware() -> None:
    paris_noon = datetime(2026, 12, 3, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    assert entry(published=paris_noon).published == datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    assert entry(published=paris_noon).published.tzinfo is UTC  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="timezone-aware"):
        entry(published=datetime(2026, 12, 3, 12, 0))


def test_a_bare_guid_that_gains_tracking_parameters_keeps_its_identity() -> None:
    plain = normalize_identity("Flexcord-Blog-Post-0051")
    assert normalize_identity("fLEXCORD-bLOG-pOST-0051?utm_source=rss&fbclid=abc") == plain
    assert normalize_identity("tag:blog,2026:post-51?ref=x&page=2") == "tag:blog,2026:post-51?page=2"
    assert normalize_identity("Flexcord-Blog-Post-0052") != plain
