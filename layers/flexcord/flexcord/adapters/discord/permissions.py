"""Discord permissions: the bits, their names as the Discord client shows them, and a member's
permissions in a channel computed as Discord computes them (developers/topics/permissions).

Pure functions over API objects (roles from ``GET /guilds/{id}/roles``, channels from ``GET
/channels/{id}``), so per-server setup can tell an admin exactly what the bot is missing where:

    granted = channel_permissions(guild_id=g, member_role_ids=member["roles"], member_id=bot_id,
                                  roles=roles, channel=channel)
    missing(SEND_MESSAGES | EMBED_LINKS, granted)  # -> ["Embed Links"]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

CREATE_INSTANT_INVITE: Final = 1 << 0
KICK_MEMBERS: Final = 1 << 1
BAN_MEMBERS: Final = 1 << 2
ADMINISTRATOR: Final = 1 << 3
MANAGE_CHANNELS: Final = 1 << 4
MANAGE_GUILD: Final = 1 << 5
ADD_REACTIONS: Final = 1 << 6
VIEW_AUDIT_LOG: Final = 1 << 7
PRIORITY_SPEAKER: Final = 1 << 8
STREAM: Final = 1 << 9
VIEW_CHANNEL: Final = 1 << 10
SEND_MESSAGES: Final = 1 << 11
SEND_TTS_MESSAGES: Final = 1 << 12
MANAGE_MESSAGES: Final = 1 << 13
EMBED_LINKS: Final = 1 << 14
ATTACH_FILES: Final = 1 << 15
READ_MESSAGE_HISTORY: Final = 1 << 16
MENTION_EVERYONE: Final = 1 << 17
USE_EXTERNAL_EMOJIS: Final = 1 << 18
VIEW_GUILD_INSIGHTS: Final = 1 << 19
CONNECT: Final = 1 << 20
SPEAK: Final = 1 << 21
MUTE_MEMBERS: Final = 1 << 22
DEAFEN_MEMBERS: Final = 1 << 23
MOVE_MEMBERS: Final = 1 << 24
USE_VAD: Final = 1 << 25
CHANGE_NICKNAME: Final = 1 << 26
MANAGE_NICKNAMES: Final = 1 << 27
MANAGE_ROLES: Final = 1 << 28
MANAGE_WEBHOOKS: Final = 1 << 29
MANAGE_GUILD_EXPRESSIONS: Final = 1 << 30
USE_APPLICATION_COMMANDS: Final = 1 << 31
REQUEST_TO_SPEAK: Final = 1 << 32
MANAGE_EVENTS: Final = 1 << 33
MANAGE_THREADS: Final = 1 << 34
CREATE_PUBLIC_THREADS: Final = 1 << 35
CREATE_PRIVATE_THREADS: Final = 1 << 36
USE_EXTERNAL_STICKERS: Final = 1 << 37
SEND_MESSAGES_IN_THREADS: Final = 1 << 38
USE_EMBEDDED_ACTIVITIES: Final = 1 << 39
MODERATE_MEMBERS: Final = 1 << 40
VIEW_CREATOR_MONETIZATION_ANALYTICS: Final = 1 << 41
USE_SOUNDBOARD: Final = 1 << 42
CREATE_GUILD_EXPRESSIONS: Final = 1 << 43
CREATE_EVENTS: Final = 1 << 44
USE_EXTERNAL_SOUNDS: Final = 1 << 45
SEND_VOICE_MESSAGES: Final = 1 << 46
SEND_POLLS: Final = 1 << 49
USE_EXTERNAL_APPS: Final = 1 << 50

#: Each bit with the name the Discord client shows for it, lowest bit first.
PERMISSION_NAMES: Final[dict[int, str]] = {
    CREATE_INSTANT_INVITE: "Create Invite",
    KICK_MEMBERS: "Kick Members",
    BAN_MEMBERS: "Ban Members",
    ADMINISTRATOR: "Administrator",
    MANAGE_CHANNELS: "Manage Channels",
    MANAGE_GUILD: "Manage Server",
    ADD_REACTIONS: "Add Reactions",
    VIEW_AUDIT_LOG: "View Audit Log",
    PRIORITY_SPEAKER: "Priority Speaker",
    STREAM: "Video",
    VIEW_CHANNEL: "View Channels",
    SEND_MESSAGES: "Send Messages",
    SEND_TTS_MESSAGES: "Send Text-to-Speech Messages",
    MANAGE_MESSAGES: "Manage Messages",
    EMBED_LINKS: "Embed Links",
    ATTACH_FILES: "Attach Files",
    READ_MESSAGE_HISTORY: "Read Message History",
    MENTION_EVERYONE: "Mention @everyone, @here, and All Roles",
    USE_EXTERNAL_EMOJIS: "Use External Emoji",
    VIEW_GUILD_INSIGHTS: "View Server Insights",
    CONNECT: "Connect",
    SPEAK: "Speak",
    MUTE_MEMBERS: "Mute Members",
    DEAFEN_MEMBERS: "Deafen Members",
    MOVE_MEMBERS: "Move Members",
    USE_VAD: "Use Voice Activity",
    CHANGE_NICKNAME: "Change Nickname",
    MANAGE_NICKNAMES: "Manage Nicknames",
    MANAGE_ROLES: "Manage Roles",
    MANAGE_WEBHOOKS: "Manage Webhooks",
    MANAGE_GUILD_EXPRESSIONS: "Manage Expressions",
    USE_APPLICATION_COMMANDS: "Use Application Commands",
    REQUEST_TO_SPEAK: "Request to Speak",
    MANAGE_EVENTS: "Manage Events",
    MANAGE_THREADS: "Manage Threads",
    CREATE_PUBLIC_THREADS: "Create Public Threads",
    CREATE_PRIVATE_THREADS: "Create Private Threads",
    USE_EXTERNAL_STICKERS: "Use External Stickers",
    SEND_MESSAGES_IN_THREADS: "Send Messages in Threads",
    USE_EMBEDDED_ACTIVITIES: "Use Activities",
    MODERATE_MEMBERS: "Timeout Members",
    VIEW_CREATOR_MONETIZATION_ANALYTICS: "View Creator Monetization Analytics",
    USE_SOUNDBOARD: "Use Soundboard",
    CREATE_GUILD_EXPRESSIONS: "Create Expressions",
    CREATE_EVENTS: "Create Events",
    USE_EXTERNAL_SOUNDS: "Use External Sounds",
    SEND_VOICE_MESSAGES: "Send Voice Messages",
    SEND_POLLS: "Create Polls",
    USE_EXTERNAL_APPS: "Use External Apps",
}

#: Every permission this module knows: what the owner and administrators have.
ALL_PERMISSIONS: Final = sum(PERMISSION_NAMES)

THREAD_CHANNEL_TYPES: Final = frozenset({10, 11, 12})

RolePermissions = Mapping[str, int | str] | Iterable[Mapping[str, Any]]


def _role_permissions(roles: RolePermissions) -> dict[str, int]:
    """Role id -> permission bits, from ``{id: bits}`` or a list of role objects."""
    if isinstance(roles, Mapping):
        return {str(role_id): int(bits) for role_id, bits in roles.items()}
    return {str(role["id"]): int(role["permissions"]) for role in roles}


def base_permissions(
    *,
    guild_id: str,
    member_role_ids: Iterable[str],
    member_id: str,
    roles: RolePermissions,
    owner_id: str | None = None,
) -> int:
    """A member's server-wide permissions: everything for the owner; otherwise @everyone's (the
    role whose id is the guild's) OR each of the member's roles, and Administrator means all."""
    if owner_id is not None and str(owner_id) == str(member_id):
        return ALL_PERMISSIONS
    by_id = _role_permissions(roles)
    permissions = by_id.get(str(guild_id), 0)
    for role_id in member_role_ids:
        permissions |= by_id.get(str(role_id), 0)
    if permissions & ADMINISTRATOR:
        return ALL_PERMISSIONS
    return permissions


def channel_permissions(
    *,
    guild_id: str,
    member_role_ids: Iterable[str],
    member_id: str,
    roles: RolePermissions,
    channel: Mapping[str, Any],
    parent: Mapping[str, Any] | None = None,
    owner_id: str | None = None,
) -> int:
    """A member's permissions in a channel, by Discord's algorithm: the base permissions (owner
    and Administrator short-circuit to all), then the channel's overwrites in order: @everyone's
    (deny, then allow), all the member's roles' together (their denies, then their allows), then
    the member's own. A thread (type 10, 11, 12) has no overwrites of its own: pass its ``parent``.

    This is the value Discord puts in an interaction's ``member.permissions``; Discord's implicit
    rules (no View Channel hides everything, no Send Messages disables Attach Files...) are not
    applied here: check View Channel first, as the API does.
    """
    role_ids = [str(role_id) for role_id in member_role_ids]
    base = base_permissions(
        guild_id=guild_id, member_role_ids=role_ids, member_id=member_id, roles=roles, owner_id=owner_id
    )
    if base & ADMINISTRATOR:
        return ALL_PERMISSIONS
    source = channel
    if channel.get("type") in THREAD_CHANNEL_TYPES:
        if parent is None:
            raise ValueError("a thread's permissions come from its parent channel: pass parent")
        source = parent
    overwrites = {str(o["id"]): o for o in source.get("permission_overwrites") or []}
    permissions = base
    everyone = overwrites.get(str(guild_id))
    if everyone is not None:
        permissions = (permissions & ~int(everyone["deny"])) | int(everyone["allow"])
    allow = deny = 0
    for role_id in role_ids:
        overwrite = overwrites.get(role_id)
        if overwrite is not None:
            allow |= int(overwrite["allow"])
            deny |= int(overwrite["deny"])
    permissions = (permissions & ~deny) | allow
    own = overwrites.get(str(member_id))
    if own is not None:
        permissions = (permissions & ~int(own["deny"])) | int(own["allow"])
    return permissions


def names(bits: int) -> list[str]:
    """The names of the permissions set in ``bits``, lowest bit first (unknown bits as ``1 << n``)."""
    found: list[str] = []
    position = 0
    while bits >> position:
        bit = 1 << position
        if bits & bit:
            found.append(PERMISSION_NAMES.get(bit, f"1 << {position}"))
        position += 1
    return found


def missing(required: int, granted: int) -> list[str]:
    """The names of the ``required`` permissions not in ``granted`` (empty: nothing missing)."""
    return names(required & ~granted)
