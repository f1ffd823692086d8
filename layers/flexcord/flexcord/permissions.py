"""The Discord permission bits Flexcord checks in interactions it is sent, and the check itself.

A module of its own, with no imports, because the interactions endpoint needs it on every request
and must stay cheap to load (discord.com/developers/docs/topics/permissions).
"""

ADMINISTRATOR = 1 << 3
MANAGE_SERVER = 1 << 5


def has_permission(permissions: str, bit: int) -> bool:
    """Whether a permission bitset from a signed interaction grants ``bit`` (Administrator
    grants everything)."""
    granted = int(permissions) if permissions.isdigit() else 0
    return bool(granted & ADMINISTRATOR) or bool(granted & bit)
