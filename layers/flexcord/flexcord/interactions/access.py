"""Who may use Flexcord through the endpoint: which servers, and how often a member may ask for
work that goes on the queue.

Commands are global, so a public bot added to a stranger's server would otherwise file cases into
the brand's channels and open Flex tasks for anyone. An interaction from a server not on the list
is refused politely; DM interactions (no server) pass here, and the worker checks that the member
belongs to an allowed server.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from flexcord.permissions import MANAGE_SERVER, has_permission

if TYPE_CHECKING:
    from flexcord.jobs.model import InteractionContext

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class ServerAllowList:
    """The servers (guild ids) Flexcord answers in. Empty means every server: the setting is not
    configured (the local stack, tests); the function logs a warning when it builds one."""

    guild_ids: frozenset[str] = frozenset()

    @classmethod
    def of(cls, guild_ids: Iterable[str]) -> ServerAllowList:
        return cls(frozenset(guild_ids))

    @property
    def restricted(self) -> bool:
        return bool(self.guild_ids)

    def allows(self, guild_id: str | None) -> bool:
        return guild_id is None or not self.guild_ids or guild_id in self.guild_ids


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    #: When a refused member may try again (0 when allowed).
    retry_after_seconds: int = 0


class MemberRateLimiter(Protocol):
    """Counts a member's attempt at work that goes on the queue, and says whether it may go."""

    def attempt(self, user_id: str) -> RateDecision: ...


class NoRateLimit:
    """Every attempt goes (the limit is switched off, or there is no table to count in)."""

    def attempt(self, user_id: str) -> RateDecision:
        return RateDecision(allowed=True)


def epoch_minute(now: float) -> int:
    """The fixed one-minute window holding ``now``: whole minutes since the epoch."""
    return int(now // WINDOW_SECONDS)


def seconds_left_in_window(now: float) -> int:
    return max(1, math.ceil((epoch_minute(now) + 1) * WINDOW_SECONDS - now))


def may_be_staff(context: InteractionContext) -> bool:
    """Whether a server interaction could come from staff, judged at the endpoint, which reads no
    settings: Manage Server, or any role (the staff role is one; the worker checks which). The
    commands that use it are offered to Manage Server by default, a default admins can widen."""
    return context.guild_id is not None and (
        has_permission(context.permissions, MANAGE_SERVER) or bool(context.roles)
    )
