"""Per-language analysis: Snowball's stemmers (PyStemmer), so "crashes", "crashing" and
"crashed" match, and stopword lists.

English is Snowball's "english" stemmer (Porter2, the successor of Porter's 1980 algorithm:
``generously`` → ``generous`` where Porter gave ``gener``). PyStemmer is the Snowball project's
own C implementation with a Python binding: about a microsecond a word, and 35 more languages for
articles in other languages (``stemmer_for``). English stopwords are Flexcord's own list
(``text.STOPWORDS``, tuned on members' questions); other languages' come from the ``stop-words``
package (``stopwords_for``), loaded only when a folder has articles in that language.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import Stemmer

from flexcord.kb.articles import DEFAULT_LANGUAGE, language_of
from flexcord.kb.text import STOPWORDS, words

#: ISO 639-1 codes (as in Discord locales, ``pt-BR`` → ``pt``) to Snowball's algorithm names.
_SNOWBALL_NAMES = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "eo": "esperanto",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}


@cache
def stemmer_for(language: str) -> Callable[[str], str]:
    """The stemmer of a language code; a language Snowball has no stemmer for is left unstemmed."""
    name = _SNOWBALL_NAMES.get(language_of(language))
    if name is None:
        return _unchanged
    return Stemmer.Stemmer(name).stemWord  # type: ignore[no-any-return]


@cache
def stopwords_for(language: str) -> frozenset[str]:
    """The words a question in ``language`` is matched without (folded as ``text.words`` folds
    them); none for a language the list has not got."""
    code = language_of(language)
    if code == DEFAULT_LANGUAGE:
        return STOPWORDS
    from stop_words import LANGUAGE_MAPPING, get_stop_words

    name = LANGUAGE_MAPPING.get(code)
    if name is None:
        return frozenset()
    return frozenset(word for text in get_stop_words(name) for word in words(text))


def _unchanged(word: str) -> str:
    return word


_english = stemmer_for(DEFAULT_LANGUAGE)


def stem(word: str) -> str:
    """The English stem of a lower-case word: ``connections`` → ``connect``."""
    return _english(word)


#: Words whose stems change when Snowball's English rules do (the ones its releases have touched).
_PROBE = (
    "generously", "organization", "dying", "skies", "news", "succeeded", "proceeding", "exceeded",
    "cannings", "inning", "outing", "herring", "earring", "knackeries", "gently", "howe", "atlas",
    "cosmos", "bias", "andes", "communism", "communities", "universal", "university", "arsenal",
)  # fmt: skip


def signature() -> str:
    """The English stems of probe words: a saved index records it, so one made by a stemmer that
    behaves differently (another PyStemmer release) is never used. Costs microseconds."""
    return " ".join(map(stem, _PROBE))
