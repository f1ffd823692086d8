"""Request bodies as the Discord API accepts them: JSON, or multipart/form-data carrying
``payload_json`` and ``files[n]`` parts (developers/reference#uploading-files)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from .errors import DiscordApiError

FILE_FIELD = re.compile(r"^files\[(\w+)\]$")
# Discord accepts a few legacy names for a single file part.
LEGACY_FILE_FIELDS = {"file", "files"}


@dataclass(frozen=True)
class UploadedFile:
    """One ``files[n]`` part; ``index`` is the ``n`` the ``attachments`` array refers to."""

    field_name: str
    index: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class RequestBody:
    payload: Any = None
    files: list[UploadedFile] = field(default_factory=list)
    content_type: str = ""

    def log_view(self) -> Any:
        """What the request log keeps: the JSON payload, or for multipart the payload and file sizes."""
        if self.content_type != "multipart/form-data":
            return self.payload
        return {
            "payload_json": self.payload,
            "files": [
                {
                    "field": upload.field_name,
                    "filename": upload.filename,
                    "content_type": upload.content_type,
                    "size": len(upload.data),
                }
                for upload in self.files
            ],
        }


def _header_param(header_value: str, header_name: str, param: str) -> str | None:
    message = Message()
    message[header_name] = header_value
    value = message.get_param(param, header=header_name)
    if value is None or isinstance(value, tuple):
        return None if value is None else str(value[2])
    return value


def media_type(content_type_header: str) -> str:
    return content_type_header.split(";", 1)[0].strip().lower()


def _split_multipart(raw: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    delimiter = b"--" + boundary.encode("latin-1")
    parts: list[tuple[dict[str, str], bytes]] = []
    for raw_section in raw.split(delimiter)[1:]:
        if raw_section.startswith(b"--"):
            break  # the closing delimiter
        section = raw_section.removeprefix(b"\r\n")
        head, separator, body = section.partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("multipart part without a header/body separator")
        if body.endswith(b"\r\n"):
            body = body[:-2]
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        parts.append((headers, body))
    return parts


def parse_body(content_type_header: str, raw: bytes) -> RequestBody:
    """Parse a request body strictly, raising the error Discord would answer."""
    kind = media_type(content_type_header)
    if not raw:
        return RequestBody(payload=None, content_type=kind)
    if kind == "application/json":
        try:
            return RequestBody(payload=json.loads(raw), content_type=kind)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DiscordApiError.invalid_json() from exc
    if kind == "application/x-www-form-urlencoded":
        fields = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        return RequestBody(payload=fields, content_type=kind)
    if kind == "multipart/form-data":
        return _parse_multipart(content_type_header, raw)
    raise DiscordApiError.invalid_content_type()


def _parse_multipart(content_type_header: str, raw: bytes) -> RequestBody:
    boundary = _header_param(content_type_header, "content-type", "boundary")
    if not boundary:
        raise DiscordApiError.invalid_content_type()
    try:
        parts = _split_multipart(raw, boundary)
    except ValueError as exc:
        raise DiscordApiError.invalid_form_body(
            {"_errors": [{"code": "MULTIPART_INVALID", "message": str(exc)}]}
        ) from exc
    payload: dict[str, Any] | None = None
    loose_fields: dict[str, Any] = {}
    files: list[UploadedFile] = []
    for headers, body in parts:
        disposition = headers.get("content-disposition", "")
        name = _header_param(disposition, "content-disposition", "name") or ""
        filename = _header_param(disposition, "content-disposition", "filename")
        match = FILE_FIELD.match(name)
        if filename is not None and (match or name in LEGACY_FILE_FIELDS):
            index = match.group(1) if match else str(len(files))
            files.append(
                UploadedFile(
                    field_name=name,
                    index=index,
                    filename=filename,
                    content_type=media_type(headers.get("content-type", "")) or "application/octet-stream",
                    data=body,
                )
            )
        elif name == "payload_json":
            try:
                decoded = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise DiscordApiError.invalid_json() from exc
            payload = decoded if isinstance(decoded, dict) else {"_not_an_object": decoded}
        else:
            # Without payload_json, plain form fields carry the JSON params (e.g. "content").
            loose_fields[name] = body.decode("utf-8", "replace")
    if payload is None:
        payload = loose_fields
    return RequestBody(payload=payload, files=files, content_type="multipart/form-data")


def parse_body_for_log(content_type_header: str, raw: bytes) -> Any:
    """Like :func:`parse_body` but never fails: malformed bodies are logged as text."""
    try:
        return parse_body(content_type_header, raw).log_view()
    except DiscordApiError:
        return raw.decode("utf-8", "replace")
