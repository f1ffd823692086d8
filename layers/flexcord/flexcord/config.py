"""Typed configuration read from the environment.

Every setting the functions read lives here, so one file documents them all (the README's
configuration table mirrors it). Settings are read lazily and cached per process: a Lambda
container reads its environment once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

DEFAULT_DISCORD_API_BASE_URL = "https://discord.com/api/v10"


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def _optional(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _natural(name: str, default: int) -> int:
    """A whole number, 0 or more."""
    raw = _optional(name) or str(default)
    try:
        value = int(raw)
    except ValueError as error:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from error
    if value < 0:
        raise ConfigurationError(f"{name} must be 0 or more, got {value}")
    return value


def _base_url(name: str) -> str | None:
    """An absolute http(s) URL without a trailing slash: Twilio's signatures are checked against
    its scheme and host, so a malformed one would refuse every webhook silently."""
    value = (_optional(name) or "").rstrip("/")
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(f"{name} must be an https URL without a query, got {value!r}")
    return value


def _snowflakes(name: str) -> tuple[str, ...]:
    """A comma-separated list of Discord ids. A typo fails loudly rather than locking out (or
    letting in) a server silently."""
    ids = tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())
    for snowflake in ids:
        if not snowflake.isdigit():
            raise ConfigurationError(f"{name} lists {snowflake!r}, which is not a Discord id")
    return ids


@dataclass(frozen=True)
class DiscordSettings:
    application_id: str
    public_key: str
    api_base_url: str
    guild_id: str | None
    bug_report_channel_id: str | None
    feature_request_channel_id: str | None
    staff_role_id: str | None
    #: Where a member's chat becomes a private thread when their DMs are closed.
    support_channel_id: str | None = None
    #: The servers Flexcord answers in (DISCORD_ALLOWED_GUILD_IDS, else DISCORD_GUILD_ID). Empty
    #: when neither is set: every server is answered, with a warning logged (the local stack and
    #: tests run without either).
    allowed_guild_ids: tuple[str, ...] = ()
    #: Queue-bound requests (/helpme, /reply, Reply, /bug and /new_feature submits) a member may
    #: make per minute (MEMBER_RATE_LIMIT_PER_MINUTE, default 20); 0 switches the limit off.
    member_rate_limit_per_minute: int = 20

    @property
    def default_guild_id(self) -> str | None:
        """The configured server: the template's channel and role parameters are its defaults,
        and cases filed from the bot's DMs are numbered in it."""
        return self.guild_id or (self.allowed_guild_ids[0] if self.allowed_guild_ids else None)

    @classmethod
    def from_env(cls) -> DiscordSettings:
        guild_id = _optional("DISCORD_GUILD_ID")
        return cls(
            application_id=_required("DISCORD_APPLICATION_ID"),
            public_key=_optional("DISCORD_PUBLIC_KEY") or "",
            api_base_url=(_optional("DISCORD_API_BASE_URL") or DEFAULT_DISCORD_API_BASE_URL).rstrip("/"),
            guild_id=guild_id,
            bug_report_channel_id=_optional("DISCORD_BUG_REPORT_CHANNEL_ID"),
            feature_request_channel_id=_optional("DISCORD_FEATURE_REQUEST_CHANNEL_ID"),
            staff_role_id=_optional("DISCORD_STAFF_ROLE_ID"),
            support_channel_id=_optional("DISCORD_SUPPORT_CHANNEL_ID"),
            allowed_guild_ids=_snowflakes("DISCORD_ALLOWED_GUILD_IDS") or ((guild_id,) if guild_id else ()),
            member_rate_limit_per_minute=_natural("MEMBER_RATE_LIMIT_PER_MINUTE", 20),
        )


@dataclass(frozen=True)
class AwsSettings:
    table_name: str
    job_queue_url: str | None
    #: SQS hands a job to the worker at most this many times before it goes to the dead-letter
    #: queue; the worker tells the member on the last attempt. Must equal the queue's
    #: ``maxReceiveCount`` (the template sets both from one parameter).
    job_max_receive_count: int

    @classmethod
    def from_env(cls) -> AwsSettings:
        raw_count = _optional("JOB_MAX_RECEIVE_COUNT") or "5"
        try:
            max_receive_count = int(raw_count)
        except ValueError as error:
            raise ConfigurationError(
                f"JOB_MAX_RECEIVE_COUNT must be an integer, got {raw_count!r}"
            ) from error
        return cls(
            table_name=_optional("TABLE_NAME") or "",
            job_queue_url=_optional("JOB_QUEUE_URL"),
            job_max_receive_count=max_receive_count,
        )


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    #: Unset in production; the local stack sends every Twilio request to its emulator.
    api_base_url: str | None
    #: The Conversations service (Flex's chat service); needed for media uploads.
    chat_service_sid: str | None
    #: Where Twilio posts conversation events: the API's public base URL (no trailing slash).
    public_base_url: str | None
    #: With a Studio flow, the chat runs through it and it sends the chat to Flex; without one,
    #: Flexcord hands off itself with the Interactions API (the direct path).
    studio_flow_sid: str | None
    flex_workspace_sid: str | None
    flex_workflow_sid: str | None

    @classmethod
    def from_env(cls) -> TwilioSettings:
        return cls(
            account_sid=_required("TWILIO_ACCOUNT_SID"),
            api_base_url=(_optional("TWILIO_API_BASE_URL") or "").rstrip("/") or None,
            chat_service_sid=_optional("TWILIO_CONVERSATIONS_SERVICE_SID"),
            public_base_url=_base_url("PUBLIC_BASE_URL"),
            studio_flow_sid=_optional("TWILIO_STUDIO_FLOW_SID"),
            flex_workspace_sid=_optional("TWILIO_FLEX_WORKSPACE_SID"),
            flex_workflow_sid=_optional("TWILIO_FLEX_WORKFLOW_SID"),
        )


def announcements_webhook_review_first() -> bool:
    """ANNOUNCEMENTS_WEBHOOK_REVIEW_FIRST (template parameter AnnouncementsWebhookReviewFirst):
    ``true`` holds every webhook announcement for a staff member's approval. Anything but
    ``true`` or ``false`` fails loudly: a typo must not post unreviewed what was meant to wait."""
    raw = (_optional("ANNOUNCEMENTS_WEBHOOK_REVIEW_FIRST") or "false").lower()
    if raw not in ("true", "false"):
        raise ConfigurationError(f"ANNOUNCEMENTS_WEBHOOK_REVIEW_FIRST must be true or false, got {raw!r}")
    return raw == "true"


@cache
def twilio_settings() -> TwilioSettings:
    return TwilioSettings.from_env()


@cache
def discord_settings() -> DiscordSettings:
    return DiscordSettings.from_env()


@cache
def aws_settings() -> AwsSettings:
    return AwsSettings.from_env()


def reset_cached_settings() -> None:
    """Forget cached settings (tests and the local stack change the environment)."""
    discord_settings.cache_clear()
    aws_settings.cache_clear()
    twilio_settings.cache_clear()
