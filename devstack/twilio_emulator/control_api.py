"""The control API under ``/_emulator/``: lets another process (the local stack, a command line,
the web console) play the Flex agent and inspect the emulator. JSON in, JSON out; client errors
are ``400 {"error": "..."}``. Not part of Twilio's API, and not authenticated (loopback only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devstack.control_routes import EmulatorControlRoutes, JsonObject, json_object
from devstack.http_server import HttpRequest

from .errors import TwilioApiError
from .flex import AgentActionError

if TYPE_CHECKING:
    from .emulator import TwilioEmulator

SETTINGS = (
    "duplicate_deliveries",
    "webhook_copies",
    "webhook_timeout",
    "webhook_retries",
    "webhook_retry_backoff",
    "strict_params",
    "only_api_messages_with_header",
    "studio_http_timeout",
)


class ControlApi(EmulatorControlRoutes["TwilioEmulator"]):
    client_errors = (TwilioApiError, AgentActionError, ValueError, KeyError, TypeError)

    def __init__(self, emulator: TwilioEmulator) -> None:
        super().__init__(
            emulator,
            [
                ("GET", ("tasks",), self._tasks),
                ("POST", ("tasks", "*", "accept"), self._accept),
                ("POST", ("tasks", "*", "complete"), self._complete),
                ("POST", ("tasks", "*", "transfer"), self._transfer),
                ("POST", ("say",), self._say),
                ("GET", ("conversations",), self._conversations),
                ("GET", ("conversations", "*"), self._conversation),
                ("GET", ("conversations", "*", "messages"), self._messages),
                ("GET", ("conversations", "*", "participants"), self._participants),
                ("GET", ("webhook-deliveries",), self._deliveries),
                ("DELETE", ("webhook-deliveries",), self._clear_deliveries),
                ("GET", ("studio-triggers",), self._studio_triggers),
                ("GET", ("studio-executions",), self._studio_executions),
                ("GET", ("studio-hook-errors",), self._studio_hook_errors),
                ("GET", ("settings",), self._settings),
                ("PUT", ("settings",), self._update_settings),
                ("POST", ("clock", "advance"), self._advance_clock),
            ],
        )

    def _refusal(self, exc: Exception) -> JsonObject:
        if isinstance(exc, TwilioApiError):
            return {"error": exc.message, "twilio_error": exc.body()}
        return super()._refusal(exc)

    # -- handlers ------------------------------------------------------------------------------

    def _tasks(self, body: Any, request: HttpRequest, captured: list[str]) -> list[JsonObject]:
        include_closed = request.query.get("include_closed", "").lower() in ("1", "true", "yes")
        return self.emulator.tasks(include_closed=include_closed)

    def _accept(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        return self.emulator.accept(
            captured[0],
            agent=str(payload.get("agent") or "alex"),
            friendly_name=str(payload.get("friendly_name") or "Alex"),
        )

    def _complete(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        return self.emulator.complete(captured[0])

    def _transfer(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        return self.emulator.transfer(captured[0])

    def _say(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        media = payload.get("media") or []
        if not isinstance(media, list):
            raise ValueError("media must be a list of {filename, content_base64, content_type}")
        agent = payload.get("agent")
        return self.emulator.agent_say(
            str(payload["target"]),
            payload.get("body"),
            agent=str(agent) if agent else None,
            media=[json_object(item, "a media item") for item in media],
        )

    def _conversations(self, body: Any, request: HttpRequest, captured: list[str]) -> list[JsonObject]:
        return self.emulator.conversations()

    def _conversation(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        sid = captured[0]
        return {
            "conversation": self.emulator.conversation(sid),
            "participants": self.emulator.participants(sid),
            "messages": self.emulator.messages(sid),
        }

    def _messages(self, body: Any, request: HttpRequest, captured: list[str]) -> list[JsonObject]:
        return self.emulator.messages(captured[0])

    def _participants(self, body: Any, request: HttpRequest, captured: list[str]) -> list[JsonObject]:
        return self.emulator.participants(captured[0])

    def _deliveries(self, body: Any, request: HttpRequest, captured: list[str]) -> list[JsonObject]:
        return [attempt.to_dict() for attempt in self.emulator.webhook_deliveries]

    def _clear_deliveries(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        self.emulator.clear_webhook_deliveries()
        return {"ok": True}

    def _studio_triggers(self, body: Any, request: HttpRequest, captured: list[str]) -> list[JsonObject]:
        return [trigger._asdict() for trigger in self.emulator.studio_triggers]

    def _studio_executions(self, body: Any, request: HttpRequest, captured: list[str]) -> list[JsonObject]:
        return [execution.to_dict() for execution in self.emulator.studio_executions]

    def _studio_hook_errors(self, body: Any, request: HttpRequest, captured: list[str]) -> list[str]:
        return self.emulator.studio_hook_errors

    def _settings(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        return {name: getattr(self.emulator, name) for name in SETTINGS}

    def _update_settings(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        unknown = set(payload) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; known: {', '.join(SETTINGS)}")
        for name, value in payload.items():
            current = getattr(self.emulator, name)
            setattr(self.emulator, name, type(current)(value))
        return self._settings(body, request, captured)

    def _advance_clock(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        self.emulator.advance_clock(float(payload["seconds"]))
        return {"ok": True}
