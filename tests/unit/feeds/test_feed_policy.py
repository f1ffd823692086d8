"""Polling policy: backoff, pausing a failing feed (and telling staff once), and which entries a
poll posts, in which order, within the caps."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flexcord.feeds import (
    DEFAULT_INTERVAL_SECONDS,
    MAX_BACKOFF_SECONDS,
    MAX_POSTS_PER_POLL,
    MIN_INTERVAL_SECONDS,
    PAUSE_AFTER_FAILURES,
    FeedFilters,
    FeedHealth,
    after_failure,
    after_success,
    baseline,
    new_entries,
    next_poll_delay,
)
from flexcord.feeds.model import FeedEntry
from tests.unit.feeds.feed_fakes import make_entry, numbered_entries

EVERYTHING = FeedFilters()


def titles(entries: list[FeedEntry]) -> list[str]:
    return [entry.title for entry in entries]


def seen_among(entries: list[FeedEntry]) -> Callable[[str], bool]:
    """``is_seen`` for a store that holds ``entries``."""
    keys = {entry.identity_key() for entry in entries}
    return keys.__contains__


def test_a_healthy_feed_is_polled_at_its_interval_or_its_ttl() -> None:
    assert next_poll_delay(interval_seconds=900, ttl_seconds=None, consecutive_failures=0) == 900
    assert next_poll_delay(interval_seconds=900, ttl_seconds=60, consecutive_failures=0) == 900
    assert next_poll_delay(interval_seconds=900, ttl_seconds=3600, consecutive_failures=0) == 3600
    # A week's ttl still gets a daily look.
    assert next_poll_delay(interval_seconds=900, ttl_seconds=7 * 86400, consecutive_failures=0) == 86400
    assert (
        next_poll_delay(interval_seconds=60, ttl_seconds=None, consecutive_failures=0) == MIN_INTERVAL_SECONDS
    )


def test_failures_back_off_exponentially_up_to_the_cap() -> None:
    delays = [
        next_poll_delay(
            interval_seconds=DEFAULT_INTERVAL_SECONDS, ttl_seconds=None, consecutive_failures=failures
        )
        for failures in range(1, 9)
    ]
    assert delays == [1800, 3600, 7200, 14400, 21600, 21600, 21600, 21600]
    assert delays[-1] == MAX_BACKOFF_SECONDS
    huge = next_poll_delay(interval_seconds=900, ttl_seconds=None, consecutive_failures=10_000)
    assert huge == MAX_BACKOFF_SECONDS


def test_the_failure_that_pauses_a_feed_reports_it_once() -> None:
    health = FeedHealth()
    reports = []
    for attempt in range(1, 10):
        health, paused_now = after_failure(health, f"HTTP 503 (attempt {attempt})")
        reports.append(paused_now)
        assert health.consecutive_failures == attempt
        assert health.last_error == f"HTTP 503 (attempt {attempt})"
        assert health.paused == (attempt >= PAUSE_AFTER_FAILURES)
    assert reports == [attempt == PAUSE_AFTER_FAILURES for attempt in range(1, 10)]


def test_success_resets_failures_but_does_not_resume() -> None:
    failing = FeedHealth(consecutive_failures=3, last_error="HTTP 500")
    assert after_success(failing) == FeedHealth()
    paused = FeedHealth(consecutive_failures=6, paused=True, last_error="timed out after 10 s")
    assert after_success(paused) == FeedHealth(paused=True)


def test_a_resumed_feed_that_fails_again_is_reported_again() -> None:
    health = FeedHealth(consecutive_failures=5)
    health, paused_now = after_failure(health, "HTTP 404")
    assert paused_now
    resumed = FeedHealth()  # staff resume: the poller starts it afresh
    for _ in range(PAUSE_AFTER_FAILURES - 1):
        resumed, paused_now = after_failure(resumed, "HTTP 404")
        assert not paused_now
    assert after_failure(resumed, "HTTP 404")[1]


def test_an_error_page_is_not_kept_whole() -> None:
    health, _ = after_failure(FeedHealth(), "x" * 10_000)
    assert len(health.last_error) == 300


def test_baseline_of_a_large_feed_posts_only_the_backfill_oldest_first() -> None:
    feed = numbered_entries(50)
    assert baseline(feed, backfill=0, filters=EVERYTHING) == []
    assert titles(baseline(feed, backfill=3, filters=EVERYTHING)) == ["Post 48", "Post 49", "Post 50"]
    assert len(baseline(feed, backfill=80, filters=EVERYTHING)) == 50


def test_baseline_backfills_only_entries_that_pass_the_filters() -> None:
    feed = numbered_entries(10)
    odd = FeedFilters(include=("/post [13579]$/",))
    assert titles(baseline(feed, backfill=2, filters=odd)) == ["Post 7", "Post 9"]


def test_new_entries_are_the_unseen_ones_oldest_first() -> None:
    feed = numbered_entries(10)
    already = feed[3:]  # posts 1 to 7 were seen
    assert titles(
        new_entries(feed, is_seen=seen_among(already), filters=EVERYTHING, per_poll_cap=5, remaining_today=50)
    ) == [
        "Post 8",
        "Post 9",
        "Post 10",
    ]


def test_capped_polls_post_the_oldest_and_leave_the_rest_for_later() -> None:
    feed = numbered_entries(10)
    seen: list[FeedEntry] = feed[8:]  # posts 1 and 2 were seen
    first = new_entries(
        feed,
        is_seen=seen_among(seen),
        filters=EVERYTHING,
        per_poll_cap=MAX_POSTS_PER_POLL,
        remaining_today=50,
    )
    assert titles(first) == ["Post 3", "Post 4", "Post 5", "Post 6", "Post 7"]
    seen += first
    second = new_entries(
        feed,
        is_seen=seen_among(seen),
        filters=EVERYTHING,
        per_poll_cap=MAX_POSTS_PER_POLL,
        remaining_today=50,
    )
    assert titles(second) == ["Post 8", "Post 9", "Post 10"]


def test_the_daily_allowance_caps_a_poll() -> None:
    feed = numbered_entries(10)
    nothing = seen_among([])
    assert titles(
        new_entries(feed, is_seen=nothing, filters=EVERYTHING, per_poll_cap=5, remaining_today=2)
    ) == ["Post 1", "Post 2"]
    assert new_entries(feed, is_seen=nothing, filters=EVERYTHING, per_poll_cap=5, remaining_today=0) == []
    assert new_entries(feed, is_seen=nothing, filters=EVERYTHING, per_poll_cap=5, remaining_today=-3) == []


def test_filtered_out_entries_are_not_posted() -> None:
    feed = numbered_entries(6)
    no_fours = FeedFilters(exclude=("post 4",))
    posted = new_entries(
        feed, is_seen=seen_among(feed[3:]), filters=no_fours, per_poll_cap=5, remaining_today=50
    )
    assert titles(posted) == ["Post 5", "Post 6"]


def test_an_entry_listed_twice_is_posted_once() -> None:
    twice = [
        make_entry(guid="https://example.com/a?utm_source=rss", title="A again"),
        make_entry(guid="https://example.com/b", title="B"),
        make_entry(guid="HTTPS://example.com/a", title="A"),
    ]
    posted = new_entries(
        twice, is_seen=seen_among([]), filters=EVERYTHING, per_poll_cap=5, remaining_today=50
    )
    assert titles(posted) == ["B", "A again"]
    assert titles(baseline(twice, backfill=5, filters=EVERYTHING)) == ["B", "A again"]


@pytest.mark.parametrize("cap", [0, -1])
def test_a_zero_cap_posts_nothing(cap: int) -> None:
    assert (
        new_entries(
            numbered_entries(3),
            is_seen=seen_among([]),
            filters=EVERYTHING,
            per_poll_cap=cap,
            remaining_today=50,
        )
        == []
    )
