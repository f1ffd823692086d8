"""Studio v2 Flows and their revisions: what ``/v2/Flows`` stores, and Twilio's JSON for them.

Every create and every update makes a new, immutable revision (Twilio: "Revisions are
automatically created when a Flow is created or updated"), even when nothing changed. The flow
shows its latest revision; executions run the latest *published* one (a draft runs only for
Studio's test users, whom the emulator does not model).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ..clock import iso_seconds
from ..errors import TwilioApiError
from ..sids import new_sid
from ..state import JsonObject, TwilioState
from .definition import validate_definition

FLOW_STATUSES = ("draft", "published")


@dataclass(frozen=True)
class FlowRevision:
    revision: int
    friendly_name: str
    definition: JsonObject
    status: str
    commit_message: str | None
    date_created: float


@dataclass
class Flow:
    sid: str
    date_created: float
    revisions: list[FlowRevision] = field(default_factory=list)

    @property
    def latest(self) -> FlowRevision:
        return self.revisions[-1]

    @property
    def published(self) -> FlowRevision | None:
        return next((r for r in reversed(self.revisions) if r.status == "published"), None)


class StudioFlows:
    """The account's flows. Callers hold ``state.lock`` (the methods take it too)."""

    def __init__(self, state: TwilioState) -> None:
        self.state = state
        self.flows: dict[str, Flow] = {}

    def get(self, sid: str) -> Flow:
        with self.state.lock:
            found = self.flows.get(sid)
            if found is None:
                raise TwilioApiError.not_found(f"/Flows/{sid}")
            return found

    def find(self, sid: str) -> Flow | None:
        with self.state.lock:
            return self.flows.get(sid)

    def create(
        self, *, friendly_name: str, status: str, definition: JsonObject, commit_message: str | None
    ) -> Flow:
        with self.state.lock:
            check_definition(definition)
            now = self.state.clock.now()
            flow = Flow(sid=new_sid("FW"), date_created=now)
            flow.revisions.append(
                FlowRevision(1, friendly_name, copy.deepcopy(definition), status, commit_message, now)
            )
            self.flows[flow.sid] = flow
            return flow

    def update(
        self,
        flow: Flow,
        *,
        status: str,
        friendly_name: str | None,
        definition: JsonObject | None,
        commit_message: str | None,
    ) -> Flow:
        with self.state.lock:
            if definition is not None:
                check_definition(definition)
            latest = flow.latest
            flow.revisions.append(
                FlowRevision(
                    revision=latest.revision + 1,
                    friendly_name=friendly_name if friendly_name is not None else latest.friendly_name,
                    definition=copy.deepcopy(definition) if definition is not None else latest.definition,
                    status=status,
                    commit_message=commit_message,
                    date_created=self.state.clock.now(),
                )
            )
            return flow

    def delete(self, flow: Flow) -> None:
        with self.state.lock:
            self.flows.pop(flow.sid, None)

    def revision(self, flow: Flow, number: str) -> FlowRevision:
        """A revision by number, or ``LatestPublished`` / ``LatestRevision``."""
        with self.state.lock:
            found: FlowRevision | None
            if number == "LatestRevision":
                found = flow.latest
            elif number == "LatestPublished":
                found = flow.published
            elif number.isdigit():
                found = next((r for r in flow.revisions if r.revision == int(number)), None)
            else:
                raise TwilioApiError.invalid_flow_revision()
            if found is None:
                raise TwilioApiError.not_found(f"/Flows/{flow.sid}/Revisions/{number}")
            return found

    # -- JSON ----------------------------------------------------------------------------------

    def flow_url(self, sid: str) -> str:
        return f"{self.state.product_url('studio')}/v2/Flows/{sid}"

    def render(self, flow: Flow, *, with_definition: bool = True) -> JsonObject:
        """A flow as fetch/create/update answer it (its latest revision, with the flow's own
        dates and links); lists leave out the definition and its validation (``null``), as
        Twilio's list examples show."""
        url = self.flow_url(flow.sid)
        latest = flow.latest
        account = self.state.account_sid
        return {
            **self.render_revision(flow, latest, with_definition=with_definition),
            "warnings": [] if with_definition else None,
            "date_created": iso_seconds(flow.date_created),
            # Where Twilio takes incoming requests for the flow (not served by the emulator).
            "webhook_url": f"{self.state.base_url}/webhooks/v1/Accounts/{account}/Flows/{flow.sid}",
            "url": url,
            "links": {
                "test_users": f"{url}/TestUsers",
                "revisions": f"{url}/Revisions",
                "executions": f"{url}/Executions",
            },
        }

    def render_revision(
        self, flow: Flow, revision: FlowRevision, *, with_definition: bool = True
    ) -> JsonObject:
        return {
            "sid": flow.sid,
            "account_sid": self.state.account_sid,
            "author_sid": None,  # made with account credentials, not by a Console user
            "friendly_name": revision.friendly_name,
            "definition": copy.deepcopy(revision.definition) if with_definition else None,
            "status": revision.status,
            "revision": revision.revision,
            "commit_message": revision.commit_message,
            "valid": True if with_definition else None,
            "errors": [] if with_definition else None,
            "date_created": iso_seconds(revision.date_created),
            "date_updated": iso_seconds(revision.date_created),
            "url": f"{self.flow_url(flow.sid)}/Revisions/{revision.revision}",
        }


def check_definition(definition: JsonObject) -> None:
    """Refuse an invalid definition with Twilio's 81022 and the list of problems."""
    problems = validate_definition(definition)
    if problems:
        raise TwilioApiError.invalid_flow_definition(problems)
