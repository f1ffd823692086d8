"""What each command, button and form does at the endpoint: answer inline, or enqueue a job and
answer with a deferred reply that the worker edits.

Buttons carry data in their ``custom_id`` (``case:show:12``), which the client can forge: the
worker re-checks that the member may see the case, so the id only says what was asked, never
who may have it.

Before any route, the server must be on the allow list; and what a member sends to the support
chat or files as a case (/helpme, /reply, Reply, the /bug and /new_feature submits) is counted
against their per-minute limit just before it is queued. Opening a form is not counted: it
queues nothing, and counting it would load boto3 on a modal that must open at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from discord_interactions import InteractionType

from flexcord.adapters.queue.job_queue import QueueUnavailable
from flexcord.cases.model import ATTACHMENT_MAX_BYTES
from flexcord.interactions import announce_routes, case_forms, feed_routes, setup_routes
from flexcord.interactions import custom_ids as ids
from flexcord.interactions import responses as reply
from flexcord.interactions import review_routes as review
from flexcord.interactions.commands import MESSAGE_MAX, NOTE_MAX, STATUS_CHOICES
from flexcord.interactions.model import Interaction, attachment_size
from flexcord.interactions.responses import InteractionResponse
from flexcord.interactions.services import Services
from flexcord.jobs.model import Job, JobKind
from flexcord.jobs.payloads import draft_to_payload
from flexcord.observability import logger

STALE_BUTTON = "This button no longer does anything. Please run the command again."
NOT_THIS_SERVER = "Flexcord isn't set up for this server."
_CASE_NUMBER = re.compile(r"[0-9]{1,12}")
_SNOWFLAKE = re.compile(r"[0-9]{1,25}")

Route = Callable[[Interaction, Services], InteractionResponse]


def route(interaction: Interaction, services: Services) -> InteractionResponse:
    if not services.servers.allows(interaction.context.guild_id):
        return _not_this_server(interaction)
    by_type = _ROUTES_BY_TYPE.get(interaction.type)
    if by_type is None:
        return reply.ephemeral_message("Flexcord can't handle that kind of interaction.")
    return by_type(interaction, services)


def _not_this_server(interaction: Interaction) -> InteractionResponse:
    logger.info("interaction from a server not allowed", extra={"guild_id": interaction.context.guild_id})
    if interaction.type == InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE:
        return reply.autocomplete_choices([])  # an autocomplete cannot carry a message
    return reply.ephemeral_message(NOT_THIS_SERVER)


def _command(interaction: Interaction, services: Services) -> InteractionResponse:
    command = COMMAND_ROUTES.get(interaction.command_name)
    if command is None:
        known = ", ".join(f"`/{name}`" for name in COMMAND_ROUTES)
        # Discord's names are at most 32 characters; a longer one would push the answer past
        # 2,000 and Discord would refuse it.
        return reply.ephemeral_message(
            f"I don't know the command `/{interaction.command_name[:32]}`. Try {known}."
        )
    return command(interaction, services)


def _modal_submit(interaction: Interaction, services: Services) -> InteractionResponse:
    control = ids.parse_case_control(interaction.custom_id)
    if control is not None and control.action in _CASE_FORMS:
        return _case_form_submitted(control, interaction, services)
    for prefix, prefixed in PREFIX_MODAL_ROUTES.items():
        if interaction.custom_id.startswith(prefix):
            return prefixed(interaction, services)
    modal_route = MODAL_ROUTES.get(interaction.custom_id)
    if modal_route is not None:
        return modal_route(interaction, services)
    form = case_forms.FORMS.get(interaction.custom_id)
    if form is None:
        return reply.ephemeral_message("That form has expired. Please run the command again.")
    return _submit_case(form, interaction, services)


def _component(interaction: Interaction, services: Services) -> InteractionResponse:
    if interaction.custom_id.startswith(ids.SHOW_CASE_BUTTON_PREFIX):
        return _show_case_button(interaction, services)
    control = ids.parse_case_control(interaction.custom_id)
    if control is not None:
        return _case_control(control, interaction, services)
    for prefix, prefixed in PREFIX_COMPONENT_ROUTES.items():
        if interaction.custom_id.startswith(prefix):
            return prefixed(interaction, services)
    if interaction.custom_id.startswith(ids.SETUP_PREFIX):
        return _setup(setup_routes.component)(interaction, services)
    if interaction.custom_id.startswith(ids.ANNOUNCE_PREFIX):
        return _setup(announce_routes.component)(interaction, services)
    button = COMPONENT_ROUTES.get(interaction.custom_id)
    return button(interaction, services) if button else reply.ephemeral_message(STALE_BUTTON)


def _reply_submitted(interaction: Interaction, services: Services) -> InteractionResponse:
    message = case_forms.submitted_values(interaction.data).get("message")
    return _chat_message(interaction, services, message, None)


def _reply_form(interaction: Interaction, services: Services) -> InteractionResponse:
    return reply.modal(ids.REPLY_MODAL, "Reply", [_message_input()])


def _confirm_end(interaction: Interaction, services: Services) -> InteractionResponse:
    return reply.ephemeral_message(
        "End your support chat? The conversation closes for you and the agent.",
        components=[_END_CHAT_CONFIRMATION],
    )


def _end_confirmed(interaction: Interaction, services: Services) -> InteractionResponse:
    # The worker edits the confirmation itself into the outcome.
    return _enqueue(
        Job.for_interaction(JobKind.END_CHAT, interaction.context), services, answer=reply.deferred_update
    )


def _keep_chat(interaction: Interaction, services: Services) -> InteractionResponse:
    return reply.update_message("OK, your chat stays open.")


def _autocomplete(interaction: Interaction, services: Services) -> InteractionResponse:
    return reply.autocomplete_choices([])


def _open_form(form: case_forms.CaseForm) -> Route:
    def open_form(interaction: Interaction, services: Services) -> InteractionResponse:
        return reply.modal(form.custom_id, form.title, form.modal_components())

    return open_form


def _submit_case(
    form: case_forms.CaseForm, interaction: Interaction, services: Services
) -> InteractionResponse:
    try:
        draft = case_forms.draft_from_submission(form, interaction)
    except case_forms.InvalidSubmission as problem:
        return reply.ephemeral_message(f"Your {form.kind.label.lower()} was not filed: {problem}")
    return _enqueue(
        Job.for_interaction(JobKind.CREATE_CASE, interaction.context, draft_to_payload(draft)),
        services,
        limited=True,
    )


def _list_cases(interaction: Interaction, services: Services) -> InteractionResponse:
    return _enqueue(Job.for_interaction(JobKind.LIST_CASES, interaction.context), services)


def _case_command(interaction: Interaction, services: Services) -> InteractionResponse:
    """``/case show|update|add``. A client that still has the old ``/case number`` sends no
    subcommand: that is a show."""
    number = interaction.option("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        return reply.ephemeral_message("Give a case number, like `/case show number:12`.")
    subcommand = interaction.subcommand or "show"
    if subcommand == "update":
        return _update_command(number, interaction, services)
    if subcommand == "add":
        return _add_details_command(number, interaction, services)
    job = Job.for_interaction(JobKind.SHOW_CASE, interaction.context, {"number": number})
    return _enqueue(job, services)


def _update_command(number: int, interaction: Interaction, services: Services) -> InteractionResponse:
    status = interaction.option("status")
    if not isinstance(status, str) or status not in _STAFF_SETTABLE_STATUSES:
        return reply.ephemeral_message("Pick a status from the list.")
    note = interaction.option("note")
    note = note.strip() if isinstance(note, str) else ""
    if len(note) > NOTE_MAX:
        return reply.ephemeral_message(f"Notes are limited to {NOTE_MAX} characters.")
    # A note given with the new status is for the reporter: it goes in their update.
    payload = {"number": number, "action": "status", "status": status, "note": note}
    return _enqueue(Job.for_interaction(JobKind.UPDATE_CASE, interaction.context, payload), services)


def _add_details_command(number: int, interaction: Interaction, services: Services) -> InteractionResponse:
    details = interaction.option("details")
    details = details.strip() if isinstance(details, str) else ""
    attachment = _attached_file(interaction, "screenshot")
    if isinstance(attachment, str):
        return reply.ephemeral_message(attachment)
    if not details and attachment is None:
        return reply.ephemeral_message("Add some details or a screenshot.")
    if len(details) > NOTE_MAX:
        return reply.ephemeral_message(f"Details are limited to {NOTE_MAX} characters.")
    payload: dict[str, object] = {"number": number, "details": details}
    if attachment:
        payload["attachment"] = attachment
    job = Job.for_interaction(JobKind.ADD_CASE_DETAILS, interaction.context, payload)
    return _enqueue(job, services, limited=True)


def _server_cases(interaction: Interaction, services: Services) -> InteractionResponse:
    if interaction.context.guild_id is None:
        return reply.ephemeral_message("Use `/cases` in your server: it lists that server's cases.")
    filters = {name: interaction.option(name) for name in ("kind", "status", "assignee", "sort")}
    payload = {name: str(value) for name, value in filters.items() if isinstance(value, str) and value}
    return _enqueue(Job.for_interaction(JobKind.LIST_SERVER_CASES, interaction.context, payload), services)


def _show_case_button(interaction: Interaction, services: Services) -> InteractionResponse:
    shown = ids.parse_show_case(interaction.custom_id)
    if shown is None:
        return reply.ephemeral_message(STALE_BUTTON)
    server, number = shown
    payload: dict[str, object] = {"number": number}
    if server:
        payload["server"] = server
    return _enqueue(Job.for_interaction(JobKind.SHOW_CASE, interaction.context, payload), services)


def _case_control(
    control: ids.CaseControl, interaction: Interaction, services: Services
) -> InteractionResponse:
    """A control on a case post. Forms open at once (a modal must be the first answer); the
    rest is queued, and the worker checks that the presser is staff (or, for Me too, that the
    case takes support) before anything changes."""
    if interaction.context.guild_id is None:
        return reply.ephemeral_message(STALE_BUTTON)
    form = _CASE_FORMS.get(control.action)
    if form is not None:
        title, label, style, max_length = form
        text_input = {
            "type": case_forms.TEXT_INPUT,
            "custom_id": "value",
            "style": style,
            "min_length": 1,
            "max_length": max_length,
            "required": True,
        }
        return reply.modal(
            ids.case_control(control.action, control.number),
            title.format(number=control.number),
            [{"type": case_forms.LABEL, "label": label, "component": text_input}],
        )
    payload: dict[str, object] = {"number": control.number}
    if control.action == ids.CASE_ME_TOO:
        return _enqueue(Job.for_interaction(JobKind.SUPPORT_CASE, interaction.context, payload), services)
    if control.action == ids.CASE_STATUS_SELECT:
        values = interaction.selected_values
        if len(values) != 1 or values[0] not in _STAFF_SETTABLE_STATUSES:
            return reply.ephemeral_message(STALE_BUTTON)
        payload |= {"action": "status", "status": values[0]}
    else:
        payload["action"] = "assign"
    return _enqueue(Job.for_interaction(JobKind.UPDATE_CASE, interaction.context, payload), services)


def _case_form_submitted(
    control: ids.CaseControl, interaction: Interaction, services: Services
) -> InteractionResponse:
    value = str(case_forms.submitted_values(interaction.data).get("value") or "").strip()
    payload: dict[str, object] = {"number": control.number}
    if control.action == ids.CASE_DUPLICATE:
        original = value.removeprefix("#")
        if not _CASE_NUMBER.fullmatch(original) or int(original) < 1:
            return reply.ephemeral_message("Give the original case's number, like `12` or `#12`.")
        payload |= {"action": "duplicate", "original": int(original)}
    else:
        if not value:
            return reply.ephemeral_message("The note is empty.")
        payload |= {
            "action": "note",
            "note": value[:NOTE_MAX],
            "tell_reporter": control.action == ids.CASE_TELL,
        }
    return _enqueue(Job.for_interaction(JobKind.UPDATE_CASE, interaction.context, payload), services)


# Forms opened by case controls: (title, label, text input style, max length).
_CASE_FORMS: dict[str, tuple[str, str, int, int]] = {
    ids.CASE_NOTE: ("Staff note on #{number}", "Note (staff only)", case_forms.PARAGRAPH, NOTE_MAX),
    ids.CASE_TELL: (
        "Update the reporter of #{number}",
        "Message to the reporter",
        case_forms.PARAGRAPH,
        NOTE_MAX,
    ),
    ids.CASE_DUPLICATE: ("Mark #{number} a duplicate", "Number of the original case", case_forms.SHORT, 14),
}
_STAFF_SETTABLE_STATUSES = frozenset(choice["value"] for choice in STATUS_CHOICES)


def _duplicate_choice(interaction: Interaction, services: Services) -> InteractionResponse:
    """A press on "Is it one of these?": a case, or "No, file mine". The worker edits the
    question into the outcome, after checking the presser filed the draft."""
    custom_id = interaction.custom_id
    if custom_id.startswith(ids.DUPLICATE_FILE_PREFIX):
        draft_id, choice = custom_id.removeprefix(ids.DUPLICATE_FILE_PREFIX), "0"
    else:
        draft_id, _, choice = custom_id.removeprefix(ids.DUPLICATE_PICK_PREFIX).partition(":")
        if not _CASE_NUMBER.fullmatch(choice) or int(choice) < 1:
            return reply.ephemeral_message(STALE_BUTTON)
    if not _SNOWFLAKE.fullmatch(draft_id):
        return reply.ephemeral_message(STALE_BUTTON)
    job = Job.for_interaction(
        JobKind.DUPLICATE_CHOICE, interaction.context, {"draft": draft_id, "choice": int(choice)}
    )
    return _enqueue(job, services, answer=reply.deferred_update)


def _open_chat(interaction: Interaction, services: Services) -> InteractionResponse:
    question = interaction.option("question")
    payload = (
        {"question": question.strip()[:MESSAGE_MAX]} if isinstance(question, str) and question.strip() else {}
    )
    job = Job.for_interaction(JobKind.OPEN_CHAT, interaction.context, payload)
    return _enqueue(job, services, limited=True)


def _reply_command(interaction: Interaction, services: Services) -> InteractionResponse:
    attachment = _attached_file(interaction, "attachment")
    if isinstance(attachment, str):
        return reply.ephemeral_message(attachment)
    return _chat_message(interaction, services, interaction.option("message"), attachment)


def _attached_file(interaction: Interaction, option: str) -> dict[str, object] | str | None:
    """The file given in an ATTACHMENT option (what the worker needs of it), None when none was
    given, or what to tell the member when it cannot be taken."""
    attachment_id = interaction.option(option)
    if attachment_id is None:
        return None
    found = interaction.resolved_attachment(attachment_id)
    if not found or not found.get("url"):
        return f"The {option} did not come through; please attach it again."
    if attachment_size(found) > ATTACHMENT_MAX_BYTES:
        return "That file is larger than 10 MB; please send a smaller one."
    return {key: found.get(key) for key in ("url", "filename", "content_type", "size")}


def _chat_message(
    interaction: Interaction, services: Services, text: object, attachment: dict[str, object] | None
) -> InteractionResponse:
    message = text.strip() if isinstance(text, str) else ""
    if not message and not attachment:
        return reply.ephemeral_message("Your message is empty.")
    if len(message) > MESSAGE_MAX:
        return reply.ephemeral_message(f"Messages are limited to {MESSAGE_MAX} characters.")
    payload: dict[str, object] = {"text": message}
    if attachment:
        payload["attachment"] = attachment
    job = Job.for_interaction(JobKind.MEMBER_MESSAGE, interaction.context, payload)
    return _enqueue(job, services, limited=True)


def _simple(kind: JobKind) -> Route:
    def enqueue(interaction: Interaction, services: Services) -> InteractionResponse:
        return _enqueue(Job.for_interaction(kind, interaction.context), services)

    return enqueue


def _setup(decide: Callable[[Interaction], setup_routes.Decision]) -> Route:
    """A /setup decision: answer it, or queue its job (admins' settings are not rate-limited)."""

    def setup(interaction: Interaction, services: Services) -> InteractionResponse:
        decided = decide(interaction)
        if isinstance(decided, setup_routes.Enqueue):
            return _enqueue(decided.job, services, answer=decided.answer)
        return decided

    return setup


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
    job: Job,
    services: Services,
    *,
    limited: bool = False,
    answer: Callable[[], InteractionResponse] = reply.deferred_ephemeral,
) -> InteractionResponse:
    """Queue the job and answer; ``limited`` jobs count against the member's per-minute limit
    first (only now, once the request is known to be valid, so a mistake costs no attempt)."""
    if limited:
        member = job.interaction.user_id
        decision = services.rate_limiter.attempt(member)
        if not decision.allowed:
            logger.info("member rate-limited", extra={"job_kind": job.kind, "user_id": member})
            return reply.ephemeral_message(_slow_down(decision.retry_after_seconds))
    try:
        services.queue().enqueue(job)
    except QueueUnavailable:
        logger.exception("job not queued", extra={"job_kind": job.kind, "job_key": job.key})
        return reply.ephemeral_message("Flexcord couldn't take that just now. Please try again in a minute.")
    return answer()


