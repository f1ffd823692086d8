"""Discord ids (snowflakes) carry the time they were made: milliseconds since Discord's epoch in
their top 42 bits."""

from __future__ import annotations

DISCORD_EPOCH_MS = 1_420_070_400_000


def snowflake_id(value: str) -> int | None:
    """A Discord id as the number it is (ids grow with time); None when it is not one."""
    return int(value) if value.isascii() and value.isdecimal() else None


def snowflake_time(snowflake: str) -> int | None:
    """The Unix time (seconds) a Discord id was made; None when it is not one."""
    number = snowflake_id(snowflake)
    return None if number is None else ((number >> 22) + DISCORD_EPOCH_MS) // 1000
