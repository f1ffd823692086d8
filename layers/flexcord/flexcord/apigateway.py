"""API Gateway HTTP API (payload format 2.0) requests and responses, without a web framework.

A resolver framework would cost 120–300 ms of imports on a cold start for routing one path per
function; this is the small part of it Flexcord needs.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class BadRequestBody(ValueError):
    """The body could not be decoded (e.g. invalid base64)."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    raw_body: bytes

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> HttpRequest:
        """Read an HTTP API v2 event. Header names are lower-cased (HTTP API does it, other
        callers such as `sam local` or tests may not); the body is decoded from base64 when
        API Gateway encoded it, so signatures are checked over the exact bytes that were sent."""
        headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
        body = event.get("body") or ""
        if not isinstance(body, str):
            raise BadRequestBody("the event body is not a string")
        if event.get("isBase64Encoded"):
            try:
                raw = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as error:
                raise BadRequestBody("body is not valid base64") from error
        else:
            raw = body.encode("utf-8")
        http = (event.get("requestContext") or {}).get("http") or {}
        return cls(
            method=str(http.get("method", "POST")).upper(),
            path=str(event.get("rawPath") or http.get("path") or "/"),
            headers=headers,
            raw_body=raw,
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def json_response(status: int, body: Mapping[str, Any] | list[Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
    }


def error_response(status: int, message: str) -> dict[str, Any]:
    return json_response(status, {"error": message})
