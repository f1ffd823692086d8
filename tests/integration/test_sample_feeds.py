"""The local stack's sample feeds (devstack/sample_feeds.py): content that follows the clock,
conditional GETs, every misbehaving mode, and the control API another process uses."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from unittest.mock import MagicMock

import pytest
import requests

from devstack.control_client import EmulatorControlError
from devstack.sample_feeds import MAX_ENTRIES, SampleFeeds, SampleFeedsControl

START = 1_700_000_000  # the feeds' clock in every test (Tue, 14 Nov 2023 22:13:20 GMT)
ATOM = "{http://www.w3.org/2005/Atom}"
YT = "{http://www.youtube.com/xml/schemas/2015}"
MEDIA = "{http://search.yahoo.com/mrss/}"
TIMEOUT = 10


@pytest.fixture
def feeds() -> Iterator[SampleFeeds]:
    server = SampleFeeds(start_time=START).start()
    try:
        yield server
    finally:
        server.stop()


def get(feeds: SampleFeeds, name: str, **kwargs: Any) -> requests.Response:
    return requests.get(feeds.url(name), timeout=TIMEOUT, **kwargs)


def parse(body: bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 - the tests' own sample feeds, from loopback


def entries(body: bytes) -> list[ET.Element]:
    """RSS items or Atom entries, in document order (parsing also proves well-formedness)."""
    root = parse(body)
    if root.tag == f"{ATOM}feed":
        return root.findall(f"{ATOM}entry")
    return root.findall("./channel/item")


def text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    assert found is not None, path
    return found.text or ""


# -- content --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "count"),
    [
        ("blog", "application/rss+xml", 50),
        ("videos", "application/atom+xml", 15),
        ("status", "application/rss+xml", 5),
        ("social", "application/rss+xml", 20),
    ],
)
def test_every_feed_is_well_formed_with_validators(
    feeds: SampleFeeds, name: str, content_type: str, count: int
) -> None:
    response = get(feeds, name)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(content_type)
    assert len(entries(response.content)) == count
    assert response.headers["ETag"].startswith('"')
    newest = parsedate_to_datetime(response.headers["Last-Modified"]).timestamp()
    assert newest <= START


def test_blog_starts_with_fifty_old_posts_and_gains_one_an_hour(feeds: SampleFeeds) -> None:
    before = entries(get(feeds, "blog").content)
    assert len(before) == 50
    dates = [parsedate_to_datetime(text(item, "pubDate")).timestamp() for item in before]
    assert dates == [START - 6 * 3600 * k for k in range(1, 51)]  # newest first, 6 h apart

    feeds.advance(3600)
    after = entries(get(feeds, "blog").content)

    assert len(after) == 51
    assert parsedate_to_datetime(text(after[0], "pubDate")).timestamp() == START + 3600
    assert [text(item, "guid") for item in after[1:]] == [text(item, "guid") for item in before]
    assert text(after[0], "guid") not in {text(item, "guid") for item in before}


def test_blog_items_look_like_a_blogs(feeds: SampleFeeds) -> None:
    body = get(feeds, "blog").content
    channel = parse(body).find("channel")
    assert channel is not None
    assert text(channel, "ttl") == "15"
    items = entries(body)
    guid = items[0].find("guid")
    assert guid is not None
    assert guid.get("isPermaLink") == "false"
    assert all("<img " in text(item, "description") for item in items)  # HTML, escaped in the XML
    enclosures = [item.find("enclosure") for item in items]
    assert any(e is not None and e.get("type") == "image/png" for e in enclosures)
    assert any(e is None for e in enclosures)
    assert len({text(item, "link") for item in items}) == len(items)


def test_videos_look_like_a_youtube_channel_feed(feeds: SampleFeeds) -> None:
    videos = entries(get(feeds, "videos").content)
    first = videos[0]

    video_id = text(first, f"{YT}videoId")
    assert len(video_id) == 11
    assert text(first, f"{ATOM}id") == f"yt:video:{video_id}"
    link = first.find(f"{ATOM}link")
    assert link is not None
    assert link.get("href") == f"https://www.youtube.com/watch?v={video_id}"
    group = first.find(f"{MEDIA}group")
    assert group is not None
    thumbnail = group.find(f"{MEDIA}thumbnail")
    assert thumbnail is not None
    assert video_id in (thumbnail.get("url") or "")
    assert text(group, f"{MEDIA}description")
    assert len({text(video, f"{YT}videoId") for video in videos}) == len(videos)


def test_status_incidents_link_to_distinct_pages_of_one_site(feeds: SampleFeeds) -> None:
    links = [text(item, "link") for item in entries(get(feeds, "status").content)]

    assert len(set(links)) == len(links)
    assert all(link.startswith("https://status.flexcord.example/incidents/") for link in links)


def test_social_posts_have_no_title(feeds: SampleFeeds) -> None:
    items = entries(get(feeds, "social").content)

    assert all(item.find("title") is None for item in items)
    assert all(text(item, "description") for item in items)


@pytest.mark.parametrize(("name", "period"), [("videos", 3 * 3600), ("status", 12 * 3600), ("social", 1800)])
def test_each_feed_gains_an_entry_per_period(feeds: SampleFeeds, name: str, period: int) -> None:
    before = len(entries(get(feeds, name).content))

    feeds.advance(period - 60)
    assert len(entries(get(feeds, name).content)) == before
    feeds.advance(60)
    assert len(entries(get(feeds, name).content)) == before + 1


def test_a_feed_lists_at_most_sixty_entries(feeds: SampleFeeds) -> None:
    feeds.advance(30 * 3600)

    items = entries(get(feeds, "blog").content)

    assert len(items) == MAX_ENTRIES
    assert parsedate_to_datetime(text(items[0], "pubDate")).timestamp() == START + 30 * 3600


def test_content_is_a_function_of_the_clock() -> None:
    with SampleFeeds(start_time=START) as one, SampleFeeds(start_time=START) as other:
        one.advance(7200)
        other.advance(7200)
        for name in ("blog", "videos", "status", "social"):
            assert get(one, name).content == get(other, name).content


def test_feedparser_reads_every_feed(feeds: SampleFeeds) -> None:
    feedparser = pytest.importorskip("feedparser")
    for name, count in (("blog", 50), ("videos", 15), ("status", 5), ("social", 20)):
        parsed = feedparser.parse(get(feeds, name).content)
        assert not parsed.bozo, (name, parsed.get("bozo_exception"))
        assert len(parsed.entries) == count


# -- conditional GET --------------------------------------------------------------------------------


def test_a_matching_etag_gets_304_until_the_feed_changes(feeds: SampleFeeds) -> None:
    first = get(feeds, "blog")
    etag = first.headers["ETag"]

    again = get(feeds, "blog", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    assert get(feeds, "blog", headers={"If-None-Match": '"something-else"'}).status_code == 200

    feeds.advance(3600)
    changed = get(feeds, "blog", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_if_modified_since_not_older_than_the_newest_entry_gets_304(feeds: SampleFeeds) -> None:
    last_modified = get(feeds, "blog").headers["Last-Modified"]
    newest = parsedate_to_datetime(last_modified).timestamp()

    assert get(feeds, "blog", headers={"If-Modified-Since": last_modified}).status_code == 304
    later = formatdate(newest + 60, usegmt=True)
    assert get(feeds, "blog", headers={"If-Modified-Since": later}).status_code == 304
    earlier = formatdate(newest - 1, usegmt=True)
    assert get(feeds, "blog", headers={"If-Modified-Since": earlier}).status_code == 200
    assert get(feeds, "blog", headers={"If-Modified-Since": "not a date"}).status_code == 200

    feeds.advance(3600)
    assert get(feeds, "blog", headers={"If-Modified-Since": last_modified}).status_code == 200


def test_if_none_match_decides_over_if_modified_since(feeds: SampleFeeds) -> None:
    last_modified = get(feeds, "blog").headers["Last-Modified"]

    response = get(feeds, "blog", headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified})

    assert response.status_code == 200


def test_every_request_is_recorded_with_its_validators(feeds: SampleFeeds) -> None:
    etag = get(feeds, "blog").headers["ETag"]
    get(feeds, "blog", headers={"If-None-Match": etag, "If-Modified-Since": "Tue, 14 Nov 2023 16:13:20 GMT"})
    get(feeds, "videos")

    assert feeds.requests_for("blog") == [
        {"if_none_match": None, "if_modified_since": None, "status": 200},
        {"if_none_match": etag, "if_modified_since": "Tue, 14 Nov 2023 16:13:20 GMT", "status": 304},
    ]
    assert len(feeds.requests_for("videos")) == 1
    assert feeds.requests_for("status") == []


# -- modes ------------------------------------------------------------------------------------------


def test_slow_answers_after_the_delay_without_blocking_other_feeds(feeds: SampleFeeds) -> None:
    feeds.set_mode("blog", "slow", seconds=2)
    result: dict[str, Any] = {}

    def fetch_slow() -> None:
        began = time.monotonic()
        result["status"] = get(feeds, "blog").status_code
        result["elapsed"] = time.monotonic() - began

    slow = threading.Thread(target=fetch_slow)
    slow.start()
    time.sleep(0.2)
    assert get(feeds, "videos").status_code == 200
    assert slow.is_alive()  # the other feed was answered while the slow one still waited
    slow.join(TIMEOUT)

    assert result["status"] == 200
    assert result["elapsed"] >= 2


def test_trickle_sends_headers_at_once_then_a_byte_per_interval(feeds: SampleFeeds) -> None:
    feeds.set_mode("blog", "slow", trickle=True, interval=0.05)

    with requests.get(feeds.url("blog"), timeout=TIMEOUT, stream=True) as response:
        assert response.status_code == 200
        declared = int(response.headers["Content-Length"])
        began = time.monotonic()
        start = response.raw.read(20)
        elapsed = time.monotonic() - began

    assert start.startswith(b"<?xml")
    assert declared > 1000
    assert elapsed >= 19 * 0.05 * 0.9


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"seconds": 30}, 503),  # the wait gives up with an answer
        ({"trickle": True, "interval": 0.5}, requests.exceptions.ChunkedEncodingError),  # body cut off
    ],
)
def test_stop_is_prompt_during_a_slow_answer(
    options: dict[str, Any], expected: int | type[Exception]
) -> None:
    feeds = SampleFeeds(start_time=START).start()
    feeds.set_mode("blog", "slow", **options)
    outcome: list[object] = []

    def fetch() -> None:
        try:
            response = requests.get(feeds.url("blog"), timeout=TIMEOUT)
            outcome.append(response.status_code)
        except requests.RequestException as exc:
            outcome.append(exc)

    client = threading.Thread(target=fetch)
    client.start()
    time.sleep(0.5)

    began = time.monotonic()
    feeds.stop()
    assert time.monotonic() - began < 5
    client.join(TIMEOUT)
    assert not client.is_alive()
    assert len(outcome) == 1
    if isinstance(expected, int):
        assert outcome[0] == expected
    else:
        assert isinstance(outcome[0], expected)


def test_broken_is_malformed_xml(feeds: SampleFeeds) -> None:
    feeds.set_mode("blog", "broken")

    response = get(feeds, "blog")

    assert response.status_code == 200
    assert response.content.startswith(b"<?xml")
    with pytest.raises(ET.ParseError):
        parse(response.content)


def test_html_is_a_page_instead_of_a_feed(feeds: SampleFeeds) -> None:
    feeds.set_mode("videos", "html")

    response = get(feeds, "videos")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.lstrip().lower().startswith("<!doctype html>")


@pytest.mark.parametrize("declare_length", [True, False])
def test_huge_streams_the_size_asked(feeds: SampleFeeds, declare_length: bool) -> None:
    feeds.set_mode("blog", "huge", bytes=1_234_567, declare_length=declare_length)

    response = get(feeds, "blog")

    assert response.status_code == 200
    assert len(response.content) == 1_234_567
    if declare_length:
        assert response.headers["Content-Length"] == "1234567"
    else:
        assert "Content-Length" not in response.headers
        assert response.headers["Transfer-Encoding"] == "chunked"
    assert len(entries(response.content)) > 1000  # valid-looking: it even parses


def test_huge_defaults_to_five_megabytes(feeds: SampleFeeds) -> None:
    feeds.set_mode("blog", "huge")

    with requests.get(feeds.url("blog"), timeout=TIMEOUT, stream=True) as response:
        assert response.headers["Content-Length"] == "5000000"
        assert sum(len(chunk) for chunk in response.iter_content(65536)) == 5_000_000


def test_error_answers_the_status_asked(feeds: SampleFeeds) -> None:
    feeds.set_mode("blog", "error")
    assert get(feeds, "blog").status_code == 503

    feeds.set_mode("blog", "error", status=429, retry_after=120)
    response = get(feeds, "blog")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "120"


def test_redirect_loops_forever_by_default(feeds: SampleFeeds) -> None:
    feeds.set_mode("blog", "redirect")

    first = get(feeds, "blog", allow_redirects=False)
    assert first.status_code == 302
    assert first.headers["Location"] == f"{feeds.url('blog')}?hop=1"
    second = requests.get(first.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    assert second.headers["Location"] == f"{feeds.url('blog')}?hop=2"
    with pytest.raises(requests.TooManyRedirects):
        get(feeds, "blog")
    assert len(feeds.requests_for("blog")) > 30  # requests gives up after 30 hops


def test_redirect_to_another_url(feeds: SampleFeeds) -> None:
    feeds.set_mode("blog", "redirect", to=feeds.url("status"), status=301)

    response = get(feeds, "blog")

    assert [hop.status_code for hop in response.history] == [301]
    assert response.url == feeds.url("status")
    assert len(entries(response.content)) == 5


def test_drift_changes_guid_case_and_adds_tracking_parameters(feeds: SampleFeeds) -> None:
    plain = entries(get(feeds, "blog").content)
    feeds.set_mode("blog", "drift")

    drifted = entries(get(feeds, "blog").content)

    assert len(drifted) == len(plain)
    for before, after in zip(plain, drifted, strict=True):
        assert text(after, "guid") == text(before, "guid").swapcase() + "?utm_source=rss&fbclid=abc"
        assert text(after, "link") == text(before, "link") + "?utm_source=rss&fbclid=abc"
        assert text(after, "title") == text(before, "title")
        assert text(after, "pubDate") == text(before, "pubDate")


def test_drift_in_atom_appends_to_query_strings(feeds: SampleFeeds) -> None:
    feeds.set_mode("videos", "drift")

    video = entries(get(feeds, "videos").content)[0]

    video_id = text(video, f"{YT}videoId")
    assert text(video, f"{ATOM}id") == f"YT:VIDEO:{video_id.swapcase()}?utm_source=rss&fbclid=abc"
    link = video.find(f"{ATOM}link")
    assert link is not None
    assert link.get("href") == f"https://www.youtube.com/watch?v={video_id}&utm_source=rss&fbclid=abc"


def test_gone_is_404(feeds: SampleFeeds) -> None:
    feeds.set_mode("social", "gone")

    assert get(feeds, "social").status_code == 404
    assert feeds.requests_for("social")[-1]["status"] == 404


def test_modes_are_per_feed_and_reset_restores_them(feeds: SampleFeeds) -> None:
    feeds.set_mode("blog", "gone")
    assert get(feeds, "videos").status_code == 200
    assert get(feeds, "blog").status_code == 404

    feeds.reset()

    assert feeds.requests_for("blog") == []
    assert get(feeds, "blog").status_code == 200


def test_bad_modes_and_options_are_refused(feeds: SampleFeeds) -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        feeds.set_mode("blog", "sideways")
    with pytest.raises(ValueError, match="unknown feed"):
        feeds.set_mode("podcast", "ok")
    with pytest.raises(ValueError, match="no option"):
        feeds.set_mode("blog", "slow", second=2)
    with pytest.raises(ValueError, match="status"):
        feeds.set_mode("blog", "error", status=200)


def test_unknown_paths_are_404(feeds: SampleFeeds) -> None:
    assert requests.get(f"{feeds.base_url}/feeds/podcast", timeout=TIMEOUT).status_code == 404
    assert requests.get(f"{feeds.base_url}/", timeout=TIMEOUT).status_code == 404


# -- control from another process ---------------------------------------------------------------------


def test_the_control_api_drives_the_feeds(feeds: SampleFeeds) -> None:
    control = SampleFeedsControl(feeds.base_url)

    assert abs(control.now() - feeds.now()) < 5
    before = control.now()
    control.advance(3600)
    assert control.now() >= before + 3600
    assert len(entries(get(feeds, "blog").content)) == 51

    control.set_mode("blog", "error", status=500)
    assert get(feeds, "blog").status_code == 500
    assert [seen["status"] for seen in control.requests_for("blog")] == [200, 500]

    control.reset()
    assert control.requests_for("blog") == []
    assert get(feeds, "blog").status_code == 200
    assert control.url("blog") == feeds.url("blog")


def test_the_control_api_refuses_bad_requests(feeds: SampleFeeds) -> None:
    control = SampleFeedsControl(feeds.base_url)

    with pytest.raises(EmulatorControlError, match="400"):
        control.set_mode("blog", "sideways")
    with pytest.raises(EmulatorControlError, match="400"):
        control.advance(-1)
    with pytest.raises(EmulatorControlError, match="400"):
        control.requests_for("podcast")


# -- the local stack --------------------------------------------------------------------------------


def test_the_local_stack_wires_the_sample_feeds_without_being_started() -> None:
    """Starting the whole stack is slow: check the wiring on an unstarted one."""
    from devstack.aws_resources import LocalResources
    from devstack.stack import LocalStack, StackPorts

    assert StackPorts().sample_feeds == 0
    stack = LocalStack()
    assert stack.sample_feeds is None
    discord = MagicMock(guild_id="1", channel_ids={"bug-report": "2", "feature-request": "3", "support": "4"})
    resources = MagicMock(spec=LocalResources, table_name="t", job_queue_url="q", max_receive_count=3)

    environment = stack._function_environment(discord, MagicMock(), resources)

    assert environment["FEEDS_ALLOW_PRIVATE_URLS"] == "true"
