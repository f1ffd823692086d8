"""The assistant answers a member from the articles in their Discord locale's language first:
a German member gets the German article, and the English one where there is no German article;
an English member never gets the German article."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from flexcord.kb.articles import DEFAULT_ARTICLES_DIR
from tests.e2e.conftest import final_reply, wait_until

GERMAN_ARTICLE = """---
title: Passwort zurücksetzen
url: https://help.example-game.com/de/articles/passwort-zuruecksetzen
language: de
tags: [Passwort, Anmeldung]
---

Wenn du dein Passwort vergessen hast, tippe auf dem Anmeldebildschirm auf "Passwort vergessen".
Wir schicken dir einen Link, mit dem du ein neues Passwort festlegen kannst.
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    folder = tmp_path_factory.mktemp("help-centre") / "articles"
    shutil.copytree(DEFAULT_ARTICLES_DIR, folder)
    (folder / "passwort-zuruecksetzen.md").write_text(GERMAN_ARTICLE, encoding="utf-8")
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("KB_DIR", str(folder))
        with LocalStack() as running:
            yield running


def suggested_urls(discord: DiscordEmulator, user: str, question: str) -> list[str]:
    final_reply(discord, discord.run_command(user, "helpme", {"question": question}).token)
    channel = discord.dm_channel_id(user)
    answer: dict[str, Any] = wait_until(
        lambda: next((m for m in reversed(discord.messages(channel)) if m.get("embeds")), None)
    )
    return [field["value"] for field in answer["embeds"][0]["fields"]]


def test_a_german_member_gets_the_german_article(stack: LocalStack) -> None:
    discord = stack.discord
    assert discord is not None
    discord.add_user("lena", locale="de")
    urls = suggested_urls(discord, "lena", "Ich habe mein Passwort vergessen")
    assert "/de/articles/passwort-zuruecksetzen" in urls[0]


def test_a_german_member_gets_english_articles_where_there_is_no_german_one(stack: LocalStack) -> None:
    discord = stack.discord
    assert discord is not None
    discord.add_user("jonas", locale="de")
    urls = suggested_urls(discord, "jonas", "my raid pass disappeared")
    assert "raids-and-raid-passes" in urls[0]
    assert not any("/de/" in url for url in urls)


def test_an_english_member_never_gets_the_german_article(stack: LocalStack) -> None:
    discord = stack.discord
    assert discord is not None
    discord.add_user("olivia", locale="en-GB")
    urls = suggested_urls(discord, "olivia", "i forgot my password and cant log in")
    assert not any("/de/" in url for url in urls)
    assert "signing-in" in urls[0] or "recovering-a-lost-account" in urls[0]
