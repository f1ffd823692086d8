"""Creating and editing messages the way the API does: validation, attachments from ``files[n]``
parts, mentions filtered by ``allowed_mentions``, component ids, idempotent nonces."""

from __future__ import annotations

import copy
import mimetypes
import re
from dataclasses import dataclass
from typing import Any

from .bodies import UploadedFile
from .errors import DiscordApiError, FormErrors
from .snowflake import utc_now_iso
from .state import ATTACHMENT_SIZE_LIMIT, JsonObject, MessageRecord, World
from .validation import (
    EPHEMERAL,
    LOADING,
    MAX_ATTACHMENTS,
    SUPPRESS_EMBEDS,
    validate_message_body,
)

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
EVERYONE_MENTION = re.compile(r"@(everyone|here)\b")


@dataclass(frozen=True)
class MessageExtras:
    """What a message gets from how it was produced (by a bot call, an interaction, a webhook)."""

    message_type: int = 0
    visible_to: str | None = None
    webhook_id: str | None = None
    application_id: str | None = None
    interaction_metadata: JsonObject | None = None
    legacy_interaction: JsonObject | None = None
    interaction_token: str | None = None


@dataclass(frozen=True)
class _PendingUpload:
    upload: UploadedFile
    filename: str
    description: str | None


def require_object(payload: Any) -> JsonObject:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise DiscordApiError.invalid_form_body(
            {
                "_errors": [
                    {"code": "MODEL_TYPE_CONVERT", "message": "Only dictionaries may be used in a ModelType"}
                ]
            }
        )
    return payload


def _has_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def assign_component_ids(components: list[JsonObject]) -> list[JsonObject]:
    """Discord numbers every component that has no ``id`` (depth-first, skipping used ids)."""
    result = copy.deepcopy(components)
    used: set[int] = set()
    ordered: list[JsonObject] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ordered.append(node)
            if isinstance(node.get("id"), int):
                used.add(node["id"])
            for key in ("components", "component", "accessory", "items"):
                child = node.get(key)
                if isinstance(child, list):
                    for item in child:
                        walk(item)
                elif isinstance(child, dict):
                    walk(child)

    for component in result:
        walk(component)
    next_id = 1
    for node in ordered:
        if "type" in node and not isinstance(node.get("id"), int):
            while next_id in used:
                next_id += 1
            node["id"] = next_id
            used.add(next_id)
    return result


