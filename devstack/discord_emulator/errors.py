"""Discord's JSON error bodies: ``{"code", "message"}`` plus, for 50035, a tree of field errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Concatenate

from devstack.emulator_base import CannedError


class FormErrors:
    """Collects field errors into Discord's nested ``errors`` tree.

    ``add(("embeds", 0, "title"), "BASE_TYPE_MAX_LENGTH", "...")`` produces
    ``{"embeds": {"0": {"title": {"_errors": [{"code": ..., "message": ...}]}}}}``.
    """

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self._flat: list[str] = []

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        node = self.tree
        for key in path:
            child = node.setdefault(str(key), {})
            node = child
        node.setdefault("_errors", []).append({"code": code, "message": message})
        where = ".".join(str(key) for key in path) or "(body)"
        self._flat.append(f"{where}: {message}")

    def __bool__(self) -> bool:
        return bool(self.tree)

    def describe(self) -> str:
        """A one-line summary, for errors that are reported to tests rather than returned."""
        return "; ".join(self._flat)

    def raise_if_any(self) -> None:
        if self.tree:
            raise DiscordApiError.invalid_form_body(self.tree)

    @classmethod
    def check[**P, T](
        cls, validator: Callable[Concatenate[FormErrors, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``validator`` (which adds to a ``FormErrors``): what it returns, or 50035 with
        whatever it found."""
        errors = cls()
        result = validator(errors, *args, **kwargs)
        errors.raise_if_any()
        return result


class DiscordApiError(Exception):
    """An error answer of the REST API (raised by handlers, turned into a response by the server)."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body

    # The errors Discord returns for the situations the emulator models (codes from
    # developers/topics/opcodes-and-status-codes).
    unauthorized = CannedError(401, 0, "401: Unauthorized")
    not_found = CannedError(404, 0, "404: Not Found")
    method_not_allowed = CannedError(405, 0, "405: Method Not Allowed")
    unknown_channel = CannedError(404, 10003, "Unknown Channel")
    unknown_guild = CannedError(404, 10004, "Unknown Guild")
    unknown_member = CannedError(404, 10007, "Unknown Member")
    unknown_message = CannedError(404, 10008, "Unknown Message")
    unknown_webhook = CannedError(404, 10015, "Unknown Webhook")
    missing_access = CannedError(403, 50001, "Missing Access")
    cannot_edit_other_users_message = CannedError(
        403, 50005, "Cannot edit a message authored by another user"
    )
    empty_message = CannedError(400, 50006, "Cannot send an empty message")
    cannot_send_in_non_text_channel = CannedError(400, 50008, "Cannot send messages in a non-text channel")
    missing_permissions = CannedError(403, 50013, "Missing Permissions")
    thread_archived = CannedError(400, 50083, "Thread is archived")
    thread_already_created = CannedError(400, 160004, "A thread has already been created for this message")
    cannot_send_to_user = CannedError(403, 50007, "Cannot send messages to this user")
    invalid_channel_type = CannedError(400, 50024, "Cannot execute action on this channel type")
    already_crossposted = CannedError(400, 40033, "This message has already been crossposted")
    invalid_recipient = CannedError(400, 50033, "Invalid Recipient(s)")

    @classmethod
    def invalid_form_body(cls, errors: dict[str, Any]) -> DiscordApiError:
        return cls(400, 50035, "Invalid Form Body", errors)

    @classmethod
    def invalid_content_type(cls) -> DiscordApiError:
        return cls.invalid_form_body(
            {
                "_errors": [
                    {
                        "code": "CONTENT_TYPE_INVALID",
                        "message": 'Expected "Content-Type" header to be one of '
                        "{'application/json', 'multipart/form-data', "
                        "'application/x-www-form-urlencoded'}.",
                    }
                ]
            }
        )

    invalid_json = CannedError(400, 50109, "The request body contains invalid JSON.")
    entity_too_large = CannedError(413, 40005, "Request entity too large")
