"""The worker side of cases: file a submitted case and post it, show one case, list a member's."""

from __future__ import annotations

import mimetypes
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import requests

from flexcord.adapters.discord import DiscordApiError, DiscordClient, DiscordError, FileUpload
from flexcord.cases import Case, CaseAccessDenied, CaseNotFound, CaseService, Viewer
from flexcord.cases.model import ATTACHMENT_MAX_BYTES, Attachment, PostedMessage
from flexcord.interactions.custom_ids import show_case_button
from flexcord.jobs.model import Job
from flexcord.jobs.notify import tell_member
from flexcord.jobs.payloads import draft_from_payload
from flexcord.jobs.presentation import case_embed, case_list_line
from flexcord.observability import logger, metrics
from flexcord.servers.settings import ServerDirectory

if TYPE_CHECKING:
    from flexcord.jobs.duplicate_check import DuplicateCheck

LIST_LIMIT = 10
BUTTONS_PER_ROW = 5


class CaseJobs:
    def __init__(
        self,
        service: CaseService,
        discord: DiscordClient,
        servers: ServerDirectory,
        *,
        duplicates: DuplicateCheck | None = None,
    ) -> None:
        self._service = service
        self._discord = discord
        self._servers = servers
        self._duplicates = duplicates

    def create_case(self, job: Job) -> dict[str, Any]:
        draft = draft_from_payload(job.payload)
        # "Is it one of these?" first, when open cases look like it (jobs/duplicate_check.py).
        if self._duplicates and (offer := self._duplicates.offer(job, draft)):
            return offer
        # Idempotent on the interaction id: a redelivered job finds the case it created before.
        case = self._service.open_case(draft, source_id=job.interaction.interaction_id)
        if case.post is None:
            case = self._post(case)
        metrics.add_metric(name=f"{case.kind.value.capitalize()}CasesFiled", unit="Count", value=1)
        tell_member(
            self._discord,
            job.interaction,
            content=(
                f"✅ Thanks! Your {case.kind.label.lower()} is filed as **case #{case.number}**: "
                f"“{case.title}”. See how it's going any time with `/case number:{case.number}`."
            ),
        )
        return {"case": case.number, "posted": case.post is not None}

    def show_case(self, job: Job) -> dict[str, Any]:
        number = int(job.payload["number"])
        viewer = Viewer(job.interaction.user_id, is_staff=self._is_staff(job))
        try:
            case = self._service.case_for(job.interaction.guild_id, number, viewer)
        except CaseNotFound:
            tell_member(self._discord, job.interaction, content=f"There is no case #{number}.")
            return {"case": number, "shown": False}
        except CaseAccessDenied:
            tell_member(
                self._discord,
                job.interaction,
                content=(
                    f"Case #{number} isn't one of yours: only the member who opened a case, and staff, "
                    "can see it. `/mycases` lists yours."
                ),
            )
            return {"case": number, "shown": False}
        tell_member(self._discord, job.interaction, embeds=[case_embed(case, with_history=True)])
        return {"case": number, "shown": True}

    def list_cases(self, job: Job) -> dict[str, Any]:
        cases = self._service.cases_of(job.interaction.user_id, limit=LIST_LIMIT)
        if not cases:
            tell_member(
                self._discord,
                job.interaction,
                content="You haven't opened any cases yet. "
                "`/bug` reports a bug; `/new_feature` suggests an idea.",
            )
            return {"cases": 0}
        lines = [f"**Your cases** (newest first, up to {LIST_LIMIT}):", *map(case_list_line, cases)]
        buttons = [
            {
                "type": 2,
                "style": 2,
                "label": f"#{case.number}",
                "custom_id": show_case_button(case.number),
            }
            for case in cases[:BUTTONS_PER_ROW]
        ]
        tell_member(
            self._discord,
            job.interaction,
            content="\n".join(lines),
            components=[{"type": 1, "components": buttons}],
        )
        return {"cases": len(cases)}

    # -- posting --------------------------------------------------------------------------------

    def _is_staff(self, job: Job) -> bool:
        member = job.interaction
        return self._servers.settings_for(member.guild_id).is_staff(member.roles, member.permissions)

    def _post(self, case: Case) -> Case:
        channel_id = self._servers.settings_for(case.server).channel_for(case.kind)
        if not channel_id:
            logger.warning("no channel configured for cases of this kind", extra={"kind": case.kind.value})
            return case
        files, image_name = self._copy_attachments(case)
        embed = case_embed(case, image_url=f"attachment://{image_name}" if image_name else None)
        try:
            # The nonce makes a retry within Discord's nonce window return the first post
            # instead of posting twice, if we crashed before recording it.
            messages = self._discord.create_message(
                channel_id, embeds=[embed], files=files, nonce=f"case-{case.number}"
            )
        except DiscordApiError as refusal:
            # Discord answered and refused (unknown channel, missing access, ...): retrying will
            # not change its mind. The case exists and the member is told its number; staff learn
            # of it from the case history, the error log and the metric. Outages and rate limits
            # (DiscordUnavailable, RateLimited) are raised instead, so the job is retried.
            logger.exception(
                "case post refused by Discord", extra={"case": case.number, "channel_id": channel_id}
            )
            metrics.add_metric(name="CasePostFailures", unit="Count", value=1)
            return self._service.record_event(case, "post_failed", note=f"Discord error {refusal.code}")
        posted = messages[-1]
        return self._service.record_post(
            case, PostedMessage(channel_id, str(posted["id"])), _kept_attachments(case, posted)
        )

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


def _kept_attachments(case: Case, posted: dict[str, Any]) -> tuple[Attachment, ...]:
    uploaded = {item.get("filename"): item.get("url", "") for item in posted.get("attachments", [])}
    kept = []
    for index, attachment in enumerate(case.attachments, start=1):
        kept.append(replace(attachment, kept_url=uploaded.get(_upload_name(case, index, attachment), "")))
    return tuple(kept)


def _upload_name(case: Case, index: int, attachment: Attachment) -> str:
    return f"case-{case.number}-{index}{mimetypes.guess_extension(attachment.content_type) or ''}"
