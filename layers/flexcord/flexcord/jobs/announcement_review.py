"""Review first in the worker: an announcement from a feed or the webhook is shown to staff in the
server's staff channel, and posted only when one of them approves it.

``submit`` is called by the poster (``AnnouncementJobs.post``) instead of posting, for a payload
with ``review_first`` and not ``approved``. It stores the review (the first submission wins) and
posts the review message: where the announcement comes from and where it will go, the role it
will ping (shown, pinging nobody here), the embed exactly as it will be posted, and Approve, Edit
and Reject. The message carries a nonce derived from the announcement id and its id is recorded,
so a retried job shows it once. A server without a staff channel cannot review: the announcement
is held (stored, not posted), a warning logged and ``AnnouncementReviewsHeld`` counted; resent
once a staff channel is set, it is shown then.

``decide`` (Approve, Reject) and ``edit`` (the Edit form) come from the buttons. Who may press
them is judged from the signed interaction only, never from the custom_id: a member of the
review's server (the interaction's guild) who is staff there (the staff role, or Manage Server).
The decision is one conditional write, recorded before the post: the first press wins, a later
press is told privately who decided and nothing changes, and the deciding job delivered again
finds its own decision and finishes the post (the poster posts an announcement once, whatever
runs it). Approve runs the poster in this job, with ``approved`` in the payload; if the poster
refuses (no announcements channel, no access), nothing was posted, so the decision is undone and
the message says why and keeps its buttons. The review message then shows who decided and when,
and loses its buttons. Should the deciding job fail on every delivery after the decision was
recorded, the announcement stays approved and unposted: sending it again (the webhook's same
idempotency key) posts it, since staff approved it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flexcord.adapters.discord import NO_MENTIONS, DiscordApiError, DiscordClient
from flexcord.announcements.model import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    announcement_embed,
    announcement_job_group,
    announcement_job_key,
    role_mention,
)
from flexcord.announcements.review import (
    AnnouncementReview,
    AnnouncementReviews,
    ReviewState,
    review_nonce,
)
from flexcord.interactions import custom_ids as ids
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.observability import logger, metrics
from flexcord.servers.settings import ServerDirectory

ACTION_ROW, BUTTON = 1, 2
SECONDARY, SUCCESS, DANGER = 2, 3, 4
NOT_STAFF = (
    "⚠️ Only this server's staff (Manage Server or the staff role) can review announcements. Nothing changed."
)
GONE = "⚠️ This review no longer exists. Nothing changed."
#: Where the announcement comes from, by the payload's ``source``.
SOURCES = {"webhook": "from the announcements webhook", "feed": "a new entry of a feed"}

Poster = Callable[[Job], dict[str, Any]]


class ReviewFlow:
    def __init__(
        self,
        servers: ServerDirectory,
        discord: DiscordClient,
        reviews: AnnouncementReviews,
        post: Poster,
    ) -> None:
        """``post``: the poster (``AnnouncementJobs.post``), run on Approve."""
        self._servers = servers
        self._discord = discord
        self._reviews = reviews
        self._post = post

    # -- the poster hands an announcement over ---------------------------------------------------

    def submit(self, job: Job) -> dict[str, Any]:
        payload = job.payload
        announcement_id = str(payload["announcement_id"])
        review = self._reviews.submit(
            AnnouncementReview(
                announcement_id=announcement_id,
                server=str(payload["server"]),
                job_payload={name: value for name, value in payload.items() if name != "approved"},
            )
        )
        if review.state is ReviewState.APPROVED and review.decided_press is not None:
            # Approved, yet the poster found no post: the deciding job failed for good before
            # posting. Staff approved it, so sending it again posts it.
            return self._approve(review, press=review.decided_press, attempt=job.attempt)
        if review.message_id is not None:
            # Shown already: a retried job, or the same announcement sent again.
            return {"review": review.state.value, "message_id": review.message_id}
        staff_channel = self._servers.settings_for(review.server).staff_channel_id
        if not staff_channel:
            return self._held(review, "no staff channel")
        content, embeds, components = self._message(review)
        try:
            *_, message = self._discord.create_message(
                staff_channel,
                content=content,
                embeds=embeds,
                components=components,
                # The role mention is shown as the post will carry it; here it pings nobody.
                allowed_mentions=NO_MENTIONS,
                nonce=review_nonce(announcement_id),
            )
        except DiscordApiError as refusal:
            logger.warning("review message refused by Discord", extra={"code": refusal.code})
            return self._held(review, "the staff channel refused the review")
        self._reviews.set_message(announcement_id, staff_channel, str(message["id"]))
        metrics.add_metric(name="AnnouncementReviewsRequested", unit="Count", value=1)
        return {"review": review.state.value, "channel_id": staff_channel, "message_id": str(message["id"])}

    def _held(self, review: AnnouncementReview, why: str) -> dict[str, Any]:
        # Nobody can be told in Discord (that is the staff channel's job): the log and the metric
        # are the operator's signal, and the README says review first needs a staff channel.
        logger.warning(
            "announcement held for review, not shown",
            extra={"announcement_id": review.announcement_id, "server": review.server, "why": why},
        )
        metrics.add_metric(name="AnnouncementReviewsHeld", unit="Count", value=1)
        return {"held": why}

    # -- the buttons ---------------------------------------------------------------------------

    def decide(self, job: Job) -> dict[str, Any]:
        """Approve or Reject: the first press decides, once."""
        context = job.interaction
        review = self._review_for(context, str(job.payload["announcement_id"]))
        if review is None:
            return {"refused": True}
        approve = job.payload.get("action") == ids.REVIEW_APPROVE
        state = ReviewState.APPROVED if approve else ReviewState.REJECTED
        stored = self._reviews.decide(
            review.announcement_id, state, by=context.user_id, press=context.interaction_id
        )
        if stored is None:
            self._say(context, GONE)
            return {"refused": True}
        if stored.decided_press != context.interaction_id:
            self._say(context, f"{_decided(stored)} Nothing changed.")
            return {"already": stored.state.value, "decided_by": stored.decided_by}
        if state is ReviewState.REJECTED:
            self._show(stored, f"🚫 Rejected by {_who_when(stored)} — nothing was posted.")
            metrics.add_metric(name="AnnouncementReviewsRejected", unit="Count", value=1)
            return {"rejected": True}
        return self._approve(stored, press=context.interaction_id, attempt=job.attempt)

    def _approve(self, review: AnnouncementReview, *, press: str, attempt: int) -> dict[str, Any]:
        """Post the approved review (the poster posts it once, whoever runs it), then show the
        outcome; a refused post undoes ``press``'s decision."""
        result = self._post(
            Job(
                JobKind.POST_ANNOUNCEMENT,
                key=announcement_job_key(review.announcement_id),
                group=announcement_job_group(review.server),
                # No member's interaction: the poster reports trouble to the staff channel, and
                # the review message says what happened.
                context=None,
                payload={**review.job_payload, "approved": True},
                attempt=attempt,
            )
        )
        if result.get("refused"):
            # Nothing was posted: undo the decision so Approve works once the cause is fixed.
            self._reviews.release(review.announcement_id, press=press)
            reason = str(result.get("reason") or "the poster refused it.")
            self._show(
                review,
                f"⚠️ Approved by {_who_when(review)}, but **not posted**: {reason} "
                "Press Approve again once that is fixed.",
                buttons=True,
            )
            return {"refused": True, "released": True}
        where = f"posted in <#{result['channel_id']}>" if result.get("channel_id") else "posted"
        if result.get("publication") == "not_published":
            where += ", not published to the servers that follow it (see the notice below)"
        self._show(review, f"✅ Approved by {_who_when(review)} — {where}.")
        metrics.add_metric(name="AnnouncementReviewsApproved", unit="Count", value=1)
        return {"approved": True, **result}

    def edit(self, job: Job) -> dict[str, Any]:
        """The Edit form: a pending review's title and text, replaced before anyone approves."""
        context = job.interaction
        review = self._review_for(context, str(job.payload["announcement_id"]))
        if review is None:
            return {"refused": True}
        edited = self._reviews.edit(
            review.announcement_id,
            title=str(job.payload["title"]).strip()[:TITLE_MAX],
            text=str(job.payload["text"]).strip()[:DESCRIPTION_MAX],
            by=context.user_id,
        )
        if edited is None:
            current = self._reviews.get(review.announcement_id)
            self._say(context, f"{_decided(current)} The edit was not saved." if current else GONE)
            return {"already": current.state.value if current else None}
        self._show(edited, buttons=True)
        return {"edited": True}

    def _review_for(self, context: InteractionContext, announcement_id: str) -> AnnouncementReview | None:
        """The review, if the presser may act on it: it belongs to the server the interaction
        came from, and the presser is staff there. Otherwise the presser is told, privately."""
        review = self._reviews.get(announcement_id)
        if review is None or context.guild_id is None or review.server != context.guild_id:
            self._say(context, GONE)
            return None
        if not self._servers.settings_for(review.server).is_staff(context.roles, context.permissions):
            logger.info("review press refused: not staff", extra={"user_id": context.user_id})
            self._say(context, NOT_STAFF)
            return None
        return review

    # -- the review message ----------------------------------------------------------------------

    def _message(
        self, review: AnnouncementReview, outcome: str | None = None, *, buttons: bool = True
    ) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
        """The review message: heading, the role mention the post will carry, who edited it, the
        outcome once decided; the post's embed; the buttons while it waits."""
        payload = review.job_payload
        source = SOURCES.get(str(payload.get("source") or ""), "an automatic post")
        if payload.get("source") == "feed" and payload.get("feed_id"):
            named = f"**{str(payload['feed_name'])[:100]}** " if payload.get("feed_name") else ""
            source = f"a new entry of the feed {named}`{payload['feed_id']}`"
        settings = self._servers.settings_for(review.server)
        channel = payload.get("channel_id") or settings.announcements_channel_id
        where = (
            f"<#{channel}>"
            if channel
            else "the announcements channel (none is set: pick one with `/setup` before approving)"
        )
        lines = [f"📝 **Review first** — {source}, to be posted in {where}."]
        role = role_mention(str(payload["role_id"]) if payload.get("role_id") else None)
        if role:
            lines.append(role)
        if review.edited_by:
            lines.append(f"✏️ Edited by <@{review.edited_by}>.")
        if outcome:
            lines.append(outcome)
        embed = announcement_embed(
            title=review.title,
            text=review.text,
            url=payload.get("url") or None,
            image_url=payload.get("image_url") or None,
        )
        return "\n".join(lines), [embed], [_buttons(review.announcement_id)] if buttons else []

    def _show(self, review: AnnouncementReview, outcome: str | None = None, *, buttons: bool = False) -> None:
        """Edit the review message to show the review as it now stands."""
        if review.channel_id is None or review.message_id is None:
            return
        content, embeds, components = self._message(review, outcome, buttons=buttons)
        try:
            self._discord.edit_message(
                review.channel_id,
                review.message_id,
                content=content,
                embeds=embeds,
                components=components,
                allowed_mentions=NO_MENTIONS,
            )
        except DiscordApiError as refusal:
            # Deleted, or the bot lost access: the decision and the post stand regardless.
            logger.warning(
                "review message not updated",
                extra={"announcement_id": review.announcement_id, "code": refusal.code},
            )

    def _say(self, context: InteractionContext, text: str) -> None:
        """Tell the presser privately. The deferred answer was an update of the review message,
        which everyone sees: it is not the place, so this is an ephemeral follow-up."""
        try:
            self._discord.create_followup(
                context.token, content=text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
        except DiscordApiError as refusal:
            # The interaction's token expired (a job retried after 15 minutes): nothing changed,
            # so there is nothing the presser must learn.
            logger.info("private answer not delivered", extra={"code": refusal.code})


def _who_when(review: AnnouncementReview) -> str:
    at = review.decided_at
    return f"<@{review.decided_by}>" + (f" <t:{at}:f>" if at else "")


def _decided(review: AnnouncementReview | None) -> str:
    if review is None:
        return GONE
    if review.state is ReviewState.APPROVED:
        return f"✅ Already approved by {_who_when(review)}."
    if review.state is ReviewState.REJECTED:
        return f"🚫 Already rejected by {_who_when(review)}."
    return "⏳ Someone else is deciding on it right now; look again in a moment."


def _buttons(announcement_id: str) -> dict[str, Any]:
    def button(label: str, action: str, style: int) -> dict[str, Any]:
        return {
            "type": BUTTON,
            "style": style,
            "label": label,
            "custom_id": ids.review_button(action, announcement_id),
        }

    return {
        "type": ACTION_ROW,
        "components": [
            button("Approve", ids.REVIEW_APPROVE, SUCCESS),
            button("Edit", ids.REVIEW_EDIT, SECONDARY),
            button("Reject", ids.REVIEW_REJECT, DANGER),
        ],
    }
