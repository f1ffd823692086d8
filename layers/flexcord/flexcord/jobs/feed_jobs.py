"""Feeds in the worker: /feeds add, list, test, remove and resume, and each feed's poll.

A poll fetches the feed (conditionally, within time and size limits, public addresses only),
reads its entries and queues one ``announcement.post`` job per new entry; the poster posts it,
or hands it to staff review when the feed is set to review first. Each entry is posted once:

- its announcement id is derived from the feed and the entry's identity (its guid, normalised
  so a change of case or an added tracking parameter keeps it; else its link and title), so the
  queue, the worker's idempotency and the poster's record all see a second queuing as the same
  post, whichever poll queued it;
- the job is queued before the entry is marked seen: a poll that fails between the two leaves the
  entry unseen, and the next poll queues the same job again, which posts nothing new.

The first poll of a feed (at /feeds add) marks every entry seen and posts only the optional
backfill, so adding a feed never floods the channel. A poll claims the feed's slot (its
``next_poll_at`` when queued) and writes the feed's state only if no other poll did. A feed that
keeps failing is backed off, then paused, and staff are told once, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flexcord.adapters.discord import DiscordClient, derived_nonce
from flexcord.adapters.queue.job_queue import JobQueue, QueueUnavailable
from flexcord.announcements.model import announcement_embed, announcement_job_group, announcement_job_key
from flexcord.feeds.fetch import FeedFetcher, FeedFetchError, FetchResult
from flexcord.feeds.model import FeedEntry, entry_key_digest
from flexcord.feeds.parse import FeedParseError, ParsedFeed, parse_feed
from flexcord.feeds.policy import (
    DEFAULT_INTERVAL_SECONDS,
    MAX_POSTS_PER_POLL,
    MIN_INTERVAL_SECONDS,
    after_failure,
    after_success,
    baseline,
    new_entries,
    next_poll_delay,
)
from flexcord.feeds.subscription import MAX_FEEDS_PER_SERVER, FeedRepository, FeedSubscription, SeenEntries
from flexcord.feeds.template import render
from flexcord.jobs.access import is_staff
from flexcord.jobs.announcement_jobs import posting_channel
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.jobs.notify import tell_member, tell_staff
from flexcord.observability import logger, metrics
from flexcord.servers.settings import ServerDirectory

NOT_STAFF = (
    "⚠️ Only this server's staff (Manage Server or the staff role) can manage feeds. Nothing was changed."
)
LIST_MAX = 25


class FeedJobs:
    def __init__(
        self,
        servers: ServerDirectory,
        discord: DiscordClient,
        feeds: FeedRepository,
        seen: SeenEntries,
        fetcher: FeedFetcher,
        *,
        queue: JobQueue,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._servers = servers
        self._discord = discord
        self._feeds = feeds
        self._seen = seen
        self._fetcher = fetcher
        self._queue = queue
        self._clock = clock

    # -- /feeds ------------------------------------------------------------------------------

    def add(self, job: Job) -> dict[str, Any]:
        context = job.interaction
        if not is_staff(self._servers, context):
            return self._say(context, NOT_STAFF, refused=True)
        server, payload = str(context.guild_id), job.payload
        url, channel_id = str(payload["url"]), str(payload["channel_id"])
        problem = self._why_not(
            context, server, url, channel_id, review_first=bool(payload.get("review_first"))
        )
        if problem:
            return self._say(context, f"⚠️ Not added: {problem}", refused=True)
        try:
            fetched, parsed = self._read(url)
        except (FeedFetchError, FeedParseError) as failure:
            return self._say(context, f"⚠️ Not added: {_reason(failure)}.", refused=True)
        now = int(self._clock().timestamp())
        interval = max(MIN_INTERVAL_SECONDS, int(payload.get("interval_seconds") or DEFAULT_INTERVAL_SECONDS))
        feed = self._feeds.add(
            FeedSubscription(
                feed_id=context.interaction_id,
                server=server,
                url=url,
                channel_id=channel_id,
                added_by=context.user_id,
                template=str(payload["template"]),
                include=tuple(payload.get("include") or ()),
                exclude=tuple(payload.get("exclude") or ()),
                role_id=payload.get("role_id") or None,
                review_first=bool(payload.get("review_first")),
                backfill=int(payload.get("backfill") or 0),
                interval_seconds=interval,
                title=parsed.title if parsed else "",
                # Not due until this first read is recorded: a scheduler run in between would
                # otherwise read the feed too, and its baseline could pass over a new entry.
                next_poll_at=now + interval,
            )
        )
        outcome = self._absorb(feed, fetched, parsed, now=now, slot=feed.next_poll_at, first_read=True)
        backfilled = outcome.get("posted", 0)
        entries = len(parsed.entries) if parsed else 0
        what = (
            f"its {entries} current entries are marked as seen"
            + (f", and the newest {backfilled} are being posted" if backfilled else ", none is posted")
            if entries
            else "it has no entries yet"
        )
        review = " Each entry waits for staff review first." if feed.review_first else ""
        return self._say(
            context,
            f"✅ Following **{feed.name}** in <#{feed.channel_id}> (id `{feed.feed_id}`): {what}. "
            f"New entries are posted as they appear.{review}",
        )

    def _why_not(
        self, context: InteractionContext, server: str, url: str, channel_id: str, *, review_first: bool
    ) -> str:
        """Why this feed cannot be added ("" when it can, before reading it). A retried add finds
        the feed its first attempt stored (the interaction's id) and carries on."""
        others = [feed for feed in self._feeds.of_server(server) if feed.feed_id != context.interaction_id]
        if len(others) >= MAX_FEEDS_PER_SERVER:
            return f"this server already follows {MAX_FEEDS_PER_SERVER} feeds."
        same = next((feed for feed in others if feed.url == url), None)
        if same is not None:
            return f"this server already follows that feed (`{same.feed_id}`)."
        if review_first and not self._servers.settings_for(server).staff_channel_id:
            return (
                "review first needs a staff channel to show entries in. "
                "Pick one with `/setup` (Staff & hours), then add the feed again."
            )
        if posting_channel(self._discord, server, channel_id) is None:
            return (
                f"<#{channel_id}> isn't a text or announcement channel of this server that Flexcord can see."
            )
        return ""

    def list_feeds(self, job: Job) -> dict[str, Any]:
        context = job.interaction
        if not is_staff(self._servers, context):
            return self._say(context, NOT_STAFF, refused=True)
        feeds = self._feeds.of_server(str(context.guild_id))
        if not feeds:
            return self._say(context, "This server follows no feed. Add one with `/feeds add`.")
        lines = ["**Feeds** (`/feeds test`, `remove` and `resume` take the id)"]
        lines += [_describe(feed) for feed in feeds[:LIST_MAX]]
        tell_member(self._discord, context, content="\n".join(lines)[:2000])
        return {"feeds": len(feeds)}

    def remove(self, job: Job) -> dict[str, Any]:
        context = job.interaction
        if not is_staff(self._servers, context):
            return self._say(context, NOT_STAFF, refused=True)
        feed_id = str(job.payload["id"])
        if not self._feeds.remove(str(context.guild_id), feed_id):
            return self._say(context, _unknown(feed_id), refused=True)
        return self._say(context, f"Feed `{feed_id}` removed: nothing more will be posted from it.")

    def resume(self, job: Job) -> dict[str, Any]:
        context = job.interaction
        if not is_staff(self._servers, context):
            return self._say(context, NOT_STAFF, refused=True)
        feed_id = str(job.payload["id"])
        resumed = self._feeds.resume(str(context.guild_id), feed_id, now=int(self._clock().timestamp()))
        if resumed is None:
            return self._say(context, _unknown(feed_id), refused=True)
        return self._say(context, f"▶️ Feed **{resumed.name}** resumed: it is read again within a minute.")

    def test(self, job: Job) -> dict[str, Any]:
        """The next post, shown privately; nothing is posted or recorded."""
        context = job.interaction
        if not is_staff(self._servers, context):
            return self._say(context, NOT_STAFF, refused=True)
        feed = self._feeds.get(str(context.guild_id), str(job.payload["id"]))
        if feed is None:
            return self._say(context, _unknown(str(job.payload["id"])), refused=True)
        try:
            _, parsed = self._read(feed.url)
        except (FeedFetchError, FeedParseError) as failure:
            return self._say(context, f"⚠️ The feed can't be read: {_reason(failure)}.", refused=True)
        assert parsed is not None
        digests = {entry.identity_key(): entry_key_digest(entry.identity_key()) for entry in parsed.entries}
        seen = self._seen.seen_among(feed.feed_id, digests.values())
        upcoming = new_entries(
            parsed.entries,
            is_seen=lambda key: digests[key] in seen,
            filters=feed.filters,
            per_poll_cap=MAX_POSTS_PER_POLL,
            remaining_today=MAX_POSTS_PER_POLL,
        )
        if upcoming:
            heading = f"**Next post** from **{feed.name}** in <#{feed.channel_id}> (nothing was posted):"
            shown = upcoming[0]
        else:
            passing = [entry for entry in parsed.entries if feed.filters.accepts(entry)]
            if not passing:
                return self._say(context, f"Nothing in **{feed.name}** passes this feed's filters right now.")
            heading = (
                f"Nothing new in **{feed.name}**. Its newest entry would look like this (nothing was posted):"
            )
            shown = passing[0]
        payload = self._post_payload(feed, shown)
        embed = announcement_embed(
            title=payload["title"], text=payload["text"], url=payload["url"], image_url=payload["image_url"]
        )
        tell_member(self._discord, context, content=heading, embeds=[embed])
        return {"shown": shown.identity_key()}

    # -- polling ---------------------------------------------------------------------------

    def poll(self, job: Job) -> dict[str, Any]:
        payload = job.payload
        feed = self._feeds.get(str(payload["server"]), str(payload["feed_id"]))
        slot = int(payload["slot"])
        if feed is None:
            return {"gone": True}
        if feed.health.paused:
            return {"paused": True}
        if feed.next_poll_at != slot:
            return {"already_polled": True}  # a duplicate poll of a slot another poll took
        now = int(payload.get("now") or self._clock().timestamp())
        try:
            fetched, parsed = self._read(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        except (FeedFetchError, FeedParseError) as failure:
            return self._failed(feed, _reason(failure), now=now, slot=slot)
        try:
            return self._absorb(feed, fetched, parsed, now=now, slot=slot)
        except QueueUnavailable:
            # Nothing is lost: entries not queued stay unseen for the next read. Counted as a
            # failed read, so a lasting fault backs the feed off and, in the end, staff hear.
            logger.exception("feed entries not queued", extra={"feed_id": feed.feed_id})
            return self._failed(feed, "its new entries could not be queued", now=now, slot=slot)

    def _read(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> tuple[FetchResult, ParsedFeed | None]:
        fetched = self._fetcher.fetch(url, etag=etag, last_modified=last_modified)
        if fetched.not_modified:
            return fetched, None
        return fetched, parse_feed(
            fetched.body, content_type=fetched.content_type, base_url=fetched.final_url
        )

    def _absorb(
        self,
        feed: FeedSubscription,
        fetched: FetchResult,
        parsed: ParsedFeed | None,
        *,
        now: int,
        slot: int,
        first_read: bool = False,
    ) -> dict[str, Any]:
        """Queue the entries to post, mark what was read, and record the poll. ``first_read``: the
        read at /feeds add, whose slot lies ahead (no scheduled poll can hold it yet)."""
        delay = next_poll_delay(
            interval_seconds=feed.interval_seconds,
            ttl_seconds=parsed.ttl_seconds if parsed else None,
            consecutive_failures=0,
        )
        next_at = max(slot, now + delay) if first_read else _next_slot(slot, now + delay)
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        to_post: list[FeedEntry] = []
        held_back = False
        if parsed is not None:
            digests = {
                entry.identity_key(): entry_key_digest(entry.identity_key()) for entry in parsed.entries
            }
            if not feed.baselined:
                to_post = baseline(parsed.entries, backfill=feed.backfill, filters=feed.filters)
                unseen = set(digests.values())
            else:
                unseen = set(digests.values()) - self._seen.seen_among(feed.feed_id, digests.values())
                wanted = new_entries(
                    parsed.entries,
                    is_seen=lambda key: digests[key] not in unseen,
                    filters=feed.filters,
                    per_poll_cap=len(parsed.entries),
                    remaining_today=len(parsed.entries),
                )
                to_post = wanted[: max(0, min(MAX_POSTS_PER_POLL, feed.remaining_today(day)))]
                held_back = len(wanted) > len(to_post)
            posting = {digests[entry.identity_key()] for entry in to_post}
            # Entries passed over for good (the baseline's, and those the filters reject) are
            # seen now; entries held back by the caps stay unseen for the next poll.
            passed_over = [
                digests[entry.identity_key()]
                for entry in parsed.entries
                if digests[entry.identity_key()] in unseen
                and digests[entry.identity_key()] not in posting
                and (not feed.baselined or not feed.filters.accepts(entry))
            ]
            self._seen.mark_seen(feed.feed_id, passed_over)
            for entry in to_post:
                self._queue.enqueue(self._post_job(feed, entry))  # the post first, then "seen"
                self._seen.mark_seen(feed.feed_id, [digests[entry.identity_key()]])
        posted_before = feed.posts_today if feed.day == day else 0
        if held_back:
            # Entries wait behind the caps: the next poll must read the whole feed again, not
            # be told "not modified".
            etag, last_modified = None, None
        elif parsed is not None:
            etag, last_modified = fetched.etag, fetched.last_modified
        else:
            etag, last_modified = fetched.etag or feed.etag, fetched.last_modified or feed.last_modified
        updated = replace(
            feed,
            title=(parsed.title if parsed and parsed.title else feed.title),
            etag=etag,
            last_modified=last_modified,
            baselined=feed.baselined or parsed is not None,
            health=after_success(feed.health),
            day=day,
            posts_today=posted_before + len(to_post),
            next_poll_at=next_at,
        )
        if not self._feeds.record_poll(updated, slot=slot):
            return {"already_polled": True, "posted": len(to_post)}
        if to_post:
            metrics.add_metric(name="FeedEntriesQueued", unit="Count", value=len(to_post))
        return {"posted": len(to_post), "not_modified": parsed is None}

    def _failed(self, feed: FeedSubscription, reason: str, *, now: int, slot: int) -> dict[str, Any]:
        health, pauses = after_failure(feed.health, reason)
        delay = next_poll_delay(
            interval_seconds=feed.interval_seconds,
            ttl_seconds=None,
            consecutive_failures=health.consecutive_failures,
        )
        logger.warning("feed poll failed", extra={"feed_id": feed.feed_id, "reason": reason})
        metrics.add_metric(name="FeedPollFailures", unit="Count", value=1)
        # Staff are told before the pause is recorded: a notice that fails (Discord down) fails
        # the job, which reads the feed again and pauses it again; the nonce (the slot's) keeps
        # a notice that did go out from going out twice.
        if pauses:
            staff_channel = self._servers.settings_for(feed.server).staff_channel_id
            tell_staff(
                self._discord,
                staff_channel,
                content=f"⏸️ The feed **{feed.name}** (<{feed.url}>) is paused after "
                f"{health.consecutive_failures} failed reads in a row. Last error: {reason}. "
                f"Fix it, then `/feeds resume id:{feed.feed_id}`.",
                nonce=derived_nonce("fp", f"{feed.feed_id}:{slot}"),
            )
        failed = replace(feed, health=health, next_poll_at=_next_slot(slot, now + delay))
        if not self._feeds.record_poll(failed, slot=slot):
            return {"already_polled": True}
        return {"failed": reason, "paused": health.paused}

    def _post_job(self, feed: FeedSubscription, entry: FeedEntry) -> Job:
        payload = self._post_payload(feed, entry)
        return Job(
            JobKind.POST_ANNOUNCEMENT,
            key=announcement_job_key(payload["announcement_id"]),
            group=announcement_job_group(feed.server),
            payload=payload,
        )

    @staticmethod
    def _post_payload(feed: FeedSubscription, entry: FeedEntry) -> dict[str, Any]:
        digest = entry_key_digest(entry.identity_key())
        text = render(feed.template, entry)
        return {
            "announcement_id": f"feed-{feed.feed_id}-{digest[:24]}",
            "server": feed.server,
            "channel_id": feed.channel_id,
            "title": (entry.title or feed.name)[:256],
            "text": text,
            "url": _embed_url(entry.link),
            "image_url": _embed_url(entry.image_url),
            "image_is_upload": False,
            "role_id": feed.role_id,
            "source": "feed",
            "author_id": None,
            "review_first": feed.review_first,
            "feed_id": feed.feed_id,
            "feed_name": feed.name,
        }

    # -- helpers -----------------------------------------------------------------------------

    def _say(self, context: InteractionContext, text: str, *, refused: bool = False) -> dict[str, Any]:
        tell_member(self._discord, context, content=text)
        return {"refused": True} if refused else {"ok": True}


def _describe(feed: FeedSubscription) -> str:
    flags = []
    if feed.review_first:
        flags.append("review first")
    if feed.role_id:
        flags.append(f"pings <@&{feed.role_id}>")
    if feed.health.paused:
        status = f"⏸️ paused: {feed.health.last_error}"
    elif feed.health.consecutive_failures:
        status = f"⚠️ {feed.health.consecutive_failures} failed reads: {feed.health.last_error}"
    else:
        status = f"every {feed.interval_seconds // 60} min, next read <t:{feed.next_poll_at}:R>"
    extra = f" · {', '.join(flags)}" if flags else ""
    return f"`{feed.feed_id}` **{feed.name[:80]}** → <#{feed.channel_id}>{extra} · {status}"


#: Discord refuses an embed link or image longer than this (and any that is not a URL).
EMBED_URL_MAX = 2048


def _embed_url(value: str | None) -> str | None:
    """``value`` if Discord takes it as an embed's link or image, else None (the post goes
    without it rather than being refused)."""
    if not value or len(value) > EMBED_URL_MAX or any(char.isspace() for char in value):
        return None
    return value if value.startswith(("https://", "http://")) else None


def _next_slot(slot: int, wanted: int) -> int:
    """The feed's next slot: never the one just claimed, so a second poll of that slot (from a
    clock a little behind) cannot also claim it."""
    return max(wanted, slot + 1)


def _unknown(feed_id: str) -> str:
    return f"⚠️ This server follows no feed `{feed_id}`. `/feeds list` shows the ids."


def _reason(failure: Exception) -> str:
    return failure.reason if isinstance(failure, FeedFetchError) else str(failure)
