"""The HTTP/1.1 protocol the server runs: uvicorn's httptools protocol with the limits it lacks,
enforced before the application sees a request (SPEC.md §5, "Limits").

    uvicorn app.main:app --http app.core.protocol:BoundedHttpToolsProtocol

(`sen-api serve`, the Dockerfile and the Kubernetes Deployment all say so.) uvicorn on its own
waits for a request head for ever, keeps a connection that sends nothing for ever, and holds an
incomplete head in memory without bound: llhttp has no size limit, and httptools appends each
piece of a header value to the last (copying it quadratically): 40 MB of one header raised the
server's RSS by 190 MiB in the security review, 20 MB by 39 MiB here. h11 has a bound
(`h11_max_incomplete_event_size`, 16 KiB by default) but answers it 400, has no timeout
either, and parses in Python; hence a subclass of the httptools protocol rather than a switch
to h11. This one:

- answers 408 and closes a connection whose request head (request line and header fields) is
  not complete `SEN_REQUEST_READ_TIMEOUT` seconds after its first byte, or after the connection
  opened for its first request; a new connection that sends nothing is closed then, unanswered;
- answers 431 and closes once the header fields of an incomplete head exceed
  `SEN_MAX_HEADER_BYTES`, and 414 once a request target exceeds `MAX_TARGET_BYTES`, so an
  endless head costs at most the two limits plus a read or two of the socket (256 KiB each).
  A complete head is passed on whatever the size of its header fields, and the application
  answers those over the limit with 431 (app/core/middleware.py), with its request id and
  access log;
- closes a connection whose body is not complete `BODY_GRACE_SECONDS` after the application's
  own deadline for it (which answers 408): this catches the bodies the application is not
  reading, such as the rest of one it already refused with 401.

Answers written here are problem+json like the application's, with `Connection: close`.
Timers are armed only when a read leaves a request incomplete, so a request that arrives in one
read (nearly all of them) costs no timer and no clock read: within a microsecond of uvicorn's
own ~14 µs per request (both protocols fed the same requests in process; the difference is
about the run-to-run noise).
"""

import asyncio
import logging
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from app.core.config import get_settings
from app.core.errors import (
    PROBLEM_MEDIA_TYPE,
    ApiError,
    RequestHeaderFieldsTooLarge,
    RequestTimeout,
    UriTooLong,
    problem_body,
)

logger = logging.getLogger("app.protocol")

# The application answers a late body 408 at its deadline; the server closes the connection
# this much later if it is still open (the application was not reading, or had answered).
BODY_GRACE_SECONDS = 1.0
# A request target over this answers 414, complete or not: it bounds the memory of one that
# never ends (uvicorn appends each piece to the last), and no client sends such URLs. The app
# itself answers long query strings clearly (tests/contract/test_hostile_input.py sends
# 100 kB ones through ASGI); nginx refuses a request line over one of its large header
# buffers (8 or 16 KiB) with 414 already.
MAX_TARGET_BYTES = 64 * 1024

_BETWEEN, _HEAD, _BODY = 0, 1, 2

# The base class's methods called directly in the per-request path: `super()` builds an object
# on each call, and these run three or four times a request.
_base = HttpToolsProtocol


