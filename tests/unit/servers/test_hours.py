"""Support hours: open or closed at a given instant, the next opening, and what members read.

Every test passes the time in; none reads the machine's clock. Dates are checked on a calendar:
2026-12-25 is a Friday, and the DST changes of 2026 fall on Sundays (Europe/Paris on 29 March and
25 October, America/New_York on 8 March and 1 November).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from flexcord.servers import (
    DEFAULT_AFTER_HOURS_MESSAGE,
    InvalidSupportHours,
    SupportHours,
    parse_days,
    parse_holidays,
    parse_support_hours,
    parse_time,
    parse_time_zone,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")

WEEKDAYS = frozenset({0, 1, 2, 3, 4})
EVERY_DAY = frozenset(range(7))


def paris(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def new_york(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def hours(
    opens: str,
    closes: str,
    *,
    days: frozenset[int] = WEEKDAYS,
    time_zone: str = "Europe/Paris",
    holidays: str = "",
) -> SupportHours:
    return SupportHours(
        time_zone=time_zone,
        days=days,
        opens=parse_time(opens),
        closes=parse_time(closes),
        holidays=parse_holidays(holidays),
    )


OFFICE = hours("09:00", "17:00")  # Monday to Friday, Paris
NIGHTS = hours("18:00", "02:00", days=frozenset({4, 5}), time_zone="America/New_York")  # Fri, Sat


# --- a working week ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (paris(2026, 6, 1, 8, 59), False),  # Monday, before opening
        (paris(2026, 6, 1, 9, 0), True),  # opening is inclusive
        (paris(2026, 6, 1, 16, 59), True),
        (paris(2026, 6, 1, 17, 0), False),  # closing is exclusive
        (paris(2026, 6, 5, 12, 0), True),  # Friday
        (paris(2026, 6, 6, 12, 0), False),  # Saturday
        (paris(2026, 6, 7, 12, 0), False),  # Sunday
    ],
)
def test_open_on_weekdays_between_opening_and_closing(now: datetime, expected: bool) -> None:
    assert OFFICE.is_open(now) is expected


def test_over_the_weekend_the_next_opening_is_monday_morning() -> None:
    assert OFFICE.next_opening(paris(2026, 6, 5, 17, 0)) == paris(2026, 6, 8, 9, 0)
    assert OFFICE.next_opening(paris(2026, 6, 7, 23, 59)) == paris(2026, 6, 8, 9, 0)


def test_before_opening_the_next_opening_is_later_that_day() -> None:
    assert OFFICE.next_opening(paris(2026, 6, 2, 7, 30)) == paris(2026, 6, 2, 9, 0)


def test_while_open_the_next_opening_is_the_following_window() -> None:
    assert OFFICE.next_opening(paris(2026, 6, 2, 10, 0)) == paris(2026, 6, 3, 9, 0)


def test_next_opening_is_in_the_server_zone() -> None:
    opening = OFFICE.next_opening(utc(2026, 6, 6, 12, 0))
    assert opening is not None
    assert opening.tzinfo == PARIS
    assert opening.utcoffset() == timedelta(hours=2)


def test_back_message_gives_the_opening_in_the_server_zone_and_in_each_members_time() -> None:
    # Saturday 4 January 2025; Monday 6 January 09:00 in Paris is 08:00 UTC.
    assert OFFICE.back_message(paris(2025, 1, 4, 12, 0)) == (
        "Our agents are away right now. They're back Monday 6 January at 09:00 (Europe/Paris), "
        "<t:1736150400:F> in your time (<t:1736150400:R>)."
    )


def test_back_message_is_none_while_open() -> None:
    assert OFFICE.back_message(paris(2026, 6, 2, 10, 0)) is None


def test_back_message_names_the_year_when_support_reopens_next_year() -> None:
    closed_for_the_holidays = hours(
        "09:00", "17:00", holidays="2026-12-25, 2026-12-28, 2026-12-29, 2026-12-30, 2026-12-31, 2027-01-01"
    )
    message = closed_for_the_holidays.back_message(paris(2026, 12, 24, 18, 0))
    assert message is not None
    assert "They're back Monday 4 January 2027 at 09:00 (Europe/Paris)" in message


def test_back_message_starts_with_the_servers_own_after_hours_message() -> None:
    custom = SupportHours(
        time_zone="Europe/Paris",
        days=WEEKDAYS,
        opens=time(9),
        closes=time(17),
        after_hours_message="The team is asleep 💤",
    )
    message = custom.back_message(paris(2026, 6, 6, 12, 0))
    assert message is not None
    assert message.startswith("The team is asleep 💤 They're back Monday 8 June at 09:00 (Europe/Paris), ")


# --- closing after midnight ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (new_york(2026, 6, 4, 23, 0), False),  # Thursday night: not a day that opens
        (new_york(2026, 6, 5, 17, 59), False),
        (new_york(2026, 6, 5, 18, 0), True),  # Friday evening
        (new_york(2026, 6, 5, 23, 59), True),
        (new_york(2026, 6, 6, 1, 59), True),  # Friday's window, after midnight
        (new_york(2026, 6, 6, 2, 0), False),
        (new_york(2026, 6, 6, 12, 0), False),  # Saturday afternoon
        (new_york(2026, 6, 7, 1, 0), True),  # Saturday's window, after midnight
        (new_york(2026, 6, 7, 2, 0), False),
        (new_york(2026, 6, 7, 20, 0), False),  # Sunday evening: not a day that opens
        (new_york(2026, 6, 8, 1, 0), False),  # so no tail on Monday morning
    ],
)
def test_a_window_closing_after_midnight_closes_the_next_day(now: datetime, expected: bool) -> None:
    assert NIGHTS.is_open(now) is expected


def test_after_a_night_window_the_next_opening_is_that_evening_or_next_week() -> None:
    assert NIGHTS.next_opening(new_york(2026, 6, 6, 3, 0)) == new_york(2026, 6, 6, 18, 0)
    assert NIGHTS.next_opening(new_york(2026, 6, 7, 3, 0)) == new_york(2026, 6, 12, 18, 0)


def test_closing_at_midnight_closes_at_the_end_of_the_day() -> None:
    until_midnight = hours("09:00", "00:00")
    assert until_midnight.is_open(paris(2026, 6, 1, 23, 59))
    assert not until_midnight.is_open(paris(2026, 6, 2, 0, 0))
    assert until_midnight.describe() == "Mon–Fri 09:00–24:00 Europe/Paris"


# --- holidays ------------------------------------------------------------------------------------


def test_a_holiday_friday_closes_the_day_so_support_reopens_on_monday() -> None:
    christmas = hours("09:00", "17:00", holidays="2026-12-25")
    assert not christmas.is_open(paris(2026, 12, 25, 10, 0))
    assert christmas.next_opening(paris(2026, 12, 24, 17, 30)) == paris(2026, 12, 28, 9, 0)
    message = christmas.back_message(paris(2026, 12, 25, 10, 0))
    assert message is not None
    assert "They're back Monday 28 December at 09:00 (Europe/Paris)" in message


def test_a_holiday_closes_the_whole_local_day_including_windows_across_its_midnights() -> None:
    nightly = hours("18:00", "02:00", days=EVERY_DAY, holidays="2026-12-25")
    assert nightly.is_open(paris(2026, 12, 24, 23, 59))
    assert not nightly.is_open(paris(2026, 12, 25, 0, 0))  # Christmas Eve's window stops at midnight
    assert not nightly.is_open(paris(2026, 12, 25, 1, 0))
    assert not nightly.is_open(paris(2026, 12, 25, 18, 0))  # Christmas Day's window does not open
    assert not nightly.is_open(paris(2026, 12, 26, 1, 0))  # nor its after-midnight part
    assert nightly.is_open(paris(2026, 12, 26, 18, 0))
    assert nightly.next_opening(paris(2026, 12, 25, 0, 30)) == paris(2026, 12, 26, 18, 0)


def test_holiday_dates_are_days_in_the_server_zone() -> None:
    always_but_christmas = SupportHours(
        time_zone="America/New_York", holidays=frozenset({date(2026, 12, 25)})
    )
    assert always_but_christmas.is_open(utc(2026, 12, 25, 3, 0))  # still 24 December in New York
    assert not always_but_christmas.is_open(utc(2026, 12, 25, 6, 0))
    assert not always_but_christmas.is_open(utc(2026, 12, 26, 4, 59))
    assert always_but_christmas.is_open(utc(2026, 12, 26, 5, 0))


def test_an_always_open_server_reopens_at_the_midnight_after_its_holidays() -> None:
    always_but_new_year = SupportHours(
        time_zone="Europe/Paris", holidays=parse_holidays("2026-12-31 2027-01-01")
    )
    assert always_but_new_year.next_opening(paris(2026, 12, 31, 12, 0)) == paris(2027, 1, 2, 0, 0)
    assert always_but_new_year.next_opening(paris(2026, 12, 1, 12, 0)) == paris(2027, 1, 2, 0, 0)


def test_when_holidays_hide_every_window_for_a_year_there_is_no_next_opening() -> None:
    every_monday = " ".join(str(date(2026, 1, 5) + timedelta(weeks=week)) for week in range(60))
    mondays_only = hours("09:00", "17:00", days=frozenset({0}), holidays=every_monday)
    now = paris(2026, 1, 4, 12, 0)
    assert mondays_only.next_opening(now) is None
    assert mondays_only.back_message(now) == (
        "Our agents are away right now. We don't know yet when they'll be back."
    )


# --- always open ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now",
    [utc(2026, 1, 1, 0, 0), paris(2026, 3, 29, 2, 30), new_york(2026, 11, 1, 1, 30), utc(2026, 6, 6, 23, 59)],
)
def test_a_server_without_hours_is_always_open(now: datetime) -> None:
    always = SupportHours()
    assert always.always_open
    assert always.is_open(now)
    assert always.next_opening(now) is None
    assert always.back_message(now) is None
    assert always.describe() == "Always open"


# --- daylight-saving changes ---------------------------------------------------------------------


def test_paris_spring_forward_keeps_opening_at_nine_local_time() -> None:
    every_day = hours("09:00", "17:00", days=EVERY_DAY)
    saturday_evening = paris(2026, 3, 28, 18, 0)  # 17:00 UTC, an hour before Paris moves to UTC+2
    opening = every_day.next_opening(saturday_evening)
    assert opening == utc(2026, 3, 29, 7, 0)
    assert opening is not None
    assert (opening.hour, opening.utcoffset()) == (9, timedelta(hours=2))
    # Subtracting datetimes of one zone gives wall-clock hours (15 here); real hours need UTC.
    assert opening.astimezone(UTC) - saturday_evening.astimezone(UTC) == timedelta(hours=14)
    assert not every_day.is_open(utc(2026, 3, 29, 6, 59))
    assert every_day.is_open(utc(2026, 3, 29, 7, 0))
    assert every_day.is_open(utc(2026, 3, 29, 14, 59))
    assert not every_day.is_open(utc(2026, 3, 29, 15, 0))


def test_paris_spring_forward_shortens_a_night_window_by_an_hour() -> None:
    saturday_night = hours("22:00", "06:00", days=frozenset({5}))
    assert saturday_night.is_open(utc(2026, 3, 28, 21, 0))  # 22:00 CET
    assert saturday_night.is_open(utc(2026, 3, 29, 3, 59))  # 05:59 CEST
    assert not saturday_night.is_open(utc(2026, 3, 29, 4, 0))  # 06:00 CEST


def test_paris_fall_back_lengthens_a_night_window_by_an_hour() -> None:
    saturday_night = hours("22:00", "06:00", days=frozenset({5}))
    assert not saturday_night.is_open(utc(2026, 10, 24, 19, 59))
    assert saturday_night.is_open(utc(2026, 10, 24, 20, 0))  # 22:00 CEST
    assert saturday_night.is_open(utc(2026, 10, 25, 4, 59))  # 05:59 CET
    assert not saturday_night.is_open(utc(2026, 10, 25, 5, 0))  # 06:00 CET


def test_paris_fall_back_keeps_opening_at_nine_local_time() -> None:
    every_day = hours("09:00", "17:00", days=EVERY_DAY)
    assert every_day.next_opening(paris(2026, 10, 24, 17, 0)) == utc(2026, 10, 25, 8, 0)
    assert not every_day.is_open(utc(2026, 10, 25, 7, 30))  # 08:30 CET, though 09:30 the day before
    assert every_day.is_open(utc(2026, 10, 25, 15, 59))
    assert not every_day.is_open(utc(2026, 10, 25, 16, 0))


def test_new_york_spring_forward_over_a_weekend() -> None:
    office = hours("09:00", "17:00", time_zone="America/New_York")
    opening = office.next_opening(new_york(2026, 3, 6, 17, 0))
    assert opening == utc(2026, 3, 9, 13, 0)  # 09:00 EDT, not 14:00 UTC as in EST
    assert opening is not None
    assert (opening.hour, opening.utcoffset()) == (9, timedelta(hours=-4))


def test_new_york_fall_back_over_a_weekend() -> None:
    office = hours("09:00", "17:00", time_zone="America/New_York")
    assert office.next_opening(new_york(2026, 10, 30, 17, 0)) == utc(2026, 11, 2, 14, 0)  # 09:00 EST
    assert not office.is_open(utc(2026, 11, 2, 13, 30))
    assert office.is_open(utc(2026, 11, 2, 14, 0))


def test_an_opening_time_skipped_by_spring_forward_opens_just_after_the_change() -> None:
    early = hours("02:30", "05:00", days=EVERY_DAY)
    assert early.next_opening(utc(2026, 3, 29, 0, 0)) == paris(2026, 3, 29, 3, 30)
    assert not early.is_open(utc(2026, 3, 29, 1, 29))
    assert early.is_open(utc(2026, 3, 29, 1, 30))


def test_an_opening_time_repeated_by_fall_back_opens_the_first_time() -> None:
    early = hours("02:30", "05:00", days=EVERY_DAY)
    opening = early.next_opening(utc(2026, 10, 24, 23, 0))
    assert opening is not None
    # A time that happens twice never compares equal across zones, so compare in UTC.
    assert opening.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    assert (opening.hour, opening.minute, opening.utcoffset()) == (2, 30, timedelta(hours=2))  # CEST
    assert early.is_open(utc(2026, 10, 25, 0, 30))


# --- members in other zones ----------------------------------------------------------------------


def test_a_member_in_another_zone_gets_the_servers_hours() -> None:
    office = hours("09:00", "17:00", time_zone="America/New_York")
    tuesday_morning_in_tokyo = datetime(2026, 6, 2, 8, 0, tzinfo=TOKYO)  # Monday 19:00 in New York
    assert not office.is_open(tuesday_morning_in_tokyo)
    opening = office.next_opening(tuesday_morning_in_tokyo)
    assert opening == new_york(2026, 6, 2, 9, 0)
    assert opening is not None
    assert opening.tzinfo == NEW_YORK
    assert office.is_open(datetime(2026, 6, 2, 23, 0, tzinfo=TOKYO))  # Tuesday 10:00 in New York
    message = office.back_message(tuesday_morning_in_tokyo)
    assert message is not None
    epoch = int(utc(2026, 6, 2, 13, 0).timestamp())
    assert "Tuesday 2 June at 09:00 (America/New_York)" in message
    assert f"<t:{epoch}:F> in your time (<t:{epoch}:R>)" in message


def test_the_same_instant_in_any_zone_gets_the_same_answers() -> None:
    instant = utc(2026, 6, 1, 22, 0)
    for zone in (UTC, PARIS, NEW_YORK, TOKYO):
        now = instant.astimezone(zone)
        assert NIGHTS.is_open(now) is False
        assert NIGHTS.next_opening(now) == new_york(2026, 6, 5, 18, 0)


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        OFFICE.is_open(datetime(2026, 6, 1, 10, 0))


# --- describe ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("support_hours", "summary"),
    [
        (
            hours("09:00", "17:00", holidays="2026-12-25"),
            "Mon–Fri 09:00–17:00 Europe/Paris; closed on holidays",
        ),
        (OFFICE, "Mon–Fri 09:00–17:00 Europe/Paris"),
        (hours("10:00", "16:30", days=frozenset({5, 6})), "Sat, Sun 10:00–16:30 Europe/Paris"),
        (hours("09:00", "12:00", days=frozenset({0, 2, 4})), "Mon, Wed, Fri 09:00–12:00 Europe/Paris"),
        (hours("09:00", "17:00", days=frozenset({4, 5, 6, 0})), "Fri–Mon 09:00–17:00 Europe/Paris"),
        (hours("08:00", "20:00", days=EVERY_DAY), "Every day 08:00–20:00 Europe/Paris"),
        (NIGHTS, "Fri, Sat 18:00–02:00 (next day) America/New_York"),
        (
            SupportHours(time_zone="Europe/Paris", holidays=frozenset({date(2026, 12, 25)})),
            "Always open; closed on holidays (Europe/Paris)",
        ),
    ],
)
def test_describe_summarises_the_hours_in_one_line(support_hours: SupportHours, summary: str) -> None:
    assert support_hours.describe() == summary


# --- parsing what the community manager picked and typed -----------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00", time(9)),
        ("9:05", time(9, 5)),
        (" 17:30 ", time(17, 30)),
        ("00:00", time(0)),
        ("23:59", time(23, 59)),
    ],
)
def test_parse_time_reads_24_hour_times(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "9:60", "9", "09:00:00", "nine", "", "9.30", "-1:00", "9:5"])
def test_parse_time_refuses_anything_else(text: str) -> None:
    with pytest.raises(InvalidSupportHours, match=r"is not a time\. Use 24-hour HH:MM"):
        parse_time(text)


def test_parse_holidays_reads_dates_in_any_list_form() -> None:
    assert parse_holidays("2026-12-25, 2027-01-01") == {date(2026, 12, 25), date(2027, 1, 1)}
    assert parse_holidays("2026-12-25\n2027-01-01;2027-01-01 ,") == {date(2026, 12, 25), date(2027, 1, 1)}
    assert parse_holidays("  ") == frozenset()


@pytest.mark.parametrize("text", ["2026-02-30", "25/12/2026", "2026-1-1", "20261225", "Christmas"])
def test_parse_holidays_names_the_date_it_cannot_read(text: str) -> None:
    with pytest.raises(InvalidSupportHours, match=rf"'{text}' is not a date\. Write holidays as YYYY-MM-DD"):
        parse_holidays(f"2026-12-25, {text}")


def test_parse_time_zone_accepts_iana_names() -> None:
    assert parse_time_zone(" America/New_York ") == "America/New_York"
    assert parse_time_zone("UTC") == "UTC"


@pytest.mark.parametrize("text", ["Mars/Olympus", "", "Europe", "../etc/passwd", "/etc/localtime", "CET+1"])
def test_parse_time_zone_refuses_unknown_zones(text: str) -> None:
    with pytest.raises(InvalidSupportHours, match=r"is not a time zone\. Use a name from the IANA list"):
        parse_time_zone(text)


def test_parse_days_reads_the_select_menu_values() -> None:
    assert parse_days(["mon", "wed", "sun"]) == {0, 2, 6}
    assert parse_days([]) == frozenset()
    with pytest.raises(InvalidSupportHours, match="'monday' is not a day"):
        parse_days(["monday"])


def test_parse_support_hours_builds_hours_from_the_form() -> None:
    parsed = parse_support_hours(
        time_zone="Europe/Paris",
        days=["mon", "tue", "wed", "thu", "fri"],
        opens="09:00",
        closes="17:00",
        holidays="2026-12-25",
        after_hours_message="  ",
    )
    assert parsed == hours("09:00", "17:00", holidays="2026-12-25")
    assert parsed.after_hours_message == DEFAULT_AFTER_HOURS_MESSAGE


def test_parse_support_hours_without_times_or_days_is_always_open() -> None:
    parsed = parse_support_hours(time_zone="Asia/Tokyo", days=[], opens="", closes=" ")
    assert parsed == SupportHours(time_zone="Asia/Tokyo")
    assert parsed.always_open


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"time_zone": "Paris"}, "'Paris' is not a time zone"),
        ({"opens": time(9), "closes": time(9)}, "Opening and closing times are both 09:00"),
        ({"opens": time(9), "closes": None}, "Pick both an opening and a closing time, or neither"),
        ({"opens": None, "closes": None}, "clear the days for always open"),
        ({"days": frozenset()}, "Pick at least one day"),
        ({"days": frozenset({7})}, "Days must be weekdays 0"),
        ({"closes": time(17, 0, 30)}, "not a time of day in hours and minutes"),
        ({"after_hours_message": " "}, "after-hours message is empty"),
        ({"after_hours_message": "z" * 1001}, "1000 characters or fewer"),
    ],
)
def test_support_hours_refuse_what_cannot_work(fields: dict[str, object], message: str) -> None:
    valid: dict[str, object] = {
        "time_zone": "Europe/Paris",
        "days": WEEKDAYS,
        "opens": time(9),
        "closes": time(17),
    }
    with pytest.raises(InvalidSupportHours, match=message):
        SupportHours(**(valid | fields))  # type: ignore[arg-type]


def test_invalid_support_hours_is_a_value_error() -> None:
    assert issubclass(InvalidSupportHours, ValueError)


# --- storing -------------------------------------------------------------------------------------


def test_to_document_is_plain_text_and_lists() -> None:
    document = hours(
        "18:00", "02:00", days=frozenset({5, 4}), holidays="2027-01-01, 2026-12-25"
    ).to_document()
    assert document == {
        "time_zone": "Europe/Paris",
        "days": ["fri", "sat"],
        "opens": "18:00",
        "closes": "02:00",
        "holidays": ["2026-12-25", "2027-01-01"],
        "after_hours_message": DEFAULT_AFTER_HOURS_MESSAGE,
    }
    assert SupportHours().to_document()["opens"] is None


@pytest.mark.parametrize(
    "support_hours",
    [
        OFFICE,
        NIGHTS,
        SupportHours(),
        SupportHours(time_zone="Europe/Paris", holidays=frozenset({date(2026, 12, 25)})),
        SupportHours(
            time_zone="Asia/Tokyo",
            days=frozenset({6}),
            opens=time(10, 15),
            closes=time(0),
            holidays=parse_holidays("2026-05-03 2026-05-04"),
            after_hours_message="Back soon!\nCheck #faq meanwhile.",
        ),
    ],
)
def test_documents_round_trip_through_json(support_hours: SupportHours) -> None:
    document = json.loads(json.dumps(support_hours.to_document()))
    assert SupportHours.from_document(document) == support_hours


def test_an_empty_document_is_always_open_in_utc() -> None:
    assert SupportHours.from_document({}) == SupportHours()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "is not a time zone"),
        ({"days": "mon"}, "not lists"),
        ({"days": ["mon", 7]}, "7 is not a day"),
        ({"opens": 900}, "opens that is not text"),
        ({"closes": "5pm"}, "is not a time"),
        ({"holidays": ["2026-13-01"]}, "is not a date"),
        ({"after_hours_message": None}, "after_hours_message that is not text"),
    ],
)
def test_from_document_refuses_a_damaged_document(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidSupportHours, match=message):
        SupportHours.from_document(OFFICE.to_document() | changes)
