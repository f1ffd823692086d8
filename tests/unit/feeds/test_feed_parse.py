"""Parsing: real-world feed shapes (RSS 2.0, Atom, YouTube, Mastodon, Bluesky, Reddit) become
clean entries, newest first; documents that are not feeds are refused with a reason for staff."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flexcord.feeds import FeedParseError, parse_feed

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Flexcord &amp; Friends</title>
    <link>https://blog.example.com/</link>
    <description>News</description>
    <ttl>30</ttl>
    <item>
      <title>Patch 1.1</title>
      <link>https://blog.example.com/patch-1-1</link>
      <guid isPermaLink="false">post-11</guid>
      <pubDate>Tue, 01 Dec 2026 09:00:00 +0000</pubDate>
      <description>Older news.</description>
    </item>
    <item>
      <title>Patch 1.2 is out</title>
      <link>https://blog.example.com/patch-1-2?utm_source=rss</link>
      <guid isPermaLink="false">post-12</guid>
      <dc:creator>Ana Admin</dc:creator>
      <pubDate>Thu, 03 Dec 2026 10:30:00 +0100</pubDate>
      <description><![CDATA[<p>New <b>raids</b> &amp; fixes.</p>
        <p>Read   the <a href="https://blog.example.com/notes">notes</a>.</p>
        <script>alert("x")</script><img src="https://cdn.example.com/raid.png" alt="">]]></description>
    </item>
    <item>
      <title>Patch 1.0</title>
      <link>https://blog.example.com/patch-1-0</link>
      <guid isPermaLink="false">post-10</guid>
      <pubDate>Sun, 29 Nov 2026 09:00:00 GMT</pubDate>
      <description>Oldest news.</description>
      <enclosure url="https://cdn.example.com/banner.jpg" length="1000" type="image/jpeg"/>
    </item>
  </channel>
</rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">Dev Diary</title>
  <link href="https://diary.example.org/"/>
  <updated>2026-12-03T12:00:00Z</updated>
  <author><name>The Team</name></author>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <entry>
    <title type="html">Raids &lt;em&gt;rebalanced&lt;/em&gt;</title>
    <link rel="alternate" href="/2026/12/raids"/>
    <id>tag:diary.example.org,2026:raids</id>
    <updated>2026-12-03T12:00:00Z</updated>
    <content type="html">&lt;p&gt;Raid bosses now scale with
      &lt;i&gt;party size&lt;/i&gt;.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>a &lt; b, said the compiler</title>
    <link rel="alternate" href="https://diary.example.org/2026/11/compiler"/>
    <id>tag:diary.example.org,2026:compiler</id>
    <published>2026-11-20T08:00:00-05:00</published>
    <updated>2026-11-21T08:00:00Z</updated>
    <summary>Plain text summary.</summary>
    <author><name>Bo Builder</name></author>
  </entry>
</feed>
"""

YOUTUBE = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/"
      xmlns="http://www.w3.org/2005/Atom">
 <link rel="self" href="http://www.youtube.com/feeds/videos.xml?channel_id=UCflexcord"/>
 <id>yt:channel:UCflexcord</id>
 <yt:channelId>UCflexcord</yt:channelId>
 <title>Flexcord Channel</title>
 <link rel="alternate" href="https://www.youtube.com/channel/UCflexcord"/>
 <author><name>Flexcord Channel</name><uri>https://www.youtube.com/channel/UCflexcord</uri></author>
 <published>2020-01-01T00:00:00+00:00</published>
 <entry>
  <id>yt:video:abc123</id>
  <yt:videoId>abc123</yt:videoId>
  <yt:channelId>UCflexcord</yt:channelId>
  <title>Patch 1.2 walkthrough</title>
  <link rel="alternate" href="https://www.youtube.com/watch?v=abc123"/>
  <author><name>Flexcord Channel</name><uri>https://www.youtube.com/channel/UCflexcord</uri></author>
  <published>2026-12-03T15:00:00+00:00</published>
  <updated>2026-12-04T10:00:00+00:00</updated>
  <media:group>
   <media:title>Patch 1.2 walkthrough</media:title>
   <media:content url="https://www.youtube.com/v/abc123?version=3" type="application/x-shockwave-flash"
                  width="640" height="390"/>
   <media:thumbnail url="https://i1.ytimg.com/vi/abc123/hqdefault.jpg" width="480" height="360"/>
   <media:description>Everything new in 1.2.
