"""What one HTTP request may cost serve, and reading it within that: bytes, seconds,
connections, JSON depth, images (how many, how large, how many pixels by their headers).

A limit checked after the fact is no limit: a chunked body has no Content-Length, so bytes
are counted as they arrive and reading stops at the first byte past the limit. Headers and
body must arrive within READ_TIMEOUT_S (uvicorn times out only idle keep-alive connections,
so ``GuardedH11Protocol`` closes a connection whose request has not begun by then), and
uvicorn answers 503 past MAX_CONNECTIONS open connections.
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
    body = await read_body(request, MAX_BODY_BYTES)
    if kind == "multipart/form-data":
        blobs = await _multipart_files(request, body)
    else:
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


async def _multipart_files(request, body: bytes) -> list[bytes]:
    """The ``file`` parts of a multipart body already read (and counted) in full."""
    from starlette.exceptions import HTTPException
    from starlette.formparsers import MultiPartException
    from starlette.requests import Request

    async def replay() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=MAX_IMAGES + 1,
                                                         max_fields=MAX_IMAGES + 1)
    except (HTTPException, MultiPartException, ValueError, KeyError) as e:
        detail = getattr(e, "detail", None) or getattr(e, "message", None) or first_line(e, 300)
        raise ClientError(400, f"could not read the multipart body ({first_line(detail, 300)}); send "
                               "files under 'file' with a boundary in the content type") from e
    try:
        parts = form.getlist("file")
        if any(isinstance(p, str) for p in parts):
            raise ClientError(400, "the field 'file' must hold image files")
        return [await p.read() for p in parts]
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
    all arrived READ_TIMEOUT_S after it opened or after its last response (slow clients)."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm_header_timer()

    def on_response_complete(self) -> None:
        self._arm_header_timer()  # before super(): it may begin a pipelined request at once
        super().on_response_complete()

    def connection_lost(self, exc) -> None:
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
