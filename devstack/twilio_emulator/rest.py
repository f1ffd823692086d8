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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlencode

from .configuration import conversations_configuration, flex_configuration
from .conversations import (
    ConversationChange,
    ConversationService,
    TimerChange,
    WebhookConfiguration,
    parse_date,
)
from .errors import TwilioApiError
from .flex import CHANNEL_UPDATE_STATUSES, FlexService
from .media import MediaStore, parse_upload
from .state import (
    CONVERSATION_STATES,
    Conversation,
    InteractionChannel,
    JsonObject,
    MediaRecord,
    Message,
    TwilioState,
)
from .studio.definition import parse_definition
from .studio.flows import FLOW_STATUSES, Flow, StudioFlows
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


def _crud(
    product: str, collection: str, name: str, create: frozenset[str], update: frozenset[str] | None = None
) -> tuple[RouteSpec, ...]:
    """A collection's five routes: create (``create`` parameters) and list ``collection``, fetch,
    update (``update`` parameters, by default ``create``'s) and delete ``collection/{Sid}``;
    served by ``create_<name>``, ``list_<name>s``, ``fetch_<name>``, ``update_<name>``..."""
    item = collection + "/{Sid}"
    return (
        RouteSpec("POST", product, collection, f"create_{name}", create),
        RouteSpec("GET", product, collection, f"list_{name}s"),
        RouteSpec("GET", product, item, f"fetch_{name}"),
        RouteSpec("POST", product, item, f"update_{name}", create if update is None else update),
        RouteSpec("DELETE", product, item, f"delete_{name}"),
    )


_CH = "/v1/Conversations/{ConversationSid}"

