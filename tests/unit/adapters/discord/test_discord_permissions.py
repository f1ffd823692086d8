"""Permission computation against the cases of Discord's docs (developers/topics/permissions)."""

from __future__ import annotations

from typing import Any

import pytest

from flexcord.adapters.discord import permissions as p

GUILD = "100"
STAFF = "200"
MUTED = "300"
HELPER = "400"
MEMBER = "500"
EVERYONE_BITS = p.VIEW_CHANNEL | p.SEND_MESSAGES | p.EMBED_LINKS | p.ATTACH_FILES | p.READ_MESSAGE_HISTORY
ROLES: list[dict[str, Any]] = [
    {"id": GUILD, "name": "@everyone", "permissions": str(EVERYONE_BITS)},
    {"id": STAFF, "name": "staff", "permissions": str(p.MANAGE_THREADS | p.MANAGE_MESSAGES)},
    {"id": MUTED, "name": "muted", "permissions": "0"},
    {"id": HELPER, "name": "helper", "permissions": "0"},
]


def overwrite(target: str, kind: int, *, allow: int = 0, deny: int = 0) -> dict[str, Any]:
    return {"id": target, "type": kind, "allow": str(allow), "deny": str(deny)}


def channel(*overwrites: dict[str, Any], kind: int = 0) -> dict[str, Any]:
    return {"id": "900", "type": kind, "permission_overwrites": list(overwrites)}


def compute(member_roles: list[str], target: dict[str, Any], **extra: Any) -> int:
    return p.channel_permissions(
        guild_id=GUILD, member_role_ids=member_roles, member_id=MEMBER, roles=ROLES, channel=target, **extra
    )


def test_base_permissions_are_everyone_or_the_members_roles() -> None:
    assert compute([], channel()) == EVERYONE_BITS
    assert compute([STAFF], channel()) == EVERYONE_BITS | p.MANAGE_THREADS | p.MANAGE_MESSAGES
    # Role ids the guild does not have add nothing.
    assert compute(["999"], channel()) == EVERYONE_BITS


def test_roles_may_be_given_as_an_id_to_bits_mapping() -> None:
    by_id = {GUILD: EVERYONE_BITS, STAFF: str(p.MANAGE_THREADS)}
    assert p.base_permissions(guild_id=GUILD, member_role_ids=[STAFF], member_id=MEMBER, roles=by_id) == (
        EVERYONE_BITS | p.MANAGE_THREADS
    )


def test_administrator_and_the_owner_have_everything_whatever_the_overwrites() -> None:
    hidden = channel(overwrite(GUILD, 0, deny=p.VIEW_CHANNEL | p.SEND_MESSAGES))
    admin_roles = [*ROLES, {"id": "600", "permissions": str(p.ADMINISTRATOR)}]
    admin = p.channel_permissions(
        guild_id=GUILD, member_role_ids=["600"], member_id=MEMBER, roles=admin_roles, channel=hidden
    )
    assert admin == p.ALL_PERMISSIONS
    assert compute([], hidden, owner_id=MEMBER) == p.ALL_PERMISSIONS
    assert compute([], hidden, owner_id="someone-else") == EVERYONE_BITS & ~(p.VIEW_CHANNEL | p.SEND_MESSAGES)
    assert not p.missing(p.SEND_MESSAGES | p.MANAGE_CHANNELS | p.MANAGE_THREADS, p.ALL_PERMISSIONS)


def test_everyone_overwrite_applies_deny_then_allow() -> None:
    target = channel(overwrite(GUILD, 0, allow=p.CREATE_PUBLIC_THREADS, deny=p.SEND_MESSAGES))
    granted = compute([], target)
    assert not granted & p.SEND_MESSAGES
    assert granted & p.CREATE_PUBLIC_THREADS


def test_role_overwrites_act_together_and_an_allow_beats_another_roles_deny() -> None:
    target = channel(
        overwrite(MUTED, 0, deny=p.SEND_MESSAGES | p.ATTACH_FILES),
        overwrite(HELPER, 0, allow=p.SEND_MESSAGES),
    )
    both = compute([MUTED, HELPER], target)
    assert both & p.SEND_MESSAGES
    assert not both & p.ATTACH_FILES
    assert not compute([MUTED], target) & p.SEND_MESSAGES
    # Role overwrites come after @everyone's: a role allow restores an @everyone deny.
    staff_only = channel(overwrite(GUILD, 0, deny=p.VIEW_CHANNEL), overwrite(STAFF, 0, allow=p.VIEW_CHANNEL))
    assert compute([STAFF], staff_only) & p.VIEW_CHANNEL
    assert not compute([], staff_only) & p.VIEW_CHANNEL


def test_the_members_own_overwrite_comes_last() -> None:
    target = channel(
        overwrite(GUILD, 0, deny=p.SEND_MESSAGES),
        overwrite(HELPER, 0, allow=p.SEND_MESSAGES | p.EMBED_LINKS),
        overwrite(MEMBER, 1, deny=p.EMBED_LINKS, allow=p.SEND_MESSAGES_IN_THREADS),
    )
    granted = compute([HELPER], target)
    assert granted & p.SEND_MESSAGES
    assert not granted & p.EMBED_LINKS
    assert granted & p.SEND_MESSAGES_IN_THREADS
    # Another member's overwrite does not apply.
    other = p.channel_permissions(
        guild_id=GUILD, member_role_ids=[HELPER], member_id="501", roles=ROLES, channel=target
    )
    assert other & p.EMBED_LINKS


def test_a_thread_uses_its_parents_overwrites() -> None:
    parent = channel(overwrite(GUILD, 0, deny=p.SEND_MESSAGES_IN_THREADS))
    thread = {"id": "901", "type": 11, "parent_id": "900"}
    assert not compute([], thread, parent=parent) & p.SEND_MESSAGES_IN_THREADS
    assert compute([], thread, parent=channel()) == EVERYONE_BITS
    with pytest.raises(ValueError, match="parent"):
        compute([], thread)


def test_missing_names_what_is_not_granted_in_bit_order() -> None:
    granted = p.VIEW_CHANNEL | p.SEND_MESSAGES
    required = p.SEND_MESSAGES | p.EMBED_LINKS | p.MANAGE_CHANNELS | p.SEND_MESSAGES_IN_THREADS
    assert p.missing(required, granted) == ["Manage Channels", "Embed Links", "Send Messages in Threads"]
    assert p.missing(p.VIEW_CHANNEL, granted) == []
    assert p.names(1 << 47 | p.ADMINISTRATOR) == ["Administrator", "1 << 47"]
    assert p.PERMISSION_NAMES[p.MANAGE_GUILD] == "Manage Server"
    assert p.PERMISSION_NAMES[p.VIEW_CHANNEL] == "View Channels"


@pytest.mark.parametrize(
    ("bit", "position"),
    [
        (p.ADMINISTRATOR, 3),
        (p.MANAGE_CHANNELS, 4),
        (p.VIEW_CHANNEL, 10),
        (p.SEND_MESSAGES, 11),
        (p.EMBED_LINKS, 14),
        (p.ATTACH_FILES, 15),
        (p.MANAGE_THREADS, 34),
        (p.CREATE_PUBLIC_THREADS, 35),
        (p.CREATE_PRIVATE_THREADS, 36),
        (p.SEND_MESSAGES_IN_THREADS, 38),
    ],
)
def test_bits_match_the_documented_positions(bit: int, position: int) -> None:
    assert bit == 1 << position
