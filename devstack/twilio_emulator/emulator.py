"""``TwilioEmulator``: Conversations v1, Media (MCS), Flex Interactions, Studio v2 (flows stored and
run) and a scripted Flex agent, on one loopback HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from devstack.control_client import wait_for
from devstack.http_server import EmulatorHttpServer, FaultInjector, HttpRequest, RequestLog

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

T = TypeVar("T")


class TwilioEmulator:
    """Twilio for tests and the local stack.

    The bot calls ``{base_url}/{product}/{path}`` (``conversations``, ``flex-api``, ``mcs``) with
    HTTP Basic credentials; the emulator POSTs signed webhooks to the conversations' webhook URLs;
    tests act as the Flex agent with :meth:`accept`, :meth:`agent_say` and :meth:`complete`.
    """

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
        self.host = host
        self._requested_port = port
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
        self._faults = FaultInjector(TwilioFault)
        self._log: RequestLog[RecordedRequest] = RequestLog()
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
        self._server: EmulatorHttpServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> TwilioEmulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._dispatcher.reopen()
        self._server = EmulatorHttpServer((self.host, self._requested_port), self._app)
        self._state.base_url = self.base_url
        self._threads = [
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="twilio-emulator",
                daemon=True,
            ),
            threading.Thread(target=self._run_timers, name="twilio-emulator-timers", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._dispatcher.close()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None
        self._threads = []

    def __enter__(self) -> TwilioEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run_timers(self) -> None:
        while not self._stopping.wait(self._timer_interval):
            self._conversations.run_timers()

    # -- identity and addresses ----------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What ``TWILIO_API_BASE_URL`` is set to: requests go to ``{base_url}/{product}/...``."""
        return f"http://{self.host}:{self.port}"

    @property
    def account_sid(self) -> str:
        return self._state.account_sid

    @property
    def chat_service_sid(self) -> str:
        return self._state.chat_service_sid

    @property
    def workspace_sid(self) -> str:
        return self._state.workspace_sid

    @property
    def workflow_sid(self) -> str:
        return self._state.workflow_sid

    @property
    def chat_task_channel_sid(self) -> str:
        """The TaskRouter task channel ``chat`` (``TC...``), what Studio's Send to Flex names."""
        return self._state.chat_task_channel_sid

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

    @property
    def webhook_timeout(self) -> float:
        """Seconds a webhook target has to answer (Conversations: 5 s)."""
        return self._dispatcher.timeout

    @webhook_timeout.setter
    def webhook_timeout(self, seconds: float) -> None:
        self._dispatcher.timeout = seconds

    @property
    def webhook_retries(self) -> int:
        """Retries after a failed delivery (non-2xx, timeout, connection error)."""
        return self._dispatcher.retries

    @webhook_retries.setter
    def webhook_retries(self, retries: int) -> None:
        self._dispatcher.retries = retries

    @property
    def webhook_retry_backoff(self) -> float:
        """First retry delay in seconds; each further retry waits twice as long."""
        return self._dispatcher.backoff

    @webhook_retry_backoff.setter
    def webhook_retry_backoff(self, seconds: float) -> None:
        self._dispatcher.backoff = seconds

    @property
    def duplicate_deliveries(self) -> bool:
        """Deliver every webhook twice with the same idempotency token (tests of deduplication)."""
        return self._dispatcher.duplicate_deliveries

    @duplicate_deliveries.setter
    def duplicate_deliveries(self, enabled: bool) -> None:
        self._dispatcher.duplicate_deliveries = enabled

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

    @property
    def webhook_copy_policy(self) -> Callable[[str, Mapping[str, str]], int] | None:
        """Decides the copies of each delivery from its event type and parameters (seeded
        chaos); ``None``: :attr:`webhook_copies` for every delivery."""
        return self._dispatcher.copies_policy

    @webhook_copy_policy.setter
    def webhook_copy_policy(self, policy: Callable[[str, Mapping[str, str]], int] | None) -> None:
        self._dispatcher.copies_policy = policy

    @property
    def studio_http_timeout(self) -> float:
        """Seconds a flow's Make HTTP Request widget waits (Studio: 10 s, then ``failed``)."""
        return self._studio_runner.http_timeout

    @studio_http_timeout.setter
    def studio_http_timeout(self, seconds: float) -> None:
        self._studio_runner.http_timeout = seconds

    @property
    def studio_runner(self) -> FlowRunner:
        """The default ``on_studio_trigger``: call it from a hook of your own to still run flows."""
        return self._studio_runner

    @property
    def on_studio_trigger(self) -> Callable[[StudioTrigger], Any] | None:
        """Called (on a delivery thread, in conversation order) for each Studio flow trigger;
        :attr:`studio_runner` by default, which runs the flow the webhook names."""
        return self._dispatcher.on_studio_trigger

    @on_studio_trigger.setter
    def on_studio_trigger(self, hook: Callable[[StudioTrigger], Any] | None) -> None:
        self._dispatcher.on_studio_trigger = hook

    def inject_fault(  # noqa: PLR0917 - the documented, positional signature
        self,
        method: str,
        path_pattern: str,
        status: int,
        body: dict[str, Any] | None = None,
        times: int = 1,
        delay: float = 0,
        hold: bool = False,
    ) -> None:
        """Fail the next ``times`` requests whose method matches (``"*"``: any) and whose full
        path matches the regex ``path_pattern`` (searched in e.g.
        ``/conversations/v1/Conversations/CH.../Messages``), after sleeping ``delay`` seconds.
        ``status=0`` only delays and then answers normally. ``hold=True`` instead
        serves the request and then holds the answer back ``delay`` seconds (a response lost to the
        client's read timeout although the write happened)."""
        self._faults.add(method, path_pattern, status, body, times=times, delay=delay, hold=hold)

    def clear_faults(self) -> None:
        """Forget the injected faults (a fault policy stays until ``set_fault_policy(None)``)."""
        self._faults.clear()

    def set_fault_policy(self, policy: Callable[[HttpRequest], TwilioFault | None] | None) -> None:
        """Ask ``policy`` about every request no injected fault matches: it returns a fault made
        with :meth:`make_fault` (seeded chaos), or ``None`` to let the request through."""
        self._faults.set_policy(policy)

    def make_fault(
        self, status: int, body: dict[str, Any] | None = None, *, delay: float = 0.0, hold: bool = False
    ) -> TwilioFault:
        """A fault for a policy to return (same meaning as :meth:`inject_fault`'s arguments)."""
        return self._faults.make(status, body, delay=delay, hold=hold)

    def advance_clock(self, seconds: float) -> None:
        """Move time forward and apply the conversation timers that fall due."""
        self.clock.advance(seconds)
        self._conversations.run_timers()

    # -- what happened -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._log.snapshot()

    def clear_requests(self) -> None:
        self._log.clear()

    @property
    def webhook_deliveries(self) -> list[DeliveryAttempt]:
        """Every webhook request made (retries and duplicates included), oldest first."""
        return self._dispatcher.attempts

    @property
    def studio_triggers(self) -> list[StudioTrigger]:
        """``(flow_sid, conversation_sid, message, params)`` for each message a Studio webhook saw."""
        return self._dispatcher.studio_triggers

    @property
    def studio_hook_errors(self) -> list[str]:
        """Triggers that ran nothing (the webhook names no stored flow), and hook exceptions."""
        return self._dispatcher.studio_hook_errors

    @property
    def studio_executions(self) -> list[StudioExecution]:
        """Every flow execution, oldest first: steps, widget outcomes, ``ended``/``failed``."""
        return self._studio_runner.executions

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

    @staticmethod
    def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
        """Poll ``predicate`` until it returns something truthy; raise TimeoutError otherwise."""
        return wait_for(predicate, timeout, interval)
