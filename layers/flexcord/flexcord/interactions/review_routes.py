"""Review first at the endpoint: the Approve, Edit and Reject buttons of a review message in the
staff channel, and the form Edit opens.

The endpoint reads no database and no settings, so it cannot know the server's staff role: it
refuses members with neither Manage Server nor any role (as /announce does) and lets the rest
through; the worker checks, from the same signed interaction, that the presser is staff of the
review's server before anything changes. A forged custom_id names a review, never a right.

Approve and Reject queue ``announcement.review_decide`` and answer with a deferred update (the
worker edits the review message itself, and tells a late presser privately). Edit must answer
with its modal at once (a modal is the first answer or none): it is filled in from the review
message's embed, which shows the announcement as it will be posted, with no database read. The
form's submit queues ``announcement.review_edit``, answered with a deferred update too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flexcord.announcements.model import TITLE_MAX
from flexcord.interactions import custom_ids as ids
from flexcord.interactions import responses as reply
from flexcord.interactions.access import may_be_staff
from flexcord.interactions.case_forms import LABEL, PARAGRAPH, SHORT, TEXT_INPUT, submitted_values
from flexcord.interactions.model import Interaction, as_list, as_mapping
from flexcord.interactions.responses import InteractionResponse
from flexcord.interactions.setup_routes import Decision, Enqueue
from flexcord.jobs.model import Job, JobKind

NOT_STAFF = "Only this server's staff (Manage Server or the staff role) can review announcements."
STALE = "This button no longer does anything."
#: Discord's limit on a text input's value (an embed's description may hold 4,096).
TEXT_INPUT_MAX = 4000


def component(interaction: Interaction) -> Decision:
    """Approve, Edit or Reject on a review message."""
    refusal = _refusal(interaction)
    if refusal is not None:
        return refusal
    parsed = ids.parse_review_button(interaction.custom_id)
    if parsed is None:
        return reply.ephemeral_message(STALE)
    action, announcement_id = parsed
    if action == ids.REVIEW_EDIT:
        return review_modal(announcement_id, shown_on(interaction.message))
    job = Job.for_interaction(
        JobKind.REVIEW_DECIDE, interaction.context, {"announcement_id": announcement_id, "action": action}
    )
    return Enqueue(job, reply.deferred_update)


def submit(interaction: Interaction) -> Decision:
    """The Edit form: the new title and text, for the worker to store and show."""
    refusal = _refusal(interaction)
    if refusal is not None:
        return refusal
    announcement_id = ids.parse_review_modal(interaction.custom_id)
    if announcement_id is None:
        return reply.ephemeral_message("That form has expired.")
    values = submitted_values(interaction.data)
    title = str(values.get("title") or "").strip()
    text = str(values.get("text") or "").strip()
    if not title or not text:
        return reply.ephemeral_message("An announcement needs a title and a text. Nothing was changed.")
    payload = {"announcement_id": announcement_id, "title": title[:TITLE_MAX], "text": text[:TEXT_INPUT_MAX]}
    job = Job.for_interaction(JobKind.REVIEW_EDIT, interaction.context, payload)
    return Enqueue(job, reply.deferred_update)


def review_modal(announcement_id: str, shown: Mapping[str, str]) -> InteractionResponse:
    def text_input(custom_id: str, style: int, max_length: int) -> dict[str, Any]:
        widget: dict[str, Any] = {
            "type": TEXT_INPUT,
            "custom_id": custom_id,
            "style": style,
            "required": True,
            "max_length": max_length,
        }
        if shown.get(custom_id):
            widget["value"] = shown[custom_id][:max_length]
        return widget

    return reply.modal(
        ids.review_modal(announcement_id),
        "Edit before it is posted",
        [
            {"type": LABEL, "label": "Title", "component": text_input("title", SHORT, TITLE_MAX)},
            {"type": LABEL, "label": "Text", "component": text_input("text", PARAGRAPH, TEXT_INPUT_MAX)},
        ],
    )


def shown_on(message: Mapping[str, Any]) -> dict[str, str]:
    """The title and text as the review message's embed shows them (the post's embed)."""
    embeds = as_list(message.get("embeds"))
    embed = as_mapping(embeds[0]) if embeds else {}
    return {"title": str(embed.get("title") or ""), "text": str(embed.get("description") or "")}


def _refusal(interaction: Interaction) -> InteractionResponse | None:
    return None if may_be_staff(interaction.context) else reply.ephemeral_message(NOT_STAFF)
