"""Message templates: what staff may write, and what an entry renders to, whatever its text holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flexcord.feeds import DEFAULT_TEMPLATE, PLACEHOLDERS, render, validate_template
from tests.unit.feeds.feed_fakes import make_entry

ENTRY = make_entry(
    title="Patch 1.2",
    link="https://example.com/patch-1-2",
    summary="New raids and fixes.",
    author="Ana",
    published=datetime(2026, 12, 3, 23, 30, tzinfo=UTC),
    image_url="https://cdn.example.com/raid.png",
)


def test_every_placeholder_renders() -> None:
    template = " | ".join(f"{{{name}}}" for name in PLACEHOLDERS)
    validate_template(template)
    assert render(template, ENTRY) == (
        "Patch 1.2 | https://example.com/patch-1-2 | New raids and fixes. | Ana | 3 Dec 2026 | "
        "https://cdn.example.com/raid.png"
    )


def test_the_default_template() -> None:
    validate_template(DEFAULT_TEMPLATE)
    assert (
        render(DEFAULT_TEMPLATE, ENTRY)
        == "New raids and fixes.\n\n[Read more](https://example.com/patch-1-2)"
    )


def test_lines_whose_placeholders_are_all_empty_are_left_out() -> None:
    bare = make_entry(title="Patch 1.2", summary="Fixes.")
    assert render(DEFAULT_TEMPLATE, bare) == "Fixes."
    assert render("**{title}**\nBy {author}\n\n{date}\n\nThanks!", bare) == "**Patch 1.2**\n\nThanks!"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{titel}", r"\{titel\} is not a placeholder. Use one of \{title\}, \{link\}"),
        ("{}", r"empty \{\}"),
        ("{0}", r"\{0\} is not a placeholder"),
        ("{title.__class__}", r"\{title.__class__\} is not allowed"),
        ("{summary[0]}", r"\{summary\[0\]\} is not allowed"),
        ("{title!r}", r"Write \{title\} without a format"),
        ("{title:>20}", r"Write \{title\} without a format"),
        ("{title", "stray brace"),
        ("title}", "stray brace"),
        ("x" * 2001, "longer than 2000 characters"),
    ],
)
def test_invalid_templates_are_refused_with_a_reason(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_template(template)


def test_doubled_braces_are_literal_braces() -> None:
    assert render("{{title}} is {title}", ENTRY) == "{title} is Patch 1.2"


def test_braces_in_entry_text_are_just_text() -> None:
    sneaky = make_entry(
        title="{summary} {0} {title.__class__}",
        summary="Use {{braces}} and {link} and }{",
        link="https://example.com/a",
    )
    assert (
        render("{title}\n{summary}", sneaky)
        == "{summary} {0} {title.\\_\\_class\\_\\_}\nUse {{braces}} and {link} and }{"
    )


def test_markdown_in_entry_text_is_escaped_but_urls_are_not() -> None:
    entry = make_entry(
        title="# **Big** news_today",
        summary="See https://example.com/a_b_c for [details] <@123>",
        link="https://example.com/wiki/Raid_(game)",
    )
    assert render("{title}\n{summary}\n[more]({link})", entry) == (
        "\\# \\*\\*Big\\*\\* news\\_today\n"
        "See https://example.com/a_b_c for \\[details\\] \\<@123>\n"
        "[more](https://example.com/wiki/Raid_%28game%29)"
    )
    assert render("{title}", entry, escape_markdown=False) == "# **Big** news_today"


def test_a_long_summary_is_shortened_so_the_rest_of_the_template_survives() -> None:
    long_entry = make_entry(title="T", summary="word " * 300, link="https://example.com/x")
    text = render(DEFAULT_TEMPLATE, long_entry, max_length=200)
    assert len(text) <= 200
    assert text.endswith("…\n\n[Read more](https://example.com/x)")


def test_text_is_cut_when_shortening_the_summary_is_not_enough() -> None:
    long_title = make_entry(title="T" * 500, summary="short")
    text = render("{title}\n{summary}", long_title, max_length=100)
    assert len(text) == 100
    assert text == "T" * 99 + "…"


def test_a_cut_never_leaves_a_dangling_escape() -> None:
    stars = make_entry(title="*" * 300)
    text = render("{title}", stars, max_length=50)
    assert len(text) <= 50
    assert text.endswith("\\*…")


def test_the_date_is_empty_when_unknown() -> None:
    assert render("{title} ({date})", make_entry(title="x")) == "x ()"
    assert render("{date}", make_entry(published=datetime(2026, 1, 9, 0, 0, tzinfo=UTC))) == "9 Jan 2026"
