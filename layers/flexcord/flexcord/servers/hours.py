"""A Discord server's support hours: when agents answer, and what members see when they don't.

Pure domain code: no I/O, and every question takes the current time as an aware ``now``.

The shape is what a community manager can set from Discord: the days of the week (a select menu),
an opening and a closing time (select menus), the server's time zone, a list of holiday dates and
an after-hours message (a modal). No opening and closing time means always open.

Two rules worth knowing:

* **After midnight.** A closing time earlier than the opening time is on the next day:
  Friday 18:00–02:00 is open from Friday 18:00 until Saturday 02:00.
* **Holidays** close the whole local calendar day, midnight to midnight: no window opens on a
  holiday (not even the part of it after midnight), and the previous day's window closes at
  midnight. Support reopens with the first window that starts on a day that is not a holiday.

Times are wall-clock times in the server's zone on each local date, so 09:00 stays 09:00 across
daylight-saving changes. A wall time that a change skips (02:30 on a spring-forward night) is taken
as the same minutes after the change (03:30); a wall time that happens twice is its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Values of the days select menu and of the stored document, Monday first like ``date.weekday()``.
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

DEFAULT_TIME_ZONE = "UTC"
DEFAULT_AFTER_HOURS_MESSAGE = "Our agents are away right now."
#: Leaves room for the "they're back" sentence within Discord's 2,000-character message limit.
AFTER_HOURS_MESSAGE_MAX_LENGTH = 1000

#: How far ahead ``next_opening`` looks: a year of holidays can hide every window, not more.
OPENING_HORIZON = timedelta(days=366)

_MIDNIGHT = time(0, 0)
_TIME_PATTERN = re.compile(r"(\d{1,2}):(\d{2})")
_DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
_HOLIDAY_SEPARATORS = re.compile(r"[\s,;]+")


class InvalidSupportHours(ValueError):
    """Support hours that cannot be used; the message is meant for the community manager."""


@dataclass(frozen=True)
class SupportHours:
    """When a server's agents answer. The defaults are always open, in UTC.

    ``days`` are the weekdays a window opens on (Monday is 0, as ``date.weekday()``), ``opens`` and
    ``closes`` are wall-clock times in ``time_zone``, and ``holidays`` are dates in that zone.
    """

    time_zone: str = DEFAULT_TIME_ZONE
    days: frozenset[int] = frozenset()
    opens: time | None = None
    closes: time | None = None
    holidays: frozenset[date] = frozenset()
    after_hours_message: str = DEFAULT_AFTER_HOURS_MESSAGE

    def __post_init__(self) -> None:
        _load_zone(self.time_zone)
        if (self.opens is None) != (self.closes is None):
            raise InvalidSupportHours("Pick both an opening and a closing time, or neither for always open.")
        for moment in (self.opens, self.closes):
            if moment is not None and (moment.tzinfo is not None or moment.second or moment.microsecond):
                raise InvalidSupportHours(f"{moment} is not a time of day in hours and minutes.")
        if not all(isinstance(day, int) and 0 <= day <= 6 for day in self.days):
            raise InvalidSupportHours(f"Days must be weekdays 0 (Monday) to 6 (Sunday), not {self.days}.")
        if self.always_open and self.days:
            raise InvalidSupportHours(
                "Pick an opening and a closing time for those days, or clear the days for always open."
            )
        if not self.always_open and not self.days:
            raise InvalidSupportHours(
                "Pick at least one day, or clear the opening and closing times for always open."
            )
        if self.opens is not None and self.opens == self.closes:
            raise InvalidSupportHours(
                f"Opening and closing times are both {_format_time(self.opens)}. Pick different "
                "times, or clear both for always open."
            )
        if not self.after_hours_message.strip():
            raise InvalidSupportHours("The after-hours message is empty.")
        if len(self.after_hours_message) > AFTER_HOURS_MESSAGE_MAX_LENGTH:
            raise InvalidSupportHours(
                f"Keep the after-hours message to {AFTER_HOURS_MESSAGE_MAX_LENGTH} characters or fewer."
            )

    @property
    def always_open(self) -> bool:
        return self.opens is None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)  # ZoneInfo caches zones by name

    def is_open(self, now: datetime) -> bool:
        """Whether agents answer at ``now`` (any aware datetime, whatever its zone)."""
        moment = _as_utc(now)
        today = moment.astimezone(self.zone).date()
        # Yesterday's window may still be open after midnight.
        spans = self._open_spans(today - timedelta(days=1), today)
        return any(start <= moment < end for start, end in spans)

    def next_opening(self, now: datetime) -> datetime | None:
        """When support next opens after ``now``, in the server's zone.

        None when always open (with no holiday ahead), or when nothing opens within a year.
        If support is open at ``now``, this is the opening after the current window closes.
        Measure time to it in UTC: subtracting two datetimes of one zone counts wall-clock hours.
        """
        moment = _as_utc(now)
        today = moment.astimezone(self.zone).date()
        for start, _end in self._open_spans(today - timedelta(days=1), today + OPENING_HORIZON):
            if start > moment:
                return start.astimezone(self.zone)
        return None

    def back_message(self, now: datetime) -> str | None:
        """What a member sees outside hours, or None while support is open.

        The opening is written in the server's zone, and again as Discord timestamp markup, which
        each member's app shows in their own time zone and as "in 2 days".
        """
        if self.is_open(now):
            return None
        opening = self.next_opening(now)
        if opening is None:
            return f"{self.after_hours_message} We don't know yet when they'll be back."
        epoch = int(opening.timestamp())
        when = _format_opening(opening, this_year=_as_utc(now).astimezone(self.zone).year)
        return (
            f"{self.after_hours_message} They're back {when} ({self.time_zone}), "
            f"<t:{epoch}:F> in your time (<t:{epoch}:R>)."
        )

    def describe(self) -> str:
        """A one-line summary, e.g. "Mon–Fri 09:00–17:00 Europe/Paris; closed on holidays"."""
        if self.opens is None or self.closes is None:
            return f"Always open; closed on holidays ({self.time_zone})" if self.holidays else "Always open"
        if self.closes == _MIDNIGHT:
            hours = f"{_format_time(self.opens)}–24:00"
        elif self.closes < self.opens:
            hours = f"{_format_time(self.opens)}–{_format_time(self.closes)} (next day)"
        else:
            hours = f"{_format_time(self.opens)}–{_format_time(self.closes)}"
        summary = f"{_describe_days(self.days)} {hours} {self.time_zone}"
        return f"{summary}; closed on holidays" if self.holidays else summary

    def to_document(self) -> dict[str, Any]:
        """A plain JSON-able dict of strings, lists and nulls: no numbers, so no Decimals from DynamoDB."""
        return {
            "time_zone": self.time_zone,
            "days": [DAY_KEYS[day] for day in sorted(self.days)],
            "opens": None if self.opens is None else _format_time(self.opens),
            "closes": None if self.closes is None else _format_time(self.closes),
            "holidays": [holiday.isoformat() for holiday in sorted(self.holidays)],
            "after_hours_message": self.after_hours_message,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> SupportHours:
        """The reverse of ``to_document``; missing keys take the defaults (always open, UTC)."""
        opens, closes = document.get("opens"), document.get("closes")
        holidays = document.get("holidays") or []
        days = document.get("days") or []
        if not isinstance(holidays, list) or not isinstance(days, list):
            raise InvalidSupportHours("Stored support hours have days or holidays that are not lists.")
        return cls(
            time_zone=_expect_text(document.get("time_zone", DEFAULT_TIME_ZONE), "time_zone"),
            days=parse_days(days),
            opens=None if opens is None else parse_time(_expect_text(opens, "opens")),
            closes=None if closes is None else parse_time(_expect_text(closes, "closes")),
            holidays=frozenset(_parse_date(_expect_text(value, "holidays")) for value in holidays),
            after_hours_message=_expect_text(
                document.get("after_hours_message", DEFAULT_AFTER_HOURS_MESSAGE), "after_hours_message"
            ),
        )

    def _open_spans(self, first_day: date, last_day: date) -> Iterator[tuple[datetime, datetime]]:
        """Open periods in UTC, earliest first, of the windows opening from first to last day.

        Windows that touch (every day of an always-open server) are merged, so each span's start
        is a real opening.
        """
        span: tuple[datetime, datetime] | None = None
        for start, end in self._windows(first_day, last_day):
            if span is not None and start <= span[1]:
                span = (span[0], max(span[1], end))
                continue
            if span is not None:
                yield span
            span = (start, end)
        if span is not None:
            yield span

    def _windows(self, first_day: date, last_day: date) -> Iterator[tuple[datetime, datetime]]:
        opens = self.opens or _MIDNIGHT
        closes = self.closes or _MIDNIGHT
        day = first_day
        while day <= last_day:
            if day not in self.holidays and (self.always_open or day.weekday() in self.days):
                closing_day = day if closes > opens else day + timedelta(days=1)
                start = self._instant(day, opens)
                if closing_day in self.holidays:
                    end = self._instant(closing_day, _MIDNIGHT)
                else:
                    end = self._instant(closing_day, closes)
                # A window inside a spring-forward gap (02:10–03:05) can come out empty.
                if end > start:
                    yield start, end
            day += timedelta(days=1)

    def _instant(self, day: date, wall_time: time) -> datetime:
        # Combining on the local date, then converting, is what keeps 09:00 at 09:00 across DST.
        return datetime.combine(day, wall_time, tzinfo=self.zone).astimezone(UTC)


def parse_support_hours(
    *,
    time_zone: str,
    days: Iterable[str],
    opens: str,
    closes: str,
    holidays: str = "",
    after_hours_message: str = "",
) -> SupportHours:
    """Support hours from what a community manager picked and typed; blank times mean always open."""
    message = after_hours_message.strip() or DEFAULT_AFTER_HOURS_MESSAGE
    return SupportHours(
        time_zone=parse_time_zone(time_zone),
        days=parse_days(days),
        opens=parse_time(opens) if opens.strip() else None,
        closes=parse_time(closes) if closes.strip() else None,
        holidays=parse_holidays(holidays),
        after_hours_message=message,
    )


def parse_time_zone(text: str) -> str:
    """An IANA time zone name such as "Europe/Paris", checked against the zone database."""
    name = text.strip()
    _load_zone(name)
    return name


def parse_days(keys: Iterable[str]) -> frozenset[int]:
    """Weekday numbers (Monday 0) from the days select menu's values, "mon" to "sun"."""
    days: set[int] = set()
    for key in keys:
        if key not in DAY_KEYS:
            raise InvalidSupportHours(f"{key!r} is not a day; use one of {', '.join(DAY_KEYS)}.")
        days.add(DAY_KEYS.index(key))
    return frozenset(days)


