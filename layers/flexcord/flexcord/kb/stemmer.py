"""The Porter stemmer (M.F. Porter, 1980), as in Lucene's PorterStemFilter.

Written out here rather than imported: the layer must stay small and import fast, and the
algorithm is a page long. It follows Porter's own reference implementation, including its two
departures from the paper (``bli`` → ``ble`` instead of ``abli`` → ``able``, and ``logi`` →
``log``), so stems match what a Lucene English analyzer produces.

Words of one or two letters are returned unchanged; input is expected in lower case. The
consonant/vowel pattern of the word is worked out once per step ("c" or "v" per letter, where
"y" after a consonant is a vowel), and the conditions are string tests on it: stemming every
word of the default articles is part of the cold start.
"""

from __future__ import annotations

from functools import lru_cache


def _pattern(word: str) -> str:
    """ "c" or "v" for each letter: "toy" → "cvc", "syzygy" → "cvcvcv"."""
    classes = []
    previous = "v"  # so a leading "y" counts as a consonant
    for letter in word:
        if letter in "aeiou":
            current = "v"
        elif letter == "y":
            current = "v" if previous == "c" else "c"
        else:
            current = "c"
        classes.append(current)
        previous = current
    return "".join(classes)


def _measure(pattern: str) -> int:
    """m in [C](VC)^m[V]: how many vowel-consonant sequences the stem has."""
    return pattern.count("vc")


def _ends_cvc(word: str, pattern: str) -> bool:
    """*o: consonant-vowel-consonant at the end, the last not w, x or y (hop, not hoy)."""
    return pattern.endswith("cvc") and word[-1] not in "wxy"


# Step 2 and 3 rules: (suffix, replacement); the first suffix that matches is the only one tried.
# Longer suffixes come first where one ends another (ational before tional, ization before ation).
_STEP2 = (
    ("ational", "ate"),
    ("tional", "tion"),
    ("enci", "ence"),
    ("anci", "ance"),
    ("izer", "ize"),
    ("bli", "ble"),
    ("alli", "al"),
    ("entli", "ent"),
    ("eli", "e"),
    ("ousli", "ous"),
    ("ization", "ize"),
    ("ation", "ate"),
    ("ator", "ate"),
    ("alism", "al"),
    ("iveness", "ive"),
    ("fulness", "ful"),
    ("ousness", "ous"),
    ("aliti", "al"),
    ("iviti", "ive"),
    ("biliti", "ble"),
    ("logi", "log"),
)
_STEP3 = (
    ("icate", "ic"),
    ("ative", ""),
    ("alize", "al"),
    ("iciti", "ic"),
    ("ical", "ic"),
    ("ful", ""),
    ("ness", ""),
)
# Step 4 suffixes, longest first so that "ement" is tried before "ment" and "ent".
_STEP4 = tuple(
    sorted(
        (
            "al",
            "ance",
            "ence",
            "er",
            "ic",
            "able",
            "ible",
            "ant",
            "ement",
            "ment",
            "ent",
            "ion",
            "ou",
            "ism",
            "ate",
            "iti",
            "ous",
            "ive",
            "ize",
        ),
        key=len,
        reverse=True,
    )
)


def _step1a(word: str) -> str:
    """Plurals: caresses → caress, ponies → poni, cats → cat."""
    if word.endswith(("sses", "ies")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _step1b(word: str) -> str:
    """-eed, -ed, -ing: agreed → agree, plastered → plaster, hopping → hop, filing → file."""
    if word.endswith("eed"):
        return word[:-1] if _measure(_pattern(word[:-3])) > 0 else word
    for suffix in ("ed", "ing"):
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            pattern = _pattern(stem)
            return _tidy_after_1b(stem, pattern) if "v" in pattern else word
    return word


def _tidy_after_1b(stem: str, pattern: str) -> str:
    if stem.endswith(("at", "bl", "iz")):
        return stem + "e"
    if len(stem) >= 2 and stem[-1] == stem[-2] and pattern[-1] == "c" and stem[-1] not in "lsz":
        return stem[:-1]
    if _measure(pattern) == 1 and _ends_cvc(stem, pattern):
        return stem + "e"
    return stem


def _step1c(word: str) -> str:
    if word.endswith("y") and "v" in _pattern(word[:-1]):
        return word[:-1] + "i"
    return word


def _step23(word: str, rules: tuple[tuple[str, str], ...]) -> str:
    for suffix, replacement in rules:
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            return stem + replacement if _measure(_pattern(stem)) > 0 else word
    return word


def _step4(word: str) -> str:
    for suffix in _STEP4:
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            if _measure(_pattern(stem)) <= 1:
                return word
            if suffix == "ion" and not stem.endswith(("s", "t")):
                return word
            return stem
    return word


def _step5(word: str) -> str:
    if word.endswith("e"):
        stem = word[:-1]
        pattern = _pattern(stem)
        measure = _measure(pattern)
        if measure > 1 or (measure == 1 and not _ends_cvc(stem, pattern)):
            word = stem
    if word.endswith("ll") and _measure(_pattern(word)) > 1:
        word = word[:-1]
    return word


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Porter stem of a lower-case word: ``connections`` → ``connect``, ``ponies`` → ``poni``."""
    if len(word) <= 2:
        return word
    word = _step1b(_step1a(word))
    word = _step1c(word)
    word = _step23(word, _STEP2)
    word = _step23(word, _STEP3)
    word = _step4(word)
    return _step5(word)
