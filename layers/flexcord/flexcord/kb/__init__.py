"""The knowledge base: help-centre articles and the search the assistant answers from.

    from flexcord.kb import load_knowledge_base

    kb = load_knowledge_base()                # the shipped articles (or pass a folder)
    result = kb.search("raid pass gone??", k=3, locale="en-US")
    if not result.abstain:
        for hit in result.hits:
            print(hit.article.title, hit.article.url, hit.score)

Importing this package costs the lexical side only (the standard library and PyStemmer), which
the duplicate check uses without numpy. The hybrid search (``hybrid``, ``embedding``) imports numpy and
``tokenizers`` when a knowledge base is loaded, from the knowledge layer; the optional ONNX
embedder imports onnxruntime, and the Amazon Bedrock backend (``bedrock``) boto3, only when used.
``python -m flexcord.kb`` is the command line (index, calibrate, search, eval);
docs/knowledge-base.md explains the lot.
"""

from flexcord.kb.articles import DEFAULT_ARTICLES_DIR, Article, ArticleFormatError, load_articles
from flexcord.kb.retrieval import (
    Hit,
    KnowledgeBase,
    LocalKnowledgeBase,
    SearchResult,
    default_knowledge_base,
    load_knowledge_base,
)

__all__ = [
    "DEFAULT_ARTICLES_DIR",
    "Article",
    "ArticleFormatError",
    "Hit",
    "KnowledgeBase",
    "LocalKnowledgeBase",
    "SearchResult",
    "default_knowledge_base",
    "load_articles",
    "load_knowledge_base",
]
