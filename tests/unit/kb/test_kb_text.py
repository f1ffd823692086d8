"""Words, stems and the synonym table: the analysis articles and questions share."""

import pytest

from flexcord.kb.spelling import SpellingCorrector
from flexcord.kb.stemmer import stem, stemmer_for
from flexcord.kb.synonyms import SynonymTable, SynonymTableError
from flexcord.kb.text import fold, words

# From the Snowball English stemmer's published vocabulary (snowballstem.org, "english").
SNOWBALL_ENGLISH_EXAMPLES = {
    "consigned": "consign",
    "consigning": "consign",
    "consignment": "consign",
    "knackeries": "knackeri",
    "generously": "generous",  # Porter (1980) gave "gener", merging it with "general"
    "skies": "sky",
    "dying": "die",
    "news": "news",
    "gently": "gentl",
    "connections": "connect",
    "ponies": "poni",
    "caresses": "caress",
    "hopping": "hop",
}


@pytest.mark.parametrize(("word", "expected"), SNOWBALL_ENGLISH_EXAMPLES.items())
def test_english_stems_are_snowballs(word, expected):
    assert stem(word) == expected


def test_other_languages_have_their_own_stemmer_and_unknown_ones_none():
    assert stemmer_for("de")("häuser") == "haus"
    assert stemmer_for("pt-BR")("senhas") == stemmer_for("pt")("senha")
    assert stemmer_for("ja")("ログイン") == "ログイン"


def test_the_game_vocabulary_stems_together():
    assert stem("crashing") == stem("crashes") == stem("crashed") == "crash"
    assert stem("notifications") == stem("notification") == "notif"
    assert stem("go") == "go"  # two letters and under are left alone


def test_fold_drops_case_accents_and_apostrophes():
    assert fold("PokéStop's") == "pokestops"
    assert fold("I can’t log in") == "i cant log in"
    assert words("Wi-Fi, 2+2 & Ünïcode!") == ["wi", "fi", "2", "2", "unicode"]


def test_phrases_become_one_concept_in_any_inflection():
    table = SynonymTable([["log in", "login", "sign in"], ["raid pass", "raid ticket"]])
    assert table.terms(words("I can't sign in")) == ["~log_in"]
    assert table.terms(words("signing in to my account")) == ["~log_in", "account"]
    assert table.terms(words("lost my raid tickets")) == ["lost", "~raid_pass"]


def test_the_longest_phrase_wins_and_filler_may_sit_between_words():
    table = SynonymTable(
        [["raid pass", "raid ticket"], ["remote raid pass", "remote pass"], ["report a bug", "bug report"]]
    )
    assert table.terms(words("remote raid pass")) == ["~remot_raid_pass"]
    assert table.terms(words("how do I report the bug")) == ["~report_a_bug"]
    assert table.phrases_in(words("report the bug")) == [("report", "a", "bug")]


def test_a_phrase_in_two_groups_is_refused():
    with pytest.raises(SynonymTableError, match="'pass' is in two groups"):
        SynonymTable([["pass", "ticket"], ["pass", "subscription"]])


def test_a_malformed_line_is_named():
    with pytest.raises(SynonymTableError, match=r"table:2: a group needs two or more phrases"):
        SynonymTable.parse("# comment\nlonely\n", source="table")
    with pytest.raises(SynonymTableError, match="only stopwords"):
        SynonymTable.parse("the | a thing\n")


def test_the_table_survives_a_round_trip_through_json():
    table = SynonymTable.load()
    copy = SynonymTable.from_json(table.to_json())
    sentence = words("I can't sign in, my pokestop disappeared and I need to report the bug")
    assert copy.terms(sentence) == table.terms(sentence)
    assert copy.words == table.words


def test_spelling_fixes_one_edit_and_splits_run_together_words():
    corrector = SpellingCorrector({"account": 5, "receive": 3, "raid": 9, "pass": 7, "recipe": 1})
    assert corrector.correct("acount") == "account"  # a letter dropped
    assert corrector.correct("recieve") == "receive"  # two letters swapped
    assert corrector.correct("raidpass") == "raid pass"
    assert corrector.correct("account") is None  # known
    assert corrector.correct("acct") is None  # too short to guess
    assert corrector.correct("weather") is None  # nothing close
