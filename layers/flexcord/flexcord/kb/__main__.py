"""The knowledge base's command line: batch search, evaluation, calibration, saving an index.

    PYTHONPATH=layers/flexcord python -m flexcord.kb search --kb DIR --k 10 < queries.jsonl > results.jsonl
    PYTHONPATH=layers/flexcord python -m flexcord.kb eval --kb DIR --queries labelled.jsonl
    PYTHONPATH=layers/flexcord python -m flexcord.kb calibrate --kb DIR --queries tuning.jsonl --save
    PYTHONPATH=layers/flexcord python -m flexcord.kb index --kb DIR

``--kb`` is a folder of Markdown articles (default: the shipped ones). ``--retriever`` is
``hybrid`` (the default, what the assistant uses), ``lexical`` (BM25F alone) or ``bm25`` (the
plain baseline). ``index`` saves the lexical index and the article vectors next to the articles;
``calibrate --save`` chooses the hybrid's fusion and abstain threshold on labelled tuning
questions and saves them there too (``calibration.json``). A folder may hold articles in several
languages (front matter ``language: de``): ``index`` covers them all, ``--language`` picks the ones
``search``, ``eval`` and ``calibrate`` use, and ``search --locale`` searches as a member with that
Discord locale would. ``search`` reads
``{"id": ..., "query": ...}`` lines and writes one line per query, in order::

    {"id": ..., "results": [{"article": "<file stem>", "score": 0.8123}], "abstain": false}

``eval`` prints Recall@1, Recall@3, MRR@10, the in-scope answer rate and the out-of-scope
abstain rate (see ``metrics`` for the labelled format), then the same per split if the file
marks splits. ``--bedrock ID`` searches an Amazon Bedrock knowledge base instead of a folder.
Errors (a malformed article or input line) go to stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from flexcord.kb.articles import (
    DEFAULT_ARTICLES_DIR,
    DEFAULT_LANGUAGE,
    ArticleFormatError,
    language_of,
    load_articles,
)
from flexcord.kb.index import (
    CALIBRATION_FILE_NAME,
    INDEX_FILE_NAME,
    VECTORS_FILE_NAME,
    article_languages,
    index_path,
    save_index,
    settings_for,
)
from flexcord.kb.metrics import (
    CALIBRATION_MIN_ANSWER_RATE,
    LabelledQuery,
    LabelledQueryError,
    calibrate_threshold,
    compute_metrics,
    format_report,
    judge,
    metrics_by_split,
    read_labelled_queries,
    read_queries,
)
from flexcord.kb.retrieval import (
    DEFAULT_ABSTAIN_BELOW,
    EmbedderUnavailable,
    KnowledgeBase,
    LocalKnowledgeBase,
    load_knowledge_base,
    plain_bm25,
)

if TYPE_CHECKING:
    from flexcord.kb.hybrid import HybridKnowledgeBase

DEFAULT_K = 10
SCORE_DIGITS = 4


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        return int(arguments.run(arguments))
    except (ArticleFormatError, LabelledQueryError, EmbedderUnavailable, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flexcord.kb", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(required=True, metavar="command")

    search = commands.add_parser("search", help="search for each JSONL query on stdin, write JSONL results")
    _add_source_arguments(search)
    search.add_argument("--k", type=int, default=DEFAULT_K, help="results per query (default %(default)s)")
    search.add_argument("--input", type=Path, help="read queries from this file instead of stdin")
    search.add_argument(
        "--locale",
        help="search the whole folder as a member with this Discord locale would (e.g. de, pt-BR): "
        "articles in that language first, then the default language's",
    )
    search.set_defaults(run=_search)

    evaluate = commands.add_parser("eval", help="print retrieval and abstain metrics for labelled queries")
    _add_source_arguments(evaluate)
    evaluate.add_argument("--queries", type=Path, required=True, help="labelled queries (JSONL)")
    evaluate.add_argument("--k", type=int, default=DEFAULT_K, help="results per query (default %(default)s)")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    evaluate.set_defaults(run=_evaluate)

    calibrate = commands.add_parser(
        "calibrate", help="choose the fusion and abstain threshold on labelled tuning queries"
    )
    _add_source_arguments(calibrate, threshold=False)
    calibrate.add_argument("--queries", type=Path, required=True, help="labelled tuning queries (JSONL)")
    calibrate.add_argument(
        "--min-answer-rate",
        type=float,
        default=CALIBRATION_MIN_ANSWER_RATE,
        help="in-scope share that must still be answered (default %(default)s)",
    )
    calibrate.add_argument(
        "--save", action="store_true", help=f"write the hybrid's settings to DIR/{CALIBRATION_FILE_NAME}"
    )
    calibrate.set_defaults(run=_calibrate)

    index = commands.add_parser(
        "index",
        help=f"save the index of a folder as {INDEX_FILE_NAME} and its article vectors as "
        f"{VECTORS_FILE_NAME} (for fast loading)",
    )
    index.add_argument("--kb", type=Path, default=DEFAULT_ARTICLES_DIR, help="folder of articles")
    index.add_argument(
        "--lexical-only", action="store_true", help=f"save {INDEX_FILE_NAME} only (no embedder needed)"
    )
    index.add_argument(
        "--queries",
        type=Path,
        help=f"labelled tuning queries: also calibrate the default language and save {CALIBRATION_FILE_NAME}",
    )
    index.set_defaults(run=_index)
    return parser


def _add_source_arguments(parser: argparse.ArgumentParser, *, threshold: bool = True) -> None:
    parser.add_argument(
        "--kb", type=Path, default=DEFAULT_ARTICLES_DIR, help="folder of articles (default: the shipped ones)"
    )
    parser.add_argument(
        "--language",
        default=DEFAULT_LANGUAGE,
        type=language_of,
        help="the folder's articles in this language (default %(default)s)",
    )
    parser.add_argument(
        "--retriever",
        choices=("hybrid", "lexical", "bm25"),
        default="hybrid",
        help="hybrid (default), lexical (BM25F alone) or the plain BM25 baseline",
    )
    parser.add_argument(
        "--bedrock", metavar="KNOWLEDGE_BASE_ID", help="search this Amazon Bedrock knowledge base"
    )
    if threshold:
        parser.add_argument(
            "--threshold", type=float, help="abstain below this score (default: the calibrated one)"
        )


def _knowledge_base(arguments: argparse.Namespace, *, threshold: float | None = None) -> KnowledgeBase:
    chosen = threshold if threshold is not None else getattr(arguments, "threshold", None)
    if arguments.bedrock:
        from flexcord.kb.bedrock import DEFAULT_BEDROCK_ABSTAIN_BELOW, BedrockKnowledgeBase

        local = (
            {article.stem: article for article in load_articles(arguments.kb)}
            if arguments.kb.is_dir()
            else {}
        )
        return BedrockKnowledgeBase(
            arguments.bedrock,
            abstain_below=DEFAULT_BEDROCK_ABSTAIN_BELOW if chosen is None else chosen,
            articles=local,
        )
    if getattr(arguments, "locale", None):
        if chosen is not None:
            raise ValueError("--threshold applies to one language's articles: use --language, not --locale")
        if arguments.retriever == "bm25":
            raise ValueError("--locale needs the hybrid or the lexical retriever")
        return load_knowledge_base(arguments.kb, retriever=arguments.retriever)
    language = arguments.language
    if arguments.retriever == "bm25":
        articles = [article for article in load_articles(arguments.kb) if article.language == language]
        baseline = plain_bm25(articles)
        if chosen is not None:
            baseline.abstain_below = chosen
        return baseline
    if arguments.retriever == "hybrid":
        hybrid = _hybrid(arguments.kb, language)
        if chosen is not None:
            hybrid = hybrid.with_settings(replace(hybrid.settings, abstain_below=chosen))
        return hybrid
    return LocalKnowledgeBase.from_folder(
        arguments.kb, abstain_below=DEFAULT_ABSTAIN_BELOW if chosen is None else chosen, language=language
    )


def _search(arguments: argparse.Namespace) -> int:
    knowledge_base = _knowledge_base(arguments)
    if arguments.input:
        with arguments.input.open(encoding="utf-8") as lines:
            _search_lines(
                knowledge_base,
                lines,
                sys.stdout,
                k=arguments.k,
                source=str(arguments.input),
                locale=arguments.locale,
            )
    else:
        _search_lines(
            knowledge_base, sys.stdin, sys.stdout, k=arguments.k, source="stdin", locale=arguments.locale
        )
    return 0


def _search_lines(
    knowledge_base: KnowledgeBase,
    lines: TextIO,
    output: TextIO,
    *,
    k: int,
    source: str,
    locale: str | None = None,
) -> None:
    for row in read_queries(lines, source=source):
        result = knowledge_base.search(str(row["query"]), k=k, locale=locale)
        answer = {
            "id": row.get("id"),
            "results": [
                {"article": hit.article.stem, "score": round(hit.score, SCORE_DIGITS)} for hit in result.hits
            ],
            "abstain": result.abstain,
        }
        output.write(json.dumps(answer, ensure_ascii=False) + "\n")


def _evaluate(arguments: argparse.Namespace) -> int:
    queries = _labelled(arguments.queries)
    judged = judge(_knowledge_base(arguments), queries, k=arguments.k)
    overall, splits = compute_metrics(judged), metrics_by_split(judged)
    if arguments.json:
        document = {
            **overall.as_dict(),
            "splits": {name: metrics.as_dict() for name, metrics in splits.items()},
        }
        print(json.dumps(document))
    else:
        print(format_report(overall, splits))
    return 0


def _calibrate(arguments: argparse.Namespace) -> int:
    queries = _labelled(arguments.queries)
    if arguments.retriever == "hybrid" and not arguments.bedrock:
        from flexcord.kb.calibration import calibrate_hybrid

        hybrid = _hybrid(arguments.kb, arguments.language)
        result = calibrate_hybrid(hybrid, queries, min_answer_rate=arguments.min_answer_rate)
        settings, calibration = result.settings, result.abstaining
        print(f"fusion                     {settings.fusion}")
        print(f"lexical_weight             {settings.lexical_weight:.1f}")
        print(f"abstain_mix                {settings.abstain_mix:.2f}")
        if settings.abstain_model is not None:
            # The mix is then unused: the threshold applies to the model's probability.
            signal = settings.abstain_model.description
            print(f"abstain_signal             {signal} (cross-validated figures below)")
        print(f"mrr@10                     {result.ranking.mrr_at_10 or 0.0:.3f}")
        if arguments.save:
            target = index_path(arguments.kb, arguments.language, CALIBRATION_FILE_NAME)
            settings.save(
                target,
                embedder=hybrid.embedder.identity,
                tuned_on=arguments.queries.name,
                tuning_questions=len(queries),
            )
            print(f"wrote {target}")
    else:
        if arguments.save:
            raise ValueError("--save applies to the hybrid retriever (the lexical threshold is a constant)")
        # At a threshold of 0 only the decisions the threshold does not make are abstentions.
        judged = judge(_knowledge_base(arguments, threshold=0.0), queries)
        calibration = calibrate_threshold(judged, min_answer_rate=arguments.min_answer_rate)
    print(f"threshold                  {calibration.threshold:.4f}")
    print(f"in_scope_answer_rate       {calibration.in_scope_answer_rate:.3f}")
    print(f"out_of_scope_abstain_rate  {calibration.out_of_scope_abstain_rate:.3f}")
    return 0


def _index(arguments: argparse.Namespace) -> int:
    for language in article_languages(arguments.kb):
        print(f"wrote {save_index(arguments.kb, settings_for(language))}")
        if not arguments.lexical_only:
            from flexcord.kb.embedding import default_embedder
            from flexcord.kb.hybrid import save_vectors

            print(f"wrote {save_vectors(arguments.kb, default_embedder(), language=language)}")
    if arguments.queries:
        if arguments.lexical_only:
            raise ValueError("--queries calibrates the hybrid: it needs the vectors --lexical-only skips")
        calibration = argparse.Namespace(
            kb=arguments.kb,
            queries=arguments.queries,
            retriever="hybrid",
            bedrock=None,
            language=DEFAULT_LANGUAGE,
            min_answer_rate=CALIBRATION_MIN_ANSWER_RATE,
            save=True,
        )
        return _calibrate(calibration)
    return 0


def _hybrid(folder: Path, language: str) -> HybridKnowledgeBase:
    from flexcord.kb.embedding import default_embedder
    from flexcord.kb.hybrid import load_hybrid

    return load_hybrid(folder, default_embedder(), language=language)


def _labelled(path: Path) -> list[LabelledQuery]:
    with path.open(encoding="utf-8") as lines:
        return read_labelled_queries(lines, source=str(path))


if __name__ == "__main__":
    sys.exit(main())
