"""POST /discord/interactions under fuzz: validly signed interactions of every type with broken
fields, random bytes, odd events. Never a 5xx, never an exception, always a well-formed answer
Discord would accept, and nothing queued for a refused request."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import example, given, settings

from flexcord.interactions.access import ServerAllowList
from flexcord.interactions.endpoint import InteractionsEndpoint
from tests.fuzz.harness import (
    FAN_OUT,
    INTERACTIONS,
    InMemoryRateLimiter,
    SqsLikeQueue,
    SteppingClock,
    exercise,
    variants_of,
)
from tests.fuzz.strategies import (
    ALLOWED_GUILD,
    NOW,
    STRANGER_GUILD,
    discord_headers,
    envelope,
    interactions,
    json_body,
    odd_event,
    random_bodies,
    scrambled,
    seeds,
)
from tests.support.signing import TEST_PUBLIC_KEY

FUZZ = settings.get_profile("flexcord-fuzz")
PATH = "/discord/interactions"
RESPONSE_TYPES = {1, 4, 5, 6, 7, 8, 9}


def make_endpoint() -> tuple[InteractionsEndpoint, SqsLikeQueue]:
    queue = SqsLikeQueue()
    # A member's requests 7 s apart against a limit of 3 a minute: variants of one payload (one
    # member) sometimes reach it.
    limiter = InMemoryRateLimiter(3, SteppingClock(NOW, 7.0))
    endpoint = InteractionsEndpoint(
        public_key=TEST_PUBLIC_KEY,
        queue=lambda: queue,
        clock=lambda: NOW,
        servers=ServerAllowList.of([ALLOWED_GUILD]),
        rate_limiter=limiter,
    )
    return endpoint, queue


def regression(kind: int, data: dict[str, Any]) -> dict[str, Any]:
    """A payload that once broke the endpoint: run first on every run."""
    return {
        "id": "1300000000000000001",
        "application_id": "1200000000000000000",
        "type": kind,
        "token": "t",
        "guild_id": ALLOWED_GUILD,
        "member": {"user": {"id": "111000000000000000", "username": "alice"}, "roles": []},
        "data": data,
    }


@settings(FUZZ)
@given(payload=interactions(), seed=seeds)
# Found by this fuzz: components or file-upload values that are not lists raised TypeError, and
# a "²" in a case button's number passed isdigit() and failed int().
@example(payload=regression(5, {"custom_id": "case:bug", "components": 1.5}), seed=0)
@example(
    payload=regression(5, {"custom_id": "case:bug", "components": [{"type": 1, "components": 7}]}), seed=0
)
@example(
    payload=regression(
        5,
        {
            "custom_id": "case:bug",
            "components": [{"type": 18, "component": {"type": 19, "custom_id": "screenshot", "values": 3}}],
        },
    ),
    seed=0,
)
@example(payload=regression(3, {"custom_id": "case:show:²", "component_type": 2}), seed=0)
# And an unknown command's name, echoed whole, took the answer past Discord's 2,000 characters.
@example(payload=regression(2, {"name": "x" * 2100}), seed=0)
def test_signed_interactions_of_every_shape_get_an_answer_discord_accepts(payload: Any, seed: int) -> None:
    rng = random.Random(seed)
    endpoint, queue = make_endpoint()
    variants = [payload, *(scrambled(payload, rng, breaks=rng.randint(1, 3)) for _ in range(FAN_OUT - 1))]
    for variant in variants:
        body = json_body(variant, rng)
        queued_before = len(queue.jobs)

        def check(status: int, answer: Any, variant: Any = variant, before: int = queued_before) -> None:
            queued = queue.jobs[before:]
            assert status in (200, 400)
            if status == 400:
                assert queued == []
                return
            check_answer(answer)
            assert len(queued) <= 1
            if queued:
                assert answer["type"] in (5, 6)  # queued work is always deferred
            if (
                isinstance(variant, dict)
                and variant.get("guild_id") == STRANGER_GUILD
                and variant.get("type") != 1
            ):
                assert queued == []
                assert answer["type"] in (4, 8)

        exercise(INTERACTIONS, endpoint.handle, envelope(body, discord_headers(body), rng, path=PATH), check)


@settings(FUZZ)
@given(body=random_bodies, seed=seeds)
def test_random_bytes_and_odd_events_are_refused_cleanly(body: bytes, seed: int) -> None:
    rng = random.Random(seed)
    endpoint, queue = make_endpoint()
    for variant in variants_of(body, rng):
        choice = rng.choice(["unsigned bytes", "signed bytes", "odd event"])
        if choice == "odd event":
            event = odd_event(variant, rng, PATH)
        else:
            headers = discord_headers(variant) if choice == "signed bytes" else {}
            event = envelope(variant, headers, rng, path=PATH)
        exercise(INTERACTIONS, endpoint.handle, event, check_refused)
    assert queue.jobs == []


def check_refused(status: int, answer: Any) -> None:
    assert status in (200, 400, 401, 413)
    if status == 200:  # only a signed body that happens to be a PING
        check_answer(answer)


def test_an_oversized_but_signed_body_is_refused_before_it_is_read() -> None:
    endpoint, queue = make_endpoint()
    body = b'{"type": 2, "pad": "' + b"x" * (300 * 1024) + b'"}'
    event = envelope(body, discord_headers(body), random.Random(0), path=PATH)
    assert exercise(INTERACTIONS, endpoint.handle, event)[0] == 413
    assert queue.jobs == []


def check_answer(answer: Any) -> None:
    """An interaction response Discord would take (https://discord.com/developers/docs)."""
    assert isinstance(answer, dict)
    assert answer["type"] in RESPONSE_TYPES
    data = answer.get("data") or {}
    if answer["type"] == 4:
        assert data["flags"] == 64  # every Flexcord reply is ephemeral
        assert isinstance(data["content"], str)
        assert 1 <= len(data["content"]) <= 2000
        assert data["allowed_mentions"] == {"parse": []}
    if answer["type"] == 5:
        assert data == {"flags": 64}
    if answer["type"] == 8:
        assert len(data["choices"]) <= 25
    if answer["type"] == 9:
        assert 1 <= len(data["custom_id"]) <= 100
        assert 1 <= len(data["title"]) <= 45
        assert 1 <= len(data["components"]) <= 5
