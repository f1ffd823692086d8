"""Cases: bug reports, feature requests and support cases, tracked by a human number (#1, #2…)."""

from flexcord.cases.model import (
    Attachment,
    Case,
    CaseDraft,
    CaseEvent,
    CaseKind,
    CaseSection,
    CaseStatus,
    Reporter,
)
from flexcord.cases.repository import CaseRepository
from flexcord.cases.service import CaseAccessDenied, CaseNotFound, CaseService, Viewer

__all__ = [
    "Attachment",
    "Case",
    "CaseAccessDenied",
    "CaseDraft",
    "CaseEvent",
    "CaseKind",
    "CaseNotFound",
    "CaseRepository",
    "CaseSection",
    "CaseService",
    "CaseStatus",
    "Reporter",
    "Viewer",
]
