"""``TwilioEmulator``: Conversations v1, Media (MCS), Flex Interactions, Studio v2 (flows stored and
run) and a scripted Flex agent, on one loopback HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from devstack.emulator_base import Emulator, Forwarded, Loop

from .clock import Clock
from .control_api import ControlApi
from .conversations import ConversationService
from .flex import FlexService, MediaSpec
from .media import DEFAULT_TEMPORARY_URL_TTL, MediaStore
from .rest import RestApi
from .server import Credentials, EmulatorApp, RecordedRequest, TwilioFault
from .sids import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_API_KEY_SID,
    DEFAULT_CHAT_SERVICE_SID,
    DEFAULT_TASK_CHANNEL_SID,
    DEFAULT_WORKFLOW_SID,
    DEFAULT_WORKSPACE_SID,
)
from .state import JsonObject, TwilioState
from .studio import FlowRunner, StudioExecution, StudioFlows
from .studio.runner import HTTP_TIMEOUT
from .webhooks import DeliveryAttempt, StudioTrigger, WebhookDispatcher

if TYPE_CHECKING:
    from twilio.rest import Client

DEFAULT_AUTH_TOKEN = "emulator-auth-token"  # noqa: S105 - a fake token the emulator accepts
DEFAULT_API_KEY_SECRET = "emulator-api-key-secret"  # noqa: S105 - likewise
DEFAULT_WEBHOOK_RETRIES = 2  # Twilio publishes no number for Conversations; 3 attempts in all


class TwilioEmulator(Emulator[TwilioFault, RecordedRequest]):
    """Twilio for tests and the local stack.

    The bot calls ``{base_url}/{product}/{path}`` (``conversations``, ``flex-api``, ``mcs``) with
    HTTP Basic credentials; the emulator POSTs signed webhooks to the conversations' webhook URLs;
    tests act as the Flex agent with :meth:`accept`, :meth:`agent_say` and :meth:`complete`.
    """

    thread_name = "twilio-emulator"

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        chat_service_sid: str = DEFAULT_CHAT_SERVICE_SID,
        workspace_sid: str = DEFAULT_WORKSPACE_SID,
        workflow_sid: str = DEFAULT_WORKFLOW_SID,
        chat_task_channel_sid: str = DEFAULT_TASK_CHANNEL_SID,
        api_keys: Mapping[str, str] | None = None,
        webhook_timeout: float = 5.0,
        webhook_retries: int = DEFAULT_WEBHOOK_RETRIES,
        webhook_retry_backoff: float = 0.25,
        duplicate_deliveries: bool = False,
        only_api_messages_with_header: bool = True,
        strict_params: bool = True,
        media_url_ttl: float = DEFAULT_TEMPORARY_URL_TTL,
        timer_interval: float = 0.5,
        studio_http_timeout: float = HTTP_TIMEOUT,
    ) -> None:
        super().__init__(host=host, port=port, fault_type=TwilioFault)
        self._auth_token = auth_token
        self._api_keys = (
            dict(api_keys) if api_keys is not None else {DEFAULT_API_KEY_SID: DEFAULT_API_KEY_SECRET}
        )
        self.strict_params = strict_params
        self.only_api_messages_with_header = only_api_messages_with_header
        self._timer_interval = timer_interval
        self.clock = Clock()
        self._state = TwilioState(
            account_sid=account_sid,
            chat_service_sid=chat_service_sid,
            workspace_sid=workspace_sid,
            workflow_sid=workflow_sid,
            clock=self.clock,
            chat_task_channel_sid=chat_task_channel_sid,
        )
        self._dispatcher = WebhookDispatcher(
            auth_token=lambda: self.auth_token,
            timeout=webhook_timeout,
            retries=webhook_retries,
            backoff=webhook_retry_backoff,
            duplicate_deliveries=duplicate_deliveries,
        )
        self._conversations = ConversationService(self._state, self._dispatcher)
        self._media = MediaStore(self._state, temporary_url_ttl=media_url_ttl)
        self._flex = FlexService(self._state, self._conversations, self._media)
        self._studio = StudioFlows(self._state)
        # Studio webhooks run the stored flow (the hook stays overridable: on_studio_trigger).
        self._studio_runner = FlowRunner(
            state=self._state,
            flows=self._studio,
            conversations=self._conversations,
            flex=self._flex,
            auth_token=lambda: self.auth_token,
            report_error=self._dispatcher.record_studio_hook_error,
            http_timeout=studio_http_timeout,
        )
        self._dispatcher.on_studio_trigger = self._studio_runner
        self._app = EmulatorApp(
            rest=RestApi(
                self._state,
                self._conversations,
                self._flex,
                self._media,
                self._studio,
                strict_params=lambda: self.strict_params,
                rest_fires_webhooks=lambda enabled: enabled or not self.only_api_messages_with_header,
            ),
            credentials=Credentials(account_sid, auth_token, self._api_keys),
            faults=self._faults,
            log=self._log,
            control=ControlApi(self),
        )

    # -- lifecycle (start, stop, ``with``, port: Emulator) ---------------------------------------

    def _started(self) -> None:
        self._dispatcher.reopen()
        self._state.base_url = self.base_url

    def _stopped(self) -> None:
        self._dispatcher.close()

    def _loops(self) -> dict[str, Loop]:
        return {"timers": self._run_timers}

    def _run_timers(self, stopping: threading.Event) -> None:
        while not stopping.wait(self._timer_interval):
            self._conversations.run_timers()

    # -- identity and addresses (base_url, what ``TWILIO_API_BASE_URL`` is set to: Emulator) ---

    account_sid = Forwarded[str]("_state", "account_sid", read_only=True)
    chat_service_sid = Forwarded[str]("_state", "chat_service_sid", read_only=True)
    workspace_sid = Forwarded[str]("_state", "workspace_sid", read_only=True)
    workflow_sid = Forwarded[str]("_state", "workflow_sid", read_only=True)
    #: The TaskRouter task channel ``chat`` (``TC...``), what Studio's Send to Flex names.
    chat_task_channel_sid = Forwarded[str]("_state", "chat_task_channel_sid", read_only=True)

    @property
    def auth_token(self) -> str:
        """Signs webhooks and, with :attr:`account_sid`, authenticates API calls."""
        return self._auth_token

    @property
    def api_keys(self) -> dict[str, str]:
        """API key SIDs (``SK...``) and their secrets, also accepted for Basic auth."""
        return dict(self._api_keys)

    @property
    def api_key_sid(self) -> str:
        return next(iter(self._api_keys))

    @property
    def api_key_secret(self) -> str:
        return self._api_keys[self.api_key_sid]

    def twilio_client(self) -> Client:
        """A twilio-python ``Client`` whose Conversations, Flex and Studio domains point here."""
        from twilio.rest import Client

        client = Client(self.account_sid, self.auth_token)
        client.conversations.base_url = f"{self.base_url}/conversations"
        client.flex_api.base_url = f"{self.base_url}/flex-api"
        client.studio.base_url = f"{self.base_url}/studio"
        return client

    # -- knobs ---------------------------------------------------------------------------------

    #: Seconds a webhook target has to answer (Conversations: 5 s).
    webhook_timeout = Forwarded[float]("_dispatcher", "timeout")
    #: Retries after a failed delivery (non-2xx, timeout, connection error).
    webhook_retries = Forwarded[int]("_dispatcher", "retries")
    #: First retry delay in seconds; each further retry waits twice as long.
    webhook_retry_backoff = Forwarded[float]("_dispatcher", "backoff")
    #: Deliver every webhook twice with the same idempotency token (tests of deduplication).
    duplicate_deliveries = Forwarded[bool]("_dispatcher", "duplicate_deliveries")
    deliver_every_webhook_twice = duplicate_deliveries

    @property
    def webhook_copies(self) -> int:
        """How many times each webhook answered 2xx is delivered in all (1: once; 3: the request
        twice more, identically, token included, as an at-least-once redelivery)."""
        return self._dispatcher.copies

    @webhook_copies.setter
    def webhook_copies(self, copies: int) -> None:
        if copies < 1:
            raise ValueError("webhook_copies must be at least 1")
        self._dispatcher.copies = copies

    #: Decides the copies of each delivery from its event type and parameters (seeded chaos);
    #: ``None``: :attr:`webhook_copies` for every delivery.
    webhook_copy_policy = Forwarded[Callable[[str, Mapping[str, str]], int] | None](
        "_dispatcher", "copies_policy"
    )
    #: Seconds a flow's Make HTTP Request widget waits (Studio: 10 s, then ``failed``).
    studio_http_timeout = Forwarded[float]("_studio_runner", "http_timeout")

    @property
    def studio_runner(self) -> FlowRunner:
        """The default ``on_studio_trigger``: call it from a hook of your own to still run flows."""
        return self._studio_runner

    #: Called (on a delivery thread, in conversation order) for each Studio flow trigger;
    #: :attr:`studio_runner` by default, which runs the flow the webhook names.
    on_studio_trigger = Forwarded[Callable[[StudioTrigger], Any] | None]("_dispatcher", "on_studio_trigger")

    def advance_clock(self, seconds: float) -> None:
        """Move time forward and apply the conversation timers that fall due."""
        self.clock.advance(seconds)
        self._conversations.run_timers()

    # -- what happened -------------------------------------------------------------------------

    # requests, clear_requests (and inject_fault, clear_faults, set_fault_policy, make_fault,
    # wait_for): Emulator.

    #: Every webhook request made (retries and duplicates included), oldest first.
    webhook_deliveries = Forwarded[list[DeliveryAttempt]]("_dispatcher", "attempts", read_only=True)
    #: ``(flow_sid, conversation_sid, message, params)`` for each message a Studio webhook saw.
    studio_triggers = Forwarded[list[StudioTrigger]]("_dispatcher", "studio_triggers", read_only=True)
    #: Triggers that ran nothing (the webhook names no stored flow), and hook exceptions.
    studio_hook_errors = Forwarded[list[str]]("_dispatcher", "studio_hook_errors", read_only=True)
    #: Every flow execution, oldest first: steps, widget outcomes, ``ended``/``failed``.
    studio_executions = Forwarded[list[StudioExecution]]("_studio_runner", "executions", read_only=True)

    def studio_flows(self) -> list[JsonObject]:
        """The stored flows as ``GET /v2/Flows/{Sid}`` answers them."""
        with self._state.lock:
            return [self._studio.render(flow) for flow in self._studio.flows.values()]

    def clear_webhook_deliveries(self) -> None:
        """Forget webhook attempts, Studio triggers, hook errors and flow executions."""
        self._dispatcher.clear()
        self._studio_runner.clear()

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until every queued webhook delivery (with its retries) is done."""
        return self._dispatcher.wait_idle(timeout)

    # -- the conversations, as a person in Flex sees them --------------------------------------

    def conversations(self) -> list[JsonObject]:
        with self._state.lock:
            return [self._state.render_conversation(c) for c in self._state.conversations.values()]

    def conversation(self, sid: str) -> JsonObject:
        with self._state.lock:
            return self._state.render_conversation(self._conversations.conversation(sid))

    def participants(self, conversation_sid: str) -> list[JsonObject]:
        with self._state.lock:
            conversation = self._conversations.conversation(conversation_sid)
            return [self._state.render_participant(p) for p in conversation.participants.values()]

    def messages(self, conversation_sid: str) -> list[JsonObject]:
        with self._state.lock:
            conversation = self._conversations.conversation(conversation_sid)
            return [self._state.render_message(m) for m in conversation.messages]

    def media_content(self, media_sid: str) -> bytes:
        with self._state.lock:
            return self._media.get(self.chat_service_sid, media_sid).data

    # -- the scripted Flex agent ---------------------------------------------------------------

    def tasks(self, *, include_closed: bool = False) -> list[JsonObject]:
        """Pending and accepted tasks (``include_closed`` adds completed and canceled ones)."""
        return self._flex.tasks(include_closed=include_closed)

    def accept(self, task_sid: str, agent: str = "alex", friendly_name: str = "Alex") -> JsonObject:
        """The agent accepts a pending task; Flex adds participant ``agent_<agent>`` with
        ``{"friendly_name": ...}`` attributes to the conversation (an SDK action)."""
        return self._flex.accept(task_sid, agent, friendly_name)

    def agent_say(
        self,
        target: str,
        body: str | None,
        *,
        agent: str | None = None,
        media: Sequence[MediaSpec] | None = None,
    ) -> JsonObject:
        """The agent sends a message (``target``: a task or conversation SID); ``media`` items are
        ``(filename, bytes, content_type)`` or ``{"filename", "content_base64", "content_type"}``."""
        return self._flex.agent_say(target, body, agent=agent, media=media)

    def complete(self, task_sid: str) -> JsonObject:
        """The agent ends the chat and completes the task (Flex closes the conversation)."""
        return self._flex.complete(task_sid)

    def transfer(self, task_sid: str) -> JsonObject:
        """The agent transfers the chat back to the queue (a cold transfer): they leave the
        conversation, which stays open, and a new pending task waits for the next agent."""
        return self._flex.transfer(task_sid)

    def state(self) -> JsonObject:
        return {
            "base_url": self.base_url,
            "account_sid": self.account_sid,
            "chat_service_sid": self.chat_service_sid,
            "workspace_sid": self.workspace_sid,
            "workflow_sid": self.workflow_sid,
            "chat_task_channel_sid": self.chat_task_channel_sid,
            "studio_flows": self.studio_flows(),
            "conversations": self.conversations(),
            "tasks": self.tasks(include_closed=True),
        }
