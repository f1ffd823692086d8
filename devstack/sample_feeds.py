"""Sample RSS/Atom feeds on loopback, for following feeds locally and in tests.

``SampleFeeds`` serves four feeds under ``/feeds/<name>``, each shaped like the kind of source a
brand follows: ``blog`` (RSS 2.0 with HTML descriptions, images and enclosures), ``videos`` (Atom
as a YouTube channel serves it), ``status`` (a status page's incident history) and ``social``
(Mastodon's RSS, whose items have no title).

Design:

* **Content is a function of the clock.** Nothing is stored: entry ``n`` of a feed has a fixed
  time (a backlog before the clock's start, then one every ``period`` from the start on) and
  its text, ids and links are derived from ``n`` alone. A response lists the entries whose time
  has come, newest first, at most ``MAX_ENTRIES``. So the same clock always gives the same bytes
  (the ``ETag`` is a hash of them), and ``advance`` makes new entries appear without waiting.
  The clock runs with wall time too (plus what ``advance`` added), as a real site's would, so a
  stack left running sees new posts arrive.
* **Conditional GETs are answered as HTTP says.** ``If-None-Match`` is compared with the ETag;
  only without it is ``If-Modified-Since`` compared with the newest entry's time (RFC 9110
  13.2.2), so a client that sends both still sees a body changed by a mode (``drift``, ``broken``).
* **Modes make a feed misbehave** on purpose (``set_mode``): slow, trickled, malformed, HTML
  instead of XML, huge, failing, redirecting forever, drifting ids, gone. They are per feed and
  last until changed or ``reset``.
* **The HTTP server is the emulators'** (``devstack.http_server``), with its streamed responses
  for trickled and huge bodies. Its threads are daemons and every wait is on one ``Event`` that
  ``stop`` sets, so stopping never waits for a slow answer to finish; accepted sockets get a short
  timeout so an idle or stuck client cannot hold a thread for long either.
* **Another process drives it over HTTP** (``/_emulator/...``, see ``SampleFeedsControl``), as the
  emulators are driven, so ``python -m devstack`` can age or break the running stack's feeds.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from socket import socket
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from devstack.control_client import ControlClient
from devstack.control_routes import ControlRoutes, json_object
from devstack.emulator_base import CONTROL_PREFIX, LoopbackService
from devstack.http_server import EmulatorHttpServer, HttpRequest, HttpResponse, RequestLog

HOST = "127.0.0.1"
FEEDS_PREFIX = "/feeds/"
#: A feed lists at most this many entries (the newest), as real feeds cap theirs.
MAX_ENTRIES = 60
#: Accepted sockets time out after this long without progress: a client that stops reading (or an
#: idle keep-alive connection) frees its thread instead of holding it until the process exits.
SOCKET_TIMEOUT_SECONDS = 10.0

RSS_TYPE = "application/rss+xml"
ATOM_TYPE = "application/atom+xml"

HOUR = 3600
DAY = 24 * HOUR

#: Each mode's options and their defaults (``set_mode`` refuses others, to catch typos).
MODE_OPTIONS: dict[str, dict[str, Any]] = {
    "ok": {},
    "slow": {"seconds": 30.0, "trickle": False, "interval": 1.0},
    "broken": {},
    "html": {},
    "huge": {"bytes": 5_000_000, "declare_length": True},
    "error": {"status": 503, "retry_after": None},
    "redirect": {"to": None, "status": 302},
    "drift": {},
    "gone": {},
}
MODES = tuple(MODE_OPTIONS)


# -- the schedule: which entries a feed lists at a given time --------------------------------------


@dataclass(frozen=True)
class Schedule:
    """Entries are numbered 1, 2, ... in order of time: ``backlog`` of them before the clock's
    start, ``backlog_spacing`` seconds apart (the newest one spacing before the start), then entry
    ``backlog + n`` at ``start + n * period``."""

    backlog: int
    backlog_spacing: int
    period: int

    def time_of(self, number: int, epoch: int) -> int:
        if number <= self.backlog:
            return epoch - self.backlog_spacing * (self.backlog + 1 - number)
        return epoch + self.period * (number - self.backlog)

    def newest(self, elapsed: float) -> int:
        """The newest entry's number ``elapsed`` seconds after the start (0: none yet)."""
        if elapsed >= 0:
            return self.backlog + math.floor(elapsed / self.period)
        return max(0, self.backlog + 1 - math.ceil(-elapsed / self.backlog_spacing))


