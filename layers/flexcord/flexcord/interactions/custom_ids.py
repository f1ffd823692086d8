"""Component custom_ids that both the endpoint and the worker know. A custom_id says what was
asked; it never proves who may have it (the client can forge one)."""

import re
from dataclasses import dataclass

SHOW_CASE_BUTTON_PREFIX = "case:show:"


def show_case_button(number: int, server: str | None = None) -> str:
    """A "view case" button. In a server the case is that server's; in a DM (a status update,
    ``/mycases``) the button names the case's server too. Either way the worker shows the case
    only to its reporter or that server's staff."""
    return f"{SHOW_CASE_BUTTON_PREFIX}{server}:{number}" if server else f"{SHOW_CASE_BUTTON_PREFIX}{number}"


# The controls on a case post, and the forms they open: ``case:<action>:<number>``. The case is
# the post's server's (the interaction's guild), never one named in the id; every action is
# re-checked against the presser's roles in the worker.
CASE_STATUS_SELECT = "status"
CASE_NOTE = "note"
CASE_TELL = "tell"
CASE_DUPLICATE = "dup"
CASE_ASSIGN = "assign"
CASE_ME_TOO = "metoo"
CASE_CONTROL_ACTIONS = (CASE_STATUS_SELECT, CASE_NOTE, CASE_TELL, CASE_DUPLICATE, CASE_ASSIGN, CASE_ME_TOO)
_CASE_CONTROL = re.compile(r"case:(" + "|".join(CASE_CONTROL_ACTIONS) + r"):([1-9][0-9]{0,11})")
# The server is a Discord id, or "0" for a deployment configured with no server.
_SHOW_CASE = re.compile(r"case:show:(?:(0|[1-9][0-9]{0,19}):)?([1-9][0-9]{0,11})")


@dataclass(frozen=True)
class CaseControl:
    action: str
    number: int


def case_control(action: str, number: int) -> str:
    return f"case:{action}:{number}"


def parse_case_control(custom_id: str) -> CaseControl | None:
    """The action and case number of a case control's id; None for anything else (ASCII digits
    only, no leading zero: ``isdigit()`` would take "²")."""
    match = _CASE_CONTROL.fullmatch(custom_id)
    return CaseControl(match.group(1), int(match.group(2))) if match else None


def parse_show_case(custom_id: str) -> tuple[str | None, int] | None:
    """(server or None, number) of a "view case" button."""
    match = _SHOW_CASE.fullmatch(custom_id)
    return (match.group(1), int(match.group(2))) if match else None


# The support chat's buttons and form. The worker finds the session from the member who pressed,
# never from the id, so a button in someone else's view does nothing to their chat.
REPLY_BUTTON = "chat:reply"
REPLY_MODAL = "chat:reply"
TALK_TO_HUMAN_BUTTON = "chat:human"
END_CHAT_BUTTON = "chat:end"
END_CHAT_CONFIRM = "chat:end:confirm"
END_CHAT_CANCEL = "chat:end:cancel"
HELPED_BUTTON = "assistant:helped"

# After a support chat: the closing notice's rating buttons, comment form and transcript button.
# They carry the case's server and number; the worker re-checks that whoever pressed is the
# case's reporter, so a forged id rates or reads nothing.
RATE_CHAT_PREFIX = "chat:rate:"
RATE_COMMENT_PREFIX = "chat:comment:"
TRANSCRIPT_PREFIX = "chat:transcript:"
# Outside support hours: leave a message that opens a case for staff.
LEAVE_MESSAGE_BUTTON = "chat:leave"
LEAVE_MESSAGE_MODAL = "chat:leave"


def rate_chat_button(server: str, number: int, stars: int) -> str:
    return f"{RATE_CHAT_PREFIX}{server}:{number}:{stars}"


def rate_comment_button(server: str, number: int) -> str:
    return f"{RATE_COMMENT_PREFIX}{server}:{number}"


def transcript_button(server: str, number: int) -> str:
    return f"{TRANSCRIPT_PREFIX}{server}:{number}"


