"""The /setup support hours form: text an admin types, read into SupportHours and written back."""

from __future__ import annotations

from datetime import date, time

import pytest

from flexcord.servers.hours import DAY_KEYS, InvalidSupportHours, SupportHours
from flexcord.servers.hours_form import (
    HoursForm,
    describe_days,
    form_from_hours,
    hours_from_form,
    parse_day_list,
)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("Mon-Fri", ["mon", "tue", "wed", "thu", "fri"]),
        ("mon – fri", ["mon", "tue", "wed", "thu", "fri"]),
        ("Monday to Wednesday", ["mon", "tue", "wed"]),
        ("Mon, Wed and Sat", ["mon", "wed", "sat"]),
        ("tu thurs", ["tue", "thu"]),
        ("Fri-Mon", ["mon", "fri", "sat", "sun"]),
        ("weekdays", ["mon", "tue", "wed", "thu", "fri"]),
        ("Weekends", ["sat", "sun"]),
        ("every day", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
        ("Sun; sun, SUN", ["sun"]),
        ("  ", []),
    ],
)
def test_days_are_read_from_what_people_write(text: str, days: list[str]) -> None:
    assert parse_day_list(text) == days


@pytest.mark.parametrize("text", ["Funday", "M", "t", "Mon--Fri", "Mon-", "s-su"])
def test_a_word_that_is_not_a_day_is_refused_by_name(text: str) -> None:
    with pytest.raises(InvalidSupportHours, match="is not a day"):
        parse_day_list(text)


@pytest.mark.parametrize(
    ("days", "text"),
    [
        ({0, 1, 2, 3, 4}, "Mon-Fri"),
        ({0, 2, 5}, "Mon, Wed, Sat"),
        ({5, 6}, "Sat, Sun"),
        ({0, 1, 2, 4, 5, 6}, "Mon-Wed, Fri-Sun"),
        (set(range(7)), "Every day"),
    ],
)
def test_days_are_written_as_ranges_and_lists(days: set[int], text: str) -> None:
    assert describe_days(frozenset(days)) == text
    assert parse_day_list(text) == [DAY_KEYS[day] for day in sorted(days)]


def test_a_complete_form_becomes_support_hours() -> None:
    hours = hours_from_form(
        HoursForm(
            days="Mon-Fri",
            hours="09:00 – 17:30",
            time_zone="Europe/Paris",
            holidays="2026-12-25, 2027-01-01",
            after_hours_message="Back soon!",
        )
    )
    assert hours == SupportHours(
        time_zone="Europe/Paris",
        days=frozenset(range(5)),
        opens=time(9, 0),
        closes=time(17, 30),
        holidays=frozenset({date(2026, 12, 25), date(2027, 1, 1)}),
        after_hours_message="Back soon!",
    )
    assert hours.describe() == "Mon–Fri 09:00–17:30 Europe/Paris; closed on holidays"


@pytest.mark.parametrize(
    "form",
    [
        HoursForm(),
        HoursForm(hours="always open", days="Mon-Fri"),
        HoursForm(hours="24/7", time_zone="Asia/Tokyo", holidays="2026-01-01"),
    ],
)
def test_always_open_is_blank_or_said_in_words(form: HoursForm) -> None:
    hours = hours_from_form(form)
    assert hours.always_open
    assert hours.days == frozenset()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (HoursForm(days="Mon-Fri"), "Give the opening hours for those days"),
        (HoursForm(hours="09:00-17:00"), "Say which days support is open"),
        (HoursForm(days="Mon", hours="9 to 5"), "is not a time"),
        (HoursForm(days="Mon", hours="09:00"), "Write the hours as opening-closing"),
        (HoursForm(days="Mon", hours="09:00-17:00-18:00"), "Write the hours as opening-closing"),
        (HoursForm(days="Mon", hours="09:00-17:00", time_zone="Mars/Olympus"), "is not a time zone"),
        (HoursForm(days="Mon", hours="09:00-17:00", holidays="25/12/2026"), "is not a date"),
        (HoursForm(days="Mon", hours="09:00-09:00"), "Opening and closing times are both 09:00"),
        (HoursForm(after_hours_message="x" * 1001), "1000 characters"),
    ],
)
def test_a_mistake_is_explained(form: HoursForm, message: str) -> None:
    with pytest.raises(InvalidSupportHours, match=message):
        hours_from_form(form)


@pytest.mark.parametrize(
    "hours",
    [
        SupportHours(),
        SupportHours(time_zone="America/New_York", holidays=frozenset({date(2026, 7, 4)})),
        SupportHours(
            time_zone="Europe/London",
            days=frozenset({4, 5}),
            opens=time(18, 0),
            closes=time(2, 0),
            holidays=frozenset({date(2026, 12, 25), date(2026, 12, 26)}),
            after_hours_message="The team is offline.",
        ),
        SupportHours(days=frozenset({0, 2, 6}), opens=time(9, 15), closes=time(0, 0)),
    ],
)
def test_the_form_opens_with_the_current_hours_and_reads_them_back(hours: SupportHours) -> None:
    form = form_from_hours(hours)
    assert hours_from_form(form) == hours


def test_a_window_closing_at_midnight_is_written_24_00() -> None:
    form = form_from_hours(SupportHours(days=frozenset({0}), opens=time(9, 0), closes=time(0, 0)))
    assert (form.days, form.hours) == ("Mon", "09:00-24:00")
    assert form_from_hours(SupportHours()).hours == "always open"


def test_a_submission_missing_fields_or_with_non_text_counts_them_blank() -> None:
    form = HoursForm.of({"days": "Mon", "hours": 9, "after_hours_message": None})
    assert form == HoursForm(days="Mon", hours="", time_zone="", holidays="", after_hours_message="")
