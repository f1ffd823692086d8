"""Articles in several languages: each language indexed with its own stemmer, a member answered
from their locale's articles first and from the default language's when those have nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexcord.assistant.decide import decide
from flexcord.kb.articles import ArticleFormatError, language_of, parse_article
from flexcord.kb.index import article_languages
from flexcord.kb.retrieval import LocalKnowledgeBase, MultilingualKnowledgeBase, load_knowledge_base
from tests.support.kb_cli import run_kb

GERMAN = {
    "passwort-de": """---
title: Passwort zurücksetzen
language: de
tags: [Passwort, Anmeldung]
---

Wenn du dein Passwort vergessen hast, tippe auf dem Anmeldebildschirm auf "Passwort vergessen".
Wir schicken dir einen Link, mit dem du ein neues Passwort festlegen kannst.
""",
    "erstattung-de": """---
title: Käufe und Erstattungen
language: de-DE
---

Käufe laufen über den App Store oder Google Play. Eine Erstattung beantragst du beim Store, in
deinem Kaufverlauf.
""",
}


@pytest.fixture
def bilingual_kb(tiny_kb: Path) -> Path:
    for stem, text in GERMAN.items():
        (tiny_kb / f"{stem}.md").write_text(text, encoding="utf-8")
    return tiny_kb


def test_an_article_names_its_language_and_discord_locales_map_to_it():
    article = parse_article("---\ntitle: Olá\nlanguage: pt-BR\n---\nCorpo.", stem="ola")
    assert article.language == "pt"
    assert parse_article("---\ntitle: Hi\n---\nBody.", stem="hi").language == "en"
    assert [language_of(locale) for locale in ("en-US", "es-419", "zh-TW", None, "")] == [
        "en",
        "es",
        "zh",
        "en",
        "en",
    ]
    with pytest.raises(ArticleFormatError, match=r"x\.md: 'language' must be a language tag"):
        parse_article("---\ntitle: X\nlanguage: not a language\n---\n", stem="x", source="x.md")


def test_each_language_has_its_own_index_with_its_own_stemmer(bilingual_kb):
    assert article_languages(bilingual_kb) == ["en", "de"]
    german = LocalKnowledgeBase.from_folder(bilingual_kb, language="de")
    assert {article.stem for article in german.articles} == {"passwort-de", "erstattung-de"}
    # German stems: "Erstattungen" (plural) and "Erstattung" meet, "Käufe" and "Kauf" too.
    assert german.search("erstattungen", 1).hits[0].article.stem == "erstattung-de"
    assert german.search("Kauf", 1).hits[0].article.stem == "erstattung-de"
    english = LocalKnowledgeBase.from_folder(bilingual_kb)
    assert all(article.language == "en" for article in english.articles)


@pytest.mark.parametrize("retriever", ["hybrid", "lexical"])
def test_a_member_is_answered_in_their_language_first_then_in_the_default(bilingual_kb, retriever):
    knowledge_base = load_knowledge_base(bilingual_kb, retriever=retriever)
    assert isinstance(knowledge_base, MultilingualKnowledgeBase)

    def first(query: str, locale: str | None) -> str | None:
        result = knowledge_base.search(query, 3, locale=locale)
        return None if result.abstain else result.hits[0].article.stem

    assert first("Ich habe mein Passwort vergessen", "de") == "passwort-de"
    # Nothing in German about raid passes: the English article answers.
    assert first("my raid pass was not refunded", "de") == "raid-passes"
    # English members never get German articles, nor do members of a language with none.
    assert first("Passwort vergessen", "en-US") != "passwort-de"
    assert first("Passwort vergessen", "fr") != "passwort-de"
    assert first("my raid pass was not refunded", "fr") == "raid-passes"


def test_the_assistant_passes_the_members_locale(bilingual_kb):
    knowledge_base = load_knowledge_base(bilingual_kb, retriever="lexical")
    german = decide("Ich habe mein Passwort vergessen", knowledge_base=knowledge_base, misses=0, locale="de")
    assert german.articles[0].stem == "passwort-de"
    english = decide(
        "Ich habe mein Passwort vergessen", knowledge_base=knowledge_base, misses=0, locale="en-GB"
    )
    assert not english.articles or english.articles[0].stem != "passwort-de"


def test_index_saves_every_language_and_search_takes_a_locale(bilingual_kb):
    def run(*arguments: str, stdin: str = "") -> str:
        return run_kb(*arguments, stdin=stdin).stdout

    written = run("index", "--kb", str(bilingual_kb)).split()
    assert [Path(path).name for path in written if path != "wrote"] == [
        "index.json",
        "vectors.npz",
        "index.de.json",
        "vectors.de.npz",
    ]
    query = json.dumps({"id": 1, "query": "Passwort vergessen"}) + "\n"
    [german] = run("search", "--kb", str(bilingual_kb), "--locale", "de-DE", stdin=query).splitlines()
    assert json.loads(german)["results"][0]["article"] == "passwort-de"
    [only_german] = run("search", "--kb", str(bilingual_kb), "--language", "de", stdin=query).splitlines()
    assert {result["article"] for result in json.loads(only_german)["results"]} <= set(GERMAN)


@pytest.mark.parametrize("retriever", ["hybrid", "lexical"])
def test_an_empty_folder_abstains_on_everything(tmp_path, retriever):
    (tmp_path / "empty").mkdir()
    result = load_knowledge_base(tmp_path / "empty", retriever=retriever).search("raid pass", 3, locale="de")
    assert result.abstain
    assert result.hits == []