Timestamps below.</media:description>
   <media:community><media:starRating count="10" average="5.00" min="1" max="5"/></media:community>
  </media:group>
 </entry>
</feed>
"""

MASTODON = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:webfeeds="http://webfeeds.org/rss/1.0" xmlns:media="http://search.yahoo.com/mrss/">
  <channel>
    <title>Flexcord</title>
    <description>Public posts from @flexcord@mastodon.social</description>
    <link>https://mastodon.social/@flexcord</link>
    <item>
      <guid isPermaLink="true">https://mastodon.social/@flexcord/113</guid>
      <link>https://mastodon.social/@flexcord/113</link>
      <pubDate>Thu, 03 Dec 2026 12:00:00 +0000</pubDate>
      <description>&lt;p&gt;Maintenance tonight from 22:00 UTC &amp;amp; we expect it to take about two hours,
        thank you for your patience while we upgrade the raid servers.
        &lt;a href="https://mastodon.social/tags/status" class="mention hashtag"&gt;
        #&lt;span&gt;status&lt;/span&gt;&lt;/a&gt;
        &lt;/p&gt;</description>
      <media:content url="https://files.mastodon.social/media/1.png" type="image/png" fileSize="1000"
                     medium="image">
        <media:rating scheme="urn:simple">nonadult</media:rating>
      </media:content>
    </item>
  </channel>
</rss>
"""

BLUESKY = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
<description>Flexcord on Bluesky</description>
<link>https://bsky.app/profile/flexcord.example</link>
<title>@flexcord.example - Flexcord</title>
<item>
<link>https://bsky.app/profile/flexcord.example/post/3kabc</link>
<description>Servers are back. Thanks for waiting!</description>
<pubDate>03 Dec 2026 13:05:00 +0000</pubDate>
<guid isPermaLink="false">at://did:plc:abc/app.bsky.feed.post/3kabc</guid>
</item>
</channel>
</rss>
"""

REDDIT = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
<category term="flexcord" label="r/flexcord"/>
<updated>2026-12-03T12:00:00+00:00</updated>
<id>/r/flexcord/.rss</id>
<link rel="self" href="https://www.reddit.com/r/flexcord/.rss" type="application/atom+xml" />
<link rel="alternate" href="https://www.reddit.com/r/flexcord/" type="text/html" />
<title>Flexcord</title>
<entry>
<author><name>/u/modteam</name><uri>https://www.reddit.com/user/modteam</uri></author>
<category term="flexcord" label="r/flexcord"/>
<content type="html">&lt;table&gt; &lt;tr&gt;&lt;td&gt;
&lt;a href=&quot;https://www.reddit.com/r/flexcord/comments/1abc/weekly/&quot;&gt;
&lt;img src=&quot;https://b.thumbs.redditmedia.com/inline.jpg&quot; alt=&quot;Weekly&quot; /&gt;
&lt;/a&gt; &lt;/td&gt;&lt;td&gt; &lt;!-- SC_OFF --&gt;&lt;div class=&quot;md&quot;&gt;
&lt;p&gt;Ask anything here.&lt;/p&gt;
&lt;/div&gt;&lt;!-- SC_ON --&gt; &amp;#32; submitted by &amp;#32;
&lt;a href=&quot;https://www.reddit.com/user/modteam&quot;&gt; /u/modteam &lt;/a&gt;
&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;</content>
<id>t3_1abc</id>
<media:thumbnail url="https://b.thumbs.redditmedia.com/thumb.jpg" />
<link href="https://www.reddit.com/r/flexcord/comments/1abc/weekly/" />
<updated>2026-12-03T11:00:00+00:00</updated>
<published>2026-12-03T10:00:00+00:00</published>
<title>Weekly questions thread</title>
</entry>
</feed>
"""


