"""The Discord REST client: rate limits, retries, message splitting and safe mentions.

Build one :class:`DiscordClient` per process and share it; catch the :class:`DiscordError`
subclasses a job can act on (:class:`CannotMessageUser`, :class:`RateLimited`, ...).
"""

from flexcord.adapters.discord.client import (
    DEFAULT_USER_AGENT,
    EPHEMERAL_FLAG,
    NO_MENTIONS,
    AllowedMentions,
    DiscordClient,
    FileUpload,
    PostsOfOneJob,
    derived_nonce,
    redact_tokens,
)
from flexcord.adapters.discord.errors import (
    AttachmentTooLarge,
    CannotMessageUser,
    DiscordApiError,
    DiscordError,
    DiscordUnavailable,
    MissingAccess,
    MissingPermissions,
    NotATextChannel,
    RateLimited,
    UnknownChannel,
    UnknownInteraction,
    UnknownMember,
    UnknownMessage,
    UnknownUser,
    UnknownWebhook,
)
from flexcord.adapters.discord.ratelimit import RateLimiter, Route
from flexcord.adapters.discord.text import MESSAGE_CONTENT_LIMIT, split_message

__all__ = [
    "DEFAULT_USER_AGENT",
    "EPHEMERAL_FLAG",
    "MESSAGE_CONTENT_LIMIT",
    "NO_MENTIONS",
    "AllowedMentions",
    "AttachmentTooLarge",
    "CannotMessageUser",
    "DiscordApiError",
    "DiscordClient",
    "DiscordError",
    "DiscordUnavailable",
    "FileUpload",
    "MissingAccess",
    "MissingPermissions",
    "NotATextChannel",
    "PostsOfOneJob",
    "RateLimited",
    "RateLimiter",
    "Route",
    "UnknownChannel",
    "UnknownInteraction",
    "UnknownMember",
    "UnknownMessage",
    "UnknownUser",
    "UnknownWebhook",
    "derived_nonce",
    "redact_tokens",
    "split_message",
]
