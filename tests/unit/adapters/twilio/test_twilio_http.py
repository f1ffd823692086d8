"""The Twilio adapter's HTTP edges: every call has a timeout (defect 3), and any file name can be
uploaded (defect 2)."""

from __future__ import annotations

from email.message import Message
from urllib.parse import unquote

import pytest

from flexcord.adapters.twilio.gateway import content_disposition
from flexcord.adapters.twilio.http import TIMEOUT_SECONDS, RedirectingHttpClient, http_client


@pytest.mark.parametrize("base_url", [None, "http://127.0.0.1:8790"])
def test_the_twilio_http_client_always_has_a_timeout(base_url: str | None) -> None:
    client = http_client(base_url)
    assert client.timeout == TIMEOUT_SECONDS
    assert isinstance(client, RedirectingHttpClient) is (base_url is not None)


@pytest.mark.parametrize("filename", ["スクショ.png", 'say "cheese".png', "back\\slash.txt", "plain.png", ""])
def test_any_file_name_makes_a_latin1_header_that_reads_back_exactly(filename: str) -> None:
    header = content_disposition(filename)
    header.encode("latin-1")  # what http.client does with header values
    extended = header.split("filename*=UTF-8''", 1)[1]
    assert unquote(extended) == filename
    parsed = Message()
    parsed["Content-Disposition"] = header
    fallback = parsed.get_param("filename", header="content-disposition")
    assert isinstance(fallback, str)
    assert '"' not in fallback