class MessageComposer:
    def __init__(self, world: World) -> None:
        self.world = world

    # -- helpers -------------------------------------------------------------------------------

    def _mentions(self, content: str, allowed_mentions: Any) -> tuple[list[str], list[str], bool]:
        """Who is actually mentioned: by default everything parses; ``allowed_mentions`` filters."""
        if isinstance(allowed_mentions, dict):
            parse = set(allowed_mentions.get("parse") or [])
            allowed_users = {str(u) for u in allowed_mentions.get("users") or []}
            allowed_roles = {str(r) for r in allowed_mentions.get("roles") or []}
        else:
            parse, allowed_users, allowed_roles = {"users", "roles", "everyone"}, set(), set()
        users = [
            user_id
            for user_id in dict.fromkeys(USER_MENTION.findall(content))
            if user_id in self.world.users and ("users" in parse or user_id in allowed_users)
        ]
        roles = [
            role_id
            for role_id in dict.fromkeys(ROLE_MENTION.findall(content))
            if role_id in self.world.roles and ("roles" in parse or role_id in allowed_roles)
        ]
        everyone = "everyone" in parse and EVERYONE_MENTION.search(content) is not None
        return users, roles, everyone

    def _plan_attachments(
        self, payload: JsonObject, files: list[UploadedFile], existing_ids: list[str] | None
    ) -> list[str | _PendingUpload]:
        """Resolve the ``attachments`` array against ``files[n]`` parts and existing attachments.

        On create every uploaded file is attached; on edit only attachments listed in
        ``attachments`` survive when that array is sent (developers/reference#editing-message-attachments).
        """
        for upload in files:
            if len(upload.data) > ATTACHMENT_SIZE_LIMIT:
                raise DiscordApiError.entity_too_large()
        uploads = {upload.index: upload for upload in files}
        errors = FormErrors()
        planned: list[str | _PendingUpload] = []
        entries = payload.get("attachments")
        if isinstance(entries, list):
            planned = self._plan_listed(entries, uploads, existing_ids or [], errors)
        elif existing_ids is not None:
            planned.extend(existing_ids)
        listed_uploads = {item.upload.index for item in planned if isinstance(item, _PendingUpload)}
        for upload_index, upload in uploads.items():
            if upload_index not in listed_uploads:
                planned.append(_PendingUpload(upload, upload.filename, None))
        if len(planned) > MAX_ATTACHMENTS:
            errors.add(
                ("attachments",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ATTACHMENTS} or fewer in length."
            )
        errors.raise_if_any()
        return planned

    def _plan_listed(
        self,
        entries: list[Any],
        uploads: dict[str, UploadedFile],
        existing_ids: list[str],
        errors: FormErrors,
    ) -> list[str | _PendingUpload]:
        planned: list[str | _PendingUpload] = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            entry_id = str(entry.get("id"))
            description = entry.get("description") if isinstance(entry.get("description"), str) else None
            if entry_id in uploads:
                upload = uploads[entry_id]
                filename = entry.get("filename")
                name = filename if isinstance(filename, str) and filename else upload.filename
                planned.append(_PendingUpload(upload, name, description))
            elif entry_id in existing_ids:
                planned.append(entry_id)
                if description is not None:
                    self.world.file_descriptions[entry_id] = description
            else:
                errors.add(
                    ("attachments", index, "id"),
                    "ATTACHMENT_NOT_FOUND",
                    f"Attachment {entry_id} was not found.",
                )
        return planned

    def _store_planned(self, channel_id: str, planned: list[str | _PendingUpload]) -> list[str]:
        ids: list[str] = []
        for item in planned:
            if isinstance(item, str):
                ids.append(item)
                continue
            filename = item.filename.replace("/", "_").replace("\\", "_").replace(" ", "_")
            content_type = item.upload.content_type
            if content_type in ("", "application/octet-stream"):
                content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            stored = self.world.store_file(
                channel_id=channel_id,
                filename=filename,
                content_type=content_type,
                data=item.upload.data,
                description=item.description,
            )
            ids.append(stored.attachment_id)
        return ids

    @staticmethod
    def _validate(payload: JsonObject, allowed_flags: int) -> None:
        FormErrors.check(validate_message_body, payload, allowed_flags=allowed_flags)

    # -- writes --------------------------------------------------------------------------------

    def create(
        self,
        *,
        channel_id: str,
        author_id: str,
        payload: JsonObject,
        files: list[UploadedFile],
        allowed_flags: int,
        extras: MessageExtras,
        write_kind: str | None,
        extra_flags: int = 0,
        allow_empty: bool = False,
        message_id: str | None = None,
    ) -> tuple[MessageRecord, bool]:
        """Create a message; returns it and whether it is new (``False``: an enforced nonce hit).

        ``write_kind`` names the write in :attr:`World.message_writes` (``None``: not a bot write,
        e.g. the "thinking…" placeholder of a deferred response)."""
        self._validate(payload, allowed_flags)
        with self.world.lock:
            nonce = payload.get("nonce")
            if nonce is not None and payload.get("enforce_nonce") is True:
                existing = self.world.message_for_nonce(channel_id, author_id, nonce)
                if existing is not None:
                    return existing, False
            planned = self._plan_attachments(payload, files, None)
            has_body = (
                _has_text(payload.get("content"))
                or bool(payload.get("embeds"))
                or bool(planned)
                or bool(payload.get("components"))
                or bool(payload.get("sticker_ids"))
                or bool(payload.get("poll"))
            )
            if not has_body and not allow_empty:
                raise DiscordApiError.empty_message()
            content = payload.get("content") or ""
            users, roles, everyone = self._mentions(content, payload.get("allowed_mentions"))
            flags = (payload.get("flags") or 0) & allowed_flags | extra_flags
            record = MessageRecord(
                id=message_id or self.world.snowflakes.next_id(),
                channel_id=channel_id,
                author_id=author_id,
                content=content,
                embeds=copy.deepcopy(payload.get("embeds") or []),
                components=assign_component_ids(payload.get("components") or []),
                attachment_ids=self._store_planned(channel_id, planned),
                flags=flags,
                tts=bool(payload.get("tts")),
                nonce=nonce,
                type=extras.message_type,
                mention_user_ids=users,
                mention_role_ids=roles,
                mention_everyone=everyone,
                webhook_id=extras.webhook_id,
                application_id=extras.application_id,
                interaction_metadata=extras.interaction_metadata,
                legacy_interaction=extras.legacy_interaction,
                visible_to=extras.visible_to if flags & EPHEMERAL else None,
                interaction_token=extras.interaction_token,
            )
            self.world.add_message(record)
            if nonce is not None:
                self.world.remember_nonce(channel_id, author_id, nonce, record.id)
            if write_kind is not None:
                self.world.record_write(write_kind, record, payload)
            return record, True

    def edit(
        self,
        record: MessageRecord,
        *,
        payload: JsonObject,
        files: list[UploadedFile],
        allowed_flags: int,
        write_kind: str,
        completes_deferral: bool = False,
    ) -> MessageRecord:
        """Apply an edit. ``completes_deferral``: the first edit of a "thinking…" placeholder, which
        keeps the ephemeral flag fixed at defer time and is not marked as edited."""
        # Only SUPPRESS_EMBEDS (and the components V2 switch) can change on an existing message.
        self._validate(payload, allowed_flags)
        with self.world.lock:
            planned = self._plan_attachments(payload, files, record.attachment_ids)
            content = payload.get("content", record.content)
            content = content or ""
            embeds = payload.get("embeds", record.embeds)
            components = payload.get("components", record.components)
            has_body = _has_text(content) or bool(embeds) or bool(planned) or bool(components)
            if not has_body:
                raise DiscordApiError.empty_message()
            record.content = content
            record.embeds = copy.deepcopy(embeds or [])
            record.components = assign_component_ids(components or [])
            record.attachment_ids = self._store_planned(record.channel_id, planned)
            if isinstance(payload.get("flags"), int):
                requested = payload["flags"]
                record.flags = (record.flags & ~SUPPRESS_EMBEDS) | (requested & SUPPRESS_EMBEDS)
            if completes_deferral:
                record.flags &= ~LOADING
            else:
                record.edited_timestamp = utc_now_iso()
            allowed_mentions = payload.get("allowed_mentions")
            record.mention_user_ids, record.mention_role_ids, record.mention_everyone = self._mentions(
                content, allowed_mentions
            )
            self.world.record_write(write_kind, record, payload)
            return record
