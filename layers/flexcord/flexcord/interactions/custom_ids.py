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
