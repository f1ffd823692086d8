"""Include and exclude filters: whole words and phrases, regular expressions, and the messages
staff get for terms that cannot be used."""

from __future__ import annotations

import pytest

from flexcord.feeds import FeedFilters, parse_filter_terms
from tests.unit.feeds.feed_fakes import make_entry

PATCH = make_entry(title="Patch Notes 1.2", summary="Raid fixes and a new dispatcher.")
EVENT = make_entry(title="Winter event", summary="Snowball fights all week. Patch coming soon!")
SALE = make_entry(title="Holiday sale", summary="Skins at half price.")


def accepted(filters: FeedFilters) -> list[str]:
    return [entry.title for entry in (PATCH, EVENT, SALE) if filters.accepts(entry)]


def test_no_terms_accept_everything() -> None:
    assert accepted(FeedFilters()) == ["Patch Notes 1.2", "Winter event", "Holiday sale"]


def test_words_match_whole_words_in_title_or_summary_ignoring_case() -> None:
    assert accepted(FeedFilters(include=("patch",))) == ["Patch Notes 1.2", "Winter event"]
    # "dispatcher" contains "patch" but is another word.
    assert accepted(FeedFilters(include=("dispatch",))) == []
    assert accepted(FeedFilters(include=("SKINS",))) == ["Holiday sale"]


def test_phrases_match_across_spacing() -> None:
    entry = make_entry(title="Patch   notes\nfor raids")
    assert FeedFilters(include=("patch notes",)).accepts(entry)
    assert not FeedFilters(include=("notes patch",)).accepts(entry)


def test_terms_with_symbols_still_need_a_whole_word() -> None:
    assert FeedFilters(include=("c++",)).accepts(make_entry(title="Modding in C++ now"))
    assert not FeedFilters(include=("c++",)).accepts(make_entry(title="abc++ parser"))
    assert FeedFilters(include=("#status",)).accepts(make_entry(title="Down again #status"))


def test_regular_expressions_are_searched_ignoring_case() -> None:
    assert accepted(FeedFilters(include=(r"/patch\s+notes\s+\d+\.\d+/",))) == ["Patch Notes 1.2"]
    # Unlike a word, a regex matches inside words.
    assert accepted(FeedFilters(include=("/dispatch/",))) == ["Patch Notes 1.2"]


def test_an_exclude_match_rejects_even_an_included_entry() -> None:
    filters = FeedFilters(include=("patch",), exclude=("winter",))
    assert accepted(filters) == ["Patch Notes 1.2"]
    assert accepted(FeedFilters(exclude=("/sale|event/",))) == ["Patch Notes 1.2"]


def test_a_stored_invalid_regex_matches_nothing_instead_of_failing() -> None:
    assert accepted(FeedFilters(include=("/[unclosed/",))) == []
    assert accepted(FeedFilters(exclude=("/[unclosed/",))) == [
        "Patch Notes 1.2",
        "Winter event",
        "Holiday sale",
    ]


def test_terms_are_split_on_commas_with_blanks_and_repeats_dropped() -> None:
    assert parse_filter_terms(" patch notes, , /v\\d+/ ,Patch Notes,event,") == (
        "patch notes",
        "/v\\d+/",
        "event",
    )
    assert parse_filter_terms("   ") == ()


def test_commas_inside_a_regex_do_not_split_it() -> None:
    assert parse_filter_terms(r"/\d{1,3} raids/, sale") == (r"/\d{1,3} raids/", "sale")
    assert parse_filter_terms("/[,;]x/") == ("/[,;]x/",)
    assert parse_filter_terms("/r/python, news") == ("/r/python", "news")


def test_a_bad_regex_is_named_in_the_message() -> None:
    with pytest.raises(ValueError, match=r"/raid\(s/ is not a valid regular expression: missing \)"):
        parse_filter_terms(r"patch, /raid(s/")
    with pytest.raises(ValueError, match="// is an empty regular expression"):
        parse_filter_terms("//")


def test_too_many_or_too_long_terms_are_refused() -> None:
    assert len(parse_filter_terms(",".join(f"term{number}" for number in range(20)))) == 20
    with pytest.raises(ValueError, match="at most 20 filter terms \\(there are 21\\)"):
        parse_filter_terms(",".join(f"term{number}" for number in range(21)))
    assert parse_filter_terms("x" * 100) == ("x" * 100,)
    with pytest.raises(ValueError, match="longer than 100 characters"):
        parse_filter_terms("x" * 101)