# "Is it one of these?", the answer to a duplicate suggestion: the ids name the held draft (the
# submit's interaction id) and the case. The worker checks that the presser filed the draft and
# that the case was one offered for it.
DUPLICATE_PICK_PREFIX = "dupe:pick:"
DUPLICATE_FILE_PREFIX = "dupe:file:"


def duplicate_pick_button(draft_id: str, number: int) -> str:
    return f"{DUPLICATE_PICK_PREFIX}{draft_id}:{number}"


def file_mine_button(draft_id: str) -> str:
    return f"{DUPLICATE_FILE_PREFIX}{draft_id}"


# /setup: the settings message's selects and buttons, and the support hours form. Whoever uses
# them is re-checked for Manage Server at the endpoint and again in the worker.
SETUP_PREFIX = "setup:"
SETUP_CHANNELS_VIEW = "setup:view:channels"
SETUP_STAFF_VIEW = "setup:view:staff"
SETUP_CHANNEL_PREFIX = "setup:channel:"
SETUP_STAFF_ROLE = "setup:staff_role"
SETUP_HOURS_BUTTON = "setup:hours"
SETUP_HOURS_MODAL = "setup:hours"


def setup_channel_select(setting: str) -> str:
    """The channel select of a channel setting (``bug_report_channel_id``...)."""
    return f"{SETUP_CHANNEL_PREFIX}{setting}"


# /announce: the form, and the preview's buttons (``announce:post:<draft id>``, edit, cancel).
# The draft id is the id of the submit that made it; the worker checks who presses.
ANNOUNCE_MODAL = "announce:form"
#: The form reopened by Edit names the draft it replaces: that draft's preview can no longer post.
ANNOUNCE_EDIT_MODAL_PREFIX = "announce:form:"
ANNOUNCE_PREFIX = "announce:"


def announce_button(action: str, draft_id: str) -> str:
    return f"{ANNOUNCE_PREFIX}{action}:{draft_id}"


# Review first: the buttons on a review message in the staff channel (``review:approve:<id>``,
# ``review:edit:<id>``, ``review:reject:<id>``) and the form Edit opens (``review:form:<id>``).
# ``<id>`` is the announcement id (a webhook's 24 hex characters, a feed entry's
# ``feed-<feed id>-<24 hex>``). The id says which review; the worker checks the presser is staff
# of that review's server, from the signed interaction.
REVIEW_PREFIX = "review:"
REVIEW_MODAL_PREFIX = "review:form:"
REVIEW_APPROVE, REVIEW_EDIT, REVIEW_REJECT = "approve", "edit", "reject"
REVIEW_ACTIONS = (REVIEW_APPROVE, REVIEW_EDIT, REVIEW_REJECT)
#: An announcement id as the review's custom_ids carry it: 64 characters at most, so the longest
#: custom_id (``review:approve:`` + 64 = 79) stays inside Discord's 100.
REVIEW_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_REVIEW_BUTTON = re.compile(r"review:(" + "|".join(REVIEW_ACTIONS) + r"):(" + REVIEW_ID.pattern + r")")


def review_button(action: str, announcement_id: str) -> str:
    return f"{REVIEW_PREFIX}{action}:{announcement_id}"


def review_modal(announcement_id: str) -> str:
    return f"{REVIEW_MODAL_PREFIX}{announcement_id}"


def parse_review_button(custom_id: str) -> tuple[str, str] | None:
    """(action, announcement id) of a review button; None for anything else."""
    match = _REVIEW_BUTTON.fullmatch(custom_id)
    return (match.group(1), match.group(2)) if match else None


def parse_review_modal(custom_id: str) -> str | None:
    """The announcement id of the review's Edit form; None for anything else."""
    announcement_id = custom_id.removeprefix(REVIEW_MODAL_PREFIX)
    if announcement_id == custom_id or not REVIEW_ID.fullmatch(announcement_id):
        return None
    return announcement_id
