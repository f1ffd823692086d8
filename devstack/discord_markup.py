"""Discord's message markup, parsed once and rendered for a terminal or as an HTML fragment.

``parse`` turns message content (or embed text) into a tree of nodes: styles (``**bold**``,
``*italic*``/``_italic_``, ``__underline__``, ``~~strike~~``, ``||spoiler||``), code
(`` `span` `` and fenced blocks, whose text is never parsed), block quotes (``> `` lines and
``>>> ``), headings (``#``, ``##``, ``###``), lists (``-``, ``*``, ``1.``), subtext (``-#``), links
(masked ``[text](https://...)``, bare and ``<https://...>``), mentions of users, roles, channels
and slash commands, custom emoji, ``@everyone``/``@here`` and timestamps (``<t:SECONDS:STYLE>``).
A backslash before punctuation makes it literal. Only ``http``/``https`` links are links: a
masked link to anything else stays the text it was.

``to_terminal`` and ``to_html`` render the same tree; a :class:`Directory` names the ids
(``@Alice``, ``#bug-report``, ``@staff``) as the reader's Discord client would, and places
timestamps in a time zone. Unknown ids read as Discord shows them: ``@unknown-user``,
``#unknown``, ``@deleted-role``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

__all__ = [
    "MAX_NESTING",
    "TIMESTAMP_STYLES",
    "ChannelMention",
    "CodeBlock",
    "CommandMention",
    "CustomEmoji",
    "Directory",
    "Heading",
    "InlineCode",
    "LineBreak",
    "Link",
    "ListBlock",
    "MassMention",
    "Node",
    "Quote",
    "RoleMention",
    "Styled",
    "Subtext",
    "Text",
    "Timestamp",
    "UserMention",
    "directory_from_state",
    "format_timestamp",
    "parse",
    "to_html",
    "to_terminal",
]


# -- how ids resolve to names ---------------------------------------------------------------------


@dataclass(frozen=True)
class Directory:
    """What the reader's client knows: names for ids, a time zone, and the time now."""

    users: Mapping[str, str]  # user id -> display name (global_name or username)
    channels: Mapping[str, str]  # channel/thread id -> name
    roles: Mapping[str, str]  # role id -> name
    timezone: tzinfo | None = None  # None: the machine's local time zone
    now: Callable[[], datetime] | None = None  # for style R; injectable for tests
    # DM channel id -> the other person's display name: Discord shows a mentioned DM channel as
    # its recipient ("@Alice"), not as a #channel.
    dm_channels: Mapping[str, str] = field(default_factory=dict)


def directory_from_state(state: Mapping[str, Any]) -> Directory:
    """The names the Discord emulator's control state (``EmulatorControl.state()``) knows: its
    members and bot, every guild's channels and roles, and the threads."""
    users: dict[str, str] = {}
    for user in [*(state.get("users") or {}).values(), state.get("bot_user")]:
        if isinstance(user, Mapping) and user.get("id"):
            users[str(user["id"])] = str(user.get("global_name") or user.get("username") or "")
    channels: dict[str, str] = {}
    for channel in [*(state.get("channels") or {}).values(), *(state.get("threads") or [])]:
        if isinstance(channel, Mapping) and channel.get("id"):
            channels[str(channel["id"])] = str(channel.get("name") or "")
    roles: dict[str, str] = {}
    guilds = [*(state.get("guilds") or {}).values(), state.get("guild")]
    for guild in guilds:
        if not isinstance(guild, Mapping):
            continue
        for name, channel_id in (guild.get("channels") or {}).items():
            channels.setdefault(str(channel_id), str(name))
        for role in guild.get("roles") or []:
            if isinstance(role, Mapping) and role.get("id"):
                roles[str(role["id"])] = str(role.get("name") or "")
    return Directory(users=users, channels=channels, roles=roles)


# -- the tree -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class LineBreak:
    pass


@dataclass(frozen=True)
class Styled:
    """``style``: bold, italic, underline, strike or spoiler."""

    style: str
    children: tuple[Node, ...]


@dataclass(frozen=True)
class InlineCode:
    code: str


@dataclass(frozen=True)
class CodeBlock:
    language: str
    code: str


