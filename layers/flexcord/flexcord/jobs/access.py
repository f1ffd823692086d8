"""Who may use Flexcord from the bot's DMs, and who counts as a server's staff in the worker.

In a server the endpoint answers only allowed servers (the interaction names its server). A DM
names none, so the worker asks Discord once whether the member belongs to an allowed server
(Get Guild Member) and remembers the answer for a day, in the table and in the container: the
second DM of the day costs one read, and the rest of the container's life nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from flexcord.adapters.discord import DiscordClient
from flexcord.jobs.model import InteractionContext
from flexcord.observability import logger
from flexcord.servers.settings import ServerDirectory

#: How long an answer is trusted: someone who leaves the server keeps DM access this long.
MEMBERSHIP_TTL_SECONDS = 24 * 3600
NOT_A_MEMBER = "Flexcord helps members of this community's Discord server. Join the server, then try again."


class MembershipCache(Protocol):
    def get(self, user_id: str, *, now: float) -> bool | None:
        """The remembered answer, or None when there is none (or it expired)."""

    def put(self, user_id: str, allowed: bool, *, expires_at: float) -> None: ...


class DmAccess:
    def __init__(
        self,
        *,
        allowed_guild_ids: Sequence[str],
        discord: DiscordClient,
        cache: MembershipCache,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._allowed = tuple(allowed_guild_ids)
        self._discord = discord
        self._cache = cache
        self._clock = clock
        self._known: dict[str, tuple[bool, float]] = {}

    def allows(self, member: InteractionContext) -> bool:
        """Whether the member may use Flexcord where they asked. Server interactions were
        checked at the endpoint; with no allowed servers configured, everyone may."""
        if member.guild_id is not None or not self._allowed:
            return True
        now = self._clock()
        known = self._known.get(member.user_id)
        if known is not None and known[1] > now:
            return known[0]
        allowed = self._cache.get(member.user_id, now=now)
        if allowed is None:
            allowed = any(
                self._discord.get_guild_member(guild_id, member.user_id) is not None
                for guild_id in self._allowed
            )
            self._cache.put(member.user_id, allowed, expires_at=now + MEMBERSHIP_TTL_SECONDS)
            if not allowed:
                logger.info("DM from someone in no allowed server", extra={"user_id": member.user_id})
        self._known[member.user_id] = (allowed, now + MEMBERSHIP_TTL_SECONDS)
        return allowed


def is_staff(servers: ServerDirectory, member: InteractionContext) -> bool:
    """Whether the member is staff of the server the signed interaction came from (its staff
    role, or Manage Server). A DM carries no roles: staff act from their server."""
    if member.guild_id is None:
        return False
    return servers.settings_for(member.guild_id).is_staff(member.roles, member.permissions)
