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
from flexcord.cases.model import ATTACHMENT_MAX_BYTES
from flexcord.interactions import case_forms
from flexcord.interactions import custom_ids as ids
from flexcord.interactions import responses as reply
from flexcord.interactions.commands import MESSAGE_MAX
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
        known = ", ".join(f"`/{name}`" for name in COMMAND_ROUTES)
        return reply.ephemeral_message(
            f"I don't know the command `/{interaction.command_name}`. Try {known}."
        )
    return command(interaction, queue)


def _modal_submit(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    if interaction.custom_id == ids.REPLY_MODAL:
        return _chat_message(
            interaction, queue, case_forms.submitted_values(interaction.data).get("message"), None
        )
    form = case_forms.FORMS.get(interaction.custom_id)
    if form is None:
        return reply.ephemeral_message("That form has expired. Please run the command again.")
    return _submit_case(form, interaction, queue)


def _component(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    if interaction.custom_id.startswith(ids.SHOW_CASE_BUTTON_PREFIX):
        return _show_case_button(interaction, queue)
    button = COMPONENT_ROUTES.get(interaction.custom_id)
    return button(interaction, queue) if button else reply.ephemeral_message(STALE_BUTTON)


def _reply_form(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    return reply.modal(ids.REPLY_MODAL, "Reply", [_message_input()])


def _confirm_end(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    return reply.ephemeral_message(
        "End your support chat? The conversation closes for you and the agent.",
        components=[_END_CHAT_CONFIRMATION],
    )


def _end_confirmed(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    # The worker edits the confirmation itself into the outcome.
    return _enqueue(
        Job.for_interaction(JobKind.END_CHAT, interaction.context), queue, answer=reply.deferred_update
    )


def _keep_chat(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    return reply.update_message("OK, your chat stays open.")


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
    raw_number = interaction.custom_id.removeprefix(ids.SHOW_CASE_BUTTON_PREFIX)
    if not raw_number.isdigit() or int(raw_number) < 1:
        return reply.ephemeral_message(STALE_BUTTON)
    return _enqueue(
        Job.for_interaction(JobKind.SHOW_CASE, interaction.context, {"number": int(raw_number)}), queue
    )


def _open_chat(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    question = interaction.option("question")
    payload = (
        {"question": question.strip()[:MESSAGE_MAX]} if isinstance(question, str) and question.strip() else {}
    )
    return _enqueue(Job.for_interaction(JobKind.OPEN_CHAT, interaction.context, payload), queue)


def _reply_command(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
    attachment_id = interaction.option("attachment")
    attachment = None
    if attachment_id is not None:
        resolved = (interaction.data.get("resolved") or {}).get("attachments") or {}
        found = resolved.get(str(attachment_id))
        if not isinstance(found, dict) or not found.get("url"):
            return reply.ephemeral_message("The attachment did not come through; please attach it again.")
        if int(found.get("size") or 0) > ATTACHMENT_MAX_BYTES:
            return reply.ephemeral_message("That file is larger than 10 MB; please send a smaller one.")
        attachment = {key: found.get(key) for key in ("url", "filename", "content_type", "size")}
    return _chat_message(interaction, queue, interaction.option("message"), attachment)


def _chat_message(
    interaction: Interaction, queue: QueueProvider, text: object, attachment: dict[str, object] | None
) -> InteractionResponse:
    message = text.strip() if isinstance(text, str) else ""
    if not message and not attachment:
        return reply.ephemeral_message("Your message is empty.")
    if len(message) > MESSAGE_MAX:
        return reply.ephemeral_message(f"Messages are limited to {MESSAGE_MAX} characters.")
    payload: dict[str, object] = {"text": message}
    if attachment:
        payload["attachment"] = attachment
    return _enqueue(Job.for_interaction(JobKind.MEMBER_MESSAGE, interaction.context, payload), queue)


def _simple(kind: JobKind) -> Route:
    def enqueue(interaction: Interaction, queue: QueueProvider) -> InteractionResponse:
        return _enqueue(Job.for_interaction(kind, interaction.context), queue)

    return enqueue


def _message_input() -> dict[str, object]:
    return {
        "type": case_forms.LABEL,
        "label": "Your message",
        "component": {
            "type": case_forms.TEXT_INPUT,
            "custom_id": "message",
            "style": case_forms.PARAGRAPH,
            "min_length": 1,
            "max_length": MESSAGE_MAX,
            "required": True,
        },
    }


_END_CHAT_CONFIRMATION = {
    "type": 1,
    "components": [
        {"type": 2, "style": 4, "label": "End chat", "custom_id": ids.END_CHAT_CONFIRM},
        {"type": 2, "style": 2, "label": "Keep chatting", "custom_id": ids.END_CHAT_CANCEL},
    ],
}


def _enqueue(
    job: Job, queue: QueueProvider, *, answer: Callable[[], InteractionResponse] = reply.deferred_ephemeral
) -> InteractionResponse:
    try:
        queue().enqueue(job)
    except QueueUnavailable:
        logger.exception("job not queued", extra={"job_kind": job.kind, "job_key": job.key})
        return reply.ephemeral_message("Flexcord couldn't take that just now. Please try again in a minute.")
    return answer()


COMMAND_ROUTES: dict[str, Route] = {
    "helpme": _open_chat,
    "reply": _reply_command,
    "agent": _simple(JobKind.REQUEST_AGENT),
    "endchat": _simple(JobKind.END_CHAT),
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

COMPONENT_ROUTES: dict[str, Route] = {
    ids.REPLY_BUTTON: _reply_form,
    ids.TALK_TO_HUMAN_BUTTON: _simple(JobKind.REQUEST_AGENT),
    ids.END_CHAT_BUTTON: _confirm_end,
    ids.END_CHAT_CONFIRM: _end_confirmed,
    ids.END_CHAT_CANCEL: _keep_chat,
    ids.HELPED_BUTTON: _simple(JobKind.ASSISTANT_HELPED),
}
