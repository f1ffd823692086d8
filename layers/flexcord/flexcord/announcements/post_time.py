"""When a scheduled announcement goes out, from what an admin types in the /announce form.

Accepted: ``2026-12-24 09:00`` (a date and a time in the
server's time zone, the one its support hours use), a bare ``09:00`` (the next time the clock
shows it there), ``in 45m``, ``in 2h``, ``in 1d 3h`` (from now), and Discord's own timestamp
markup ``<t:1767000000>`` or a Unix timestamp (absolute already). Anything else is refused with
a message saying what is accepted, so a typo never schedules a post at a surprising time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: How far ahead a post may be scheduled.
MAX_AHEAD = timedelta(days=60)
FORMATS_HELP = (
    "Write the time as `2026-12-24 09:00` (this server's time zone, {zone}), `09:00` (the next "
    "09:00), `in 2h`, `in 1d 3h` or a Discord timestamp like `<t:1767000000>`."
)

_RELATIVE = re.compile(r"in\s+((?:\d+\s*[dhm]\s*)+)", re.IGNORECASE)
_RELATIVE_PART = re.compile(r"(\d+)\s*([dhm])", re.IGNORECASE)
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
_DATE_TIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})")
_TIME_ONLY = re.compile(r"(\d{1,2}):(\d{2})")
_TIMESTAMP = re.compile(r"<t:(\d{9,11})(?::[tTdDfFR])?>|(\d{9,11})")


class InvalidPostTime(ValueError):
    """The text is not a time Flexcord understands, or not one it can post at."""


def parse_post_time(text: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    """The moment (UTC) ``text`` names, checked to be in the future and within MAX_AHEAD."""
    cleaned = " ".join(text.split())
    moment = _parse(cleaned, now=now.astimezone(UTC), zone=zone)
    if moment is None:
        raise InvalidPostTime(f"“{cleaned[:40]}” is not a time Flexcord understands. " + _help(zone))
    if moment <= now:
        raise InvalidPostTime(f"{_shown(moment)} has already passed. " + _help(zone))
    if moment - now > MAX_AHEAD:
        raise InvalidPostTime(f"Announcements can be scheduled up to {MAX_AHEAD.days} days ahead.")
    return moment


def _parse(text: str, *, now: datetime, zone: ZoneInfo) -> datetime | None:
    for reader in (_relative, _timestamp, _date_and_time, _time_of_day):
        moment = reader(text, now, zone)
        if moment is not None:
            return moment
    return None


def _relative(text: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    found = _RELATIVE.fullmatch(text)
    if not found:
        return None
    amounts: dict[str, int] = {}
    for number, unit in _RELATIVE_PART.findall(found.group(1)):
        name = _UNITS[unit.lower()]
        amounts[name] = amounts.get(name, 0) + int(number)
    try:
        return now + timedelta(**amounts)
    except OverflowError:
        return None


def _timestamp(text: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    found = _TIMESTAMP.fullmatch(text)
    if not found:
        return None
    try:
        return datetime.fromtimestamp(int(found.group(1) or found.group(2)), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _date_and_time(text: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    found = _DATE_TIME.fullmatch(text)
    if not found:
        return None
    year, month, day, hour, minute = (int(part) for part in found.groups())
    try:
        return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):  # no such date, or one UTC cannot hold (year 9999 + offset)
        return None


def _time_of_day(text: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    """The next time the server's clock shows it: today, or tomorrow once it has passed."""
    found = _TIME_ONLY.fullmatch(text)
    if not found:
        return None
    hour, minute = int(found.group(1)), int(found.group(2))
    if hour > 23 or minute > 59:
        return None
    today = now.astimezone(zone).date()
    candidate = datetime.combine(today, time(hour, minute), tzinfo=zone)
    if candidate <= now:
        candidate = datetime.combine(today + timedelta(days=1), time(hour, minute), tzinfo=zone)
    return candidate.astimezone(UTC)


def _shown(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:f>"


def _help(zone: ZoneInfo) -> str:
    return FORMATS_HELP.format(zone=zone.key)
