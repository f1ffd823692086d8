"""Discord's rate limits (developers/topics/rate-limits).

Per-route buckets are fixed windows keyed by the caller, the route and its top-level resources
(``channel_id``, ``guild_id``, webhook id + token): two channels never share a bucket, but the
``X-RateLimit-Bucket`` hash names the route only ("non-inclusive of top-level resources"). A global
limit counts every request of a bot token over a sliding second; interaction webhooks are exempt.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Message creates are the bucket bots hit in practice: 5 per 5 s per channel.
DEFAULT_ROUTE_LIMITS: dict[str, tuple[int, float]] = {
    "POST /channels/{channel_id}/messages": (5, 5.0),
    # Publishing to following servers: about 10 per hour per announcement channel.
    "POST /channels/{channel_id}/messages/{message_id}/crosspost": (10, 3600.0),
}
FALLBACK_ROUTE_LIMIT: tuple[int, float] = (50, 1.0)
GLOBAL_WINDOW_SECONDS = 1.0


@dataclass
class _Window:
    limit: int
    seconds: float
    started_at: float = 0.0
    used: int = 0

    def reset_at(self) -> float:
        return self.started_at + self.seconds

    def roll(self, now: float) -> None:
        if now >= self.reset_at():
            self.started_at = now
            self.used = 0


@dataclass(frozen=True)
class RateLimitDecision:
    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float = 0.0
    is_global: bool = False

    def body(self) -> dict[str, Any]:
        return {
            "message": "You are being rate limited.",
            "retry_after": round(self.retry_after, 3),
            "global": self.is_global,
        }


def bucket_hash(route_key: str) -> str:
    """An opaque, stable id for a route's bucket, shaped like Discord's 32-hex-digit hashes."""
    return hashlib.sha256(route_key.encode()).hexdigest()[:32]


class RateLimiter:
    def __init__(
        self,
        route_limits: Mapping[str, tuple[int, float]] | None = None,
        *,
        global_limit: int = 50,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._route_limits = {**DEFAULT_ROUTE_LIMITS, **(route_limits or {})}
        self._global_limit = global_limit
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str, tuple[str, ...]], _Window] = {}
        self._global_hits: dict[str, deque[float]] = {}
        #: 429s answered so far, by kind ("global", "route"): what a benchmark checks.
        self.refusals: Counter[str] = Counter()

    def set_limits(self, requests_per_window: int) -> None:
        """Every route's bucket and the global limit allow this many requests per window from
        now on (a benchmark of the relay, rather than of Discord's limits, lifts them)."""
        with self._lock:
            self._route_limits = {
                route: (requests_per_window, seconds) for route, (_, seconds) in self._route_limits.items()
            }
            self._global_limit = requests_per_window
            self._windows.clear()
            self._global_hits.clear()

    def limit_for(self, route_key: str) -> tuple[int, float]:
        return self._route_limits.get(route_key, FALLBACK_ROUTE_LIMIT)

    def check(
        self,
        *,
        identity: str,
        route_key: str,
        major_parameters: tuple[str, ...],
        counts_globally: bool,
    ) -> RateLimitDecision:
        """Account for one request and say whether it may proceed, with the headers to send."""
        with self._lock:
            now = self._clock()
            global_hits = self._global_hits.setdefault(identity, deque())
            if counts_globally:
                while global_hits and global_hits[0] <= now - GLOBAL_WINDOW_SECONDS:
                    global_hits.popleft()
                if len(global_hits) >= self._global_limit:
                    retry_after = max(global_hits[0] + GLOBAL_WINDOW_SECONDS - now, 0.001)
                    self.refusals["global"] += 1
                    return RateLimitDecision(
                        allowed=False,
                        retry_after=retry_after,
                        is_global=True,
                        headers={
                            "Retry-After": str(math.ceil(retry_after)),
                            "X-RateLimit-Global": "true",
                            "X-RateLimit-Scope": "global",
                        },
                    )
            key = (identity, route_key, major_parameters)
            window = self._windows.get(key)
            if window is None:
                limit, seconds = self.limit_for(route_key)
                window = _Window(limit=limit, seconds=seconds, started_at=now)
                self._windows[key] = window
            window.roll(now)
            reset_after = max(window.reset_at() - now, 0.0)
            headers = {
                "X-RateLimit-Limit": str(window.limit),
                "X-RateLimit-Reset": f"{window.reset_at():.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Bucket": bucket_hash(route_key),
            }
            if window.used >= window.limit:
                retry_after = max(reset_after, 0.001)
                self.refusals["route"] += 1
                headers.update(
                    {
                        "X-RateLimit-Remaining": "0",
                        "Retry-After": str(math.ceil(retry_after)),
                        "X-RateLimit-Scope": "user",
                    }
                )
                return RateLimitDecision(allowed=False, headers=headers, retry_after=retry_after)
            window.used += 1
            if counts_globally:
                global_hits.append(now)
            headers["X-RateLimit-Remaining"] = str(window.limit - window.used)
            return RateLimitDecision(allowed=True, headers=headers)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._global_hits.clear()