@dataclass(frozen=True)
class Entry:
    number: int
    time: int  # Unix seconds


# -- rendering ---------------------------------------------------------------------------------------


def _rfc822(timestamp: int) -> str:
    """RSS dates and HTTP dates (RFC 1123): ``Mon, 01 Jan 2024 00:00:00 GMT``."""
    return formatdate(timestamp, usegmt=True)


def _rfc3339(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _token(seed: str, length: int, *, lower: bool = False) -> str:
    """A deterministic id (YouTube video ids, status page incident codes) derived from ``seed``."""
    digest = hashlib.sha256(seed.encode()).digest()
    if lower:
        return base64.b32encode(digest).decode().lower()[:length]
    return base64.urlsafe_b64encode(digest).decode()[:length]


def _pick[T](choices: tuple[T, ...], number: int) -> T:
    return choices[number % len(choices)]


class Ids:
    """Guids and links as a feed writes them; with ``drift`` as a sloppy CMS or a tracking proxy
    rewrites them (guid case changed, tracking parameters appended), entries otherwise the same."""

    def __init__(self, drift: bool) -> None:
        self.drift = drift

    def guid(self, value: str) -> str:
        return _with_tracking(value.swapcase()) if self.drift else value

    def link(self, value: str) -> str:
        return _with_tracking(value) if self.drift else value


def _with_tracking(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}utm_source=rss&fbclid=abc"


BLOG_SITE = "https://blog.flexcord.example"
BLOG_TOPICS = (
    "Release notes",
    "Tips & tricks",
    "Behind the scenes",
    "Community spotlight",
    "Support desk <live>",
    "Roadmap",
)
AUTHORS = ("Ada Okafor", "Bruno Lindqvist", "Chiara Rossi", "Dev Patel")


def render_blog(entries: list[Entry], ids: Ids) -> str:
    items = []
    for entry in entries:
        n = entry.number
        topic = _pick(BLOG_TOPICS, n)
        link = f"{BLOG_SITE}/posts/{re.sub(r'[^a-z]+', '-', topic.lower()).strip('-')}-{n}"
        html = (
            f"<p>Post {n}: what is new with <strong>Flexcord</strong> this week &amp; what comes next.</p>"
            f'<p><img src="{BLOG_SITE}/images/post-{n}-inline.png" alt="Illustration for post {n}" '
            f'width="640" height="360"></p>'
            f'<p>Read the <a href="{link}">whole post</a> on our blog.</p>'
        )
        enclosure = (
            f'<enclosure url="{BLOG_SITE}/images/post-{n}.png" length="{20_000 + n * 37}" type="image/png"/>'
            if n % 3 == 0
            else ""
        )
        items.append(
            "<item>"
            f"<title>{escape(f'{topic} #{n}')}</title>"
            f"<link>{escape(ids.link(link))}</link>"
            f'<guid isPermaLink="false">{escape(ids.guid(f"Flexcord-Blog-Post-{n:04d}"))}</guid>'
            f"<pubDate>{_rfc822(entry.time)}</pubDate>"
            f"<dc:creator>{escape(_pick(AUTHORS, n))}</dc:creator>"
            f"<category>{escape(topic)}</category>"
            f"<description>{escape(html)}</description>"
            f"{enclosure}"
            "</item>"
        )
    built = f"<lastBuildDate>{_rfc822(entries[0].time)}</lastBuildDate>" if entries else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>'
        "<title>The Flexcord Blog</title>"
        f"<link>{BLOG_SITE}/</link>"
        "<description>News, guides &amp; release notes from the Flexcord team</description>"
        "<language>en</language><ttl>15</ttl>"
        f"{built}\n" + "\n".join(items) + "\n</channel>\n</rss>\n"
    )


YOUTUBE_CHANNEL_ID = "UCfl3xc0rdSampleChannel0"
VIDEO_SUBJECTS = ("Getting started", "Live Q&A", "Agent tips", "Release walkthrough", "Case study")