def rss_with_items(items: str, channel_extra: str = "") -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
        f"<channel><title>T</title>{channel_extra}{items}</channel></rss>"
    ).encode()


def test_rss_entries_are_clean_and_newest_first() -> None:
    feed = parse_feed(RSS, content_type="application/rss+xml; charset=utf-8")

    assert feed.title == "Flexcord & Friends"
    assert feed.link == "https://blog.example.com/"
    assert feed.ttl_seconds == 30 * 60
    assert [entry.guid for entry in feed.entries] == ["post-12", "post-11", "post-10"]
    newest = feed.entries[0]
    assert newest.title == "Patch 1.2 is out"
    assert newest.link == "https://blog.example.com/patch-1-2?utm_source=rss"
    assert newest.summary == "New raids & fixes. Read the notes."
    assert newest.author == "Ana Admin"
    assert newest.published == datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    assert newest.image_url == "https://cdn.example.com/raid.png"
    assert feed.entries[2].image_url == "https://cdn.example.com/banner.jpg"
    assert feed.entries[1].image_url is None


def test_atom_html_titles_content_and_relative_links() -> None:
    feed = parse_feed(ATOM, content_type="application/atom+xml", base_url="https://diary.example.org/feed")

    assert feed.title == "Dev Diary"
    raids, compiler = feed.entries
    assert raids.title == "Raids rebalanced"
    assert raids.summary == "Raid bosses now scale with party size."
    assert raids.link == "https://diary.example.org/2026/12/raids"
    assert raids.author == "The Team"  # the feed's author stands in
    assert raids.published == datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    # A plain-text title keeps its "<": only HTML is stripped.
    assert compiler.title == "a < b, said the compiler"
    assert compiler.author == "Bo Builder"
    assert compiler.published == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)


def test_youtube_channel_feed() -> None:
    (video,) = parse_feed(YOUTUBE).entries

    assert video.guid == "yt:video:abc123"
    assert video.title == "Patch 1.2 walkthrough"
    assert video.link == "https://www.youtube.com/watch?v=abc123"
    assert video.summary == "Everything new in 1.2. Timestamps below."
    assert video.author == "Flexcord Channel"
    assert video.image_url == "https://i1.ytimg.com/vi/abc123/hqdefault.jpg"
    assert video.published == datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def test_mastodon_post_without_a_title_is_titled_by_its_text() -> None:
    (post,) = parse_feed(MASTODON).entries

    assert post.summary.startswith("Maintenance tonight from 22:00 UTC & we expect it")
    assert post.summary.endswith("upgrade the raid servers. #status")
    assert post.title.endswith("…")
    assert len(post.title) <= 100
    assert post.summary.startswith(post.title.removesuffix("…"))
    assert post.image_url == "https://files.mastodon.social/media/1.png"
    assert post.identity_key() == "id:https://mastodon.social/@flexcord/113"


def test_bluesky_post_with_a_short_text_is_titled_by_all_of_it() -> None:
    (post,) = parse_feed(BLUESKY).entries

    assert post.title == "Servers are back. Thanks for waiting!"
    assert post.guid == "at://did:plc:abc/app.bsky.feed.post/3kabc"
    assert post.published == datetime(2026, 12, 3, 13, 5, tzinfo=UTC)


def test_reddit_atom_feed() -> None:
    (thread,) = parse_feed(REDDIT).entries

    assert thread.title == "Weekly questions thread"
    assert thread.guid == "t3_1abc"
    assert thread.author == "/u/modteam"
    assert thread.summary == "Ask anything here. submitted by /u/modteam"
    # The media thumbnail comes before an <img> in the content.
    assert thread.image_url == "https://b.thumbs.redditmedia.com/thumb.jpg"


def test_undated_entries_follow_the_dated_ones_in_feed_order() -> None:
    items = (
        "<item><title>undated one</title><guid>u1</guid></item>"
        "<item><title>old</title><guid>d1</guid><pubDate>Tue, 01 Dec 2026 09:00:00 GMT</pubDate></item>"
        "<item><title>undated two</title><guid>u2</guid></item>"
        "<item><title>new</title><guid>d2</guid><pubDate>Wed, 02 Dec 2026 09:00:00 GMT</pubDate></item>"
    )
    titles = [entry.title for entry in parse_feed(rss_with_items(items)).entries]
    assert titles == ["new", "old", "undated one", "undated two"]


