"""Posting an announcement (``announcement.post``), from /announce or the announcement webhook.

The post goes to the payload's channel, else the server's announcements channel, and only if that
channel belongs to the payload's server and the server is one Flexcord serves. It is an embed
(title, text, link, image); the content holds the role mention when a role is to be pinged, and
``allowed_mentions`` whitelists that role and nothing else, so no other mention in the text pings.

Posted once: the message's nonce is derived from the announcement id (a retry inside Discord's
nonce window gets the message already posted), and the post is recorded in DynamoDB under the
announcement id before anything else happens, so a job retried later finds it and does not post
again. In an announcement channel the post is then published to the following servers
(crossposted). Discord allows about ten publications per hour per channel: over that, or when
Discord refuses, the post stands, the job succeeds, and the admin is told it was not published.

A scheduled announcement (``scheduled`` in the payload) waits in DynamoDB until the scheduler
queues it. The poster marks it being posted before posting (from then on /announce cancel says it
is too late), and forgets it once the post is recorded. Posts no member is waiting on (scheduled,
from the webhook or a feed) report what went wrong in the server's staff channel.

Review first: a payload with ``review_first`` (a feed set to it, or the webhook when
``ANNOUNCEMENTS_WEBHOOK_REVIEW_FIRST`` is true) and not yet ``approved`` is not posted here but
handed to the review (``jobs/announcement_review.py``), which shows it to staff; their Approve runs
this poster again with ``approved`` in the payload.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import requests

from flexcord.adapters.discord import (
    NO_MENTIONS,
    AllowedMentions,
    DiscordApiError,
    DiscordClient,
    DiscordError,
    FileUpload,
    RateLimited,
)
from flexcord.announcements.model import (
    DRAFT_LIFETIME,
    AnnouncementDraft,
    AnnouncementDrafts,
    AnnouncementLog,
    CancelOutcome,
    PostedAnnouncement,
    Publication,
    ScheduledAnnouncement,
    ScheduledAnnouncements,
    announcement_embed,
    announcement_job_group,
    announcement_job_key,
    announcement_nonce,
    role_mention,
)
from flexcord.announcements.post_time import InvalidPostTime, parse_post_time
from flexcord.cases.model import ATTACHMENT_MAX_BYTES
from flexcord.interactions import custom_ids as ids
from flexcord.jobs.access import is_staff
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.jobs.notify import tell_member, tell_staff
from flexcord.observability import logger, metrics
from flexcord.servers.settings import ServerDirectory

GUILD_TEXT, GUILD_ANNOUNCEMENT = 0, 5
#: Discord's "This message has already been crossposted".
ALREADY_CROSSPOSTED = 40033
OVER_LIMIT_NOTE = (
    "Discord's limit of about ten publications per hour in this channel was reached; "
    "publish it from Discord later"
)
REFUSED_NOTE = "Discord refused to publish it (the bot needs Send Messages in the channel)"


class AnnouncementJobs:
    def __init__(
        self,
        servers: ServerDirectory,
        discord: DiscordClient,
        log: AnnouncementLog,
        schedule: ScheduledAnnouncements,
        *,
        allowed_guild_ids: Sequence[str] = (),
        review: Callable[[Job], dict[str, Any]] | None = None,
    ) -> None:
        """``allowed_guild_ids``: the servers Flexcord serves (empty: any server). ``review``:
        where an announcement to be reviewed first goes instead (``ReviewFlow.submit``)."""
        self._servers = servers
        self._discord = discord
        self._log = log
        self._schedule = schedule
        self._allowed = frozenset(allowed_guild_ids)
        self._review = review

    def post(self, job: Job) -> dict[str, Any]:
        payload = job.payload
        announcement_id = str(payload["announcement_id"])
        server = str(payload["server"])
        scheduled = bool(payload.get("scheduled"))
        posted = self._log.posted(announcement_id)
        if posted is None:
            if payload.get("review_first") and not payload.get("approved"):
                # Staff decide first (a feed or the webhook set to review first); their Approve
                # runs this again with ``approved``. Once posted, a resent job finds the post.
                return self._hold_for_review(job)
            if scheduled and not self._schedule.start_posting(server, announcement_id):
                logger.info("scheduled announcement cancelled before its time", extra={"id": announcement_id})
                return {"cancelled": True}
            settings = self._servers.settings_for(server)
            channel_id = payload.get("channel_id") or settings.announcements_channel_id
            if not channel_id:
                return self._refuse(
                    job, "This server has no announcements channel: pick one with `/setup`, then post again."
                )
            channel = self._channel_of(server, str(channel_id))
            if channel is None:
                return self._refuse(job, "That channel isn't a text or announcement channel of this server.")
            try:
                posted = self._post(job, announcement_id, server, channel)
            except DiscordApiError as refusal:
                logger.warning(
                    "announcement refused by Discord",
                    extra={"announcement_id": announcement_id, "code": refusal.code},
                )
                return self._refuse(
                    job,
                    f"Discord refused the post in <#{channel['id']}>: the bot needs View Channel, "
                    "Send Messages and Embed Links there.",
                )
        if scheduled:
            self._schedule.remove(server, announcement_id)
        if posted.publication is Publication.PENDING:
            posted = self._publish(posted)
        self._tell(job, posted)
        return {
            "message_id": posted.message_id,
            "channel_id": posted.channel_id,
            "publication": posted.publication.value,
        }

    # -- steps -------------------------------------------------------------------------------

    def _hold_for_review(self, job: Job) -> dict[str, Any]:
        if self._review is None:
            # Never post what was to be reviewed: hold it rather than post it unreviewed.
            logger.warning("announcement to review, but no review is wired", extra={"key": job.key})
            return {"held": "no review"}
        return self._review(job)

    def _channel_of(self, server: str, channel_id: str) -> dict[str, Any] | None:
        """The channel, if it is a text or announcement channel of ``server`` and Flexcord
        serves ``server``; None otherwise."""
        if self._allowed and server not in self._allowed:
            return None
        return posting_channel(self._discord, server, channel_id)

    def _post(
        self, job: Job, announcement_id: str, server: str, channel: dict[str, Any]
    ) -> PostedAnnouncement:
        payload = job.payload
        role_id = str(payload["role_id"]) if payload.get("role_id") else None
        image_url = payload.get("image_url") or None
        files: list[FileUpload] = []
        if image_url and payload.get("image_is_upload"):
            # A file uploaded in Discord's form: its CDN link expires, so the post carries a copy.
            files = self._copy_of(str(image_url))
            image_url = f"attachment://{files[0].filename}" if files else None
        embed = announcement_embed(
            title=str(payload["title"]),
            text=str(payload["text"]),
            url=payload.get("url") or None,
            image_url=image_url,
        )
        [message] = self._discord.create_message(
            str(channel["id"]),
            content=role_mention(role_id),
            embeds=[embed],
            files=files,
            allowed_mentions=AllowedMentions(roles=[role_id]) if role_id else NO_MENTIONS,
            nonce=announcement_nonce(announcement_id),
        )
        metrics.add_metric(name="AnnouncementsPosted", unit="Count", value=1)
        is_announcement_channel = channel.get("type") == GUILD_ANNOUNCEMENT
        return self._log.record_post(
            PostedAnnouncement(
                announcement_id=announcement_id,
                server=server,
                channel_id=str(channel["id"]),
                message_id=str(message["id"]),
                publication=Publication.PENDING if is_announcement_channel else Publication.NOT_NEEDED,
            )
        )

    def _copy_of(self, url: str) -> list[FileUpload]:
        """The uploaded picture, to attach to the post; none if it cannot be read any more."""
        name = PurePosixPath(urlsplit(url).path).name or "announcement.png"
        content_type = mimetypes.guess_type(name)[0] or "image/png"
        try:
            content = self._discord.download_attachment(url, max_bytes=ATTACHMENT_MAX_BYTES)
        except (DiscordError, requests.RequestException, ValueError):
            logger.warning("announcement picture not copied; posted without it")
            return []
        return [
            FileUpload(
                filename=f"announcement{PurePosixPath(name).suffix}",
                content=content,
                content_type=content_type,
            )
        ]

    def _publish(self, posted: PostedAnnouncement) -> PostedAnnouncement:
        """Crosspost; over the hourly limit or refused, the post stands unpublished."""
        publication, note = Publication.PUBLISHED, ""
        try:
            self._discord.crosspost_message(posted.channel_id, posted.message_id)
        except RateLimited:
            publication, note = Publication.NOT_PUBLISHED, OVER_LIMIT_NOTE
        except DiscordApiError as refusal:
            if refusal.code != ALREADY_CROSSPOSTED:
                logger.warning(
                    "announcement not published",
                    extra={"message_id": posted.message_id, "code": refusal.code},
                )
                publication, note = Publication.NOT_PUBLISHED, REFUSED_NOTE
        self._log.record_publication(posted.announcement_id, publication, note)
        return replace(posted, publication=publication, note=note)

    def report_undelivered(self, job: Job) -> bool:
        """An announcement job's last delivery failed: staff hear it was not posted, and a
        scheduled one is forgotten (the scheduler would otherwise keep it as being posted)."""
        # Staff first: when DynamoDB is what failed, the reads below may fail too.
        told = self._tell_staff(job, "could not be posted after several tries; post it again by hand.")
        if job.payload.get("scheduled") and self._log.posted(str(job.payload["announcement_id"])) is None:
            self._schedule.remove(str(job.payload["server"]), str(job.payload["announcement_id"]))
        return told

    def _tell(self, job: Job, posted: PostedAnnouncement) -> None:
        if job.context is None:
            if posted.publication is Publication.NOT_PUBLISHED:
                self._tell_staff(
                    job,
                    f"was posted in <#{posted.channel_id}> but **not published** to following servers: "
                    f"{posted.note}.",
                    tag="np",
                )
            return
        where = f"<#{posted.channel_id}>"
        if posted.publication is Publication.PUBLISHED:
            text = f"✅ Posted in {where} and published to the servers that follow it."
        elif posted.publication is Publication.NOT_PUBLISHED:
            text = f"⚠️ Posted in {where}, but **not published** to following servers: {posted.note}."
        else:
            text = f"✅ Posted in {where}."
        tell_member(self._discord, job.context, content=text)

    def _refuse(self, job: Job, text: str) -> dict[str, Any]:
        if job.context is not None:
            tell_member(self._discord, job.context, content=f"⚠️ Not posted. {text}")
        else:
            logger.warning("announcement not posted", extra={"reason": text, "key": job.key})
            self._tell_staff(job, f"was **not posted**. {text}", tag="rf")
            if job.payload.get("scheduled"):
                # Refused for good (no channel, no access): the scheduler must not queue it again.
                self._schedule.remove(str(job.payload["server"]), str(job.payload["announcement_id"]))
        # The reason, for whoever ran the post (an approved review shows it on its message).
        return {"refused": True, "reason": text}

    def _tell_staff(self, job: Job, what: str, *, tag: str = "ud") -> bool:
        """``what`` completes "The announcement «title» (source)…"; one notice per announcement
        and ``tag`` (the nonce), however often the job is retried."""
        payload = job.payload
        server = str(payload.get("server") or "")
        source = _SOURCES.get(str(payload.get("source") or ""), "an automatic post")
        title = str(payload.get("title") or "untitled")[:100]
        staff_channel = self._servers.settings_for(server).staff_channel_id if server else None
        return tell_staff(
            self._discord,
            staff_channel,
            content=f"⚠️ The announcement **{title}** ({source}) {what}",
            nonce=tag + announcement_nonce(str(payload.get("announcement_id") or job.key))[2:],
        )


_SOURCES = {
    "announce": "scheduled with /announce",
    "webhook": "from the announcements webhook",
    "feed": "from a feed",
}


def posting_channel(discord: DiscordClient, server: str, channel_id: str) -> dict[str, Any] | None:
    """The channel, if the bot can see it and it is a text or announcement channel of ``server``
    (where announcements and feed entries may be posted); None otherwise."""
    try:
        channel = discord.get_channel(channel_id)
    except DiscordApiError:
        return None  # unknown, or the bot cannot see it
    if str(channel.get("guild_id")) != server:
        return None
    return channel if channel.get("type") in (GUILD_TEXT, GUILD_ANNOUNCEMENT) else None


ACTION_ROW, BUTTON = 1, 2
PRIMARY, SECONDARY, DANGER = 1, 2, 4
NOT_STAFF = (
    "⚠️ Only this server's staff (Manage Server or the staff role) can post announcements. Nothing was posted."
)
NOT_THE_AUTHOR = "⚠️ Only the author of this announcement can post or cancel it. Nothing was posted."
EXPIRED = "⚠️ This announcement draft has expired or was cancelled. Run `/announce` again."


class AnnounceFlow:
    """/announce in the worker: keep the form as a draft and show its preview, then Post or
    Cancel it. Every step re-checks, against the signed interaction, that the member is staff
    (Manage Server or the server's staff role), and Post and Cancel that the presser wrote the
    draft: a forged custom_id changes nothing."""

    def __init__(
        self,
        servers: ServerDirectory,
        discord: DiscordClient,
        drafts: AnnouncementDrafts,
        poster: AnnouncementJobs,
        schedule: ScheduledAnnouncements,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._servers = servers
        self._discord = discord
        self._drafts = drafts
        self._poster = poster
        self._schedule = schedule
        self._clock = clock

    def draft(self, job: Job) -> dict[str, Any]:
        context = job.interaction
        if not is_staff(self._servers, context):
            tell_member(self._discord, context, content=NOT_STAFF)
            return {"refused": True}
        payload = job.payload
        post_at = None
        if payload.get("when"):
            zone = self._servers.support_hours_of(context.guild_id).zone
            try:
                post_at = int(parse_post_time(str(payload["when"]), now=self._clock(), zone=zone).timestamp())
            except InvalidPostTime as invalid:
                tell_member(self._discord, context, content=f"⚠️ Nothing was saved. {invalid}")
                return {"refused": True}
        draft = self._drafts.keep(
            AnnouncementDraft(
                draft_id=context.interaction_id,
                server=str(context.guild_id),
                author_id=context.user_id,
                title=str(payload["title"]),
                text=str(payload["text"]),
                image_url=payload.get("image_url") or None,
                role_id=payload.get("role_id") or None,
                expires_at=int(self._clock().timestamp()) + DRAFT_LIFETIME,
                post_at=post_at,
            )
        )
        replaced = payload.get("replaces")
        if replaced:
            # The edited draft's preview must not post too: only its author's unused draft goes.
            old = self._drafts.get(str(replaced))
            if old is not None and old.author_id == context.user_id and old.used_by is None:
                self._drafts.drop(old.draft_id)
        where = self._servers.settings_for(draft.server).announcements_channel_id
        heading = (
            f"**Preview** — this is how it will look in <#{where}>."
            if where
            else "**Preview** — no announcements channel is set yet: pick one with `/setup` before posting."
        )
        if draft.post_at:
            heading += f"\n🗓️ To be posted <t:{draft.post_at}:F> (<t:{draft.post_at}:R>)."
        ping = f"\n{role_mention(draft.role_id)}" if draft.role_id else ""
        tell_member(
            self._discord,
            context,
            content=heading + ping,
            embeds=[_embed_of(draft)],
            components=[_preview_buttons(draft.draft_id, scheduled=draft.post_at is not None)],
        )
        return {"draft_id": draft.draft_id}

    def decide(self, job: Job) -> dict[str, Any]:
        context = job.interaction
        draft_id = str(job.payload["draft_id"])
        if not is_staff(self._servers, context):
            tell_member(self._discord, context, content=NOT_STAFF)
            return {"refused": True}
        draft = self._drafts.get(draft_id)
        if draft is None or draft.expires_at <= self._clock().timestamp() or draft.server != context.guild_id:
            tell_member(self._discord, context, content=EXPIRED)
            return {"refused": True}
        if draft.author_id != context.user_id:
            # Nothing to edit: the preview is the author's own, so just say no to this member.
            self._discord.create_followup(context.token, content=NOT_THE_AUTHOR, ephemeral=True)
            return {"refused": True}
        if job.payload.get("action") == "cancel":
            if draft.used_by is None:
                self._drafts.drop(draft_id)
            tell_member(self._discord, context, content="Announcement cancelled; nothing was posted.")
            return {"cancelled": True}
        return self._post_draft(job, draft)

    def _post_draft(self, job: Job, draft: AnnouncementDraft) -> dict[str, Any]:
        """Post: now, or at its time. One press uses the draft; the others are told."""
        context, draft_id = job.interaction, draft.draft_id
        claimed = self._drafts.claim(draft_id, press_id=context.interaction_id)
        if claimed is None or claimed.used_by != context.interaction_id:
            tell_member(self._discord, context, content="This announcement was already posted.")
            return {"already": True}
        payload = _post_payload(draft)
        if draft.post_at is not None and draft.post_at > self._clock().timestamp():
            return self._schedule_post(context, draft, payload)
        result = self._poster.post(
            Job(
                JobKind.POST_ANNOUNCEMENT,
                key=announcement_job_key(draft_id),
                group=announcement_job_group(draft.server),
                context=context,
                payload=payload,
                attempt=job.attempt,
            )
        )
        if result.get("refused"):
            # Nothing was posted (no channel, or Discord refused): Post can be pressed again.
            self._drafts.release(draft_id, press_id=context.interaction_id)
        return result

    def list_scheduled(self, job: Job) -> dict[str, Any]:
        """/announce list: the server's scheduled announcements, soonest first."""
        context = job.interaction
        if not is_staff(self._servers, context):
            tell_member(self._discord, context, content=NOT_STAFF)
            return {"refused": True}
        waiting = self._schedule.of_server(str(context.guild_id))
        if not waiting:
            tell_member(self._discord, context, content="No announcement is scheduled in this server.")
            return {"scheduled": 0}
        lines = [
            f"`{item.announcement_id}` <t:{item.post_at}:f> (<t:{item.post_at}:R>) **{item.title[:80]}** "
            f"by <@{item.author_id}>" + (" — being posted" if item.state != "scheduled" else "")
            for item in waiting[:LIST_MAX]
        ]
        more = len(waiting) - LIST_MAX
        if more > 0:
            lines.append(f"…and {more} more.")
        heading = "**Scheduled announcements** (cancel one with `/announce cancel id:<id>`)"
        tell_member(self._discord, context, content="\n".join([heading, *lines]))
        return {"scheduled": len(waiting)}

    def cancel_scheduled(self, job: Job) -> dict[str, Any]:
        """/announce cancel: any staff member of the server may cancel its scheduled posts; the
        id is looked up in the caller's own server only."""
        context = job.interaction
        if not is_staff(self._servers, context):
            tell_member(self._discord, context, content=NOT_STAFF)
            return {"refused": True}
        announcement_id = str(job.payload["id"])
        outcome = self._schedule.cancel(str(context.guild_id), announcement_id)
        text = {
            CancelOutcome.CANCELLED: f"Scheduled announcement `{announcement_id}` cancelled; "
            "nothing was posted.",
            CancelOutcome.UNKNOWN: f"⚠️ No announcement `{announcement_id}` is scheduled in this server "
            "(it may have been posted already). `/announce list` shows what is scheduled.",
            CancelOutcome.TOO_LATE: f"⚠️ Too late: announcement `{announcement_id}` is being posted now.",
        }[outcome]
        tell_member(self._discord, context, content=text)
        return {"outcome": outcome.value}

    def _schedule_post(
        self, context: InteractionContext, draft: AnnouncementDraft, payload: dict[str, Any]
    ) -> dict[str, Any]:
        assert draft.post_at is not None
        self._schedule.schedule(
            ScheduledAnnouncement(
                announcement_id=draft.draft_id,
                server=draft.server,
                author_id=draft.author_id,
                post_at=draft.post_at,
                title=draft.title,
                job_payload={**payload, "scheduled": True},
            )
        )
        tell_member(
            self._discord,
            context,
            content=f"🗓️ Scheduled for <t:{draft.post_at}:F> (<t:{draft.post_at}:R>) as `{draft.draft_id}`. "
            "`/announce list` shows it; `/announce cancel` cancels it.",
            embeds=[_embed_of(draft)],
        )
        return {"scheduled_for": draft.post_at}


#: Scheduled announcements /announce list shows (a message holds 2,000 characters).
LIST_MAX = 15


def _post_payload(draft: AnnouncementDraft) -> dict[str, Any]:
    return {
        "announcement_id": draft.draft_id,
        "server": draft.server,
        "channel_id": None,
        "title": draft.title,
        "text": draft.text,
        "url": None,
        "image_url": draft.image_url,
        "image_is_upload": bool(draft.image_url),
        "role_id": draft.role_id,
        "source": "announce",
        "author_id": draft.author_id,
    }


def _embed_of(draft: AnnouncementDraft) -> dict[str, Any]:
    return announcement_embed(title=draft.title, text=draft.text, image_url=draft.image_url)


def _preview_buttons(draft_id: str, *, scheduled: bool = False) -> dict[str, Any]:
    def button(label: str, action: str, style: int) -> dict[str, Any]:
        custom_id = ids.announce_button(action, draft_id)
        return {"type": BUTTON, "style": style, "label": label, "custom_id": custom_id}

    return {
        "type": ACTION_ROW,
        "components": [
            button("Schedule" if scheduled else "Post", "post", PRIMARY),
            button("Edit", "edit", SECONDARY),
            button("Cancel", "cancel", DANGER),
        ],
    }
