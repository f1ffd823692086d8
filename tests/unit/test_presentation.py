from __future__ import annotations

from flexcord.cases.model import Attachment, Case, CaseDraft, CaseKind, CaseSection, Reporter
from flexcord.interactions.commands import COMMANDS, commands_for_registration
from flexcord.jobs.presentation import EMBED_TOTAL_MAX, case_embed, case_list_line


def big_case() -> Case:
    draft = CaseDraft(
        kind=CaseKind.BUG,
        title="T" * 100,
        sections=tuple(
            CaseSection(label, "x" * 1000) for label in ("What happened?", "Steps", "Expected vs actual")
        ),
        reporter=Reporter("111", "alice", "Alice"),
        guild_id="g",
        channel_id="c",
        attachments=(Attachment("log.txt", "text/plain", 10, "https://cdn/log.txt"),),
    )
    return Case.open_from(draft, number=123, now="2026-11-21T10:00:00+00:00", source_id="i")


def embed_length(embed: dict) -> int:
    fields = sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    return len(embed["title"]) + len(embed.get("description", "")) + len(embed["footer"]["text"]) + fields


def test_a_full_case_embed_fits_discords_limits() -> None:
    embed = case_embed(big_case(), with_history=True)
    assert len(embed["title"]) <= 256
    assert len(embed["description"]) <= 4096
    assert embed_length(embed) <= EMBED_TOTAL_MAX
    assert all(len(field["value"]) <= 1024 for field in embed["fields"])
    assert embed["title"].startswith("🐞 Bug report #123: ")


def test_an_embed_never_exceeds_the_total_even_with_huge_sections() -> None:
    case = big_case()
    huge = Case.open_from(
        CaseDraft(CaseKind.FEATURE, "t", (CaseSection("a", "y" * 9000),), case.reporter, None, None),
        number=1,
        now=case.created_at,
        source_id="s",
    )
    embed = case_embed(huge, with_history=True)
    assert embed_length(embed) <= EMBED_TOTAL_MAX
    assert embed["description"].endswith("…")


def test_the_copied_image_is_embedded_and_other_files_are_linked() -> None:
    case = big_case()
    embed = case_embed(case, image_url="attachment://case-123-1.png")
    assert embed["image"] == {"url": "attachment://case-123-1.png"}
    [attachments] = [f for f in embed["fields"] if f["name"] == "Attachments"]
    assert "https://cdn/log.txt" in attachments["value"]


def test_list_line_shows_number_status_and_relative_time() -> None:
    line = case_list_line(big_case())
    assert line.startswith("**#123** 🐞 ")
    assert "open" in line
    assert "<t:" in line
    assert line.endswith(":R>")


def test_commands_are_valid_and_scoped_for_global_or_guild_registration() -> None:
    for command in COMMANDS:
        assert command["name"].islower()
        assert 1 <= len(command["name"]) <= 32
        assert 1 <= len(command["description"]) <= 100
    global_commands = commands_for_registration(guild_id=None)
    # /setup and /announce are for servers only; the rest work in the bot's DM too.
    assert all(
        c["contexts"] == ([0] if c["name"] in ("setup", "announce", "feeds") else [0, 1])
        and c["integration_types"] == [0]
        for c in global_commands
    )
    guild_commands = commands_for_registration(guild_id="123")
    assert all("contexts" not in c for c in guild_commands)
    assert "contexts" not in COMMANDS[0]
