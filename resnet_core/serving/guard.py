"""What one HTTP request may cost serve, and reading it within that: bytes, seconds,
connections, JSON depth, images (how many, how large, how many pixels by their headers).

A limit checked after the fact is no limit: a chunked body has no Content-Length, so bytes
are counted as they arrive and reading stops at the first byte past the limit. Headers and
body must arrive within READ_TIMEOUT_S (uvicorn times out only idle keep-alive connections,
so ``GuardedH11Protocol`` closes a connection whose request has not begun by then).

And what all requests together may cost: the bodies held at once share MAX_INFLIGHT_BYTES
(16 bodies of 56 MiB once held +2.9 GiB; past the budget a request gets a JSON 503), a
multipart body is parsed as it streams (it was read whole, then replayed: 183 MiB of RSS per
56 MiB body), and ``GuardedH11Protocol`` answers JSON 503 past MAX_CONNECTIONS open
connections or MAX_PER_CLIENT from one address (300 half-open connections from one machine
had kept every real /predict at 503 for 25 s).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json

from uvicorn.protocols.http.h11_impl import H11Protocol

from resnet_core.errors import WorkbenchError, first_line

READ_TIMEOUT_S = 10.0  # headers, then the whole body, each within this
MAX_CONNECTIONS = 256  # open connections; uvicorn answers 503 beyond
KEEP_ALIVE_S = 5  # idle keep-alive connections close after this
MAX_IMAGES = 64  # per request
MAX_IMAGE_BYTES = 8 * 2**20  # per image file
MAX_BODY_BYTES = 64 * 2**20
MAX_REQUEST_PIXELS = 64_000_000  # per request (decoded RGB: about 200 MB)
MAX_INFLIGHT_BYTES = 256 * 2**20  # request bodies held at once, every client together
MAX_PER_CLIENT = 32  # open connections from one address: one machine cannot take them all
BUSY = "the service is reading too many requests at once; retry in a moment"


class BodyBudget:
    """Bytes of request bodies the service holds at once (one per process; the event loop is
    one thread, so no lock). A request's bytes are given back when its answer is made."""

    def __init__(self, limit: int = MAX_INFLIGHT_BYTES) -> None:
        self.limit, self.held = limit, 0

    def take(self, n: int) -> bool:
        if self.held + n > self.limit:
            return False
        self.held += n
        return True

    def give(self, n: int) -> None:
        self.held = max(0, self.held - n)


BODIES = BodyBudget()


def held_by(request) -> int:
    """The body bytes this request holds from ``BODIES`` (given back once it is answered)."""
    return getattr(request.state, "body_bytes", 0)


def _hold(request, n: int) -> None:
    if not BODIES.take(n):
        raise ClientError(503, BUSY)
    request.state.body_bytes = held_by(request) + n


class ClientError(WorkbenchError):
    """A request the service refuses: its status code and one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_body(request, limit: int, what: str = "the request") -> bytes:
    """The body, counted as it arrives: 413 at the first byte past ``limit``, 408 when the
    whole of it has not arrived within READ_TIMEOUT_S."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise ClientError(413, f"{what} is {int(length) / 2**20:.1f} MiB; at most {_size(limit)}")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):  # one deadline, not a task per chunk
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ClientError(413, f"{what} is over {_size(limit)}; at most {_size(limit)}")
                _hold(request, len(chunk))
                chunks.append(chunk)
    except TimeoutError:
        raise ClientError(408, f"{what} did not arrive within {READ_TIMEOUT_S:g} s") from None
    return b"".join(chunks)


