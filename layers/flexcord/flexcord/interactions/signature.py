"""Ed25519 verification of Discord's interaction requests, with a freshness window.

Discord signs ``timestamp + raw body``. The signature alone does not stop a replay of a captured
request, so the timestamp must also be recent; discord-interactions' ``verify_key`` does not check
that, and it prints and swallows every exception, so PyNaCl is used directly (the key is parsed
once per container instead of per request).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import cache

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

MAX_CLOCK_SKEW_SECONDS = 5 * 60


class SignatureRejected(Exception):
    """The request is not a fresh request signed by Discord. Answer 401."""


@cache
def _verify_key(public_key_hex: str) -> VerifyKey:
    return VerifyKey(bytes.fromhex(public_key_hex))


def verify_request(
    headers: Mapping[str, str],
    raw_body: bytes,
    public_key_hex: str,
    *,
    now: Callable[[], float] = time.time,
) -> None:
    """Raise SignatureRejected unless the request is signed with the key and recent.

    ``headers`` must have lower-cased names.
    """
    signature = headers.get("x-signature-ed25519", "")
    timestamp = headers.get("x-signature-timestamp", "")
    if not signature or not timestamp:
        raise SignatureRejected("missing signature headers")
    try:
        signed_at = int(timestamp)
        signature_bytes = bytes.fromhex(signature)
    except ValueError as error:
        raise SignatureRejected("malformed signature headers") from error
    if abs(now() - signed_at) > MAX_CLOCK_SKEW_SECONDS:
        raise SignatureRejected("timestamp outside the freshness window")
    try:
        _verify_key(public_key_hex).verify(timestamp.encode() + raw_body, signature_bytes)
    except (BadSignatureError, ValueError) as error:
        raise SignatureRejected("bad signature") from error
