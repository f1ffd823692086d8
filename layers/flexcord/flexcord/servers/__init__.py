"""A Discord server's own settings, as its community manager sets them from Discord."""

from flexcord.servers.hours import (
    DAY_KEYS,
    DAY_NAMES,
    DEFAULT_AFTER_HOURS_MESSAGE,
    InvalidSupportHours,
    SupportHours,
    parse_days,
    parse_holidays,
    parse_support_hours,
    parse_time,
    parse_time_zone,
)

__all__ = [
    "DAY_KEYS",
    "DAY_NAMES",
    "DEFAULT_AFTER_HOURS_MESSAGE",
    "InvalidSupportHours",
    "SupportHours",
    "parse_days",
    "parse_holidays",
    "parse_support_hours",
    "parse_time",
    "parse_time_zone",
]
