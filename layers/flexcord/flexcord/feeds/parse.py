"""Turning a fetched RSS or Atom document into ``FeedEntry`` values.

feedparser does the hard part (RSS 0.9x–2.0, RDF, Atom, namespaces, a hundred date formats,
broken encodings, HTML sanitizing). This module decides what counts as a feed and cleans each
entry up for a Discord embed:

* **Feed or not.** A web page, a JSON document or an empty body is not a feed, whatever its
  content type says. XML that is not well formed is accepted when feedparser's lenient parser
  still finds entries in it (many real feeds are slightly broken), and refused otherwise, with
  the parser's complaint for staff.
* **Text.** Summaries and HTML titles become plain text: tags stripped, entities decoded,
  whitespace collapsed. Posts without a title (Mastodon, Bluesky) get the start of their text.
* **Order.** Entries are newest first by date; entries without a date follow, in feed order.
  Feeds list newest first by convention, so this is what a dateless feed already is.

feedparser is imported when a feed is parsed, not with this module: it takes a noticeable part
of a cold start, and most Lambda functions that import the feeds package never parse a feed.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit
from xml.sax import SAXException, SAXParseException

from flexcord.feeds.model import FeedEntry

MAX_ENTRIES = 200
SUMMARY_MAX_LENGTH = 2000
#: A post without a title is titled with this much of its text.
DERIVED_TITLE_LENGTH = 100
#: The syndication module's ``sy:updatePeriod`` values, in seconds.
_UPDATE_PERIODS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 7 * 86400,
    "monthly": 30 * 86400,
    "yearly": 365 * 86400,
}
_XML_DECLARATION = re.compile(rb"(\xef\xbb\xbf)?<\?xml")
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    link: str | None
    #: How long the publisher asks readers to wait between polls (RSS ``<ttl>`` or the
    #: syndication module's ``updatePeriod``/``updateFrequency``); None when it does not say.
    ttl_seconds: int | None
    #: Newest first (see the module docstring), at most ``MAX_ENTRIES``.
    entries: tuple[FeedEntry, ...]


class FeedParseError(ValueError):
    """The document is not a feed Flexcord can read; the message says why, for staff."""


def parse_feed(body: bytes, *, content_type: str | None = None, base_url: str | None = None) -> ParsedFeed:
    """Parse an RSS or Atom document. ``base_url`` (the URL it came from) resolves relative links.

    Raises ``FeedParseError`` when ``body`` is not a feed, or is XML too broken to find entries in.
    """
    import feedparser

    if not body.strip():
        raise FeedParseError("the feed is empty")
    headers = {}
    if content_type:
        headers["content-type"] = content_type
    if base_url:
        headers["content-location"] = base_url
    # A stream, not the bytes: given bytes, feedparser first tries them as a file name (and a str
    # as a URL to fetch), which must never happen with what a stranger's server sent.
    result = feedparser.parse(io.BytesIO(body), response_headers=headers)
    if not result.get("version"):
        raise FeedParseError(_not_a_feed(body))
    entries = [entry for raw in result.entries if (entry := _entry(raw, result.feed)) is not None]
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if isinstance(problem, SAXException) and (not entries or _cut_short(body)):
        # Small slips (a bare "&") are common in real feeds and the loose parser reads past
        # them; a document that stops before its root closes may hold half an entry, and
        # nothing of it is posted.
        raise FeedParseError(f"malformed XML: {_describe_xml_error(problem, body)}")
    return ParsedFeed(
        title=_text_of(result.feed, "title"),
        link=_http_url(result.feed.get("link")),
        ttl_seconds=_ttl_seconds(result.feed),
        entries=tuple(_newest_first(entries)[:MAX_ENTRIES]),
    )


_ROOT_ENDS = (b"</rss>", b"</feed>", b"</rdf:rdf>")


def _cut_short(body: bytes) -> bool:
    return not body.rstrip().lower().endswith(_ROOT_ENDS)


def _not_a_feed(body: bytes) -> str:
    start = body.lstrip()[:512].lower()
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start:
        return "not an RSS or Atom feed (it is a web page)"
    return "not an RSS or Atom feed"


def _describe_xml_error(problem: SAXException, body: bytes) -> str:
    if not isinstance(problem, SAXParseException):
        return str(problem)
    line = problem.getLineNumber() or 1
    # feedparser puts a line with its own XML declaration in front of a document that has none.
    # (No column: the declaration it swaps in for the document's own changes line 1's columns.)
    if not _XML_DECLARATION.match(body):
        line -= 1
    return f"{problem.getMessage()} (line {max(line, 1)})"


def _entry(raw: Any, feed: Any) -> FeedEntry | None:
    """The cleaned-up entry, or None when it has nothing to identify or show it by."""
    summary_html = _html_sources(raw)
    summary = _shorten(_plain_text(summary_html[0]) if summary_html else "", SUMMARY_MAX_LENGTH)
    title = _text_of(raw, "title")
    guid = (raw.get("id") or "").strip() or None
    link = _http_url(raw.get("link"))
    if not (title or summary or guid or link):
        return None
    return FeedEntry(
        guid=guid,
        title=title or _shorten(summary, DERIVED_TITLE_LENGTH) or link or "Untitled",
        link=link,
        summary=summary,
        author=_collapse(raw.get("author") or feed.get("author") or ""),
        published=_published(raw),
        image_url=_image_url(raw, summary_html),
    )


def _html_sources(raw: Any) -> list[str]:
    """The entry's HTML: its summary, then its content blocks (Atom often has only content)."""
    sources = [raw.get("summary") or ""]
    sources += [block.get("value") or "" for block in raw.get("content") or ()]
    return [source for source in sources if source.strip()]


