"""Ed25519 verification of Discord's interaction requests, with a freshness window.

Discord signs ``timestamp + raw body``. The signature alone does not stop a replay of a captured
request, so the timestamp must also be recent; discord-interactions' ``verify_key`` does not check
that, and it prints and swallows every exception, so PyNaCl is used directly (the key is parsed
once per container instead of per request).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from functools import cache

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

MAX_CLOCK_SKEW_SECONDS = 5 * 60
# What Discord sends: 64 signature bytes in hex, and epoch seconds. Anything else is refused
# before any arithmetic (int() would accept " 12", "1_2" or 4,000 digits).
_SIGNATURE = re.compile(r"[0-9a-fA-F]{128}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


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
    if not _SIGNATURE.fullmatch(signature) or not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureRejected("malformed signature headers")
    signed_at = int(timestamp)
    signature_bytes = bytes.fromhex(signature)
    if abs(now() - signed_at) > MAX_CLOCK_SKEW_SECONDS:
        raise SignatureRejected("timestamp outside the freshness window")
    try:
        _verify_key(public_key_hex).verify(timestamp.encode() + raw_body, signature_bytes)
    except (BadSignatureError, ValueError) as error:
        raise SignatureRejected("bad signature") from error
