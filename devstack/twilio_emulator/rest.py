"""The REST routes: parse each request's parameters, call the services, answer Twilio's JSON.

Paths are served under a product prefix that stands for the real host:
``/conversations/v1/...`` is ``https://conversations.twilio.com/v1/...``, ``/flex-api/v1/...`` is
``https://flex-api.twilio.com/v1/...``, ``/studio/v2/...`` is ``https://studio.twilio.com/v2/...``
and ``/mcs/v1/...`` is ``https://mcs.us1.twilio.com/v1/...``.
Every route (Media excepted) exists with its method in the official OpenAPI documents, and its
``params`` are the form parameters those documents list for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .configuration import conversations_configuration, flex_configuration
from .conversations import ConversationService, TimerChange, parse_date
from .errors import TwilioApiError
from .flex import CHANNEL_UPDATE_STATUSES, FlexService
from .media import MediaStore, parse_upload
from .state import CONVERSATION_STATES, JsonObject, TwilioState
from .studio.definition import parse_definition
from .studio.flows import FLOW_STATUSES, StudioFlows
from .validation import FormParams, timer_seconds, webhook_enabled
from .webhooks import EventOrigin

_CONVERSATION_PARAMS = frozenset(
    {
        "FriendlyName",
        "UniqueName",
        "DateCreated",
        "DateUpdated",
        "MessagingServiceSid",
        "Attributes",
        "State",
        "Timers.Inactive",
        "Timers.Closed",
        "Bindings.Email.Address",
        "Bindings.Email.Name",
    }
)
_PARTICIPANT_CREATE_PARAMS = frozenset(
    {
        "Identity",
        "MessagingBinding.Address",
        "MessagingBinding.ProxyAddress",
        "MessagingBinding.ProjectedAddress",
        "DateCreated",
        "DateUpdated",
        "Attributes",
        "RoleSid",
    }
)
_PARTICIPANT_UPDATE_PARAMS = frozenset(
    {
        "DateCreated",
        "DateUpdated",
        "Attributes",
        "RoleSid",
        "MessagingBinding.ProxyAddress",
        "MessagingBinding.ProjectedAddress",
        "Identity",
        "LastReadMessageIndex",
        "LastReadTimestamp",
    }
)
_MESSAGE_CREATE_PARAMS = frozenset(
    {
        "Author",
        "Body",
        "DateCreated",
        "DateUpdated",
        "Attributes",
        "MediaSid",
        "ContentSid",
        "ContentVariables",
        "Subject",
    }
)
_MESSAGE_UPDATE_PARAMS = frozenset({"Author", "Body", "DateCreated", "DateUpdated", "Attributes", "Subject"})
_WEBHOOK_UPDATE_PARAMS = frozenset(
    {
        "Configuration.Url",
        "Configuration.Method",
        "Configuration.Filters",
        "Configuration.Triggers",
        "Configuration.FlowSid",
    }
)
_WEBHOOK_CREATE_PARAMS = _WEBHOOK_UPDATE_PARAMS | {"Target", "Configuration.ReplayAfter"}
_FLOW_PARAMS = frozenset({"FriendlyName", "Status", "Definition", "CommitMessage"})


@dataclass(frozen=True)
class RouteSpec:
    """One emulated route. ``template`` is the path within the product, as in the spec."""

    method: str
    product: str
    template: str
    handler: str  # the name of the RestApi method serving it
    params: frozenset[str] = frozenset()  # form parameters the spec documents
    in_spec: bool = True  # False for MCS, which twilio-oai does not describe
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        object.__setattr__(self, "_pattern", re.compile(regex + "$"))

    @property
    def key(self) -> str:
        return f"{self.method} /{self.product}{self.template}"

    def match(self, product: str, path: str) -> dict[str, str] | None:
        if product != self.product:
            return None
        found = self._pattern.match(path)
        return found.groupdict() if found else None


C = "conversations"
F = "flex-api"
S = "studio"
M = "mcs"

ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("POST", C, "/v1/Conversations", "create_conversation", _CONVERSATION_PARAMS),
    RouteSpec("GET", C, "/v1/Conversations", "list_conversations"),
    RouteSpec("GET", C, "/v1/Conversations/{Sid}", "fetch_conversation"),
    RouteSpec("POST", C, "/v1/Conversations/{Sid}", "update_conversation", _CONVERSATION_PARAMS),
    RouteSpec("DELETE", C, "/v1/Conversations/{Sid}", "delete_conversation"),
    RouteSpec(
        "POST",
        C,
        "/v1/Conversations/{ConversationSid}/Participants",
        "create_participant",
        _PARTICIPANT_CREATE_PARAMS,
    ),
    RouteSpec("GET", C, "/v1/Conversations/{ConversationSid}/Participants", "list_participants"),
    RouteSpec("GET", C, "/v1/Conversations/{ConversationSid}/Participants/{Sid}", "fetch_participant"),
    RouteSpec(
        "POST",
        C,
        "/v1/Conversations/{ConversationSid}/Participants/{Sid}",
        "update_participant",
        _PARTICIPANT_UPDATE_PARAMS,
    ),
    RouteSpec("DELETE", C, "/v1/Conversations/{ConversationSid}/Participants/{Sid}", "delete_participant"),
    RouteSpec(
        "POST", C, "/v1/Conversations/{ConversationSid}/Messages", "create_message", _MESSAGE_CREATE_PARAMS
    ),
    RouteSpec("GET", C, "/v1/Conversations/{ConversationSid}/Messages", "list_messages"),
    RouteSpec("GET", C, "/v1/Conversations/{ConversationSid}/Messages/{Sid}", "fetch_message"),
    RouteSpec(
        "POST",
        C,
        "/v1/Conversations/{ConversationSid}/Messages/{Sid}",
        "update_message",
        _MESSAGE_UPDATE_PARAMS,
    ),
    RouteSpec("DELETE", C, "/v1/Conversations/{ConversationSid}/Messages/{Sid}", "delete_message"),
    RouteSpec(
        "POST", C, "/v1/Conversations/{ConversationSid}/Webhooks", "create_webhook", _WEBHOOK_CREATE_PARAMS
    ),
    RouteSpec("GET", C, "/v1/Conversations/{ConversationSid}/Webhooks", "list_webhooks"),
    RouteSpec("GET", C, "/v1/Conversations/{ConversationSid}/Webhooks/{Sid}", "fetch_webhook"),
    RouteSpec(
        "POST",
        C,
        "/v1/Conversations/{ConversationSid}/Webhooks/{Sid}",
        "update_webhook",
        _WEBHOOK_UPDATE_PARAMS,
    ),
    RouteSpec("DELETE", C, "/v1/Conversations/{ConversationSid}/Webhooks/{Sid}", "delete_webhook"),
    RouteSpec("GET", C, "/v1/Configuration", "fetch_conversations_configuration"),
    RouteSpec("GET", F, "/v1/Configuration", "fetch_flex_configuration"),
    RouteSpec(
        "POST",
        F,
        "/v1/Interactions",
        "create_interaction",
        frozenset({"Channel", "Routing", "InteractionContextSid", "WebhookTtid"}),
    ),
    RouteSpec("GET", F, "/v1/Interactions/{Sid}", "fetch_interaction"),
    RouteSpec("GET", F, "/v1/Interactions/{InteractionSid}/Channels", "list_interaction_channels"),
    RouteSpec("GET", F, "/v1/Interactions/{InteractionSid}/Channels/{Sid}", "fetch_interaction_channel"),
    RouteSpec(
        "POST",
        F,
        "/v1/Interactions/{InteractionSid}/Channels/{Sid}",
        "update_interaction_channel",
        frozenset({"Status", "Routing"}),
    ),
    # Validate first: "/v2/Flows/{Sid}" would otherwise take it for a flow named "Validate".
    RouteSpec("POST", S, "/v2/Flows/Validate", "validate_flow", _FLOW_PARAMS),
    RouteSpec("POST", S, "/v2/Flows", "create_flow", _FLOW_PARAMS),
    RouteSpec("GET", S, "/v2/Flows", "list_flows"),
    RouteSpec("GET", S, "/v2/Flows/{Sid}", "fetch_flow"),
    RouteSpec("POST", S, "/v2/Flows/{Sid}", "update_flow", _FLOW_PARAMS),
    RouteSpec("DELETE", S, "/v2/Flows/{Sid}", "delete_flow"),
    RouteSpec("GET", S, "/v2/Flows/{Sid}/Revisions", "list_flow_revisions"),
    RouteSpec("GET", S, "/v2/Flows/{Sid}/Revisions/{Revision}", "fetch_flow_revision"),
    RouteSpec("POST", M, "/v1/Services/{ChatServiceSid}/Media", "upload_media", in_spec=False),
    RouteSpec("GET", M, "/v1/Services/{ChatServiceSid}/Media/{Sid}", "fetch_media", in_spec=False),
    RouteSpec("GET", M, "/v1/Services/{ChatServiceSid}/Media/{Sid}/Content", "media_content", in_spec=False),
    # The unauthenticated, signed content_direct_temporary URL (media.us1.twilio.com in production).
    RouteSpec("GET", "media", "/{Sid}", "temporary_media_content", in_spec=False),
)

PRODUCTS = frozenset(route.product for route in ROUTES)
# Signed temporary media URLs work without credentials (their signature is the credential).
UNAUTHENTICATED_PRODUCTS = frozenset({"media"})


def find_route(method: str, product: str, path: str) -> tuple[RouteSpec, dict[str, str]]:
    """The route serving a request, or Twilio's 404 (unknown path) / 405 (known path)."""
    path_matched = False
    for route in ROUTES:
        captured = route.match(product, path)
        if captured is None:
            continue
        if route.method == method:
            return route, captured
        path_matched = True
    if path_matched:
        raise TwilioApiError.method_not_allowed(method)
    raise TwilioApiError(
        404,
        20404,
        f"The requested resource {path} was not found",
        note="route not emulated" if product in PRODUCTS else "unknown product prefix",
    )


