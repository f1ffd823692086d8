"""The Bedrock adapter against botocore's Stubber: requests and responses are checked against the
service model, and nothing leaves the machine."""

import boto3
import pytest
from botocore.stub import Stubber

from flexcord.kb.articles import Article
from flexcord.kb.bedrock import BedrockKnowledgeBase, article_stem, metadata_sidecar

KNOWLEDGE_BASE_ID = "KB12345678"


@pytest.fixture
def client():
    return boto3.client(
        "bedrock-agent-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def chunk(score, *, uri=None, url=None, text="chunk text", metadata=None):
    if uri:
        location = {"type": "S3", "s3Location": {"uri": uri}}
    else:
        location = {"type": "WEB", "webLocation": {"url": url}}
    result = {"content": {"text": text}, "location": location, "score": score}
    if metadata is not None:
        result["metadata"] = metadata
    return result


def expected_request(query, number_of_results):
    return {
        "knowledgeBaseId": KNOWLEDGE_BASE_ID,
        "retrievalQuery": {"text": query},
        "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": number_of_results}},
    }


def test_chunks_become_articles_ranked_by_their_best_chunk(client):
    raids = Article(
        "raids-and-raid-passes", "Raids and Raid Passes", "https://help/raids", ("raids",), "Raids are…"
    )
    response = {
        "retrievalResults": [
            chunk(0.61, uri="s3://help-centre/kb/raids-and-raid-passes.md"),
            chunk(0.74, url="https://help.example-game.com/articles/purchases-and-refunds"),
            chunk(0.83, uri="s3://help-centre/kb/raids-and-raid-passes.md"),
            chunk(
                0.55,
                uri="s3://help-centre/kb/other.md",
                metadata={"stem": "gems-and-stardust", "title": "Gems"},
            ),
        ]
    }
    with Stubber(client) as stubber:
        stubber.add_response("retrieve", response, expected_request("raid pass gone??", 6))
        result = BedrockKnowledgeBase(KNOWLEDGE_BASE_ID, client=client, articles=[raids]).search(
            "raid pass gone??", k=2
        )
        stubber.assert_no_pending_responses()

    assert not result.abstain
    assert [(hit.article.stem, hit.score) for hit in result.hits] == [
        ("raids-and-raid-passes", 0.83),
        ("purchases-and-refunds", 0.74),
    ]
    assert result.hits[0].article is raids  # the local article: title, URL and snippet
    refunds = result.hits[1].article
    assert (refunds.title, refunds.url) == (
        "Purchases and refunds",
        "https://help.example-game.com/articles/purchases-and-refunds",
    )


def test_metadata_gives_the_article_when_there_is_no_local_copy(client):
    metadata = {
        "stem": "gems-and-stardust",
        "title": "Gems",
        "url": "https://help/gems",
        "tags": ["currency"],
    }
    response = {
        "retrievalResults": [
            chunk(0.9, uri="s3://b/x.md", text="Gems are the premium currency.", metadata=metadata)
        ]
    }
    with Stubber(client) as stubber:
        stubber.add_response("retrieve", response, expected_request("gems", 3))
        [hit] = BedrockKnowledgeBase(KNOWLEDGE_BASE_ID, client=client).search("gems", k=1).hits
    assert (hit.article.stem, hit.article.title, hit.article.url, hit.article.tags) == (
        "gems-and-stardust",
        "Gems",
        "https://help/gems",
        ("currency",),
    )
    assert hit.article.snippet == "Gems are the premium currency."


def test_it_abstains_below_its_threshold_or_with_nothing_found(client):
    with Stubber(client) as stubber:
        stubber.add_response("retrieve", {"retrievalResults": [chunk(0.31, uri="s3://b/raids.md")]})
        stubber.add_response("retrieve", {"retrievalResults": []})
        knowledge_base = BedrockKnowledgeBase(KNOWLEDGE_BASE_ID, client=client, abstain_below=0.4)
        low = knowledge_base.search("weather tomorrow")
        empty = knowledge_base.search("weather tomorrow")
    assert low.abstain
    assert low.hits[0].article.stem == "raids"
    assert empty.abstain
    assert empty.hits == []


def test_an_unreachable_bedrock_abstains_instead_of_failing(client, caplog):
    with Stubber(client) as stubber:
        stubber.add_client_error("retrieve", service_error_code="ThrottlingException", http_status_code=429)
        result = BedrockKnowledgeBase(KNOWLEDGE_BASE_ID, client=client).search("raid pass")
    assert (result.hits, result.abstain) == ([], True)
    assert "could not be searched" in caplog.text


def test_an_empty_question_is_not_sent(client):
    with Stubber(client):  # any call would fail: nothing is queued
        assert BedrockKnowledgeBase(KNOWLEDGE_BASE_ID, client=client).search("   ").abstain


def test_article_stems_from_each_kind_of_location():
    assert (
        article_stem({"location": {"type": "S3", "s3Location": {"uri": "s3://b/kb/raids%20faq.md"}}})
        == "raids faq"
    )
    assert (
        article_stem({"location": {"type": "WEB", "webLocation": {"url": "https://h/articles/raids/"}}})
        == "raids"
    )
    assert (
        article_stem({"location": {"type": "CUSTOM", "customDocumentLocation": {"id": "raids"}}}) == "raids"
    )
    assert article_stem({"metadata": {"x-amz-bedrock-kb-source-uri": "s3://b/v1.2-notes.md"}}) == "v1.2-notes"
    assert article_stem({"location": {"type": "KENDRA"}}) is None


def test_the_metadata_sidecar_carries_the_article():
    article = Article("raids", "Raids", "https://help/raids", ("raids", "passes"), "body")
    assert metadata_sidecar(article) == {
        "metadataAttributes": {
            "stem": "raids",
            "title": "Raids",
            "url": "https://help/raids",
            "tags": ["raids", "passes"],
        }
    }
