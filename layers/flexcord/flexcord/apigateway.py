"""API Gateway HTTP API (payload format 2.0) requests and responses, without a web framework.

A resolver framework would cost 120–300 ms of imports on a cold start for routing one path per
function; this is the small part of it Flexcord needs.

The endpoints are public, so reading a request is bounded before anything else happens: the body's
size is checked before it is decoded (413), and a form's field count before it is parsed (400).
Each endpoint states its own limit from what its legitimate caller sends.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class RequestRejected(ValueError):
    """The request is refused before any work; ``status`` is the 4xx to answer with."""

    status = 400

    def response(self) -> dict[str, Any]:
        return error_response(self.status, str(self))


class BadRequestBody(RequestRejected):
    """The event or its body could not be read (e.g. invalid base64, not UTF-8)."""


class BodyTooLarge(RequestRejected):
    status = 413


class TooManyFields(RequestRejected):
    """A form body with more fields than its caller ever sends."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    #: ``rawPath``: the path as the client sent it, with a custom domain's API mapping key.
    path: str
    #: ``rawQueryString``, undecoded.
    query: str
    headers: Mapping[str, str]
    raw_body: bytes
    #: The host the client called (``requestContext.domainName``).
    domain_name: str = ""

    @classmethod
    def from_event(cls, event: Mapping[str, Any], *, max_body_bytes: int) -> HttpRequest:
        """Read an HTTP API v2 event, refusing a body over ``max_body_bytes`` before decoding it.

        Header names are lower-cased (HTTP API does it, other callers such as `sam local` or
        tests may not); the body is decoded from base64 when API Gateway encoded it, so
        signatures are checked over the exact bytes that were sent."""
        context = _mapping(event.get("requestContext"), "requestContext")
        http = _mapping(context.get("http"), "requestContext.http")
        return cls(
            method=str(http.get("method") or "POST").upper(),
            path=str(event.get("rawPath") or http.get("path") or "/"),
            query=str(event.get("rawQueryString") or ""),
            headers={
                str(name).lower(): str(value)
                for name, value in _mapping(event.get("headers"), "headers").items()
            },
            raw_body=_body(event, max_body_bytes),
            domain_name=str(context.get("domainName") or ""),
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def text(self) -> str:
        try:
            return self.raw_body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadRequestBody("the body is not UTF-8") from error

    def form(self, *, max_fields: int) -> dict[str, str]:
        """The url-encoded body as a flat dict (the last value of a repeated name wins). The
        fields are counted before anything is parsed: a body of a million empty fields costs
        one pass over its bytes, not a million parses."""
        try:
            return dict(parse_qsl(self.text(), keep_blank_values=True, max_num_fields=max_fields))
        except RequestRejected:
            raise
        except ValueError as error:  # parse_qsl's "Max number of fields exceeded"
            raise TooManyFields(f"more than {max_fields} form fields") from error


def public_url(request: HttpRequest, public_base_url: str | None) -> str:
    """The URL the client called, as it would sign it: scheme and host of the configured public
    base URL (else the host API Gateway was called on, https), then the path as sent, then the
    query string.

    Only the base URL's origin is kept because an HTTP API passes the path as the client sent
    it: a custom domain's API mapping key (and a non-``$default`` stage name) stay in ``rawPath``,
    unlike REST APIs, which strip the base path. With PUBLIC_BASE_URL
    ``https://support.example.com/flexcord``, Twilio calls ``/flexcord/twilio/chatbot``, the
    event's rawPath is exactly that and the route matched is ``/twilio/chatbot``; appending rawPath
    to the whole base URL doubled the base path and failed every signature. Sources: AWS,
    "Use API mappings ... for REST APIs" (the REST API strips the base path) against "Map API
    stages to a custom domain name for HTTP APIs"; Powertools captured the HTTP API events with a
    custom mapping when adding ``strip_prefixes`` for exactly this (aws-powertools/
    powertools-lambda-python issue 576, PR 579) and the stage case (issue 621).
    """
    if public_base_url:
        parts = urlsplit(public_base_url)
        origin = f"{parts.scheme}://{parts.netloc}"
    else:
        origin = f"https://{request.domain_name}"
    return f"{origin}{request.path}" + (f"?{request.query}" if request.query else "")


def json_response(status: int, body: Mapping[str, Any] | list[Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
    }


def error_response(status: int, message: str) -> dict[str, Any]:
    return json_response(status, {"error": message})


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadRequestBody(f"the event's {name} is not an object")
    return value


def _body(event: Mapping[str, Any], max_bytes: int) -> bytes:
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise BadRequestBody("the event body is not a string")
    if event.get("isBase64Encoded"):
        # Base64 carries 3 bytes in 4 characters: a longer string decodes to too many bytes.
        if len(body) > -(-max_bytes // 3) * 4:
            raise BodyTooLarge(f"the body is over {max_bytes} bytes")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise BadRequestBody("body is not valid base64") from error
    else:
        if len(body) > max_bytes:  # every character is at least one byte
            raise BodyTooLarge(f"the body is over {max_bytes} bytes")
        try:
            raw = body.encode("utf-8")
        except UnicodeEncodeError as error:  # a lone surrogate from a "\ud800" JSON escape
            raise BadRequestBody("the body is not valid text") from error
    if len(raw) > max_bytes:
        raise BodyTooLarge(f"the body is over {max_bytes} bytes")
    return raw
