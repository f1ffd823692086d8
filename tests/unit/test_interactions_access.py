"""Who may use Flexcord: only the allowed servers (and DMs, which the worker checks), and each
member at most a few queue-bound requests a minute."""

from __future__ import annotations

import importlib.util
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from flexcord.config import ConfigurationError, DiscordSettings, reset_cached_settings
from flexcord.interactions.access import (
    NoRateLimit,
    RateDecision,
    ServerAllowList,
    epoch_minute,
    seconds_left_in_window,
)
from flexcord.interactions.endpoint import InteractionsEndpoint
from flexcord.jobs.model import JobKind
from tests.support.clock import FixedClock
from tests.support.signing import TEST_PUBLIC_KEY, http_event, signed_headers
from tests.unit.fakes import RecordingQueue

NOW = 1_790_000_000  # 20 s into a minute
ALLOWED, STRANGER = "900", "666"
REFUSAL = "Flexcord isn't set up for this server."


class InMemoryRateLimiter:
    """The fixed one-minute window of the DynamoDB limiter, counted in a dict."""

    def __init__(self, limit: int, clock: Any) -> None:
        self.limit = limit
        self.clock = clock
        self.hits: Counter[tuple[str, int]] = Counter()

    def attempt(self, user_id: str) -> RateDecision:
        now = self.clock()
        self.hits[user_id, epoch_minute(now)] += 1
        if self.hits[user_id, epoch_minute(now)] <= self.limit:
            return RateDecision(allowed=True)
        return RateDecision(allowed=False, retry_after_seconds=seconds_left_in_window(now))


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def limiter(clock: FixedClock) -> InMemoryRateLimiter:
    return InMemoryRateLimiter(6, clock)


@pytest.fixture
def endpoint(queue: RecordingQueue, clock: FixedClock, limiter: InMemoryRateLimiter) -> InteractionsEndpoint:
    return InteractionsEndpoint(
        public_key=TEST_PUBLIC_KEY,
        queue=lambda: queue,
        clock=clock,
        servers=ServerAllowList.of([ALLOWED]),
        rate_limiter=limiter,
    )


_ids = iter(range(1_300_000_000_000_000_000, 1_400_000_000_000_000_000))


def interaction(kind: int, data: dict[str, Any], *, guild_id: str | None = ALLOWED) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(next(_ids)),
        "application_id": "1200000000000000000",
        "type": kind,
        "token": "interaction-token",
        "version": 1,
        "channel_id": "901",
        "locale": "en-GB",
        "data": data,
    }
    user = {"id": "111", "username": "alice", "global_name": "Alice"}
    if guild_id is None:
        payload["user"] = user
    else:
        payload.update(guild_id=guild_id, member={"user": user, "roles": []})
    return payload


def call(endpoint: InteractionsEndpoint, payload: dict[str, Any], clock: FixedClock) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    result = endpoint.handle(http_event(body, signed_headers(body, timestamp=int(clock.now))))
    assert result["statusCode"] == 200
    answer: dict[str, Any] = json.loads(result["body"])
    return answer


HELPME = (2, {"name": "helpme", "options": [{"name": "question", "value": "my pass vanished"}]})
BUG_COMMAND = (2, {"name": "bug", "type": 1})
BUG_SUBMIT = (
    5,
    {
        "custom_id": "case:bug",
        "components": [
            {"type": 18, "component": {"type": 4, "custom_id": key, "value": value}}
            for key, value in {
                "title": "Raid lobby freezes",
                "what_happened": "It froze",
                "steps": "1. Join",
                "expected_actual": "x",
            }.items()
        ],
    },
)
BUTTON = (3, {"custom_id": "case:show:7", "component_type": 2})
REPLY_SUBMIT = (
    5,
    {
        "custom_id": "chat:reply",
        "components": [{"type": 18, "component": {"type": 4, "custom_id": "message", "value": "hi"}}],
    },
)
MYCASES = (2, {"name": "mycases"})


