"""Delivering conversation-scoped webhooks the way Twilio does.

Each delivery is a form-encoded request to the webhook's ``Configuration.Url``, signed with
``X-Twilio-Signature`` (HMAC-SHA1 of the URL plus the sorted parameters, keyed with the auth
token, exactly as ``twilio.request_validator.RequestValidator`` computes it), and carrying an
``I-Twilio-Idempotency-Token`` that stays the same across retries of one delivery.

Deliveries run on background threads, one queue per conversation, so the events of one
conversation arrive in the order they happened (a retried event holds back the ones behind it),
while different conversations do not wait for each other.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlencode

import requests
from twilio.request_validator import RequestValidator

from devstack.http_server import RequestLog

USER_AGENT = "TwilioProxy/1.1"  # what Twilio's webhook requests announce themselves as
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class EventOrigin:
    """Who caused an event, which decides whether webhooks fire and what ``Source`` says.

    - REST calls (``Source=API``) fire webhooks only with ``X-Twilio-Webhook-Enabled: true``
      (Twilio's default keeps a bot from hearing its own echoes).
    - SDK clients, here the scripted Flex agent (``Source=SDK`` with ``ClientIdentity``), always do.
    - Twilio's own actions (Flex closing a conversation, timers) always do, with ``Source=API``.
    """

    source: str
    fire_webhooks: bool
    client_identity: str | None = None
    # A message a Studio flow sent (Send Message widget): it does not start the flow again.
    from_studio: bool = False

    @classmethod
    def rest(cls, webhook_enabled: bool) -> EventOrigin:
        return cls("API", webhook_enabled)

    @classmethod
    def sdk(cls, identity: str) -> EventOrigin:
        return cls("SDK", True, identity)

    @classmethod
    def platform(cls) -> EventOrigin:
        return cls("API", True)

    @classmethod
    def studio(cls) -> EventOrigin:
        return cls("API", True, from_studio=True)


@dataclass(frozen=True)
class WebhookTarget:
    """Where one delivery goes (a snapshot of the webhook when the event happened)."""

    webhook_sid: str
    url: str
    method: str  # "POST" or "GET"


@dataclass(frozen=True)
class DeliveryAttempt:
    """One HTTP request the emulator made to a webhook URL, and how it went."""

    delivery_id: str
    idempotency_token: str
    webhook_sid: str
    conversation_sid: str
    event_type: str
    url: str
    method: str
    params: dict[str, str]
    headers: dict[str, str]
    retry_count: int
    duplicate: bool  # a deliberate second copy (``duplicate_deliveries``)
    outcome: str  # "delivered", "http_error", "timeout" or "connection_error"
    status: int | None
    error: str | None
    started_at: float
    duration: float

    @property
    def ok(self) -> bool:
        return self.outcome == "delivered"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class StudioTrigger(NamedTuple):
    """A Studio flow that a ``target=studio`` webhook starts for a message."""

    flow_sid: str
    conversation_sid: str
    message: dict[str, Any]  # the message as the REST API renders it
    # The onMessageAdded parameters (ConversationSid, MessageSid, Body, Author, Source...): what
    # the flow sees as ``{{trigger.conversation.*}}``.
    params: dict[str, str]


@dataclass
class _Delivery:
    conversation_sid: str
    event_type: str
    target: WebhookTarget
    params: dict[str, str]  # everything but RetryCount, which each attempt sets
    delivery_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    idempotency_token: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class _StudioCall:
    trigger: StudioTrigger


_Job = _Delivery | _StudioCall


class WebhookDispatcher:
    """Queues webhook deliveries per conversation and sends them on background threads."""

    def __init__(
        self,
        *,
        auth_token: Callable[[], str],
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.25,
        duplicate_deliveries: bool = False,
        copies: int = 1,
    ) -> None:
        self._auth_token = auth_token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        #: How many times a webhook that is answered 2xx is delivered in all (Twilio delivers at
        #: least once: a receiver must expect the same request, token included, more than once).
        self.copies = max(copies, 2 if duplicate_deliveries else 1)
        #: Decides the copies per delivery instead (event type, parameters) -> copies.
        self.copies_policy: Callable[[str, Mapping[str, str]], int] | None = None
        self.on_studio_trigger: Callable[[StudioTrigger], Any] | None = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queues: dict[str, deque[_Job]] = {}
        self._draining: set[str] = set()
        self._unfinished = 0
        self._closing = threading.Event()
        self._attempts: RequestLog[DeliveryAttempt] = RequestLog()
        self._studio_triggers: RequestLog[StudioTrigger] = RequestLog()
        self._hook_errors: RequestLog[str] = RequestLog()

    @property
    def duplicate_deliveries(self) -> bool:
        return self.copies > 1

    @duplicate_deliveries.setter
    def duplicate_deliveries(self, enabled: bool) -> None:
        self.copies = 2 if enabled else 1

    def _copies_of(self, delivery: _Delivery) -> int:
        policy = self.copies_policy
        return max(1, policy(delivery.event_type, delivery.params) if policy is not None else self.copies)

    # -- queueing (called with the state lock held, so the order is the order of events) ----

    def deliver(
        self, conversation_sid: str, target: WebhookTarget, event_type: str, params: Mapping[str, str]
    ) -> None:
        self._enqueue(_Delivery(conversation_sid, event_type, target, dict(params)), conversation_sid)

    def trigger_studio(self, trigger: StudioTrigger) -> None:
        """Record the trigger now; call ``on_studio_trigger`` later, in the conversation's order."""
        self._studio_triggers.append(trigger)
        self._enqueue(_StudioCall(trigger), trigger.conversation_sid)

    def _enqueue(self, job: _Job, conversation_sid: str) -> None:
        with self._lock:
            if self._closing.is_set():
                return
            self._queues.setdefault(conversation_sid, deque()).append(job)
            self._unfinished += 1
            if conversation_sid in self._draining:
                return
            self._draining.add(conversation_sid)
        threading.Thread(
            target=self._drain,
            args=(conversation_sid,),
            name=f"twilio-webhooks-{conversation_sid[:10]}",
            daemon=True,
        ).start()

    def _drain(self, conversation_sid: str) -> None:
        while True:
            with self._lock:
                queue = self._queues.get(conversation_sid)
                if not queue or self._closing.is_set():
                    self._draining.discard(conversation_sid)
                    self._queues.pop(conversation_sid, None)
                    self._unfinished -= len(queue or ())
                    self._idle.notify_all()
                    return
                job = queue.popleft()
            try:
                if isinstance(job, _Delivery):
                    self._send_with_retries(job)
                else:
                    self._call_studio_hook(job.trigger)
            except Exception:  # a bug here must not kill the queue of the conversation
                traceback.print_exc(file=sys.stderr)
            finally:
                with self._lock:
                    self._unfinished -= 1
                    self._idle.notify_all()

    # -- sending -------------------------------------------------------------------------------

    def _send_with_retries(self, delivery: _Delivery) -> None:
        for retry_count in range(self.retries + 1):
            attempt = self._send(delivery, retry_count, duplicate=False)
            if attempt.ok:
                # The same request again, token included: what an at-least-once redelivery
                # looks like to the receiver.
                for _ in range(self._copies_of(delivery) - 1):
                    if self._closing.is_set():
                        return
                    self._send(delivery, retry_count, duplicate=True)
                return
            if retry_count < self.retries and self._closing.wait(self.backoff * (2**retry_count)):
                return  # shutting down

    def _send(self, delivery: _Delivery, retry_count: int, *, duplicate: bool) -> DeliveryAttempt:
        params = {**delivery.params, "RetryCount": str(retry_count)}
        target = delivery.target
        validator = RequestValidator(self._auth_token())
        if target.method == "GET":
            separator = "&" if "?" in target.url else "?"
            url = f"{target.url}{separator}{urlencode(params)}"
            signature = validator.compute_signature(url, {})
        else:
            url = target.url
            signature = validator.compute_signature(url, params)
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": delivery.idempotency_token,
            "User-Agent": USER_AGENT,
            "X-Home-Region": "us1",
        }
        if target.method != "GET":
            headers["Content-Type"] = FORM_CONTENT_TYPE
        started = time.time()
        status: int | None = None
        error: str | None = None
        try:
            response = requests.request(
                target.method,
                url,
                data=params if target.method != "GET" else None,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
            status = response.status_code
            outcome = "delivered" if 200 <= status < 300 else "http_error"
        except requests.Timeout as exc:
            outcome, error = "timeout", f"no answer within {self.timeout} s ({type(exc).__name__})"
        except requests.RequestException as exc:
            outcome, error = "connection_error", f"{type(exc).__name__}: {exc}"
        attempt = DeliveryAttempt(
            delivery_id=delivery.delivery_id,
            idempotency_token=delivery.idempotency_token,
            webhook_sid=target.webhook_sid,
            conversation_sid=delivery.conversation_sid,
            event_type=delivery.event_type,
            url=url,
            method=target.method,
            params=params,
            headers=headers,
            retry_count=retry_count,
            duplicate=duplicate,
            outcome=outcome,
            status=status,
            error=error,
            started_at=started,
            duration=time.time() - started,
        )
        self._attempts.append(attempt)
        return attempt

    def _call_studio_hook(self, trigger: StudioTrigger) -> None:
        hook = self.on_studio_trigger
        if hook is None:
            return
        try:
            hook(trigger)
        except Exception as exc:  # the interpreter's bug is reported, not fatal
            self.record_studio_hook_error(f"{type(exc).__name__}: {exc}")
            traceback.print_exc(file=sys.stderr)

    def record_studio_hook_error(self, error: str) -> None:
        """What a Studio hook could not do (e.g. the flow SID names no flow)."""
        self._hook_errors.append(error)

    # -- inspection ----------------------------------------------------------------------------

    @property
    def attempts(self) -> list[DeliveryAttempt]:
        return self._attempts.snapshot()

    @property
    def studio_triggers(self) -> list[StudioTrigger]:
        return self._studio_triggers.snapshot()

    @property
    def studio_hook_errors(self) -> list[str]:
        return self._hook_errors.snapshot()

    def clear(self) -> None:
        for log in (self._attempts, self._studio_triggers, self._hook_errors):
            log.clear()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery (retries included) has finished."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._unfinished > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
            return True

    def reopen(self) -> None:
        """Accept deliveries again after :meth:`close` (the emulator was restarted)."""
        self._closing.clear()

    def close(self) -> None:
        """Stop: pending deliveries are dropped and retry waits end at once."""
        self._closing.set()
        with self._lock:
            self._idle.notify_all()