@dataclass(frozen=True)
class RestRequest:
    method: str
    product: str
    path: str  # within the product, e.g. /v1/Conversations/CH...
    path_params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    form: FormParams
    body: bytes


@dataclass(frozen=True)
class RestResponse:
    status: int
    payload: Any = None  # JSON (None with 204)
    raw: bytes | None = None  # a file, for media content
    content_type: str | None = None


Handler = Callable[[RestRequest], RestResponse]


class RestApi:
    def __init__(
        self,
        state: TwilioState,
        conversations: ConversationService,
        flex: FlexService,
        media: MediaStore,
        studio: StudioFlows,
        *,
        strict_params: Callable[[], bool],
        rest_fires_webhooks: Callable[[bool], bool] = lambda header_enabled: header_enabled,
    ) -> None:
        self.state = state
        self.conversations = conversations
        self.flex = flex
        self.media = media
        self.studio = studio
        self._strict_params = strict_params
        self._rest_fires_webhooks = rest_fires_webhooks

    def _origin(self, request: RestRequest) -> EventOrigin:
        """REST actions fire webhooks only with ``X-Twilio-Webhook-Enabled: true`` (by default)."""
        return EventOrigin.rest(self._rest_fires_webhooks(webhook_enabled(request.headers)))

    def handle(self, route: RouteSpec, request: RestRequest) -> RestResponse:
        request.form.check_known(route.params, strict=self._strict_params() and route.in_spec)
        handler: Handler = getattr(self, route.handler)
        with self.state.lock:
            return handler(request)

    # -- Conversations -------------------------------------------------------------------------

    def create_conversation(self, request: RestRequest) -> RestResponse:
        form = request.form
        inactive, closed = timer_seconds(form)
        conversation = self.conversations.create_conversation(
            friendly_name=form.first("FriendlyName"),
            unique_name=form.first("UniqueName") or None,
            attributes=form.json_attributes(),
            state=form.enum("State", CONVERSATION_STATES),
            timers=TimerChange(inactive, closed),
            messaging_service_sid=form.sid("MessagingServiceSid", "MG"),
            date_created=parse_date(form.first("DateCreated"), "DateCreated"),
        )
        return RestResponse(201, self.state.render_conversation(conversation))

    def list_conversations(self, request: RestRequest) -> RestResponse:
        wanted_state = request.query.get("State")
        items = [
            self.state.render_conversation(c)
            for c in self.state.conversations.values()
            if wanted_state is None or c.state == wanted_state
        ]
        return RestResponse(200, self._page(request, items, "conversations", "/v1/Conversations"))

    def fetch_conversation(self, request: RestRequest) -> RestResponse:
        conversation = self.conversations.conversation(request.path_params["Sid"])
        return RestResponse(200, self.state.render_conversation(conversation))

    def update_conversation(self, request: RestRequest) -> RestResponse:
        form = request.form
        conversation = self.conversations.conversation(request.path_params["Sid"])
        inactive, closed = timer_seconds(form)
        self.conversations.update_conversation(
            conversation,
            origin=self._origin(request),
            friendly_name=form.first("FriendlyName"),
            unique_name=form.first("UniqueName") or None,
            attributes=form.json_attributes(),
            state=form.enum("State", CONVERSATION_STATES),
            timers=TimerChange(inactive, closed),
            messaging_service_sid=form.sid("MessagingServiceSid", "MG"),
        )
        return RestResponse(200, self.state.render_conversation(conversation))

    def delete_conversation(self, request: RestRequest) -> RestResponse:
        conversation = self.conversations.conversation(request.path_params["Sid"])
        self.conversations.delete_conversation(conversation, origin=self._origin(request))
        return RestResponse(204)

    # -- participants --------------------------------------------------------------------------

    def create_participant(self, request: RestRequest) -> RestResponse:
        form = request.form
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        binding = {
            key: value
            for key in ("Address", "ProxyAddress", "ProjectedAddress")
            if (value := form.first(f"MessagingBinding.{key}")) is not None
        }
        participant = self.conversations.add_participant(
            conversation,
            origin=self._origin(request),
            identity=form.first("Identity") or None,
            attributes=form.json_attributes(),
            messaging_binding=binding,
            role_sid=form.sid("RoleSid", "RL"),
            date_created=parse_date(form.first("DateCreated"), "DateCreated"),
        )
        return RestResponse(201, self.state.render_participant(participant))

    def list_participants(self, request: RestRequest) -> RestResponse:
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        items = [self.state.render_participant(p) for p in conversation.participants.values()]
        path = f"/v1/Conversations/{conversation.sid}/Participants"
        return RestResponse(200, self._page(request, items, "participants", path))

    def fetch_participant(self, request: RestRequest) -> RestResponse:
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        participant = self.conversations.participant(conversation, request.path_params["Sid"])
        return RestResponse(200, self.state.render_participant(participant))

    def update_participant(self, request: RestRequest) -> RestResponse:
        form = request.form
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        participant = self.conversations.participant(conversation, request.path_params["Sid"])
        self.conversations.update_participant(
            conversation,
            participant,
            origin=self._origin(request),
            attributes=form.json_attributes(),
            role_sid=form.sid("RoleSid", "RL"),
            identity=form.first("Identity") or None,
            last_read_message_index=form.integer("LastReadMessageIndex"),
            last_read_timestamp=form.first("LastReadTimestamp"),
        )
        return RestResponse(200, self.state.render_participant(participant))

    def delete_participant(self, request: RestRequest) -> RestResponse:
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        participant = self.conversations.participant(conversation, request.path_params["Sid"])
        self.conversations.remove_participant(conversation, participant, origin=self._origin(request))
        return RestResponse(204)

    # -- messages ------------------------------------------------------------------------------

    def create_message(self, request: RestRequest) -> RestResponse:
        form = request.form
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        media_sids = form.all("MediaSid")
        for value in media_sids:
            FormParams({"MediaSid": [value]}).sid("MediaSid", "ME")
        message = self.conversations.add_message(
            conversation,
            origin=self._origin(request),
            author=form.first("Author") or None,
            body=form.first("Body"),
            attributes=form.json_attributes(),
            media_sids=media_sids,
            date_created=parse_date(form.first("DateCreated"), "DateCreated"),
        )
        return RestResponse(201, self.state.render_message(message))

    def list_messages(self, request: RestRequest) -> RestResponse:
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        order = request.query.get("Order", "asc")
        if order not in ("asc", "desc"):
            raise TwilioApiError.invalid_parameter("Invalid Order: use asc or desc")
        messages = conversation.messages if order == "asc" else list(reversed(conversation.messages))
        items = [self.state.render_message(m) for m in messages]
        path = f"/v1/Conversations/{conversation.sid}/Messages"
        return RestResponse(200, self._page(request, items, "messages", path))

    def fetch_message(self, request: RestRequest) -> RestResponse:
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        message = self.conversations.message(conversation, request.path_params["Sid"])
        return RestResponse(200, self.state.render_message(message))

    def update_message(self, request: RestRequest) -> RestResponse:
        form = request.form
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        message = self.conversations.message(conversation, request.path_params["Sid"])
        self.conversations.update_message(
            conversation,
            message,
            origin=self._origin(request),
            author=form.first("Author") or None,
            body=form.first("Body"),
            attributes=form.json_attributes(),
        )
        return RestResponse(200, self.state.render_message(message))

    def delete_message(self, request: RestRequest) -> RestResponse:
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        message = self.conversations.message(conversation, request.path_params["Sid"])
        self.conversations.remove_message(conversation, message, origin=self._origin(request))
        return RestResponse(204)

    # -- conversation-scoped webhooks ----------------------------------------------------------

    def create_webhook(self, request: RestRequest) -> RestResponse:
        form = request.form
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        webhook = self.conversations.add_webhook(
            conversation,
            target=form.first("Target"),
            url=form.first("Configuration.Url"),
            method=form.first("Configuration.Method"),
            filters=form.all("Configuration.Filters") if form.has("Configuration.Filters") else None,
            triggers=form.all("Configuration.Triggers") if form.has("Configuration.Triggers") else None,
            flow_sid=form.sid("Configuration.FlowSid", "FW"),
            replay_after=form.integer("Configuration.ReplayAfter"),
        )
        return RestResponse(201, self.state.render_webhook(webhook))

    def list_webhooks(self, request: RestRequest) -> RestResponse:
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        items = [self.state.render_webhook(w) for w in conversation.webhooks.values()]
        path = f"/v1/Conversations/{conversation.sid}/Webhooks"
        return RestResponse(200, self._page(request, items, "webhooks", path, default_size=5, max_size=5))

    def fetch_webhook(self, request: RestRequest) -> RestResponse:
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        webhook = self.conversations.webhook(conversation, request.path_params["Sid"])
        return RestResponse(200, self.state.render_webhook(webhook))

    def update_webhook(self, request: RestRequest) -> RestResponse:
        form = request.form
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        webhook = self.conversations.webhook(conversation, request.path_params["Sid"])
        self.conversations.update_webhook(
            conversation,
            webhook,
            url=form.first("Configuration.Url"),
            method=form.first("Configuration.Method"),
            filters=form.all("Configuration.Filters") if form.has("Configuration.Filters") else None,
            triggers=form.all("Configuration.Triggers") if form.has("Configuration.Triggers") else None,
            flow_sid=form.sid("Configuration.FlowSid", "FW"),
        )
        return RestResponse(200, self.state.render_webhook(webhook))

    def delete_webhook(self, request: RestRequest) -> RestResponse:
        conversation = self.conversations.conversation(request.path_params["ConversationSid"])
        webhook = self.conversations.webhook(conversation, request.path_params["Sid"])
        self.conversations.delete_webhook(conversation, webhook)
        return RestResponse(204)

    # -- configuration reads -------------------------------------------------------------------

    def fetch_conversations_configuration(self, request: RestRequest) -> RestResponse:
        return RestResponse(200, conversations_configuration(self.state))

    def fetch_flex_configuration(self, request: RestRequest) -> RestResponse:
        return RestResponse(200, flex_configuration(self.state))

    # -- Flex Interactions ---------------------------------------------------------------------

    def create_interaction(self, request: RestRequest) -> RestResponse:
        form = request.form
        channel = form.json_object("Channel", required=True)
        assert channel is not None
        interaction = self.flex.create_interaction(
            channel,
            form.json_object("Routing"),
            interaction_context_sid=form.sid("InteractionContextSid", "HQ"),
            webhook_ttid=form.first("WebhookTtid"),
        )
        # The spec documents 200 (not 201) for this create.
        return RestResponse(200, self.state.render_interaction(interaction))

    def fetch_interaction(self, request: RestRequest) -> RestResponse:
        interaction = self.flex.interaction(request.path_params["Sid"])
        return RestResponse(200, self.state.render_interaction(interaction))

    def list_interaction_channels(self, request: RestRequest) -> RestResponse:
        interaction = self.flex.interaction(request.path_params["InteractionSid"])
        channel = self.state.interaction_channels[interaction.channel_sid]
        items = [self.state.render_interaction_channel(channel)]
        path = f"/v1/Interactions/{interaction.sid}/Channels"
        return RestResponse(200, self._page(request, items, "channels", path, max_size=1000))

    def fetch_interaction_channel(self, request: RestRequest) -> RestResponse:
        interaction = self.flex.interaction(request.path_params["InteractionSid"])
        channel = self.flex.interaction_channel(interaction, request.path_params["Sid"])
        return RestResponse(200, self.state.render_interaction_channel(channel))

    def update_interaction_channel(self, request: RestRequest) -> RestResponse:
        form = request.form
        interaction = self.flex.interaction(request.path_params["InteractionSid"])
        channel = self.flex.interaction_channel(interaction, request.path_params["Sid"])
        form.require("Status")
        status = form.enum("Status", CHANNEL_UPDATE_STATUSES)
        assert status is not None
        self.flex.update_channel(channel, status, form.json_object("Routing"))
        return RestResponse(200, self.state.render_interaction_channel(channel))

    # -- Studio Flows --------------------------------------------------------------------------

    @staticmethod
    def _flow_status(form: FormParams) -> str:
        form.require("Status")
        status = form.enum("Status", FLOW_STATUSES)
        assert status is not None
        return status

    @staticmethod
    def _flow_definition(form: FormParams, *, required: bool) -> JsonObject | None:
        """``Definition`` (JSON text), checked; an invalid one is Twilio's 81022 with details."""
        text = form.first("Definition")
        if text is None or text == "":
            if required:
                raise TwilioApiError.missing_parameter("Definition")
            return None
        definition, problems = parse_definition(text)
        if problems or definition is None:
            raise TwilioApiError.invalid_flow_definition(problems)
        return definition

    def validate_flow(self, request: RestRequest) -> RestResponse:
        form = request.form
        form.require("FriendlyName")
        self._flow_status(form)
        self._flow_definition(form, required=True)
        return RestResponse(200, {"valid": True})

    def create_flow(self, request: RestRequest) -> RestResponse:
        form = request.form
        friendly_name = form.require("FriendlyName")
        status = self._flow_status(form)
        definition = self._flow_definition(form, required=True)
        assert definition is not None
        flow = self.studio.create(
            friendly_name=friendly_name,
            status=status,
            definition=definition,
            commit_message=form.first("CommitMessage"),
        )
        return RestResponse(201, self.studio.render(flow))

    def list_flows(self, request: RestRequest) -> RestResponse:
        items = [self.studio.render(flow, with_definition=False) for flow in self.studio.flows.values()]
        return RestResponse(200, self._page(request, items, "flows", "/v2/Flows", max_size=1000))

    def fetch_flow(self, request: RestRequest) -> RestResponse:
        return RestResponse(200, self.studio.render(self.studio.get(request.path_params["Sid"])))

    def update_flow(self, request: RestRequest) -> RestResponse:
        form = request.form
        flow = self.studio.get(request.path_params["Sid"])
        status = self._flow_status(form)
        self.studio.update(
            flow,
            status=status,
            friendly_name=form.first("FriendlyName") or None,
            definition=self._flow_definition(form, required=False),
            commit_message=form.first("CommitMessage"),
        )
        return RestResponse(200, self.studio.render(flow))

    def delete_flow(self, request: RestRequest) -> RestResponse:
        self.studio.delete(self.studio.get(request.path_params["Sid"]))
        return RestResponse(204)

    def list_flow_revisions(self, request: RestRequest) -> RestResponse:
        flow = self.studio.get(request.path_params["Sid"])
        items = [
            self.studio.render_revision(flow, revision, with_definition=False)
            for revision in reversed(flow.revisions)  # newest first
        ]
        path = f"/v2/Flows/{flow.sid}/Revisions"
        return RestResponse(200, self._page(request, items, "revisions", path, max_size=1000))

    def fetch_flow_revision(self, request: RestRequest) -> RestResponse:
        flow = self.studio.get(request.path_params["Sid"])
        revision = self.studio.revision(flow, request.path_params["Revision"])
        return RestResponse(200, self.studio.render_revision(flow, revision))

    # -- Media Content Service -----------------------------------------------------------------

    def upload_media(self, request: RestRequest) -> RestResponse:
        self.media.check_service(request.path_params["ChatServiceSid"])
        data, content_type, filename = parse_upload(
            request.body,
            request.headers.get("content-type", ""),
            request.headers.get("content-disposition"),
            request.query.get("Filename") or request.query.get("FileName"),
        )
        record = self.media.add(data, content_type, filename)
        return RestResponse(201, self.state.render_media(record, self.media.temporary_url(record)))

    def fetch_media(self, request: RestRequest) -> RestResponse:
        record = self.media.get(request.path_params["ChatServiceSid"], request.path_params["Sid"])
        return RestResponse(200, self.state.render_media(record, self.media.temporary_url(record)))

    def media_content(self, request: RestRequest) -> RestResponse:
        record = self.media.get(request.path_params["ChatServiceSid"], request.path_params["Sid"])
        return RestResponse(200, raw=record.data, content_type=record.content_type)

    def temporary_media_content(self, request: RestRequest) -> RestResponse:
        record = self.media.temporary_content(
            request.path_params["Sid"], request.query.get("Expires"), request.query.get("Signature")
        )
        if record is None:
            # What an expired or forged signed URL gets from a CDN: 403, no JSON.
            return RestResponse(403, raw=b"Access denied", content_type="text/plain")
        return RestResponse(200, raw=record.data, content_type=record.content_type)

    # -- paging --------------------------------------------------------------------------------

    def _page(
        self,
        request: RestRequest,
        items: Sequence[JsonObject],
        key: str,
        list_path: str,
        *,
        default_size: int = 50,
        max_size: int = 100,
    ) -> JsonObject:
        """Twilio's list envelope: the items under ``key`` plus ``meta`` with page URLs."""
        query = request.query
        try:
            page_size = int(query.get("PageSize", default_size))
            page = int(query.get("Page", 0))
        except ValueError as exc:
            raise TwilioApiError.invalid_parameter("Invalid PageSize or Page") from exc
        if page_size < 1 or page < 0:
            raise TwilioApiError.invalid_parameter("PageSize and Page must be positive")
        # twilio-python sends PageSize=<limit> for list(limit=...): larger sizes are capped.
        page_size = min(page_size, max_size)
        start = page * page_size
        base = f"{self.state.product_url(request.product)}{list_path}"
        extra = {k: v for k, v in query.items() if k not in ("PageSize", "Page", "PageToken")}

        def page_url(number: int) -> str:
            params: Mapping[str, str | int] = {**extra, "PageSize": page_size, "Page": number}
            if number > 0:
                params = {**params, "PageToken": f"PT{number * page_size}"}
            return f"{base}?{urlencode(params)}"

        return {
            key: list(items[start : start + page_size]),
            "meta": {
                "page": page,
                "page_size": page_size,
                "first_page_url": page_url(0),
                "previous_page_url": page_url(page - 1) if page > 0 else None,
                "url": page_url(page),
                "next_page_url": page_url(page + 1) if start + page_size < len(items) else None,
                "key": key,
            },
        }