def _slow_down(seconds: int) -> str:
    when = "a second" if seconds <= 1 else f"{seconds} seconds"
    return (
        "You've sent Flexcord a lot in the last minute, so it's taking a short breather. "
        f"Please try again in {when}."
    )


COMMAND_ROUTES: dict[str, Route] = {
    "helpme": _open_chat,
    "reply": _reply_command,
    "agent": _simple(JobKind.REQUEST_AGENT),
    "endchat": _simple(JobKind.END_CHAT),
    "bug": _open_form(case_forms.BUG_FORM),
    "new_feature": _open_form(case_forms.FEATURE_FORM),
    "mycases": _list_cases,
    "case": _case_command,
    "cases": _server_cases,
    "setup": _setup(setup_routes.open_setup),
    "announce": _setup(announce_routes.command),
    "feeds": _setup(feed_routes.command),
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


# -- after a support chat, and outside support hours ------------------------------------------

_SERVER = re.compile(r"[0-9]{1,20}")
_STARS = re.compile(r"[1-5]")
COMMENT_MAX = 1000


def _case_in(custom_id: str, prefix: str, extra: int = 0) -> list[str] | None:
    """``server:number[:extra...]`` after ``prefix``, checked for shape only (the worker checks
    the member may act on that case); None when it is not one."""
    parts = custom_id.removeprefix(prefix).split(":")
    if len(parts) != 2 + extra or not _SERVER.fullmatch(parts[0]) or not _CASE_NUMBER.fullmatch(parts[1]):
        return None
    return parts if int(parts[1]) >= 1 else None


def _rate_chat(interaction: Interaction, services: Services) -> InteractionResponse:
    parts = _case_in(interaction.custom_id, ids.RATE_CHAT_PREFIX, extra=1)
    if parts is None or not _STARS.fullmatch(parts[2]):
        return reply.ephemeral_message(STALE_BUTTON)
    payload = {"server": parts[0], "number": int(parts[1]), "stars": int(parts[2])}
    # The worker edits the notice itself to show the rating.
    return _enqueue(
        Job.for_interaction(JobKind.RATE_CHAT, interaction.context, payload),
        services,
        answer=reply.deferred_update,
    )


def _comment_form(interaction: Interaction, services: Services) -> InteractionResponse:
    parts = _case_in(interaction.custom_id, ids.RATE_COMMENT_PREFIX)
    if parts is None:
        return reply.ephemeral_message(STALE_BUTTON)
    comment = {
        "type": case_forms.LABEL,
        "label": "Your comment",
        "description": "What went well, or what we could do better.",
        "component": {
            "type": case_forms.TEXT_INPUT,
            "custom_id": "comment",
            "style": case_forms.PARAGRAPH,
            "min_length": 1,
            "max_length": COMMENT_MAX,
            "required": True,
        },
    }
    return reply.modal(
        ids.rate_comment_button(parts[0], int(parts[1])), f"Case #{parts[1]}: your comment", [comment]
    )


def _comment_submitted(interaction: Interaction, services: Services) -> InteractionResponse:
    parts = _case_in(interaction.custom_id, ids.RATE_COMMENT_PREFIX)
    if parts is None:
        return reply.ephemeral_message("That form has expired.")
    text = case_forms.submitted_values(interaction.data).get("comment")
    comment = text.strip() if isinstance(text, str) else ""
    if not comment:
        return reply.ephemeral_message("Your comment is empty; nothing was saved.")
    if len(comment) > COMMENT_MAX:
        return reply.ephemeral_message(f"Comments are limited to {COMMENT_MAX} characters.")
    payload = {"server": parts[0], "number": int(parts[1]), "comment": comment}
    return _enqueue(
        Job.for_interaction(JobKind.COMMENT_CHAT, interaction.context, payload), services, limited=True
    )


def _send_transcript(interaction: Interaction, services: Services) -> InteractionResponse:
    parts = _case_in(interaction.custom_id, ids.TRANSCRIPT_PREFIX)
    if parts is None:
        return reply.ephemeral_message(STALE_BUTTON)
    payload = {"server": parts[0], "number": int(parts[1])}
    return _enqueue(
        Job.for_interaction(JobKind.SEND_TRANSCRIPT, interaction.context, payload), services, limited=True
    )


def _leave_message_form(interaction: Interaction, services: Services) -> InteractionResponse:
    return reply.modal(ids.LEAVE_MESSAGE_MODAL, "Leave a message for our team", [_message_input()])


def _leave_message_submitted(interaction: Interaction, services: Services) -> InteractionResponse:
    text = case_forms.submitted_values(interaction.data).get("message")
    message = text.strip() if isinstance(text, str) else ""
    if not message:
        return reply.ephemeral_message("Your message is empty; nothing was filed.")
    if len(message) > MESSAGE_MAX:
        return reply.ephemeral_message(f"Messages are limited to {MESSAGE_MAX} characters.")
    job = Job.for_interaction(JobKind.LEAVE_MESSAGE, interaction.context, {"text": message})
    return _enqueue(job, services, limited=True)


COMPONENT_ROUTES[ids.LEAVE_MESSAGE_BUTTON] = _leave_message_form

#: Components whose custom_id carries data after a fixed prefix.
PREFIX_COMPONENT_ROUTES: dict[str, Route] = {
    ids.DUPLICATE_PICK_PREFIX: _duplicate_choice,
    ids.DUPLICATE_FILE_PREFIX: _duplicate_choice,
    ids.RATE_CHAT_PREFIX: _rate_chat,
    ids.RATE_COMMENT_PREFIX: _comment_form,
    ids.TRANSCRIPT_PREFIX: _send_transcript,
    # Review first: the staff channel's Approve / Edit / Reject (staff are re-checked in the worker).
    ids.REVIEW_PREFIX: _setup(review.component),
}
MODAL_ROUTES: dict[str, Route] = {
    ids.REPLY_MODAL: _reply_submitted,
    ids.SETUP_HOURS_MODAL: _setup(setup_routes.submit_hours),
    ids.LEAVE_MESSAGE_MODAL: _leave_message_submitted,
    ids.ANNOUNCE_MODAL: _setup(announce_routes.submit),
}
PREFIX_MODAL_ROUTES: dict[str, Route] = {
    ids.RATE_COMMENT_PREFIX: _comment_submitted,
    ids.ANNOUNCE_EDIT_MODAL_PREFIX: _setup(announce_routes.submit),
    ids.REVIEW_MODAL_PREFIX: _setup(review.submit),
}
