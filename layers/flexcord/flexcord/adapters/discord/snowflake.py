"""Discord ids (snowflakes) carry the time they were made: milliseconds since Discord's epoch in
their top 42 bits."""

from __future__ import annotations

DISCORD_EPOCH_MS = 1_420_070_400_000


def snowflake_time(snowflake: str) -> int | None:
    """The Unix time (seconds) a Discord id was made; None when it is not one."""
    if not snowflake.isascii() or not snowflake.isdigit():
        return None
    return ((int(snowflake) >> 22) + DISCORD_EPOCH_MS) // 1000
