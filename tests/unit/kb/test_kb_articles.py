"""Reading articles: the front matter, clear errors for broken files, the snippet, the shipped KB."""

import re

import pytest

from flexcord.kb.articles import (
    DEFAULT_ARTICLES_DIR,
    SNIPPET_MAX_CHARS,
    ArticleFormatError,
    load_article,
    load_articles,
    make_snippet,
    parse_article,
)
from flexcord.kb.text import words


def test_front_matter_with_an_inline_list_and_quotes():
    article = parse_article(
        '---\ntitle: "Raids: the basics"\nurl: https://help.example.com/raids\n'
        "tags: [raids, \"raid pass\", 'arena']\n"
        "---\n\n# Raids: the basics\n\nBody text.\n",
        stem="raids",
    )
    assert article.stem == "raids"
    assert article.title == "Raids: the basics"
    assert article.url == "https://help.example.com/raids"
    assert article.tags == ("raids", "raid pass", "arena")
    assert article.body == "# Raids: the basics\n\nBody text."


def test_front_matter_with_a_block_list_comments_and_unknown_keys():
    article = parse_article(
        "\ufeff---\n# a comment\ntitle: Trading\ntags:\n  - trade\n  - trade limits\n"
        "author: Sam\n---\nBody\n",
        stem="trading",
    )
    assert (article.title, article.url, article.tags, article.body) == (
        "Trading",
        "",
        ("trade", "trade limits"),
        "Body",
    )


def test_url_and_tags_are_optional():
    article = parse_article("---\ntitle: Only a title\n---\nBody", stem="only")
    assert (article.url, article.tags) == ("", ())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title: No fences\n\nBody", r"broken\.md: an article must start with a '---' front matter line"),
        ("---\ntitle: Never closed\nBody", r"broken\.md: the front matter has no closing '---' line"),
        ("---\nurl: https://x\n---\nBody", r"broken\.md: the front matter needs a non-empty 'title'"),
        ("---\ntitle: A\njust words\n---\n", r"broken\.md:3: expected 'key: value', got 'just words'"),
        ("---\ntitle: A\ntags: [a, b\n---\n", r"broken\.md:3: the list for 'tags' has no closing '\]'"),
        ("---\ntitle: A\ntitle: B\n---\n", r"broken\.md:3: 'title' is given twice"),
        ("---\n- orphan\ntitle: A\n---\n", r"broken\.md:2: a '- item' line must follow a 'key:' line"),
        ("---\ntitle: A\nurl: [a, b]\n---\n", r"broken\.md: 'url' must be a single value, not a list"),
    ],
)
def test_a_bad_file_gives_an_error_naming_it(tmp_path, text, message):
    path = tmp_path / "broken.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ArticleFormatError, match=message) as caught:
        load_article(path)
    assert str(caught.value).startswith(str(path))


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.md"
    path.write_bytes("---\ntitle: Café\n---\n".encode("latin-1"))
    with pytest.raises(ArticleFormatError, match=r"latin1\.md: not UTF-8 text"):
        load_article(path)


def test_one_bad_article_stops_the_folder_from_loading(tmp_path):
    (tmp_path / "good.md").write_text("---\ntitle: Good\n---\nBody", encoding="utf-8")
    (tmp_path / "bad.md").write_text("no front matter", encoding="utf-8")
    with pytest.raises(ArticleFormatError, match=r"bad\.md"):
        load_articles(tmp_path)


def test_load_articles_reads_only_markdown_sorted_by_stem(tmp_path):
    for stem in ("b", "a"):
        (tmp_path / f"{stem}.md").write_text(f"---\ntitle: {stem}\n---\n", encoding="utf-8")
    (tmp_path / "index.json").write_text("{}", encoding="utf-8")
    assert [article.stem for article in load_articles(tmp_path)] == ["a", "b"]


def test_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder of articles"):
        load_articles(tmp_path / "nowhere")


def test_snippet_is_plain_text_without_the_title_heading():
    body = "# Raids\n\nJoin a **raid** at an [Arena](arenas).\n\n- one free pass a day\n- `remote` passes"
    assert (
        make_snippet(body, skip_heading="Raids")
        == "Join a raid at an Arena. one free pass a day remote passes"
    )


def test_snippet_is_cut_at_a_word_with_an_ellipsis():
    snippet = make_snippet("word " * 100)
    assert len(snippet) <= SNIPPET_MAX_CHARS
    assert snippet.endswith("word…")


def test_the_shipped_articles_are_complete_help_centre_articles():
    articles = load_articles(DEFAULT_ARTICLES_DIR)
    assert len(articles) == 25
    for article in articles:
        assert article.url == f"https://help.example-game.com/articles/{article.stem}", article.stem
        assert article.title, article.stem
        assert len(article.tags) >= 3, article.stem
        assert 150 <= len(words(article.body)) <= 400, article.stem
        assert 0 < len(article.snippet) <= SNIPPET_MAX_CHARS
        assert not re.search(r"[#*`\[]", article.snippet), article.snippet
