"""An MLLP listener (HL7 v2 over TCP): each message framed as <VT> message <FS><CR>, answered
with the framed reply `handle` returns; one connection carries any number of messages.

Bounds, so that one peer cannot stop the others:
- a message larger than `max_bytes` is answered AR by `too_large`, the rest of it skipped and
  its connection closed (what follows cannot be told apart from the next message);
- a message must arrive whole within `read_timeout` seconds of its start block, and a
  connection idle for `idle_timeout` seconds is closed (the sender opens a new one);
- at most `max_connections` at once: one more is closed at once, logged;
- `handle` (the database work) runs in one worker thread, so messages are applied one at a time
  in the order they arrive, while reading and writing of every connection go on meanwhile.
If `handle` raises, nothing is answered and the connection is closed: the sender resends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("interlude.mllp")

START = b"\x0b"
END = b"\x1c\r"
_BETWEEN = b"\r\n "  # what some senders leave between two frames


def frame(payload: bytes) -> bytes:
    return START + payload + END


class TooLarge(Exception):
    pass


class MllpListener:
    def __init__(
        self,
        handle: Callable[[bytes], bytes],
        too_large: Callable[[int], bytes],
        *,
        host: str = "127.0.0.1",
        port: int = 2575,
        max_bytes: int = 1_000_000,
        read_timeout: float = 30.0,
        idle_timeout: float = 600.0,
        max_connections: int = 32,
    ) -> None:
        self.handle = handle
        self.too_large = too_large
        self.host = host
        self.port = port
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._clients: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._worker: ThreadPoolExecutor | None = None

    async def start(self) -> int:
        """Listen; returns the port (the one the system chose when `port` is 0)."""
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mllp")
        self._server = await asyncio.start_server(
            self._connected, self.host, self.port, limit=self.max_bytes + len(END)
        )
        port = int(self._server.sockets[0].getsockname()[1])
        log.info("MLLP listening on %s:%s", self.host, port)
        return port

    async def serve_forever(self) -> None:
        assert self._server is not None, "start() first"
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        # Each open connection dropped: its reader sees the end and its task ends on its own (a
        # message being applied is finished first, its ACK lost: the sender resends it).
        for writer in list(self._clients.values()):
            writer.transport.abort()
        if self._clients:
            await asyncio.wait(list(self._clients), timeout=self.read_timeout)
        if self._worker is not None:
            self._worker.shutdown(wait=True)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        if len(self._clients) >= self.max_connections:
            log.warning("MLLP connection from %s refused: %s already open", peer, self.max_connections)
            writer.close()
            return
        self._clients[task] = writer
        try:
            await self._conversation(reader, writer)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("MLLP connection from %s closed: %s", peer, type(exc).__name__)
        except TooLarge:
            log.warning("MLLP message from %s over %s bytes: answered AR, closed", peer, self.max_bytes)
        except Exception:
            log.exception("MLLP connection from %s: failed to process a message; closed, unanswered", peer)
        finally:
            self._clients.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _conversation(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while True:
            message = await self._read(reader, writer)
            if message is None:
                return
            reply = await loop.run_in_executor(self._worker, self.handle, message)
            await self._send(writer, reply)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes | None:
        """The next message, without its frame; None at the end of the connection."""
        while True:
            try:
                first = await asyncio.wait_for(reader.readexactly(1), self.idle_timeout)
            except asyncio.IncompleteReadError:
                return None
            if first not in _BETWEEN:
                break
        try:
            body = await asyncio.wait_for(reader.readuntil(END), self.read_timeout)
        except asyncio.LimitOverrunError:
            await self._send(writer, self.too_large(self.max_bytes))
            await self._skip_rest(reader)
            raise TooLarge() from None
        if first != START:
            # Framing lost: hand on what came, the handler refuses it as not HL7 (AR).
            return first + body[: -len(END)]
        return body[: -len(END)]

    async def _skip_rest(self, reader: asyncio.StreamReader) -> None:
        """Read what is left of a message too large (up to ten times the limit, within the read
        timeout), so that closing does not reset the connection before the sender reads the AR."""
        left = 10 * self.max_bytes
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(self.read_timeout):
                while left > 0:
                    chunk = await reader.read(65536)
                    if not chunk or END in chunk:
                        return
                    left -= len(chunk)

    async def _send(self, writer: asyncio.StreamWriter, reply: bytes) -> None:
        writer.write(frame(reply))
        await asyncio.wait_for(writer.drain(), self.read_timeout)
