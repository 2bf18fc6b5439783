"""What one HTTP request may cost serve: bytes, seconds, connections and JSON depth.

A limit checked after the fact is no limit: a chunked body has no Content-Length, so bytes
are counted as they arrive and reading stops at the first byte past the limit. Headers and
body must arrive within READ_TIMEOUT_S (uvicorn times out only idle keep-alive connections,
so ``GuardedH11Protocol`` closes a connection whose request has not begun by then), and
uvicorn answers 503 past MAX_CONNECTIONS open connections.
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.h11_impl import H11Protocol

from resnet_core.errors import WorkbenchError

READ_TIMEOUT_S = 10.0  # headers, then the whole body, each within this
MAX_CONNECTIONS = 256  # open connections; uvicorn answers 503 beyond
KEEP_ALIVE_S = 5  # idle keep-alive connections close after this


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
