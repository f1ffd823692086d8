"""Discord's JSON error bodies: ``{"code", "message"}`` plus, for 50035, a tree of field errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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

    @classmethod
    def unauthorized(cls) -> DiscordApiError:
        return cls(401, 0, "401: Unauthorized")

    @classmethod
    def not_found(cls) -> DiscordApiError:
        return cls(404, 0, "404: Not Found")

    @classmethod
    def method_not_allowed(cls) -> DiscordApiError:
        return cls(405, 0, "405: Method Not Allowed")

    @classmethod
    def unknown_channel(cls) -> DiscordApiError:
        return cls(404, 10003, "Unknown Channel")

    @classmethod
    def unknown_guild(cls) -> DiscordApiError:
        return cls(404, 10004, "Unknown Guild")

    @classmethod
    def unknown_member(cls) -> DiscordApiError:
        return cls(404, 10007, "Unknown Member")

    @classmethod
    def unknown_message(cls) -> DiscordApiError:
        return cls(404, 10008, "Unknown Message")

    @classmethod
    def unknown_webhook(cls) -> DiscordApiError:
        return cls(404, 10015, "Unknown Webhook")

    @classmethod
    def missing_access(cls) -> DiscordApiError:
        return cls(403, 50001, "Missing Access")

    @classmethod
    def cannot_edit_other_users_message(cls) -> DiscordApiError:
        return cls(403, 50005, "Cannot edit a message authored by another user")

    @classmethod
    def empty_message(cls) -> DiscordApiError:
        return cls(400, 50006, "Cannot send an empty message")

    @classmethod
    def cannot_send_in_non_text_channel(cls) -> DiscordApiError:
        return cls(400, 50008, "Cannot send messages in a non-text channel")

    @classmethod
    def missing_permissions(cls) -> DiscordApiError:
        return cls(403, 50013, "Missing Permissions")

    @classmethod
    def thread_archived(cls) -> DiscordApiError:
        return cls(400, 50083, "Thread is archived")

    @classmethod
    def thread_already_created(cls) -> DiscordApiError:
        return cls(400, 160004, "A thread has already been created for this message")

    @classmethod
    def cannot_send_to_user(cls) -> DiscordApiError:
        return cls(403, 50007, "Cannot send messages to this user")

    @classmethod
    def invalid_channel_type(cls) -> DiscordApiError:
        return cls(400, 50024, "Cannot execute action on this channel type")

    @classmethod
    def already_crossposted(cls) -> DiscordApiError:
        return cls(400, 40033, "This message has already been crossposted")

    @classmethod
    def invalid_recipient(cls) -> DiscordApiError:
        return cls(400, 50033, "Invalid Recipient(s)")

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

    @classmethod
    def invalid_json(cls) -> DiscordApiError:
        return cls(400, 50109, "The request body contains invalid JSON.")

    @classmethod
    def entity_too_large(cls) -> DiscordApiError:
        return cls(413, 40005, "Request entity too large")
