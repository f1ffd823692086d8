"""What each command, button and form does at the endpoint: answer inline, or enqueue a job and
answer with a deferred reply that the worker edits.

Buttons carry data in their ``custom_id`` (``case:show:12``), which the client can forge: the
worker re-checks that the member may see the case, so the id only says what was asked, never
who may have it.
"""

from __future__ import annotations

from collections.abc import Callable

from discord_interactions import InteractionType

from flexcord.adapters.queue.job_queue import JobQueue, QueueUnavailable
from flexcord.interactions import case_forms
from flexcord.interactions import responses as reply
from flexcord.interactions.custom_ids import SHOW_CASE_BUTTON_PREFIX
from flexcord.interactions.model import Interaction
from flexcord.interactions.responses import InteractionResponse
from flexcord.jobs.model import Job, JobKind
from flexcord.jobs.payloads import draft_to_payload
from flexcord.observability import logger

STALE_BUTTON = "This button no longer does anything. Please run the command again."

QueueProvider = Callable[[], JobQueue]
Route = Callable[[Interaction, QueueProvider], InteractionResponse]


def route(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    by_type = _ROUTES_BY_TYPE.get(interaction.type)
    if by_type is None:
        return reply.ephemeral_message("Flexcord can't handle that kind of interaction.")
    return by_type(interaction, queue)


def _command(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    command = COMMAND_ROUTES.get(interaction.command_name)
    if command is None:
        return reply.ephemeral_message(
            f"I don't know the command `/{interaction.command_name}`. "
            "Try `/bug`, `/new_feature`, `/mycases` or `/case`."
        )
    return command(interaction, queue)


def _modal_submit(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    form = case_forms.FORMS.get(interaction.custom_id)
    if form is None:
        return reply.ephemeral_message("That form has expired. Please run the command again.")
    return _submit_case(form, interaction, queue)


def _component(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    if interaction.custom_id.startswith(SHOW_CASE_BUTTON_PREFIX):
        return _show_case_button(interaction, queue)
    return reply.ephemeral_message(STALE_BUTTON)


def _autocomplete(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    return reply.autocomplete_choices([])


def _open_form(form: case_forms.CaseForm) -> Route:
    def open_form(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
        return reply.modal(form.custom_id, form.title, form.modal_components())

    return open_form


def _submit_case(
    form: case_forms.CaseForm, interaction: Interaction, queue: QueueProvider
) -> InteractionResponse:
    try:
        draft = case_forms.draft_from_submission(form, interaction)
    except case_forms.InvalidSubmission as problem:
        return reply.ephemeral_message(f"Your {form.kind.label.lower()} was not filed: {problem}")
    return _enqueue(
        Job.for_interaction(JobKind.CREATE_CASE, interaction.context, draft_to_payload(draft)), queue
    )


def _list_cases(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    return _enqueue(Job.for_interaction(JobKind.LIST_CASES, interaction.context), queue)


def _show_case(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    number = interaction.option("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        return reply.ephemeral_message("Give a case number, like `/case number:12`.")
    return _enqueue(Job.for_interaction(JobKind.SHOW_CASE, interaction.context, {"number": number}), queue)


def _show_case_button(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    raw_number = interaction.custom_id.removeprefix(SHOW_CASE_BUTTON_PREFIX)
    if not raw_number.isdigit() or int(raw_number) < 1:
        return reply.ephemeral_message(STALE_BUTTON)
    return _enqueue(
        Job.for_interaction(JobKind.SHOW_CASE, interaction.context, {"number": int(raw_number)}), queue
    )


def _enqueue(job: Job, queue: QueueProvider) -> InteractionResponse:
    try:
        queue().enqueue(job)
    except QueueUnavailable:
        logger.exception("job not queued", extra={"job_kind": job.kind, "job_key": job.key})
        return reply.ephemeral_message("Flexcord couldn't take that just now. Please try again in a minute.")
    return reply.deferred_ephemeral()


COMMAND_ROUTES: dict[str, Route] = {
    "bug": _open_form(case_forms.BUG_FORM),
    "new_feature": _open_form(case_forms.FEATURE_FORM),
    "mycases": _list_cases,
    "case": _show_case,
}

_ROUTES_BY_TYPE: dict[int, Route] = {
    InteractionType.APPLICATION_COMMAND: _command,
    InteractionType.MODAL_SUBMIT: _modal_submit,
    InteractionType.MESSAGE_COMPONENT: _component,
    InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE: _autocomplete,
}
