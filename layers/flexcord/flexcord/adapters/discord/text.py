"""Splitting long text into Discord-sized messages.

Discord refuses message content over 2,000 characters, and agents and the assistant can write
more than that. ``split_message`` cuts at the most natural place before the limit (a line break,
else a space, else anywhere) and keeps code blocks readable: when a cut falls inside a fenced
block, the chunk closes the fence and the next one reopens it with the same language.
"""

from __future__ import annotations

import re

MESSAGE_CONTENT_LIMIT = 2000

_FENCE = "```"
_CLOSING_FENCE = "\n" + _FENCE
# The language tag right after an opening fence (```python).
_FENCE_WITH_LANGUAGE = re.compile(r"```([\w+#.-]*)")
_WHITESPACE = re.compile(r"\s")
_MIN_LIMIT_FOR_FENCE_BALANCING = 100
_MAX_LANGUAGE_TAG = 20


def split_message(text: str, limit: int = MESSAGE_CONTENT_LIMIT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, none of them blank.

    Blank text gives an empty list. At a cut, the separating line break or space, trailing
    whitespace and blank lines are dropped (Discord would trim them); indentation is kept.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    # Balancing costs a closing fence and a reopening line per chunk: only worth it when that
    # leaves most of the limit for the text itself.
    balance_fences = limit >= _MIN_LIMIT_FOR_FENCE_BALANCING
    chunks: list[str] = []
    rest = text
    reopen_prefix = ""  # "```lang\n" when the previous chunk was cut inside a code block
    while rest:
        budget = limit - len(reopen_prefix)
        if len(rest) <= budget:
            _append_if_not_blank(chunks, reopen_prefix + rest)
            break
        piece, remainder = _cut(rest, budget)
        open_language = _open_fence_language(reopen_prefix + piece) if balance_fences else None
        if open_language is not None:
            # Cut again, leaving room for the closing fence. The shorter piece may end before
            # the opening fence, and then needs no closing at all.
            piece, remainder = _cut(rest, budget - len(_CLOSING_FENCE))
            open_language = _open_fence_language(reopen_prefix + piece)
        if open_language is None:
            _append_if_not_blank(chunks, reopen_prefix + piece)
            reopen_prefix = ""
        else:
            _append_if_not_blank(chunks, reopen_prefix + piece + _CLOSING_FENCE)
            reopen_prefix = f"{_FENCE}{open_language}\n"
        rest = remainder
    return chunks


def _cut(text: str, budget: int) -> tuple[str, str]:
    """Return (piece, rest): piece ≤ budget characters, cut at the best place."""
    window = text[: budget + 1]  # a separator right at the limit is still a clean cut
    newline = window.rfind("\n")
    if newline > 0:
        cut, resume = newline, newline + 1
    else:
        whitespace = max((match.start() for match in _WHITESPACE.finditer(window)), default=-1)
        cut, resume = (whitespace, whitespace + 1) if whitespace > 0 else (budget, budget)
    return text[:cut].rstrip(), text[resume:].lstrip("\n")


def _open_fence_language(text: str) -> str | None:
    """The language of the code block still open at the end of ``text`` ("" if untagged), else None."""
    language: str | None = None
    for match in _FENCE_WITH_LANGUAGE.finditer(text):
        language = match.group(1) if language is None else None
    if language is not None and len(language) > _MAX_LANGUAGE_TAG:
        return ""  # reopen untagged rather than spend the chunk on a runaway tag
    return language


def _append_if_not_blank(chunks: list[str], chunk: str) -> None:
    if chunk.strip():
        chunks.append(chunk)
