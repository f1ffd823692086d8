"""Ranking open cases against a new report (flexcord.cases.similar), and the labelled reports
that ``SUGGEST_AT`` was chosen on.

The reports are written for this test, in the voice of members of the shipped help centre's game
(Critterra): open cases, then new reports that are the same problem in other words (they should be
offered that case first) and new reports of another problem that shares words with an open case
(nothing should be offered). They are not public data and nothing was tuned on real reports: the
threshold is a starting point to revisit with a server's own duplicates.

``python -m pytest tests/unit/test_similar_cases.py -s -k margins`` prints every score.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import pytest

from flexcord.cases.model import Case, CaseDraft, CaseKind, CaseSection, Reporter
from flexcord.cases.similar import MAX_SUGGESTIONS, SUGGEST_AT, similar_cases, similarities
from flexcord.kb import Article, default_knowledge_base
from flexcord.kb.synonyms import SynonymTable

BUG_LABELS = ("What happened?", "Steps to reproduce", "Expected vs actual")
FEATURE_LABELS = ("What problem would it solve?", "What do you propose?")

#: Open cases of one server: number -> (title, section texts).
OPEN_BUGS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: (
        "Raid lobby freezes after the countdown",
        (
            "When the countdown in the raid lobby reaches zero the screen freezes and nothing responds.",
            "1. Join a raid with friends 2. Wait for the timer to end",
            "Expected the battle to start; instead I have to restart the app and my raid pass is used.",
        ),
    ),
    2: (
        "App crashes when opening the shop",
        (
            "Every time I tap the shop button the app closes and I'm back on my home screen.",
            "1. Open the main menu 2. Tap Shop",
            "Expected to see the shop, the game crashes instead. Pixel 7, Android 14.",
        ),
    ),
    3: (
        "Gems not received after purchase",
        (
            "I bought 1200 gems, Google Play charged me, but my gem count did not change.",
            "1. Shop 2. Buy the 1200 gem pack 3. Pay",
            "Expected 1200 gems, got nothing. I have the receipt.",
        ),
    ),
    4: (
        "GPS signal not found while walking",
        (
            "The GPS signal not found banner shows up every few minutes while I walk in town.",
            "Just walk around with the game open",
            "Expected my trainer to move; the map stops and the banner stays.",
        ),
    ),
    5: (
        "Friend list won't load",
        (
            "The friends tab shows a spinner forever since yesterday.",
            "1. Open profile 2. Tap Friends",
            "Expected my 80 friends, got an endless spinner.",
        ),
    ),
    6: (
        "Trade screen stuck after confirming",
        (
            "After both of us confirm a trade the screen stays on the loading animation.",
            "1. Start a trade with a friend nearby 2. Both confirm",
            "Expected the trade to finish; we had to close the app and the critter was not traded.",
        ),
    ),
    7: (
        "Community day notifications never arrive",
        (
            "I have event notifications on but got no reminder for the last two community days.",
            "Turn on event notifications in settings and wait for a community day",
            "Expected a push notification an hour before.",
        ),
    ),
    8: (
        "Black screen after the latest update",
        (
            "Since updating to 1.42 the game shows only a black screen after the logo.",
            "1. Update the app 2. Launch it",
            "Expected the map; the screen stays black. Samsung A52.",
        ),
    ),
    9: (
        "Can't sign in with Google",
        (
            "Signing in with my Google account fails with 'authentication error'.",
            "1. Open the app 2. Choose Google 3. Pick my account",
            "Expected to get in; I'm sent back to the start screen.",
        ),
    ),
    10: (
        "Spinning a waystone gives no items",
        (
            "Waystones spin and turn purple but I receive no items, my bag has space.",
            "Walk to any waystone and spin it",
            "Expected items; got nothing, even with 150 free slots.",
        ),
    ),
    11: (
        "Buddy critter disappears from the map",
        (
            "My buddy walks next to me for a few seconds and then vanishes from the map.",
            "1. Set a buddy 2. Walk",
            "Expected the buddy to stay next to my trainer.",
        ),
    ),
}

OPEN_FEATURES: dict[int, tuple[str, tuple[str, ...]]] = {
    20: (
        "Trade history for the last 30 days",
        (
            "I trade a lot and forget who I traded which critter with.",
            "A list of my trades from the last 30 days with the friend, the critters and the date.",
        ),
    ),
    21: (
        "Dark mode for the map",
        (
            "Playing at night the bright map hurts my eyes.",
            "A dark theme for the map, automatic after sunset or in the settings.",
        ),
    ),
    22: (
        "More storage for critters",
        (
            "My critter storage is always full and I have to transfer critters I like.",
            "Raise the storage limit or let us buy more space with gems.",
        ),
    ),
}

#: New bug reports that are the same problem as an open case, in a member's own words.
DUPLICATE_BUGS: list[tuple[str, tuple[str, ...], int]] = [
    (
        "Game freezes when the raid countdown ends",
        (
            "At the end of the raid timer my game just freezes.",
            "Join any raid lobby and wait",
            "Battle should start but the game is frozen and I lose the pass.",
        ),
        1,
    ),
    (
        "Stuck in the raid waiting room at 0 seconds",
        (
            "Timer hits 0 and the waiting room is stuck, can't tap anything.",
            "Join a raid",
            "Expected the fight to begin.",
        ),
        1,
    ),
    (
        "Shop makes the game crash",
        (
            "Opening the shop crashes the game right away.",
            "Tap shop",
            "Should show the shop.",
        ),
        2,
    ),
    (
        "Game keeps closing when I open the store",
        (
            "The app force closes when I go to the shop, every time.",
            "Main menu, shop",
            "Shop should open, the game shuts down instead.",
        ),
        2,
    ),
    (
        "Bought gems but never got them",
        (
            "Paid for the 1200 gems bundle yesterday, money is gone but no gems.",
            "Buy gems in the shop",
            "Should have 1200 more gems.",
        ),
        3,
    ),
    (
        "GPS not found error when walking",
        (
            "Keep getting GPS signal not found when I walk, even with location on.",
            "Walk with the app open",
            "Expected the map to follow me.",
        ),
        4,
    ),
    (
        "Friends list doesn't load",
        (
            "Friends tab just keeps loading, can't see anyone.",
            "Profile > Friends",
            "Should show my friends.",
        ),
        5,
    ),
    (
        "Trading stuck on loading forever",
        (
            "We both confirmed the trade and it's been loading for 10 minutes.",
            "Trade with a friend, confirm",
            "Trade should complete.",
        ),
        6,
    ),
    (
        "Black screen since the update",
        (
            "After the update I only get a black screen.",
            "Start the game",
            "Expected to load in.",
        ),
        8,
    ),
    (
        "Google login not working",
        (
            "I can't log in with Google anymore, it says authentication error.",
            "Log in with Google",
            "Should log me in.",
        ),
        9,
    ),
    (
        "No items from waystones",
        (
            "I spin waystones and get zero items.",
            "Spin a waystone",
            "Items should drop, my bag isn't full.",
        ),
        10,
    ),
    (
        "My buddy vanishes",
        (
            "Buddy disappears after walking a bit.",
            "Walk with a buddy",
            "Buddy should stay on the map.",
        ),
        11,
    ),
]

#: New bug reports of another problem, sharing words with an open case.
OTHER_BUGS: list[tuple[str, tuple[str, ...]]] = [
    (
        "Raid pass not refunded when the raid failed",
        (
            "The raid failed because nobody joined and my raid pass was not given back.",
            "Use a pass on a raid nobody else joins",
            "Expected the pass back.",
        ),
    ),
    (
        "Game crashes when evolving a critter",
        (
            "Evolving my Flamoth crashes the game halfway through the animation.",
            "Open the critter, tap Evolve",
            "Expected the evolution to finish.",
        ),
    ),
    (
        "Shop prices shown in the wrong currency",
        (
            "The shop shows prices in dollars but I live in France.",
            "Open the shop",
            "Expected euros.",
        ),
    ),
    (
        "Gems disappeared after trading",
        (
            "I had 500 gems before a trade and 300 after, trades should not cost gems.",
            "Trade with a friend",
            "Expected my gems to stay.",
        ),
    ),
    (
        "Friend gifts can't be opened",
        (
            "Gifts from friends show an error when I try to open them.",
            "Tap a gift from a friend",
            "Expected to open it.",
        ),
    ),
    (
        "Community day bonus not applied",
        (
            "Triple stardust during community day was not applied to my catches.",
            "Catch critters during the event",
            "Expected 3x stardust.",
        ),
    ),
    (
        "Sound stops after a phone call",
        (
            "After taking a call the game has no sound until I restart it.",
            "Take a call while playing",
            "Expected sound to come back.",
        ),
    ),
    (
        "Can't change my trainer name",
        (
            "The rename button in settings is greyed out.",
            "Settings > Trainer name",
            "Expected to change it once.",
        ),
    ),
    (
        "Typo in Flamoth's description",
        (
            "The critterdex says 'fiery wigns' instead of wings.",
            "Open Flamoth in the critterdex",
            "Should say wings.",
        ),
    ),
    (
        "Map shows the wrong time of day",
        (
            "The map is in night colours at noon.",
            "Open the map during the day",
            "Expected day colours.",
        ),
    ),
]

DUPLICATE_FEATURES: list[tuple[str, tuple[str, ...], int]] = [
    (
        "Show a list of past trades",
        (
            "I can't remember what I traded last week.",
            "A trade log with dates and friends.",
        ),
        20,
    ),
    (
        "Night theme for the map",
        (
            "The map is too bright at night.",
            "Add a dark mode.",
        ),
        21,
    ),
    (
        "Increase critter storage",
        (
            "Storage is full all the time.",
            "More storage space please.",
        ),
        22,
    ),
]

OTHER_FEATURES: list[tuple[str, tuple[str, ...]]] = [
    (
        "Trade with several friends at once",
        (
            "Trading one by one with a group of friends takes ages.",
            "Let a trade include three or four friends.",
        ),
    ),
    (
        "Filter waystones on the map",
        (
            "I can't find waystones with active lures.",
            "A map filter for lured waystones.",
        ),
    ),
    (
        "Sort critters by catch date",
        (
            "Finding a critter I just caught is slow.",
            "Add a sort by catch date in the critter list.",
        ),
    ),
]

REPORTER = Reporter("900", "newcomer", "Newcomer")


def case(number: int, title: str, texts: tuple[str, ...], kind: CaseKind = CaseKind.BUG) -> Case:
    labels = BUG_LABELS if kind is CaseKind.BUG else FEATURE_LABELS
    draft = CaseDraft(
        kind=kind,
        title=title,
        sections=tuple(CaseSection(label, text) for label, text in zip(labels, texts, strict=True)),
        reporter=Reporter(f"{100 + number}", f"member{number}", f"Member {number}"),
        guild_id="1",
        channel_id="2",
    )
    return Case.open_from(draft, number=number, now="2026-12-01T10:00:00+00:00", source_id=f"s{number}")


def draft(title: str, texts: tuple[str, ...], kind: CaseKind = CaseKind.BUG) -> CaseDraft:
    labels = BUG_LABELS if kind is CaseKind.BUG else FEATURE_LABELS
    return CaseDraft(
        kind=kind,
        title=title,
        sections=tuple(CaseSection(label, text) for label, text in zip(labels, texts, strict=True)),
        reporter=REPORTER,
        guild_id="1",
        channel_id="2",
    )


@cache
def background() -> tuple[tuple[Article, ...], SynonymTable]:
    knowledge = default_knowledge_base()
    return tuple(knowledge.articles), knowledge.index.synonyms


def open_bugs() -> list[Case]:
    return [case(number, title, texts) for number, (title, texts) in OPEN_BUGS.items()]


def open_features() -> list[Case]:
    return [case(number, title, texts, CaseKind.FEATURE) for number, (title, texts) in OPEN_FEATURES.items()]


def suggested(new: CaseDraft, cases: list[Case], **options: object) -> list[int]:
    articles, synonyms = background()
    found = similar_cases(new, cases, background=articles, synonyms=synonyms, **options)  # type: ignore[arg-type]
    return [similar.case.number for similar in found]


DUPLICATES = [
    pytest.param(draft(title, texts), open_bugs, original, id=title)
    for title, texts, original in DUPLICATE_BUGS
] + [
    pytest.param(draft(title, texts, CaseKind.FEATURE), open_features, original, id=title)
    for title, texts, original in DUPLICATE_FEATURES
]
OTHERS = [pytest.param(draft(title, texts), open_bugs, id=title) for title, texts in OTHER_BUGS] + [
    pytest.param(draft(title, texts, CaseKind.FEATURE), open_features, id=title)
    for title, texts in OTHER_FEATURES
]


#: Where bags of words fall short, on these reports. "A list of past trades" shares only "trade"
#: with "Trade history" (its member never says "history"). "Gems disappeared" and "Gems not
#: received" are one concept in the synonym table ("missing"): the member is asked, and answers
#: "No, file mine". Both are part of the test so a change that moves them is seen.
MISSED_DUPLICATES = {"Show a list of past trades"}
OFFERED_OTHERS = {"Gems disappeared after trading"}


@pytest.mark.parametrize(("new", "cases", "original"), DUPLICATES)
def test_a_report_of_an_open_problem_in_other_words_is_offered_that_case_first(
    new: CaseDraft, cases: object, original: int
) -> None:
    offered = suggested(new, cases())  # type: ignore[operator]
    if new.title in MISSED_DUPLICATES:
        assert offered == []
        # Still ranked first: a lower threshold would offer it, with more false offers.
        assert suggested(new, cases(), suggest_at=0.0)[:1] == [original]  # type: ignore[operator]
    else:
        assert offered[:1] == [original], offered


@pytest.mark.parametrize(("new", "cases"), OTHERS)
def test_a_report_of_another_problem_sharing_words_with_open_cases_is_offered_nothing(
    new: CaseDraft, cases: object
) -> None:
    offered = suggested(new, cases())  # type: ignore[operator]
    assert (offered != []) == (new.title in OFFERED_OTHERS), offered


@pytest.mark.parametrize(("new", "cases", "original"), DUPLICATES)
def test_the_duplicate_is_found_when_it_is_the_servers_only_open_case(
    new: CaseDraft, cases: object, original: int
) -> None:
    """The help centre's articles give the index its word frequencies: with one open case, the
    words it shares with the draft still count for what they are."""
    [only] = [c for c in cases() if c.number == original]  # type: ignore[operator]
    expected = [] if new.title in MISSED_DUPLICATES else [original]
    assert suggested(new, [only]) == expected


@pytest.mark.parametrize(
    ("new", "cases"), [pytest.param(*p.values[:2], id=p.id) for p in DUPLICATES] + OTHERS
)
def test_a_cases_similarity_hardly_depends_on_how_many_others_are_open(new: CaseDraft, cases: object) -> None:
    articles, synonyms = background()
    every = similarities(new, cases(), background=articles, synonyms=synonyms)  # type: ignore[operator]
    for similar in every[:2]:  # the cases that could be offered (building an index takes a while)
        [alone] = similarities(new, [similar.case], background=articles, synonyms=synonyms)
        assert abs(alone.score - similar.score) <= 0.04, similar.case.title


def test_without_the_help_centre_as_background_a_lone_duplicate_would_be_missed() -> None:
    """Why the articles join the index: over one case, every word it shares with the draft is in
    every document, and weighs next to nothing against the words it does not share."""
    articles, synonyms = background()
    title, texts, original = DUPLICATE_BUGS[1]  # "Stuck in the raid waiting room at 0 seconds"
    [only] = [c for c in open_bugs() if c.number == original]
    new = draft(title, texts)
    assert similarities(new, [only], synonyms=synonyms)[0].score < SUGGEST_AT - 0.1
    assert similarities(new, [only], background=articles, synonyms=synonyms)[0].score > SUGGEST_AT


def test_margins_around_the_threshold() -> None:
    """On the labelled reports: 14 of 15 duplicates offered, 1 of 13 other reports, and the
    weakest duplicate offered and the strongest other report not offered are either side of
    SUGGEST_AT with room to spare (a threshold that only just separates them would be luck)."""
    articles, synonyms = background()
    offered_duplicates = []
    for param in DUPLICATES:
        new, cases, original = param.values
        ranked = similarities(new, cases(), background=articles, synonyms=synonyms)  # type: ignore[operator]
        score = next(s.score for s in ranked if s.case.number == original)
        print(f"duplicate {score:.3f}  {new.title}")
        if new.title not in MISSED_DUPLICATES:
            offered_duplicates.append(score)
    other_scores = []
    for param in OTHERS:
        new, cases = param.values
        ranked = similarities(new, cases(), background=articles, synonyms=synonyms)  # type: ignore[operator]
        best = ranked[0]
        print(f"other     {best.score:.3f}  {new.title}  ~ #{best.case.number} {best.case.title}")
        if new.title not in OFFERED_OTHERS:
            other_scores.append(best.score)
    print(f"weakest duplicate offered {min(offered_duplicates):.3f}, strongest other {max(other_scores):.3f}")
    assert len(offered_duplicates) == 14
    assert len(other_scores) == 12
    assert min(offered_duplicates) >= SUGGEST_AT + 0.02
    assert max(other_scores) <= SUGGEST_AT - 0.02


def test_at_most_three_cases_are_offered_most_similar_first() -> None:
    title, texts = OPEN_BUGS[1]
    copies = [case(number, title, texts) for number in range(30, 36)]
    offered = suggested(draft(title, texts), copies)
    assert len(offered) == MAX_SUGGESTIONS
    # Equally similar: the newest first.
    assert offered == [35, 34, 33]
    closer = dataclasses.replace(copies[0], title="Raid lobby freezes after the countdown ends")
    assert suggested(draft(title, texts), [closer, copies[1]])[0] == 31


def test_nothing_is_offered_without_open_cases_or_words() -> None:
    title, texts = OPEN_BUGS[1]
    assert suggested(draft(title, texts), []) == []
    assert suggested(draft("?????", ("...", "1.", "!!")), open_bugs()) == []


def test_a_case_is_matched_on_its_texts_not_on_the_section_labels_every_case_shares() -> None:
    labels_only = draft("Expected vs actual", ("What happened?", "Steps to reproduce", "Expected actual"))
    assert suggested(labels_only, open_bugs()) == []
