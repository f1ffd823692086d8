"""The Media Content Service (MCS): where Conversations media lives.

Real base URL ``https://mcs.us1.twilio.com/v1`` (not in twilio-oai, and no helper library covers
it). ``POST /v1/Services/{ChatServiceSid}/Media`` takes the file itself as the body with its
``Content-Type`` (Twilio's documented curl: ``--data-binary @file -H "Content-Type: ..."``); the
JSON answer links the content (``links.content``, Basic auth) and a short-lived unauthenticated
URL (``links.content_direct_temporary``, a signed URL on another host in production).

Filenames: Twilio documents none for the raw upload, so the emulator takes one from the
``Filename`` query parameter (what Twilio's own MCS client sends), from a ``Content-Disposition``
header's ``filename``, or from a ``multipart/form-data`` body (the file part's filename, or a
``FileName``/``Filename`` field), in that order.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
from email.message import Message as MimeMessage
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import quote, unquote

from .errors import TwilioApiError
from .sids import new_sid
from .state import MediaRecord, TwilioState

DEFAULT_TEMPORARY_URL_TTL = 300.0  # seconds a content_direct_temporary URL stays valid
TEMPORARY_PREFIX = "media"  # the emulator's stand-in for https://media.us1.twilio.com


def parse_upload(
    body: bytes, content_type: str, content_disposition: str | None, filename_param: str | None
) -> tuple[bytes, str, str | None]:
    """``(data, content_type, filename)`` of an upload request."""
    if content_type.lower().startswith("multipart/form-data"):
        data, part_type, filename = _parse_multipart(body, content_type)
        return data, part_type, filename_param or filename
    if not body:
        raise TwilioApiError.invalid_parameter("The request body must be the media file itself")
    filename = filename_param or _disposition_filename(content_disposition)
    return body, content_type or "application/octet-stream", filename


def _disposition_filename(header: str | None) -> str | None:
    if not header:
        return None
    # RFC 6266: an extended ``filename*`` (any script, percent-encoded) wins over ``filename``.
    extended = re.search(r"filename\*\s*=\s*([^;]+)", header)
    if extended:
        charset, _, encoded = extended.group(1).strip().partition("''")
        return unquote(encoded, encoding=charset or "utf-8")
    holder = MimeMessage()
    holder["Content-Disposition"] = header
    return holder.get_filename()


def _parse_multipart(body: bytes, content_type: str) -> tuple[bytes, str, str | None]:
    document = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    file_data: bytes | None = None
    file_type = "application/octet-stream"
    filename: str | None = None
    named_filename: str | None = None
    for part in document.iter_parts():
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None and file_data is None:
            file_data = content
            file_type = part.get_content_type()
            filename = part.get_filename()
        elif part.get_param("name", header="content-disposition") in ("FileName", "Filename"):
            named_filename = content.decode("utf-8", errors="replace")
    if file_data is None:
        raise TwilioApiError.invalid_parameter("The multipart body has no file part")
    return file_data, file_type, named_filename or filename


class MediaStore:
    """Uploads, lookups and signed temporary URLs for media."""

    def __init__(self, state: TwilioState, *, temporary_url_ttl: float = DEFAULT_TEMPORARY_URL_TTL) -> None:
        self.state = state
        self.temporary_url_ttl = temporary_url_ttl
        self._signing_key = os.urandom(32)

    def add(
        self, data: bytes, content_type: str, filename: str | None, *, author: str = "system"
    ) -> MediaRecord:
        if not data:
            raise TwilioApiError.invalid_parameter("Media content is empty")
        with self.state.lock:
            record = MediaRecord(
                sid=new_sid("ME"),
                service_sid=self.state.chat_service_sid,
                content_type=content_type,
                filename=filename,
                data=data,
                date_created=self.state.clock.now(),
                author=author,
            )
            self.state.media[record.sid] = record
            return record

    def get(self, service_sid: str, sid: str) -> MediaRecord:
        with self.state.lock:
            record = self.state.media.get(sid)
            if record is None or record.service_sid != service_sid:
                raise TwilioApiError.not_found(f"/Services/{service_sid}/Media/{sid}")
            return record

    def check_service(self, service_sid: str) -> None:
        if service_sid != self.state.chat_service_sid:
            raise TwilioApiError.not_found(f"/Services/{service_sid}")

    # -- temporary URLs ------------------------------------------------------------------------

    def _signature(self, sid: str, expires: int) -> str:
        return hmac.new(self._signing_key, f"{sid}:{expires}".encode(), hashlib.sha256).hexdigest()

    def temporary_url(self, record: MediaRecord) -> str:
        expires = int(time.time() + self.temporary_url_ttl)
        return (
            f"{self.state.product_url(TEMPORARY_PREFIX)}/{record.sid}"
            f"?Expires={expires}&Signature={quote(self._signature(record.sid, expires))}"
        )

    def temporary_content(self, sid: str, expires: str | None, signature: str | None) -> MediaRecord | None:
        """The media a temporary URL names, or None when the URL is forged or expired."""
        if not expires or not signature or not expires.isdigit():
            return None
        if int(expires) < time.time() or not hmac.compare_digest(
            signature, self._signature(sid, int(expires))
        ):
            return None
        with self.state.lock:
            return self.state.media.get(sid)
