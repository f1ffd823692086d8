"""Fetching feeds: against a real HTTP server on 127.0.0.1 for the protocol (conditional requests,
redirects, errors, size and time limits), and with injected DNS answers for the address guard.

The loopback server is itself a private address, so tests of the guard that need a real server
route a public-looking host name (``feeds.example``, "resolving" to 93.184.216.34) to it with a
requests adapter: the fetcher checks the name's injected address, and the adapter connects to
the local server instead, as DNS would if it answered with it. Limits are injected small
(``max_bytes=1000``, ``total_seconds=0.5``) so nothing depends on tight timing.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from flexcord.feeds import FeedFetcher, FeedFetchError, UnsafeFeedUrl, check_feed_url

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title></channel></rss>"
ETAG = '"v1"'
LAST_MODIFIED = "Thu, 03 Dec 2026 12:00:00 GMT"
PUBLIC = "93.184.216.34"
#: Long enough that a fetcher waiting for it fails its test; released when the server stops.
HOLD_SECONDS = 10.0

Route = Callable[["FeedHandler"], None]


class FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FeedServer

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers)))
        route = ROUTES.get(urlsplit(self.path).path)
        try:
            if route is None:
                self.reply(404, b"no such route")
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetcher gave up on a response it did not want, as it should

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.reply(status, headers={"Location": location})

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FeedHandler)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stopping = threading.Event()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-response is what the size and time tests do

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


def feed(handler: FeedHandler) -> None:
    if handler.headers.get("If-None-Match") == ETAG:
        handler.reply(304, headers={"ETag": ETAG})
        return
    handler.reply(
        200,
        FEED,
        {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": ETAG, "Last-Modified": LAST_MODIFIED},
    )


def hop(handler: FeedHandler) -> None:
    """/hop?left=N redirects N times (alternating relative and absolute locations), then to /feed."""
    left = int(urlsplit(handler.path).query.removeprefix("left="))
    if left == 0:
        handler.redirect("/feed", 301)
    elif left % 2:
        handler.redirect(f"/hop?left={left - 1}", 307)
    else:
        handler.redirect(f"http://{handler.headers['Host']}/hop?left={left - 1}", 302)


def declared_too_big(handler: FeedHandler) -> None:
    """Announces 50 MB, sends a little, then holds the connection open: a fetcher that read on
    would time out instead of refusing."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(50_000_000))
    handler.end_headers()
    handler.wfile.write(b"<rss>")
    handler.wfile.flush()
    handler.server.stopping.wait(HOLD_SECONDS)


def chunked(handler: FeedHandler) -> None:
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for _ in range(5):
        handler.wfile.write(b"3e8\r\n" + b"x" * 1000 + b"\r\n")
        handler.wfile.flush()
    handler.wfile.write(b"0\r\n\r\n")


def gzipped(handler: FeedHandler) -> None:
    handler.reply(200, gzip.compress(FEED), {"Content-Encoding": "gzip"})


def gzip_bomb(handler: FeedHandler) -> None:
    """10 MB of spaces, about 10 kB on the wire: under any byte limit until decompressed."""
    handler.reply(200, gzip.compress(b" " * 10_000_000), {"Content-Encoding": "gzip"})


def trickle(handler: FeedHandler) -> None:
    """A byte every 20 ms: each read is quick, so no read timeout fires."""
    handler.send_response(200)
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    deadline = time.monotonic() + HOLD_SECONDS
    while time.monotonic() < deadline and not handler.server.stopping.is_set():
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.02)


