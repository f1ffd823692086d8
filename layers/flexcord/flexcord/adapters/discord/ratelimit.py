"""Discord's rate limits, honoured before a request is sent rather than discovered by a 429.

Discord's model (https://discord.com/developers/docs/topics/rate-limits):

- **Per-route buckets.** Every response carries ``X-RateLimit-Limit``, ``-Remaining``,
  ``-Reset-After`` and ``-Bucket``. The bucket hash names a limit that several routes may share,
  and the limit is counted separately per *top-level resource* in the path (channel, guild,
  webhook id + token). So a bucket's state is keyed by ``<bucket hash>:<major parameters>``, and
  a route is mapped to its hash once a response has told us (before that, by the route itself).
- **The global limit**: 50 requests per second per bot, across all routes, except the
  interaction endpoints, which Discord does not count (discord-api-docs PR 4416).
- **429 responses** carry ``retry_after`` (seconds, a float) in the body and ``Retry-After`` in
  the headers; ``"global": true`` (or ``X-RateLimit-Global``) means every route of the bot is
  blocked for that long, not just this bucket.

This limiter is per process: a Lambda container keeps one for its lifetime. Several containers
stay under the global limit together by each keeping to a share of it (the worker's event
source allows at most ``WORKER_MAX_CONCURRENCY`` at once; see flexcord.wiring). A request holds
its place in the global window from when it is sent until one second after its answer came
back: Discord counts it when it arrives, somewhere in between, so a window counted from the send
alone lets a slow request and the next second's first one land in the same second.

A wait for a route's bucket can be capped separately (``max_route_wait``): a worker serving many
members would rather hand one member's job back to the queue until the bucket resets than sit
idle while others wait. Waits are computed under a lock and slept outside it, with an
injectable clock and sleep.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from flexcord.adapters.discord.errors import RateLimited

logger = logging.getLogger(__name__)

GLOBAL_REQUESTS_PER_SECOND: Final = 50
REDACTED: Final = "<redacted>"

# Path parameters that are credentials: an interaction token lets anyone post as the bot for 15
# minutes, so it never appears in a log line.
_SECRET_PARAMETERS: Final = frozenset({"webhook_token", "interaction_token"})
# The top-level resources Discord counts limits against. An interaction webhook is
# /webhooks/{application_id}/{interaction_token}: the token alone tells interactions apart.
_MAJOR_PARAMETERS: Final = ("channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_token")
# Forget exhausted buckets past this many: every interaction token makes a new one.
_MAX_TRACKED_BUCKETS: Final = 1024
# The least a full global window makes a request wait: its oldest request may still be on its
# way (its answer moves it), so the window is looked at again shortly.
_MIN_WAIT_SECONDS: Final = 0.001


class Route:
    """One Discord endpoint with its path parameters filled in.

    ``template`` uses the parameter names above for major parameters, and ``interaction_token``
    for the token of an interaction webhook, which is what exempts a route from the global limit.
    """

    __slots__ = ("method", "parameters", "path", "template")

    def __init__(self, method: str, template: str, **parameters: str) -> None:
        self.method = method.upper()
        self.template = template
        self.parameters = parameters
        # Quoting every parameter (safe="") stops an id like "../.." from walking the path.
        self.path = template.format_map({name: quote(value, safe="") for name, value in parameters.items()})

    @property
    def key(self) -> str:
        """The route itself, independent of its parameters: what a bucket hash is learned for."""
        return f"{self.method} {self.template}"

    @property
    def major_parameters(self) -> str:
        return "+".join(self.parameters[name] for name in _MAJOR_PARAMETERS if name in self.parameters)

    @property
    def is_interaction_webhook(self) -> bool:
        return self.template.startswith("/webhooks/") and "interaction_token" in self.parameters

    @property
    def counts_toward_global_limit(self) -> bool:
        # Interaction responses and follow-ups are not bound to the bot's global limit, and a
        # member is waiting on them with a 15-minute token: never hold them behind channel posts.
        return not self.is_interaction_webhook

    @property
    def loggable_path(self) -> str:
        """The path with every token replaced by ``<redacted>``."""
        return self.template.format_map(
            {
                name: REDACTED if name in _SECRET_PARAMETERS else quote(value, safe="")
                for name, value in self.parameters.items()
            }
        )

    def __repr__(self) -> str:
        return f"Route({self.method} {self.loggable_path})"


@dataclass(frozen=True)
class RateLimitHit:
    """What a 429 response says."""

    retry_after: float
    is_global: bool
    #: ``X-RateLimit-Scope``: "user", "global" or "shared" (a limit on the resource itself).
    scope: str | None
    #: False when the body is not Discord's JSON: a Cloudflare ban page, not a Discord limit.
    from_discord: bool


def parse_rate_limit_hit(headers: Mapping[str, str], body: object) -> RateLimitHit:
    lowered = {name.lower(): value for name, value in headers.items()}
    retry_after: float | None = None
    is_global = lowered.get("x-ratelimit-global", "").lower() == "true"
    from_discord = isinstance(body, dict) and "retry_after" in body
    if isinstance(body, dict):
        retry_after = _as_float(body.get("retry_after"))
        is_global = is_global or body.get("global") is True
    if retry_after is None:
        # The header is whole seconds, rounded up: a fallback, less precise than the body.
        retry_after = _as_float(lowered.get("retry-after"))
    scope = lowered.get("x-ratelimit-scope")
    if scope == "global":
        is_global = True
    return RateLimitHit(
        retry_after=max(retry_after if retry_after is not None else 1.0, 0.0),
        is_global=is_global,
        scope=scope,
        from_discord=from_discord,
    )


@dataclass
class _Send:
    """One request counted in the global window: when it was sent, then when it was answered."""

    at: float


@dataclass
class _Bucket:
    limit: int | None = None
    #: None until a response has told us; an unknown bucket never makes a request wait.
    remaining: int | None = None
    reset_at: float | None = None


class RateLimiter:
    """Per-route buckets plus the global limit, shared by every request of one process."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        global_limit: int = GLOBAL_REQUESTS_PER_SECOND,
        global_period: float = 1.0,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._global_limit = global_limit
        self._global_period = global_period
        self._lock = threading.Lock()
        self._bucket_hash_by_route: dict[str, str] = {}
        self._buckets: dict[str, _Bucket] = {}
        # The last `global_limit` requests that count toward the global limit, oldest first.
        self._recent_global_sends: deque[_Send] = deque()
        # Each thread's request on its way, whose place in the window moves to its answer.
        self._in_flight = threading.local()
        self._global_blocked_until = 0.0

    def acquire(self, route: Route, *, max_wait: float, max_route_wait: float | None = None) -> float:
        """Wait until ``route`` may be sent, then count it. Returns the seconds slept.

        Raises :class:`RateLimited` without sleeping when the wait would exceed ``max_wait``, or
        when the route's own bucket would make it wait longer than ``max_route_wait``.
        """
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait, is_global = self._required_wait(route, now)
                if wait <= 0:
                    self._count_send(route, now)
                    return waited
                too_long_for_route = not is_global and max_route_wait is not None and wait > max_route_wait
                if too_long_for_route or waited + wait > max_wait:
                    raise RateLimited(retry_after=wait, is_global=is_global)
            logger.debug(
                "waiting %.3f s for the %s rate limit before %s %s",
                wait,
                "global" if is_global else "route",
                route.method,
                route.loggable_path,
            )
            self._sleep(wait)
            waited += wait

    def request_finished(self) -> None:
        """The request this thread last counted is over (answered, or failed): its place in the
        global window now runs from this moment. Call it whatever the request's outcome."""
        send: _Send | None = getattr(self._in_flight, "send", None)
        if send is None:
            return
        self._in_flight.send = None
        with self._lock:
            send.at = max(send.at, self._clock())

    def record_response(self, route: Route, headers: Mapping[str, str]) -> None:
        """Learn the route's bucket from a response's ``X-RateLimit-*`` headers."""
        lowered = {name.lower(): value for name, value in headers.items()}
        bucket_hash = lowered.get("x-ratelimit-bucket")
        remaining = _as_int(lowered.get("x-ratelimit-remaining"))
        reset_after = _as_float(lowered.get("x-ratelimit-reset-after"))
        limit = _as_int(lowered.get("x-ratelimit-limit"))
        with self._lock:
            if bucket_hash:
                self._bucket_hash_by_route[route.key] = bucket_hash
            if remaining is None or reset_after is None:
                return
            now = self._clock()
            bucket = self._bucket_for(route)
            bucket.limit = limit
            bucket.remaining = remaining
            bucket.reset_at = now + reset_after
            if len(self._buckets) > _MAX_TRACKED_BUCKETS:
                self._forget_reset_buckets(now)

    def record_rate_limited(self, route: Route, retry_after: float, *, is_global: bool) -> None:
        """Block the route's bucket, or with ``is_global`` every counted route, for ``retry_after``."""
        with self._lock:
            until = self._clock() + retry_after
            if is_global:
                self._global_blocked_until = max(self._global_blocked_until, until)
                return
            bucket = self._bucket_for(route)
            bucket.remaining = 0
            bucket.reset_at = max(bucket.reset_at or 0.0, until)

    # Everything below runs with the lock held.

    def _bucket_key(self, route: Route) -> str:
        shared_name = self._bucket_hash_by_route.get(route.key, route.key)
        return f"{shared_name}:{route.major_parameters}"

    def _bucket_for(self, route: Route) -> _Bucket:
        return self._buckets.setdefault(self._bucket_key(route), _Bucket())

    def _required_wait(self, route: Route, now: float) -> tuple[float, bool]:
        """Seconds to wait before sending, and whether the global limit is the reason."""
        route_wait = 0.0
        bucket = self._buckets.get(self._bucket_key(route))
        if bucket is not None and bucket.reset_at is not None:
            if now >= bucket.reset_at:
                bucket.remaining, bucket.reset_at = bucket.limit, None
            elif bucket.remaining is not None and bucket.remaining <= 0:
                route_wait = bucket.reset_at - now
        global_wait = 0.0
        if route.counts_toward_global_limit:
            global_wait = max(self._global_blocked_until - now, self._global_window_wait(now))
        if global_wait > route_wait:
            return global_wait, True
        return route_wait, False

    def _global_window_wait(self, now: float) -> float:
        sends = self._recent_global_sends
        # A request answered late can sit behind later ones: it then leaves the window late,
        # which only ever makes the limiter stricter.
        while sends and sends[0].at <= now - self._global_period:
            sends.popleft()
        if len(sends) < self._global_limit:
            return 0.0
        return max(sends[0].at + self._global_period - now, _MIN_WAIT_SECONDS)

    def _count_send(self, route: Route, now: float) -> None:
        bucket = self._buckets.get(self._bucket_key(route))
        if bucket is not None and bucket.remaining is not None:
            # Optimistic: concurrent senders see the slot taken before the response arrives.
            bucket.remaining -= 1
        if route.counts_toward_global_limit:
            send = _Send(now)
            self._recent_global_sends.append(send)
            self._in_flight.send = send

    def _forget_reset_buckets(self, now: float) -> None:
        for key in [key for key, bucket in self._buckets.items() if (bucket.reset_at or 0.0) <= now]:
            del self._buckets[key]


def _as_float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        parsed = float(value)
    elif isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return None
    else:
        return None
    return parsed if math.isfinite(parsed) else None


def _as_int(value: str | None) -> int | None:
    parsed = _as_float(value)
    return int(parsed) if parsed is not None else None