def render_videos(entries: list[Entry], ids: Ids) -> str:
    channel_url = f"https://www.youtube.com/channel/{YOUTUBE_CHANNEL_ID}"
    items = []
    for entry in entries:
        n = entry.number
        video_id = _token(f"flexcord-video-{n}", 11)
        title = f"{_pick(VIDEO_SUBJECTS, n)} — episode {n}"
        description = f"Episode {n} of our channel.\nLinks & chapters below.\n\n00:00 Intro\n01:30 <Demo>"
        items.append(
            "<entry>"
            f"<id>{escape(ids.guid(f'yt:video:{video_id}'))}</id>"
            f"<yt:videoId>{video_id}</yt:videoId>"
            f"<yt:channelId>{YOUTUBE_CHANNEL_ID}</yt:channelId>"
            f"<title>{escape(title)}</title>"
            f'<link rel="alternate" href={quoteattr(ids.link(f"https://www.youtube.com/watch?v={video_id}"))}/>'
            f"<author><name>Flexcord</name><uri>{channel_url}</uri></author>"
            f"<published>{_rfc3339(entry.time)}</published>"
            f"<updated>{_rfc3339(entry.time + 600)}</updated>"
            "<media:group>"
            f"<media:title>{escape(title)}</media:title>"
            f'<media:content url="https://www.youtube.com/v/{video_id}?version=3" '
            'type="application/x-shockwave-flash" width="640" height="390"/>'
            f'<media:thumbnail url="https://i1.ytimg.com/vi/{video_id}/hqdefault.jpg" '
            'width="480" height="360"/>'
            f"<media:description>{escape(description)}</media:description>"
            '<media:community><media:starRating count="12" average="5.00" min="1" max="5"/>'
            f'<media:statistics views="{100 + n * 7}"/></media:community>'
            "</media:group>"
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" '
        'xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">\n'
        '<link rel="self" href="http://www.youtube.com/feeds/videos.xml?channel_id='
        f'{YOUTUBE_CHANNEL_ID}"/>'
        f"<id>yt:channel:{YOUTUBE_CHANNEL_ID}</id>"
        f"<yt:channelId>{YOUTUBE_CHANNEL_ID}</yt:channelId>"
        "<title>Flexcord</title>"
        f'<link rel="alternate" href="{channel_url}"/>'
        f"<author><name>Flexcord</name><uri>{channel_url}</uri></author>"
        "<published>2019-05-01T09:00:00+00:00</published>\n" + "\n".join(items) + "\n</feed>\n"
    )


STATUS_SITE = "https://status.flexcord.example"
INCIDENTS = (
    "Elevated error rates on replies to Discord",
    "Delayed hand-offs to Flex agents",
    "Slash commands not responding",
    "Degraded performance of attachments",
)


def render_status(entries: list[Entry], ids: Ids) -> str:
    items = []
    for entry in entries:
        n = entry.number
        link = f"{STATUS_SITE}/incidents/{_token(f'flexcord-incident-{n}', 12, lower=True)}"
        resolved = datetime.fromtimestamp(entry.time + 2 * HOUR, UTC).strftime("%b %d, %H:%M UTC")
        began = datetime.fromtimestamp(entry.time, UTC).strftime("%b %d, %H:%M UTC")
        html = (
            f"<p><small>{resolved}</small><br><strong>Resolved</strong> - "
            "This incident has been resolved.</p>"
            f"<p><small>{began}</small><br><strong>Investigating</strong> - "
            "We are investigating reports of problems &amp; will update shortly.</p>"
        )
        items.append(
            "<item>"
            f"<title>{escape(_pick(INCIDENTS, n))}</title>"
            f"<description>{escape(html)}</description>"
            f"<pubDate>{_rfc822(entry.time)}</pubDate>"
            f"<link>{escape(ids.link(link))}</link>"
            f"<guid>{escape(ids.guid(link))}</guid>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n<channel>'
        "<title>Flexcord Status - Incident History</title>"
        f"<link>{STATUS_SITE}</link>"
        "<description>Statuspage</description>"
        + (f"<pubDate>{_rfc822(entries[0].time)}</pubDate>" if entries else "")
        + "\n"
        + "\n".join(items)
        + "\n</channel>\n</rss>\n"
    )


SOCIAL_SITE = "https://social.flexcord.example"
TOOTS = (
    "New on the blog: how our agents answer you on Discord in minutes.",
    "Maintenance window tonight at 22:00 UTC — support stays open.",
    "Thanks for 10k members! 🎉",
    "Tip: use /helpme in any channel to reach a human.",
)


