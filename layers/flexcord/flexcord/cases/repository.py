"""The port the case service needs from storage. The DynamoDB adapter lives in adapters/storage."""

from __future__ import annotations

from typing import Protocol

from flexcord.cases.model import Case, CaseDraft


class CaseRepository(Protocol):
    def create(self, draft: CaseDraft, *, source_id: str, now: str) -> Case:
        """Give the draft the next case number and store it.

        Idempotent on ``source_id`` (the Discord interaction that asked for it): a second call with
        the same source returns the case the first one created instead of numbering a new one.
        """
        ...

    def get(self, number: int) -> Case | None: ...

    def list_by_reporter(self, user_id: str, *, limit: int) -> list[Case]:
        """The reporter's cases, newest first."""
        ...

    def save(self, case: Case) -> None:
        """Replace a stored case with this version (posting details, status changes)."""
        ...
