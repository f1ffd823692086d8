"""The message a feed entry is announced with: a template staff write with placeholders.

The announcement is a Discord embed whose title (linked to the entry) and image the caller sets
from the entry itself, so the template is the embed's description. ``{title}``, ``{link}``,
``{summary}``, ``{author}``, ``{date}`` and ``{image}`` are the placeholders; ``{{`` and ``}}``
are literal braces.

Rendering never runs the template through ``str.format``: the template is split into text and
placeholders once, by ``string.Formatter.parse``, and the entry's values are pasted in. So entry
text with braces in it is just text, and no placeholder can reach an attribute or index of a
value. Three more rules make the result read well in Discord:

* **Empty lines go.** A line whose placeholders are all empty (``By {author}`` for an entry
  without an author) is left out, as are the blank lines that leaves behind.
* **Text is text.** Markdown characters in the title, summary and author are escaped (URLs in
  them are left alone, so they still link), and ``{link}`` is made safe inside ``[text](…)``.
* **Length.** Past ``max_length`` the summary is shortened first, so the rest of the template (a
  "Read more" link) survives; if that is not enough the result is cut, ending with "…".
"""

from __future__ import annotations

import re
from string import Formatter

from flexcord.feeds.model import FeedEntry

PLACEHOLDERS = ("title", "link", "summary", "author", "date", "image")
DEFAULT_TEMPLATE = "{summary}\n\n[Read more]({link})"
TEMPLATE_MAX_LENGTH = 2000

_MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MARKDOWN = re.compile(r"([\\*_~`|\[\]<])")
#: What starts a heading, quote or list when it begins a line (a placeholder can begin one).
_LINE_START_MARKDOWN = re.compile(r"^(#{1,3}|>{1,3}|[-+*]|\d+\.)(?=\s)")
_URL = re.compile(r"https?://\S+")
#: Characters that would end a Markdown link target or break it, as their percent-escapes.
_LINK_ESCAPES = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"}
_BLANK_LINES = re.compile(r"\n{3,}")

Piece = tuple[str, str | None]  # literal text, then a placeholder name or None


def validate_template(template: str) -> None:
    """Raise ``ValueError`` with a message for staff unless ``template`` can be rendered."""
    if len(template) > TEMPLATE_MAX_LENGTH:
        raise ValueError(f"The template is longer than {TEMPLATE_MAX_LENGTH} characters.")
    _pieces(template)


def render(template: str, entry: FeedEntry, *, max_length: int = 4000, escape_markdown: bool = True) -> str:
    """The announcement text for ``entry`` (see the module docstring).

    ``escape_markdown=False`` pastes the entry's text in as it is, for callers that escape it
    themselves.
    """
    lines = [_pieces(line) for line in template.split("\n")]
    values = _values(entry, escape_markdown=escape_markdown)
    text = _fill(lines, values)
    overflow = len(text) - max_length
    if overflow > 0 and values["summary"]:
        summary = values["summary"]
        values["summary"] = _cut(summary, max(len(summary) - overflow - 1, 0))
        text = _fill(lines, values)
    if len(text) > max_length:
        text = _cut(text, max_length - 1)
    return text


def _cut(text: str, length: int) -> str:
    # A backslash left at the end would escape the "…" and show up itself.
    return text[:length].rstrip().rstrip("\\") + "…"


def _pieces(template: str) -> list[Piece]:
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as error:
        raise ValueError(f"The template has a stray brace ({error}). Write {{{{ or }}}} for one.") from None
    pieces: list[Piece] = []
    for literal, name, spec, conversion in parsed:
        if name is not None:
            _check_placeholder(name, spec, conversion)
        pieces.append((literal, name))
    return pieces


def _check_placeholder(name: str, spec: str | None, conversion: str | None) -> None:
    known = ", ".join(f"{{{placeholder}}}" for placeholder in PLACEHOLDERS)
    if not name:
        raise ValueError(f"The template has an empty {{}}. Use one of {known}.")
    if name not in PLACEHOLDERS:
        if re.split(r"[.\[]", name, maxsplit=1)[0] in PLACEHOLDERS:
            raise ValueError(f"{{{name}}} is not allowed: write the placeholder alone, like {{title}}.")
        raise ValueError(f"{{{name}}} is not a placeholder. Use one of {known}.")
    if spec or conversion:
        raise ValueError(f"Write {{{name}}} without a format (“!” or “:”).")


def _values(entry: FeedEntry, *, escape_markdown: bool) -> dict[str, str]:
    def text(value: str) -> str:
        return _escape(value) if escape_markdown else value

    return {
        "title": text(entry.title),
        "link": _link(entry.link) if escape_markdown else entry.link or "",
        "summary": text(entry.summary),
        "author": text(entry.author),
        "date": format_date(entry),
        "image": entry.image_url or "",
    }


def format_date(entry: FeedEntry) -> str:
    """The entry's date like "3 Dec 2026" (UTC), or "" when the feed does not say."""
    published = entry.published
    if published is None:
        return ""
    return f"{published.day} {_MONTH_ABBREVIATIONS[published.month - 1]} {published.year}"


def _fill(lines: list[list[Piece]], values: dict[str, str]) -> str:
    filled: list[str] = []
    for pieces in lines:
        names = [name for _, name in pieces if name is not None]
        if names and not any(values[name] for name in names):
            continue
        filled.append("".join(literal + (values[name] if name else "") for literal, name in pieces))
    return _BLANK_LINES.sub("\n\n", "\n".join(filled)).strip()


def _escape(text: str) -> str:
    """``text`` with Markdown characters escaped, except inside URLs (escaping would break them)."""
    escaped: list[str] = []
    position = 0
    for url in _URL.finditer(text):
        escaped.append(_MARKDOWN.sub(r"\\\1", text[position : url.start()]))
        escaped.append(url.group())
        position = url.end()
    escaped.append(_MARKDOWN.sub(r"\\\1", text[position:]))
    return _LINE_START_MARKDOWN.sub(r"\\\1", "".join(escaped))


def _link(link: str | None) -> str:
    if not link:
        return ""
    return "".join(_LINK_ESCAPES.get(character, character) for character in link)
