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

# "Is it one of these?", the answer to a duplicate suggestion: the ids name the held draft (the
# submit's interaction id) and the case. The worker checks that the presser filed the draft and
# that the case was one offered for it.
DUPLICATE_PICK_PREFIX = "dupe:pick:"
DUPLICATE_FILE_PREFIX = "dupe:file:"


def duplicate_pick_button(draft_id: str, number: int) -> str:
    return f"{DUPLICATE_PICK_PREFIX}{draft_id}:{number}"


def file_mine_button(draft_id: str) -> str:
    return f"{DUPLICATE_FILE_PREFIX}{draft_id}"
