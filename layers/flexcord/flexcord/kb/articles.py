"""Help-centre articles: Markdown files with a small front matter, read from a folder.

An article file looks like this (``title`` is required, ``url``, ``tags`` and ``language`` are
optional)::

    ---
    title: Raids and Raid Passes
    url: https://help.example-game.com/articles/raids-and-raid-passes
    tags: [raids, raid pass, remote raid pass]
    language: en
    ---

    # Raids and Raid Passes
    ...

The front matter is a small subset of YAML, parsed here so the layer needs no YAML library:
``key: value`` lines, values optionally quoted, and lists either inline (``[a, b]``) or as
``- item`` lines under the key. Anything else is an error that names the file and line, so a
broken article fails the build or the cold start instead of silently dropping out of search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ARTICLES_DIR = Path(__file__).with_name("articles")

#: The language of an article that names none (and of the synonym table).
DEFAULT_LANGUAGE = "en"
#: A language tag as articles and Discord locales write it: ``de``, ``pt-BR``, ``es-419``.
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")

#: Longest snippet shown with a suggested article (Discord embeds want it short).
SNIPPET_MAX_CHARS = 200

_KNOWN_KEYS = frozenset({"title", "url", "tags", "language"})
_KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:\s*(.*)$")


class ArticleFormatError(ValueError):
    """An article file cannot be read; the message starts with the file (and line)."""


@dataclass(frozen=True)
class Article:
    """One help-centre article. ``stem`` (the file name without ``.md``) is its identifier."""

    stem: str
    title: str
    url: str
    tags: tuple[str, ...]
    body: str
    #: The primary language subtag, lower case (``language_of``).
    language: str = DEFAULT_LANGUAGE

    @property
    def snippet(self) -> str:
        """The start of the body as plain text, at most ``SNIPPET_MAX_CHARS`` characters."""
        return make_snippet(self.body, skip_heading=self.title)


def parse_article(text: str, *, stem: str, source: str | None = None) -> Article:
    """Parse one article's text. ``source`` (the path) prefixes error messages."""
    where = source or stem
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise ArticleFormatError(f"{where}: an article must start with a '---' front matter line")
    try:
        end = next(index for index in range(1, len(lines)) if lines[index].strip() == "---")
    except StopIteration:
        raise ArticleFormatError(f"{where}: the front matter has no closing '---' line") from None
    fields = _parse_front_matter(lines[1:end], where=where, first_line=2)
    title = fields.get("title")
    if not isinstance(title, str) or not title:
        raise ArticleFormatError(f"{where}: the front matter needs a non-empty 'title'")
    url = fields.get("url", "")
    if not isinstance(url, str):
        raise ArticleFormatError(f"{where}: 'url' must be a single value, not a list")
    tags = fields.get("tags", [])
    if isinstance(tags, str):
        tags = [tags] if tags else []
    language = fields.get("language", "")
    if not isinstance(language, str) or (language and not _LANGUAGE_TAG.match(language)):
        raise ArticleFormatError(f"{where}: 'language' must be a language tag such as en, de or pt-BR")
    body = "\n".join(lines[end + 1 :]).strip()
    return Article(
        stem=stem, title=title, url=url, tags=tuple(tags), body=body, language=language_of(language)
    )


def language_of(tag: str | None) -> str:
    """The language a tag or Discord locale names, as articles are grouped by it: the primary
    subtag in lower case (``pt-BR`` → ``pt``, ``en-US`` → ``en``); the default for none."""
    return tag.split("-", maxsplit=1)[0].lower() if tag else DEFAULT_LANGUAGE


def load_article(path: Path) -> Article:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ArticleFormatError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    return parse_article(text, stem=path.stem, source=str(path))


def load_articles(directory: Path = DEFAULT_ARTICLES_DIR) -> list[Article]:
    """Every ``*.md`` article directly in ``directory``, sorted by stem (so ranks are stable)."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: not a folder of articles")
    return [load_article(path) for path in sorted(directory.glob("*.md"))]


def _parse_front_matter(lines: list[str], *, where: str, first_line: int) -> dict[str, str | list[str]]:
    fields: dict[str, str | list[str]] = {}
    open_list: list[str] | None = None  # the block list ("- item" lines) being read, if any
    for offset, raw in enumerate(lines):
        line_number = first_line + offset
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        stripped = line.strip()
        if stripped.startswith("- ") or stripped == "-":
            if open_list is None:
                raise ArticleFormatError(f"{where}:{line_number}: a '- item' line must follow a 'key:' line")
            item = _unquote(stripped[1:].strip())
            if item:
                open_list.append(item)
            continue
        match = _KEY_LINE.match(line)
        if match is None or line[0].isspace():
            raise ArticleFormatError(f"{where}:{line_number}: expected 'key: value', got {stripped!r}")
        key, value = match.group(1).lower(), match.group(2).strip()
        if key in fields:
            raise ArticleFormatError(f"{where}:{line_number}: {key!r} is given twice")
        open_list = None
        if value.startswith("["):
            if not value.endswith("]"):
                raise ArticleFormatError(f"{where}:{line_number}: the list for {key!r} has no closing ']'")
            fields[key] = [item for item in (_unquote(part) for part in value[1:-1].split(",")) if item]
        elif not value and key == "tags":
            fields[key] = open_list = []
        else:
            fields[key] = _unquote(value)
    return {key: value for key, value in fields.items() if key in _KNOWN_KEYS}


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1].strip()
    return value


_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKDOWN_MARKS = re.compile(r"[*_`>#]+")
_LIST_MARKER = re.compile(r"^\s*(?:[-+*]|\d+[.)])\s+")
_SPACES = re.compile(r"\s+")


def make_snippet(markdown: str, *, skip_heading: str = "", limit: int = SNIPPET_MAX_CHARS) -> str:
    """Plain text from the start of a Markdown body, cut at a word with an ellipsis.

    A first heading repeating the title is skipped: the title is shown next to the snippet.
    """
    kept: list[str] = []
    for line in markdown.splitlines():
        if not line.strip():
            continue
        if line.lstrip().startswith("#"):
            heading = line.lstrip("# ").strip()
            if not kept and heading.casefold() == skip_heading.casefold():
                continue
        kept.append(_LIST_MARKER.sub("", line))
    text = _MARKDOWN_LINK.sub(r"\1", " ".join(kept))
    text = _SPACES.sub(" ", _MARKDOWN_MARKS.sub("", text)).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-—") + "…"
