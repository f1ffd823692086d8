"""What every fuzzed request goes through: the endpoint called in-process, the answer checked for
being a well-formed API Gateway response that is never a 5xx, and the figures counted for the
summary printed at the end of the run."""

from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import note

from flexcord.adapters.queue.job_queue import QueueUnavailable
from flexcord.interactions.access import RateDecision, epoch_minute, seconds_left_in_window
from flexcord.jobs.model import Job

#: What the interactions endpoint answers when a route raised: an exception all the same.
APOLOGY = "Something went wrong on our side"

Handler = Callable[[Mapping[str, Any]], dict[str, Any]]
Check = Callable[[int, Any], None]

#: Requests each generated example fans out into (see strategies.scrambled).
FAN_OUT = 5

#: The endpoint names used in the summary.
INTERACTIONS, CONVERSATION_EVENTS, CHATBOT = "interactions", "conversation-events", "chatbot"
ANNOUNCEMENTS = "announcements-webhook"
ENDPOINTS = (INTERACTIONS, CONVERSATION_EVENTS, CHATBOT, ANNOUNCEMENTS)


@dataclass
class Tally:
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    attacks: Counter[tuple[str, str]] = field(default_factory=Counter)
    attacks_rejected: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Twilio signs no timestamp: a replay is the original byte for byte, so it cannot be refused
    #: at the door; it must carry the original's deduplication key instead.
    replays: Counter[str] = field(default_factory=Counter)
    replays_deduplicated: Counter[str] = field(default_factory=Counter)

    def summary(self) -> list[str]:
        lines = [
            f"{'endpoint':<20} {'requests':>9} {'2xx':>7} {'4xx':>7} {'5xx':>5} {'exceptions':>10}"
            f" {'signature cases rejected/total':>31}"
        ]
        for name in ENDPOINTS:
            ok = sum(n for (e, s), n in self.statuses.items() if e == name and s < 300)
            client = sum(n for (e, s), n in self.statuses.items() if e == name and 400 <= s < 500)
            cases = sum(n for (e, _), n in self.attacks.items() if e == name)
            rejected = sum(n for (e, _), n in self.attacks_rejected.items() if e == name)
            lines.append(
                f"{name:<20} {self.requests[name]:>9} {ok:>7} {client:>7} {self.server_errors[name]:>5}"
                f" {self.exceptions[name]:>10} {f'{rejected}/{cases}':>31}"
            )
        lines.append("signature cases by attack (rejected/total):")
        for name in ENDPOINTS:
            attacks = sorted(a for (e, a) in self.attacks if e == name)
            figures = ", ".join(
                f"{a} {self.attacks_rejected[name, a]}/{self.attacks[name, a]}" for a in attacks
            )
            lines.append(f"  {name}: {figures}")
        for name in (CONVERSATION_EVENTS, CHATBOT):
            lines.append(
                f"  {name} replays (no timestamp to refuse): {self.replays_deduplicated[name]}"
                f"/{self.replays[name]} queued under the original's deduplication key"
            )
        lines.append(
            f"  {ANNOUNCEMENTS} replays within the window: {self.replays_deduplicated[ANNOUNCEMENTS]}"
            f"/{self.replays[ANNOUNCEMENTS]} queued under the original's deduplication key"
            " (after it: refused, 'replayed after the window' above)"
        )
        return lines


TALLY = Tally()


def exercise(
    name: str, handler: Handler, event: Mapping[str, Any], check: Check | None = None
) -> tuple[int, Any]:
    """Call the endpoint, count it, check its answer is well formed and not a 5xx, then run
    ``check(status, body)``; returns (status, parsed JSON body)."""
    TALLY.requests[name] += 1
    try:
        status, body = _checked(name, handler(event))
        if check is not None:
            check(status, body)
    except Exception:
        # A generated example fans out into several requests: say which one failed.
        note(f"failing request to {name}: {event!r:.3000}")
        if sys.exc_info()[0] is not AssertionError:
            TALLY.exceptions[name] += 1
        raise
    return status, body


def _checked(name: str, response: Any) -> tuple[int, Any]:
    status, body = well_formed(response)
    if _swallowed(body):
        TALLY.exceptions[name] += 1  # the interactions endpoint's safety net caught one
        raise AssertionError(f"{name} caught an exception and apologised (see the log)")
    TALLY.statuses[name, status] += 1
    if status >= 500:
        TALLY.server_errors[name] += 1
    assert status < 500, f"{name} answered {status}: {body}"
    return status, body


def _swallowed(body: Any) -> bool:
    content = (body.get("data") or {}).get("content") if isinstance(body, dict) else None
    return isinstance(content, str) and content.startswith(APOLOGY)


def well_formed(response: Any) -> tuple[int, Any]:
    """An API Gateway HTTP API (2.0) Lambda response as Flexcord writes them: status, JSON body."""
    assert isinstance(response, dict), response
    assert set(response) <= {"statusCode", "headers", "body", "isBase64Encoded", "cookies"}, response
    status = response["statusCode"]
    assert isinstance(status, int), response
    assert not isinstance(status, bool), response
    assert 100 <= status <= 599, response
    headers = response.get("headers", {})
    assert isinstance(headers, dict), response
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()), response
    assert headers.get("content-type") == "application/json", response
    assert isinstance(response["body"], str), response
    return status, json.loads(response["body"])


def record_attack(name: str, attack: str, *, rejected: bool) -> None:
    TALLY.attacks[name, attack] += 1
    if rejected:
        TALLY.attacks_rejected[name, attack] += 1


# ---------------------------------------------------------------- fakes

# What SQS accepts for a FIFO group or deduplication id: 1-128 printable ASCII, no space.
_SQS_ID = re.compile(r"[!-~]{1,128}")
SQS_MAX_MESSAGE_BYTES = 1024 * 1024


class SqsLikeQueue:
    """Records jobs, refusing what SQS would refuse, the way SqsJobQueue reports it."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def enqueue(self, job: Job) -> None:
        body = job.to_json()
        if not (_SQS_ID.fullmatch(job.group) and _SQS_ID.fullmatch(job.key)):
            raise QueueUnavailable("SQS would refuse the group or deduplication id")
        if len(body.encode()) > SQS_MAX_MESSAGE_BYTES:
            raise QueueUnavailable("SQS would refuse the message size")
        self.jobs.append(job)


class InMemoryRateLimiter:
    """The DynamoDB limiter's fixed one-minute window, in a dict, on its own clock."""

    def __init__(self, limit: int, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._clock = clock
        self._hits: Counter[tuple[str, int]] = Counter()

    def attempt(self, user_id: str) -> RateDecision:
        now = self._clock()
        self._hits[user_id, epoch_minute(now)] += 1
        if self._hits[user_id, epoch_minute(now)] <= self._limit:
            return RateDecision(allowed=True)
        return RateDecision(allowed=False, retry_after_seconds=seconds_left_in_window(now))


def variants_of(body: bytes, rng: random.Random) -> list[bytes]:
    """``body`` and FAN_OUT - 1 cheap relatives: a bit flipped, cut short, doubled, or fresh."""
    flipped = bytearray(body or b"\0")
    flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
    relatives = [
        bytes(flipped),
        body[: rng.randint(0, len(body))],
        body * 2,
        rng.randbytes(rng.randint(0, 300)),
    ]
    return [body, *rng.sample(relatives, FAN_OUT - 1)]


class SteppingClock:
    """Each reading is ``step`` seconds after the last: a member's requests spread over time."""

    def __init__(self, start: float, step: float) -> None:
        self._now = start
        self._step = step

    def __call__(self) -> float:
        self._now += self._step
        return self._now
