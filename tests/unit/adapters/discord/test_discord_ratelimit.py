"""The rate limiter on its own: buckets, the global window, 429 bookkeeping (no HTTP)."""

import pytest

from flexcord.adapters.discord import RateLimited, RateLimiter, Route
from flexcord.adapters.discord.ratelimit import parse_rate_limit_hit


def bucket_headers(bucket: str, remaining: int, reset_after: float, limit: int = 5) -> dict[str, str]:
    return {
        "X-RateLimit-Bucket": bucket,
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset-After": str(reset_after),
    }


def channel_post(channel_id: str = "1") -> Route:
    return Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)


def followup(token: str = "interaction-token") -> Route:  # noqa: S107 - a test value
    return Route(
        "POST", "/webhooks/{application_id}/{interaction_token}", application_id="9", interaction_token=token
    )


@pytest.fixture
def limiter(fake_time):
    return RateLimiter(clock=fake_time.clock, sleep=fake_time.sleep)


def test_an_unknown_bucket_never_waits(limiter, fake_time):
    assert limiter.acquire(channel_post(), max_wait=10) == 0
    assert fake_time.sleeps == []


def test_an_exhausted_bucket_waits_until_its_reset_then_refills(limiter, fake_time):
    route = channel_post()
    limiter.acquire(route, max_wait=10)
    limiter.record_response(route, bucket_headers("abc", remaining=0, reset_after=2.5))
    assert limiter.acquire(route, max_wait=10) == pytest.approx(2.5)
    assert fake_time.sleeps == [pytest.approx(2.5)]
    # Refilled to the limit (5): four more go through without waiting (one was just taken).
    for _ in range(4):
        limiter.acquire(route, max_wait=10)
    assert len(fake_time.sleeps) == 1


def test_remaining_is_counted_down_before_the_response_arrives(limiter, fake_time):
    route = channel_post()
    limiter.record_response(route, bucket_headers("abc", remaining=2, reset_after=1.0))
    limiter.acquire(route, max_wait=10)
    limiter.acquire(route, max_wait=10)
    assert fake_time.sleeps == []
    limiter.acquire(route, max_wait=10)  # the third in the window must wait for the reset
    assert fake_time.sleeps == [pytest.approx(1.0)]


def test_major_parameters_keep_buckets_apart(limiter, fake_time):
    limiter.record_response(channel_post("1"), bucket_headers("abc", remaining=0, reset_after=3))
    limiter.acquire(channel_post("2"), max_wait=10)
    assert fake_time.sleeps == []