@pytest.mark.parametrize("request_", [HELPME, BUG_COMMAND, BUG_SUBMIT, BUTTON, REPLY_SUBMIT, MYCASES])
def test_a_stranger_servers_interactions_are_refused_politely_and_queue_nothing(
    endpoint: InteractionsEndpoint,
    queue: RecordingQueue,
    clock: FixedClock,
    request_: tuple[int, dict[str, Any]],
) -> None:
    answer = call(endpoint, interaction(*request_, guild_id=STRANGER), clock)
    assert answer["type"] == 4
    assert answer["data"]["content"] == REFUSAL
    assert answer["data"]["flags"] == 64
    assert queue.jobs == []


def test_a_stranger_server_still_gets_a_pong_and_an_empty_autocomplete(
    endpoint: InteractionsEndpoint, clock: FixedClock
) -> None:
    assert call(endpoint, {"type": 1, "id": "1", "application_id": "2", "guild_id": STRANGER}, clock) == {
        "type": 1
    }
    answer = call(endpoint, interaction(4, {"name": "case"}, guild_id=STRANGER), clock)
    assert answer == {"type": 8, "data": {"choices": []}}


@pytest.mark.parametrize("guild_id", [ALLOWED, None])
def test_the_allowed_server_and_dms_get_through(
    endpoint: InteractionsEndpoint, queue: RecordingQueue, clock: FixedClock, guild_id: str | None
) -> None:
    assert call(endpoint, interaction(*HELPME, guild_id=guild_id), clock)["type"] == 5
    [job] = queue.jobs
    assert (job.kind, job.interaction.guild_id) == (JobKind.OPEN_CHAT, guild_id)


def test_no_allow_list_answers_every_server(queue: RecordingQueue, clock: FixedClock) -> None:
    open_endpoint = InteractionsEndpoint(public_key=TEST_PUBLIC_KEY, queue=lambda: queue, clock=clock)
    assert call(open_endpoint, interaction(*HELPME, guild_id=STRANGER), clock)["type"] == 5


def test_the_seventh_helpme_in_a_minute_is_refused_and_the_next_minute_is_open_again(
    endpoint: InteractionsEndpoint, queue: RecordingQueue, clock: FixedClock
) -> None:
    answers = [call(endpoint, interaction(*HELPME), clock) for _ in range(7)]
    assert [a["type"] for a in answers] == [5] * 6 + [4]
    refusal = answers[-1]["data"]
    assert refusal["flags"] == 64
    assert "try again in 40 seconds" in refusal["content"]  # the window ends at NOW + 40 s
    assert len(queue.jobs) == 6
    clock.now += 40
    assert call(endpoint, interaction(*HELPME), clock)["type"] == 5
    assert len(queue.jobs) == 7


def test_reply_and_case_submits_share_the_members_budget(
    endpoint: InteractionsEndpoint, queue: RecordingQueue, clock: FixedClock
) -> None:
    for request_ in [HELPME, REPLY_SUBMIT, BUG_SUBMIT, HELPME, REPLY_SUBMIT, BUG_SUBMIT]:
        assert call(endpoint, interaction(*request_), clock)["type"] == 5
    assert call(endpoint, interaction(*BUG_SUBMIT), clock)["type"] == 4
    assert call(endpoint, interaction(*REPLY_SUBMIT), clock)["type"] == 4
    assert len(queue.jobs) == 6


def test_opening_a_form_looking_up_cases_and_invalid_submissions_are_not_counted(
    endpoint: InteractionsEndpoint, limiter: InMemoryRateLimiter, clock: FixedClock
) -> None:
    invalid = (5, {"custom_id": "case:bug", "components": []})
    for request_ in [BUG_COMMAND, MYCASES, BUTTON, invalid] * 3:
        call(endpoint, interaction(*request_), clock)
    assert sum(limiter.hits.values()) == 0


