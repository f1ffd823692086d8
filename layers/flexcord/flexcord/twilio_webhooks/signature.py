"""Twilio's request signature, checked with twilio's RequestValidator, and the size limits that
bound the work done before it.

Twilio's webhook bodies are small but not tiny: a chat message's Body may be 32 KB and its
Attributes 4 KB (Conversations limits), and form encoding writes a non-ASCII byte as three
characters, so the largest legitimate event is about 120 KB. 256 KiB leaves room for that and
still refuses the 6 MB bodies that took 20 s to parse before the signature was even looked at.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs

from twilio.request_validator import RequestValidator

from flexcord.observability import logger

MAX_BODY_BYTES = 256 * 1024
#: Twilio's events have about 20 fields and the Studio flow's form posts fewer; the count is
#: checked before a form is parsed.
MAX_FORM_FIELDS = 100

SIGNATURE_HEADER = "x-twilio-signature"


def signed_by_twilio(url: str, signed: Mapping[str, str] | str, signature: str | None, token: str) -> bool:
    """Whether ``signature`` is Twilio's for this URL and these form parameters (a dict) or this
    JSON body (a str, which Twilio signs through ``?bodySHA256=`` in the URL).

    RequestValidator was written for well-formed requests: a str body without ``bodySHA256``
    raises TypeError. Anything it raises is a request it could not verify, so it is a rejection,
    never a crash."""
    if isinstance(signed, str) and "bodySHA256" not in parse_qs(url.partition("?")[2]):
        return False  # a JSON body whose hash is not in the signed URL is not signed at all
    try:
        return bool(RequestValidator(token).validate(url, signed, signature or ""))
    except Exception:  # the validator's failure on odd input is a rejection
        logger.warning("Twilio signature could not be checked", exc_info=True)
        return False
