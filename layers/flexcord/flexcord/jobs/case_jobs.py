"""The worker side of cases: file a submitted case and post it, show one case, list a member's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flexcord.adapters.discord import DiscordClient
from flexcord.cases import CaseAccessDenied, CaseNotFound, CaseService, Viewer
from flexcord.interactions.custom_ids import show_case_button
from flexcord.jobs.case_posts import CasePosts
from flexcord.jobs.model import Job
from flexcord.jobs.notify import tell_member
from flexcord.jobs.payloads import draft_from_payload
from flexcord.jobs.presentation import case_embed, case_list_line
from flexcord.observability import metrics
from flexcord.servers.settings import ServerDirectory

if TYPE_CHECKING:
    from flexcord.jobs.duplicate_check import DuplicateCheck

LIST_LIMIT = 10
BUTTONS_PER_ROW = 5


class CaseJobs:
    def __init__(
        self,
        service: CaseService,
        discord: DiscordClient,
        servers: ServerDirectory,
        posts: CasePosts,
        *,
        duplicates: DuplicateCheck | None = None,
    ) -> None:
        self._service = service
        self._discord = discord
        self._servers = servers
        self._posts = posts
        self._duplicates = duplicates

    def create_case(self, job: Job) -> dict[str, Any]:
        draft = draft_from_payload(job.payload)
        # "Is it one of these?" first, when open cases look like it (jobs/duplicate_check.py).
        # Not on a retry that finds its case already opened: that member was not asked before.
        already_filed = self._service.filed_by(job.interaction.interaction_id) is not None
        if self._duplicates and not already_filed and (offer := self._duplicates.offer(job, draft)):
            return offer
        # Idempotent on the interaction id: a redelivered job finds the case it created before.
        case = self._service.open_case(draft, source_id=job.interaction.interaction_id)
        if case.post is None:
            case = self._posts.post(case)
        metrics.add_metric(name=f"{case.kind.value.capitalize()}CasesFiled", unit="Count", value=1)
        tell_member(
            self._discord,
            job.interaction,
            content=(
                f"✅ Thanks! Your {case.kind.label.lower()} is filed as **case #{case.number}**: "
                f"“{case.title}”. See how it's going any time with `/case show number:{case.number}`."
            ),
        )
        return {"case": case.number, "posted": case.post is not None}

    def show_case(self, job: Job) -> dict[str, Any]:
        number = int(job.payload["number"])
        # A "view case" button in a DM names the case's server; otherwise it is where they asked.
        server = str(job.payload.get("server") or "") or job.interaction.guild_id
        is_staff = self._is_staff(job, server)
        viewer = Viewer(job.interaction.user_id, is_staff=is_staff)
        try:
            case = self._service.case_for(server, number, viewer)
        except CaseNotFound:
            tell_member(self._discord, job.interaction, content=f"There is no case #{number}.")
            return {"case": number, "shown": False}
        except CaseAccessDenied:
            tell_member(
                self._discord,
                job.interaction,
                content=(
                    f"Case #{number} isn't one of yours: only the member who opened a case, and staff, "
                    "can see it. `/mycases` lists yours."
                ),
            )
            return {"case": number, "shown": False}
        embed = case_embed(case, with_history=True, for_staff=is_staff)
        tell_member(self._discord, job.interaction, embeds=[embed])
        return {"case": number, "shown": True}

    def list_cases(self, job: Job) -> dict[str, Any]:
        cases = self._service.cases_of(job.interaction.user_id, limit=LIST_LIMIT)
        if not cases:
            tell_member(
                self._discord,
                job.interaction,
                content="You haven't opened any cases yet. "
                "`/bug` reports a bug; `/new_feature` suggests an idea.",
            )
            return {"cases": 0}
        lines = [f"**Your cases** (newest first, up to {LIST_LIMIT}):", *map(case_list_line, cases)]
        buttons = [
            {
                "type": 2,
                "style": 2,
                "label": f"#{case.number}",
                "custom_id": show_case_button(case.number, case.server),
            }
            for case in cases[:BUTTONS_PER_ROW]
        ]
        tell_member(
            self._discord,
            job.interaction,
            content="\n".join(lines),
            components=[{"type": 1, "components": buttons}],
        )
        return {"cases": len(cases)}

    def _is_staff(self, job: Job, server: str | None) -> bool:
        member = job.interaction
        if member.guild_id is None or (server is not None and server != member.guild_id):
            return False  # staff rights come from the roles in the server the case belongs to
        return self._servers.settings_for(member.guild_id).is_staff(member.roles, member.permissions)
