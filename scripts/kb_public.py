"""Public evaluation data for the knowledge base: collections the team did not write, turned into
help-centre articles and labelled questions, and split by article into a tuning and a report half.

The files are shipped, byte for byte, in ``benchmarks/kb_public/`` (``SOURCES.md`` there gives
each one's repository, commit, checksum and licence; ``scripts/fetch_kb_public_data.py``
downloads them again). This module is their only reader: ``scripts/bench_kb_public.py`` evaluates
the retriever on them, and later retrievers are compared on exactly the same articles and splits.
It lives in ``scripts/`` next to the benchmarks that use it, which lint, type checks and the tests'
import path already cover; ``benchmarks/`` holds data only.

The collections (``load_collections``):

- **StackFAQ** (Karan & Šnajder 2018): 125 Stack Exchange threads about web applications. One
  article per thread: title = the thread's question, body = its answers. The questions are the
  human rephrasings of the thread's question (the ``"*"`` placeholders and the one null are
  skipped).
- **CLINC150** (Larson et al. 2019): 150 intents. One article per intent: title = the intent's
  name made readable, body = its 100 ``train`` utterances, one per line (example questions, not
  prose). The questions are the 4,500 in-scope ``test`` utterances. Its 1,000 ``oos_test``
  utterances are the off-topic questions, for every collection, and its 200 ``oos_train`` and
  ``oos_val`` ones (none of them among ``oos_test``'s) are further off-topic questions for every
  collection's tuning half only: CLINC's own split gives them to training and tuning.
- **Banking77** (Casanueva et al. 2020): 77 intents of one bank's customers. One article per
  intent from ``train.csv``, as for CLINC150; the questions are ``test.csv``. Every fourth intent
  of each half gets no article: its questions are *near-domain* out of scope, questions about the
  same product that no article answers. (A quarter rather than a half keeps 59 of the 77 articles,
  so the ranking is still over most of the collection.)

The split (``split_by_article``), the same for every collection:

1. The topics (threads or intents) are sorted by id and shuffled with ``random.Random(SEED)``;
   the first half (rounded up) is the **tuning** half, the rest the **report** half. A question
   belongs to the half of its topic, so no article's questions are in both halves.
2. The knowledge base indexes the articles of **both** halves, as a real help centre has them all.
   Thresholds (and, later, weights) are chosen on the tuning half's questions only; figures are
   reported on the report half's.
3. The off-topic questions are shuffled with ``random.Random(SEED + 1)`` and cut in half the same
   way: one half joins the tuning questions, the other the report questions. The tuning-only
   off-topic questions join the tuning half.
4. Banking77 only: within each half, in its shuffled order, every fourth topic (positions 4, 8,
   12, ...) has no article; its questions stay in their half, labelled near-domain.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "layers" / "flexcord"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from flexcord.kb.articles import Article  # noqa: E402
from flexcord.kb.metrics import LabelledQuery  # noqa: E402

DATA_DIR = ROOT / "benchmarks" / "kb_public"
SEED = 10

#: The ``split`` of a labelled question: what kind of question it is.
IN_SCOPE = "in scope"
OFF_TOPIC = "off-topic"
NEAR_DOMAIN = "near-domain"

TUNING = "tuning"
REPORT = "report"


# -- the shipped files -----------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFile:
    """One shipped file: where it came from, and what it must hash to."""

    local: str  # path under DATA_DIR
    repository: str  # owner/name on GitHub
    commit: str
    path: str  # path in the repository
    sha256: str
    size: int

    @property
    def url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.repository}/{self.commit}/{self.path}"


CLINC_REPOSITORY = ("clinc/oos-eval", "828f8093932c8fe6ca7936c3d2e52903b1c523de")
STACKFAQ_REPOSITORY = ("ML-Recipes/BERT-FAQ", "3c184030c1819b462e29f665465ab4968657440e")
BANKING_REPOSITORY = ("PolyAI-LDN/task-specific-datasets", "57ec275d8078af65b7731c2a98be812d844a6d6b")

SOURCE_FILES = (
    SourceFile(
        "clinc150/data_full.json",
        *CLINC_REPOSITORY,
        "data/data_full.json",
        "36923c3705a59e08fe9c3883d8bc2dd966ef93e22cb78ac41171782a698d56e0",
        2_495_390,
    ),
    SourceFile(
        "clinc150/LICENSE",
        *CLINC_REPOSITORY,
        "LICENSE",
        "e6bc9e9c474700b708f568bac9e5a8a9bcb2b1dad53442f5ba449fcb848b8e76",
        19_467,
    ),
    SourceFile(
        "stackfaq/stackExchange-FAQ.json",
        *STACKFAQ_REPOSITORY,
        "data/StackFAQ/stackExchange-FAQ.json",
        "0ae2af4f8edae91f2dd37c557e2468d412b21d63f534ddc461118434f066f075",
        472_587,
    ),
    SourceFile(
        "stackfaq/README.txt",
        *STACKFAQ_REPOSITORY,
        "data/StackFAQ/README.txt",
        "a47466e701c33a0bdb2701ca422f0d29f42be1ffdcbb15915396e39c756dcfa1",
        1_046,
    ),
    SourceFile(
        "stackfaq/LICENSE",
        *STACKFAQ_REPOSITORY,
        "LICENSE",
        "2ae7134e37c6d5f79c36188874883b02a9c7c06970f6f1ab5d7a3f1ed2fc720c",
        1_067,
    ),
    SourceFile(
        "banking77/train.csv",
        *BANKING_REPOSITORY,
        "banking_data/train.csv",
        "b06e26ac675513959a63135f11b94ea7786ed02da65db93a5650d8838cbc664b",
        839_073,
    ),
    SourceFile(
        "banking77/test.csv",
        *BANKING_REPOSITORY,
        "banking_data/test.csv",
        "d12d6e3bc4c3103966ae786dc435913c0c563dfa328f5a3646d0e62cfeeb474d",
        239_961,
    ),
    SourceFile(
        "banking77/categories.json",
        *BANKING_REPOSITORY,
        "banking_data/categories.json",
        "53261da888122daf2d120d925458631d9619e15d82e56052e7a42e535ce32b63",
        2_036,
    ),
    SourceFile(
        "banking77/LICENSE",
        *BANKING_REPOSITORY,
        "LICENSE",
        "7e7170e3cebf88a9f60c7b8421418323c09304da1af4d5e90f4da1dc1c8a2661",
        18_650,
    ),
)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_files(folder: Path = DATA_DIR) -> list[str]:
    """What is wrong with the files in ``folder`` (missing, or not the recorded bytes); empty if
    nothing is."""
    problems = []
    for source in SOURCE_FILES:
        path = folder / source.local
        if not path.is_file():
            problems.append(f"{source.local}: missing")
        elif (digest := sha256_of(path)) != source.sha256:
            problems.append(f"{source.local}: sha256 {digest}, expected {source.sha256}")
    return problems


# -- collections -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    """What becomes one article: a StackFAQ thread or an intent, with the questions it answers."""

    id: str
    title: str
    body: str
    questions: tuple[str, ...]

    def article(self) -> Article:
        return Article(stem=self.id, title=self.title, url="", tags=(), body=self.body)


@dataclass(frozen=True)
class Collection:
    name: str
    description: str
    topics: tuple[Topic, ...]
    off_topic: tuple[str, ...]
    #: Off-topic questions for the tuning half only, after its share of ``off_topic``.
    tuning_off_topic: tuple[str, ...] = ()
    #: Within each half, every ``hold_out_every``-th topic gets no article (None: all get one).
    hold_out_every: int | None = None

    def sliced(self, topics: int, off_topic: int) -> Collection:
        """The first ``topics`` topics (by id) and ``off_topic`` off-topic questions: for tests."""
        return replace(
            self,
            topics=tuple(sorted(self.topics, key=lambda topic: topic.id)[:topics]),
            off_topic=self.off_topic[:off_topic],
            # in CLINC150's proportion: 200 tuning-only questions to 1,000
            tuning_off_topic=self.tuning_off_topic[: off_topic // 5],
        )


def one_line(text: str) -> str:
    """An utterance on one line (one of Banking77's training questions has a line break)."""
    return " ".join(text.split())


def readable(intent: str) -> str:
    """An intent's name as a title: ``card_payment_fee_charged`` -> ``Card payment fee charged``."""
    return intent.replace("_", " ").strip().capitalize()


def load_clinc150(folder: Path = DATA_DIR) -> Collection:
    data: dict[str, list[list[str]]] = json.loads(
        (folder / "clinc150" / "data_full.json").read_text(encoding="utf-8")
    )
    examples: dict[str, list[str]] = {}
    for text, intent in data["train"]:
        examples.setdefault(intent, []).append(one_line(text))
    questions: dict[str, list[str]] = {intent: [] for intent in examples}
    for text, intent in data["test"]:
        questions[intent].append(one_line(text))
    topics = tuple(
        Topic(id=intent, title=readable(intent), body="\n".join(examples[intent]), questions=tuple(asked))
        for intent, asked in sorted(questions.items())
    )
    return Collection(
        name="CLINC150",
        description="150 intents of a general assistant; articles are 100 example questions each",
        topics=topics,
        # oos_test: 1,000 real questions that none of the 150 intents covers
        off_topic=tuple(text for text, _ in data["oos_test"]),
        # oos_train and oos_val: 200 more, for tuning only (none is also in oos_test)
        tuning_off_topic=tuple(one_line(text) for text, _ in data["oos_train"] + data["oos_val"]),
    )


def load_stackfaq(folder: Path = DATA_DIR) -> Collection:
    document = json.loads((folder / "stackfaq" / "stackExchange-FAQ.json").read_text(encoding="utf-8"))
    topics = []
    for number, thread in enumerate(document["root"]["qapair"]):
        answers = thread["answer"] if isinstance(thread["answer"], list) else [thread["answer"]]
        rephrasings = thread["rephr"] if isinstance(thread["rephr"], list) else [thread["rephr"]]
        topics.append(
            Topic(
                id=f"stackfaq-{number:03d}",
                title=thread["question"].strip(),
                body="\n\n".join(answer.strip() for answer in answers if answer),
                questions=tuple(
                    text.strip()
                    for text in rephrasings
                    if isinstance(text, str) and text.strip() and text.strip() != "*"
                ),
            )
        )
    return Collection(
        name="StackFAQ",
        description="125 Stack Exchange threads about web apps; questions are human rephrasings",
        topics=tuple(topics),
        off_topic=(),
    )


def load_banking77(folder: Path = DATA_DIR) -> Collection:
    categories: list[str] = json.loads((folder / "banking77" / "categories.json").read_text(encoding="utf-8"))
    examples: dict[str, list[str]] = {category: [] for category in categories}
    questions: dict[str, list[str]] = {category: [] for category in categories}
    for name, rows in (("train.csv", examples), ("test.csv", questions)):
        with (folder / "banking77" / name).open(encoding="utf-8", newline="") as lines:
            for row in csv.DictReader(lines):
                rows[row["category"]].append(one_line(row["text"]))
    topics = tuple(
        Topic(
            id=category,
            title=readable(category),
            body="\n".join(examples[category]),
            questions=tuple(questions[category]),
        )
        for category in sorted(categories)
    )
    return Collection(
        name="Banking77",
        description="77 intents of one bank's customers; articles are its training questions",
        topics=topics,
        off_topic=(),
        hold_out_every=4,
    )


def load_collections(folder: Path = DATA_DIR) -> list[Collection]:
    """StackFAQ, CLINC150 and Banking77; CLINC150's out-of-scope questions are every one's
    off-topic ones."""
    clinc = load_clinc150(folder)
    return [
        replace(collection, off_topic=clinc.off_topic, tuning_off_topic=clinc.tuning_off_topic)
        for collection in (load_stackfaq(folder), clinc, load_banking77(folder))
    ]


def collections_named(names: Sequence[str] | None, folder: Path = DATA_DIR) -> list[Collection]:
    """The collections with these names, in ``load_collections``' order (all of them for none);
    SystemExit naming the ones that do not exist."""
    collections = load_collections(folder)
    unknown = sorted(set(names or ()) - {collection.name for collection in collections})
    if unknown:
        known = ", ".join(collection.name for collection in collections)
        raise SystemExit(f"no collection named {', '.join(unknown)} (there are {known})")
    return [collection for collection in collections if not names or collection.name in names]


# -- the split -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Half:
    name: str  # TUNING or REPORT
    #: The topics whose questions are in this half, with or without an article.
    topics: frozenset[str]
    #: The topics of this half that have no article (near-domain questions).
    held_out: frozenset[str]
    #: In-scope, near-domain and off-topic questions; ``split`` says which.
    queries: tuple[LabelledQuery, ...]

    def of_kind(self, kind: str) -> list[LabelledQuery]:
        return [query for query in self.queries if query.split == kind]


@dataclass(frozen=True)
class Benchmark:
    collection: Collection
    #: What the knowledge base indexes: every topic of both halves that has an article.
    articles: tuple[Article, ...]
    tuning: Half
    report: Half

    @property
    def halves(self) -> tuple[Half, Half]:
        return self.tuning, self.report


def split_by_article(collection: Collection, seed: int = SEED) -> Benchmark:
    """The collection's articles and its questions in a tuning and a report half (module docstring)."""
    order = sorted(topic.id for topic in collection.topics)
    random.Random(seed).shuffle(order)  # noqa: S311 - a reproducible split, not a secret
    cut = (len(order) + 1) // 2
    halves = {TUNING: order[:cut], REPORT: order[cut:]}
    every = collection.hold_out_every
    held_out = {
        name: [topic for position, topic in enumerate(ids, start=1) if every and position % every == 0]
        for name, ids in halves.items()
    }

    off_topic = list(range(len(collection.off_topic)))
    random.Random(seed + 1).shuffle(off_topic)  # noqa: S311
    off_cut = (len(off_topic) + 1) // 2
    off_topic_halves = {TUNING: sorted(off_topic[:off_cut]), REPORT: sorted(off_topic[off_cut:])}

    by_id = {topic.id: topic for topic in collection.topics}
    result = {}
    for name, ids in halves.items():
        hidden = frozenset(held_out[name])
        queries = [
            LabelledQuery(
                id=f"{topic_id}:{number}",
                query=text,
                relevant=frozenset() if topic_id in hidden else frozenset({topic_id}),
                split=NEAR_DOMAIN if topic_id in hidden else IN_SCOPE,
            )
            for topic_id in sorted(ids)
            for number, text in enumerate(by_id[topic_id].questions)
        ]
        queries.extend(
            LabelledQuery(
                id=f"off-topic:{number}",
                query=collection.off_topic[number],
                relevant=frozenset(),
                split=OFF_TOPIC,
            )
            for number in off_topic_halves[name]
        )
        if name == TUNING:
            queries.extend(
                LabelledQuery(
                    id=f"off-topic-tuning:{number}", query=text, relevant=frozenset(), split=OFF_TOPIC
                )
                for number, text in enumerate(collection.tuning_off_topic)
            )
        result[name] = Half(name=name, topics=frozenset(ids), held_out=hidden, queries=tuple(queries))

    hidden_everywhere = result[TUNING].held_out | result[REPORT].held_out
    articles = tuple(
        topic.article()
        for topic in sorted(collection.topics, key=lambda topic: topic.id)
        if topic.id not in hidden_everywhere
    )
    return Benchmark(collection=collection, articles=articles, tuning=result[TUNING], report=result[REPORT])
