"""Running a stored Studio flow for a conversation message, as Flex Conversations does.

The conversation's ``target=studio`` webhook hands each message to :class:`FlowRunner` (on the
webhook delivery thread, in the conversation's order). The runner starts at the trigger, takes its
``incomingConversationMessage`` transition and runs widget after widget until a transition has no
``next``. Each execution is recorded as a :class:`StudioExecution`: the steps, each widget's
outcome, and the final status (``ended`` or ``failed``, with the error).

Widgets run: ``trigger``, ``make-http-request`` (signed like Studio's requests, 10 s, 64 kB),
``split-based-on``, ``send-to-flex`` (creates a Flex interaction as ``POST /v1/Interactions``
would), ``send-message`` (posts into the conversation as ``system``) and ``set-variables``. Any
other widget type fails the execution with a clear error. Liquid context: ``trigger.conversation.*``
(the onMessageAdded parameters, plus ``ChannelSid`` and ``From`` as Studio documents them),
``widgets.NAME.*``, ``flow.sid`` (the execution, ``FN...``), ``flow.flow_sid``,
``flow.channel.address`` (the conversation), ``flow.variables.*`` and ``contact.channel.address``
(the author).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import requests
from twilio.request_validator import RequestValidator

from ..conversations import ConversationService
from ..errors import TwilioApiError
from ..flex import FlexService
from ..sids import new_sid
from ..state import JsonObject, TwilioState
from ..webhooks import USER_AGENT, EventOrigin, StudioTrigger
from .definition import TRIGGER
from .flows import StudioFlows
from .liquid import LiquidError, render

HTTP_TIMEOUT = 10.0  # Studio times a Make HTTP Request out after 10 s
MAX_RESPONSE_BYTES = 64 * 1024  # and processes responses up to 64 kB
MAX_WIDGET_RUNS = 10  # "a Flow's Execution will terminate after the same Widget is run 10 times"
CONVERSATION_EVENT = "incomingConversationMessage"


@dataclass
class StudioStep:
    """One widget run: which transition it took (``event``, ``next``) and what it did."""

    widget: str
    type: str
    event: str | None
    next: str | None
    outcome: JsonObject
    started_at: float
    duration: float


@dataclass
class StudioExecution:
    """One run of a flow for one conversation message."""

    sid: str  # FN...
    flow_sid: str
    revision: int | None
    conversation_sid: str
    message_sid: str
    started_at: float
    status: str = "active"  # → "ended" or "failed"
    error: str | None = None
    steps: list[StudioStep] = field(default_factory=list)
    widgets: JsonObject = field(default_factory=dict)  # {{widgets.NAME.*}}
    variables: JsonObject = field(default_factory=dict)  # {{flow.variables.*}}
    ended_at: float | None = None

    def step(self, widget: str) -> StudioStep:
        """The last run of ``widget`` (KeyError if it did not run)."""
        found = next((s for s in reversed(self.steps) if s.widget == widget), None)
        if found is None:
            raise KeyError(f"widget {widget!r} did not run in execution {self.sid}")
        return found

    def to_dict(self) -> JsonObject:
        return asdict(self)


class WidgetError(RuntimeError):
    """A widget that cannot run: the execution fails with this message."""


@dataclass
class _Result:
    event: str | None  # None: the widget failed to run
    outcome: JsonObject
    transition: Mapping[str, Any] | None = None  # a split's chosen ``match`` transition


@dataclass(frozen=True)
class _Widget:
    """One widget run: the widget as the flow defines it, the Liquid context, the execution."""

    definition: Mapping[str, Any]
    context: JsonObject
    execution: StudioExecution

    @property
    def name(self) -> str:
        return str(self.definition["name"])

    @property
    def properties(self) -> Mapping[str, Any]:
        return self.definition.get("properties") or {}

    def text(self, key: str, default: str = "") -> str:
        """A property rendered with Liquid (``default`` when it is unset or empty)."""
        return self.render(self.properties.get(key) or default)

    def render(self, template: Any) -> str:
        return render(str(template), self.context)


class FlowRunner:
    """Runs flows for Studio triggers; the emulator's default ``on_studio_trigger``."""

    def __init__(
        self,
        *,
        state: TwilioState,
        flows: StudioFlows,
        conversations: ConversationService,
        flex: FlexService,
        auth_token: Callable[[], str],
        report_error: Callable[[str], None],
        http_timeout: float = HTTP_TIMEOUT,
    ) -> None:
        self.state = state
        self.flows = flows
        self.conversations = conversations
        self.flex = flex
        self._auth_token = auth_token
        self._report_error = report_error
        self.http_timeout = http_timeout
        self._lock = threading.Lock()
        self._executions: list[StudioExecution] = []

    @property
    def executions(self) -> list[StudioExecution]:
        with self._lock:
            return copy.deepcopy(self._executions)

    def clear(self) -> None:
        with self._lock:
            self._executions.clear()

    # -- running -------------------------------------------------------------------------------

    def __call__(self, trigger: StudioTrigger) -> StudioExecution | None:
        with self.state.lock:
            flow = self.flows.find(trigger.flow_sid)
            revision = flow.published if flow is not None else None
            definition = copy.deepcopy(revision.definition) if revision is not None else None
        if flow is None:
            self._report_error(
                f"conversation {trigger.conversation_sid}: the studio webhook names flow "
                f"{trigger.flow_sid or '(none)'}, which does not exist; nothing ran"
            )
            return None
        execution = StudioExecution(
            sid=new_sid("FN"),
            flow_sid=flow.sid,
            revision=revision.revision if revision is not None else None,
            conversation_sid=trigger.conversation_sid,
            message_sid=str(trigger.params.get("MessageSid") or trigger.message.get("sid") or ""),
            started_at=time.time(),
        )
        with self._lock:
            self._executions.append(execution)
        if definition is None:
            self._finish(
                execution, f"flow {flow.sid} has no published revision (drafts run for test users only)"
            )
            return execution
        try:
            self._run(execution, definition, self._context(execution, trigger))
        except Exception as exc:  # an emulator bug: the execution must not stay "active"
            self._finish(execution, f"the emulator failed: {type(exc).__name__}: {exc}")
            raise
        return execution

    def _context(self, execution: StudioExecution, trigger: StudioTrigger) -> JsonObject:
        conversation = dict(trigger.params)
        conversation.setdefault("ChannelSid", trigger.conversation_sid)
        conversation.setdefault("From", conversation.get("Author", ""))
        return {
            "trigger": {"conversation": conversation},
            "widgets": execution.widgets,
            "flow": {
                "sid": execution.sid,
                "flow_sid": execution.flow_sid,
                "revision": execution.revision,
                "channel": {"address": trigger.conversation_sid},
                "variables": execution.variables,
                "data": {},
            },
            "contact": {"channel": {"address": conversation.get("Author", "")}},
        }

    def _run(self, execution: StudioExecution, definition: JsonObject, context: JsonObject) -> None:
        states = {state["name"]: state for state in definition["states"]}
        runs: Counter[str] = Counter()
        current: str | None = definition["initial_state"]
        while current is not None:
            widget = _Widget(states[current], context, execution)
            runs[current] += 1
            if runs[current] > MAX_WIDGET_RUNS:
                self._finish(
                    execution, f"widget {current!r} ran {MAX_WIDGET_RUNS} times: execution terminated"
                )
                return
            started = time.time()
            try:
                result = self._run_widget(widget)
            except (WidgetError, LiquidError) as exc:
                self._record(widget, _Result(None, {"error": str(exc)}), None, started)
                self._finish(execution, f"widget {current!r}: {exc}")
                return
            transition = result.transition or next(
                (t for t in widget.definition.get("transitions", []) if t.get("event") == result.event),
                None,
            )
            following = (transition or {}).get("next") or None
            self._record(widget, result, following, started)
            current = following
        self._finish(execution, None)

    def _record(self, widget: _Widget, result: _Result, following: str | None, started: float) -> None:
        """The step of a widget run since ``started``: the event it raised and where it led."""
        kind = widget.definition["type"]
        step = StudioStep(
            widget.name, kind, result.event, following, result.outcome, started, time.time() - started
        )
        with self._lock:
            widget.execution.steps.append(step)

    def _set_widget(self, widget: _Widget, variables: JsonObject) -> None:
        """``{{widgets.NAME.*}}`` (under the lock: the control API reads executions meanwhile)."""
        with self._lock:
            widget.execution.widgets[widget.name] = variables

    def _finish(self, execution: StudioExecution, error: str | None) -> None:
        with self._lock:
            execution.status = "failed" if error else "ended"
            execution.error = error
            execution.ended_at = time.time()

    def _run_widget(self, widget: _Widget) -> _Result:
        widget_type = widget.definition["type"]
        if widget_type == TRIGGER:
            return _Result(CONVERSATION_EVENT, {})
        handler = {
            "make-http-request": self._http_request,
            "split-based-on": self._split,
            "send-to-flex": self._send_to_flex,
            "send-message": self._send_message,
            "set-variables": self._set_variables,
        }.get(widget_type)
        if handler is None:
            raise WidgetError(f"the widget type {widget_type!r} is not emulated")
        return handler(widget)

    # -- widgets -------------------------------------------------------------------------------

    def _http_request(self, widget: _Widget) -> _Result:
        method = str(widget.properties.get("method") or "GET").upper()
        content_type = str(widget.properties.get("content_type") or "application/x-www-form-urlencoded")
        url = widget.text("url")
        parameters = [
            (widget.render(item["key"]), widget.render(item.get("value", "")))
            for item in widget.properties.get("parameters") or []
        ]
        body = widget.text("body") if method == "POST" else ""
        request: JsonObject = {"method": method, "url": url, "content_type": content_type, "body": body}
        if not re.match(r"https?://", url):
            self._set_widget(widget, {})
            return _Result("failed", {"request": request, "error": f"not an http(s) URL: {url!r}"})

        validator = RequestValidator(self._auth_token())
        headers = {
            "User-Agent": USER_AGENT,
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "X-Home-Region": "us1",
        }
        data: bytes | None = None
        if method == "GET":
            url = _with_query(url, parameters)
            signature = validator.compute_signature(url, {})
        elif content_type.lower().startswith("application/json"):
            data = body.encode("utf-8")
            # Studio signs a JSON request over the URL with the body's SHA-256 in the query.
            url = _with_query(
                _with_query(url, parameters), [("bodySHA256", hashlib.sha256(data).hexdigest())]
            )
            signature = validator.compute_signature(url, {})
            headers["Content-Type"] = content_type
        else:
            form = parameters + parse_qsl(body, keep_blank_values=True)
            data = urlencode(form).encode("utf-8")
            signature = validator.compute_signature(url, dict(form))
            headers["Content-Type"] = content_type
        headers["X-Twilio-Signature"] = signature
        request.update({"url": url, "headers": headers})

        widget_variables, outcome = self._send(method, url, data, headers)
        self._set_widget(widget, widget_variables)
        outcome["request"] = request
        return _Result("failed" if "error" in outcome else "success", outcome)

    def _send(
        self, method: str, url: str, data: bytes | None, headers: Mapping[str, str]
    ) -> tuple[JsonObject, JsonObject]:
        """``(widgets.NAME variables, step outcome)``; the outcome has ``error`` on failure."""
        started = time.monotonic()
        try:
            with requests.request(
                method, url, data=data, headers=dict(headers), timeout=self.http_timeout, stream=True
            ) as response:
                content = b""
                for chunk in response.iter_content(16384):
                    content += chunk
                    if len(content) > MAX_RESPONSE_BYTES:
                        break
                    if time.monotonic() - started > self.http_timeout:
                        raise requests.Timeout("the body took too long")
        except requests.Timeout as exc:
            return {}, {"error": f"no answer within {self.http_timeout:g} s ({type(exc).__name__})"}
        except requests.RequestException as exc:
            return {}, {"error": f"{type(exc).__name__}: {exc}"}
        response_content_type = response.headers.get("Content-Type", "")
        text = content[:MAX_RESPONSE_BYTES].decode(response.encoding or "utf-8", errors="replace")
        variables: JsonObject = {
            "status_code": response.status_code,
            "content_type": response_content_type,
            "body": text,
            "parsed": _parsed(response_content_type, text),
        }
        outcome: JsonObject = {
            "response": {
                "status_code": response.status_code,
                "content_type": response_content_type,
                "body": text,
            }
        }
        if len(content) > MAX_RESPONSE_BYTES:
            outcome["error"] = f"the response is over {MAX_RESPONSE_BYTES // 1024} kB"
        elif not 200 <= response.status_code < 300:
            outcome["error"] = f"HTTP {response.status_code}"
        return variables, outcome

    def _split(self, widget: _Widget) -> _Result:
        value = widget.text("input")
        for transition in widget.definition.get("transitions", []):
            if transition.get("event") != "match":
                continue
            conditions = transition.get("conditions") or []
            if all(self._condition(condition, value, widget) for condition in conditions):
                names = [str(c.get("friendly_name") or c.get("type")) for c in conditions]
                return _Result("match", {"input": value, "matched": names}, transition)
        return _Result("noMatch", {"input": value})

    @staticmethod
    def _condition(condition: Mapping[str, Any], value: str, widget: _Widget) -> bool:
        arguments = condition.get("arguments") or []
        subject = widget.render(arguments[0]) if arguments else value
        expected = widget.render(condition.get("value") or "")
        return compare(str(condition.get("type")), subject, expected)

    def _send_to_flex(self, widget: _Widget) -> _Result:
        workflow = widget.text("workflow")
        channel = widget.text("channel")
        attributes_text = widget.text("attributes", "{}")
        outcome: JsonObject = {"workflow": workflow, "channel": channel, "attributes": attributes_text}
        try:
            attributes = json.loads(attributes_text)
        except json.JSONDecodeError as exc:
            return _Result("failedToEnqueue", {**outcome, "error": f"attributes are not JSON: {exc.msg}"})
        if not isinstance(attributes, dict):
            return _Result("failedToEnqueue", {**outcome, "error": "attributes must be a JSON object"})
        routing: JsonObject = {
            "workspace_sid": self.state.workspace_sid,
            "workflow_sid": workflow,
            "task_channel_sid": channel,
            "attributes": attributes,
        }
        for key in ("priority", "timeout"):
            rendered = widget.text(key).strip()
            if rendered.isdigit():
                routing[key] = int(rendered)
        try:
            with self.state.lock:
                interaction = self.flex.create_interaction(
                    {
                        "type": "chat",
                        "initiated_by": "customer",
                        "properties": {"media_channel_sid": widget.execution.conversation_sid},
                    },
                    {"properties": routing},
                )
                channel_record = self.state.interaction_channels[interaction.channel_sid]
                task_sid = channel_record.task_sids[0]
        except TwilioApiError as exc:
            return _Result("failedToEnqueue", {**outcome, "error": exc.body()})
        enqueued = {
            "interaction_sid": interaction.sid,
            "channel_sid": interaction.channel_sid,
            "task_sid": task_sid,
        }
        self._set_widget(widget, {"sid": task_sid, **enqueued})
        return _Result("callComplete", {**outcome, **enqueued})

    def _send_message(self, widget: _Widget) -> _Result:
        body = widget.text("body")
        attributes = widget.text("attributes") or None
        try:
            if attributes is not None:
                json.loads(attributes)
            with self.state.lock:
                conversation = self.conversations.conversation(widget.execution.conversation_sid)
                message = self.conversations.add_message(
                    conversation,
                    origin=EventOrigin.studio(),
                    author="system",
                    body=body,
                    attributes=attributes,
                )
        except json.JSONDecodeError as exc:
            return _Result("failed", {"body": body, "error": f"attributes are not JSON: {exc.msg}"})
        except TwilioApiError as exc:
            return _Result("failed", {"body": body, "error": exc.body()})
        self._set_widget(widget, {"outbound": {"Sid": message.sid, "Body": body}})
        return _Result("sent", {"body": body, "message_sid": message.sid})

    def _set_variables(self, widget: _Widget) -> _Result:
        assigned = {
            str(item["key"]): widget.render(item.get("value", ""))
            for item in widget.properties.get("variables") or []
        }
        with self._lock:
            widget.execution.variables.update(assigned)
        return _Result("next", {"variables": assigned})


