"""The "Support hours" form of ``/setup``: support hours as five lines of text an admin can read
and retype, and back.

    Days            Mon-Fri            (or "Mon, Wed, Sat", "weekdays", "every day"; blank: always open)
    Hours           09:00-17:00        ("always open"; a closing time before the opening is the next day)
    Time zone       Europe/Paris
    Holidays        2026-12-25, 2027-01-01
    After-hours     Our agents are away right now.

``form_from_hours`` writes what ``hours_from_form`` reads, so the form opens filled in with the
current hours. Pure code: nothing here touches Discord.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flexcord.servers.hours import (
    DAY_KEYS,
    DAY_NAMES,
    DEFAULT_TIME_ZONE,
    InvalidSupportHours,
    SupportHours,
    parse_support_hours,
)

ALWAYS_OPEN = "always open"
_ALWAYS_OPEN_WORDS = frozenset({"always", "always open", "24/7", "open all the time"})
_EVERY_DAY_WORDS = frozenset({"every day", "everyday", "daily", "all", "all week", "all days"})
_DAY_GROUPS = {
    "weekdays": DAY_KEYS[:5],
    "weekday": DAY_KEYS[:5],
    "weekends": DAY_KEYS[5:],
    "weekend": DAY_KEYS[5:],
}
_DASHES = re.compile(r"\s*(?:[-‐‑‒–—]|\bto\b|\buntil\b)\s*")
_DAY_SEPARATORS = re.compile(r"(?:[,;/&+]|\band\b|\s)+")
_ABBREVIATIONS = tuple(name[:3] for name in DAY_NAMES)


@dataclass(frozen=True)
class HoursForm:
    """The form's five fields, as text."""

    days: str = ""
    hours: str = ""
    time_zone: str = DEFAULT_TIME_ZONE
    holidays: str = ""
    after_hours_message: str = ""

    @classmethod
    def of(cls, values: Mapping[str, object]) -> HoursForm:
        """From ``{field name: text}`` (a form submission); anything not text counts as blank."""
        return cls(**{name: _text(values.get(name)) for name, _ in FORM_FIELDS})

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name, _ in FORM_FIELDS}


#: The fields in the order the form shows them: (name, label). The settings message shows the
#: same labels, which is how the form opens filled in.
FORM_FIELDS = (
    ("days", "Days"),
    ("hours", "Hours"),
    ("time_zone", "Time zone"),
    ("holidays", "Holidays"),
    ("after_hours_message", "After-hours message"),
)


def form_from_hours(hours: SupportHours) -> HoursForm:
    """The form filled in with ``hours``: reading it back gives the same hours."""
    if hours.opens is None or hours.closes is None:
        days, opening_hours = "", ALWAYS_OPEN
    else:
        # A window closing at midnight is written 24:00, as people say it.
        closes = "24:00" if hours.closes.hour == hours.closes.minute == 0 else f"{hours.closes:%H:%M}"
        days, opening_hours = describe_days(hours.days), f"{hours.opens:%H:%M}-{closes}"
    return HoursForm(
        days=days,
        hours=opening_hours,
        time_zone=hours.time_zone,
        holidays=", ".join(holiday.isoformat() for holiday in sorted(hours.holidays)),
        after_hours_message=hours.after_hours_message,
    )


def hours_from_form(form: HoursForm) -> SupportHours:
    """Support hours from what the admin typed; ``InvalidSupportHours`` says what to fix."""
    hours_text = " ".join(form.hours.split()).casefold()
    days = parse_day_list(form.days)
    if hours_text in _ALWAYS_OPEN_WORDS or (not hours_text and not days):
        opens = closes = ""
        days = []
    elif not hours_text:
        raise InvalidSupportHours(
            f"Give the opening hours for those days, like 09:00-17:00, or write “{ALWAYS_OPEN}”."
        )
    else:
        parts = _DASHES.split(hours_text)
        if len(parts) != 2 or not all(parts):
            raise InvalidSupportHours(
                "Write the hours as opening-closing in 24-hour time, like 09:00-17:00 "
                f"(not {form.hours.strip()!r})."
            )
        opens, closes = parts
        closes = "00:00" if closes == "24:00" else closes
        if not days:
            raise InvalidSupportHours("Say which days support is open, like Mon-Fri or Mon, Wed, Sat.")
    return parse_support_hours(
        time_zone=form.time_zone.strip() or DEFAULT_TIME_ZONE,
        days=days,
        opens=opens,
        closes=closes,
        holidays=form.holidays,
        after_hours_message=form.after_hours_message,
    )


def parse_day_list(text: str) -> list[str]:
    """Day keys ("mon"...) from "Mon-Fri", "Mon, Wed and Fri", "Fri-Mon" (runs wrap around the
    week), "weekdays", "weekends" or "every day"; full names and abbreviations of two letters or
    more ("tu", "thurs"). Blank gives no days."""
    cleaned = " ".join(text.split()).casefold()
    if not cleaned:
        return []
    if cleaned in _EVERY_DAY_WORDS:
        return list(DAY_KEYS)
    chosen: set[str] = set()
    for token in _DAY_SEPARATORS.split(_DASHES.sub("-", cleaned)):
        if not token:
            continue
        if token in _DAY_GROUPS:
            chosen.update(_DAY_GROUPS[token])
            continue
        ends = token.split("-")
        if len(ends) == 1:
            chosen.add(DAY_KEYS[_day_index(token)])
        elif len(ends) == 2 and all(ends):
            first, last = _day_index(ends[0]), _day_index(ends[1])
            chosen.update(DAY_KEYS[(first + step) % 7] for step in range((last - first) % 7 + 1))
        else:
            raise InvalidSupportHours(f"{token!r} is not a day or a range of days like Mon-Fri.")
    return [key for key in DAY_KEYS if key in chosen]


def describe_days(days: frozenset[int]) -> str:
    """Days as the form writes them: "Every day", "Mon-Fri", "Mon, Wed, Sat-Sun"... Runs of three
    days or more are ranges; the week starts on Monday."""
    if len(days) == 7:
        return "Every day"
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] + 1 == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_ABBREVIATIONS[run[0]]}-{_ABBREVIATIONS[run[-1]]}")
        else:
            parts.extend(_ABBREVIATIONS[day] for day in run)
    return ", ".join(parts)


def _day_index(word: str) -> int:
    if len(word) >= 2:
        for index, name in enumerate(DAY_NAMES):
            if name.casefold().startswith(word):
                return index
    raise InvalidSupportHours(f"{word!r} is not a day. Write days like Mon-Fri, or Mon, Wed, Sat.")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
