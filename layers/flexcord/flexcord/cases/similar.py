"""Open cases that look like a new report: the knowledge base's retrieval, pointed at cases.

When a member files ``/bug`` or ``/new_feature``, the server's open cases of that kind are
searched the way the assistant searches help articles (``flexcord.kb``): the same words,
stopwords, Porter stems, synonym concepts and spelling fixes, and BM25F over title and body with
the help centre's field weights. Nothing here ranks differently from the knowledge base; only
what is searched, and with what, differs:

- **The documents** are the open cases, each an :class:`~flexcord.kb.articles.Article` (title,
  body). The help-centre articles join the index as *background*: never returned, they give the
  index realistic document frequencies. A server with three open cases would otherwise think
  "game" as rare as "lobby", and a word no case uses would outweigh every shared one.
- **The question** is the draft, asked twice: its title, and its body. Each gets the knowledge
  base's score, the share of its idf weight a case matches (``LocalKnowledgeBase.search``)::

      share(q, d) = Σ_{t in q} idf(t) · sat(t, d)  /  Σ_{t in q} idf(t)

  A title says what a report is about in a few words, as the case's own title does; a body is
  long and its words are shared by many reports of one game ("open the app", "tap", "screen"),
  so two unrelated reports with similar bodies must not look alike, while two titles in
  different words are helped by the body ("keeps closing" and "crashes" meet in the synonym
  table).
- **And the other way round**: the case's title asked of the draft (the draft joins the index
  as one more document). "Friend gifts can't be opened" covers "friend" of "Friend list won't
  load", but the case's "list" and "load" are nowhere in the draft: a report must also say what
  the case is about.

A case's similarity mixes the three::

    (1 − BACK_SHARE) · (TITLE_SHARE · share(draft title, case) + (1 − TITLE_SHARE) · share(draft body, case))
      + BACK_SHARE · share(case title, draft)

``SUGGEST_AT`` is the similarity from which a case is offered. It and the two shares were chosen
on the labelled reports in ``tests/unit/test_similar_cases.py``, written for this in the voice of
the shipped help centre's game: not public data, and not tuned on real members' reports. On them
(TITLE_SHARE 0.6 to 0.8 and BACK_SHARE 0 to 0.5 compared), asking the other way round separated
duplicates from other reports best: 14 of 15 duplicates are offered, and 1 of 13 other reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flexcord.cases.model import Case, CaseDraft
from flexcord.kb.articles import Article
from flexcord.kb.index import FIELDED_SETTINGS, Index
from flexcord.kb.retrieval import LocalKnowledgeBase
from flexcord.kb.synonyms import SynonymTable

#: The draft's title's part of how well it matches a case; its body has the rest.
TITLE_SHARE = 0.7
#: The part of the case's title asked of the draft in a case's similarity.
BACK_SHARE = 0.3
#: A case at least this similar is offered as a possible duplicate (see the module's docstring).
SUGGEST_AT = 0.4
#: At most this many cases are offered: the member reads them, and each is a button.
MAX_SUGGESTIONS = 3

#: Document names, for reading an index; the ranking goes by position (cases first, then the
#: draft, then the background).
_CASE_STEM = "case#"
_DRAFT_STEM = "draft"


@dataclass(frozen=True)
class SimilarCase:
    case: Case
    score: float


def draft_body(draft: CaseDraft) -> str:
    return "\n\n".join(section.text for section in draft.sections)


def case_article(case: Case) -> Article:
    """A case as the index sees it: its title, and its sections' text (not their labels, which
    every case of a kind shares)."""
    body = "\n\n".join(section.text for section in case.sections)
    return Article(stem=f"{_CASE_STEM}{case.number}", title=case.title, url="", tags=(), body=body)


def similarities(
    draft: CaseDraft,
    cases: Sequence[Case],
    *,
    background: Sequence[Article] = (),
    synonyms: SynonymTable | None = None,
) -> list[SimilarCase]:
    """Every case's similarity to the draft, most similar first (a case sharing no term with
    the draft scores 0); ties go to the newer case."""
    if not cases:
        return []
    count = len(cases)
    asked = Article(stem=_DRAFT_STEM, title=draft.title, url="", tags=(), body=draft_body(draft))
    index = Index.build([*map(case_article, cases), asked, *background], FIELDED_SETTINGS, synonyms=synonyms)
    search = LocalKnowledgeBase(index)
    title = _shares(index, search.analyse(draft.title).terms, range(count))
    body = _shares(index, search.analyse(asked.body).terms, range(count))
    scored = []
    for number, case in enumerate(cases):
        forward = TITLE_SHARE * title.get(number, 0.0) + (1 - TITLE_SHARE) * body.get(number, 0.0)
        back = _shares(index, search.analyse(case.title).terms, range(count, count + 1)).get(count, 0.0)
        scored.append(SimilarCase(case, (1 - BACK_SHARE) * forward + BACK_SHARE * back))
    return sorted(scored, key=lambda similar: (-similar.score, -similar.case.number))


def similar_cases(
    draft: CaseDraft,
    cases: Sequence[Case],
    *,
    background: Sequence[Article] = (),
    synonyms: SynonymTable | None = None,
    suggest_at: float = SUGGEST_AT,
    limit: int = MAX_SUGGESTIONS,
) -> list[SimilarCase]:
    """The open cases worth offering as duplicates of the draft, most similar first."""
    ranked = similarities(draft, cases, background=background, synonyms=synonyms)
    return [similar for similar in ranked if similar.score >= suggest_at][:limit]


def _shares(index: Index, terms: list[str], documents: range) -> dict[int, float]:
    """The knowledge base's score for these terms of each of ``documents`` (the others are
    background, never returned)."""
    if not terms:
        return {}
    possible = sum(index.idf.get(term, index.unseen_idf) for term in terms)
    totals = index.scores((term, 1.0) for term in terms)
    return {number: total / possible for number, total in totals.items() if number in documents}
