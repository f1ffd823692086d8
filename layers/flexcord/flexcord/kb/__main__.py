"""The knowledge base's command line: batch search, evaluation, calibration, saving an index.

    PYTHONPATH=layers/flexcord python -m flexcord.kb search --kb DIR --k 10 < queries.jsonl > results.jsonl
    PYTHONPATH=layers/flexcord python -m flexcord.kb eval --kb DIR --queries labelled.jsonl
    PYTHONPATH=layers/flexcord python -m flexcord.kb calibrate --kb DIR --queries tuning.jsonl
    PYTHONPATH=layers/flexcord python -m flexcord.kb index --kb DIR

``--kb`` is a folder of Markdown articles (default: the shipped ones). ``search`` reads
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
from pathlib import Path
from typing import TextIO

from flexcord.kb.articles import DEFAULT_ARTICLES_DIR, ArticleFormatError, load_articles
from flexcord.kb.index import INDEX_FILE_NAME, save_index
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
from flexcord.kb.retrieval import DEFAULT_ABSTAIN_BELOW, KnowledgeBase, LocalKnowledgeBase, plain_bm25

DEFAULT_K = 10
SCORE_DIGITS = 4


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        return int(arguments.run(arguments))
    except (ArticleFormatError, LabelledQueryError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flexcord.kb", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(required=True, metavar="command")

    search = commands.add_parser("search", help="search for each JSONL query on stdin, write JSONL results")
    _add_source_arguments(search)
    search.add_argument("--k", type=int, default=DEFAULT_K, help="results per query (default %(default)s)")
    search.add_argument("--input", type=Path, help="read queries from this file instead of stdin")
    search.set_defaults(run=_search)

    evaluate = commands.add_parser("eval", help="print retrieval and abstain metrics for labelled queries")
    _add_source_arguments(evaluate)
    evaluate.add_argument("--queries", type=Path, required=True, help="labelled queries (JSONL)")
    evaluate.add_argument("--k", type=int, default=DEFAULT_K, help="results per query (default %(default)s)")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    evaluate.set_defaults(run=_evaluate)

    calibrate = commands.add_parser("calibrate", help="choose the abstain threshold on labelled queries")
    _add_source_arguments(calibrate, threshold=False)
    calibrate.add_argument("--queries", type=Path, required=True, help="labelled tuning queries (JSONL)")
    calibrate.add_argument(
        "--min-answer-rate",
        type=float,
        default=CALIBRATION_MIN_ANSWER_RATE,
        help="in-scope share that must still be answered (default %(default)s)",
    )
    calibrate.set_defaults(run=_calibrate)

    index = commands.add_parser(
        "index", help=f"save the index of a folder as {INDEX_FILE_NAME} (for fast loading)"
    )
    index.add_argument("--kb", type=Path, default=DEFAULT_ARTICLES_DIR, help="folder of articles")
    index.add_argument("--out", type=Path, help=f"where to write it (default: DIR/{INDEX_FILE_NAME})")
    index.set_defaults(run=_index)
    return parser


def _add_source_arguments(parser: argparse.ArgumentParser, *, threshold: bool = True) -> None:
    parser.add_argument(
        "--kb", type=Path, default=DEFAULT_ARTICLES_DIR, help="folder of articles (default: the shipped ones)"
    )
    parser.add_argument(
        "--retriever",
        choices=("flexcord", "bm25"),
        default="flexcord",
        help="flexcord (default), or the plain BM25 baseline",
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
    if arguments.retriever == "bm25":
        baseline = plain_bm25(load_articles(arguments.kb))
        if chosen is not None:
            baseline.abstain_below = chosen
        return baseline
    return LocalKnowledgeBase.from_folder(
        arguments.kb, abstain_below=DEFAULT_ABSTAIN_BELOW if chosen is None else chosen
    )


def _search(arguments: argparse.Namespace) -> int:
    knowledge_base = _knowledge_base(arguments)
    if arguments.input:
        with arguments.input.open(encoding="utf-8") as lines:
            _search_lines(knowledge_base, lines, sys.stdout, k=arguments.k, source=str(arguments.input))
    else:
        _search_lines(knowledge_base, sys.stdin, sys.stdout, k=arguments.k, source="stdin")
    return 0


def _search_lines(
    knowledge_base: KnowledgeBase, lines: TextIO, output: TextIO, *, k: int, source: str
) -> None:
    for row in read_queries(lines, source=source):
        result = knowledge_base.search(str(row["query"]), k=k)
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
    # At a threshold of 0 only the decisions the threshold does not make are abstentions.
    judged = judge(_knowledge_base(arguments, threshold=0.0), _labelled(arguments.queries))
    calibration = calibrate_threshold(judged, min_answer_rate=arguments.min_answer_rate)
    print(f"threshold                  {calibration.threshold:.4f}")
    print(f"in_scope_answer_rate       {calibration.in_scope_answer_rate:.3f}")
    print(f"out_of_scope_abstain_rate  {calibration.out_of_scope_abstain_rate:.3f}")
    return 0


def _index(arguments: argparse.Namespace) -> int:
    path = save_index(arguments.kb, path=arguments.out)
    print(f"wrote {path}")
    return 0


def _labelled(path: Path) -> list[LabelledQuery]:
    with path.open(encoding="utf-8") as lines:
        return read_labelled_queries(lines, source=str(path))


if __name__ == "__main__":
    sys.exit(main())
