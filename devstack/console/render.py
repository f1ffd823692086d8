"""Discord messages, modals and Flex tasks as HTML fragments for the console (server-rendered:
the page swaps them in, and its script only wires the controls to the console's API)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any

from devstack.discord_markup import Directory, to_html

JsonObject = dict[str, Any]

EPHEMERAL = 1 << 6
LOADING = 1 << 7
ACTION_ROW, BUTTON, STRING_SELECT, TEXT_INPUT = 1, 2, 3, 4
USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT = 5, 6, 7, 8
LABEL, FILE_UPLOAD = 18, 19
LINK_STYLE = 5
BUTTON_STYLES = {1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link", 6: "premium"}
NEW_TAB = 'target="_blank" rel="noopener"'
IMAGE_NAME = re.compile(r"\.(png|jpe?g|gif|webp)$", re.IGNORECASE)


def attribute(value: Any) -> str:
    return escape(str(value), quote=True)


def messages_html(messages: Iterable[Mapping[str, Any]], directory: Directory) -> str:
    rendered = [message_html(message, directory) for message in messages]
    return "\n".join(rendered) or '<p class="empty">No messages yet.</p>'


def message_html(message: Mapping[str, Any], directory: Directory) -> str:
    author = message.get("author") or {}
    name = author.get("global_name") or author.get("username") or "?"
    flags = int(message.get("flags") or 0)
    bot = bool(author.get("bot"))
    stamp = message.get("timestamp", "")
    when = f'<time datetime="{attribute(stamp)}">{escape(_clock(stamp))}</time>'
    parts = [
        f'<article class="message" data-message-id="{attribute(message.get("id", ""))}">',
        f'<header><span class="author{" bot" if bot else ""}">{escape(str(name))}</span>'
        f"{' <span class=app-tag>APP</span>' if bot else ''} {when}</header>",
    ]
    if flags & LOADING:
        parts.append('<div class="thinking">Flexcord is thinking…</div>')
    if message.get("content"):
        parts.append(f'<div class="content">{to_html(str(message["content"]), directory)}</div>')
    parts.extend(_embed_html(embed, directory) for embed in message.get("embeds") or [])
    parts.extend(_attachment_html(attachment) for attachment in message.get("attachments") or [])
    parts.extend(_row_html(row, directory) for row in message.get("components") or [])
    if flags & EPHEMERAL:
        parts.append('<footer class="ephemeral">👁 Only you can see this</footer>')
    parts.append("</article>")
    return "".join(parts)


def _clock(timestamp: Any) -> str:
    try:
        return datetime.fromisoformat(str(timestamp)).astimezone().strftime("%H:%M")
    except ValueError:
        return ""


def _embed_html(embed: Mapping[str, Any], directory: Directory) -> str:
    colour = embed.get("color")
    style = f' style="border-left-color:#{int(colour):06x}"' if isinstance(colour, int) else ""
    parts = [f'<section class="embed"{style}>']
    if embed.get("author"):
        parts.append(f'<div class="embed-author">{escape(str(embed["author"].get("name", "")))}</div>')
    title = embed.get("title")
    if title:
        text = to_html(str(title), directory)
        url = str(embed.get("url") or "")
        if url.startswith(("http://", "https://")):
            text = f'<a href="{attribute(url)}" target="_blank" rel="noopener">{text}</a>'
        parts.append(f'<div class="embed-title">{text}</div>')
    if embed.get("description"):
        parts.append(f'<div class="embed-description">{to_html(str(embed["description"]), directory)}</div>')
    fields = embed.get("fields") or []
    if fields:
        parts.append('<div class="embed-fields">')
        for item in fields:
            inline = " inline" if item.get("inline") else ""
            parts.append(
                f'<div class="embed-field{inline}"><div class="field-name">'
                f"{to_html(str(item.get('name', '')), directory)}</div>"
                f'<div class="field-value">{to_html(str(item.get("value", "")), directory)}</div></div>'
            )
        parts.append("</div>")
    for key in ("image", "thumbnail"):
        url = str((embed.get(key) or {}).get("url") or "")
        if url.startswith(("http://", "https://")):
            parts.append(f'<img class="embed-{key}" src="{attribute(url)}" alt="">')
    footer = (embed.get("footer") or {}).get("text")
    if footer or embed.get("timestamp"):
        when = escape(_clock(embed.get("timestamp"))) if embed.get("timestamp") else ""
        text = escape(str(footer or ""))
        parts.append(f'<div class="embed-footer">{text}{" • " if footer and when else ""}{when}</div>')
    parts.append("</section>")
    return "".join(parts)


def _attachment_html(attachment: Mapping[str, Any]) -> str:
    url, filename = str(attachment.get("url", "")), str(attachment.get("filename", "file"))
    content_type = str(attachment.get("content_type") or "")
    link = f'<a class="attachment" href="{attribute(url)}" {NEW_TAB}>📎 {escape(filename)}</a>'
    if content_type.startswith("image/") or IMAGE_NAME.search(filename):
        image = f'<img src="{attribute(url)}" alt="{attribute(filename)}">'
        return f'<div class="attachment-image">{image}{link}</div>'
    return link


def _row_html(row: Mapping[str, Any], directory: Directory) -> str:
    children = row.get("components") if row.get("type") == ACTION_ROW else [row]
    controls = [_control_html(component, directory) for component in children or []]
    return f'<div class="action-row">{"".join(controls)}</div>'


def _control_html(component: Mapping[str, Any], directory: Directory) -> str:
    kind = component.get("type")
    disabled = " disabled" if component.get("disabled") else ""
    custom_id = attribute(component.get("custom_id", ""))
    if kind == BUTTON:
        style = int(component.get("style") or 2)
        label = escape(str(component.get("label") or ""))
        emoji = escape(str((component.get("emoji") or {}).get("name") or ""))
        text = f"{emoji} {label}".strip()
        if style == LINK_STYLE:
            return (
                f'<a class="button link" href="{attribute(component.get("url", ""))}" target="_blank" '
                f'rel="noopener">{text} ↗</a>'
            )
        return (
            f'<button class="button {BUTTON_STYLES.get(style, "secondary")}" data-action="click" '
            f'data-custom-id="{custom_id}"{disabled}>{text}</button>'
        )
    if kind in (STRING_SELECT, USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT):
        return _select_html(component, directory, action="select")
    return ""


def _select_html(component: Mapping[str, Any], directory: Directory, *, action: str) -> str:
    kind = component.get("type")
    if kind == STRING_SELECT:
        choices = [
            (str(o.get("value")), str(o.get("label")), bool(o.get("default")))
            for o in component.get("options") or []
        ]
    elif kind == ROLE_SELECT:
        choices = [(i, f"@{n}", False) for i, n in directory.roles.items()]
    elif kind == CHANNEL_SELECT:
        choices = [(i, f"#{n}", False) for i, n in directory.channels.items()]
    else:
        choices = [(i, f"@{n}", False) for i, n in directory.users.items()]
    most = int(component.get("max_values") or 1)
    options = "".join(
        f'<option value="{attribute(value)}"{" selected" if chosen else ""}>{escape(label)}</option>'
        for value, label, chosen in choices
    )
    placeholder = escape(str(component.get("placeholder") or "Make a selection"))
    multiple = f' multiple size="{min(len(choices), 6)}"' if most > 1 else ""
    prompt = "" if most > 1 else f'<option value="" disabled selected>{placeholder}</option>'
    disabled = " disabled" if component.get("disabled") else ""
    return (
        f'<select class="menu" data-action="{action}" '
        f'data-custom-id="{attribute(component.get("custom_id", ""))}" '
        f'data-min="{int(component.get("min_values") or 1)}" aria-label="{placeholder}"{multiple}{disabled}>'
        f"{prompt}{options}</select>"
    )


def modal_html(modal: Mapping[str, Any], directory: Directory) -> str:
    """A modal as a form: each input named by its ``custom_id``; file uploads as file inputs."""
    fields = []
    for top in modal.get("components") or []:
        if top.get("type") == LABEL:
            label, inner = str(top.get("label") or ""), [top.get("component") or {}]
            description = str(top.get("description") or "")
        else:  # the older layout: an action row around one text input carrying its label
            inner = list(top.get("components") or [])
            label = str((inner[0] if inner else {}).get("label") or "")
            description = ""
        for component in inner:
            fields.append(_modal_field(label, description, component, directory))
    return (
        f'<form class="modal" data-custom-id="{attribute(modal.get("custom_id", ""))}">'
        f"<h2>{escape(str(modal.get('title') or ''))}</h2>{''.join(fields)}"
        '<div class="modal-buttons">'
        '<button type="button" class="button secondary" data-action="cancel">Cancel</button>'
        '<button type="submit" class="button primary">Submit</button></div></form>'
    )


def _modal_field(label: str, description: str, component: Mapping[str, Any], directory: Directory) -> str:
    custom_id = attribute(component.get("custom_id", ""))
    required = component.get("required", True) is not False
    star = ' <span class="required">*</span>' if required else ""
    hint = f'<small class="hint">{escape(description)}</small>' if description else ""
    kind = component.get("type")
    if kind == FILE_UPLOAD:
        most = int(component.get("max_values") or 1)
        control = (
            f'<input type="file" name="{custom_id}" data-kind="file"{" multiple" if most > 1 else ""}'
            f"{' required' if required and int(component.get('min_values') or 1) > 0 else ''}>"
        )
    elif kind == TEXT_INPUT:
        value = escape(str(component.get("value") or ""))
        limits = ""
        if component.get("max_length"):
            limits += f' maxlength="{int(component["max_length"])}"'
        if component.get("min_length"):
            limits += f' minlength="{int(component["min_length"])}"'
        placeholder = (
            f' placeholder="{attribute(component["placeholder"])}"' if component.get("placeholder") else ""
        )
        need = " required" if required else ""
        if component.get("style") == 2:
            control = (
                f'<textarea name="{custom_id}" data-kind="text"{limits}{placeholder}{need}>{value}</textarea>'
            )
        else:
            control = (
                f'<input type="text" name="{custom_id}" data-kind="text" value="{value}"'
                f"{limits}{placeholder}{need}>"
            )
    else:
        control = _select_html(component, directory, action="field").replace(
            'class="menu"', f'class="menu" name="{custom_id}"', 1
        )
    return f'<label class="field"><span>{escape(label)}{star}</span>{hint}{control}</label>'


def task_html(task: Mapping[str, Any]) -> str:
    attributes = task.get("attributes") or {}
    status = str(task.get("assignment_status", "?"))
    rows = [
        ("Member", attributes.get("discord_display_name")),
        ("Case", f"#{attributes['case_number']}" if attributes.get("case_number") else None),
        ("Locale", attributes.get("locale")),
        ("Recent cases", _recent(attributes.get("recent_cases"))),
        ("Channel", attributes.get("channelType") or attributes.get("channel_type")),
    ]
    details = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows if v)
    who = escape(str(attributes.get("discord_display_name") or "member"))
    return (
        f'<li class="task {attribute(status)}" data-task="{attribute(task.get("sid", ""))}" tabindex="0">'
        f'<div class="task-head"><strong>{who}</strong>'
        f'<span class="badge">{escape(status)}</span></div><dl>{details}</dl></li>'
    )


def _recent(value: Any) -> str | None:
    if not value:
        return None
    if isinstance(value, list):
        return ", ".join(
            f"#{item.get('number')} {item.get('title', '')} ({item.get('status', '')})".strip()
            if isinstance(item, dict)
            else str(item)
            for item in value
        )
    return str(value)


def transcript_html(messages: Iterable[Mapping[str, Any]], authors: Mapping[str, tuple[str, str]]) -> str:
    """The conversation as the agent sees it. ``authors``: identity -> (side, name), side being
    ``agent`` or ``customer``; anyone else (Flexcord's own messages) is the assistant."""
    lines = []
    for message in messages:
        author = str(message.get("author") or "")
        side, name = authors.get(author, ("assistant", f"{author} (assistant)"))
        media = "".join(
            f'<div class="media">📎 {escape(str(item.get("filename") or "file"))}</div>'
            for item in message.get("media") or []
        )
        lines.append(
            f'<div class="line {side}"><div class="said"><span class="who">{escape(name)}</span>'
            f"<time>{escape(_clock(message.get('date_created')))}</time></div>"
            f'<div class="body">{escape(str(message.get("body") or ""))}</div>{media}</div>'
        )
    return "".join(lines) or '<p class="empty">Nothing said yet.</p>'


CASE_FIELDS = ("Status", "Reporter", "Assigned to", "Support", "Duplicate of", "Rating")


def case_card_html(  # noqa: PLR0917 - one case's parts, each named at the call
    number: int,
    kind: str,
    title: str,
    fields: Mapping[str, str],
    history: Iterable[Mapping[str, Any]],
    directory: Directory,
) -> str:
    """One case on the board: its post's fields, and its thread (the discussion) folded away."""
    shown = list(history)
    rows = "".join(
        f"<dt>{escape(name)}</dt><dd>{to_html(fields[name], directory)}</dd>"
        for name in CASE_FIELDS
        if name in fields
    )
    return (
        f'<article class="case-card {attribute(kind)}" data-case="{number}">'
        f'<h4><span class="kind">{escape(kind)}</span> #{number} {escape(title)}</h4><dl>{rows}</dl>'
        f"<details><summary>Thread ({len(shown)})</summary>{messages_html(shown, directory)}</details>"
        "</article>"
    )


def board_html(guild_id: str, name: str, cards: list[str]) -> str:
    body = "".join(cards) or '<p class="empty">No cases yet.</p>'
    return (
        f'<section class="server" data-guild="{attribute(guild_id)}"><h3>{escape(name)}</h3>'
        f'<div class="cards">{body}</div></section>'
    )
