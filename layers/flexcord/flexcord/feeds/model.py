"""A feed entry as Flexcord sees it, and the key that says whether it was posted already.

Feeds are sloppy about identity: a publisher switches its guids from ``HTTP://Example.com/Post``
to ``https://example.com/post/``, or a feed service starts appending ``?utm_source=rss`` to every
link. Reposting the whole feed after such a change is the worst thing a feed follower can do, so
the identity key is normalized hard: the scheme, case, default port, fragment, tracking
parameters, parameter order and a trailing slash do not count.

The key is built from the most stable thing the entry has: its guid (RSS ``<guid>``, Atom
``<id>``), else its link together with its title (some feeds reuse one link for many entries),
else its title alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: Query parameters that say where a reader came from, not what they read.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "_hsenc",
        "_hsmi",
        "ref",
        "ref_src",
        "si",
        "feature",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, cleaned up: plain-text ``summary``, ``published`` in UTC."""

    guid: str | None
    title: str
    link: str | None
    summary: str
    author: str
    published: datetime | None
    image_url: str | None

    def __post_init__(self) -> None:
        if self.published is not None:
            if self.published.tzinfo is None:
                raise ValueError("FeedEntry.published must be timezone-aware")
            # Stored and compared in UTC, so two entries' dates compare the same way everywhere.
            object.__setattr__(self, "published", self.published.astimezone(UTC))

    def identity_key(self) -> str:
        """What makes this entry the same entry on the next poll (see the module docstring)."""
        if self.guid and self.guid.strip():
            return "id:" + normalize_identity(self.guid)
        title = self.title.strip().casefold()
        if self.link and self.link.strip():
            return "link:" + normalize_identity(self.link) + "|" + title
        return "title:" + title


def normalize_identity(value: str) -> str:
    """``value`` with everything that does not change what it names taken out, casefolded.

    Http(s) URLs lose their scheme difference, host case, default port, fragment, tracking
    parameters, parameter order and trailing slash; any other value (a tag URI, a bare id) loses
    tracking parameters appended to it after a "?" (proxies append them to guids too).
    """
    text = value.strip()
    url = _normalize_url(text)
    if url is not None:
        return url.casefold()
    if "?" in text:
        base, _, query = text.partition("?")
        kept = urlencode(sorted(_without_tracking(query)))
        text = f"{base}?{kept}" if kept else base
    return text.casefold()


def entry_key_digest(key: str) -> str:
    """A fixed-length form of an identity key, for storage keys (keys can be long URLs)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _normalize_url(text: str) -> str | None:
    """The normalized URL, or None when ``text`` is not an http(s) URL."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = urlencode(sorted(_without_tracking(parts.query)))
    return urlunsplit(("https", host, parts.path.rstrip("/"), query, ""))


def _without_tracking(query: str) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, value in parse_qsl(query, keep_blank_values=True)
        if not _is_tracking(name.casefold())
    ]


def _is_tracking(name: str) -> bool:
    return name.startswith("utm_") or name in TRACKING_PARAMETERS