ROUTES: tuple[RouteSpec, ...] = (
    *_crud(C, "/v1/Conversations", "conversation", _CONVERSATION_PARAMS),
    *_crud(C, _CH + "/Participants", "participant", _PARTICIPANT_CREATE_PARAMS, _PARTICIPANT_UPDATE_PARAMS),
    *_crud(C, _CH + "/Messages", "message", _MESSAGE_CREATE_PARAMS, _MESSAGE_UPDATE_PARAMS),
    *_crud(C, _CH + "/Webhooks", "webhook", _WEBHOOK_CREATE_PARAMS, _WEBHOOK_UPDATE_PARAMS),
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
    *_crud(S, "/v2/Flows", "flow", _FLOW_PARAMS),
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


@dataclass(frozen=True)
class _Held[T]:
    """A kind of record a conversation holds (``name``: ``participant``, at
    ``/v1/Conversations/{ConversationSid}/Participants``, listed under ``participants``): how the
    REST API lists, finds, renders and removes it."""

    name: str
    records: Callable[[Conversation, Mapping[str, str]], Iterable[T]]  # (conversation, query)
    find: Callable[[ConversationService, Conversation, str], T]  # by SID (or Twilio's 404)
    render: Callable[[TwilioState, T], JsonObject]
    remove: Callable[[ConversationService, Conversation, T, EventOrigin], None]
    page_sizes: Mapping[str, int] = field(default_factory=dict)  # _page's default_size, max_size

    @property
    def plural(self) -> str:
        return self.name + "s"


def _messages_in_order(conversation: Conversation, query: Mapping[str, str]) -> list[Message]:
    order = query.get("Order", "asc")
    if order not in ("asc", "desc"):
        raise TwilioApiError.invalid_parameter("Invalid Order: use asc or desc")
    return conversation.messages if order == "asc" else list(reversed(conversation.messages))


PARTICIPANTS = _Held(
    "participant",
    lambda conversation, query: conversation.participants.values(),
    ConversationService.participant,
    TwilioState.render_participant,
    lambda service, conversation, participant, origin: service.remove_participant(
        conversation, participant, origin=origin
    ),
)
MESSAGES = _Held(
    "message",
    _messages_in_order,
    ConversationService.message,
    TwilioState.render_message,
    lambda service, conversation, message, origin: service.remove_message(
        conversation, message, origin=origin
    ),
)
# Deleting a webhook raises no event; Twilio lists at most 5 (the most a conversation has).
WEBHOOKS = _Held(
    "webhook",
    lambda conversation, query: conversation.webhooks.values(),
    ConversationService.webhook,
    TwilioState.render_webhook,
    lambda service, conversation, webhook, origin: service.delete_webhook(conversation, webhook),
    {"default_size": 5, "max_size": 5},
)
HELD: tuple[_Held[Any], ...] = (PARTICIPANTS, MESSAGES, WEBHOOKS)


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
        # list_participants, fetch_participant, delete_participant and so on for messages and
        # webhooks: one handler for each, whatever the conversation holds.
        self._held_handlers: dict[str, Handler] = {}
        for kind in HELD:
            self._held_handlers |= {
                f"list_{kind.plural}": partial(self._list_held, kind=kind),
                f"fetch_{kind.name}": partial(self._fetch_held, kind=kind),
                f"delete_{kind.name}": partial(self._delete_held, kind=kind),
            }

    def _origin(self, request: RestRequest) -> EventOrigin:
        """REST actions fire webhooks only with ``X-Twilio-Webhook-Enabled: true`` (by default)."""
        return EventOrigin.rest(self._rest_fires_webhooks(webhook_enabled(request.headers)))

    def handle(self, route: RouteSpec, request: RestRequest) -> RestResponse:
        request.form.check_known(route.params, strict=self._strict_params() and route.in_spec)
        handler: Handler = self._held_handlers.get(route.handler) or getattr(self, route.handler)
        with self.state.lock:
            return handler(request)

    # -- Conversations -------------------------------------------------------------------------

    @staticmethod
    def _conversation_change(form: FormParams) -> ConversationChange:
        """What creating and updating a conversation both take from the form."""
        inactive, closed = timer_seconds(form)
        return ConversationChange(
            friendly_name=form.first("FriendlyName"),
            unique_name=form.first("UniqueName") or None,
            attributes=form.json_attributes(),
            state=form.enum("State", CONVERSATION_STATES),
            timers=TimerChange(inactive, closed),
            messaging_service_sid=form.sid("MessagingServiceSid", "MG"),
        )

    def create_conversation(self, request: RestRequest) -> RestResponse:
        conversation = self.conversations.create_conversation(
            self._conversation_change(request.form),
            date_created=parse_date(request.form.first("DateCreated"), "DateCreated"),
        )
        return RestResponse(201, self.state.render_conversation(conversation))

    def list_conversations(self, request: RestRequest) -> RestResponse:
        wanted_state = request.query.get("State")
        items = [
            self.state.render_conversation(c)
            for c in self.state.conversations.values()
            if wanted_state is None or c.state == wanted_state
        ]
        return self._page(request, items, "conversations", "/v1/Conversations")

    def fetch_conversation(self, request: RestRequest) -> RestResponse:
        conversation = self._conversation(request, "Sid")
        return RestResponse(200, self.state.render_conversation(conversation))

    def update_conversation(self, request: RestRequest) -> RestResponse:
        conversation = self._conversation(request, "Sid")
        self.conversations.update_conversation(
            conversation, self._conversation_change(request.form), origin=self._origin(request)
        )
        return RestResponse(200, self.state.render_conversation(conversation))

    def delete_conversation(self, request: RestRequest) -> RestResponse:
        conversation = self._conversation(request, "Sid")
        self.conversations.delete_conversation(conversation, origin=self._origin(request))
        return RestResponse(204)

    # -- what a conversation holds: participants, messages, webhooks ---------------------------
    # Listed, fetched and deleted alike (_Held); created and updated each with its parameters.
    # The (partial) handlers of lists, fetches and deletes are in _held_handlers.

    def _conversation(self, request: RestRequest, key: str = "ConversationSid") -> Conversation:
        return self.conversations.conversation(request.path_params[key])

    def _held[T](self, request: RestRequest, kind: _Held[T]) -> tuple[Conversation, T]:
        """The conversation and the record ``{Sid}`` of the path names (or Twilio's 404)."""
        conversation = self._conversation(request)
        return conversation, kind.find(self.conversations, conversation, request.path_params["Sid"])

    def _list_held[T](self, request: RestRequest, kind: _Held[T]) -> RestResponse:
        conversation = self._conversation(request)
        items = [kind.render(self.state, record) for record in kind.records(conversation, request.query)]
        path = f"/v1/Conversations/{conversation.sid}/{kind.plural.capitalize()}"
        return self._page(request, items, kind.plural, path, **kind.page_sizes)

    def _fetch_held[T](self, request: RestRequest, kind: _Held[T]) -> RestResponse:
        _, record = self._held(request, kind)
        return RestResponse(200, kind.render(self.state, record))

    def _delete_held[T](self, request: RestRequest, kind: _Held[T]) -> RestResponse:
        conversation, record = self._held(request, kind)
        kind.remove(self.conversations, conversation, record, self._origin(request))
        return RestResponse(204)

    def create_participant(self, request: RestRequest) -> RestResponse:
        form = request.form
        binding = {
            key: value
            for key in ("Address", "ProxyAddress", "ProjectedAddress")
            if (value := form.first(f"MessagingBinding.{key}")) is not None
        }
        participant = self.conversations.add_participant(
            self._conversation(request),
            origin=self._origin(request),
            identity=form.first("Identity") or None,
            attributes=form.json_attributes(),
            messaging_binding=binding,
            role_sid=form.sid("RoleSid", "RL"),
            date_created=parse_date(form.first("DateCreated"), "DateCreated"),
        )
        return RestResponse(201, self.state.render_participant(participant))

    def update_participant(self, request: RestRequest) -> RestResponse:
        form = request.form
        conversation, participant = self._held(request, PARTICIPANTS)
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

    def create_message(self, request: RestRequest) -> RestResponse:
        form = request.form
        media_sids = form.all("MediaSid")
        for value in media_sids:
            FormParams({"MediaSid": [value]}).sid("MediaSid", "ME")
        message = self.conversations.add_message(
            self._conversation(request),
            origin=self._origin(request),
            author=form.first("Author") or None,
            body=form.first("Body"),
            attributes=form.json_attributes(),
            media_sids=media_sids,
            date_created=parse_date(form.first("DateCreated"), "DateCreated"),
        )
        return RestResponse(201, self.state.render_message(message))

    def update_message(self, request: RestRequest) -> RestResponse:
        form = request.form
        conversation, message = self._held(request, MESSAGES)
        self.conversations.update_message(
            conversation,
            message,
            origin=self._origin(request),
            author=form.first("Author") or None,
            body=form.first("Body"),
            attributes=form.json_attributes(),
        )
        return RestResponse(200, self.state.render_message(message))

    @staticmethod
    def _webhook_configuration(form: FormParams) -> WebhookConfiguration:
        return WebhookConfiguration(
            url=form.first("Configuration.Url"),
            method=form.first("Configuration.Method"),
            filters=form.all("Configuration.Filters") if form.has("Configuration.Filters") else None,
            triggers=form.all("Configuration.Triggers") if form.has("Configuration.Triggers") else None,
            flow_sid=form.sid("Configuration.FlowSid", "FW"),
        )

    def create_webhook(self, request: RestRequest) -> RestResponse:
        form = request.form
        webhook = self.conversations.add_webhook(
            self._conversation(request),
            self._webhook_configuration(form),
            target=form.first("Target"),
            replay_after=form.integer("Configuration.ReplayAfter"),
        )
        return RestResponse(201, self.state.render_webhook(webhook))

    def update_webhook(self, request: RestRequest) -> RestResponse:
        conversation, webhook = self._held(request, WEBHOOKS)
        self.conversations.update_webhook(conversation, webhook, self._webhook_configuration(request.form))
        return RestResponse(200, self.state.render_webhook(webhook))

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
        return self._page(request, items, "channels", path, max_size=1000)

    def _interaction_channel(self, request: RestRequest) -> InteractionChannel:
        interaction = self.flex.interaction(request.path_params["InteractionSid"])
        return self.flex.interaction_channel(interaction, request.path_params["Sid"])

    def fetch_interaction_channel(self, request: RestRequest) -> RestResponse:
        channel = self._interaction_channel(request)
        return RestResponse(200, self.state.render_interaction_channel(channel))

    def update_interaction_channel(self, request: RestRequest) -> RestResponse:
        form = request.form
        channel = self._interaction_channel(request)
        status = form.required_enum("Status", CHANNEL_UPDATE_STATUSES)
        self.flex.update_channel(channel, status, form.json_object("Routing"))
        return RestResponse(200, self.state.render_interaction_channel(channel))

    # -- Studio Flows --------------------------------------------------------------------------

    def _flow(self, request: RestRequest) -> Flow:
        return self.studio.get(request.path_params["Sid"])

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
        form.required_enum("Status", FLOW_STATUSES)
        self._flow_definition(form, required=True)
        return RestResponse(200, {"valid": True})

    def create_flow(self, request: RestRequest) -> RestResponse:
        form = request.form
        friendly_name = form.require("FriendlyName")
        status = form.required_enum("Status", FLOW_STATUSES)
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
        return self._page(request, items, "flows", "/v2/Flows", max_size=1000)

    def fetch_flow(self, request: RestRequest) -> RestResponse:
        return RestResponse(200, self.studio.render(self._flow(request)))

    def update_flow(self, request: RestRequest) -> RestResponse:
        form = request.form
        flow = self._flow(request)
        status = form.required_enum("Status", FLOW_STATUSES)
        self.studio.update(
            flow,
            status=status,
            friendly_name=form.first("FriendlyName") or None,
            definition=self._flow_definition(form, required=False),
            commit_message=form.first("CommitMessage"),
        )
        return RestResponse(200, self.studio.render(flow))

    def delete_flow(self, request: RestRequest) -> RestResponse:
        self.studio.delete(self._flow(request))
        return RestResponse(204)

    def list_flow_revisions(self, request: RestRequest) -> RestResponse:
        flow = self._flow(request)
        items = [
            self.studio.render_revision(flow, revision, with_definition=False)
            for revision in reversed(flow.revisions)  # newest first
        ]
        path = f"/v2/Flows/{flow.sid}/Revisions"
        return self._page(request, items, "revisions", path, max_size=1000)

    def fetch_flow_revision(self, request: RestRequest) -> RestResponse:
        flow = self._flow(request)
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
        return self._media_object(201, self.media.add(data, content_type, filename))

    def _media(self, request: RestRequest) -> MediaRecord:
        return self.media.get(request.path_params["ChatServiceSid"], request.path_params["Sid"])

    def _media_object(self, status: int, record: MediaRecord) -> RestResponse:
        return RestResponse(status, self.state.render_media(record, self.media.temporary_url(record)))

    def fetch_media(self, request: RestRequest) -> RestResponse:
        return self._media_object(200, self._media(request))

    def media_content(self, request: RestRequest) -> RestResponse:
        record = self._media(request)
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
    ) -> RestResponse:
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

        envelope = {
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
        return RestResponse(200, envelope)