def test_ttl_from_the_syndication_module() -> None:
    extra = "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>"
    assert parse_feed(rss_with_items("", extra)).ttl_seconds == 1800
    assert parse_feed(rss_with_items("", "<sy:updatePeriod>daily</sy:updatePeriod>")).ttl_seconds == 86400
    assert parse_feed(rss_with_items("")).ttl_seconds is None
    assert parse_feed(rss_with_items("", "<ttl>soon</ttl>")).ttl_seconds is None


def test_entries_and_summaries_are_capped() -> None:
    long_text = "word " * 1000
    items = "".join(
        f"<item><title>n{number}</title><description>{long_text}</description></item>"
        for number in range(250)
    )
    feed = parse_feed(rss_with_items(items))
    assert len(feed.entries) == 200
    assert feed.entries[0].title == "n0"
    assert len(feed.entries[0].summary) <= 2000
    assert feed.entries[0].summary.endswith("…")


def test_an_empty_but_valid_feed_has_no_entries() -> None:
    feed = parse_feed(rss_with_items(""))
    assert feed.title == "T"
    assert feed.entries == ()


def test_slightly_broken_xml_with_entries_is_still_read() -> None:
    broken = (
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
        b"<item><title>AT&T deal</title><guid>1</guid></item></channel></rss>"
    )
    (entry,) = parse_feed(broken).entries
    assert entry.guid == "1"
    assert entry.title.startswith("AT")


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", None, "the feed is empty"),
        (b"  \n ", None, "the feed is empty"),
        (
            b"<!DOCTYPE html><html><head><title>Blog</title>"
            b"<link rel='alternate' type='application/rss+xml' href='/feed'></head><body><p>Hi</body></html>",
            "text/html; charset=utf-8",
            "not an RSS or Atom feed (it is a web page)",
        ),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": []}',
            "application/json",
            "not an RSS or Atom feed",
        ),
        (b"just some text", "text/plain", "not an RSS or Atom feed"),
        (
            b"<?xml version='1.0'?><rss version='2.0'><channel>"
            b"<title>T<item><title>A</title></item></channel></rss>",
            "application/rss+xml",
            "malformed XML: mismatched tag (line 1)",
        ),
        (
            b"<rss version='2.0'>\n<channel><title>T</title>\n<item><title>A</item></channel>",
            None,
            "malformed XML: mismatched tag (line 3)",
        ),
    ],
)
def test_documents_that_are_not_feeds_are_refused(body: bytes, content_type: str | None, reason: str) -> None:
    with pytest.raises(FeedParseError) as refused:
        parse_feed(body, content_type=content_type)
    assert str(refused.value) == reason


def test_a_body_that_names_a_file_is_not_read_from_disk(tmp_path: Path) -> None:
    saved = tmp_path / "feed.xml"
    saved.write_bytes(RSS)
    with pytest.raises(FeedParseError, match="not an RSS or Atom feed"):
        parse_feed(str(saved).encode())


def test_entries_with_nothing_to_show_are_dropped() -> None:
    items = "<item><category>x</category></item><item><title>Real</title></item>"
    assert [entry.title for entry in parse_feed(rss_with_items(items)).entries] == ["Real"]


def test_a_feed_cut_off_mid_way_is_malformed_even_with_entries_before_the_cut() -> None:
    whole = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        + b"".join(b"<item><guid>%d</guid><title>Post %d</title></item>" % (n, n) for n in range(10))
        + b"</channel></rss>"
    )
    assert len(parse_feed(whole).entries) == 10
    with pytest.raises(FeedParseError, match="malformed XML"):
        parse_feed(whole[: len(whole) // 2] + b"\n<item><title>Half a post & no end")
    # A bare "&" in an otherwise whole feed is read past, as feed readers do.
    slip = whole.replace(b"<title>Post 3</title>", b"<title>Posts & news</title>")
    assert len(parse_feed(slip).entries) == 10