def parse_json(body: bytes, expected: str):
    """JSON, or a 400 that says what was expected (nesting too deep for Python included)."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ClientError(400, f"send JSON {expected}") from e


async def read_images(request) -> list[bytes]:
    """The request's images: multipart ``file`` parts, or JSON ``{"images": [base64, ...]}``."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("multipart/form-data", "application/json"):
        raise ClientError(415, f"content type {kind[:60] or 'none'!r}; send multipart/form-data "
                               "with files under 'file', or application/json with base64 images")
    if kind == "multipart/form-data":
        blobs = await _multipart_files(request)
    else:
        body = await read_body(request, MAX_BODY_BYTES)
        try:
            images = parse_json(body, '{"images": [BASE64, ...]}')["images"]
            if not isinstance(images, list) or not all(isinstance(s, str) for s in images):
                raise TypeError
            blobs = [base64.b64decode(s, validate=True) for s in images]
        except (ValueError, KeyError, TypeError, binascii.Error) as e:
            raise ClientError(400, 'send JSON {"images": [BASE64, ...]}') from e
    if not blobs:
        raise ClientError(400, "no images: send one or more files under the field 'file'")
    if len(blobs) > MAX_IMAGES:
        raise ClientError(413, f"{len(blobs)} images in one request; at most {MAX_IMAGES}")
    for i, blob in enumerate(blobs):
        if len(blob) > MAX_IMAGE_BYTES:
            raise ClientError(413, f"image {i} is {len(blob) / 2**20:.1f} MiB; at most "
                                   f"{MAX_IMAGE_BYTES // 2**20} MiB per image")
    return blobs


async def _multipart_files(request) -> list[bytes]:
    """The ``file`` parts of a multipart body, parsed as it arrives (Starlette's parser: parts
    over 1 MiB go to a temporary file, not memory), its bytes counted as ``read_body`` counts
    them: 413 past MAX_BODY_BYTES, 408 past READ_TIMEOUT_S, 503 past the shared budget."""
    from starlette.exceptions import HTTPException
    from starlette.formparsers import MultiPartException
    from starlette.requests import Request

    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise ClientError(413, f"the request is {int(length) / 2**20:.1f} MiB; at most {_size(MAX_BODY_BYTES)}")
    size = 0

    async def counted() -> dict:
        nonlocal size
        message = await request.receive()
        size += len(message.get("body", b""))
        if size > MAX_BODY_BYTES:
            raise ClientError(413, f"the request is over {_size(MAX_BODY_BYTES)}; at most {_size(MAX_BODY_BYTES)}")
        _hold(request, len(message.get("body", b"")))
        return message

    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            form = await Request(request.scope, counted).form(max_files=MAX_IMAGES + 1,
                                                              max_fields=MAX_IMAGES + 1)
    except TimeoutError:
        raise ClientError(408, f"the request did not arrive within {READ_TIMEOUT_S:g} s") from None
    except (HTTPException, MultiPartException, ValueError, KeyError) as e:
        detail = getattr(e, "detail", None) or getattr(e, "message", None) or first_line(e, 300)
        raise ClientError(400, f"could not read the multipart body ({first_line(detail, 300)}); send "
                               "files under 'file' with a boundary in the content type") from e
    try:
        parts = form.getlist("file")
        if any(isinstance(p, str) for p in parts):
            raise ClientError(400, "the field 'file' must hold image files")
        if len(parts) > MAX_IMAGES:
            raise ClientError(413, f"{len(parts)} images in one request; at most {MAX_IMAGES}")
        blobs = []
        for i, part in enumerate(parts):
            if (part.size or 0) > MAX_IMAGE_BYTES:
                raise ClientError(413, f"image {i} is {part.size / 2**20:.1f} MiB; at most "
                                       f"{MAX_IMAGE_BYTES // 2**20} MiB per image")
            blobs.append(await part.read())
        return blobs
    finally:
        await form.close()


