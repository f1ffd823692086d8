"""HTTP plumbing: the threaded loopback server, and what wraps every REST call (Basic auth,
fault injection, Twilio's response headers, the request log)."""

from __future__ import annotations

import base64
import binascii
import hmac
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from typing import Any

from devstack.emulator_base import App, Exchange, Transport
from devstack.http_server import Fault, FaultInjector, HttpRequest, HttpResponse, RequestLog

from .errors import TwilioApiError
from .rest import UNAUTHENTICATED_PRODUCTS, RestApi, RestRequest, RestResponse, find_route
from .validation import FormParams

# The real hosts behind each product prefix, echoed in X-API-Domain as Twilio does.
API_DOMAINS = {
    "conversations": "conversations.twilio.com",
    "flex-api": "flex-api.twilio.com",
    "studio": "studio.twilio.com",
    "mcs": "mcs.us1.twilio.com",
    "media": "media.us1.twilio.com",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request the emulator answered (control API calls are not recorded)."""

    method: str
    path: str  # the full path, e.g. /conversations/v1/Conversations/CH.../Messages
    product: str  # the host it stands for: "conversations", "flex-api", "mcs" ("media" for signed URLs)
    product_path: str  # the path within the product, e.g. /v1/Conversations/CH.../Messages
    query: dict[str, str]
    form: dict[str, str | list[str]]  # a list where a key was repeated (Configuration.Filters)
    headers: dict[str, str]
    status: int
    timestamp: float
    route: str | None  # e.g. "POST /conversations/v1/Conversations/{ConversationSid}/Messages"
    body_size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TwilioFault(Fault):
    def response(self) -> HttpResponse:
        # Twilio numbers its generic HTTP errors 20000 + status (20429, 20500, 20503...).
        body = self.body or TwilioApiError(self.status, 20000 + self.status, self.reason).body()
        headers = {"Retry-After": "1"} if self.status == HTTPStatus.TOO_MANY_REQUESTS else {}
        return HttpResponse.json(self.status, body, headers)


class Credentials:
    """HTTP Basic credentials the API accepts: the account SID with its auth token, or an API
    key SID (``SK...``) with its secret."""

    def __init__(self, account_sid: str, auth_token: str, api_keys: Mapping[str, str]) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_keys = dict(api_keys)

    def accepts(self, authorization: str | None) -> bool:
        if not authorization or not authorization.lower().startswith("basic "):
            return False
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, _, password = decoded.partition(":")
        expected = self.auth_token if username == self.account_sid else self.api_keys.get(username)
        return expected is not None and hmac.compare_digest(password, expected)


@dataclass
class TwilioExchange(Exchange):
    product: str = ""  # the host the path's first segment stands for
    product_path: str = "/"  # the path within the product
    form: FormParams = field(default_factory=FormParams)


class EmulatorApp(Transport[TwilioFault, RecordedRequest, TwilioExchange]):
    """Routes one HTTP request to the REST API or the control API."""

    def __init__(
        self,
        *,
        rest: RestApi,
        credentials: Credentials,
        faults: FaultInjector[TwilioFault],
        log: RequestLog[RecordedRequest],
        control: App,
    ) -> None:
        super().__init__(faults=faults, log=log, control=control)
        self.rest = rest
        self.credentials = credentials

    def _exchange(self, request: HttpRequest) -> TwilioExchange:
        product, _, rest_of_path = request.path.lstrip("/").partition("/")
        form = FormParams.parse(request.body, request.headers.get("content-type", ""))
        return TwilioExchange(request, product=product, product_path="/" + rest_of_path, form=form)

    def _internal_error(self) -> HttpResponse:
        return HttpResponse.json(500, TwilioApiError(500, 20500, "Internal Server Error").body())

    def _finish(self, exchange: TwilioExchange, response: HttpResponse) -> None:
        response.headers.setdefault("Twilio-Request-Id", "RQ" + uuid.uuid4().hex)
        response.headers.setdefault("X-Home-Region", "us1")
        if exchange.product in API_DOMAINS:
            response.headers.setdefault("X-API-Domain", API_DOMAINS[exchange.product])

    def _record(self, exchange: TwilioExchange, response: HttpResponse) -> RecordedRequest:
        request = exchange.request
        return RecordedRequest(
            method=request.method,
            path=request.path,
            product=exchange.product,
            product_path=exchange.product_path,
            query=request.query,
            form=exchange.form.for_log(),
            headers=request.headers,
            status=response.status,
            timestamp=time.time(),
            route=exchange.route,
            body_size=len(request.body),
        )

    def _serve(self, exchange: TwilioExchange) -> HttpResponse:
        request, product = exchange.request, exchange.product
        try:
            # Twilio checks credentials before anything else, even for unknown resources.
            authorization = request.headers.get("authorization")
            if product not in UNAUTHENTICATED_PRODUCTS and not self.credentials.accepts(authorization):
                raise TwilioApiError.authenticate()
            route, path_params = find_route(request.method, product, exchange.product_path)
            exchange.route = route.key
            result = self.rest.handle(
                route,
                RestRequest(
                    method=request.method,
                    product=product,
                    path=exchange.product_path,
                    path_params=path_params,
                    query=request.query,
                    headers=request.headers,
                    form=exchange.form,
                    body=request.body,
                ),
            )
        except TwilioApiError as exc:
            headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if exc.status == 401 else {}
            if exc.note:
                headers["X-Emulator-Note"] = exc.note
            return HttpResponse.json(exc.status, exc.body(), headers)
        return _to_http(result)


def _to_http(result: RestResponse) -> HttpResponse:
    if result.raw is not None:
        return HttpResponse(
            result.status, result.raw, {"Content-Type": result.content_type or "application/octet-stream"}
        )
    return HttpResponse.json(result.status, result.payload)
