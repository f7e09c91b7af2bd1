"""Counting SQL statements on the wire: a PostgreSQL protocol proxy for the counting pass.

The server the benchmark runs on may not have `pg_stat_statements` preloaded (it needs a
restart, which a shared server cannot have), so statements are counted where they cannot be
missed: in the frontend messages a client sends. Each Execute ('E') of the extended protocol
runs one prepared statement once, and each simple Query ('Q') runs one (asyncpg sends BEGIN,
COMMIT and ROLLBACK that way). A round trip ends at each Sync ('S'), Flush ('H', asyncpg's
prepare) or simple Query: the points where the client waits for the server's answer. Parse
('P') counts statements prepared, which shows statement-cache misses.

The proxy only forwards bytes; it never changes them. SSL and GSS encryption requests are
refused ('N'), which every client that would use TLS only if offered (asyncpg's default,
`sslmode=prefer`) accepts, so the messages stay readable. It is used only in the counting pass,
never while throughput is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from dataclasses import dataclass

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102


@dataclass
class WireCounts:
    statements: int = 0
    round_trips: int = 0
    parses: int = 0
    messages: int = 0
    last_message_at: float = 0.0


class CountingProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.counts = WireCounts()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def reset(self) -> WireCounts:
        before, self.counts = self.counts, WireCounts()
        return before

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            startup = await self._negotiate(client_r, client_w)
            if startup is None:
                return
            server_r, server_w = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except (ConnectionError, asyncio.IncompleteReadError):
            client_w.close()
            return
        server_w.write(startup)
        await asyncio.gather(
            self._client_to_server(client_r, server_w),
            self._pipe(server_r, client_w),
            return_exceptions=True,
        )
        for writer in (client_w, server_w):
            writer.close()

    async def _negotiate(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bytes | None:
        """Refuses encryption, and returns the startup (or cancel) message to forward."""
        while True:
            header = await reader.readexactly(8)
            length, code = struct.unpack("!ii", header)
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                writer.write(b"N")
                await writer.drain()
                continue
            return header + await reader.readexactly(length - 8)

    async def _client_to_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        counts = self.counts
        try:
            while True:
                header = await reader.readexactly(5)
                kind = header[:1]
                (length,) = struct.unpack("!i", header[1:])
                body = await reader.readexactly(length - 4)
                counts = self.counts  # reset() swaps the object between requests
                counts.messages += 1
                counts.last_message_at = time.monotonic()
                if kind == b"E":
                    counts.statements += 1
                elif kind == b"Q":
                    counts.statements += 1
                    counts.round_trips += 1
                elif kind in (b"S", b"H"):
                    counts.round_trips += 1
                elif kind == b"P":
                    counts.parses += 1
                writer.write(header + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.write_eof()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.write_eof()