def render_social(entries: list[Entry], ids: Ids) -> str:
    items = []
    for entry in entries:
        n = entry.number
        # Mastodon ids are snowflakes: milliseconds shifted left 16 bits, plus a sequence.
        status_url = f"{SOCIAL_SITE}/@flexcord/{(entry.time * 1000 << 16) + n % 65536}"
        html = f'<p>{escape(_pick(TOOTS, n))} <a href="{SOCIAL_SITE}/tags/flexcord">#flexcord</a></p>'
        media = (
            f'<media:content url="{SOCIAL_SITE}/media/{n}.png" type="image/png" fileSize="48213" '
            'medium="image"><media:rating scheme="urn:simple">nonadult</media:rating></media:content>'
            if n % 4 == 0
            else ""
        )
        # No <title>: Mastodon's items only have a description.
        items.append(
            "<item>"
            f'<guid isPermaLink="true">{escape(ids.guid(status_url))}</guid>'
            f"<link>{escape(ids.link(status_url))}</link>"
            f"<pubDate>{_rfc822(entry.time)}</pubDate>"
            f"<description>{escape(html)}</description>"
            f"{media}<category>flexcord</category>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:webfeeds="http://webfeeds.org/rss/1.0" '
        'xmlns:media="http://search.yahoo.com/mrss/">\n<channel>'
        "<title>Flexcord</title>"
        "<description>Public posts from @flexcord@social.flexcord.example</description>"
        f"<link>{SOCIAL_SITE}/@flexcord</link>"
        f"<image><url>{SOCIAL_SITE}/avatars/flexcord.png</url><title>Flexcord</title>"
        f"<link>{SOCIAL_SITE}/@flexcord</link></image>"
        + (f"<lastBuildDate>{_rfc822(entries[0].time)}</lastBuildDate>" if entries else "")
        + f"<webfeeds:icon>{SOCIAL_SITE}/avatars/flexcord.png</webfeeds:icon>"
        "<generator>Mastodon v4.2.8</generator>\n" + "\n".join(items) + "\n</channel>\n</rss>\n"
    )


@dataclass(frozen=True)
class FeedKind:
    content_type: str
    schedule: Schedule
    render: Callable[[list[Entry], Ids], str]


FEEDS: dict[str, FeedKind] = {
    "blog": FeedKind(RSS_TYPE, Schedule(backlog=50, backlog_spacing=6 * HOUR, period=HOUR), render_blog),
    "videos": FeedKind(ATOM_TYPE, Schedule(backlog=15, backlog_spacing=DAY, period=3 * HOUR), render_videos),
    "status": FeedKind(
        RSS_TYPE, Schedule(backlog=5, backlog_spacing=7 * DAY, period=12 * HOUR), render_status
    ),
    "social": FeedKind(
        RSS_TYPE, Schedule(backlog=20, backlog_spacing=2 * HOUR, period=30 * 60), render_social
    ),
}


def broken_body(body: bytes) -> bytes:
    """A feed cut off mid-way (as a crashed generator or a dropped proxy leaves it), ending in an
    unclosed element with a bare ``&``: no XML parser accepts it."""
    return body[: len(body) // 2] + b"\n<item><title>Half a post & no end"


def html_body(name: str, feed_url: str) -> bytes:
    """What a CMS or a bot wall serves instead of the feed: a page, pointing at the feed."""
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>Flexcord</title>"
        f'<link rel="alternate" type="{FEEDS[name].content_type}" href="{escape(feed_url)}">'
        "</head><body><h1>Just a moment…</h1><p>Checking your browser before accessing the site."
        "<br>Please enable JavaScript & cookies.</body></html>\n"
    ).encode()


