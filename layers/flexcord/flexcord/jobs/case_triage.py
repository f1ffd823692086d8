"""Staff triage inside Discord, and what reporters hear about it.

Every job here starts from the signed interaction: the staff check uses the member's roles and
permissions in it against the settings of the server it came from, so a crafted custom_id, or a
member pressing a staff control, changes nothing. The case is always that server's.

Exactly once. A job delivered twice runs once (the worker's idempotency record). A job retried
after failing half-way finds its change recorded (the case history carries the delivery's id),
does not make it again, and still finishes the rest: the post edit (idempotent) and the
reporter's update, which carries a nonce derived from the delivery, so Discord keeps one message.
"""

from __future__ import annotations

from typing import Any

from flexcord.adapters.discord import AllowedMentions, DiscordApiError, DiscordClient, derived_nonce
from flexcord.cases import Case, CaseEvent, CaseKind, CaseNotFound, CaseService, CaseStatus
from flexcord.cases.service import (
    Actor,
    CaseAccessDenied,
    CaseFilter,
    InvalidCaseChange,
    InvalidTransition,
    Viewer,
)
from flexcord.interactions.custom_ids import show_case_button
from flexcord.jobs.access import is_staff
from flexcord.jobs.case_posts import CasePosts
from flexcord.jobs.model import Job
from flexcord.jobs.notify import tell_member
from flexcord.jobs.presentation import case_list_line, truncate
from flexcord.observability import logger, metrics
from flexcord.servers.settings import ServerDirectory

NOT_STAFF = "Only this server's staff can change cases. Nothing was changed."
SERVER_LIST_LIMIT = 25