def parse_time(text: str) -> time:
    """A 24-hour "HH:MM" (or "H:MM") wall-clock time."""
    match = _TIME_PATTERN.fullmatch(text.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise InvalidSupportHours(f"{text!r} is not a time. Use 24-hour HH:MM, e.g. 09:00 or 17:30.")
    return time(int(match[1]), int(match[2]))


def parse_holidays(text: str) -> frozenset[date]:
    """Dates written YYYY-MM-DD, separated by commas, semicolons, spaces or new lines."""
    return frozenset(_parse_date(word) for word in _HOLIDAY_SEPARATORS.split(text) if word)


def _parse_date(text: str) -> date:
    if _DATE_PATTERN.fullmatch(text):
        with suppress(ValueError):  # 2026-02-30 has the shape of a date but is none
            return date.fromisoformat(text)
    raise InvalidSupportHours(
        f"{text!r} is not a date. Write holidays as YYYY-MM-DD separated by commas, "
        "e.g. 2026-12-25, 2027-01-01."
    )


def _load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    # Unknown names raise ZoneInfoNotFoundError, malformed ones ValueError, folders ("Europe") OSError.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidSupportHours(
            f"{name!r} is not a time zone. Use a name from the IANA list, e.g. Europe/Paris or "
            "America/New_York."
        ) from None


