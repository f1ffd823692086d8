"""Component custom_ids that both the endpoint and the worker know. A custom_id says what was
asked; it never proves who may have it (the client can forge one)."""

SHOW_CASE_BUTTON_PREFIX = "case:show:"


def show_case_button(number: int) -> str:
    return f"{SHOW_CASE_BUTTON_PREFIX}{number}"