class CaseTriage:
    def __init__(
        self, service: CaseService, discord: DiscordClient, servers: ServerDirectory, posts: CasePosts
    ) -> None:
        self._service = service
        self._discord = discord
        self._servers = servers
        self._posts = posts

    # -- staff ----------------------------------------------------------------------------------

    def update_case(self, job: Job) -> dict[str, Any]:
        member = job.interaction
        if not is_staff(self._servers, member):
            logger.info("case change refused: not staff", extra={"user_id": member.user_id})
            tell_member(self._discord, member, content=NOT_STAFF)
            return {"refused": "not staff"}
        payload = job.payload
        number = int(payload["number"])
        actor = Actor(member.user_id, member.display_name)
        try:
            case, reply = self._apply(job, number, actor)
        except CaseNotFound as missing:
            tell_member(self._discord, member, content=f"There is no case #{missing.number} in this server.")
            return {"case": number, "changed": False}
        except (InvalidTransition, InvalidCaseChange) as problem:
            tell_member(self._discord, member, content=f"Case #{number} was not changed: {problem}.")
            return {"case": number, "changed": False}
        self._posts.refresh(case)
        event = _event_of(case, job.key)
        told = ""
        if event is not None and _reporter_hears_of(event):
            told = self._tell_reporter(case, event, key=job.key)
        tell_member(self._discord, member, content=reply + told)
        return {"case": number, "changed": event is not None}

    def _apply(self, job: Job, number: int, actor: Actor) -> tuple[Case, str]:
        payload, server = job.payload, job.interaction.guild_id
        action = payload.get("action")
        if action == "status":
            status = CaseStatus(str(payload["status"]))
            note = str(payload.get("note") or "")
            case = self._service.move(server, number, status, actor=actor, note=note, event_id=job.key)
            metrics.add_metric(name="CaseStatusChanges", unit="Count", value=1)
            return case, f"Case #{number} is now **{case.status.label}**."
        if action == "note":
            tell = bool(payload.get("tell_reporter"))
            case = self._service.add_note(
                server, number, str(payload["note"]), actor=actor, tell_reporter=tell, event_id=job.key
            )
            return case, f"Note added to case #{number}." if not tell else f"Update sent on case #{number}."
        if action == "duplicate":
            original = int(payload["original"])
            case, merged = self._service.mark_duplicate(
                server, number, original, actor=actor, event_id=job.key
            )
            self._posts.refresh(merged)
            return case, (
                f"Case #{number} is marked a duplicate of #{original}; "
                f"#{original} now counts {merged.support_count} supporters."
            )
        if action == "assign":
            case = self._service.assign(server, number, actor=actor, event_id=job.key)
            return case, f"Case #{number} is assigned to you."
        raise InvalidCaseChange(f"unknown action {action!r}")

    def list_server_cases(self, job: Job) -> dict[str, Any]:
        member = job.interaction
        if not is_staff(self._servers, member):
            tell_member(self._discord, member, content="Only this server's staff can list its cases.")
            return {"refused": "not staff"}
        payload = job.payload
        case_filter = CaseFilter(
            kind=CaseKind(payload["kind"]) if payload.get("kind") in {k.value for k in CaseKind} else None,
            status=CaseStatus(payload["status"])
            if payload.get("status") in {s.value for s in CaseStatus}
            else None,
            assignee_id=str(payload["assignee"]) if payload.get("assignee") else None,
            by_support=payload.get("sort") == "support",
        )
        cases = self._service.open_cases(member.guild_id, case_filter, limit=SERVER_LIST_LIMIT)
        if not cases:
            tell_member(self._discord, member, content="No cases match.")
            return {"cases": 0}
        order = "most wanted first" if case_filter.by_support else "newest first"
        lines = [f"**Cases** ({order}, up to {SERVER_LIST_LIMIT}):"]
        for case in cases:
            extras = [f"👍 {case.support_count}"] if case.kind is CaseKind.FEATURE else []
            if case.assignee:
                extras.append(f"🙋 {case.assignee.name}")
            link = f" · [post]({self._posts.link(case)})" if case.post else ""
            lines.append(case_list_line(case) + "".join(f" · {extra}" for extra in extras) + link)
        tell_member(self._discord, member, content="\n".join(lines))
        return {"cases": len(cases)}

    # -- members --------------------------------------------------------------------------------

    def support_case(self, job: Job) -> dict[str, Any]:
        """Me too: count the member once on a feature request, or uncount them."""
        member = job.interaction
        number = int(job.payload["number"])
        case = self._service.find(member.guild_id, number)
        if case is None or case.kind is not CaseKind.FEATURE:
            tell_member(self._discord, member, content="Only feature requests take support.")
            return {"case": number, "supporting": False}
        if not case.status.is_open:
            tell_member(
                self._discord,
                member,
                content=f"#{number} is {case.status.label.lower()}: it takes no more support.",
            )
            return {"case": number, "supporting": member.user_id in case.supporters}
        if case.reporter.user_id == member.user_id:
            tell_member(self._discord, member, content="You asked for this one: it counts you already.")
            return {"case": number, "supporting": True}
        case, supporting = self._service.toggle_supporter(
            member.guild_id, number, member.user_id, event_id=job.key
        )
        self._posts.refresh(case)
        metrics.add_metric(name="FeatureSupportChanges", unit="Count", value=1)
        content = (
            f"👍 You're counted on #{number}: {case.support_count} members want it. "
            "Press again to take it back."
            if supporting
            else f"You're no longer counted on #{number}."
        )
        tell_member(self._discord, member, content=content)
        return {"case": number, "supporting": supporting}

    def add_details(self, job: Job) -> dict[str, Any]:
        """``/case add``: the reporter adds details or a screenshot to their own case."""
        member = job.interaction
        number = int(job.payload["number"])
        viewer = Viewer(member.user_id, is_staff=False)
        try:
            case = self._service.case_for(member.guild_id, number, viewer)
        except (CaseNotFound, CaseAccessDenied):
            tell_member(
                self._discord,
                member,
                content=f"You can only add to a case you opened; #{number} isn't one of yours.",
            )
            return {"case": number, "added": False}
        details = str(job.payload.get("details") or "")
        attachments = self._posts.share_in_thread(
            case, member, details, job.payload.get("attachment"), key=job.key
        )
        try:
            case = self._service.add_details(
                member.guild_id,
                number,
                viewer=viewer,
                details=details,
                attachments=attachments,
                event_id=job.key,
            )
        except CaseAccessDenied:
            tell_member(self._discord, member, content=f"#{number} isn't one of yours.")
            return {"case": number, "added": False}
        self._posts.refresh(case)
        tell_member(self._discord, member, content=f"Added to case #{number}. Staff will see it on the case.")
        return {"case": number, "added": True}

    # -- helpers --------------------------------------------------------------------------------

    def _tell_reporter(self, case: Case, event: CaseEvent, *, key: str) -> str:
        """The reporter's update: by DM, with a button to view the case; when their DMs are
        closed, a mention in the case's thread. Returns what to add to the staff's answer."""
        # Recorded once delivered: a retry after the nonce window (a few minutes) must not send
        # the update again.
        told = f"{key}:told"
        if case.has_event(told):
            return " The reporter was told."
        text = reporter_update(case, event)
        nonce = derived_nonce("upd", key)
        view = {
            "type": 1,
            "components": [
                {
                    "type": 2,
                    "style": 2,
                    "label": "View case",
                    "custom_id": show_case_button(case.number, case.server),
                }
            ],
        }
        try:
            channel = self._discord.open_dm(case.reporter.user_id)
            self._discord.create_message(channel["id"], content=text, components=[view], nonce=nonce)
            self._service.record_event(case, "reporter_told", note="by DM", event_id=told)
            metrics.add_metric(name="ReporterUpdatesSent", unit="Count", value=1)
            return " The reporter was told by DM."
        except DiscordApiError as refusal:
            logger.info(
                "reporter's DMs are closed; mentioning them on the case", extra={"code": refusal.code}
            )
        where = case.thread_id or (case.post.channel_id if case.post else None)
        if where is None:
            metrics.add_metric(name="ReporterUpdatesNotDelivered", unit="Count", value=1)
            return " The reporter's DMs are closed and the case has no thread, so they were not told."
        try:
            self._discord.create_message(
                where,
                content=f"<@{case.reporter.user_id}> {text}",
                allowed_mentions=AllowedMentions(users=[case.reporter.user_id]),
                nonce=nonce,
            )
        except DiscordApiError as refusal:
            # A locked or deleted thread, lost access: the change stands, staff are told.
            logger.warning("reporter not told: Discord refused the thread", extra={"code": refusal.code})
            metrics.add_metric(name="ReporterUpdatesNotDelivered", unit="Count", value=1)
            return (
                " The reporter's DMs are closed and Discord refused the case's thread, so they were not told."
            )
        self._service.record_event(case, "reporter_told", note="in the case's thread", event_id=told)
        return " The reporter's DMs are closed, so they were mentioned in the case's thread."


def reporter_update(case: Case, event: CaseEvent) -> str:
    """What the reporter reads: "Your bug report #12 is now **resolved**: fixed in 1.4.2"."""
    what = f"Your {case.kind.label.lower()} #{case.number} “{truncate(case.title, 80)}”"
    if event.action == "status_changed" and event.to_status is not None:
        note = f": {event.note}" if event.note else "."
        if event.to_status is CaseStatus.DUPLICATE and case.duplicate_of:
            return f"{what} is a **duplicate** of #{case.duplicate_of}: follow that one for updates."
        return f"{what} is now **{event.to_status.label.lower()}**{note}"
    return f"Staff replied on {what[5:]}: {event.note}"


def _event_of(case: Case, key: str) -> CaseEvent | None:
    """The history entry this delivery recorded (None when the job changed nothing)."""
    return next((event for event in reversed(case.history) if event.event_id == key), None)


def _reporter_hears_of(event: CaseEvent) -> bool:
    if event.action == "status_changed":
        return True
    return event.action == "note" and event.tell_reporter