def test_a_limiter_that_fails_unexpectedly_costs_an_apology_not_a_500(
    queue: RecordingQueue, clock: FixedClock
) -> None:
    class Broken:
        def attempt(self, user_id: str) -> RateDecision:
            raise RuntimeError("boom")

    broken = InteractionsEndpoint(
        public_key=TEST_PUBLIC_KEY, queue=lambda: queue, clock=clock, rate_limiter=Broken()
    )
    assert "went wrong" in call(broken, interaction(*HELPME), clock)["data"]["content"]


# ---------------------------------------------------------------- settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in (
        "DISCORD_GUILD_ID",
        "DISCORD_ALLOWED_GUILD_IDS",
        "MEMBER_RATE_LIMIT_PER_MINUTE",
        "TABLE_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISCORD_APPLICATION_ID", "1200000000000000000")
    monkeypatch.setenv("DISCORD_PUBLIC_KEY", TEST_PUBLIC_KEY)
    reset_cached_settings()
    yield monkeypatch
    reset_cached_settings()


@pytest.mark.parametrize(
    ("guild_id", "allowed", "expected"),
    [
        (None, None, ()),
        ("900", None, ("900",)),
        ("900", "901, 902,,", ("901", "902")),
        (None, " 903 ", ("903",)),
    ],
)
def test_allowed_servers_come_from_the_list_else_the_configured_guild(
    env: pytest.MonkeyPatch, guild_id: str | None, allowed: str | None, expected: tuple[str, ...]
) -> None:
    if guild_id:
        env.setenv("DISCORD_GUILD_ID", guild_id)
    if allowed:
        env.setenv("DISCORD_ALLOWED_GUILD_IDS", allowed)
    assert DiscordSettings.from_env().allowed_guild_ids == expected


def test_the_rate_limit_defaults_to_twenty_and_bad_settings_fail_loudly(env: pytest.MonkeyPatch) -> None:
    assert DiscordSettings.from_env().member_rate_limit_per_minute == 20
    env.setenv("MEMBER_RATE_LIMIT_PER_MINUTE", "0")
    assert DiscordSettings.from_env().member_rate_limit_per_minute == 0
    for bad in ("-1", "six"):
        env.setenv("MEMBER_RATE_LIMIT_PER_MINUTE", bad)
        with pytest.raises(ConfigurationError):
            DiscordSettings.from_env()
    env.setenv("MEMBER_RATE_LIMIT_PER_MINUTE", "6")
    env.setenv("DISCORD_ALLOWED_GUILD_IDS", "900,my-server")
    with pytest.raises(ConfigurationError, match="my-server"):
        DiscordSettings.from_env()


def load_app() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "functions" / "interactions" / "app.py"
    spec = importlib.util.spec_from_file_location("interactions_app_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_function_wires_the_allow_list_and_a_limiter_only_with_a_table(env: pytest.MonkeyPatch) -> None:
    from flexcord.adapters.storage.rate_limit import DynamoMemberRateLimiter

    env.setenv("DISCORD_GUILD_ID", ALLOWED)
    app = load_app()
    settings = DiscordSettings.from_env()
    assert app.allowed_servers(settings) == ServerAllowList.of([ALLOWED])
    assert isinstance(app.member_rate_limiter(settings), NoRateLimit)  # no TABLE_NAME
    env.setenv("TABLE_NAME", "flexcord")
    reset_cached_settings()
    assert isinstance(app.member_rate_limiter(settings), DynamoMemberRateLimiter)
    env.setenv("MEMBER_RATE_LIMIT_PER_MINUTE", "0")
    assert isinstance(app.member_rate_limiter(DiscordSettings.from_env()), NoRateLimit)
    # A stranger's request is refused before the queue is ever built.
    clock = FixedClock(time.time())
    assert call(app.endpoint(), interaction(*HELPME, guild_id=STRANGER), clock)["data"]["content"] == REFUSAL
