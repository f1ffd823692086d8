"""The knowledge base: help-centre articles and the search the assistant answers from.

    from flexcord.kb import load_knowledge_base

    kb = load_knowledge_base()                # the shipped articles (or pass a folder)
    result = kb.search("raid pass gone??", k=3)
    if not result.abstain:
        for hit in result.hits:
            print(hit.article.title, hit.article.url, hit.score)

Everything here is the standard library: the package ships in the Lambda layer and is imported
at cold start. The optional Amazon Bedrock backend (``flexcord.kb.bedrock``) loads boto3 only
when it searches. ``python -m flexcord.kb`` is the command line (search, eval, calibrate,
index); docs/knowledge-base.md explains the lot.
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
