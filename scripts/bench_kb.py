"""Knowledge base figures: retrieval quality against a plain BM25 baseline, start-up time, query
latency over a thousand articles, and the size of the layers that carry it.

    .venv/bin/python scripts/bench_kb.py            (about two minutes; docs/knowledge-base.md has the output)

1. Quality, on the shipped tuning and holdout queries, for the plain BM25 baseline (Lucene's
   BM25 over title, tags and body as one field, with the same words, stopwords and stemmer),
   then adding one feature at a time up to the lexical retriever, then the hybrid the assistant
   uses. Each retriever is calibrated on the tuning queries (the lexical ones' threshold with
   ``calibrate_threshold``, the hybrid with ``calibrate_hybrid``), so the comparison is fair.
2. An audit of the synonym table against the holdout: phrases that only holdout queries use
   (in no tuning query, no article) could only have come from reading the holdout; the holdout
   figures without them are printed too.
3. Start-up of the assistant's knowledge base in fresh processes, with precompiled bytecode (as
   the layers ship): the hybrid (numpy, tokenizers, the embedding model, the saved index and
   vectors), the lexical one, and the lexical one with no saved index.
4. Query latency with 1,000 articles: 975 synthetic ones (random words drawn from the real
   articles' vocabulary, from a fixed seed) plus the 25 real ones, written to a temporary folder
   and loaded from it; 1,000 queries timed after a warm-up pass, and the same queries through
   ``python -m flexcord.kb search`` end to end.
5. The layers, built as ``sam build`` builds them (``--skip-layers`` to skip: it downloads the
   arm64 wheels): each layer's unzipped size, and each function's total against Lambda's 250 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "flexcord"
sys.path.insert(0, str(LAYER))

from flexcord.kb import line_classifier  # noqa: E402
from flexcord.kb.abstain import fit_abstain_model  # noqa: E402
from flexcord.kb.articles import DEFAULT_ARTICLES_DIR, Article, load_articles  # noqa: E402
from flexcord.kb.calibration import calibrate_hybrid  # noqa: E402
from flexcord.kb.embedding import default_embedder  # noqa: E402
from flexcord.kb.hybrid import HybridKnowledgeBase, load_hybrid, save_vectors  # noqa: E402
from flexcord.kb.index import FIELDED_SETTINGS, PLAIN_BM25_SETTINGS, Index, IndexSettings  # noqa: E402
from flexcord.kb.line_classifier import LineClassifier  # noqa: E402
from flexcord.kb.metrics import (  # noqa: E402
    LabelledQuery,
    Metrics,
    calibrate_threshold,
    compute_metrics,
    judge,
    read_labelled_queries,
)
from flexcord.kb.retrieval import (  # noqa: E402
    DEFAULT_ABSTAIN_BELOW,
    PLAIN_BM25_ABSTAIN_BELOW,
    LocalKnowledgeBase,
)
from flexcord.kb.stemmer import stem  # noqa: E402
from flexcord.kb.synonyms import DEFAULT_SYNONYMS_PATH, SynonymTable  # noqa: E402
from flexcord.kb.text import words  # noqa: E402

EVAL_DIR = LAYER / "flexcord" / "kb" / "eval"
SEED = 20_261_121
SYNTHETIC_ARTICLES = 975
TIMED_QUERIES = 1_000
#: Out-of-scope questions in the timed learned abstain model.
NEGATIVES = 1_000
MISSPELT = "my acount got hakced and my purchaces are gone"


@dataclass(frozen=True)
class Variant:
    name: str
    settings: IndexSettings
    correct_spelling: bool


VARIANTS = (
    Variant("plain BM25 (baseline)", PLAIN_BM25_SETTINGS, correct_spelling=False),
    Variant(
        "+ fields (BM25F)",
        IndexSettings(fields=FIELDED_SETTINGS.fields, synonyms=False),
        correct_spelling=False,
    ),
    Variant("+ synonym table", FIELDED_SETTINGS, correct_spelling=False),
    Variant("+ spelling = shipped", FIELDED_SETTINGS, correct_spelling=True),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=15, help="fresh processes per start-up figure")
    parser.add_argument("--skip-layers", action="store_true", help="do not build the layers (section 5)")
    arguments = parser.parse_args()

    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    articles = load_articles()
    tuning = _queries("tuning.jsonl")
    holdout = _queries("holdout.jsonl")
    print(f"Default KB: {len(articles)} articles; tuning {_describe(tuning)}; holdout {_describe(holdout)}")

    quality(articles, tuning, holdout)
    synonym_audit(articles, tuning, holdout)
    start_up(arguments.processes)
    latency(articles, tuning + holdout)
    if not arguments.skip_layers:
        layer_sizes()


# -- 1. quality ------------------------------------------------------------------------------


def quality(articles: list[Article], tuning: list[LabelledQuery], holdout: list[LabelledQuery]) -> None:
    print("\n1. Quality (threshold calibrated on tuning for each row; R = recall, MRR@10)")
    columns = f"{'R@1':>7}{'R@3':>7}{'MRR':>7}{'answered':>10}{'abstained':>11}{'threshold':>11}"
    header = f"  {'retriever':<24}{'set':<9}{columns}"
    print(header)
    for variant in VARIANTS:
        knowledge_base = LocalKnowledgeBase(
            Index.build(articles, variant.settings),
            abstain_below=0.0,
            correct_spelling=variant.correct_spelling,
        )
        threshold = calibrate_threshold(judge(knowledge_base, tuning)).threshold
        for name, queries in (("tuning", tuning), ("holdout", holdout)):
            knowledge_base.abstain_below = threshold
            print(
                f"  {variant.name:<24}{name:<9}"
                f"{_row(compute_metrics(judge(knowledge_base, queries)))}{threshold:>11.4f}"
            )
        shipped = {VARIANTS[0]: ("PLAIN_BM25_ABSTAIN_BELOW", PLAIN_BM25_ABSTAIN_BELOW)}.get(
            variant, ("DEFAULT_ABSTAIN_BELOW", DEFAULT_ABSTAIN_BELOW) if variant is VARIANTS[-1] else None
        )
        if shipped and abs(shipped[1] - threshold) > 1e-4:
            print(
                f"  NOTE: {shipped[0]} is {shipped[1]}, calibration now gives {threshold:.4f}: "
                "update retrieval.py"
            )
    hybrid = HybridKnowledgeBase.from_articles(articles, default_embedder())
    calibration = calibrate_hybrid(hybrid, tuning)
    hybrid = hybrid.with_settings(calibration.settings)
    settings = calibration.settings
    for name, queries in (("tuning", tuning), ("holdout", holdout)):
        print(
            f"  {'hybrid = assistant':<24}{name:<9}"
            f"{_row(compute_metrics(judge(hybrid, queries)))}{settings.abstain_below:>11.4f}"
        )
    signal = (
        "a learned model's probability"
        if settings.abstain_model is not None
        else f"{settings.abstain_mix:.2f} x top cosine + {1 - settings.abstain_mix:.2f} x top lexical share"
    )
    print(
        f"  hybrid settings calibrated on tuning: {settings.fusion} fusion, lexical weight "
        f"{settings.lexical_weight:.1f}, abstain signal {signal}"
    )
    print("  targets on holdout: R@3 >= 0.93, MRR@10 >= 0.87, answered >= 0.95, abstained >= 0.80")
    # How well the shipped score separates on the holdout whatever the threshold: printed to
    # explain the figures, never used to set the threshold (that would be tuning on the holdout).
    knowledge_base.abstain_below = 0.0
    own = calibrate_threshold(judge(knowledge_base, holdout), min_answer_rate=0.95)
    print(
        f"  diagnostic only, not used: the holdout's own best threshold for >= 95% answered would be "
        f"{own.threshold:.4f}\n    (answered {own.in_scope_answer_rate:.3f}, "
        f"abstained {own.out_of_scope_abstain_rate:.3f})"
    )


def _row(metrics: Metrics) -> str:
    values = (
        metrics.recall_at_1,
        metrics.recall_at_3,
        metrics.mrr_at_10,
        metrics.in_scope_answer_rate,
        metrics.out_of_scope_abstain_rate,
    )
    widths = (7, 7, 7, 10, 11)
    return "".join(
        f"{'n/a' if value is None else f'{value:.3f}':>{width}}"
        for value, width in zip(values, widths, strict=True)
    )


# -- 2. synonym table audit ------------------------------------------------------------------


def synonym_audit(articles: list[Article], tuning: list[LabelledQuery], holdout: list[LabelledQuery]) -> None:
    print("\n2. Synonym table audit against the holdout")
    table = SynonymTable.load()
    article_stems = {stem(word) for article in articles for word in _article_words(article)}
    tuning_phrases = {phrase for query in tuning for phrase in table.phrases_in(words(query.query))}
    # A phrase made of the articles' own words (often inside a longer phrase there: "Trailblazer
    # Pass", "push notifications") or used by a tuning query had a source other than the holdout.
    holdout_only = {
        phrase
        for query in holdout
        for phrase in table.phrases_in(words(query.query))
        if phrase not in tuning_phrases and not set(phrase) <= article_stems
    }
    print(
        f"  phrases in the table: {len(table.phrases)}; matched by holdout queries only, "
        f"and not made of article words: {len(holdout_only)}"
    )
    if not holdout_only:
        return
    print(f"    {', '.join(' '.join(phrase) for phrase in sorted(holdout_only))}")
    groups = []
    for line in DEFAULT_SYNONYMS_PATH.read_text(encoding="utf-8").splitlines():
        phrases = [phrase.strip() for phrase in line.split("#", 1)[0].split("|") if phrase.strip()]
        kept = [
            phrase for phrase in phrases if tuple(stem(word) for word in words(phrase)) not in holdout_only
        ]
        if len(kept) >= 2:
            groups.append(kept)
    knowledge_base = LocalKnowledgeBase(
        Index.build(articles, FIELDED_SETTINGS, synonyms=SynonymTable(groups)), abstain_below=0.0
    )
    threshold = calibrate_threshold(judge(knowledge_base, tuning)).threshold
    knowledge_base.abstain_below = threshold
    metrics = compute_metrics(judge(knowledge_base, holdout))
    print(f"  {'without them':<24}{'holdout':<9}{_row(metrics)}{threshold:>11.4f}")


def _article_words(article: Article) -> list[str]:
    return words(f"{article.title}\n{' , '.join(article.tags)}\n{article.body}")


# -- 3. start-up -----------------------------------------------------------------------------

_START_UP_PROBE = r"""
import json, os, sys, time
if sys.argv[3] == "preload":  # what a Lambda function has imported before it needs the KB
    import dataclasses, hashlib, heapq, json, pathlib, re, typing, unicodedata
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from flexcord.kb import load_knowledge_base
t1 = time.perf_counter()
kb = load_knowledge_base(Path(sys.argv[2]))
t2 = time.perf_counter()
kb.search("raid pass gone??", k=3)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first_query": t3 - t2, "kind": type(kb).__name__}))
"""


def start_up(processes: int) -> None:
    print(f"\n3. Default KB start-up ({processes} fresh processes each, precompiled bytecode), milliseconds")
    with tempfile.TemporaryDirectory(prefix="flexcord-kb-") as scratch:
        environment = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(scratch) / "pycache")}
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
        # Precompile what the probes import, as the layers ship it: flexcord.kb, numpy, tokenizers.
        import numpy
        import tokenizers

        for package in (
            LAYER / "flexcord" / "kb",
            Path(numpy.__file__).parent,
            Path(tokenizers.__file__).parent,
        ):
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(package)], env=environment, check=True
            )
        unsaved = Path(scratch) / "articles"
        shutil.copytree(
            DEFAULT_ARTICLES_DIR, unsaved, ignore=shutil.ignore_patterns("index*.json", "vectors*")
        )
        # The shipped folder with vectors from the embedder in use (KB_EMBEDDER): the shipped ones
        # are the static model's, and another model's start would embed every article again.
        indexed = Path(scratch) / "indexed"
        shutil.copytree(DEFAULT_ARTICLES_DIR, indexed)
        save_vectors(indexed, default_embedder())
        lexical = {**environment, "KB_RETRIEVER": "lexical"}
        hybrid = [_probe(environment, indexed, preload=True) for _ in range(processes)]
        shipped = [_probe(lexical, DEFAULT_ARTICLES_DIR, preload=False) for _ in range(processes)]
        built = [_probe(lexical, unsaved, preload=True) for _ in range(processes)]
    assert {run["kind"] for run in hybrid} == {"HybridKnowledgeBase"}, hybrid[0]
    rows = (
        ("hybrid (the assistant): import flexcord.kb", hybrid, "import"),
        ("  load: numpy, tokenizers, model, index, vectors", hybrid, "load"),
        ("  first query", hybrid, "first_query"),
        ("  the three together", hybrid, "total"),
        ("lexical: import flexcord.kb, fresh interpreter", shipped, "import"),
        ("  load the shipped KB (saved index)", shipped, "load"),
        ("  build it instead (no saved index)", built, "load"),
        ("  first query", shipped, "first_query"),
    )
    for run in hybrid:
        run["total"] = run["import"] + run["load"] + run["first_query"]
    print(f"  {'':<50}{'median':>9}{'p95':>9}")
    for label, runs, key in rows:
        values = sorted(float(run[key]) * 1000 for run in runs)
        print(f"  {label:<50}{statistics.median(values):>9.1f}{_percentile(values, 95):>9.1f}")
    build_times = []
    articles = load_articles()
    for _ in range(20):
        started = time.perf_counter()
        Index.build(articles)
        build_times.append((time.perf_counter() - started) * 1000)
    build_times.sort()
    print(
        f"  {'lexical index build, in a warm process':<50}"
        f"{statistics.median(build_times):>9.1f}{_percentile(build_times, 95):>9.1f}"
    )


def _probe(environment: dict[str, str], folder: Path, *, preload: bool) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-c", _START_UP_PROBE, str(LAYER), str(folder), "preload" if preload else "-"],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


# -- 4. latency ------------------------------------------------------------------------------


def latency(real_articles: list[Article], labelled: Sequence[LabelledQuery]) -> None:
    print(f"\n4. Query latency, {len(real_articles) + SYNTHETIC_ARTICLES} articles, milliseconds")
    rng = random.Random(SEED)  # noqa: S311 - reproducible test data, not secrets
    with tempfile.TemporaryDirectory(prefix="flexcord-kb-1000-") as scratch:
        folder = Path(scratch)
        write_synthetic_articles(folder, real_articles, rng)
        for article in real_articles:
            shutil.copy(DEFAULT_ARTICLES_DIR / f"{article.stem}.md", folder)
        started = time.perf_counter()
        loaded = load_articles(folder)
        knowledge_base = LocalKnowledgeBase.from_folder(folder)
        built = time.perf_counter() - started
        print(f"  load {len(loaded)} articles from the folder and build the index: {built * 1000:.0f} ms")
        started = time.perf_counter()
        hybrid = load_hybrid(folder, default_embedder())
        embedded = time.perf_counter() - started
        print(
            f"  the same, with the article vectors ({len(hybrid.vectors.chunks)} chunks embedded): "
            f"{embedded * 1000:.0f} ms (python -m flexcord.kb index saves both)"
        )

        queries = timed_queries(labelled, rng)
        for label, query in (
            ("first query", queries[0]),
            ("first misspelt query (spelling index)", MISSPELT),
        ):
            started = time.perf_counter()
            knowledge_base.search(query)
            print(f"  {label}: {(time.perf_counter() - started) * 1000:.1f} ms")
        baseline = LocalKnowledgeBase(Index.build(loaded, PLAIN_BM25_SETTINGS), correct_spelling=False)
        print(f"  {len(queries)} queries after a warm-up pass:{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}")
        rows = (
            ("hybrid (the assistant)", hybrid.search),
            (f"hybrid, learned abstain ({NEGATIVES:,} neg.)", with_learned_abstain(hybrid, labelled).search),
            (
                "  the same + line classifier",
                with_learned_abstain(hybrid, labelled, classifier=random_line_classifier(hybrid)).search,
            ),
            ("lexical (BM25F)", knowledge_base.search),
            ("plain BM25", baseline.search),
        )
        for label, search in rows:
            values = _time_queries(search, queries)
            print(
                f"  {label:<38}{_percentile(values, 50):>8.2f}{_percentile(values, 95):>8.2f}"
                f"{_percentile(values, 99):>8.2f}{values[-1]:>8.2f}"
            )
        _command_line(folder, queries)


def with_learned_abstain(
    hybrid: HybridKnowledgeBase,
    labelled: Sequence[LabelledQuery],
    *,
    classifier: LineClassifier | None = None,
) -> HybridKnowledgeBase:
    """The hybrid with an abstain model of ``NEGATIVES`` out-of-scope questions, more than any
    public tuning half has: only its cost is measured (the negatives are random directions)."""
    in_scope = [query.query for query in labelled if query.in_scope]
    signals = [hybrid.signals(query) for query in in_scope]
    negatives = np.random.default_rng(SEED).normal(size=(NEGATIVES, hybrid.embedder.dimension))
    negatives /= np.linalg.norm(negatives, axis=1, keepdims=True)
    model = fit_abstain_model(
        [float(signal.dense.max()) for signal in signals] + [0.3] * NEGATIVES,
        [float(signal.lexical.max()) for signal in signals] + [0.1] * NEGATIVES,
        np.vstack([np.array([signal.query_vector for signal in signals]), negatives]),
        [True] * len(signals) + [False] * NEGATIVES,
        classifier,
    )
    return hybrid.with_settings(replace(hybrid.settings, abstain_model=model))


def random_line_classifier(hybrid: HybridKnowledgeBase) -> LineClassifier:
    """A line classifier of the shape calibration would train for these articles, with random
    weights: its cost depends on its shape only (training one on 1,000 articles takes minutes)."""
    rng = np.random.default_rng(SEED)
    width, hidden, classes = hybrid.embedder.dimension, line_classifier.HIDDEN, len(hybrid.articles)
    return LineClassifier(
        w1=rng.normal(0, width**-0.5, (width, hidden)),
        b1=np.zeros(hidden),
        w2=rng.normal(0, hidden**-0.5, (hidden, classes)),
        b2=np.zeros(classes),
        hidden_means=np.abs(rng.normal(size=(classes, hidden))),
        hidden_precision=np.eye(hidden),
    )


def write_synthetic_articles(folder: Path, real_articles: list[Article], rng: random.Random) -> None:
    """Articles of random words drawn with the real articles' word frequencies: their terms are
    as common as real ones, so postings are as long as a real thousand-article KB's would be."""
    body_words = [word for article in real_articles for word in words(article.body)]
    title_words = [word for article in real_articles for word in words(article.title) if len(word) > 3]
    tags = sorted({tag for article in real_articles for tag in article.tags})
    for number in range(SYNTHETIC_ARTICLES):
        title = " ".join(rng.choice(title_words) for _ in range(rng.randint(3, 6))).capitalize()
        sentences = []
        remaining = rng.randint(150, 400)
        while remaining > 0:
            length = min(remaining, rng.randint(8, 16))
            sentences.append(" ".join(rng.choice(body_words) for _ in range(length)).capitalize() + ".")
            remaining -= length
        stem = f"synthetic-{number:04d}"
        (folder / f"{stem}.md").write_text(
            "---\n"
            f"title: {title}\n"
            f"url: https://help.example-game.com/articles/{stem}\n"
            f"tags: [{', '.join(rng.sample(tags, rng.randint(3, 5)))}]\n"
            "---\n\n"
            + "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))
            + "\n",
            encoding="utf-8",
        )