@dataclass(frozen=True)
class Link:
    """An http(s) link; ``children`` is the masked text (``None`` for a bare URL)."""

    url: str
    children: tuple[Node, ...] | None = None


@dataclass(frozen=True)
class UserMention:
    user_id: str


@dataclass(frozen=True)
class RoleMention:
    role_id: str


@dataclass(frozen=True)
class ChannelMention:
    channel_id: str


@dataclass(frozen=True)
class CommandMention:
    name: str  # "case show": the command with its subcommand group and subcommand
    command_id: str


@dataclass(frozen=True)
class CustomEmoji:
    name: str
    emoji_id: str
    animated: bool = False


@dataclass(frozen=True)
class MassMention:
    """``@everyone`` or ``@here``."""

    text: str


@dataclass(frozen=True)
class Timestamp:
    seconds: int
    style: str  # as written; "" for the default
    source: str  # the markup, shown when the time cannot be represented


@dataclass(frozen=True)
class Heading:
    level: int
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Subtext:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Quote:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class ListBlock:
    ordered: bool
    start: int
    items: tuple[tuple[Node, ...], ...]  # each item: inline nodes, then perhaps a nested ListBlock


Node = (
    Text
    | LineBreak
    | Styled
    | InlineCode
    | CodeBlock
    | Link
    | UserMention
    | RoleMention
    | ChannelMention
    | CommandMention
    | CustomEmoji
    | MassMention
    | Timestamp
    | Heading
    | Subtext
    | Quote
    | ListBlock
)
_BLOCKS = (CodeBlock, Heading, Subtext, Quote, ListBlock)


# -- the parser -----------------------------------------------------------------------------------

_ESCAPABLE = re.compile(r"\\([^0-9A-Za-z\s])")
_CODE_BLOCK = re.compile(r"```(?:([A-Za-z0-9_+\-.#]+?)\n)?\n*([^\n][\s\S]*?)\n*```")
_INLINE_CODE = re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")
_BOLD = re.compile(r"\*\*((?:\\[\s\S]|[^\\])+?)\*\*(?!\*)")
_UNDERLINE = re.compile(r"__((?:\\[\s\S]|[^\\])+?)__(?!_)")
_ITALIC_STAR = re.compile(r"\*(?=\S)((?:\*\*|\\[\s\S]|\s+(?:\\[\s\S]|[^\s*\\]|\*\*)|[^\s*\\])+?)\*(?!\*)")
_ITALIC_UNDERSCORE = re.compile(r"_((?:__|\\[\s\S]|[^\\_])+?)_(?!\w)")
_STRIKE = re.compile(r"~~([\s\S]+?)~~")
_SPOILER = re.compile(r"\|\|([\s\S]+?)\|\|")
_URL_BODY = r"https?://(?:[^\s<()]|\([^\s<()]*\))+"
_MASKED_LINK = re.compile(r"\[((?:\\[\s\S]|[^\[\]\\])+)\]\(\s*<?(" + _URL_BODY + r")>?\s*\)")
_BARE_URL = re.compile(r"https?://[^\s<]+[^<.,:;\"')\]\s]")
_ANGLE_URL = re.compile(r"<(https?://[^\s>]+)>")
_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_CHANNEL = re.compile(r"<#(\d+)>")
_COMMAND = re.compile(r"</([-_\w]+(?: [-_\w]+){0,2}):(\d+)>")
_EMOJI = re.compile(r"<(a?):(\w+):(\d+)>")
_TIMESTAMP = re.compile(r"<t:(-?\d{1,17})(?::([tTdDfFsSR]))?>")
_MASS = re.compile(r"@(?:everyone|here)")
_HEADING = re.compile(r"(#{1,3}) +([^\n]*\S[^\n]*)(?:\n|$)")
_SUBTEXT = re.compile(r"-# +([^\n]*\S[^\n]*)(?:\n|$)")
_QUOTE_ALL = re.compile(r">>> ([\s\S]*)")
_QUOTE_LINE = re.compile(r"> ([^\n]*)(?:\n|$)")
_LIST_ITEM = re.compile(r"( *)([-*]|\d{1,9}\.) +([^\n]*\S[^\n]*)(?:\n|$)")
# Where plain text stops: anything a rule could start with.
_SPECIAL = re.compile(r"[\\`*_~|<\[@\n]|https?://")


