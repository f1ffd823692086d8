"""The Discord REST client every Flexcord function uses.

One client per process (build it once, at module level in the handler): its rate limiter learns
Discord's buckets from the responses, and a fresh client would start blind every invocation.

What it guarantees on every request:

- ``allowed_mentions`` on every write. A bot message otherwise pings every mention it contains,
  and member- or agent-written text must never ping ``@everyone`` or a role.
- Content over 2,000 characters is split into several messages (:func:`split_message`).
- Rate limits are honoured before sending; a wait longer than ``max_wait_seconds`` (or, inside
  :meth:`DiscordClient.route_waits_capped`, a longer wait for one route's bucket) raises
  :class:`RateLimited` instead of holding the Lambda open, so the job goes back to the queue.
- 5xx, timeouts and connection errors are retried with exponential backoff and jitter, up to
  ``max_attempts`` in all; other 4xx raise the typed error at once.
- The bot token goes only to bot routes on the API host; tokens never reach a log line.
- Inside :meth:`DiscordClient.remembering_posts` (the worker wraps each job in it), a message
  the job's failed earlier attempt already posted is looked up, not posted again: Discord's nonce
  stops a second post for a few minutes only, and a job's retries come back for longer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any, Final
from urllib.parse import urlsplit

import requests

from flexcord.adapters.discord.errors import (
    AttachmentTooLarge,
    DiscordApiError,
    DiscordError,
    DiscordUnavailable,
    RateLimited,
    UnknownChannel,
    UnknownMember,
    UnknownMessage,
    UnknownUser,
    api_error_from_body,
)
from flexcord.adapters.discord.ratelimit import REDACTED, RateLimiter, Route, parse_rate_limit_hit
from flexcord.adapters.discord.text import MESSAGE_CONTENT_LIMIT, split_message

logger = logging.getLogger(__name__)

JsonObject = dict[str, Any]

DEFAULT_USER_AGENT: Final = "DiscordBot (https://github.com/flexcord/flexcord, 0.1.0)"
EPHEMERAL_FLAG: Final = 1 << 6
MAX_EMBEDS: Final = 10
MAX_FILES: Final = 10
MAX_NONCE_LENGTH: Final = 25

_BACKOFF_BASE_SECONDS: Final = 0.5
_BACKOFF_CAP_SECONDS: Final = 8.0
_DOWNLOAD_CHUNK_BYTES: Final = 64 * 1024
_RETRYABLE_EXCEPTIONS: Final = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
)
_MESSAGE_PATH: Final = "/channels/{channel_id}/messages/{message_id}"
_CHANNEL_PATH: Final = "/channels/{channel_id}"
MAX_APPLIED_TAGS: Final = 5
MAX_THREAD_NAME: Final = 100
_MENTION_TYPES: Final = frozenset({"roles", "users", "everyone"})
# Set by DiscordClient.route_waits_capped for the requests made inside it.
_ROUTE_WAIT_CAP: ContextVar[float | None] = ContextVar("route_wait_cap", default=None)
# Set by DiscordClient.remembering_posts for the job running inside it.
_JOB_POSTS: ContextVar[PostsOfOneJob | None] = ContextVar("job_posts", default=None)
# Webhook and interaction paths carry a token as their second segment.
_TOKEN_IN_PATH: Final = re.compile(r"(/(?:webhooks|interactions)/[^/\s?#\"]+/)[^/\s?#\"]+")


class PostsOfOneJob:
    """The messages one job posted with a nonce of its own, as ``"<channel id>/<nonce>"`` →
    message id: ``earlier`` by its failed attempts (the worker keeps them; loaded at the job's
    first such post, so a job that posts nothing reads nothing), ``made`` by this attempt."""

    def __init__(self, load_earlier: Callable[[], Mapping[str, str]]) -> None:
        self._load_earlier = load_earlier
        self._earlier: dict[str, str] | None = None
        self.made: dict[str, str] = {}

    @staticmethod
    def key(channel_id: str, nonce: str) -> str:
        return f"{channel_id}/{nonce}"

    @property
    def earlier(self) -> Mapping[str, str]:
        if self._earlier is None:
            self._earlier = dict(self._load_earlier())
        return self._earlier

    @property
    def new(self) -> set[str]:
        """What this attempt posted that the earlier record lacks: a first post, or one posted
        again because the earlier message had been deleted."""
        earlier = self._earlier or {}
        return {key for key, message_id in self.made.items() if earlier.get(key) != message_id}

    @property
    def all(self) -> dict[str, str]:
        return {**(self._earlier or {}), **self.made}


@dataclass(frozen=True)
class FileUpload:
    """A file attached to a message, sent as ``files[n]`` in a multipart request."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    #: Alt text shown by Discord (≤1,024 characters).
    description: str | None = None