def _text_of(item: Any, field: str) -> str:
    """A text field as plain text: HTML stripped only when the feed says it is HTML, so a plain
    title like ``a < b`` survives."""
    value = item.get(field) or ""
    detail = item.get(f"{field}_detail") or {}
    if "html" in (detail.get("type") or ""):
        return _plain_text(value)
    return _collapse(value)


def _published(raw: Any) -> datetime | None:
    # feedparser gives every date as a UTC struct_time, whatever the zone in the feed.
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed: time.struct_time | None = raw.get(field)
        if parsed:
            try:
                return datetime(*parsed[:6], tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    return None


def _image_url(raw: Any, html_sources: list[str]) -> str | None:
    for enclosure in raw.get("enclosures") or ():
        href = _http_url(enclosure.get("href"))
        if href and _is_image(enclosure.get("type"), href):
            return href
    for thumbnail in raw.get("media_thumbnail") or ():
        if url := _http_url(thumbnail.get("url")):
            return url
    for media in raw.get("media_content") or ():
        url = _http_url(media.get("url"))
        if url and (media.get("medium") == "image" or _is_image(media.get("type"), url)):
            return url
    for source in html_sources:
        if url := _http_url(_HtmlText.first_image(source)):
            return url
    return None


def _is_image(mime_type: str | None, url: str) -> bool:
    if mime_type:
        return mime_type.lower().startswith("image/")
    return urlsplit(url).path.lower().endswith(_IMAGE_EXTENSIONS)


def _http_url(value: str | None) -> str | None:
    """``value`` when it is an absolute http(s) URL: Discord links and shows nothing else."""
    if not value:
        return None
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _ttl_seconds(feed: Any) -> int | None:
    try:
        ttl_minutes = int(str(feed.get("ttl") or "").strip())
    except ValueError:
        ttl_minutes = 0
    if ttl_minutes > 0:
        return ttl_minutes * 60
    period = _UPDATE_PERIODS.get(str(feed.get("sy_updateperiod") or "").strip().lower())
    if period is None:
        return None
    try:
        frequency = int(str(feed.get("sy_updatefrequency") or "1").strip())
    except ValueError:
        frequency = 1
    return period // max(frequency, 1)


def _newest_first(entries: list[FeedEntry]) -> list[FeedEntry]:
    dated = [entry for entry in entries if entry.published is not None]
    undated = [entry for entry in entries if entry.published is None]
    # sorted() is stable, so entries with the same date keep their feed order.
    dated.sort(key=lambda entry: entry.published or datetime.min.replace(tzinfo=UTC), reverse=True)
    return dated + undated


def _plain_text(html: str) -> str:
    return _collapse(_HtmlText.text(html))


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with "…", at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip() + "…"


class _HtmlText(HTMLParser):
    """The text of an HTML fragment (entities decoded, script and style left out) and its first
    image. Block elements become spaces so "<p>one</p><p>two</p>" does not read "onetwo"."""

    _BLOCKS = frozenset(
        {"br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    )
    _HIDDEN = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.image: str | None = None
        self._hidden_depth = 0

    @classmethod
    def text(cls, html: str) -> str:
        return cls._feed(html).parts_text()

    @classmethod
    def first_image(cls, html: str) -> str | None:
        return cls._feed(html).image

    @classmethod
    def _feed(cls, html: str) -> _HtmlText:
        parser = cls()
        parser.feed(html)
        parser.close()
        return parser

    def parts_text(self) -> str:
        return "".join(self.parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        elif tag in self._BLOCKS:
            self.parts.append(" ")
        elif tag == "img" and self.image is None:
            self.image = dict(attrs).get("src")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in self._BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)