def parse(text: str) -> tuple[Node, ...]:
    """The markup's tree: block nodes (headings, quotes, lists, code blocks, subtext) and inline
    nodes, with ``LineBreak`` between lines."""
    return _Parser(text).top(quotes=True)


#: Styles nest this deep at most; deeper markup is text (``"*" * 4000`` must not recurse 1,000 deep).
MAX_NESTING = 16


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.depth = 0

    def nodes(self, start: int, end: int, *, blocks: bool, quotes: bool) -> list[Node]:
        """The nodes of ``text[start:end]``; ``blocks``: the line-start rules apply."""
        text = self.text
        found: list[Node] = []
        i = start
        while i < end:
            if blocks and (i == start or text[i - 1] == "\n"):
                block = self._block(i, end, quotes=quotes)
                if block is not None:
                    block_nodes, i = block
                    found.extend(block_nodes)
                    continue
            inline = self._inline(i, end)
            if inline is None:
                stop = _SPECIAL.search(text, i + 1, end)
                j = stop.start() if stop else end
                _append_text(found, text[i:j])
                i = j
                continue
            node, i = inline
            if isinstance(node, Text):
                _append_text(found, node.text)
            else:
                found.append(node)
            if isinstance(node, CodeBlock) and blocks and text.startswith("\n", i, end):
                i += 1  # a block ends its line
        return found

    def _children(self, start: int, end: int) -> tuple[Node, ...]:
        if self.depth >= MAX_NESTING - 1:  # the style being parsed is the deepest allowed
            return (Text(self.text[start:end]),)
        self.depth += 1
        try:
            return tuple(self.nodes(start, end, blocks=False, quotes=False))
        finally:
            self.depth -= 1

    def _block(self, i: int, end: int, *, quotes: bool) -> tuple[list[Node], int] | None:
        text = self.text
        if match := _HEADING.match(text, i, end):
            level = len(match.group(1))
            return [Heading(level, self._children(match.start(2), match.end(2)))], match.end()
        if match := _SUBTEXT.match(text, i, end):
            return [Subtext(self._children(match.start(1), match.end(1)))], match.end()
        if quotes and (match := _QUOTE_ALL.match(text, i, end)):
            return [Quote(_Parser(match.group(1)).top(quotes=False))], end
        if quotes and _QUOTE_LINE.match(text, i, end):
            lines, j = [], i
            while j < end and (match := _QUOTE_LINE.match(text, j, end)):
                lines.append(match.group(1))
                j = match.end()
            return [Quote(_Parser("\n".join(lines)).top(quotes=False))], j
        if _LIST_ITEM.match(text, i, end):
            items: list[tuple[int, str, int, int]] = []  # indent, marker, content start and end
            j = i
            while j < end and (match := _LIST_ITEM.match(text, j, end)):
                items.append((len(match.group(1)), match.group(2), match.start(3), match.end(3)))
                j = match.end()
            lists: list[Node] = []
            k = 0
            while k < len(items):
                more, k = self._lists(items, k)
                lists.extend(more)
            return lists, j
        return None

    def top(self, *, quotes: bool) -> tuple[Node, ...]:
        return tuple(self.nodes(0, len(self.text), blocks=True, quotes=quotes))

    def _lists(self, items: list[tuple[int, str, int, int]], k: int) -> tuple[list[ListBlock], int]:
        """Lists from ``items[k:]`` at the first item's indentation (a change between ``-`` and
        ``1.`` starts another list); deeper items nest in the item before them. Returns the lists
        and the index of the first item not taken."""
        level = items[k][0]
        lists: list[ListBlock] = []
        current: list[tuple[Node, ...]] = []
        ordered, start = False, 1
        while k < len(items) and items[k][0] >= level:
            indent, marker, content_start, content_end = items[k]
            if indent > level and current:
                nested, k = self._lists(items, k)
                current[-1] = (*current[-1], *nested)
                continue
            is_ordered = marker.endswith(".")
            if current and is_ordered != ordered:
                lists.append(ListBlock(ordered, start, tuple(current)))
                current = []
            if not current:
                ordered, start = is_ordered, int(marker[:-1]) if is_ordered else 1
            current.append(self._children(content_start, content_end))
            k += 1
        if current:
            lists.append(ListBlock(ordered, start, tuple(current)))
        return lists, k

    def _styled(self, style: str, match: re.Match[str]) -> tuple[Node, int]:
        return Styled(style, self._children(match.start(1), match.end(1))), match.end()

    def _inline(self, i: int, end: int) -> tuple[Node, int] | None:  # noqa: PLR0911, PLR0912
        text = self.text
        char = text[i]
        after_word = i > 0 and _is_word(text[i - 1])
        if char == "\\":
            match = _ESCAPABLE.match(text, i, end)
            return (Text(match.group(1)), match.end()) if match else None
        if char == "`":
            if match := _CODE_BLOCK.match(text, i, end):
                return CodeBlock(match.group(1) or "", match.group(2)), match.end()
            if match := _INLINE_CODE.match(text, i, end):
                return InlineCode(match.group(2)), match.end()
            return None
        if char == "<":
            return self._angle(i, end)
        if char == "*":
            if match := _BOLD.match(text, i, end):
                return self._styled("bold", match)
            if match := _ITALIC_STAR.match(text, i, end):
                return self._styled("italic", match)
            return None
        if char == "_":
            if match := _UNDERLINE.match(text, i, end):
                return self._styled("underline", match)
            if not after_word and (match := _ITALIC_UNDERSCORE.match(text, i, end)):
                return self._styled("italic", match)
            return None
        if char == "~":
            return self._styled("strike", match) if (match := _STRIKE.match(text, i, end)) else None
        if char == "|":
            return self._styled("spoiler", match) if (match := _SPOILER.match(text, i, end)) else None
        if char == "[":
            if match := _MASKED_LINK.match(text, i, end):
                label = tuple(_unlinked(self._children(match.start(1), match.end(1))))
                return Link(match.group(2), label), match.end()
            return None
        if char == "@":
            return (MassMention(match.group()), match.end()) if (match := _MASS.match(text, i, end)) else None
        if char == "\n":
            return LineBreak(), i + 1
        if not after_word and (match := _BARE_URL.match(text, i, end)):
            return Link(match.group()), match.end()
        return None

    def _angle(self, i: int, end: int) -> tuple[Node, int] | None:  # noqa: PLR0911
        text = self.text
        if match := _USER.match(text, i, end):
            return UserMention(match.group(1)), match.end()
        if match := _ROLE.match(text, i, end):
            return RoleMention(match.group(1)), match.end()
        if match := _CHANNEL.match(text, i, end):
            return ChannelMention(match.group(1)), match.end()
        if match := _COMMAND.match(text, i, end):
            return CommandMention(match.group(1), match.group(2)), match.end()
        if match := _EMOJI.match(text, i, end):
            return CustomEmoji(match.group(2), match.group(3), animated=bool(match.group(1))), match.end()
        if match := _TIMESTAMP.match(text, i, end):
            return Timestamp(int(match.group(1)), match.group(2) or "", match.group()), match.end()
        if match := _ANGLE_URL.match(text, i, end):
            return Link(match.group(1)), match.end()
        return None


