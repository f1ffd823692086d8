"""Measuring a knowledge base against labelled questions, and calibrating its abstain threshold.

A labelled question file is JSON Lines, one question per line; blank lines and lines starting
with ``#`` are skipped::

    {"id": "q1", "query": "raid pass gone??", "article": "raids-and-raid-passes"}
    {"id": "q2", "query": "which stores sell it", "articles": ["purchases-and-refunds", "gems-and-stardust"]}
    {"id": "q3", "query": "what's the weather tomorrow", "article": null}

``article`` (or ``articles``, when several answer it) names the right articles by file stem;
``null`` or ``[]`` marks a question the knowledge base should not answer (out of scope). An
optional ``"split"`` groups questions for separate figures (e.g. "short", "out_of_scope").

The metrics, as in the FAQ retrieval literature:

- **Recall@k**: the share of in-scope questions with a right article among the first k results
  (with several right articles, any one counts);
- **MRR@10**: the mean of 1/rank of the first right article in the first 10, 0 if none;
- **in-scope answer rate**: the share of in-scope questions the search did not abstain on;
- **out-of-scope abstain rate**: the share of out-of-scope questions it abstained on.

Recall and MRR measure the ranking whether or not the search abstained; the two rates measure
the abstain decision. Both matter: a member sees an article only when the search answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from flexcord.kb.retrieval import KnowledgeBase, SearchResult

#: What calibration keeps: at least this share of the tuning set's in-scope questions answered.
#: Above the 95% goal, to leave a margin for questions the threshold was not tuned on.
CALIBRATION_MIN_ANSWER_RATE = 0.97
MRR_DEPTH = 10


class LabelledQueryError(ValueError):
    """A labelled question file is malformed; the message names the line."""


@dataclass(frozen=True)
class LabelledQuery:
    id: str
    query: str
    #: The stems of the articles that answer it; empty when it is out of scope.
    relevant: frozenset[str]
    split: str | None = None

    @property
    def in_scope(self) -> bool:
        return bool(self.relevant)


def read_queries(lines: Iterable[str], *, source: str = "input") -> list[dict[str, object]]:
    """JSON objects from JSON Lines, skipping blank and ``#`` lines; errors name the line."""
    rows: list[dict[str, object]] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as error:
            raise LabelledQueryError(f"{source}:{number}: not JSON ({error.msg})") from None
        if not isinstance(row, dict) or "query" not in row or not isinstance(row["query"], str):
            raise LabelledQueryError(f"{source}:{number}: expected an object with a string 'query'")
        rows.append(row)
    return rows


def read_labelled_queries(lines: Iterable[str], *, source: str = "input") -> list[LabelledQuery]:
    labelled = []
    for number, row in enumerate(read_queries(lines, source=source), start=1):
        if "articles" in row:
            relevant = row["articles"]
            if not isinstance(relevant, list) or not all(isinstance(stem, str) for stem in relevant):
                raise LabelledQueryError(
                    f"{source}: query {row.get('id', number)!r}: 'articles' must be a list"
                )
        elif "article" in row:
            relevant = [] if row["article"] is None else [row["article"]]
            if not all(isinstance(stem, str) for stem in relevant):
                raise LabelledQueryError(
                    f"{source}: query {row.get('id', number)!r}: 'article' must be a string or null"
                )
        else:
            raise LabelledQueryError(
                f"{source}: query {row.get('id', number)!r} has no 'article' or 'articles'"
            )
        split = row.get("split")
        labelled.append(
            LabelledQuery(
                id=str(row.get("id", number)),
                query=str(row["query"]),
                relevant=frozenset(str(stem) for stem in relevant),
                split=str(split) if split is not None else None,
            )
        )
    return labelled


@dataclass(frozen=True)
class Metrics:
    queries: int
    in_scope: int
    out_of_scope: int
    recall_at_1: float | None
    recall_at_3: float | None
    mrr_at_10: float | None
    in_scope_answer_rate: float | None
    out_of_scope_abstain_rate: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "queries": self.queries,
            "in_scope": self.in_scope,
            "out_of_scope": self.out_of_scope,
            "recall@1": self.recall_at_1,
            "recall@3": self.recall_at_3,
            "mrr@10": self.mrr_at_10,
            "in_scope_answer_rate": self.in_scope_answer_rate,
            "out_of_scope_abstain_rate": self.out_of_scope_abstain_rate,
        }


@dataclass(frozen=True)
class Judged:
    """One labelled question and what the search returned for it."""

    query: LabelledQuery
    ranked: list[str]  # article stems, best first
    abstain: bool
    top_score: float

    @classmethod
    def of(cls, query: LabelledQuery, result: SearchResult) -> Judged:
        return cls(
            query=query,
            ranked=[hit.article.stem for hit in result.hits],
            abstain=result.abstain,
            top_score=result.hits[0].score if result.hits else 0.0,
        )

    @property
    def first_relevant_rank(self) -> int | None:
        for rank, stem in enumerate(self.ranked, start=1):
            if stem in self.query.relevant:
                return rank
        return None