def silent(handler: FeedHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    handler.wfile.flush()
    handler.server.stopping.wait(HOLD_SECONDS)


ROUTES: dict[str, Route] = {
    "/feed": feed,
    "/hop": hop,
    "/loop": lambda handler: handler.redirect("/loop"),
    "/no-location": lambda handler: handler.reply(302),
    "/gone": lambda handler: handler.reply(404, b"not here"),
    "/broken": lambda handler: handler.reply(500, b"oops"),
    "/busy": lambda handler: handler.reply(503, b"later", {"Retry-After": "120"}),
    "/declared-too-big": declared_too_big,
    "/too-big": lambda handler: handler.reply(200, b"x" * 1001),
    "/just-fits": lambda handler: handler.reply(200, b"x" * 1000),
    "/chunked": chunked,
    "/gzipped": gzipped,
    "/gzip-bomb": gzip_bomb,
    "/trickle": trickle,
    "/silent": silent,
    "/to-public": lambda handler: handler.redirect("http://feeds.example/feed"),
    "/to-internal": lambda handler: handler.redirect("http://internal.example/feed"),
    "/to-metadata": lambda handler: handler.redirect("http://169.254.169.254/latest/meta-data/"),
    "/to-file": lambda handler: handler.redirect("file:///etc/passwd"),
}


@pytest.fixture(scope="module")
def running_server() -> Iterator[FeedServer]:
    server = FeedServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.stopping.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def server(running_server: FeedServer) -> FeedServer:
    running_server.requests.clear()
    return running_server


def local_fetcher(**limits: Any) -> FeedFetcher:
    return FeedFetcher(allow_private=True, **limits)


def fake_dns(answers: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolver(host: str, port: int) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    return resolver


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} should not have been resolved")


class LoopbackAdapter(HTTPAdapter):
    """Connects every request to the local server, keeping the host name in the Host header."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        request.headers["Host"] = parts.netloc
        request.url = urlunsplit(("http", f"127.0.0.1:{self.port}", parts.path, parts.query, ""))
        return super().send(request, *args, **kwargs)


def guarded_fetcher(server: FeedServer) -> FeedFetcher:
    """A fetcher with the address guard on, in a world where feeds.example is public and
    internal.example is on the private network; both are served by the local server."""
    session = requests.Session()
    session.mount("http://", LoopbackAdapter(server.server_address[1]))
    dns = fake_dns({"feeds.example": [PUBLIC], "internal.example": ["10.0.0.5"]})
    return FeedFetcher(allow_private=False, resolver=dns, session=session)


def fetch_error(fetcher: FeedFetcher, url: str) -> FeedFetchError:
    with pytest.raises(FeedFetchError) as failed:
        fetcher.fetch(url)
    return failed.value


# --- the protocol, against the local server ---


def test_a_feed_is_fetched_with_its_validators(server: FeedServer) -> None:
    result = local_fetcher().fetch(f"{server.origin}/feed")

    assert not result.not_modified
    assert result.body == FEED
    assert result.etag == ETAG
    assert result.last_modified == LAST_MODIFIED
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.final_url == f"{server.origin}/feed"
    (_, headers), *_ = server.requests
    assert headers["User-Agent"] == "Flexcord feed reader (+https://github.com/flexcord)"
    assert "If-None-Match" not in headers


def test_an_unchanged_feed_answers_304(server: FeedServer) -> None:
    result = local_fetcher().fetch(f"{server.origin}/feed", etag=ETAG, last_modified=LAST_MODIFIED)

    assert result.not_modified
    assert result.body == b""
    assert result.etag == ETAG
    # The server did not repeat Last-Modified: the one sent is kept for the next poll.
    assert result.last_modified == LAST_MODIFIED
    (_, headers), *_ = server.requests
    assert headers["If-None-Match"] == ETAG
    assert headers["If-Modified-Since"] == LAST_MODIFIED


@pytest.mark.parametrize(
    ("path", "reason"), [("/gone", "HTTP 404"), ("/broken", "HTTP 500"), ("/busy", "HTTP 503")]
)
def test_http_errors_are_reported_by_status(server: FeedServer, path: str, reason: str) -> None:
    error = fetch_error(local_fetcher(), f"{server.origin}{path}")
    assert error.reason == reason
    assert not isinstance(error, UnsafeFeedUrl)


def test_redirects_are_followed_up_to_the_limit(server: FeedServer) -> None:
    result = local_fetcher(max_redirects=5).fetch(f"{server.origin}/hop?left=4")
    assert result.body == FEED
    assert result.final_url == f"{server.origin}/feed"
    assert server.paths() == [
        "/hop?left=4",
        "/hop?left=3",
        "/hop?left=2",
        "/hop?left=1",
        "/hop?left=0",
        "/feed",
    ]


def test_one_redirect_too_many_is_refused(server: FeedServer) -> None:
    assert (
        fetch_error(local_fetcher(max_redirects=4), f"{server.origin}/hop?left=4").reason
        == "too many redirects"
    )
    assert len(server.paths()) == 5


def test_a_redirect_loop_ends(server: FeedServer) -> None:
    assert fetch_error(local_fetcher(), f"{server.origin}/loop").reason == "too many redirects"
    assert server.paths() == ["/loop"] * 6


def test_a_redirect_without_a_location_is_an_error(server: FeedServer) -> None:
    assert (
        fetch_error(local_fetcher(), f"{server.origin}/no-location").reason == "HTTP 302 without a Location"
    )


def test_a_body_up_to_the_limit_is_fine(server: FeedServer) -> None:
    assert local_fetcher(max_bytes=1000).fetch(f"{server.origin}/just-fits").body == b"x" * 1000


def test_a_body_over_the_limit_is_refused(server: FeedServer) -> None:
    assert fetch_error(local_fetcher(max_bytes=1000), f"{server.origin}/too-big").reason == "larger than 1 kB"


def test_a_declared_length_over_the_limit_is_refused_without_reading(server: FeedServer) -> None:
    # Reading on would end in the read timeout, not in this reason.
    fetcher = local_fetcher(max_bytes=2_000_000, read_timeout=1.0)
    assert fetch_error(fetcher, f"{server.origin}/declared-too-big").reason == "larger than 2 MB"


def test_a_chunked_body_without_a_length_is_cut_off_at_the_limit(server: FeedServer) -> None:
    assert (
        fetch_error(local_fetcher(max_bytes=1500), f"{server.origin}/chunked").reason == "larger than 1.5 kB"
    )
    assert local_fetcher(max_bytes=5000).fetch(f"{server.origin}/chunked").body == b"x" * 5000


def test_compressed_bodies_are_decompressed_and_counted_decompressed(server: FeedServer) -> None:
    assert local_fetcher().fetch(f"{server.origin}/gzipped").body == FEED
    assert (
        fetch_error(local_fetcher(max_bytes=1_000_000), f"{server.origin}/gzip-bomb").reason
        == "larger than 1 MB"
    )


def test_a_trickling_server_cannot_stall_the_fetch(server: FeedServer) -> None:
    fetcher = local_fetcher(total_seconds=0.5, read_timeout=5.0)
    started = time.monotonic()
    assert fetch_error(fetcher, f"{server.origin}/trickle").reason == "took longer than 0.5 s"
    # The trickle goes on for HOLD_SECONDS; the fetcher must leave long before.
    assert time.monotonic() - started < 3


def test_a_silent_server_times_out(server: FeedServer) -> None:
    fetcher = local_fetcher(read_timeout=0.5)
    assert fetch_error(fetcher, f"{server.origin}/silent").reason == "timed out after 0.5 s"


def test_a_refused_connection_is_an_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    assert (
        fetch_error(local_fetcher(), f"http://127.0.0.1:{port}/feed").reason
        == "could not connect to 127.0.0.1"
    )


# --- the address guard on a real fetch ---


def test_a_public_host_is_fetched(server: FeedServer) -> None:
    result = guarded_fetcher(server).fetch("http://feeds.example/to-public")
    assert result.body == FEED
    assert result.final_url == "http://feeds.example/feed"


def test_a_private_host_is_refused_before_any_request(server: FeedServer) -> None:
    error = fetch_error(guarded_fetcher(server), "http://internal.example/feed")
    assert isinstance(error, UnsafeFeedUrl)
    assert error.reason == "address 10.0.0.5 is private"
    assert server.requests == []


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/to-internal", "address 10.0.0.5 is private"),
        ("/to-metadata", "address 169.254.169.254 is private"),
        ("/to-file", "only http and https feeds can be followed, not file"),
    ],
)
def test_a_redirect_into_the_private_network_is_refused(server: FeedServer, path: str, reason: str) -> None:
    error = fetch_error(guarded_fetcher(server), f"http://feeds.example{path}")
    assert isinstance(error, UnsafeFeedUrl)
    assert error.reason == reason
    # The redirect was refused, not followed: the local server saw only the first request.
    assert server.paths() == [path]


def test_an_unknown_host_is_an_error_not_a_refusal() -> None:
    fetcher = FeedFetcher(allow_private=False, resolver=fake_dns({}))
    error = fetch_error(fetcher, "https://nowhere.example/feed")
    assert error.reason == "could not find the address of nowhere.example"
    assert not isinstance(error, UnsafeFeedUrl)


# --- the address guard on its own ---

PRIVATE_ADDRESSES = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.5",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",
    "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
    "100.64.0.1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
]


@pytest.mark.parametrize("address", PRIVATE_ADDRESSES)
def test_hosts_resolving_to_private_addresses_are_refused(address: str) -> None:
    with pytest.raises(UnsafeFeedUrl) as refused:
        check_feed_url(
            "https://feeds.example/rss", allow_private=False, resolver=fake_dns({"feeds.example": [address]})
        )
    assert refused.value.reason == f"address {address} is private"


@pytest.mark.parametrize("address", PRIVATE_ADDRESSES)
def test_literal_private_addresses_are_refused_without_dns(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeFeedUrl, match="is private"):
        check_feed_url(f"http://{host}/rss", allow_private=False, resolver=no_dns)


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    dns = fake_dns({"feeds.example": [PUBLIC, "2606:2800:220:1:248:1893:25c8:1946", "10.0.0.5"]})
    with pytest.raises(UnsafeFeedUrl, match=r"address 10\.0\.0\.5 is private"):
        check_feed_url("https://feeds.example/rss", allow_private=False, resolver=dns)


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_pass(address: str) -> None:
    check_feed_url(
        "https://feeds.example/rss", allow_private=False, resolver=fake_dns({"feeds.example": [address]})
    )
    host = f"[{address}]" if ":" in address else address
    check_feed_url(f"http://{host}:8080/rss", allow_private=False, resolver=no_dns)


def test_the_resolver_is_asked_with_the_port_the_url_implies() -> None:
    asked: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return [PUBLIC]

    check_feed_url("https://Feeds.Example/rss", allow_private=False, resolver=resolver)
    check_feed_url("http://feeds.example:8080/rss", allow_private=False, resolver=resolver)
    assert asked == [("feeds.example", 443), ("feeds.example", 8080)]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https feeds can be followed, not file"),
        ("ftp://feeds.example/rss.xml", "only http and https feeds can be followed, not ftp"),
        ("gopher://feeds.example/", "only http and https feeds can be followed, not gopher"),
        ("feeds.example/rss", "the URL must start with https:// or http://"),
        ("http://user:pass@feeds.example/rss", "the URL must not contain a user name or password"),
        ("https://token@feeds.example/rss", "the URL must not contain a user name or password"),
        ("http:///rss", "the URL has no host name"),
    ],
)
def test_urls_that_are_not_plain_web_addresses_are_refused(url: str, reason: str) -> None:
    for allow_private in (False, True):
        with pytest.raises(UnsafeFeedUrl) as refused:
            check_feed_url(url, allow_private=allow_private, resolver=fake_dns({"feeds.example": [PUBLIC]}))
        assert refused.value.reason == reason


def test_allow_private_lets_local_addresses_through() -> None:
    check_feed_url("http://127.0.0.1:8080/rss", allow_private=True, resolver=no_dns)
    check_feed_url("http://localhost/rss", allow_private=True, resolver=no_dns)
