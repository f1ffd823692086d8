"""Component custom_ids that both the endpoint and the worker know. A custom_id says what was
asked; it never proves who may have it (the client can forge one)."""

SHOW_CASE_BUTTON_PREFIX = "case:show:"


def show_case_button(number: int) -> str:
    return f"{SHOW_CASE_BUTTON_PREFIX}{number}"


# The support chat's buttons and form. The worker finds the session from the member who pressed,
# never from the id, so a button in someone else's view does nothing to their chat.
REPLY_BUTTON = "chat:reply"
REPLY_MODAL = "chat:reply"
TALK_TO_HUMAN_BUTTON = "chat:human"
END_CHAT_BUTTON = "chat:end"
END_CHAT_CONFIRM = "chat:end:confirm"
END_CHAT_CANCEL = "chat:end:cancel"
HELPED_BUTTON = "assistant:helped"

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
