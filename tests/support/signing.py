"""Signing requests as Discord does, with the published test key from events/."""

from __future__ import annotations

import json
import time
from pathlib import Path

from nacl.signing import SigningKey

KEY_FILE = Path(__file__).resolve().parents[2] / "events" / "test-signing-key.json"
_KEYS = json.loads(KEY_FILE.read_text())
TEST_SIGNING_KEY = SigningKey(bytes.fromhex(_KEYS["private_key_seed_hex"]))
TEST_PUBLIC_KEY = _KEYS["public_key_hex"]


def signed_headers(
    body: bytes, *, timestamp: int | None = None, key: SigningKey = TEST_SIGNING_KEY
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = key.sign(stamp.encode() + body).signature.hex()
    return {
        "X-Signature-Ed25519": signature,
        "X-Signature-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def http_event(body: bytes, headers: dict[str, str], *, base64_body: bool = False) -> dict[str, object]:
    """An API Gateway HTTP API (2.0) event, as the gateway hands it to the function."""
    import base64

    return {
        "version": "2.0",
        "routeKey": "POST /discord/interactions",
        "rawPath": "/discord/interactions",
        "rawQueryString": "",
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {"http": {"method": "POST", "path": "/discord/interactions"}, "stage": "$default"},
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }
