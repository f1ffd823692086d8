"""Discord's documented limits for messages, components, modals and application commands.

Violations are collected into :class:`FormErrors` so REST routes can answer 400/50035 with the same
error tree Discord returns, and the interaction client can report them as a readable string.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from .errors import FormErrors

Path = tuple[str | int, ...]

# Message flags (developers/resources/message#message-object-message-flags).
SUPPRESS_EMBEDS = 1 << 2
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_VOICE_MESSAGE = 1 << 13
IS_COMPONENTS_V2 = 1 << 15

CHANNEL_MESSAGE_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_VOICE_MESSAGE | IS_COMPONENTS_V2
WEBHOOK_MESSAGE_FLAGS = CHANNEL_MESSAGE_FLAGS | EPHEMERAL

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_ACTION_ROWS = 5
MAX_ROW_CHILDREN = 5
MAX_COMPONENTS_V2_TOTAL = 40
MAX_ATTACHMENTS = 10
MAX_MODAL_COMPONENTS = 5
MAX_TEXT_INPUT = 4000
MAX_SELECT_OPTIONS = 25
MAX_FORUM_TAGS = 20
MAX_APPLIED_TAGS = 5

# Component types (developers/components/reference#component-object-component-types).
ACTION_ROW = 1
BUTTON = 2
STRING_SELECT = 3
TEXT_INPUT = 4
USER_SELECT = 5
ROLE_SELECT = 6
MENTIONABLE_SELECT = 7
CHANNEL_SELECT = 8
SECTION = 9
TEXT_DISPLAY = 10
THUMBNAIL = 11
MEDIA_GALLERY = 12
FILE = 13
SEPARATOR = 14
CONTAINER = 17
LABEL = 18
FILE_UPLOAD = 19
RADIO_GROUP = 21
CHECKBOX_GROUP = 22
CHECKBOX = 23

SELECT_TYPES = {STRING_SELECT, USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT}
LABEL_CHILD_TYPES = SELECT_TYPES | {TEXT_INPUT, FILE_UPLOAD, RADIO_GROUP, CHECKBOX_GROUP, CHECKBOX}
LINK_BUTTON_STYLE = 5
PREMIUM_BUTTON_STYLE = 6

ALLOWED_MENTION_TYPES = {"roles", "users", "everyone"}


# -- primitive checks --------------------------------------------------------------------------


def check_string(
    errors: FormErrors,
    path: Path,
    value: Any,
    *,
    max_length: int,
    min_length: int = 0,
    required: bool = False,
    trimmed: bool = False,
) -> None:
    """``trimmed``: measure without leading and trailing whitespace (how embed limits count)."""
    if value is None:
        if required:
            errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return
    if not isinstance(value, str):
        errors.add(path, "BASE_TYPE_STRING", f'Could not interpret "{value!r}" as string.')
        return
    if trimmed:
        value = value.strip()
    if min_length > 0 and not min_length <= len(value) <= max_length:
        errors.add(
            path,
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between {min_length} and {max_length} in length.",
        )
    elif len(value) > max_length:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {max_length} or fewer in length.")


def check_int(
    errors: FormErrors,
    path: Path,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
        return
    if minimum is not None and value < minimum:
        errors.add(path, "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {minimum}.")
    if maximum is not None and value > maximum:
        errors.add(path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {maximum}.")


def check_bool(errors: FormErrors, path: Path, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        errors.add(path, "BASE_TYPE_BOOLEAN", "Must be either true or false.")


def check_list(
    errors: FormErrors, path: Path, value: Any, *, max_items: int, min_items: int = 0
) -> list[Any] | None:
    """Returns the list when it is one (even if too long, so its items can still be checked)."""
    if value is None:
        return None
    if not isinstance(value, list):
        errors.add(path, "BASE_TYPE_LIST", "Must be an array.")
        return None
    if min_items > 0 and not min_items <= len(value) <= max_items:
        errors.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {min_items} and {max_items} in length.")
    elif len(value) > max_items:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {max_items} or fewer in length.")
    return value


def _as_object(errors: FormErrors, path: Path, value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        errors.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        return None
    return value


# -- messages ----------------------------------------------------------------------------------


def _trimmed_length(value: Any) -> int:
    # Embed limits count characters without leading and trailing whitespace (message.mdx).
    return len(value.strip()) if isinstance(value, str) else 0


def validate_embeds(errors: FormErrors, embeds_value: Any) -> None:
    embeds = check_list(errors, ("embeds",), embeds_value, max_items=MAX_EMBEDS)
    if embeds is None:
        return
    total = 0
    for index, raw in enumerate(embeds):
        path: Path = ("embeds", index)
        embed = _as_object(errors, path, raw)
        if embed is None:
            continue
        check_string(errors, (*path, "title"), embed.get("title"), max_length=256, trimmed=True)
        check_string(errors, (*path, "description"), embed.get("description"), max_length=4096, trimmed=True)
        check_string(errors, (*path, "url"), embed.get("url"), max_length=2048)
        check_int(errors, (*path, "color"), embed.get("color"), minimum=0, maximum=0xFFFFFF)
        total += _trimmed_length(embed.get("title")) + _trimmed_length(embed.get("description"))
        footer = embed.get("footer")
        if footer is not None and _as_object(errors, (*path, "footer"), footer) is not None:
            check_string(errors, (*path, "footer", "text"), footer.get("text"), max_length=2048, trimmed=True)
            total += _trimmed_length(footer.get("text"))
        author = embed.get("author")
        if author is not None and _as_object(errors, (*path, "author"), author) is not None:
            check_string(errors, (*path, "author", "name"), author.get("name"), max_length=256, trimmed=True)
            total += _trimmed_length(author.get("name"))
        for media in ("image", "thumbnail"):
            holder = embed.get(media)
            if holder is not None and _as_object(errors, (*path, media), holder) is not None:
                check_string(errors, (*path, media, "url"), holder.get("url"), max_length=2048, required=True)
        fields = check_list(errors, (*path, "fields"), embed.get("fields"), max_items=25)
        for field_index, raw_field in enumerate(fields or []):
            field_path: Path = (*path, "fields", field_index)
            embed_field = _as_object(errors, field_path, raw_field)
            if embed_field is None:
                continue
            for key, limit in (("name", 256), ("value", 1024)):
                check_string(
                    errors,
                    (*field_path, key),
                    embed_field.get(key),
                    max_length=limit,
                    min_length=1,
                    required=True,
                    trimmed=True,
                )
            check_bool(errors, (*field_path, "inline"), embed_field.get("inline"))
            total += _trimmed_length(embed_field.get("name")) + _trimmed_length(embed_field.get("value"))
    if total > MAX_EMBED_TOTAL:
        errors.add(
            ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
        )


def _check_custom_id(
    errors: FormErrors, path: Path, component: dict[str, Any], seen_custom_ids: set[str]
) -> None:
    custom_id = component.get("custom_id")
    check_string(errors, (*path, "custom_id"), custom_id, max_length=100, min_length=1, required=True)
    if isinstance(custom_id, str):
        if custom_id in seen_custom_ids:
            errors.add(
                (*path, "custom_id"),
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            )
        seen_custom_ids.add(custom_id)


def _validate_button(
    errors: FormErrors, path: Path, button: dict[str, Any], seen_custom_ids: set[str]
) -> None:
    style = button.get("style")
    if style not in range(1, 7) or isinstance(style, bool):
        errors.add((*path, "style"), "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4, 5, 6).")
    check_string(errors, (*path, "label"), button.get("label"), max_length=80)
    if style == LINK_BUTTON_STYLE:
        check_string(errors, (*path, "url"), button.get("url"), max_length=512, required=True)
        if button.get("custom_id") is not None:
            errors.add(
                (*path, "custom_id"),
                "BUTTON_COMPONENT_CUSTOM_ID_OR_URL_REQUIRED",
                "A custom id and url cannot both be specified",
            )
    elif style == PREMIUM_BUTTON_STYLE:
        if button.get("sku_id") is None:
            errors.add((*path, "sku_id"), "BASE_TYPE_REQUIRED", "This field is required")
    else:
        _check_custom_id(errors, path, button, seen_custom_ids)
        if button.get("url") is not None:
            errors.add(
                (*path, "url"),
                "BUTTON_COMPONENT_CUSTOM_ID_OR_URL_REQUIRED",
                "A custom id and url cannot both be specified",
            )
    check_bool(errors, (*path, "disabled"), button.get("disabled"))


# Which ``default_values`` types each auto-populated select takes.
DEFAULT_VALUE_TYPES = {
    USER_SELECT: {"user"},
    ROLE_SELECT: {"role"},
    MENTIONABLE_SELECT: {"user", "role"},
    CHANNEL_SELECT: {"channel"},
}
CHANNEL_TYPE_CHOICES = (0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16)


def _validate_select(
    errors: FormErrors, path: Path, select: dict[str, Any], seen_custom_ids: set[str]
) -> None:
    """Select menus (developers/components/reference#string-select and the auto-populated ones):
    custom_id, placeholder ≤150, min_values 0-25 ≤ max_values 1-25; a string select's 1-25
    options (labels and values 1-100, unique values, at most max_values defaults); ``default_values``
    (user/role/mentionable/channel selects only, of the right types, within min..max) and
    ``channel_types`` (channel selects only)."""
    kind = select.get("type")
    _check_custom_id(errors, path, select, seen_custom_ids)
    check_string(errors, (*path, "placeholder"), select.get("placeholder"), max_length=150)
    check_int(errors, (*path, "min_values"), select.get("min_values"), minimum=0, maximum=25)
    check_int(errors, (*path, "max_values"), select.get("max_values"), minimum=1, maximum=25)
    check_bool(errors, (*path, "disabled"), select.get("disabled"))
    minimum, maximum = select.get("min_values"), select.get("max_values")
    low = minimum if isinstance(minimum, int) and not isinstance(minimum, bool) else 1
    high = maximum if isinstance(maximum, int) and not isinstance(maximum, bool) else 1
    if low > high:
        errors.add((*path, "min_values"), "BASE_TYPE_BAD_VALUE", "min_values must not exceed max_values.")
    if kind == STRING_SELECT:
        _validate_string_select(errors, path, select, high)
    else:
        _validate_auto_select(errors, path, select, low, high)


def _validate_string_select(errors: FormErrors, path: Path, select: dict[str, Any], high: int) -> None:
    options = check_list(
        errors, (*path, "options"), select.get("options"), max_items=MAX_SELECT_OPTIONS, min_items=1
    )
    if select.get("options") is None:
        errors.add((*path, "options"), "BASE_TYPE_REQUIRED", "This field is required")
    values: list[Any] = []
    defaults = 0
    for index, raw in enumerate(options or []):
        option = _as_object(errors, (*path, "options", index), raw)
        if option is None:
            continue
        for key in ("label", "value"):
            check_string(
                errors,
                (*path, "options", index, key),
                option.get(key),
                max_length=100,
                min_length=1,
                required=True,
            )
        check_string(
            errors,
            (*path, "options", index, "description"),
            option.get("description"),
            max_length=100,
        )
        check_bool(errors, (*path, "options", index, "default"), option.get("default"))
        if option.get("value") in values:
            errors.add(
                (*path, "options", index, "value"),
                "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                "Select component option values cannot be duplicated",
            )
        values.append(option.get("value"))
        defaults += option.get("default") is True
    if options and high > len(options):
        errors.add(
            (*path, "max_values"),
            "BASE_TYPE_MAX",
            f"max_values must be less than or equal to the number of options ({len(options)}).",
        )
    if defaults > high:
        errors.add((*path, "options"), "BASE_TYPE_BAD_VALUE", "More options are default than max_values.")
    for key in ("default_values", "channel_types"):
        if select.get(key) is not None:
            errors.add((*path, key), "BASE_TYPE_BAD_VALUE", f"{key} is not allowed on a string select.")


def _validate_auto_select(
    errors: FormErrors, path: Path, select: dict[str, Any], low: int, high: int
) -> None:
    kind = select.get("type")
    if select.get("options") is not None:
        errors.add((*path, "options"), "BASE_TYPE_BAD_VALUE", "Only string selects have options.")
    if kind == CHANNEL_SELECT:
        channel_types = check_list(
            errors, (*path, "channel_types"), select.get("channel_types"), max_items=16
        )
        for index, channel_type in enumerate(channel_types or []):
            check_choice(errors, (*path, "channel_types", index), channel_type, CHANNEL_TYPE_CHOICES)
    elif select.get("channel_types") is not None:
        errors.add(
            (*path, "channel_types"), "BASE_TYPE_BAD_VALUE", "Only channel selects have channel_types."
        )
    defaults_value = check_list(errors, (*path, "default_values"), select.get("default_values"), max_items=25)
    allowed = DEFAULT_VALUE_TYPES.get(kind if isinstance(kind, int) else -1, set())
    for index, raw in enumerate(defaults_value or []):
        default = _as_object(errors, (*path, "default_values", index), raw)
        if default is None:
            continue
        default_id = default.get("id")
        if default_id is None or not str(default_id).isdigit():
            errors.add(
                (*path, "default_values", index, "id"), "NUMBER_TYPE_COERCE", "Value is not snowflake."
            )
        if default.get("type") not in allowed:
            errors.add(
                (*path, "default_values", index, "type"),
                "BASE_TYPE_CHOICES",
                f"Value must be one of {sorted(allowed)}.",
            )
    if defaults_value and not low <= len(defaults_value) <= high:
        errors.add(
            (*path, "default_values"),
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between {low} and {high} in length.",
        )


def _validate_row(errors: FormErrors, path: Path, row: dict[str, Any], seen_custom_ids: set[str]) -> int:
    """Validates an action row of a message; returns the number of components it holds."""
    children = check_list(
        errors,
        (*path, "components"),
        row.get("components"),
        max_items=MAX_ROW_CHILDREN,
        min_items=1,
    )
    if row.get("components") is None:
        errors.add((*path, "components"), "BASE_TYPE_REQUIRED", "This field is required")
    count = 1
    types: list[Any] = []
    for index, raw in enumerate(children or []):
        child_path: Path = (*path, "components", index)
        child = _as_object(errors, child_path, raw)
        if child is None:
            continue
        count += 1
        kind = child.get("type")
        types.append(kind)
        if kind == BUTTON:
            _validate_button(errors, child_path, child, seen_custom_ids)
        elif kind in SELECT_TYPES:
            _validate_select(errors, child_path, child, seen_custom_ids)
        else:
            errors.add(
                (*child_path, "type"),
                "UNION_TYPE_CHOICES",
                'Value of field "type" must be one of (2, 3, 5, 6, 7, 8).',
            )
    # A select menu fills a whole row (five buttons are one row's width).
    if any(kind in SELECT_TYPES for kind in types) and len(types) > 1:
        errors.add(
            (*path, "components"),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
            "The specified component exceeds the maximum width",
        )
    return count


def _validate_v2_component(
    errors: FormErrors, path: Path, component: dict[str, Any], seen_custom_ids: set[str]
) -> int:
    """Light validation of Components V2 layouts; returns the number of components counted."""
    kind = component.get("type")
    if kind == ACTION_ROW:
        return _validate_row(errors, path, component, seen_custom_ids)
    if kind == TEXT_DISPLAY:
        check_string(errors, (*path, "content"), component.get("content"), max_length=4000, required=True)
        return 1
    if kind in {SEPARATOR, MEDIA_GALLERY, FILE, THUMBNAIL}:
        return 1
    if kind in {CONTAINER, SECTION}:
        count = 1
        children = check_list(errors, (*path, "components"), component.get("components"), max_items=40)
        for index, raw in enumerate(children or []):
            child = _as_object(errors, (*path, "components", index), raw)
            if child is not None:
                count += _validate_v2_component(errors, (*path, "components", index), child, seen_custom_ids)
        accessory = component.get("accessory")
        if isinstance(accessory, dict):
            if accessory.get("type") == BUTTON:
                _validate_button(errors, (*path, "accessory"), accessory, seen_custom_ids)
            count += 1
        return count
    errors.add((*path, "type"), "UNION_TYPE_CHOICES", f"Component type {kind!r} is not allowed here.")
    return 1


def validate_message_components(errors: FormErrors, value: Any, *, components_v2: bool) -> None:
    seen_custom_ids: set[str] = set()
    if components_v2:
        components = check_list(errors, ("components",), value, max_items=MAX_COMPONENTS_V2_TOTAL)
        total = 0
        for index, raw in enumerate(components or []):
            component = _as_object(errors, ("components", index), raw)
            if component is not None:
                total += _validate_v2_component(errors, ("components", index), component, seen_custom_ids)
        if total > MAX_COMPONENTS_V2_TOTAL:
            errors.add(
                ("components",),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_COMPONENTS_V2_TOTAL} or fewer in length.",
            )
        return
    rows = check_list(errors, ("components",), value, max_items=MAX_ACTION_ROWS)
    for index, raw in enumerate(rows or []):
        row = _as_object(errors, ("components", index), raw)
        if row is None:
            continue
        if row.get("type") != ACTION_ROW:
            errors.add(
                ("components", index, "type"),
                "UNION_TYPE_CHOICES",
                'Value of field "type" must be one of (1,).',
            )
            continue
        _validate_row(errors, ("components", index), row, seen_custom_ids)


def validate_allowed_mentions(errors: FormErrors, value: Any) -> None:
    if value is None:
        return
    allowed = _as_object(errors, ("allowed_mentions",), value)
    if allowed is None:
        return
    parse = check_list(errors, ("allowed_mentions", "parse"), allowed.get("parse"), max_items=3)
    for index, item in enumerate(parse or []):
        if item not in ALLOWED_MENTION_TYPES:
            errors.add(
                ("allowed_mentions", "parse", index),
                "BASE_TYPE_CHOICES",
                "Value must be one of {'roles', 'users', 'everyone'}.",
            )
    for kind in ("users", "roles"):
        ids = check_list(errors, ("allowed_mentions", kind), allowed.get(kind), max_items=100)
        if ids and parse and kind in parse:
            errors.add(
                ("allowed_mentions",),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: {ids} are mutually exclusive.',
            )
    check_bool(errors, ("allowed_mentions", "replied_user"), allowed.get("replied_user"))


def validate_message_body(errors: FormErrors, payload: dict[str, Any], *, allowed_flags: int) -> None:
    """Field limits shared by message creates, edits, webhook executes and interaction replies."""
    check_string(errors, ("content",), payload.get("content"), max_length=MAX_CONTENT)
    validate_embeds(errors, payload.get("embeds"))
    flags = payload.get("flags")
    check_int(errors, ("flags",), flags, minimum=0)
    components_v2 = isinstance(flags, int) and bool(flags & IS_COMPONENTS_V2)
    if isinstance(flags, int) and not isinstance(flags, bool) and flags & ~allowed_flags:
        errors.add(("flags",), "MESSAGE_FLAGS_INVALID", "Invalid message flags")
    if payload.get("components") is not None:
        validate_message_components(errors, payload.get("components"), components_v2=components_v2)
    if components_v2 and (payload.get("content") or payload.get("embeds")):
        errors.add(
            ("content",) if payload.get("content") else ("embeds",),
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2",
        )
    validate_allowed_mentions(errors, payload.get("allowed_mentions"))
    check_bool(errors, ("tts",), payload.get("tts"))
    attachments = check_list(errors, ("attachments",), payload.get("attachments"), max_items=MAX_ATTACHMENTS)
    for index, raw in enumerate(attachments or []):
        attachment = _as_object(errors, ("attachments", index), raw)
        if attachment is not None and attachment.get("id") is None:
            errors.add(("attachments", index, "id"), "BASE_TYPE_REQUIRED", "This field is required")
    nonce = payload.get("nonce")
    if isinstance(nonce, str):
        check_string(errors, ("nonce",), nonce, max_length=25)
    elif nonce is not None and (isinstance(nonce, bool) or not isinstance(nonce, int)):
        errors.add(("nonce",), "BASE_TYPE_STRING", "Nonce must be a string or an integer.")
    check_bool(errors, ("enforce_nonce",), payload.get("enforce_nonce"))


# -- modals ------------------------------------------------------------------------------------


def _validate_text_input(
    errors: FormErrors, path: Path, text_input: dict[str, Any], seen: set[str], *, legacy: bool
) -> None:
    _check_custom_id(errors, path, text_input, seen)
    if text_input.get("style") not in (1, 2):
        errors.add((*path, "style"), "BASE_TYPE_CHOICES", "Value must be one of (1, 2).")
    # In the legacy action-row form the label lives on the text input and is required.
    check_string(
        errors, (*path, "label"), text_input.get("label"), max_length=45, min_length=1, required=legacy
    )
    check_int(errors, (*path, "min_length"), text_input.get("min_length"), minimum=0, maximum=MAX_TEXT_INPUT)
    check_int(errors, (*path, "max_length"), text_input.get("max_length"), minimum=1, maximum=MAX_TEXT_INPUT)
    minimum, maximum = text_input.get("min_length"), text_input.get("max_length")
    if isinstance(minimum, int) and isinstance(maximum, int) and minimum > maximum:
        errors.add((*path, "min_length"), "BASE_TYPE_BAD_LENGTH", "min_length must not exceed max_length.")
    check_string(errors, (*path, "value"), text_input.get("value"), max_length=MAX_TEXT_INPUT)
    check_string(errors, (*path, "placeholder"), text_input.get("placeholder"), max_length=100)
    check_bool(errors, (*path, "required"), text_input.get("required"))


def _validate_file_upload(errors: FormErrors, path: Path, upload: dict[str, Any], seen: set[str]) -> None:
    _check_custom_id(errors, path, upload, seen)
    check_int(errors, (*path, "min_values"), upload.get("min_values"), minimum=0, maximum=10)
    check_int(errors, (*path, "max_values"), upload.get("max_values"), minimum=1, maximum=10)
    check_bool(errors, (*path, "required"), upload.get("required"))
    minimum = upload.get("min_values")
    if upload.get("required", True) and minimum == 0:
        errors.add(
            (*path, "min_values"),
            "BASE_TYPE_BAD_VALUE",
            "min_values must be at least 1 when the upload is required.",
        )
    file_types = check_list(errors, (*path, "file_types"), upload.get("file_types"), max_items=10)
    for index, item in enumerate(file_types or []):
        if not isinstance(item, str) or not (item in {"image", "video", "audio"} or item.startswith(".")):
            errors.add((*path, "file_types", index), "BASE_TYPE_CHOICES", "Invalid file type filter.")


def _validate_modal_label(errors: FormErrors, path: Path, label: dict[str, Any], seen: set[str]) -> None:
    check_string(errors, (*path, "label"), label.get("label"), max_length=45, min_length=1, required=True)
    check_string(errors, (*path, "description"), label.get("description"), max_length=100)
    child = _as_object(errors, (*path, "component"), label.get("component"))
    if child is None:
        return
    child_kind = child.get("type")
    if child_kind == TEXT_INPUT:
        _validate_text_input(errors, (*path, "component"), child, seen, legacy=False)
    elif child_kind == FILE_UPLOAD:
        _validate_file_upload(errors, (*path, "component"), child, seen)
    elif child_kind in SELECT_TYPES:
        _validate_select(errors, (*path, "component"), child, seen)
    elif child_kind in LABEL_CHILD_TYPES:
        _check_custom_id(errors, (*path, "component"), child, seen)
    else:
        errors.add(
            (*path, "component", "type"),
            "UNION_TYPE_CHOICES",
            f"Component type {child_kind!r} cannot be placed in a Label.",
        )


def _validate_modal_row(errors: FormErrors, path: Path, row: dict[str, Any], seen: set[str]) -> None:
    """The deprecated form: one text input (with its own label) per action row."""
    children = check_list(errors, (*path, "components"), row.get("components"), max_items=1, min_items=1)
    for child_index, raw_child in enumerate(children or []):
        child_path: Path = (*path, "components", child_index)
        child = _as_object(errors, child_path, raw_child)
        if child is None:
            continue
        if child.get("type") != TEXT_INPUT:
            errors.add(
                (*child_path, "type"),
                "UNION_TYPE_CHOICES",
                "Only text inputs can be placed in a modal action row.",
            )
            continue
        _validate_text_input(errors, child_path, child, seen, legacy=True)


def validate_modal(errors: FormErrors, data: Any) -> None:
    """The data of a MODAL (type 9) interaction response."""
    modal = _as_object(errors, ("data",), data)
    if modal is None:
        return
    check_string(
        errors, ("data", "custom_id"), modal.get("custom_id"), max_length=100, min_length=1, required=True
    )
    check_string(errors, ("data", "title"), modal.get("title"), max_length=45, min_length=1, required=True)
    if modal.get("components") is None:
        errors.add(("data", "components"), "BASE_TYPE_REQUIRED", "This field is required")
    components = check_list(
        errors,
        ("data", "components"),
        modal.get("components"),
        max_items=MAX_MODAL_COMPONENTS,
        min_items=1,
    )
    seen: set[str] = set()
    for index, raw in enumerate(components or []):
        path: Path = ("data", "components", index)
        component = _as_object(errors, path, raw)
        if component is None:
            continue
        kind = component.get("type")
        if kind == LABEL:
            _validate_modal_label(errors, path, component, seen)
        elif kind == ACTION_ROW:
            _validate_modal_row(errors, path, component, seen)
        elif kind == TEXT_DISPLAY:
            check_string(
                errors,
                (*path, "content"),
                component.get("content"),
                max_length=4000,
                min_length=1,
                required=True,
            )
        else:
            errors.add(
                (*path, "type"),
                "UNION_TYPE_CHOICES",
                f"Component type {kind!r} cannot be a top-level modal component "
                "(text inputs and file uploads go inside a Label, type 18).",
            )


# -- application commands ----------------------------------------------------------------------

COMMAND_TYPES = {1, 2, 3, 4}
CHAT_INPUT = 1
OPTION_TYPES = set(range(1, 12))
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
CHOICE_OPTION_TYPES = {3, 4, 10}
INTERACTION_CONTEXTS = {0, 1, 2}
INTEGRATION_TYPES = {0, 1}
MAX_COMMANDS = 110  # 100 chat input + 5 user + 5 message commands per scope


def is_valid_chat_input_name(name: str) -> bool:
    """``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, and lowercase where a letter has a
    lowercase form (developers/interactions/application-commands#application-command-naming)."""
    if not 1 <= len(name) <= 32 or name != name.lower():
        return False
    for char in name:
        category = unicodedata.category(char)
        if char in "-_'" or category.startswith(("L", "N")) or category in {"Mn", "Mc"}:
            continue
        return False
    return True


def _validate_option(errors: FormErrors, path: Path, raw: Any, *, depth: int) -> bool:
    """Validates one command option; returns whether it is required."""
    option = _as_object(errors, path, raw)
    if option is None:
        return False
    kind = option.get("type")
    if kind not in OPTION_TYPES or isinstance(kind, bool):
        errors.add(
            (*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)."
        )
    name = option.get("name")
    check_string(errors, (*path, "name"), name, max_length=32, min_length=1, required=True)
    if isinstance(name, str) and not is_valid_chat_input_name(name):
        errors.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    check_string(
        errors, (*path, "description"), option.get("description"), max_length=100, min_length=1, required=True
    )
    check_bool(errors, (*path, "required"), option.get("required"))
    check_bool(errors, (*path, "autocomplete"), option.get("autocomplete"))
    choices = check_list(errors, (*path, "choices"), option.get("choices"), max_items=25)
    if choices and kind not in CHOICE_OPTION_TYPES:
        errors.add(
            (*path, "choices"),
            "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
            "Choices are only allowed for string, integer and number options.",
        )
    for index, raw_choice in enumerate(choices or []):
        choice = _as_object(errors, (*path, "choices", index), raw_choice)
        if choice is not None:
            check_string(
                errors,
                (*path, "choices", index, "name"),
                choice.get("name"),
                max_length=100,
                min_length=1,
                required=True,
            )
            if choice.get("value") is None:
                errors.add((*path, "choices", index, "value"), "BASE_TYPE_REQUIRED", "This field is required")
    check_int(errors, (*path, "min_length"), option.get("min_length"), minimum=0, maximum=6000)
    check_int(errors, (*path, "max_length"), option.get("max_length"), minimum=1, maximum=6000)
    if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
        if depth >= 2 or (kind == SUB_COMMAND_GROUP and depth >= 1):
            errors.add(
                (*path, "type"),
                "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                "Subcommands cannot be nested this deep.",
            )
        _validate_options(
            errors, path, option.get("options"), depth=depth + 1, group=kind == SUB_COMMAND_GROUP
        )
    elif option.get("options") is not None:
        errors.add(
            (*path, "options"),
            "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
            "Only subcommands and groups have options.",
        )
    return option.get("required") is True


def _validate_options(errors: FormErrors, path: Path, value: Any, *, depth: int, group: bool = False) -> None:
    options = check_list(errors, (*path, "options"), value, max_items=25)
    if not options:
        return
    seen_names: set[str] = set()
    saw_optional = False
    kinds = [option.get("type") if isinstance(option, dict) else None for option in options]
    has_subcommands = any(kind in (SUB_COMMAND, SUB_COMMAND_GROUP) for kind in kinds)
    if has_subcommands and not all(kind in (SUB_COMMAND, SUB_COMMAND_GROUP) for kind in kinds):
        errors.add(
            (*path, "options"),
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Subcommands cannot be mixed with other options.",
        )
    if group and not all(kind == SUB_COMMAND for kind in kinds):
        errors.add(
            (*path, "options"),
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "A subcommand group may only contain subcommands.",
        )
    for index, raw in enumerate(options):
        option_path: Path = (*path, "options", index)
        required = _validate_option(errors, option_path, raw, depth=depth)
        if required and saw_optional:
            errors.add(
                option_path,
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            )
        saw_optional = saw_optional or not required
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str):
            if name in seen_names:
                errors.add(
                    (*option_path, "name"),
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    "Option name already exists",
                )
            seen_names.add(name)


def _validate_enum_list(errors: FormErrors, path: Path, value: Any, allowed: set[int]) -> None:
    items = check_list(errors, path, value, max_items=len(allowed), min_items=1)
    for index, item in enumerate(items or []):
        if item not in allowed or isinstance(item, bool):
            errors.add((*path, index), "BASE_TYPE_CHOICES", f"Value must be one of {tuple(sorted(allowed))}.")
    if items is not None and len(set(map(str, items))) != len(items):
        errors.add(path, "BASE_TYPE_UNIQUE", "Values must be unique.")


def validate_application_command(errors: FormErrors, path: Path, raw: Any) -> None:
    command = _as_object(errors, path, raw)
    if command is None:
        return
    kind = command.get("type", CHAT_INPUT)
    if kind not in COMMAND_TYPES or isinstance(kind, bool):
        errors.add((*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4).")
    name = command.get("name")
    check_string(errors, (*path, "name"), name, max_length=32, min_length=1, required=True)
    if kind == CHAT_INPUT and isinstance(name, str) and not is_valid_chat_input_name(name):
        errors.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    description = command.get("description")
    if kind == CHAT_INPUT:
        check_string(errors, (*path, "description"), description, max_length=100, min_length=1, required=True)
        _validate_options(errors, path, command.get("options"), depth=0)
    else:
        if description not in (None, ""):
            errors.add(
                (*path, "description"),
                "APPLICATION_COMMAND_INVALID_DESCRIPTION",
                "Only chat input commands have a description.",
            )
        if command.get("options"):
            errors.add(
                (*path, "options"),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Only chat input commands have options.",
            )
    if command.get("contexts") is not None:
        _validate_enum_list(errors, (*path, "contexts"), command.get("contexts"), INTERACTION_CONTEXTS)
    if command.get("integration_types") is not None:
        _validate_enum_list(
            errors, (*path, "integration_types"), command.get("integration_types"), INTEGRATION_TYPES
        )
    permissions = command.get("default_member_permissions")
    # The docs type this as a string bitset; the OpenAPI spec also allows an integer.
    if permissions is not None and not (
        (isinstance(permissions, str) and permissions.isdigit())
        or (isinstance(permissions, int) and not isinstance(permissions, bool) and permissions >= 0)
    ):
        errors.add(
            (*path, "default_member_permissions"),
            "BASE_TYPE_BAD_VALUE",
            "Must be a permissions bitset string of digits.",
        )
    check_bool(errors, (*path, "dm_permission"), command.get("dm_permission"))
    check_bool(errors, (*path, "nsfw"), command.get("nsfw"))
    for key in ("name_localizations", "description_localizations"):
        if command.get(key) is not None and not isinstance(command.get(key), dict):
            errors.add((*path, key), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")


def validate_application_commands(errors: FormErrors, value: Any) -> list[dict[str, Any]]:
    """A bulk-overwrite body; returns the commands when the body is a list."""
    if not isinstance(value, list):
        errors.add((), "BASE_TYPE_LIST", "Must be an array.")
        return []
    if len(value) > MAX_COMMANDS:
        errors.add((), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_COMMANDS} or fewer in length.")
    seen: set[tuple[Any, Any]] = set()
    for index, raw in enumerate(value):
        validate_application_command(errors, (index,), raw)
        if isinstance(raw, dict):
            key = (raw.get("type", CHAT_INPUT), raw.get("name"))
            if key in seen:
                errors.add(
                    (index, "name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                )
            seen.add(key)
    return [raw for raw in value if isinstance(raw, dict)]


# -- threads (developers/resources/channel#start-thread-without-message) ------------------------

THREAD_TYPE_CHOICES = (10, 11, 12)
AUTO_ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
MAX_RATE_LIMIT_PER_USER = 21600


def check_choice(errors: FormErrors, path: Path, value: Any, choices: tuple[int, ...]) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
    elif value not in choices:
        listed = ", ".join(str(choice) for choice in choices)
        errors.add(path, "BASE_TYPE_CHOICES", f"Value must be one of {{{listed}}}.")


def validate_thread_create(errors: FormErrors, payload: dict[str, Any]) -> None:
    """``CreateTextThreadWithoutMessageRequest``: name 1-100, type 10/11/12 (default 12),
    auto_archive_duration 60/1440/4320/10080, invitable, rate_limit_per_user 0-21600."""
    check_string(errors, ("name",), payload.get("name"), max_length=100, min_length=1, required=True)
    check_choice(errors, ("type",), payload.get("type"), THREAD_TYPE_CHOICES)
    _check_thread_settings(errors, payload)
    check_bool(errors, ("invitable",), payload.get("invitable"))


def _check_thread_settings(errors: FormErrors, payload: dict[str, Any]) -> None:
    """What every thread request may set: ``auto_archive_duration`` and ``rate_limit_per_user``."""
    duration = payload.get("auto_archive_duration")
    check_choice(errors, ("auto_archive_duration",), duration, AUTO_ARCHIVE_DURATIONS)
    check_int(
        errors,
        ("rate_limit_per_user",),
        payload.get("rate_limit_per_user"),
        minimum=0,
        maximum=MAX_RATE_LIMIT_PER_USER,
    )


def check_snowflake(errors: FormErrors, path: Path, value: str) -> None:
    """Path ids must be snowflakes (digits); Discord answers 50035 otherwise."""
    if not value.isdigit():
        errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')


def validate_thread_from_message(errors: FormErrors, payload: dict[str, Any]) -> None:
    """``CreateTextThreadWithMessageRequest``: name 1-100, auto_archive_duration, rate limit."""
    check_string(errors, ("name",), payload.get("name"), max_length=100, min_length=1, required=True)
    _check_thread_settings(errors, payload)


def _check_tag_ids(errors: FormErrors, value: Any) -> None:
    tags = check_list(errors, ("applied_tags",), value, max_items=MAX_APPLIED_TAGS)
    for index, tag in enumerate(tags or []):
        if isinstance(tag, bool) or not (isinstance(tag, int) or (isinstance(tag, str) and tag.isdigit())):
            errors.add(("applied_tags", index), "NUMBER_TYPE_COERCE", f'Value "{tag}" is not snowflake.')


def validate_forum_post(errors: FormErrors, payload: dict[str, Any]) -> None:
    """``CreateForumThreadRequest``: a thread's name, archive duration and rate limit, up to 5
    ``applied_tags``, and the required ``message`` (checked when it is created)."""
    validate_thread_from_message(errors, payload)
    _check_tag_ids(errors, payload.get("applied_tags"))
    message = payload.get("message")
    if message is None:
        errors.add(("message",), "BASE_TYPE_REQUIRED", "This field is required")
    elif not isinstance(message, dict):
        errors.add(("message",), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")


def validate_thread_edit(errors: FormErrors, payload: dict[str, Any]) -> None:
    """``UpdateThreadRequestPartial``."""
    check_string(errors, ("name",), payload.get("name"), max_length=100, min_length=1)
    for key in ("archived", "locked", "invitable"):
        check_bool(errors, (key,), payload.get(key))
    _check_thread_settings(errors, payload)
    _check_tag_ids(errors, payload.get("applied_tags"))


def validate_channel_edit(errors: FormErrors, payload: dict[str, Any], *, forum: bool) -> None:
    """``UpdateGuildChannelRequestPartial`` (the fields the emulator applies): name 1-100, topic
    (1,024; 4,096 in a forum), and a forum's ``available_tags`` (≤20, names 1-20 characters)."""
    check_string(errors, ("name",), payload.get("name"), max_length=100, min_length=1)
    check_string(errors, ("topic",), payload.get("topic"), max_length=4096 if forum else 1024)
    tags = check_list(errors, ("available_tags",), payload.get("available_tags"), max_items=MAX_FORUM_TAGS)
    for index, raw in enumerate(tags or []):
        path: Path = ("available_tags", index)
        tag = _as_object(errors, path, raw)
        if tag is None:
            continue
        check_string(errors, (*path, "name"), tag.get("name"), max_length=20, min_length=1, required=True)
        check_bool(errors, (*path, "moderated"), tag.get("moderated"))
        check_string(errors, (*path, "emoji_name"), tag.get("emoji_name"), max_length=100)
        emoji_id = tag.get("emoji_id")
        if emoji_id is not None and not str(emoji_id).isdigit():
            errors.add((*path, "emoji_id"), "NUMBER_TYPE_COERCE", f'Value "{emoji_id}" is not snowflake.')