def _expect_text(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise InvalidSupportHours(f"Stored support hours have a {key} that is not text: {value!r}.")
    return value


def _as_utc(now: datetime) -> datetime:
    if now.utcoffset() is None:
        raise ValueError(f"now must be an aware datetime, got {now!r}")
    return now.astimezone(UTC)


def _format_time(moment: time) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _format_opening(opening: datetime, *, this_year: int) -> str:
    """ "Monday 6 January at 09:00", with the year only when it is not this year."""
    year = "" if opening.year == this_year else f" {opening.year}"
    return (
        f"{DAY_NAMES[opening.weekday()]} {opening.day} {_MONTH_NAMES[opening.month - 1]}{year} "
        f"at {_format_time(opening.time())}"
    )


def _describe_days(days: frozenset[int]) -> str:
    """ "Mon–Fri", "Sat, Sun", "Mon, Wed, Fri", "Fri–Mon" (runs wrap around the week), "Every day"."""
    if len(days) == 7:
        return "Every day"
    # Start just after a day off, so a run through Sunday into Monday stays one run.
    first = next(day for day in range(7) if day in days and (day - 1) % 7 not in days)
    runs: list[list[int]] = []
    for offset in range(7):
        day = (first + offset) % 7
        if day not in days:
            continue
        if runs and (runs[-1][-1] + 1) % 7 == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_DAY_ABBREVIATIONS[run[0]]}–{_DAY_ABBREVIATIONS[run[-1]]}")
        else:
            parts.extend(_DAY_ABBREVIATIONS[day] for day in run)
    return ", ".join(parts)