def _unlinked(nodes: Sequence[Node]) -> list[Node]:
    """A masked link's text holds no link of its own (a URL in it is text)."""
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, Link):
            out.append(Text(node.url))
        elif isinstance(node, Styled):
            out.append(Styled(node.style, tuple(_unlinked(node.children))))
        else:
            out.append(node)
    return out


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _append_text(nodes: list[Node], text: str) -> None:
    if nodes and isinstance(nodes[-1], Text):
        nodes[-1] = Text(nodes[-1].text + text)
    else:
        nodes.append(Text(text))


# -- timestamps -----------------------------------------------------------------------------------

#: Discord's documented styles (developers/reference, "Timestamp Styles"); ``f`` is the default.
TIMESTAMP_STYLES = {
    "t": "Short Time",  # 16:20
    "T": "Medium Time",  # 16:20:30
    "d": "Short Date",  # 20/04/2021
    "D": "Long Date",  # April 20, 2021
    "f": "Long Date, Short Time",  # April 20, 2021 at 16:20
    "F": "Full Date, Short Time",  # Tuesday, April 20, 2021 at 16:20
    "s": "Short Date, Short Time",  # 20/04/2021, 16:20
    "S": "Short Date, Medium Time",  # 20/04/2021, 16:20:30
    "R": "Relative Time",  # 4 years ago
}
# fmt: off
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
# fmt: on
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def format_timestamp(seconds: int, style: str, directory: Directory) -> str:
    """``<t:seconds:style>`` as Discord shows it (its documented English examples), in the
    directory's time zone. Raises ``ValueError`` for an unknown style or a time out of range."""
    style = style or "f"
    if style not in TIMESTAMP_STYLES:
        raise ValueError(f"unknown timestamp style {style!r}")
    try:
        moment = datetime.fromtimestamp(seconds, tz=directory.timezone or UTC)
        if directory.timezone is None:
            moment = moment.astimezone()  # the machine's local time zone
    except (OverflowError, OSError, ValueError) as error:
        raise ValueError(f"timestamp {seconds} is out of range") from error
    if style == "R":
        now = directory.now() if directory.now is not None else datetime.now(UTC)
        return _relative(seconds - now.timestamp())
    short_time, medium_time = f"{moment:%H:%M}", f"{moment:%H:%M:%S}"
    short_date = f"{moment:%d/%m/%Y}"
    long_date = f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year}"
    return {
        "t": short_time,
        "T": medium_time,
        "d": short_date,
        "D": long_date,
        "f": f"{long_date} at {short_time}",
        "F": f"{_WEEKDAYS[moment.weekday()]}, {long_date} at {short_time}",
        "s": f"{short_date}, {short_time}",
        "S": f"{short_date}, {medium_time}",
    }[style]


