"""Sending every Twilio request to one base URL (the local emulator), product by product.

``https://conversations.twilio.com/v1/Conversations`` becomes
``{base}/conversations/v1/Conversations``: the product's subdomain is the first path segment.
Production leaves TWILIO_API_BASE_URL unset and talks to Twilio itself.
"""

from __future__ import annotations

import re
from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

#: Seconds one Twilio REST call may take. twilio's own HTTP client waits for ever by default, and
#: a stalled call would run into the Lambda timeout and fail the whole batch; with a timeout it
#: fails the one job instead, which the queue retries.
TIMEOUT_SECONDS = 10.0

_TWILIO_HOST = re.compile(r"^https://(?P<product>[a-z0-9-]+)(?:\.[a-z0-9-]+)*\.twilio\.com(?P<path>/.*)?$")


def redirect(url: str, base_url: str) -> str:
    match = _TWILIO_HOST.match(url)
    if match is None:
        return url
    return f"{base_url.rstrip('/')}/{match['product']}{match['path'] or ''}"


class RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no type hints
    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, redirect(url, self._base_url), *args, **kwargs)


def http_client(api_base_url: str | None, *, timeout: float = TIMEOUT_SECONDS) -> TwilioHttpClient:
    """twilio's HTTP client, always with a timeout; sending everything to ``api_base_url`` (the
    local emulator) when it is set."""
    if api_base_url:
        return RedirectingHttpClient(api_base_url, timeout=timeout)
    return TwilioHttpClient(timeout=timeout)
