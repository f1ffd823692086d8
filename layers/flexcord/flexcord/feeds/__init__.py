"""Following RSS and Atom feeds for automatic announcements: the domain side.

``fetch`` gets a feed safely (public addresses only, bounded size and time, conditional
requests), ``parse`` turns it into ``FeedEntry`` values, ``model`` says which entries are the
same across polls, ``filters`` and ``template`` decide what is posted and how it reads, and
``policy`` decides when to poll again, when to pause a failing feed and how many entries to post.

No storage, Discord or queue here: the poller wires these together. Importing the package is
cheap; feedparser and requests load when a feed is first parsed or fetched.
"""

from flexcord.feeds.fetch import (
    FeedFetcher,
    FeedFetchError,
    FetchResult,
    Resolver,
    UnsafeFeedUrl,
    check_feed_url,
    is_public_address,
    resolve,
)
from flexcord.feeds.filters import FeedFilters, parse_filter_terms
from flexcord.feeds.model import FeedEntry, entry_key_digest, normalize_identity
from flexcord.feeds.parse import FeedParseError, ParsedFeed, parse_feed
from flexcord.feeds.policy import (
    DEFAULT_INTERVAL_SECONDS,
    MAX_BACKOFF_SECONDS,
    MAX_POSTS_PER_DAY,
    MAX_POSTS_PER_POLL,
    MIN_INTERVAL_SECONDS,
    PAUSE_AFTER_FAILURES,
    FeedHealth,
    after_failure,
    after_success,
    baseline,
    new_entries,
    next_poll_delay,
)
from flexcord.feeds.template import DEFAULT_TEMPLATE, PLACEHOLDERS, format_date, render, validate_template

__all__ = [
    "DEFAULT_INTERVAL_SECONDS",
    "DEFAULT_TEMPLATE",
    "MAX_BACKOFF_SECONDS",
    "MAX_POSTS_PER_DAY",
    "MAX_POSTS_PER_POLL",
    "MIN_INTERVAL_SECONDS",
    "PAUSE_AFTER_FAILURES",
    "PLACEHOLDERS",
    "FeedEntry",
    "FeedFetchError",
    "FeedFetcher",
    "FeedFilters",
    "FeedHealth",
    "FeedParseError",
    "FetchResult",
    "ParsedFeed",
    "Resolver",
    "UnsafeFeedUrl",
    "after_failure",
    "after_success",
    "baseline",
    "check_feed_url",
    "entry_key_digest",
    "format_date",
    "is_public_address",
    "new_entries",
    "next_poll_delay",
    "normalize_identity",
    "parse_feed",
    "parse_filter_terms",
    "render",
    "resolve",
    "validate_template",
]
