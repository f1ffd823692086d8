"""Signed attachment URLs like Discord's CDN: ``...?ex=<hex expiry>&is=<hex issued>&hm=<hex mac>&``.

Discord's CDN answers 404 for a link whose signature is missing, wrong or expired, which is why
bots must copy what they need to keep rather than store the URL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

ATTACHMENTS_PREFIX = "attachments"
EPHEMERAL_ATTACHMENTS_PREFIX = "ephemeral-attachments"
DEFAULT_URL_TTL_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class StoredFile:
    """Bytes behind an attachment, served by the emulator's CDN routes."""

    attachment_id: str
    channel_id: str
    filename: str
    content_type: str
    data: bytes
    ephemeral: bool = False

    @property
    def path(self) -> str:
        prefix = EPHEMERAL_ATTACHMENTS_PREFIX if self.ephemeral else ATTACHMENTS_PREFIX
        return f"/{prefix}/{self.channel_id}/{self.attachment_id}/{self.filename}"


class UrlSigner:
    def __init__(
        self,
        *,
        ttl_seconds: float = DEFAULT_URL_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secrets.token_bytes(32)
        self._clock = clock
        self.ttl_seconds = ttl_seconds

    def _mac(self, path: str, expires_hex: str, issued_hex: str) -> str:
        message = f"{path}|{expires_hex}|{issued_hex}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def signed_query(self, path: str) -> str:
        issued = int(self._clock())
        # ``ex`` is whole seconds (as Discord's); round up so a 1 s TTL lasts about 1 s.
        expires = int(self._clock() + self.ttl_seconds + 0.999)
        expires_hex, issued_hex = f"{expires:x}", f"{issued:x}"
        return f"ex={expires_hex}&is={issued_hex}&hm={self._mac(path, expires_hex, issued_hex)}&"

    def is_valid(self, path: str, query: Mapping[str, str]) -> bool:
        expires_hex, issued_hex, mac = query.get("ex", ""), query.get("is", ""), query.get("hm", "")
        if not (expires_hex and issued_hex and mac):
            return False
        if not hmac.compare_digest(mac, self._mac(path, expires_hex, issued_hex)):
            return False
        try:
            expires = int(expires_hex, 16)
        except ValueError:
            return False
        return self._clock() < expires
