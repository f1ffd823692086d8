"""Twilio's JSON error answers: ``{"code", "message", "more_info", "status"}``.

Codes come from Twilio's error catalogue (https://www.twilio.com/docs/api/errors/<code>); each
factory below names the situation the emulator models.
"""

from __future__ import annotations

from typing import Any

from devstack.emulator_base import CannedError


class TwilioApiError(Exception):
    """An error answer of the REST API (raised by handlers, turned into a response by the server)."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        note: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        # An emulator-only hint, sent as ``X-Emulator-Note`` (real Twilio sends nothing like it).
        self.note = note
        # Twilio's optional ``details`` object (twilio-python exposes it as ``exception.details``).
        self.details = details

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        if self.details is not None:
            body["details"] = self.details
        return body

    # -- generic REST errors ------------------------------------------------------------------

    authenticate = CannedError(401, 20003, "Authenticate")

    @classmethod
    def not_found(cls, resource_path: str) -> TwilioApiError:
        return cls(404, 20404, f"The requested resource {resource_path} was not found")

    @classmethod
    def method_not_allowed(cls, method: str) -> TwilioApiError:
        return cls(405, 20004, f"Method {method} not allowed")

    @classmethod
    def missing_parameter(cls, name: str) -> TwilioApiError:
        return cls(400, 20001, f"Missing required parameter {name} in the post body")

    @classmethod
    def invalid_parameter(cls, message: str, *, note: str | None = None) -> TwilioApiError:
        return cls(400, 20001, message, note=note)

    # -- Conversations (codes shared with Programmable Chat, on which Conversations is built) ---

    attributes_not_json = CannedError(400, 50304, "Attributes not valid JSON")
    unique_name_taken = CannedError(409, 50353, "Conversation with provided unique name already exists")
    unique_name_looks_like_sid = CannedError(
        400, 50390, "Unique name should not match conversation sid pattern"
    )
    too_many_webhooks = CannedError(400, 50361, "Too many conversation webhooks")
    webhook_target_missing = CannedError(400, 50368, "Conversation webhook type not provided")
    time_to_inactive_too_short = CannedError(
        400, 50375, "TimeToInactive should be greater or equal to 1 minute"
    )
    time_to_closed_too_short = CannedError(
        400, 50376, "TimeToClosed should be greater or equal to 10 minutes"
    )
    conversation_closed = CannedError(400, 50377, "Can't update conversation as it's in final closed state")
    time_to_inactive_format = CannedError(400, 50379, "TimeToInactive format is invalid")
    time_to_closed_format = CannedError(400, 50380, "TimeToClosed format is invalid")
    timer_without_state = CannedError(400, 50382, "Timer can't be set without state")
    initial_state_closed = CannedError(400, 50384, "Initial state can't be 'closed'")
    participant_not_found = CannedError(404, 50432, "Participant not found")
    participant_exists = CannedError(409, 50433, "Participant already exists")
    message_body_missing = CannedError(400, 50503, "Message body not provided")

    # -- Studio -------------------------------------------------------------------------------

    @classmethod
    def invalid_flow_definition(cls, errors: list[dict[str, str]]) -> TwilioApiError:
        """81022: the definition breaks the flow schema; ``details.errors`` lists each problem as
        ``{"message", "property_path"}`` (a JSON pointer such as ``#/states/1/properties/url``)."""
        return cls(400, 81022, "Flow definition validation failed", details={"errors": errors})

    invalid_flow_revision = CannedError(
        400, 81021, "Flow revision must be an integer or enum(LatestPublished, LatestRevision)"
    )

    # -- Flex ---------------------------------------------------------------------------------

    @classmethod
    def closed_conversation_channel(cls, conversation_sid: str) -> TwilioApiError:
        return cls(
            400,
            45354,
            f"Failed to create Channel because the Conversation {conversation_sid} is in a closed state.",
        )