def timed_queries(labelled: Sequence[LabelledQuery], rng: random.Random) -> list[str]:
    """Every labelled query once, then queries of 2 to 10 words mixed from theirs, to 1,000."""
    queries = [query.query for query in labelled]
    vocabulary = [word for query in queries for word in query.split()]
    while len(queries) < TIMED_QUERIES:
        queries.append(" ".join(rng.choice(vocabulary) for _ in range(rng.randint(2, 10))))
    return queries[:TIMED_QUERIES]


def _time_queries(search: Callable[[str, int], object], queries: list[str]) -> list[float]:
    for query in queries:
        search(query, 10)
    values = []
    for query in queries:
        started = time.perf_counter()
        search(query, 10)
        values.append((time.perf_counter() - started) * 1000)
    return sorted(values)


def _command_line(folder: Path, queries: list[str]) -> None:
    lines = "".join(json.dumps({"id": number, "query": query}) + "\n" for number, query in enumerate(queries))
    environment = {**os.environ, "PYTHONPATH": str(LAYER)}
    for name in ("index.json", "vectors.npz"):  # as a brand's new folder would be, before `index`
        (folder / name).unlink(missing_ok=True)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "flexcord.kb", "search", "--kb", str(folder), "--k", "10"],
        input=lines,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    answers = [json.loads(line) for line in completed.stdout.splitlines()]
    abstained = sum(answer["abstain"] for answer in answers)
    print(
        f"  python -m flexcord.kb search --kb <1,000 articles> --k 10: {len(answers)} result lines "
        f"({abstained} abstain) in {elapsed:.1f} s, start-up, index build and embedding included"
    )


