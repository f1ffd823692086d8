"""A case's post in its server: where it goes, what it shows, and keeping it current.

In a text channel the case is a message with the staff controls, and a public thread on it holds
the discussion. In a forum channel the case is a forum post (the thread is the post), tagged with
its kind and status; the tags are created on the forum when missing (which needs Manage
Channels; without it the post goes up untagged and the log says why).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import requests

from flexcord.adapters.discord import DiscordApiError, DiscordClient, DiscordError, FileUpload
from flexcord.cases import Case, CaseKind, CaseService, CaseStatus
from flexcord.cases.model import ATTACHMENT_MAX_BYTES, Attachment, PostedMessage
from flexcord.jobs.model import InteractionContext
from flexcord.jobs.presentation import case_controls, case_embed, truncate
from flexcord.observability import logger, metrics
from flexcord.servers.settings import ServerDirectory

FORUM_CHANNEL = 15
#: A week: the discussion stays in the channel list while staff work on the case.
THREAD_ARCHIVE_MINUTES = 10080
KIND_TAGS = {CaseKind.BUG: "Bug", CaseKind.FEATURE: "Feature", CaseKind.SUPPORT: "Support"}
STATUS_TAGS = {status: status.label for status in CaseStatus}
CASE_TAG_NAMES = ("Bug", "Feature", *STATUS_TAGS.values())
DISCORD_WEB = "https://discord.com/channels"


class CasePosts:
    def __init__(self, service: CaseService, discord: DiscordClient, servers: ServerDirectory) -> None:
        self._service = service
        self._discord = discord
        self._servers = servers

    def post(self, case: Case) -> Case:
        """Post a newly filed case where its server wants cases of its kind; a refusal from
        Discord is recorded on the case (it exists either way); an outage is raised for a retry."""
        channel_id = self._servers.settings_for(case.server).channel_for(case.kind)
        if not channel_id:
            logger.warning("no channel configured for cases of this kind", extra={"kind": case.kind.value})
            return case
        try:
            channel = self._discord.get_channel(channel_id)
            if channel.get("type") == FORUM_CHANNEL:
                return self._post_in_forum(case, channel)
            return self._post_in_channel(case, channel_id)
        except DiscordApiError as refusal:
            # Discord answered and refused (unknown channel, missing access, ...): retrying will
            # not change its mind. Staff learn of it from the case history, the log and the metric.
            logger.exception(
                "case post refused by Discord", extra={"case": case.number, "channel_id": channel_id}
            )
            metrics.add_metric(name="CasePostFailures", unit="Count", value=1)
            return self._service.record_event(case, "post_failed", note=f"Discord error {refusal.code}")

    def refresh(self, case: Case) -> None:
        """Show the case's current state on its post (and, in a forum, in its tags)."""
        if case.post is None:
            return
        image = next((a.kept_url for a in case.attachments if a.is_image and a.kept_url), None)
        in_forum = bool(case.thread_id) and case.thread_id == case.post.channel_id
        try:
            forum_post = self._discord.get_channel(case.post.channel_id) if in_forum else None
            if forum_post and (forum_post.get("thread_metadata") or {}).get("archived"):
                # An archived post takes no edit: a change to its case brings it back.
                self._discord.edit_channel(case.post.channel_id, archived=False)
            self._discord.edit_message(
                case.post.channel_id,
                case.post.message_id,
                embeds=[case_embed(case, image_url=image)],
                components=case_controls(case),
            )
            if forum_post:
                tags = self._tags_for(case, forum_post.get("parent_id"))
                if tags:
                    self._discord.edit_channel(case.post.channel_id, applied_tags=tags)
        except DiscordApiError:
            # A deleted post or lost access: the case itself changed; nothing to retry for.
            logger.warning("case post not updated", extra={"case": case.number}, exc_info=True)

    def link(self, case: Case) -> str:
        assert case.post is not None
        return f"{DISCORD_WEB}/{case.server}/{case.post.channel_id}/{case.post.message_id}"

    def share_in_thread(
        self, case: Case, member: InteractionContext, details: str, attachment: Any, *, key: str
    ) -> tuple[Attachment, ...]:
        """Show what the reporter added in the case's thread, re-uploading their file there (the
        interaction's CDN link expires); returns the file as the case keeps it."""
        found = _attachment_from(attachment)
        where = case.thread_id or (case.post.channel_id if case.post else None)
        if where is None:
            return (found,) if found else ()
        files: list[FileUpload] = []
        if found is not None:
            try:
                content = self._discord.download_attachment(found.source_url, max_bytes=ATTACHMENT_MAX_BYTES)
                files.append(
                    FileUpload(filename=found.filename, content=content, content_type=found.content_type)
                )
            except (DiscordError, requests.RequestException, ValueError):
                logger.warning("added file not copied; the case links it", extra={"case": case.number})
        text = f"📎 **{member.display_name}** added to #{case.number}:\n{details}".rstrip(":\n")
        try:
            messages = self._discord.create_message(
                where, content=truncate(text, 2000), files=files, nonce=f"add{key[-22:]}"
            )
        except DiscordApiError as refusal:
            # A locked or deleted thread: the details are still recorded on the case.
            logger.warning("details not shown in the case's thread", extra={"code": refusal.code})
            return (found,) if found else ()
        uploaded = {item.get("filename"): item.get("url", "") for item in messages[-1].get("attachments", [])}
        if found is None:
            return ()
        return (replace(found, kept_url=str(uploaded.get(found.filename, ""))),)

    # -- posting --------------------------------------------------------------------------------

    def _post_in_channel(self, case: Case, channel_id: str) -> Case:
        files, image_name = self._copy_attachments(case)
        embed = case_embed(case, image_url=f"attachment://{image_name}" if image_name else None)
        # The nonce makes a retry within Discord's nonce window return the first post instead of
        # posting twice, if we crashed before recording it.
        messages = self._discord.create_message(
            channel_id,
            embeds=[embed],
            components=case_controls(case),
            files=files,
            nonce=_post_key(case),
        )
        posted = messages[-1]
        case = self._service.record_post(
            case, PostedMessage(channel_id, str(posted["id"])), _kept_attachments(case, posted)
        )
        try:
            thread = self._discord.start_thread_from_message(
                channel_id,
                str(posted["id"]),
                name=_thread_name(case),
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except DiscordApiError as refusal:
            # 160004: a thread exists on the message already (a retry); others: no permission.
            if refusal.code != 160004:
                logger.warning("no discussion thread on the case post", extra={"code": refusal.code})
                return case
            return self._service.record_thread(case, str(posted["id"]))
        return self._service.record_thread(case, str(thread["id"]))

    def _post_in_forum(self, case: Case, forum: Mapping[str, Any]) -> Case:
        files, image_name = self._copy_attachments(case)
        embed = case_embed(case, image_url=f"attachment://{image_name}" if image_name else None)
        tags = self._tags_for(case, str(forum["id"]), forum=forum)
        thread = self._discord.create_forum_post(
            str(forum["id"]),
            name=_thread_name(case),
            embeds=[embed],
            components=case_controls(case),
            files=files,
            applied_tags=tags,
            auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            key=_post_key(case),
        )
        thread_id = str(thread["id"])
        starter = thread.get("message") or {}
        # A forum post's first message shares the thread's id.
        case = self._service.record_post(
            case,
            PostedMessage(thread_id, str(starter.get("id", thread_id))),
            _kept_attachments(case, starter),
        )
        return self._service.record_thread(case, thread_id)

    def _tags_for(self, case: Case, forum_id: Any, *, forum: Mapping[str, Any] | None = None) -> list[str]:
        """The ids of the forum's tags for the case's kind and status, creating missing ones."""
        if not forum_id:
            return []
        forum = forum if forum is not None else self._discord.get_channel(str(forum_id))
        tags = {str(tag.get("name")): str(tag.get("id")) for tag in forum.get("available_tags") or []}
        missing = [name for name in CASE_TAG_NAMES if name not in tags]
        if missing:
            try:
                updated = self._discord.edit_channel(
                    str(forum_id),
                    available_tags=[*(forum.get("available_tags") or []), *({"name": n} for n in missing)],
                )
                tags = {
                    str(tag.get("name")): str(tag.get("id")) for tag in updated.get("available_tags") or []
                }
            except DiscordApiError as refusal:
                logger.warning(
                    "case tags not created on the forum (the bot needs Manage Channels)",
                    extra={"forum_id": forum_id, "code": refusal.code},
                )
        wanted = (KIND_TAGS[case.kind], STATUS_TAGS[case.status])
        return [tags[name] for name in wanted if name in tags]

    def _copy_attachments(self, case: Case) -> tuple[list[FileUpload], str | None]:
        """Re-upload attachments with the post: Discord's CDN links in the interaction expire,
        but a file attached to the bot's own message lasts as long as the message."""
        files: list[FileUpload] = []
        image_name = None
        for index, attachment in enumerate(case.attachments, start=1):
            try:
                content = self._discord.download_attachment(
                    attachment.source_url, max_bytes=ATTACHMENT_MAX_BYTES
                )
            except (DiscordError, requests.RequestException, ValueError):
                logger.warning("attachment not copied; the post links it", extra={"case": case.number})
                continue
            filename = _upload_name(case, index, attachment)
            files.append(FileUpload(filename=filename, content=content, content_type=attachment.content_type))
            if attachment.is_image and image_name is None:
                image_name = filename
        return files, image_name


def _thread_name(case: Case) -> str:
    return truncate(f"#{case.number} {case.title}", 100)


def _attachment_from(value: Any) -> Attachment | None:
    if not isinstance(value, Mapping) or not value.get("url"):
        return None
    size = value.get("size")
    return Attachment(
        filename=str(value.get("filename") or "file"),
        content_type=str(value.get("content_type") or "application/octet-stream"),
        size=size if isinstance(size, int) else 0,
        source_url=str(value["url"]),
    )


def _kept_attachments(case: Case, posted: Mapping[str, Any]) -> tuple[Attachment, ...]:
    uploaded = {item.get("filename"): item.get("url", "") for item in posted.get("attachments", [])}
    kept = []
    for index, attachment in enumerate(case.attachments, start=1):
        kept.append(replace(attachment, kept_url=uploaded.get(_upload_name(case, index, attachment), "")))
    return tuple(kept)


def _upload_name(case: Case, index: int, attachment: Attachment) -> str:
    return f"case-{case.number}-{index}{mimetypes.guess_extension(attachment.content_type) or ''}"


def _post_key(case: Case) -> str:
    """The case post's nonce (a text channel) or key (a forum post): a retry posts it once."""
    return f"case-{case.server[-8:]}-{case.number}"
