"""What the interaction routes are given: apart from flexcord.interactions.routes so that the
endpoint can build it without loading every route (see InteractionsEndpoint._route)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flexcord.interactions.access import MemberRateLimiter, NoRateLimit, ServerAllowList

if TYPE_CHECKING:
    from flexcord.adapters.queue.job_queue import JobQueue

QueueProvider = Callable[[], "JobQueue"]


@dataclass(frozen=True)
class Services:
    """What the routes need: the queue (created on first use), and who may use it how often."""

    queue: QueueProvider
    servers: ServerAllowList = field(default_factory=ServerAllowList)
    rate_limiter: MemberRateLimiter = field(default_factory=NoRateLimit)
