"""Fetching a feed URL that a server's staff typed in, without letting it reach inside AWS.

A feed URL is chosen by whoever manages a Discord server, so it is untrusted input that Flexcord
fetches from inside its own network. The fetcher therefore:

* **Talks only to the public internet.** Only http and https, no user name or password in the
  URL, and every address the host resolves to must be public: not loopback, private, link-local
  (the instance metadata service at 169.254.169.254 is the classic target), shared (100.64/10),
  multicast, reserved or unspecified, in IPv4, IPv6 or IPv4 wrapped in IPv6. ``allow_private``
  turns this off for local development and tests.
* **Follows redirects by hand,** checking every hop the same way, so a public URL cannot
  redirect into the private network.
* **Bounds the work.** The body is streamed and abandoned once it is larger than ``max_bytes``
  (or announces that it will be) or once the whole fetch has taken ``total_seconds``: a server
  that trickles a byte at a time stays under every per-read timeout, and must not stall a poller
  that has other feeds to read. Compressed bodies are counted after decompression.
* **Asks politely.** Conditional requests (If-None-Match, If-Modified-Since), so an unchanged
  feed costs a 304, and a User-Agent that says who is asking.

Known gap, DNS rebinding: the addresses are checked, then requests resolves the host again to
connect, and a hostile DNS server with a zero TTL can answer the second lookup with a private
address. The check stops typed-in and redirected private URLs, not that. Closing it means
connecting to the checked address itself (pinning it in a custom transport adapter, with TLS
still verified against the host name). Until then it matters where the fetcher runs: Flexcord's
functions are outside any VPC (template.yaml), so what a rebinding could reach is the sandbox's
own loopback, such as the Lambda Runtime API; a fetcher placed in a VPC would widen that.

Another: ``total_seconds`` is checked between reads of the body. Connecting and reading the status
line and headers are bounded by the connect and read timeouts (both capped at the time left), but
a server trickling its headers a byte at a time can outlast ``total_seconds`` there; the Lambda
timeout is the backstop.

requests is imported when the first fetcher is made, not with this module, so code that only
validates feed settings (the interactions function) stays light.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    import requests

Resolver = Callable[[str, int], list[str]]
"""Host and port to the IP addresses (as strings) a connection could go to."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK_SIZE = 64 * 1024
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class FetchResult:
    #: The server answered 304: the feed has not changed since ``etag``/``last_modified``.
    not_modified: bool
    body: bytes
    #: Validators for the next conditional request (the sent ones again after a 304 without them).
    etag: str | None
    last_modified: str | None
    #: Where the feed was found after redirects.
    final_url: str
    content_type: str | None