def check_pixels(blobs: list[bytes]) -> list[tuple[int, int]]:
    """(width, height) of each image from its header; 413 past decode's MAX_IMAGE_PIXELS per
    image (the one limit, as on the app's pages) or MAX_REQUEST_PIXELS in all, 400 for what is
    not an image. Nothing is decoded."""
    from resnet_core.data.decode import MAX_IMAGE_PIXELS as MAX_PIXELS
    from resnet_core.data.decode import image_size

    sizes = []
    for i, blob in enumerate(blobs):
        try:
            width, height = image_size(io.BytesIO(blob))
        except WorkbenchError as e:
            raise ClientError(400, f"image {i}: {first_line(e, 300)}") from e
        if width * height > MAX_PIXELS:
            raise ClientError(413, f"image {i} is {width:,} x {height:,} pixels; at most "
                                   f"{MAX_PIXELS / 1e6:.0f} million pixels per image")
        sizes.append((width, height))
    total = sum(w * h for w, h in sizes)
    if total > MAX_REQUEST_PIXELS:
        raise ClientError(413, f"the images hold {total / 1e6:.0f} million pixels; at most "
                               f"{MAX_REQUEST_PIXELS / 1e6:.0f} million per request")
    return sizes


def _size(n: int) -> str:
    return f"{n // 2**20} MiB" if n >= 2**20 else f"{n // 2**10} KiB"


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that closes a connection whose request line and headers have not
    all arrived READ_TIMEOUT_S after it opened or after its last response (slow clients), and
    answers a JSON 503 and closes past MAX_CONNECTIONS open connections or MAX_PER_CLIENT from
    one address (an IPv6 client by its /64)."""

    open_by_client: dict[str, int] = {}  # every connection of this process, by client

    def connection_made(self, transport) -> None:
        from resnet_core.hosts import address_key

        peer = transport.get_extra_info("peername")
        self._client = address_key(str(peer[0])) if peer else "unknown"
        counts = GuardedH11Protocol.open_by_client
        if sum(counts.values()) >= MAX_CONNECTIONS or counts.get(self._client, 0) >= MAX_PER_CLIENT:
            self._client = None  # not counted: it is refused and closed at once
            transport.write(_busy_response())
            transport.close()
            return
        counts[self._client] = counts.get(self._client, 0) + 1
        super().connection_made(transport)
        self._arm_header_timer()

    def on_response_complete(self) -> None:
        self._arm_header_timer()  # before super(): it may begin a pipelined request at once
        super().on_response_complete()

    def connection_lost(self, exc) -> None:
        client = getattr(self, "_client", None)
        if client is None:
            return  # refused in connection_made: uvicorn never saw it
        counts = GuardedH11Protocol.open_by_client
        counts[client] -= 1
        if not counts[client]:
            del counts[client]
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
        self._waiting_since = self.cycle
        self._header_timer = self.loop.call_later(READ_TIMEOUT_S, self._headers_overdue)

    def _headers_overdue(self) -> None:
        # A new request's headers make a new cycle; the same cycle means none began.
        if self.cycle is self._waiting_since and not self.transport.is_closing():
            self.transport.close()


def _busy_response() -> bytes:
    body = json.dumps({"error": "the service has too many open connections (from your address "
                                f"at most {MAX_PER_CLIENT}, in all {MAX_CONNECTIONS}); retry in a "
                                "moment"}).encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
            b"connection: close\r\nretry-after: 1\r\ncontent-length: " + str(len(body)).encode()
            + b"\r\n\r\n" + body)


class HostAllowList:
    """ASGI middleware: a request whose Host header is not one of ``hosts`` (names without
    ports: ``resnet_core.hosts.allowed_hosts``) gets 403 with a JSON error. A page on another
    site that points its own name at this machine (DNS rebinding) then reads nothing."""

    def __init__(self, app, hosts) -> None:
        self.app = app
        self.hosts = frozenset(h.lower() for h in hosts)

    async def __call__(self, scope, receive, send) -> None:
        from resnet_core.hosts import host_name

        if scope["type"] == "http":
            host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
            if host_name(host) not in self.hosts:
                body = json.dumps({"error": f"this service answers only its own addresses; Host "
                                            f"{host[:80]!r} is not one of them"}).encode()
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