def huge_pieces(total: int, stopping: threading.Event) -> Iterator[bytes]:
    """``total`` bytes of well-formed RSS (when there is room for its frame): distinct items of
    equal length, blank padding, the closing tags; yielded 64-odd KiB at a time."""
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>Huge</title>\n'
    tail = b"</channel></rss>\n"
    if total < len(head) + len(tail):
        yield (head + tail)[:total]
        return
    yield head
    filler = b"x" * 900

    def item(i: int) -> bytes:
        return b"<item><guid>huge-%08d</guid><description>%s</description></item>\n" % (i, filler)

    room = total - len(head) - len(tail)
    size = len(item(0))
    count = 0
    while room >= size:
        if stopping.is_set():
            raise ConnectionAbortedError("the sample feeds stopped")
        batch = min(room // size, 64)
        yield b"".join(item(count + i) for i in range(batch))
        count += batch
        room -= batch * size
    yield b" " * room + tail


# -- the server --------------------------------------------------------------------------------------


class _Clock:
    """The feeds' time: ``start`` plus the wall time since, plus whatever ``advance`` added."""

    def __init__(self, start: float) -> None:
        self.start = start
        self._origin = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.start + (time.monotonic() - self._origin) + self._offset

    def advance(self, seconds: float) -> None:
        if not seconds >= 0:  # also refuses NaN
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds


class _FeedsHttpServer(EmulatorHttpServer):
    def get_request(self) -> tuple[socket, Any]:
        connection, address = super().get_request()
        connection.settimeout(SOCKET_TIMEOUT_SECONDS)
        return connection, address


def _validated_options(mode: str, options: dict[str, Any]) -> dict[str, Any]:
    if mode not in MODE_OPTIONS:
        raise ValueError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
    unknown = set(options) - set(MODE_OPTIONS[mode])
    if unknown:
        raise ValueError(f"mode {mode!r} takes no option {', '.join(sorted(unknown))}")
    merged = {**MODE_OPTIONS[mode], **options}
    for key in ("seconds", "interval"):
        if key in merged and not float(merged[key]) >= 0:
            raise ValueError(f"{key} must be a number of seconds ≥ 0")
    if mode == "huge" and int(merged["bytes"]) < 0:
        raise ValueError("bytes must be ≥ 0")
    if mode == "error" and not 400 <= int(merged["status"]) <= 599:
        raise ValueError("status must be an HTTP error status (400-599)")
    if mode == "redirect":
        if int(merged["status"]) not in (301, 302, 303, 307, 308):
            raise ValueError("status must be a redirect status (301, 302, 303, 307, 308)")
        if merged["to"] is not None and not str(merged["to"]).startswith(("http://", "https://")):
            raise ValueError("to must be a full http(s) URL")
    return merged


class SampleFeeds(LoopbackService):
    """HTTP server on 127.0.0.1 serving sample feeds whose entries appear as its clock advances."""

    thread_name = "sample-feeds"
    server_class = _FeedsHttpServer

    def __init__(self, *, port: int = 0, start_time: float | None = None) -> None:
        super().__init__(host=HOST, port=port)
        self._clock = _Clock(time.time() if start_time is None else start_time)
        # Entries fall on whole seconds: HTTP dates (Last-Modified) have no fractions.
        self._epoch = math.floor(self._clock.start)
        self._lock = threading.Lock()
        self._modes: dict[str, tuple[str, dict[str, Any]]] = {}
        self._log: RequestLog[tuple[str, dict[str, Any]]] = RequestLog()
        self._port: int | None = None
        self._control = _FeedsControl(self)

    # -- lifecycle (start, stop, ``with``: LoopbackService) ----------------------------------------

    def _started(self) -> None:
        self._port = self.port

    @property
    def base_url(self) -> str:
        """The server's address (after ``stop``, the one it had, for messages and logs)."""
        if self._port is None:
            raise RuntimeError("the sample feeds were never started")
        return f"http://{HOST}:{self._port}"

    def url(self, name: str) -> str:
        return f"{self.base_url}{FEEDS_PREFIX}{name}"

    # -- control -----------------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock.now()

    def advance(self, seconds: float) -> None:
        self._clock.advance(seconds)

    def set_mode(self, name: str, mode: str, **options: Any) -> None:
        """Make ``name`` misbehave (see ``MODE_OPTIONS`` for each mode's options and defaults)."""
        _require_feed(name)
        merged = _validated_options(mode, options)
        with self._lock:
            self._modes[name] = (mode, merged)

    def mode_of(self, name: str) -> tuple[str, dict[str, Any]]:
        _require_feed(name)
        with self._lock:
            return self._modes.get(name, ("ok", {}))

    def requests_for(self, name: str) -> list[dict[str, Any]]:
        """Every request for that feed, oldest first: its validators and the status answered."""
        _require_feed(name)
        return [dict(seen) for feed, seen in self._log.snapshot() if feed == name]

    def reset(self) -> None:
        with self._lock:
            self._modes.clear()
        self._log.clear()

    # -- content -----------------------------------------------------------------------------------

    def entries(self, name: str) -> list[Entry]:
        """What ``name`` lists now, newest first."""
        schedule = FEEDS[name].schedule
        newest = schedule.newest(self.now() - self._epoch)
        return [
            Entry(number, schedule.time_of(number, self._epoch))
            for number in range(newest, max(0, newest - MAX_ENTRIES), -1)
        ]

    def render(self, name: str, *, drift: bool = False) -> tuple[bytes, int | None]:
        """The feed's body now, and its newest entry's time (None when it has none yet)."""
        entries = self.entries(name)
        body = FEEDS[name].render(entries, Ids(drift)).encode()
        return body, entries[0].time if entries else None

    # -- HTTP --------------------------------------------------------------------------------------

    def _app(self, request: HttpRequest) -> HttpResponse:
        try:
            if request.path.startswith(CONTROL_PREFIX):
                return self._control(request)
            name = request.path.removeprefix(FEEDS_PREFIX).strip("/")
            if not request.path.startswith(FEEDS_PREFIX) or name not in FEEDS:
                return _text(404, "Not Found")
            response = self._serve_feed(name, request)
            self._log.append(
                (
                    name,
                    {
                        "if_none_match": request.headers.get("if-none-match"),
                        "if_modified_since": request.headers.get("if-modified-since"),
                        "status": response.status,
                    },
                )
            )
            return response
        except Exception:  # a bug here must surface as a 500, not a hung client
            traceback.print_exc(file=sys.stderr)
            return _text(500, "Internal Server Error")

    def _serve_feed(self, name: str, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return _text(405, "Method Not Allowed", {"Allow": "GET, HEAD"})
        mode, options = self.mode_of(name)
        serve: dict[str, Callable[[str, HttpRequest, dict[str, Any]], HttpResponse]] = {
            "slow": self._serve_slow,
            "broken": self._serve_broken,
            "html": self._serve_html,
            "huge": self._serve_huge,
            "error": self._serve_error,
            "redirect": self._serve_redirect,
            "drift": lambda name, request, options: self._feed_response(name, request, drift=True),
            "gone": lambda name, request, options: _text(404, "Not Found"),
        }
        if mode in serve:
            return serve[mode](name, request, options)
        return self._feed_response(name, request)

    def _serve_slow(self, name: str, request: HttpRequest, options: dict[str, Any]) -> HttpResponse:
        # The Event of this run: a later start() makes a new one, which must not wake this answer.
        stopping = self._stopping
        if not options["trickle"]:
            if stopping.wait(float(options["seconds"])):
                return _text(503, "Service Unavailable (the sample feeds are stopping)")
            return self._feed_response(name, request)
        response = self._feed_response(name, request)
        if response.status == 200:
            # The headers go at once, then the body a byte at a time: a client's read timeout
            # never fires, only a deadline on the whole fetch protects it.
            response.headers["Content-Length"] = str(len(response.body))
            response.stream = _trickle(response.body, float(options["interval"]), stopping)
            response.body = b""
        return response

    def _serve_broken(self, name: str, request: HttpRequest, options: dict[str, Any]) -> HttpResponse:
        body, newest = self.render(name)
        return self._conditional(name, request, broken_body(body), newest)

    def _serve_html(self, name: str, request: HttpRequest, options: dict[str, Any]) -> HttpResponse:
        body = html_body(name, self.url(name))
        etag = _etag(body)
        if _not_modified(request, etag, None):
            return HttpResponse(304, b"", {"ETag": etag})
        return HttpResponse(200, body, {"Content-Type": "text/html; charset=utf-8", "ETag": etag})

    def _serve_huge(self, name: str, request: HttpRequest, options: dict[str, Any]) -> HttpResponse:
        # No validators: the body is streamed as it is made, and a client that sends validators
        # must still get it (the point is to test its size limit).
        total = int(options["bytes"])
        headers = {"Content-Type": f"{RSS_TYPE}; charset=utf-8"}
        if options["declare_length"]:
            headers["Content-Length"] = str(total)
        return HttpResponse(200, headers=headers, stream=huge_pieces(total, self._stopping))

    def _serve_error(self, name: str, request: HttpRequest, options: dict[str, Any]) -> HttpResponse:
        status = int(options["status"])
        retry_after = options["retry_after"]
        return _text(
            status,
            HTTPStatus(status).phrase,
            {} if retry_after is None else {"Retry-After": str(retry_after)},
        )

    def _serve_redirect(self, name: str, request: HttpRequest, options: dict[str, Any]) -> HttpResponse:
        # By default a loop that never ends, each hop a new URL (as real loops often are), so only
        # a client's redirect limit stops it.
        hop = request.query.get("hop", "")
        target = options["to"] or f"{self.url(name)}?hop={int(hop) + 1 if hop.isdigit() else 1}"
        status = int(options["status"])
        return _text(status, HTTPStatus(status).phrase, {"Location": str(target)})

    def _feed_response(self, name: str, request: HttpRequest, *, drift: bool = False) -> HttpResponse:
        body, newest = self.render(name, drift=drift)
        return self._conditional(name, request, body, newest)

    def _conditional(self, name: str, request: HttpRequest, body: bytes, newest: int | None) -> HttpResponse:
        headers = {"ETag": _etag(body)}
        if newest is not None:
            headers["Last-Modified"] = _rfc822(newest)
        if _not_modified(request, headers["ETag"], newest):
            return HttpResponse(304, b"", headers)
        return HttpResponse(
            200, body, {"Content-Type": f"{FEEDS[name].content_type}; charset=utf-8", **headers}
        )


class _FeedsControl(ControlRoutes):
    """The sample feeds' control API (what ``SampleFeedsControl`` calls)."""

    def __init__(self, feeds: SampleFeeds) -> None:
        self.feeds = feeds
        super().__init__(
            [
                ("POST", ("advance",), self._advance),
                ("GET", ("clock",), self._clock),
                ("POST", ("mode",), self._set_mode),
                ("POST", ("reset",), self._reset),
                ("GET", ("requests",), self._requests),
            ]
        )

    def _refusal(self, exc: Exception) -> dict[str, Any]:
        return {"error": f"missing {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)}

    def _advance(self, body: Any, request: HttpRequest, captured: list[str]) -> dict[str, Any]:
        self.feeds.advance(float(json_object(body, "body")["seconds"]))
        return {"now": self.feeds.now()}

    def _clock(self, body: Any, request: HttpRequest, captured: list[str]) -> dict[str, Any]:
        return {"now": self.feeds.now()}

    def _set_mode(self, body: Any, request: HttpRequest, captured: list[str]) -> dict[str, Any]:
        payload = json_object(body, "body")
        options = json_object(payload.get("options") or {}, "options")
        self.feeds.set_mode(str(payload["name"]), str(payload["mode"]), **options)
        mode, merged = self.feeds.mode_of(str(payload["name"]))
        return {"name": payload["name"], "mode": mode, "options": merged}

    def _reset(self, body: Any, request: HttpRequest, captured: list[str]) -> dict[str, Any]:
        self.feeds.reset()
        return {}

    def _requests(self, body: Any, request: HttpRequest, captured: list[str]) -> list[dict[str, Any]]:
        return self.feeds.requests_for(request.query.get("name", ""))


def _require_feed(name: str) -> None:
    if name not in FEEDS:
        raise ValueError(f"unknown feed {name!r} (one of {', '.join(FEEDS)})")


def _trickle(body: bytes, interval: float, stopping: threading.Event) -> Iterator[bytes]:
    for index in range(len(body)):
        if index and stopping.wait(interval):
            raise ConnectionAbortedError("the sample feeds stopped")
        yield body[index : index + 1]


def _etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _not_modified(request: HttpRequest, etag: str, newest: int | None) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present; only without it If-Modified-Since
    (304 when the newest entry is not newer than the given date)."""
    if request.method not in ("GET", "HEAD"):
        return False
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = request.headers.get("if-modified-since")
    if not if_modified_since or newest is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False  # an unparsable date is ignored, as the RFC says
    if since.tzinfo is None:  # "-0000" parses naive; HTTP dates are UTC
        since = since.replace(tzinfo=UTC)
    return since.timestamp() >= newest


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(
        status,
        f"{status} {text}\n".encode(),
        {"Content-Type": "text/plain; charset=utf-8", **(headers or {})},
    )


class SampleFeedsControl(ControlClient):
    """Drive a running ``SampleFeeds`` from another process (``python -m devstack``, a test)."""

    def url(self, name: str) -> str:
        return f"{self.base_url}{FEEDS_PREFIX}{name}"

    def now(self) -> float:
        return float(self._call("GET", "clock")["now"])

    def advance(self, seconds: float) -> None:
        self._call("POST", "advance", {"seconds": seconds})

    def set_mode(self, name: str, mode: str, **options: Any) -> None:
        self._call("POST", "mode", {"name": name, "mode": mode, "options": options})

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def requests_for(self, name: str) -> list[dict[str, Any]]:
        return self._list("GET", "requests", params={"name": name})