def _relative(delta_seconds: float) -> str:
    """E.g. "in 2 hours", "3 days ago": moment.js's ``fromNow`` wording, rounding and thresholds
    ("a few seconds", "a minute", from 45 minutes "an hour", from 22 hours "a day"...)."""

    def rounded(value: float) -> int:
        return int(value + 0.5)

    span = abs(delta_seconds)
    seconds, minutes, hours = rounded(span), rounded(span / 60), rounded(span / 3600)
    days = rounded(span / 86400)
    months_exact = span / 86400 * 4800 / 146097
    months, years = rounded(months_exact), rounded(months_exact / 12)
    steps: Sequence[tuple[bool, str]] = (
        (seconds <= 44, "a few seconds"),
        (minutes <= 1, "a minute"),
        (minutes < 45, f"{minutes} minutes"),
        (hours <= 1, "an hour"),
        (hours < 22, f"{hours} hours"),
        (days <= 1, "a day"),
        (days < 26, f"{days} days"),
        (months <= 1, "a month"),
        (months < 11, f"{months} months"),
        (years <= 1, "a year"),
        (True, f"{years} years"),
    )
    words = next(words for applies, words in steps if applies)
    return f"in {words}" if delta_seconds > 0 else f"{words} ago"


def _timestamp_text(node: Timestamp, directory: Directory) -> str | None:
    try:
        return format_timestamp(node.seconds, node.style, directory)
    except ValueError:
        return None


# -- names ----------------------------------------------------------------------------------------


def _user_name(user_id: str, directory: Directory) -> str:
    return "@" + (directory.users.get(user_id) or "unknown-user")


def _role_name(role_id: str, directory: Directory) -> str:
    name = directory.roles.get(role_id)
    if name is None:
        return "@deleted-role"
    return name if name.startswith("@") else "@" + name  # @everyone is a role too


def _channel_name(channel_id: str, directory: Directory) -> str:
    if channel_id in directory.dm_channels:
        return "@" + directory.dm_channels[channel_id]
    return "#" + (directory.channels.get(channel_id) or "unknown")


_Mention = UserMention | RoleMention | ChannelMention | CommandMention | CustomEmoji | MassMention


