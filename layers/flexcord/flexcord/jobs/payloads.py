"""Job payloads that carry domain objects, as plain JSON-ready dicts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flexcord.cases.model import Attachment, CaseDraft, CaseKind, CaseSection, Reporter


def draft_to_payload(draft: CaseDraft) -> dict[str, Any]:
    return {"draft": asdict(draft)}


def draft_from_payload(payload: dict[str, Any]) -> CaseDraft:
    data = payload["draft"]
    return CaseDraft(
        kind=CaseKind(data["kind"]),
        title=data["title"],
        sections=tuple(CaseSection(**section) for section in data["sections"]),
        reporter=Reporter(**data["reporter"]),
        guild_id=data.get("guild_id"),
        channel_id=data.get("channel_id"),
        attachments=tuple(Attachment(**attachment) for attachment in data.get("attachments", [])),
        priority=data.get("priority", "normal"),
    )
