"""An Amazon Bedrock Knowledge Base behind the same ``KnowledgeBase`` interface (off by default).

Bedrock indexes the same Markdown articles (uploaded to S3, or crawled from the help centre)
with an embedding model, and its ``Retrieve`` API returns scored chunks. This adapter turns them
into hits on whole articles: a chunk's article is named by its ``stem`` metadata attribute when
there is one (``metadata_sidecar`` writes it), else by the last part of its S3 key or URL
without the extension, so ``s3://bucket/kb/raids-and-raid-passes.md`` and
``https://help.example-game.com/articles/raids-and-raid-passes`` are both the
``raids-and-raid-passes`` article. An article's best chunk gives its score.

boto3 is imported on the first search, not at import: the local knowledge base is the default,
and a Lambda that never asks Bedrock should not pay for boto3. When Bedrock cannot be reached
the search abstains (the member is offered a person) and the error is logged.

Bedrock's scores are not on the local retriever's scale, so the abstain threshold must be
calibrated on its own results: ``python -m flexcord.kb calibrate --bedrock ID --queries FILE``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

from flexcord.kb.articles import Article
from flexcord.kb.retrieval import Hit, SearchResult

logger = logging.getLogger(__name__)

#: A placeholder, not a calibration: no Bedrock knowledge base was available to measure one.
DEFAULT_BEDROCK_ABSTAIN_BELOW = 0.5
#: Chunks asked for per article wanted: long articles are split into several chunks.
CHUNKS_PER_ARTICLE = 3
#: The most results one Retrieve call returns.
MAX_RESULTS = 100
#: The longest query text Retrieve accepts.
MAX_QUERY_CHARS = 20_000

# Where each kind of data source keeps a document's address in a result's location.
_LOCATION_FIELDS = {
    "S3": ("s3Location", "uri"),
    "WEB": ("webLocation", "url"),
    "CONFLUENCE": ("confluenceLocation", "url"),
    "SALESFORCE": ("salesforceLocation", "url"),
    "SHAREPOINT": ("sharePointLocation", "url"),
    "CUSTOM": ("customDocumentLocation", "id"),
}
_SOURCE_URI_ATTRIBUTE = "x-amz-bedrock-kb-source-uri"
_DOCUMENT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".html", ".htm", ".pdf"})


class RetrieveClient(Protocol):
    """The part of boto3's ``bedrock-agent-runtime`` client this adapter uses."""

    def retrieve(self, **kwargs: Any) -> Mapping[str, Any]: ...


class BedrockKnowledgeBase:
    """Searches a Bedrock knowledge base; ``articles`` (by stem) supply titles, URLs and snippets
    when the same articles are also on disk, else they come from the chunk's metadata."""

    def __init__(
        self,
        knowledge_base_id: str,
        client: RetrieveClient | None = None,
        *,
        abstain_below: float = DEFAULT_BEDROCK_ABSTAIN_BELOW,
        articles: Mapping[str, Article] | Iterable[Article] | None = None,
    ) -> None:
        self.knowledge_base_id = knowledge_base_id
        self.abstain_below = abstain_below
        if client is not None:
            self._client = client
        if articles is None:
            self._articles: dict[str, Article] = {}
        elif isinstance(articles, Mapping):
            self._articles = dict(articles)
        else:
            self._articles = {article.stem: article for article in articles}

    @cached_property
    def _client(self) -> RetrieveClient:
        import boto3

        client: RetrieveClient = boto3.client("bedrock-agent-runtime")
        return client

    def search(self, query: str, k: int = 10, *, locale: str | None = None) -> SearchResult:
        """``locale`` is ignored: one Bedrock knowledge base searches all its documents."""
        text = query.strip()[:MAX_QUERY_CHARS]
        if not text or k <= 0:
            return SearchResult(hits=[], abstain=True)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._client.retrieve(
                knowledgeBaseId=self.knowledge_base_id,
                retrievalQuery={"text": text},
                retrievalConfiguration={
                    "vectorSearchConfiguration": {"numberOfResults": min(MAX_RESULTS, k * CHUNKS_PER_ARTICLE)}
                },
            )
        except (BotoCoreError, ClientError) as error:
            logger.warning(
                "Bedrock knowledge base %s could not be searched: %s", self.knowledge_base_id, error
            )
            return SearchResult(hits=[], abstain=True)

        best: dict[str, Hit] = {}
        for result in response.get("retrievalResults", []):
            stem = article_stem(result)
            if stem is None:
                continue
            score = float(result.get("score") or 0.0)
            if stem not in best or score > best[stem].score:
                best[stem] = Hit(self._article(stem, result), score)
        hits = sorted(best.values(), key=lambda hit: -hit.score)[:k]
        return SearchResult(hits=hits, abstain=not hits or hits[0].score < self.abstain_below)

    def _article(self, stem: str, result: Mapping[str, Any]) -> Article:
        known = self._articles.get(stem)
        if known is not None:
            return known
        metadata = result.get("metadata") or {}
        address = _address(result) or ""
        tags = metadata.get("tags")
        return Article(
            stem=stem,
            title=str(metadata.get("title") or stem.replace("-", " ").capitalize()),
            url=str(metadata.get("url") or (address if address.startswith("http") else "")),
            tags=tuple(str(tag) for tag in tags) if isinstance(tags, list) else (),
            body=str((result.get("content") or {}).get("text") or ""),
        )


def article_stem(result: Mapping[str, Any]) -> str | None:
    """The article a retrieved chunk belongs to, or None when the result does not say."""
    metadata = result.get("metadata") or {}
    stem = metadata.get("stem")
    if isinstance(stem, str) and stem:
        return stem
    address = _address(result) or metadata.get(_SOURCE_URI_ATTRIBUTE)
    if not isinstance(address, str) or not address:
        return None
    path = unquote(urlparse(address).path or address).rstrip("/")
    name = PurePosixPath(path)
    return (name.stem if name.suffix.lower() in _DOCUMENT_SUFFIXES else name.name) or None


def _address(result: Mapping[str, Any]) -> str | None:
    location = result.get("location") or {}
    fields = _LOCATION_FIELDS.get(str(location.get("type", "")))
    if fields is None:
        return None
    value = (location.get(fields[0]) or {}).get(fields[1])
    return value if isinstance(value, str) else None


def metadata_sidecar(article: Article) -> dict[str, Any]:
    """The ``<file>.metadata.json`` to upload next to an article in S3, so Bedrock returns its
    stem, title, URL and tags with every chunk."""
    attributes: dict[str, Any] = {"stem": article.stem, "title": article.title, "url": article.url}
    if article.tags:
        attributes["tags"] = list(article.tags)
    return {"metadataAttributes": attributes}