def _raw_answer(error: ApiError, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    body = problem_body(error.status, error.code, error.title, error.detail)
    parts = [STATUS_LINE[error.status]]
    for name, value in default_headers:
        parts += [name, b": ", value, b"\r\n"]
    parts += [
        b"content-type: ",
        PROBLEM_MEDIA_TYPE.encode(),
        b"\r\ncontent-length: ",
        str(len(body)).encode(),
        b"\r\nconnection: close\r\nx-content-type-options: nosniff\r\n"
        b"cache-control: no-store\r\n\r\n",
        body,
    ]
    return b"".join(parts)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self.max_head_bytes = settings.max_header_bytes
        self.read_timeout = settings.request_read_timeout_seconds
        self.phase = _BETWEEN
        self.messages = 0  # requests begun on this connection
        self.head_bytes = 0  # of the current incomplete head, counted read by read
        self.timed = 0  # messages * 4 + phase that the read timer was last armed for
        self.read_timer: asyncio.TimerHandle | None = None
        self.upgraded = False
        self.refusal: ApiError | None = None

    # The connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # The first request's head counts from the connection's opening; this timer also
        # closes a connection that never sends anything.
        self.timed = 1 * 4 + _HEAD
        self.read_timer = self.loop.call_later(self.read_timeout, self._on_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # Another protocol owns the connection from here on.
        self.upgraded = True
        self._disarm()
        super().handle_websocket_upgrade()

    def data_received(self, data: bytes) -> None:
        phase, messages = self.phase, self.messages
        _base.data_received(self, data)
        if self.phase == _BETWEEN:
            if self.messages != messages or phase != _BETWEEN:
                # A request ended in this read (nearly every read: it arrived whole).
                if self.read_timer is not None:
                    self._disarm()
            elif self.read_timer is None:
                # Bytes that began no request (llhttp skips blank lines before a request line,
                # and uvicorn has just cancelled its keep-alive timer): the next head's
                # deadline counts from them.
                self.timed = (messages + 1) * 4 + _HEAD
                self._arm(self.read_timeout)
            return
        if self.upgraded or self.transport.is_closing():
            return
        # Every byte of this read belongs to the incomplete head when the head was already under
        # way, or when this read began it with nothing before it. A read that also ended an
        # earlier (pipelined) request is not counted: the count stays a lower bound, and never
        # refuses a head under the limit.
        head_only = self.messages == messages or (
            phase == _BETWEEN and self.messages == messages + 1
        )
        if self.phase == _HEAD and head_only:
            self.head_bytes += len(data)
            # uvicorn gathers the target in `url` as the parser goes (bounded by `on_url`): the
            # rest is the method, the version and the header fields.
            if self.head_bytes - len(self.url) > self.max_head_bytes:
                self._refuse(
                    RequestHeaderFieldsTooLarge(
                        f"The request headers are larger than {self.max_head_bytes} bytes in all"
                    )
                )
                return
        state = self.messages * 4 + self.phase
        if state != self.timed:
            # The head began, or the body started, in this read: its deadline counts from now.
            self.timed = state
            grace = BODY_GRACE_SECONDS if self.phase == _BODY else 0.0
            self._arm(self.read_timeout + grace)

    # Parser callbacks (httptools calls them on this object during `feed_data`)

    def on_message_begin(self) -> None:
        _base.on_message_begin(self)
        self.phase = _HEAD
        self.messages += 1
        self.head_bytes = 0

    def on_url(self, url: bytes) -> None:
        _base.on_url(self, url)
        if len(self.url) > MAX_TARGET_BYTES:
            # Raising stops the parser at once: uvicorn logs "Invalid HTTP request received."
            # and calls `send_400_response`, which sends this instead.
            self.refusal = UriTooLong(f"The request target is longer than {MAX_TARGET_BYTES} bytes")
            raise ValueError("request target too long")

    def send_400_response(self, msg: str) -> None:
        if self.refusal is not None:
            self._refuse(self.refusal)
        else:
            super().send_400_response(msg)

    def on_headers_complete(self) -> None:
        self.phase = _BODY
        _base.on_headers_complete(self)

    def on_message_complete(self) -> None:
        self.phase = _BETWEEN
        _base.on_message_complete(self)

    # Deadlines

    def _arm(self, delay: float) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
        self.read_timer = self.loop.call_later(delay, self._on_deadline)

    def _disarm(self) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None

    def _on_deadline(self) -> None:
        self.read_timer = None
        if self.transport.is_closing():
            return
        if self.phase == _HEAD:
            self._refuse(
                RequestTimeout(
                    f"The request headers did not arrive within {self.read_timeout:g} seconds"
                )
            )
        elif self.phase == _BODY and self.flow.read_paused:
            # The server stopped reading (its buffer is full, or a pipelined request waits):
            # the delay is not the client's.
            self._arm(self.read_timeout)
        else:
            # Nothing sent on a new connection, or a body the application has had its chance
            # to answer 408.
            logger.info("connection closed: request not received in time")
            self.transport.close()

    def _refuse(self, error: ApiError) -> None:
        self._disarm()
        # Unless an answer to an earlier request on this connection is still being written.
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(_raw_answer(error, self.server_state.default_headers))
        logger.info("request refused by the server: %s %s", error.status, error.code)
        self.transport.close()
