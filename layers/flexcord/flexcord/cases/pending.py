"""A report held back while its member says whether it is one of the open cases offered.

The draft is kept for a day under the id of the interaction that submitted it. The first choice
made for it counts, and is recorded with the press that made it: a second press (the same
button twice, or the other button) finds the choice made and repeats its outcome, so a member
is counted once and a report filed once however often Discord or the member delivers a press.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flexcord.cases.model import CaseDraft

#: How long a held draft can still be filed or counted.
DRAFT_TTL_SECONDS = 24 * 3600
#: The choice "No, file mine" (case numbers start at 1).
FILE_MINE = 0


@dataclass(frozen=True)
class Offered:
    """An open case offered as a possible duplicate, as the offer showed it."""

    number: int
    title: str


@dataclass(frozen=True)
class PendingDraft:
    """``draft_id`` is the submit's interaction id; ``choice`` is None until the member
    chooses, then ``FILE_MINE`` or the number of the case they picked, and ``decided_by`` the
    interaction id of the press that chose."""

    draft_id: str
    draft: CaseDraft
    offered: tuple[Offered, ...]
    expires_at: int
    choice: int | None = None
    decided_by: str = ""

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def offers(self, number: int) -> bool:
        return any(case.number == number for case in self.offered)


class PendingDrafts(Protocol):
    def keep(self, pending: PendingDraft) -> PendingDraft:
        """Store the draft unless one is stored under its id already (a redelivered submit);
        returns the stored one."""
        ...

    def get(self, draft_id: str) -> PendingDraft | None: ...

    def decide(self, draft_id: str, choice: int, *, press_id: str) -> PendingDraft | None:
        """Record the choice unless another press chose first (the same press again may: it is
        a redelivery). Returns the draft with the choice that counts; None when it is gone."""
        ...