# -- 5. layers -------------------------------------------------------------------------------

#: Lambda's limit for a function's package and all its layers, unzipped (bytes, not MiB).
UNZIPPED_LIMIT = 250_000_000


def layer_sizes() -> None:
    print("\n5. Layers, built for arm64 as sam build builds them (unzipped, MB = 10^6 bytes)")
    with tempfile.TemporaryDirectory(prefix="flexcord-layers-") as scratch:
        sizes = {}
        for layer, folder in (
            ("FlexcordLayer", "flexcord"),
            ("TwilioLayer", "twilio"),
            ("KnowledgeLayer", "knowledge"),
        ):
            target = Path(scratch) / layer
            subprocess.run(
                [
                    "make",
                    "-s",
                    "-C",
                    str(ROOT / "layers" / folder),
                    f"build-{layer}",
                    f"ARTIFACTS_DIR={target}",
                    f"PYTHON={sys.executable}",
                ],
                check=True,
                capture_output=True,
            )
            sizes[layer] = _tree_size(target)
            print(f"  {layer:<40}{sizes[layer] / 1e6:>8.1f} MB")
        model = Path(scratch) / "KnowledgeLayer" / "python" / "flexcord_embedding_model"
        print(f"  {'  of which the embedding model':<40}{_tree_size(model) / 1e6:>8.1f} MB")
    handlers = max(_tree_size(path) for path in (ROOT / "functions").iterdir() if path.is_dir())
    total = sum(sizes.values()) + handlers
    print(
        f"  worker or chatbot function with its three layers: {total / 1e6:.1f} MB of "
        f"{UNZIPPED_LIMIT / 1e6:.0f} MB ({'within' if total < UNZIPPED_LIMIT else 'OVER'} the limit); "
        "the conversation events function carries FlexcordLayer and TwilioLayer, the others "
        "FlexcordLayer only"
    )


def _tree_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


# -- helpers ---------------------------------------------------------------------------------


def _queries(name: str) -> list[LabelledQuery]:
    with (EVAL_DIR / name).open(encoding="utf-8") as lines:
        return read_labelled_queries(lines, source=name)


def _describe(queries: list[LabelledQuery]) -> str:
    in_scope = sum(query.in_scope for query in queries)
    return f"{in_scope} in scope + {len(queries) - in_scope} out of scope"


def _percentile(sorted_values: list[float], percent: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, round(percent / 100 * (len(sorted_values) - 1)))]


if __name__ == "__main__":
    main()