def _mention(node: _Mention, directory: Directory) -> tuple[str, str]:
    """What a mention reads as, and its HTML element's class and data attributes."""
    if isinstance(node, UserMention):
        return _user_name(node.user_id, directory), f'class="mention" data-user-id="{node.user_id}"'
    if isinstance(node, RoleMention):
        return _role_name(node.role_id, directory), f'class="mention role" data-role-id="{node.role_id}"'
    if isinstance(node, ChannelMention):
        name = _channel_name(node.channel_id, directory)
        return name, f'class="mention channel" data-channel-id="{node.channel_id}"'
    if isinstance(node, CommandMention):
        return "/" + node.name, f'class="mention command" data-command-id="{node.command_id}"'
    if isinstance(node, CustomEmoji):
        name = f":{node.name}:"
        return name, f'class="emoji" data-emoji-id="{node.emoji_id}" title="{_escape(name)}"'
    return node.text, 'class="mention"'


# -- the terminal ---------------------------------------------------------------------------------

_ANSI = {
    "bold": ("\x1b[1m", "\x1b[22m"),
    "italic": ("\x1b[3m", "\x1b[23m"),
    "underline": ("\x1b[4m", "\x1b[24m"),
    "strike": ("\x1b[9m", "\x1b[29m"),
    "spoiler": ("\x1b[7m", "\x1b[27m"),  # reverse video: shown, but set apart
    "dim": ("\x1b[2m", "\x1b[22m"),
    "code": ("\x1b[36m", "\x1b[39m"),
    "mention": ("\x1b[34m", "\x1b[39m"),
}
# Without colour, a spoiler is still set apart (its text shown: this is a developer's view).
_PLAIN_SPOILER = ("‖", "‖")


def to_terminal(text: str, directory: Directory, *, color: bool = False) -> str:
    """Readable plain text: markers dropped, mentions and timestamps named (``@Alice``,
    ``#bug-report``, ``April 20, 2021 at 16:20``), links as ``text (url)``, quotes as ``│ ``
    lines, lists with ``•`` or their numbers, code blocks indented. ``color``: ANSI bold,
    italic, underline, strikethrough and reverse video (spoilers) for the styles."""
    return _Terminal(directory, color).blocks(parse(text))


class _Terminal:
    def __init__(self, directory: Directory, color: bool) -> None:
        self.directory = directory
        self.color = color

    def _wrap(self, kind: str, body: str) -> str:
        if not self.color:
            return body
        start, stop = _ANSI[kind]
        return f"{start}{body}{stop}"

    def blocks(self, nodes: Sequence[Node]) -> str:
        out = ""
        for index, node in enumerate(nodes):
            if isinstance(node, _BLOCKS):
                if out and not out.endswith("\n"):
                    out += "\n"
                out += self._block(node)
                if index < len(nodes) - 1:
                    out += "\n"
            else:
                out += self.inline(node)
        return out

    def _block(self, node: Node) -> str:
        if isinstance(node, CodeBlock):
            lines = node.code.split("\n")
            return "\n".join(self._wrap("code", "    " + line) if line else "" for line in lines)
        if isinstance(node, Heading):
            body = self.inlines(node.children)
            return self._wrap("bold", self._wrap("underline", body) if node.level == 1 else body)
        if isinstance(node, Subtext):
            return self._wrap("dim", self.inlines(node.children))
        if isinstance(node, Quote):
            return "\n".join("│ " + line for line in self.blocks(node.children).split("\n"))
        assert isinstance(node, ListBlock)
        return self._list(node)

    def _list(self, node: ListBlock) -> str:
        lines: list[str] = []
        for number, item in enumerate(node.items, start=node.start):
            bullet = f"{number}. " if node.ordered else "• "
            body = self.blocks(item)
            first, *rest = body.split("\n")
            lines.append(bullet + first)
            lines.extend("  " + line for line in rest)
        return "\n".join(lines)

    def inlines(self, nodes: Sequence[Node]) -> str:
        return "".join(self.inline(node) for node in nodes)

    def inline(self, node: Node) -> str:  # noqa: PLR0911
        directory = self.directory
        if isinstance(node, Text):
            return node.text
        if isinstance(node, LineBreak):
            return "\n"
        if isinstance(node, Styled):
            body = self.inlines(node.children)
            if node.style == "spoiler" and not self.color:
                return _PLAIN_SPOILER[0] + body + _PLAIN_SPOILER[1]
            return self._wrap(node.style, body)
        if isinstance(node, InlineCode):
            return self._wrap("code", node.code) if self.color else f"`{node.code}`"
        if isinstance(node, Link):
            if node.children is None:
                return self._wrap("underline", node.url)
            label = self.inlines(node.children)
            return label if label == node.url else f"{self._wrap('underline', label)} ({node.url})"
        if isinstance(node, CustomEmoji):
            return _mention(node, directory)[0]
        if isinstance(node, _Mention):
            return self._wrap("mention", _mention(node, directory)[0])
        if isinstance(node, Timestamp):
            return _timestamp_text(node, directory) or node.source
        return self.blocks([node])  # a block inside a list item or a quote