@dataclass(frozen=True)
class AllowedMentions:
    """Which mentions in a message may ping. The default pings nobody.

    ``AllowedMentions(roles=["123"])`` lets that role's mention ping (an announcement to staff);
    ``parse`` lists whole mention types ("roles", "users", "everyone") and should stay empty for
    anything a member or agent wrote.
    """

    parse: Sequence[str] = ()
    roles: Sequence[str] = ()
    users: Sequence[str] = ()
    replied_user: bool = False

    def __post_init__(self) -> None:
        for name in ("parse", "roles", "users"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        unknown = set(self.parse) - _MENTION_TYPES
        if unknown:
            raise ValueError(f"unknown mention types in parse: {sorted(unknown)}")
        # Discord rejects a type both parsed wholesale and whitelisted by id.
        for mention_type in ("roles", "users"):
            if mention_type in self.parse and getattr(self, mention_type):
                raise ValueError(f"{mention_type!r} cannot be both in parse and whitelisted by id")

    def to_payload(self) -> JsonObject:
        payload: JsonObject = {"parse": list(self.parse)}
        if self.roles:
            payload["roles"] = list(self.roles)
        if self.users:
            payload["users"] = list(self.users)
        if self.replied_user:
            payload["replied_user"] = True
        return payload


NO_MENTIONS: Final = AllowedMentions()


class DiscordClient:
    """Discord REST API v10 over a :class:`requests.Session`. Thread-safe."""

    def __init__(
        self,
        *,
        base_url: str,
        application_id: str,
        bot_token: str | Callable[[], str] | None,
        session: requests.Session | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: tuple[float, float] = (3.05, 10.0),
        max_attempts: int = 4,
        max_wait_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._base_url = base_url.rstrip("/")
        self._application_id = application_id
        self._bot_token = bot_token
        self._last_bot_token: str | None = bot_token if isinstance(bot_token, str) else None
        self._session = session if session is not None else requests.Session()
        self._user_agent = user_agent
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._max_wait_seconds = max_wait_seconds
        self._sleep = sleep
        self._rate_limiter = rate_limiter or RateLimiter(clock=clock, sleep=sleep)
        self._jitter = random.Random()  # noqa: S311 - backoff jitter, not cryptography
        _install_urllib3_redaction()

    @staticmethod
    @contextlib.contextmanager
    def route_waits_capped(seconds: float) -> Iterator[None]:
        """Within this block (this thread or task), a request that one route's bucket would
        hold for longer than ``seconds`` raises :class:`RateLimited` at once, with the wait as
        its ``retry_after``, instead of sleeping it out. For work that is better handed back to
        the queue than held: a relay, while the worker has other members' messages to send."""
        token = _ROUTE_WAIT_CAP.set(seconds)
        try:
            yield
        finally:
            _ROUTE_WAIT_CAP.reset(token)

    @staticmethod
    @contextlib.contextmanager
    def remembering_posts(load_earlier: Callable[[], Mapping[str, str]]) -> Iterator[PostsOfOneJob]:
        """Within this block (one job), :meth:`create_message` with a caller's nonce records the
        message it posts, and returns the message ``load_earlier()`` names (posted by the job's
        failed attempt) instead of posting it again. The block's :class:`PostsOfOneJob` is what to
        keep if the job fails."""
        posts = PostsOfOneJob(load_earlier)
        token = _JOB_POSTS.set(posts)
        try:
            yield posts
        finally:
            _JOB_POSTS.reset(token)

    # -- bot endpoints ---------------------------------------------------------------------

    def create_message(
        self,
        channel_id: str,
        *,
        content: str | None = None,
        embeds: Sequence[JsonObject] = (),
        components: Sequence[JsonObject] = (),
        files: Sequence[FileUpload] = (),
        allowed_mentions: AllowedMentions | None = None,
        nonce: str | None = None,
        flags: int | None = None,
    ) -> list[JsonObject]:
        """Post a message; content over 2,000 characters becomes several, in order.

        Embeds, components and files go on the last message, under the end of the text. Each
        message carries a nonce with ``enforce_nonce``, so a retry after a lost response returns
        the message already created instead of posting it twice. Pass a ``nonce`` derived from
        the job (≤25 characters) to make a redelivered job idempotent too; the first message uses
        it as is, the others a deterministic variant of it. Inside :meth:`remembering_posts`, a
        chunk that the job's earlier attempt posted is fetched instead (posted again only if it
        was deleted since).
        """
        chunks = _content_chunks(content, embeds, components, files)
        base_nonce = nonce if nonce is not None else secrets.token_hex(10)
        if not 0 < len(base_nonce) <= MAX_NONCE_LENGTH:
            raise ValueError(f"nonce must be 1-{MAX_NONCE_LENGTH} characters")
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        messages: list[JsonObject] = []
        for index, chunk in enumerate(chunks):
            is_last = index == len(chunks) - 1
            payload = _message_payload(
                content=chunk,
                embeds=embeds if is_last else (),
                components=components if is_last else (),
                allowed_mentions=allowed_mentions,
            )
            payload["nonce"] = _nonce_for_chunk(base_nonce, index)
            payload["enforce_nonce"] = True
            if flags is not None:
                payload["flags"] = flags
            messages.append(
                self._once_per_job(
                    PostsOfOneJob.key(channel_id, payload["nonce"]) if nonce is not None else None,
                    partial(self._posted_earlier, channel_id),
                    partial(self._send_object, route, payload, files if is_last else ()),
                )
            )
        return messages

    def _once_per_job(
        self,
        key: str | None,
        find_earlier: Callable[[str], JsonObject | None],
        make: Callable[[], JsonObject],
    ) -> JsonObject:
        """``make()``, unless this job's failed attempt made it already: inside
        :meth:`remembering_posts`, ``key`` is looked up in the job's record and ``find_earlier``
        fetches what it names (None if it was deleted since); what is made or found is recorded
        under ``key``. Outside the block, or without a key, just ``make()``."""
        job_posts = _JOB_POSTS.get() if key is not None else None
        if job_posts is None or key is None:
            return make()
        earlier_id = job_posts.earlier.get(key)
        made = find_earlier(earlier_id) if earlier_id is not None else None
        if made is None:
            made = make()
        job_posts.made[key] = str(made["id"])
        return made

    def _send_object(
        self,
        route: Route,
        payload: JsonObject,
        files: Sequence[FileUpload] = (),
        *,
        retry_unsafe: bool = True,
        describe_files: bool = True,
    ) -> JsonObject:
        return _as_object(
            self._send(route, payload, files, retry_unsafe=retry_unsafe, describe_files=describe_files)
        )

    def _posted_earlier(self, channel_id: str, message_id: str) -> JsonObject | None:
        """The message an earlier attempt posted, or None if there is none any more."""
        try:
            return self.get_message(channel_id, message_id)
        except (UnknownMessage, UnknownChannel):
            return None
        except DiscordApiError as refusal:
            # Reading a message needs Read Message History, which posting does not: the record
            # says it was posted, and posting it again is what this is here to prevent.
            logger.info("earlier post not readable; taken as posted", extra={"code": refusal.code})
            return {"id": message_id, "channel_id": channel_id}

    def edit_message(
        self,
        channel_id: str,
        message_id: str,
        *,
        content: str | None = None,
        embeds: Sequence[JsonObject] | None = None,
        components: Sequence[JsonObject] | None = None,
        allowed_mentions: AllowedMentions | None = None,
    ) -> JsonObject:
        """Edit a bot message. ``None`` leaves a field as it is; ``[]`` clears it."""
        if content is not None and len(content) > MESSAGE_CONTENT_LIMIT:
            raise ValueError(f"edited content must be at most {MESSAGE_CONTENT_LIMIT} characters")
        route = Route("PATCH", _MESSAGE_PATH, channel_id=channel_id, message_id=message_id)
        payload = _edit_payload(content, embeds, components, allowed_mentions)
        return _as_object(self._send(route, payload))

    def get_message(self, channel_id: str, message_id: str) -> JsonObject:
        route = Route("GET", _MESSAGE_PATH, channel_id=channel_id, message_id=message_id)
        return _as_object(self._send(route))

    def crosspost_message(self, channel_id: str, message_id: str) -> JsonObject:
        """Publish a message of an announcement channel to the channels that follow it (the bot's
        own message needs Send Messages, another's Manage Messages). Discord allows about ten per
        hour per channel: past that it answers 429 with a long ``retry_after``, which raises
        :class:`RateLimited`. Returns the message, its ``flags`` now with CROSSPOSTED (1)."""
        route = Route("POST", _MESSAGE_PATH + "/crosspost", channel_id=channel_id, message_id=message_id)
        return _as_object(self._send(route))

    def open_dm(self, user_id: str) -> JsonObject:
        """The DM channel with a user (Discord returns the existing one if there is one)."""
        route = Route("POST", "/users/@me/channels")
        return _as_object(self._send(route, {"recipient_id": user_id}))

    def get_guild_member(self, guild_id: str, user_id: str) -> JsonObject | None:
        """The user's member object in a server, or None when they are not in it."""
        route = Route("GET", "/guilds/{guild_id}/members/{user_id}", guild_id=guild_id, user_id=user_id)
        try:
            return _as_object(self._send(route))
        except (UnknownMember, UnknownUser):
            return None

    def create_private_thread(self, channel_id: str, *, name: str, key: str | None = None) -> JsonObject:
        """A private thread (type 12) in a text channel: only its members, and those who may
        manage threads (staff), can see it; ``invitable: false`` keeps members from adding others.
        Inside :meth:`remembering_posts`, ``key`` (derived from the job) finds the thread a failed
        attempt opened, as a nonce finds a message."""
        route = Route("POST", "/channels/{channel_id}/threads", channel_id=channel_id)
        payload = {"name": name[:100], "type": 12, "invitable": False, "auto_archive_duration": 10080}
        return self._once_per_job(
            PostsOfOneJob.key(channel_id, f"thread:{key}") if key is not None else None,
            self._thread_opened_earlier,
            partial(self._send_object, route, payload),
        )

    def add_thread_member(self, thread_id: str, user_id: str) -> None:
        route = Route(
            "PUT", "/channels/{channel_id}/thread-members/{user_id}", channel_id=thread_id, user_id=user_id
        )
        self._send(route)

    # -- channels, forums and server setup ----------------------------------------------------

    def get_channel(self, channel_id: str) -> JsonObject:
        """A channel or thread (a forum's ``available_tags``, a channel's
        ``permission_overwrites``, a post's ``applied_tags``)."""
        route = Route("GET", _CHANNEL_PATH, channel_id=channel_id)
        return _as_object(self._send(route))

    def edit_channel(self, channel_id: str, **fields: Any) -> JsonObject:
        """Modify a channel or thread with the given fields, e.g. a forum's ``available_tags``
        (needs Manage Channels) or a post's ``applied_tags``, ``name``, ``archived``, ``locked``.
        Returns the updated channel."""
        if not fields:
            raise ValueError("edit_channel needs at least one field")
        tags = fields.get("applied_tags")
        if tags is not None:
            fields["applied_tags"] = [str(tag) for tag in tags]
            if len(fields["applied_tags"]) > MAX_APPLIED_TAGS:
                raise ValueError(f"a post takes at most {MAX_APPLIED_TAGS} tags")
        route = Route("PATCH", _CHANNEL_PATH, channel_id=channel_id)
        return _as_object(self._send(route, fields))

    def create_forum_post(
        self,
        forum_id: str,
        *,
        name: str,
        content: str | None = None,
        embeds: Sequence[JsonObject] = (),
        components: Sequence[JsonObject] = (),
        files: Sequence[FileUpload] = (),
        applied_tags: Sequence[str] = (),
        allowed_mentions: AllowedMentions | None = None,
        auto_archive_duration: int | None = None,
        key: str | None = None,
    ) -> JsonObject:
        """Open a post in a forum channel: a thread (returned, with its first ``message``, whose
        id is the thread's) named ``name`` (1-100 characters) with up to 5 of the forum's tags.

        Discord takes no nonce here, so this POST is not retried once it may have reached Discord
        (a timeout while reading, a 5xx): that raises :class:`DiscordUnavailable`, and the caller
        should look for the post before opening it again. Inside :meth:`remembering_posts`, a
        ``key`` derived from the job plays the nonce's part for a retry: the post its failed
        attempt opened is fetched instead (opened again only if it was deleted since).
        """
        if not 1 <= len(name) <= MAX_THREAD_NAME:
            raise ValueError(f"a post name must be 1-{MAX_THREAD_NAME} characters")
        if content is not None and len(content) > MESSAGE_CONTENT_LIMIT:
            raise ValueError(f"a post's first message must be at most {MESSAGE_CONTENT_LIMIT} characters")
        if len(applied_tags) > MAX_APPLIED_TAGS:
            raise ValueError(f"a post takes at most {MAX_APPLIED_TAGS} tags")
        if len(embeds) > MAX_EMBEDS or len(files) > MAX_FILES:
            raise ValueError(f"at most {MAX_EMBEDS} embeds and {MAX_FILES} files")
        payload: JsonObject = {
            "name": name,
            "message": _message_payload(
                content=content, embeds=embeds, components=components, allowed_mentions=allowed_mentions
            ),
        }
        if applied_tags:
            payload["applied_tags"] = [str(tag) for tag in applied_tags]
        if auto_archive_duration is not None:
            payload["auto_archive_duration"] = auto_archive_duration
        route = Route("POST", "/channels/{channel_id}/threads", channel_id=forum_id)
        if files:
            # The message's files travel as files[n] next to a payload_json holding the whole body.
            message = _multipart_message(payload["message"], files)
            payload["message"] = message
        return self._once_per_job(
            PostsOfOneJob.key(forum_id, f"post:{key}") if key is not None else None,
            self._forum_post_earlier,
            partial(self._send_object, route, payload, files, retry_unsafe=False, describe_files=False),
        )

    def _forum_post_earlier(self, thread_id: str) -> JsonObject | None:
        """The forum post an earlier attempt opened, with its first message, or None if there is
        none any more."""
        thread = self._thread_opened_earlier(thread_id)
        if thread is not None:
            # None only when the first message was deleted (or cannot be read): the post stands.
            thread["message"] = self._posted_earlier(thread_id, thread_id) or {"id": thread_id}
        return thread

    def _thread_opened_earlier(self, thread_id: str) -> JsonObject | None:
        """The thread an earlier attempt opened, or None if there is none any more."""
        try:
            return self.get_channel(thread_id)
        except UnknownChannel:
            return None
        except DiscordApiError as refusal:
            logger.info("earlier thread not readable; taken as opened", extra={"code": refusal.code})
            return {"id": thread_id}

    def start_thread_from_message(
        self, channel_id: str, message_id: str, *, name: str, auto_archive_duration: int | None = None
    ) -> JsonObject:
        """A public thread on a message (an announcement thread in an announcement channel); it
        shares the message's id."""
        if not 1 <= len(name) <= MAX_THREAD_NAME:
            raise ValueError(f"a thread name must be 1-{MAX_THREAD_NAME} characters")
        payload: JsonObject = {"name": name}
        if auto_archive_duration is not None:
            payload["auto_archive_duration"] = auto_archive_duration
        route = Route("POST", _MESSAGE_PATH + "/threads", channel_id=channel_id, message_id=message_id)
        return _as_object(self._send(route, payload))

    def list_guild_roles(self, guild_id: str) -> list[JsonObject]:
        route = Route("GET", "/guilds/{guild_id}/roles", guild_id=guild_id)
        return _as_list(self._send(route))

    def list_guild_channels(self, guild_id: str) -> list[JsonObject]:
        """The server's channels (threads excluded), with their ``permission_overwrites``."""
        route = Route("GET", "/guilds/{guild_id}/channels", guild_id=guild_id)
        return _as_list(self._send(route))

    def put_application_commands(
        self, commands: Sequence[JsonObject], *, guild_id: str | None = None
    ) -> list[JsonObject]:
        """Replace every global command, or with ``guild_id`` that server's commands (instant)."""
        if guild_id is None:
            route = Route(
                "PUT", "/applications/{application_id}/commands", application_id=self._application_id
            )
        else:
            route = Route(
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                application_id=self._application_id,
                guild_id=guild_id,
            )
        return _as_list(self._send(route, list(commands)))

    # -- interaction webhooks: authenticated by the token in the path, not the bot token -----

    def edit_original_response(
        self,
        interaction_token: str,
        *,
        content: str | None = None,
        embeds: Sequence[JsonObject] | None = None,
        components: Sequence[JsonObject] | None = None,
        files: Sequence[FileUpload] = (),
        allowed_mentions: AllowedMentions | None = None,
        ephemeral: bool = False,
    ) -> JsonObject:
        """Edit the deferred ("thinking…") response. Returns the edited original.

        Content over 2,000 characters: the first chunk edits the original and the rest become
        follow-ups, which carry the embeds, components and files. ``ephemeral`` applies to those
        follow-ups: pass what the interaction was deferred with, or an ephemeral answer would
        continue in public.
        """
        overflow: list[str] = []
        if content is not None and len(content) > MESSAGE_CONTENT_LIMIT:
            content, *overflow = split_message(content)
        route = self._interaction_route("PATCH", "/messages/@original", interaction_token)
        if overflow:
            payload = _edit_payload(content, None, None, allowed_mentions)
            original = _as_object(self._send(route, payload))
            self._send_followups(
                interaction_token,
                overflow,
                embeds=embeds or (),
                components=components or (),
                files=files,
                ephemeral=ephemeral,
                allowed_mentions=allowed_mentions,
            )
            return original
        payload = _edit_payload(content, embeds, components, allowed_mentions)
        return _as_object(self._send(route, payload, files))

    def create_followup(
        self,
        interaction_token: str,
        *,
        content: str | None = None,
        embeds: Sequence[JsonObject] = (),
        components: Sequence[JsonObject] = (),
        files: Sequence[FileUpload] = (),
        ephemeral: bool = False,
        allowed_mentions: AllowedMentions | None = None,
    ) -> list[JsonObject]:
        """Send a follow-up message; content over 2,000 characters becomes several, in order."""
        chunks = _content_chunks(content, embeds, components, files)
        return self._send_followups(
            interaction_token,
            chunks,
            embeds=embeds,
            components=components,
            files=files,
            ephemeral=ephemeral,
            allowed_mentions=allowed_mentions,
        )

    # -- CDN -------------------------------------------------------------------------------

    def download_attachment(self, url: str, *, max_bytes: int) -> bytes:
        """Download an attachment (e.g. a screenshot from a modal) from its signed CDN URL.

        A plain GET: the URL's signature is the credential. No Authorization header, not even
        from the session's defaults, because the bot token must never leave the API host.
        Bodies over ``max_bytes`` raise :class:`AttachmentTooLarge` without being read whole.
        CDN requests do not go through the rate limiter: the CDN is not the API.
        """
        parts = urlsplit(url)
        if parts.scheme not in {"https", "http"} or not parts.netloc:
            raise ValueError("attachment URL must be an absolute http(s) URL")
        # The query string is the URL's signature: log the host and path only.
        loggable_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        failure = "no attempt made"
        last_status: int | None = None
        for attempt in range(1, self._max_attempts + 1):
            try:
                with self._session.get(
                    url,
                    headers={"User-Agent": self._user_agent, "Authorization": None},
                    timeout=self._timeout,
                    stream=True,
                ) as response:
                    if response.status_code < 500:
                        return _read_limited(response, max_bytes)
                    failure, last_status = f"HTTP {response.status_code}", response.status_code
            except _RETRYABLE_EXCEPTIONS as error:
                failure, last_status = type(error).__name__, None
            self._back_off(attempt, "GET", loggable_url, failure)
        raise DiscordUnavailable(
            f"GET {loggable_url} failed after {self._max_attempts} attempts ({failure})",
            attempts=self._max_attempts,
            last_status=last_status,
        )

    # -- internals -------------------------------------------------------------------------

    def _interaction_route(self, method: str, suffix: str, interaction_token: str) -> Route:
        return Route(
            method,
            "/webhooks/{application_id}/{interaction_token}" + suffix,
            application_id=self._application_id,
            interaction_token=interaction_token,
        )

    def _send_followups(
        self,
        interaction_token: str,
        chunks: Sequence[str | None],
        *,
        embeds: Sequence[JsonObject],
        components: Sequence[JsonObject],
        files: Sequence[FileUpload],
        ephemeral: bool,
        allowed_mentions: AllowedMentions | None,
    ) -> list[JsonObject]:
        route = self._interaction_route("POST", "", interaction_token)
        messages: list[JsonObject] = []
        for index, chunk in enumerate(chunks):
            is_last = index == len(chunks) - 1
            payload = _message_payload(
                content=chunk,
                embeds=embeds if is_last else (),
                components=components if is_last else (),
                allowed_mentions=allowed_mentions,
            )
            if ephemeral:
                payload["flags"] = EPHEMERAL_FLAG
            # wait=true: Discord answers with the created message instead of 204.
            sent = self._send(route, payload, files if is_last else (), query={"wait": "true"})
            messages.append(_as_object(sent))
        return messages

    def _send(
        self,
        route: Route,
        payload: JsonObject | list[JsonObject] | None = None,
        files: Sequence[FileUpload] = (),
        *,
        query: Mapping[str, str] | None = None,
        retry_unsafe: bool = True,
        describe_files: bool = True,
    ) -> Any:
        """Send one request with rate limiting and retries; return the decoded JSON body.

        ``retry_unsafe=False``: a write Discord cannot deduplicate is retried only when it surely
        did not arrive (a connect timeout, a 429); ``describe_files=False``: the payload already
        describes its files (a forum post lists them in its ``message``)."""
        request_arguments = self._request_arguments(route, payload, files, describe_files=describe_files)
        budget = self._max_wait_seconds
        failure = "no attempt made"
        last_status: int | None = None
        for attempt in range(1, self._max_attempts + 1):
            budget -= self._rate_limiter.acquire(route, max_wait=budget, max_route_wait=_ROUTE_WAIT_CAP.get())
            try:
                response = self._session.request(
                    route.method,
                    self._base_url + route.path,
                    params=query,
                    timeout=self._timeout,
                    # The API never redirects; following one could carry the bot token elsewhere.
                    allow_redirects=False,
                    **request_arguments,
                )
            except _RETRYABLE_EXCEPTIONS as error:
                self._rate_limiter.request_finished()
                failure, last_status = f"{type(error).__name__}: {self._redact(str(error))}", None
                if not retry_unsafe and not isinstance(error, requests.ConnectTimeout):
                    break
            except BaseException:
                self._rate_limiter.request_finished()
                raise
            else:
                self._rate_limiter.request_finished()
                self._rate_limiter.record_response(route, response.headers)
                status = response.status_code
                if status == 429:
                    self._on_rate_limited(route, response, is_last_attempt=attempt == self._max_attempts)
                    continue  # the rate limiter sleeps out retry_after before the next attempt
                if status < 300:
                    logger.debug("%s %s -> %d", route.method, route.loggable_path, status)
                    return _decode_json(response)
                if status < 500:
                    logger.info("%s %s -> %d", route.method, route.loggable_path, status)
                    body = _decode_json(response)
                    raise api_error_from_body(status, body, fallback_message=response.reason)
                failure, last_status = f"HTTP {status}", status
                if not retry_unsafe:
                    break
            self._back_off(attempt, route.method, route.loggable_path, failure)
        raise DiscordUnavailable(
            f"{route.method} {route.loggable_path} failed after {attempt} attempts ({failure})",
            attempts=attempt,
            last_status=last_status,
        )

    def _request_arguments(
        self,
        route: Route,
        payload: JsonObject | list[JsonObject] | None,
        files: Sequence[FileUpload],
        *,
        describe_files: bool = True,
    ) -> dict[str, Any]:
        headers: dict[str, str | None] = {"User-Agent": self._user_agent}
        if route.is_interaction_webhook:
            # The token in the path is the credential. None also drops a session default.
            headers["Authorization"] = None
        else:
            headers["Authorization"] = f"Bot {self._resolve_bot_token()}"
        if files:
            if not isinstance(payload, dict):
                raise TypeError("files need a JSON object payload")
            return {"headers": headers, "files": _multipart_fields(payload, files, describe=describe_files)}
        if payload is None:
            return {"headers": headers}
        headers["Content-Type"] = "application/json"
        return {"headers": headers, "data": json.dumps(payload).encode()}

    def _on_rate_limited(self, route: Route, response: requests.Response, *, is_last_attempt: bool) -> None:
        hit = parse_rate_limit_hit(response.headers, _decode_json(response))
        logger.warning(
            "rate limited on %s %s: retry after %.3f s (global=%s, scope=%s)",
            route.method,
            route.loggable_path,
            hit.retry_after,
            hit.is_global,
            hit.scope,
        )
        if not hit.from_discord:
            # Not Discord's JSON: Cloudflare has banned this IP (too many 401/403/429), typically
            # for an hour. Every retry would extend the ban; stop every route and give up now.
            self._rate_limiter.record_rate_limited(route, hit.retry_after, is_global=True)
            raise RateLimited(retry_after=hit.retry_after, is_global=True)
        self._rate_limiter.record_rate_limited(route, hit.retry_after, is_global=hit.is_global)
        if is_last_attempt:
            raise RateLimited(retry_after=hit.retry_after, is_global=hit.is_global)

    def _back_off(self, attempt: int, method: str, loggable_target: str, failure: str) -> None:
        if attempt >= self._max_attempts:
            return
        delay = min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        # Jitter keeps containers that failed together from retrying together.
        delay *= self._jitter.uniform(0.5, 1.0)
        logger.warning(
            "%s %s attempt %d/%d failed (%s); retrying in %.2f s",
            method,
            loggable_target,
            attempt,
            self._max_attempts,
            failure,
            delay,
        )
        self._sleep(delay)

    def _resolve_bot_token(self) -> str:
        token = self._bot_token() if callable(self._bot_token) else self._bot_token
        if not token:
            raise DiscordError("no bot token configured for a bot endpoint")
        self._last_bot_token = token  # remembered for _redact (a callable token may rotate)
        return token

    def _redact(self, text: str) -> str:
        text = redact_tokens(text)
        return text.replace(self._last_bot_token, REDACTED) if self._last_bot_token else text


def redact_tokens(text: str) -> str:
    """Replace webhook and interaction tokens in any URL or path inside ``text``."""
    return _TOKEN_IN_PATH.sub(rf"\g<1>{REDACTED}", text)


class _TokenRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _install_urllib3_redaction() -> None:
    # urllib3 logs every request line at DEBUG, interaction tokens included; a function that
    # turns on DEBUG logging must not leak them.
    urllib3_logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(existing, _TokenRedactingFilter) for existing in urllib3_logger.filters):
        urllib3_logger.addFilter(_TokenRedactingFilter())


def _content_chunks(
    content: str | None,
    embeds: Sequence[JsonObject],
    components: Sequence[JsonObject],
    files: Sequence[FileUpload],
) -> list[str | None]:
    """The content of each message to send: one ``None`` when only embeds/components/files go."""
    if len(embeds) > MAX_EMBEDS:
        raise ValueError(f"a message takes at most {MAX_EMBEDS} embeds")
    if len(files) > MAX_FILES:
        raise ValueError(f"a message takes at most {MAX_FILES} files")
    chunks: list[str | None] = list(split_message(content)) if content else []
    if chunks:
        return chunks
    if not (embeds or components or files):
        raise ValueError("a message needs content, embeds, components or files")
    return [None]


def _message_payload(
    *,
    content: str | None,
    embeds: Sequence[JsonObject],
    components: Sequence[JsonObject],
    allowed_mentions: AllowedMentions | None,
) -> JsonObject:
    payload: JsonObject = {"allowed_mentions": (allowed_mentions or NO_MENTIONS).to_payload()}
    if content is not None:
        payload["content"] = content
    if embeds:
        payload["embeds"] = list(embeds)
    if components:
        payload["components"] = list(components)
    return payload


def _edit_payload(
    content: str | None,
    embeds: Sequence[JsonObject] | None,
    components: Sequence[JsonObject] | None,
    allowed_mentions: AllowedMentions | None,
) -> JsonObject:
    payload: JsonObject = {"allowed_mentions": (allowed_mentions or NO_MENTIONS).to_payload()}
    if content is not None:
        payload["content"] = content
    if embeds is not None:
        payload["embeds"] = list(embeds)
    if components is not None:
        payload["components"] = list(components)
    return payload


def _attachment_entries(files: Sequence[FileUpload]) -> list[JsonObject]:
    return [
        {"id": index, "filename": upload.filename}
        | ({"description": upload.description} if upload.description is not None else {})
        for index, upload in enumerate(files)
    ]


def _multipart_message(message: JsonObject, files: Sequence[FileUpload]) -> JsonObject:
    """A message body that describes its ``files[n]`` in ``attachments`` by the same n."""
    return {**message, "attachments": _attachment_entries(files)}


def _multipart_fields(
    payload: JsonObject, files: Sequence[FileUpload], *, describe: bool = True
) -> list[tuple[str, tuple[Any, ...]]]:
    """``payload_json`` plus ``files[n]``, each file described in ``attachments`` by the same n
    (``describe=False``: the payload already describes them, e.g. in a forum post's message)."""
    if describe:
        payload = _multipart_message(payload, files)
    fields: list[tuple[str, tuple[Any, ...]]] = [
        ("payload_json", (None, json.dumps(payload), "application/json")),
    ]
    fields.extend(
        (f"files[{index}]", (upload.filename, upload.content, upload.content_type))
        for index, upload in enumerate(files)
    )
    return fields


def derived_nonce(prefix: str, seed: str) -> str:
    """A nonce (at most ``MAX_NONCE_LENGTH`` characters) that is the same whenever ``seed`` is: a
    retried job derives it from what it posts for, and Discord returns the first post."""
    return prefix + hashlib.sha256(seed.encode()).hexdigest()[: MAX_NONCE_LENGTH - len(prefix)]


def _nonce_for_chunk(nonce: str, index: int) -> str:
    """The nonce of message ``index`` of a split send: the same for the same inputs, every time."""
    if index == 0:
        return nonce
    suffix = f"-{index}"
    if len(nonce) + len(suffix) <= MAX_NONCE_LENGTH:
        return nonce + suffix
    # Truncating would drop the end of the nonce, where callers put what makes it unique.
    digest = hashlib.sha256(nonce.encode()).hexdigest()
    return digest[: MAX_NONCE_LENGTH - len(suffix)] + suffix


def _decode_json(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _as_object(data: Any) -> JsonObject:
    if not isinstance(data, dict):
        raise DiscordError(f"expected a JSON object from Discord, got {type(data).__name__}")
    return data


def _as_list(data: Any) -> list[JsonObject]:
    if not isinstance(data, list):
        raise DiscordError(f"expected a JSON array from Discord, got {type(data).__name__}")
    return data


def _read_limited(response: requests.Response, max_bytes: int) -> bytes:
    if response.status_code >= 300:
        raise api_error_from_body(response.status_code, None, fallback_message="attachment download failed")
    announced = response.headers.get("Content-Length")
    if announced is not None and announced.isdigit() and int(announced) > max_bytes:
        raise AttachmentTooLarge(max_bytes, int(announced))
    body = bytearray()
    # Counted as it arrives: Content-Length may be absent (chunked) or wrong.
    for chunk in response.iter_content(_DOWNLOAD_CHUNK_BYTES):
        body += chunk
        if len(body) > max_bytes:
            raise AttachmentTooLarge(max_bytes)
    return bytes(body)