def compare(condition_type: str, subject: str, expected: str) -> bool:
    """A Split Based On condition, on the rendered strings, ignoring case as Studio does."""
    left, right = subject.lower(), expected.lower()
    options = [item.strip() for item in right.split(",")]
    checks: dict[str, Callable[[], bool]] = {
        "equal_to": lambda: left == right,
        "not_equal_to": lambda: left != right,
        "matches_any_of": lambda: left in options,
        "does_not_match_any_of": lambda: left not in options,
        "is_blank": lambda: not subject.strip(),
        "is_not_blank": lambda: bool(subject.strip()),
        "contains": lambda: right in left,
        "does_not_contain": lambda: right not in left,
        "starts_with": lambda: left.startswith(right),
        "does_not_start_with": lambda: not left.startswith(right),
        "regex": lambda: re.search(expected, subject) is not None,
        "less_than": lambda: _numbers(subject, expected, lambda a, b: a < b),
        "greater_than": lambda: _numbers(subject, expected, lambda a, b: a > b),
    }
    check = checks.get(condition_type)
    if check is None:
        raise WidgetError(f"the condition type {condition_type!r} is not emulated")
    return check()


def _numbers(subject: str, expected: str, test: Callable[[float, float], bool]) -> bool:
    try:
        return test(float(subject), float(expected))
    except ValueError:
        return False


def _with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(pairs)}"


def _parsed(content_type: str, text: str) -> JsonObject:
    """Studio parses only a JSON object answered as ``application/json``."""
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