# -- HTML -----------------------------------------------------------------------------------------


def to_html(text: str, directory: Directory) -> str:
    """A safe HTML fragment: every character of the text is escaped; only the markup becomes
    elements (``<strong>``, ``<em>``, ``<u>``, ``<s>``, ``<span class="spoiler">``, ``<code>``,
    ``<pre><code>``, ``<blockquote>``, ``<h1>``-``<h3>``, ``<ul>``/``<ol>``, ``<small
    class="subtext">``, ``<a>`` for http(s) links only, mention ``<span>``s and ``<time>``);
    line breaks outside blocks are ``<br>``."""
    return _Html(directory).blocks(parse(text))


_TAGS = {"bold": "strong", "italic": "em", "underline": "u", "strike": "s"}


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


class _Html:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def blocks(self, nodes: Sequence[Node]) -> str:
        out: list[str] = []
        for index, node in enumerate(nodes):
            if isinstance(node, Subtext):
                out.append(f'<small class="subtext">{self.inlines(node.children)}</small>')
                if index < len(nodes) - 1:
                    out.append("<br>")  # subtext is a line of its own
            elif isinstance(node, _BLOCKS):
                out.append(self._block(node))
            else:
                out.append(self.inline(node))
        return "".join(out)

    def _block(self, node: Node) -> str:
        if isinstance(node, CodeBlock):
            language = f' class="language-{_escape(node.language)}"' if node.language else ""
            return f"<pre><code{language}>{_escape(node.code)}</code></pre>"
        if isinstance(node, Heading):
            return f"<h{node.level}>{self.inlines(node.children)}</h{node.level}>"
        if isinstance(node, Quote):
            return f"<blockquote>{self.blocks(node.children)}</blockquote>"
        assert isinstance(node, ListBlock)
        items = "".join(f"<li>{self.blocks(item)}</li>" for item in node.items)
        if not node.ordered:
            return f"<ul>{items}</ul>"
        start = f' start="{node.start}"' if node.start != 1 else ""
        return f"<ol{start}>{items}</ol>"

    def inlines(self, nodes: Sequence[Node]) -> str:
        return "".join(self.inline(node) for node in nodes)

    def inline(self, node: Node) -> str:  # noqa: PLR0911
        directory = self.directory
        if isinstance(node, Text):
            return _escape(node.text)
        if isinstance(node, LineBreak):
            return "<br>"
        if isinstance(node, Styled):
            body = self.inlines(node.children)
            if node.style == "spoiler":
                return f'<span class="spoiler">{body}</span>'
            tag = _TAGS[node.style]
            return f"<{tag}>{body}</{tag}>"
        if isinstance(node, InlineCode):
            return f"<code>{_escape(node.code)}</code>"
        if isinstance(node, Link):
            label = _escape(node.url) if node.children is None else self.inlines(node.children)
            return f'<a href="{_escape(node.url)}" rel="noopener" target="_blank">{label}</a>'
        if isinstance(node, _Mention):
            name, attributes = _mention(node, directory)
            return f"<span {attributes}>{_escape(name)}</span>"
        if isinstance(node, Timestamp):
            shown = _timestamp_text(node, directory)
            if shown is None:
                return _escape(node.source)
            instant = f"{datetime.fromtimestamp(node.seconds, tz=UTC):%Y-%m-%dT%H:%M:%SZ}"
            full = _escape(format_timestamp(node.seconds, "F", directory))
            return f'<time datetime="{instant}" title="{full}">{_escape(shown)}</time>'
        return self.blocks([node])
