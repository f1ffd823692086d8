"""Errors raised by the Discord REST client.

Discord answers a failed request with ``{"code": <int>, "message": <str>, "errors": {...}}``; the
``code`` (not the HTTP status) says what went wrong, so callers catch the subclass for the code
they can act on (tell the member their DMs are closed, fall back to a thread, drop an expired
interaction) and treat every other :class:`DiscordApiError` as a bug or an outage.

Everything raised here derives from :class:`DiscordError`, so a job can catch the whole family.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DiscordError(Exception):
    """Root of every error the Discord adapter raises."""


class DiscordApiError(DiscordError):
    """Discord refused the request (a 4xx other than 429, or an unexpected 3xx)."""

    #: The JSON error code this class stands for; 0 on the base class (any code).
    error_code: ClassVar[int] = 0

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"Discord API error {code} (HTTP {status}): {message}")
        self.status = status
        self.code = code
        self.message = message
        #: Per-field validation details, e.g. ``{"content": {"_errors": [...]}}``.
        self.errors = errors


class UnknownChannel(DiscordApiError):
    """10003: the channel was deleted, or the bot cannot see it."""

    error_code = 10003


class UnknownMessage(DiscordApiError):
    """10008: the message was deleted, or never existed."""

    error_code = 10008


class UnknownMember(DiscordApiError):
    """10007: the user is not a member of that server."""

    error_code = 10007


class UnknownUser(DiscordApiError):
    """10013: there is no such user."""

    error_code = 10013


class UnknownWebhook(DiscordApiError):
    """10015: for an interaction, the 15-minute token has expired."""

    error_code = 10015


class UnknownInteraction(DiscordApiError):
    """10062: the interaction was not acknowledged within 3 seconds, or is gone."""

    error_code = 10062


class MissingAccess(DiscordApiError):
    """50001: the bot cannot see that channel (no View Channel, or a private thread it is not
    in), or is not in that server."""

    error_code = 50001


class CannotMessageUser(DiscordApiError):
    """50007: the member closed their DMs or blocked the bot."""

    error_code = 50007


class NotATextChannel(DiscordApiError):
    """50008: messages cannot be sent there (e.g. a forum channel: create a post instead)."""

    error_code = 50008


class MissingPermissions(DiscordApiError):
    """50013: the bot lacks a permission in that channel or server."""

    error_code = 50013


_ERROR_CLASS_BY_CODE: dict[int, type[DiscordApiError]] = {
    error_class.error_code: error_class
    for error_class in (
        UnknownChannel,
        UnknownMessage,
        UnknownMember,
        UnknownUser,
        UnknownWebhook,
        UnknownInteraction,
        MissingAccess,
        CannotMessageUser,
        NotATextChannel,
        MissingPermissions,
    )
}


def api_error_from_body(status: int, body: object, *, fallback_message: str = "") -> DiscordApiError:
    """Build the typed error for a failed response from its decoded JSON body (or ``None``).

    A body that is not Discord's error object (an HTML page from a proxy, an empty 404) still
    gives a :class:`DiscordApiError`, with code 0.
    """
    code = 0
    message = fallback_message or f"HTTP {status}"
    errors: dict[str, Any] | None = None
    if isinstance(body, dict):
        raw_code = body.get("code")
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        raw_message = body.get("message")
        if isinstance(raw_message, str) and raw_message:
            message = raw_message
        raw_errors = body.get("errors")
        if isinstance(raw_errors, dict):
            errors = raw_errors
    error_class = _ERROR_CLASS_BY_CODE.get(code, DiscordApiError)
    return error_class(status, code, message, errors)


class RateLimited(DiscordError):
    """Honouring a rate limit would mean waiting longer than the client's wait budget.

    Nothing was slept: the caller should put its job back on the queue (with a delay of at least
    ``retry_after`` seconds) instead of holding a Lambda open.
    """

    def __init__(self, retry_after: float, is_global: bool) -> None:
        scope = "global" if is_global else "per-route"
        super().__init__(f"Discord {scope} rate limit: retry after {retry_after:.2f} s")
        self.retry_after = retry_after
        self.is_global = is_global


class DiscordUnavailable(DiscordError):
    """Discord kept failing (5xx, timeouts, connection errors) until the attempts ran out."""

    def __init__(self, message: str, *, attempts: int, last_status: int | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        #: The HTTP status of the last response, or ``None`` when the last attempt got no response.
        self.last_status = last_status


class AttachmentTooLarge(DiscordError):
    """A CDN download was refused because the file is bigger than the caller allowed."""

    def __init__(self, max_bytes: int, announced_bytes: int | None = None) -> None:
        detail = f" (server announced {announced_bytes} bytes)" if announced_bytes is not None else ""
        super().__init__(f"attachment exceeds {max_bytes} bytes{detail}")
        self.max_bytes = max_bytes
        self.announced_bytes = announced_bytes