def judge(
    knowledge_base: KnowledgeBase, queries: Sequence[LabelledQuery], *, k: int = MRR_DEPTH
) -> list[Judged]:
    return [Judged.of(query, knowledge_base.search(query.query, k=max(k, 1))) for query in queries]


def compute_metrics(judged: Sequence[Judged]) -> Metrics:
    in_scope = [item for item in judged if item.query.in_scope]
    out_of_scope = [item for item in judged if not item.query.in_scope]
    ranks = [item.first_relevant_rank for item in in_scope]

    def share(count: int, total: int) -> float | None:
        return count / total if total else None

    return Metrics(
        queries=len(judged),
        in_scope=len(in_scope),
        out_of_scope=len(out_of_scope),
        recall_at_1=share(sum(rank == 1 for rank in ranks), len(ranks)),
        recall_at_3=share(sum(rank is not None and rank <= 3 for rank in ranks), len(ranks)),
        mrr_at_10=(sum(1 / rank for rank in ranks if rank and rank <= MRR_DEPTH) / len(ranks))
        if ranks
        else None,
        in_scope_answer_rate=share(sum(not item.abstain for item in in_scope), len(in_scope)),
        out_of_scope_abstain_rate=share(sum(item.abstain for item in out_of_scope), len(out_of_scope)),
    )


def metrics_by_split(judged: Sequence[Judged]) -> dict[str, Metrics]:
    """Metrics per ``split`` value, for files that mark splits; empty when none does."""
    splits: dict[str, list[Judged]] = {}
    for item in judged:
        if item.query.split is not None:
            splits.setdefault(item.query.split, []).append(item)
    return {name: compute_metrics(items) for name, items in sorted(splits.items())}


_ROWS = (
    ("recall@1", "recall_at_1"),
    ("recall@3", "recall_at_3"),
    ("mrr@10", "mrr_at_10"),
    ("in_scope_answer_rate", "in_scope_answer_rate"),
    ("out_of_scope_abstain_rate", "out_of_scope_abstain_rate"),
)


def format_report(overall: Metrics, splits: dict[str, Metrics] | None = None) -> str:
    """The text ``eval`` prints: counts, then one ``name value`` line per metric (n/a when there
    is nothing to measure), then the same per split."""
    lines = [_counts_line(overall), *_metric_lines(overall, indent="")]
    for name, metrics in (splits or {}).items():
        lines.append("")
        lines.append(f"split {name}: {_counts_line(metrics)}")
        lines.extend(_metric_lines(metrics, indent="  "))
    return "\n".join(lines)


def _counts_line(metrics: Metrics) -> str:
    return f"queries {metrics.queries} (in scope {metrics.in_scope}, out of scope {metrics.out_of_scope})"


def _metric_lines(metrics: Metrics, *, indent: str) -> list[str]:
    lines = []
    for label, attribute in _ROWS:
        value = getattr(metrics, attribute)
        lines.append(f"{indent}{label:<27}{'n/a' if value is None else f'{value:.3f}'}")
    return lines


@dataclass(frozen=True)
class Calibration:
    threshold: float
    in_scope_answer_rate: float
    out_of_scope_abstain_rate: float


def calibrate_threshold(
    judged: Sequence[Judged], *, min_answer_rate: float = CALIBRATION_MIN_ANSWER_RATE
) -> Calibration:
    """The abstain threshold that abstains on the most out-of-scope questions while still
    answering at least ``min_answer_rate`` of the in-scope ones.

    ``judged`` must come from a search with a threshold of 0, so that ``abstain`` marks only the
    questions the threshold does not decide (no match at all, only a number matched). Of the
    others only the top score matters, and every threshold between two neighbouring top scores
    behaves the same on these questions. Of those intervals the one with the best (abstain rate,
    answer rate) wins, and the threshold is its midpoint: as far as possible from the questions
    on either side of it.
    """
    in_scope = [None if item.abstain else item.top_score for item in judged if item.query.in_scope]
    out_of_scope = [None if item.abstain else item.top_score for item in judged if not item.query.in_scope]
    if not in_scope:
        raise ValueError("calibration needs in-scope questions")
    edges = sorted({0.0, 1.0, *(score for score in in_scope + out_of_scope if score is not None)})

    def answered_share(scores: list[float | None], threshold: float) -> float:
        return sum(score is not None and score >= threshold for score in scores) / len(scores)

    best: tuple[float, float, float, float] | None = None  # (abstain rate, answer rate, width, threshold)
    for low, high in pairwise(edges):
        threshold = (low + high) / 2
        answered = answered_share(in_scope, threshold)
        if answered < min_answer_rate:
            continue
        abstained = 1 - answered_share(out_of_scope, threshold) if out_of_scope else 0.0
        candidate = (abstained, answered, high - low, threshold)
        if best is None or candidate[:3] > best[:3]:
            best = candidate
    if best is None:
        return Calibration(
            threshold=0.0, in_scope_answer_rate=answered_share(in_scope, 0.0), out_of_scope_abstain_rate=0.0
        )
    return Calibration(
        threshold=round(best[3], 4), in_scope_answer_rate=best[1], out_of_scope_abstain_rate=best[0]
    )
