"""The /bug and /new_feature forms: the modals Discord shows, and reading their submissions back
into case drafts. Discord enforces the lengths in the client, but a submission is checked again
here because nothing a client sends is trusted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flexcord.cases.model import ATTACHMENT_MAX_BYTES, Attachment, CaseDraft, CaseKind, CaseSection, Reporter
from flexcord.interactions.model import Interaction, as_list, attachment_size

# https://discord.com/developers/docs/components/reference
LABEL, TEXT_INPUT, FILE_UPLOAD, ACTION_ROW = 18, 4, 19, 1
SHORT, PARAGRAPH = 1, 2

MODAL_PREFIX = "case"
TITLE_MAX = 100


class InvalidSubmission(ValueError):
    """What the member submitted cannot become a case; the message says why, for the member."""


@dataclass(frozen=True)
class TextField:
    custom_id: str
    label: str
    style: int
    max_length: int
    placeholder: str
    required: bool = True
    min_length: int = 1


@dataclass(frozen=True)
class CaseForm:
    kind: CaseKind
    title: str
    fields: tuple[TextField, ...]
    screenshot_label: str | None = None

    @property
    def custom_id(self) -> str:
        return f"{MODAL_PREFIX}:{self.kind.value}"

    def modal_components(self) -> list[dict[str, Any]]:
        components: list[dict[str, Any]] = [
            {
                "type": LABEL,
                "label": field.label,
                "component": {
                    "type": TEXT_INPUT,
                    "custom_id": field.custom_id,
                    "style": field.style,
                    "min_length": field.min_length,
                    "max_length": field.max_length,
                    "required": field.required,
                    "placeholder": field.placeholder,
                },
            }
            for field in self.fields
        ]
        if self.screenshot_label:
            components.append(
                {
                    "type": LABEL,
                    "label": self.screenshot_label,
                    "description": "An image of what you saw (optional)",
                    "component": {
                        "type": FILE_UPLOAD,
                        "custom_id": "screenshot",
                        "min_values": 0,
                        "max_values": 1,
                        "required": False,
                    },
                }
            )
        return components


BUG_FORM = CaseForm(
    kind=CaseKind.BUG,
    title="Report a bug",
    fields=(
        TextField("title", "Title", SHORT, TITLE_MAX, "Raid lobby freezes after the countdown", min_length=5),
        TextField("what_happened", "What happened?", PARAGRAPH, 1000, "What went wrong, and when"),
        TextField("steps", "Steps to reproduce", PARAGRAPH, 1000, "1. Open…  2. Tap…  3. See…"),
        TextField("expected_actual", "Expected vs actual", PARAGRAPH, 1000, "I expected… but instead…"),
    ),
    screenshot_label="Screenshot",
)

FEATURE_FORM = CaseForm(
    kind=CaseKind.FEATURE,
    title="Suggest a feature",
    fields=(
        TextField("title", "Title", SHORT, TITLE_MAX, "Trade history for the last 30 days", min_length=5),
        TextField("problem", "What problem would it solve?", PARAGRAPH, 1500, "Today I can't…"),
        TextField("proposal", "What do you propose?", PARAGRAPH, 1500, "A screen that…"),
    ),
)

FORMS: dict[str, CaseForm] = {form.custom_id: form for form in (BUG_FORM, FEATURE_FORM)}


def submitted_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """custom_id → value (text inputs) or list of attachment ids (file uploads), from the
    Label (type 18) layout or the older action-row layout."""
    values: dict[str, Any] = {}
    for top in as_list(data.get("components")):
        if not isinstance(top, dict):
            continue
        inner = [top.get("component")] if top.get("type") == LABEL else as_list(top.get("components"))
        for component in inner:
            if not isinstance(component, dict) or not isinstance(component.get("custom_id"), str):
                continue
            if component.get("type") == FILE_UPLOAD:
                values[component["custom_id"]] = as_list(component.get("values"))
            else:
                values[component["custom_id"]] = component.get("value")
    return values


def draft_from_submission(form: CaseForm, interaction: Interaction) -> CaseDraft:
    values = submitted_values(interaction.data)
    sections = []
    title = ""
    for field in form.fields:
        raw = values.get(field.custom_id)
        text = raw.strip() if isinstance(raw, str) else ""
        if field.required and len(text) < field.min_length:
            raise InvalidSubmission(f"“{field.label}” needs at least {field.min_length} characters.")
        if len(text) > field.max_length:
            raise InvalidSubmission(f"“{field.label}” is limited to {field.max_length} characters.")
        if field.custom_id == "title":
            title = " ".join(text.split())
        elif text:
            sections.append(CaseSection(field.label, text))
    sender = interaction.context
    return CaseDraft(
        kind=form.kind,
        title=title,
        sections=tuple(sections),
        reporter=Reporter(sender.user_id, sender.username, sender.display_name),
        guild_id=sender.guild_id,
        channel_id=sender.channel_id,
        attachments=_screenshots(values.get("screenshot"), interaction),
    )


def _screenshots(attachment_ids: Any, interaction: Interaction) -> tuple[Attachment, ...]:
    attachments = []
    for attachment_id in as_list(attachment_ids):
        found = interaction.resolved_attachment(attachment_id)
        if not found or not found.get("url"):
            raise InvalidSubmission("The screenshot did not come through; please attach it again.")
        content_type = str(found.get("content_type") or "")
        if not content_type.startswith("image/"):
            raise InvalidSubmission("The screenshot must be an image (PNG, JPEG, GIF or WebP).")
        size = attachment_size(found)
        if size > ATTACHMENT_MAX_BYTES:
            raise InvalidSubmission("The screenshot is larger than 10 MB; please attach a smaller one.")
        attachments.append(
            Attachment(
                filename=str(found.get("filename") or "screenshot"),
                content_type=content_type,
                size=size,
                source_url=str(found["url"]),
            )
        )
    return tuple(attachments)
