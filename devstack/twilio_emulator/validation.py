"""Reading and checking request parameters the way Twilio's API does.

Twilio's REST API takes ``application/x-www-form-urlencoded`` bodies whose keys are PascalCase
with dots for nesting (``Configuration.Filters``) and repeats a key for lists. JSON-valued
parameters (``Attributes``, the Interactions ``Channel`` and ``Routing``) are JSON text inside a
form field.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from .clock import parse_iso8601_duration
from .errors import TwilioApiError
from .sids import is_sid


class FormParams:
    """The form fields of one request: every value of every key, in the order sent."""

    def __init__(self, values: Mapping[str, list[str]] | None = None) -> None:
        self._values: dict[str, list[str]] = {key: list(items) for key, items in (values or {}).items()}

    @classmethod
    def parse(cls, body: bytes, content_type: str) -> FormParams:
        """Form fields of a body; other content types carry no parameters (Twilio ignores them)."""
        if not body or "application/x-www-form-urlencoded" not in content_type.lower():
            return cls()
        return cls(parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True))

    def names(self) -> list[str]:
        return list(self._values)

    def has(self, name: str) -> bool:
        return name in self._values

    def first(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name, []))

    def require(self, name: str) -> str:
        value = self.first(name)
        if value is None or value == "":
            raise TwilioApiError.missing_parameter(name)
        return value

    def for_log(self) -> dict[str, str | list[str]]:
        """A plain value per key, and a list only where the key was repeated."""
        return {key: items[0] if len(items) == 1 else list(items) for key, items in self._values.items()}

    def check_known(self, allowed: Collection[str], *, strict: bool) -> None:
        """Refuse parameters the route does not document.

        Real Twilio silently ignores unknown parameters, which hides typos such as
        ``Configuration.Filter``; the emulator refuses them by default (``strict``) and says so in
        ``X-Emulator-Note``."""
        unknown = [name for name in self._values if name not in allowed]
        if unknown and strict:
            raise TwilioApiError.invalid_parameter(
                f"Unknown parameter {unknown[0]}",
                note=f"parameter(s) {', '.join(unknown)} are not in the API spec for this route "
                "(real Twilio would ignore them)",
            )

    def enum(self, name: str, allowed: Iterable[str], *, lower: bool = False) -> str | None:
        value = self.first(name)
        if value is None:
            return None
        candidate = value.lower() if lower else value
        options = list(allowed)
        if candidate not in options:
            raise TwilioApiError.invalid_parameter(
                f"Invalid {name}: {value!r} is not one of {', '.join(options)}"
            )
        return candidate

    def required_enum(self, name: str, allowed: Iterable[str]) -> str:
        self.require(name)
        value = self.enum(name, allowed)
        assert value is not None
        return value

    def json_attributes(self, name: str = "Attributes") -> str | None:
        """A JSON-text parameter, checked and kept as sent (Twilio stores the string)."""
        value = self.first(name)
        if value is None:
            return None
        try:
            json.loads(value)
        except json.JSONDecodeError as exc:
            raise TwilioApiError.attributes_not_json() from exc
        return value

    def json_object(self, name: str, *, required: bool = False) -> dict[str, Any] | None:
        """A parameter whose value is a JSON object (the Interactions ``Channel``/``Routing``)."""
        value = self.first(name)
        if value is None or value == "":
            if required:
                raise TwilioApiError.missing_parameter(name)
            return None
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise TwilioApiError.invalid_parameter(f"Invalid {name}: not valid JSON") from exc
        if not isinstance(parsed, dict):
            raise TwilioApiError.invalid_parameter(f"Invalid {name}: expected a JSON object")
        return parsed

    def sid(self, name: str, prefix: str) -> str | None:
        value = self.first(name)
        if value is not None and not is_sid(value, prefix):
            raise TwilioApiError.invalid_parameter(
                f"Invalid {name}: expected a {prefix} SID ({prefix} followed by 32 hex digits)"
            )
        return value

    def integer(self, name: str) -> int | None:
        value = self.first(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError as exc:
            raise TwilioApiError.invalid_parameter(f"Invalid {name}: expected an integer") from exc


def webhook_enabled(headers: Mapping[str, str]) -> bool:
    """``X-Twilio-Webhook-Enabled``: ``true`` makes a REST action fire webhooks (documented
    values ``true``/``false``; absent means false)."""
    value = headers.get("x-twilio-webhook-enabled")
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise TwilioApiError.invalid_parameter(
            f"Invalid X-Twilio-Webhook-Enabled header: {value!r} (expected true or false)"
        )
    return value.lower() == "true"


MIN_INACTIVE_SECONDS = 60.0
MIN_CLOSED_SECONDS = 600.0


def timer_seconds(params: FormParams) -> tuple[float | None, float | None]:
    """``Timers.Inactive`` (≥ 1 minute) and ``Timers.Closed`` (≥ 10 minutes) as seconds; None when
    absent, 0.0 for ``PT0S`` (which clears the timer)."""
    inactive_text = params.first("Timers.Inactive")
    closed_text = params.first("Timers.Closed")
    inactive = closed = None
    if inactive_text:
        inactive = parse_iso8601_duration(inactive_text)
        if inactive is None:
            raise TwilioApiError.time_to_inactive_format()
        if 0 < inactive < MIN_INACTIVE_SECONDS:  # PT0S clears the timer
            raise TwilioApiError.time_to_inactive_too_short()
    if closed_text:
        closed = parse_iso8601_duration(closed_text)
        if closed is None:
            raise TwilioApiError.time_to_closed_format()
        if 0 < closed < MIN_CLOSED_SECONDS:
            raise TwilioApiError.time_to_closed_too_short()
    return inactive, closed