def test_routes_sharing_a_bucket_hash_share_its_state(limiter, fake_time):
    edit = Route("PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id="1", message_id="5")
    fetch = Route("GET", "/channels/{channel_id}/messages/{message_id}", channel_id="1", message_id="6")
    limiter.record_response(edit, bucket_headers("shared", remaining=3, reset_after=1))
    limiter.record_response(fetch, bucket_headers("shared", remaining=0, reset_after=4))
    limiter.acquire(edit, max_wait=10)
    assert fake_time.sleeps == [pytest.approx(4)]


def test_a_wait_over_the_budget_raises_without_sleeping(limiter, fake_time):
    route = channel_post()
    limiter.record_response(route, bucket_headers("abc", remaining=0, reset_after=60))
    with pytest.raises(RateLimited) as raised:
        limiter.acquire(route, max_wait=10)
    assert raised.value.retry_after == pytest.approx(60)
    assert raised.value.is_global is False
    assert fake_time.sleeps == []


def test_global_limit_allows_fifty_per_second(limiter, fake_time):
    for channel in range(50):  # different channels: only the global limit applies
        limiter.acquire(channel_post(str(channel)), max_wait=10)
    assert fake_time.sleeps == []
    limiter.acquire(channel_post("51"), max_wait=10)
    assert fake_time.sleeps == [pytest.approx(1.0)]


def test_a_request_holds_its_place_in_the_global_window_until_a_second_after_its_answer(limiter, fake_time):
    """Discord counts a request when it arrives, between the send and the answer: a window
    counted from the send would let a slow request and the next second's first one meet."""
    limiter.acquire(channel_post("0"), max_wait=10)
    fake_time.now += 0.3  # the answer takes 0.3 s
    limiter.request_finished()
    for channel in range(1, 50):
        limiter.acquire(channel_post(str(channel)), max_wait=10)
        limiter.request_finished()
    fake_time.now += 0.7  # one second after the first send, 0.7 s after its answer
    limiter.acquire(channel_post("51"), max_wait=10)
    assert fake_time.sleeps == [pytest.approx(0.3)]


def test_request_finished_without_a_counted_request_changes_nothing(limiter, fake_time):
    limiter.request_finished()
    limiter.acquire(followup(), max_wait=10)  # not counted globally: nothing in flight
    limiter.request_finished()
    for channel in range(50):
        limiter.acquire(channel_post(str(channel)), max_wait=10)
    assert fake_time.sleeps == []


def test_a_long_route_wait_raises_at_once_when_capped_but_a_global_wait_is_slept(limiter, fake_time):
    route = channel_post()
    limiter.record_response(route, bucket_headers("b", remaining=0, reset_after=4.0))
    with pytest.raises(RateLimited) as raised:
        limiter.acquire(route, max_wait=10, max_route_wait=1.0)
    assert (raised.value.retry_after, raised.value.is_global) == (pytest.approx(4.0), False)
    assert fake_time.sleeps == []
    # A short route wait is slept as before.
    other = channel_post("2")
    limiter.record_response(other, bucket_headers("b", remaining=0, reset_after=0.5))
    limiter.acquire(other, max_wait=10, max_route_wait=1.0)
    assert fake_time.sleeps == [pytest.approx(0.5)]
    # The global window is this process's own share: waiting for it is never handed back.
    for channel in range(3, 53):
        limiter.acquire(channel_post(str(channel)), max_wait=10, max_route_wait=0.01)
    assert sum(fake_time.sleeps) > 0.5


def test_interaction_webhooks_are_exempt_from_the_global_limit(limiter, fake_time):
    for index in range(50):
        limiter.acquire(channel_post(str(index)), max_wait=10)
    for index in range(20):
        limiter.acquire(followup(f"token-{index}"), max_wait=10)
    assert fake_time.sleeps == []


def test_a_global_429_blocks_every_counted_route_but_not_interaction_webhooks(limiter, fake_time):
    limiter.record_rate_limited(channel_post("1"), 2.0, is_global=True)
    limiter.acquire(followup(), max_wait=10)
    assert fake_time.sleeps == []
    with pytest.raises(RateLimited) as raised:
        limiter.acquire(Route("POST", "/users/@me/channels"), max_wait=1.0)
    assert raised.value.is_global is True
    limiter.acquire(channel_post("2"), max_wait=10)
    assert fake_time.sleeps == [pytest.approx(2.0)]


def test_a_route_429_blocks_only_its_bucket(limiter, fake_time):
    limiter.record_rate_limited(channel_post("1"), 1.5, is_global=False)
    limiter.acquire(channel_post("2"), max_wait=10)
    assert fake_time.sleeps == []
    limiter.acquire(channel_post("1"), max_wait=10)
    assert fake_time.sleeps == [pytest.approx(1.5)]


def test_parse_rate_limit_hit_prefers_the_precise_body_value():
    hit = parse_rate_limit_hit(
        {"Retry-After": "2"}, {"message": "slow", "retry_after": 1.234, "global": False}
    )
    assert (hit.retry_after, hit.is_global, hit.from_discord) == (1.234, False, True)


def test_parse_rate_limit_hit_reads_global_from_header_and_falls_back_to_retry_after():
    hit = parse_rate_limit_hit({"retry-after": "7", "X-RateLimit-Global": "true"}, "<html>banned</html>")
    assert (hit.retry_after, hit.is_global, hit.from_discord) == (7.0, True, False)


def test_route_quotes_parameters_and_redacts_tokens():
    route = Route(
        "PATCH",
        "/webhooks/{application_id}/{interaction_token}/messages/@original",
        application_id="9",
        interaction_token="s3cr3t",
    )
    assert route.path == "/webhooks/9/s3cr3t/messages/@original"
    assert "s3cr3t" not in route.loggable_path
    assert "s3cr3t" not in repr(route)
    assert Route("GET", "/channels/{channel_id}", channel_id="../users").path == "/channels/..%2Fusers"