class FeedFetchError(Exception):
    """The feed could not be fetched; ``reason`` is short and meant for staff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsafeFeedUrl(FeedFetchError):
    """The URL (or a redirect) points somewhere Flexcord does not fetch from."""


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, as the system resolver answers."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_feed_url(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> None:
    """Raise ``UnsafeFeedUrl`` unless ``url`` is an http(s) URL on public addresses only, or
    ``FeedFetchError`` when its host does not resolve."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise UnsafeFeedUrl(f"not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise UnsafeFeedUrl("the URL must start with https:// or http://")
    if scheme not in _DEFAULT_PORTS:
        raise UnsafeFeedUrl(f"only http and https feeds can be followed, not {scheme}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeFeedUrl("the URL must not contain a user name or password")
    host = parts.hostname
    if not host:
        raise UnsafeFeedUrl("the URL has no host name")
    if allow_private:
        return
    literal = _ip_address(host)
    addresses = [literal] if literal is not None else _resolve(host, port or _DEFAULT_PORTS[scheme], resolver)
    for address in addresses:
        if not is_public_address(address):
            raise UnsafeFeedUrl(f"address {address} is private")


def is_public_address(address: IPAddress) -> bool:
    """Whether ``address`` is on the public internet (see the module docstring)."""
    # is_global excludes private, loopback, link-local, shared, unspecified and 6to4 (2002::/16)
    # addresses, and IPv4-mapped ones by their IPv4 address. The rest of ::/8, where IPv4-mapped
    # and NAT64 (64:ff9b::/96) addresses live, is reserved: refused even when the IPv4 inside is
    # public, which no feed needs. Multicast has global scopes, but is no web server.
    return address.is_global and not address.is_multicast and not address.is_reserved


def _ip_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        answers = resolver(host, port)
    except (OSError, UnicodeError):
        raise FeedFetchError(f"could not find the address of {host}") from None
    addresses = [address for answer in answers if (address := _ip_address(answer)) is not None]
    if not addresses or len(addresses) != len(answers):
        raise FeedFetchError(f"could not find the address of {host}")
    return addresses


class FeedFetcher:
    """Fetches feeds within the limits given (see the module docstring)."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = resolve,
        session: requests.Session | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        total_seconds: float = 20.0,
        max_bytes: int = 2_000_000,
        max_redirects: int = 5,
        user_agent: str = "Flexcord feed reader (+https://github.com/flexcord)",
    ) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self.session = session if session is not None else _new_session()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_seconds = total_seconds
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET the feed, following up to ``max_redirects`` redirects.

        Raises ``UnsafeFeedUrl`` for a URL or redirect that is not allowed and ``FeedFetchError``
        for every other failure (HTTP errors, timeouts, oversized bodies).
        """
        deadline = time.monotonic() + self.total_seconds
        headers = self._headers(etag, last_modified)
        current = url.strip()
        for _ in range(self.max_redirects + 1):
            check_feed_url(current, allow_private=self.allow_private, resolver=self.resolver)
            # Connecting and every read wait at most the time left, so a silent server cannot
            # outlast the total.
            left = self._time_left(deadline)
            connect_timeout, read_timeout = min(self.connect_timeout, left), min(self.read_timeout, left)
            response = self._get(current, headers, connect_timeout, read_timeout)
            try:
                if response.status_code in _REDIRECTS:
                    current = self._redirect_target(current, response)
                    continue
                return self._result(
                    current,
                    response,
                    etag=etag,
                    last_modified=last_modified,
                    deadline=deadline,
                    read_timeout=read_timeout,
                )
            finally:
                response.close()
        raise FeedFetchError("too many redirects")

    def _headers(self, etag: str | None, last_modified: str | None) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent, "Accept": _ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers

    def _get(
        self, url: str, headers: dict[str, str], connect_timeout: float, read_timeout: float
    ) -> requests.Response:
        import requests

        try:
            return self.session.get(
                url,
                headers=headers,
                timeout=(connect_timeout, read_timeout),
                allow_redirects=False,
                stream=True,
            )
        except requests.exceptions.ConnectTimeout:
            raise FeedFetchError(f"could not connect within {_seconds(connect_timeout)}") from None
        except requests.exceptions.ReadTimeout:
            raise FeedFetchError(f"timed out after {_seconds(read_timeout)}") from None
        except requests.exceptions.SSLError:
            raise FeedFetchError("the server's TLS certificate could not be verified") from None
        except requests.exceptions.ConnectionError:
            raise FeedFetchError(f"could not connect to {urlsplit(url).hostname}") from None
        except requests.exceptions.RequestException as error:
            raise FeedFetchError(f"the request failed ({type(error).__name__})") from None

    def _redirect_target(self, current: str, response: requests.Response) -> str:
        location = response.headers.get("Location")
        if not location:
            raise FeedFetchError(f"HTTP {response.status_code} without a Location")
        return urljoin(current, location.strip())

    def _result(
        self,
        url: str,
        response: requests.Response,
        *,
        etag: str | None,
        last_modified: str | None,
        deadline: float,
        read_timeout: float,
    ) -> FetchResult:
        status = response.status_code
        content_type = response.headers.get("Content-Type")
        if status == 304:
            return FetchResult(
                not_modified=True,
                body=b"",
                etag=response.headers.get("ETag") or etag,
                last_modified=response.headers.get("Last-Modified") or last_modified,
                final_url=url,
                content_type=content_type,
            )
        if not 200 <= status < 300:
            raise FeedFetchError(f"HTTP {status}")
        return FetchResult(
            not_modified=False,
            body=self._read_body(response, deadline, read_timeout),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            final_url=url,
            content_type=content_type,
        )

    def _read_body(self, response: requests.Response, deadline: float, read_timeout: float) -> bytes:
        from urllib3.exceptions import HTTPError, ReadTimeoutError

        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FeedFetchError(f"larger than {_size(self.max_bytes)}")
        body = bytearray()
        try:
            # read1 returns whatever has arrived (at most a chunk, decompressed), where
            # iter_content would wait for a full chunk: a trickle would stall it past the deadline.
            while chunk := response.raw.read1(_CHUNK_SIZE, decode_content=True):
                body += chunk
                if len(body) > self.max_bytes:
                    raise FeedFetchError(f"larger than {_size(self.max_bytes)}")
                if time.monotonic() > deadline:
                    raise FeedFetchError(f"took longer than {_seconds(self.total_seconds)}")
        except ReadTimeoutError:
            raise FeedFetchError(f"timed out after {_seconds(read_timeout)}") from None
        except HTTPError as error:
            raise FeedFetchError(f"the download broke off ({type(error).__name__})") from None
        return bytes(body)

    def _time_left(self, deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FeedFetchError(f"took longer than {_seconds(self.total_seconds)}")
        return left


def _new_session() -> requests.Session:
    import requests

    session = requests.Session()
    # No proxies or .netrc credentials from the environment: the address check must be about the
    # server actually connected to, and a feed host must never receive someone's saved password.
    session.trust_env = False
    return session


def _seconds(duration: float) -> str:
    return f"{duration:.1f}".removesuffix(".0") + " s"


def _size(limit: int) -> str:
    if limit >= 1_000_000:
        return f"{limit / 1_000_000:g} MB"
    if limit >= 1000:
        return f"{limit / 1000:g} kB"
    return f"{limit} bytes"
