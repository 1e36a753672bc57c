"""CLI for the HL7 v2 scheduling feed: `interlude hl7 listen [--host] [--port]` runs the MLLP
listener (service/transports/mllp.py) that books, moves and cancels sessions from SIU messages
(service/services/hl7_feed.py) until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import click
from flask.cli import with_appcontext

from .. import logs
from ..domain import hl7_siu
from ..runtime import Interlude
from ..services import hl7_feed
from ..transports.mllp import MllpListener
from ..web.access import services
from .common import require_schema


def make_listener(app: Interlude, host: str, port: int, **bounds: Any) -> MllpListener:
    """The listener answering with the feed (bounds: max_bytes, read_timeout, idle_timeout,
    max_connections; see MllpListener)."""
    hl7_siu.quiet_library_logs()
    return MllpListener(
        lambda message: hl7_feed.answer(app, message), hl7_feed.too_large, host=host, port=port, **bounds
    )


async def _listen(listener: MllpListener) -> None:
    port = await listener.start()
    click.echo(f"listening for HL7 v2 (MLLP) on {listener.host}:{port}; Ctrl-C or SIGTERM to stop")
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await listener.close()
        click.echo("stopped")


@click.group("hl7")
def hl7_group() -> None:
    """The HL7 v2 scheduling feed (SIU^S12, S13, S14, S15, S26 over MLLP)."""


@hl7_group.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=2575, show_default=True, type=click.IntRange(0, 65535))
@click.option("--max-connections", default=32, show_default=True, type=click.IntRange(1, 1000))
@with_appcontext
def listen(host: str, port: int, max_connections: int) -> None:
    """Take SIU messages over MLLP and answer each with an ACK (AA, AE or AR)."""
    logs.setup()
    app = services()
    require_schema(app)
    asyncio.run(_listen(make_listener(app, host, port, max_connections=max_connections)))


def register(group: click.Group) -> None:
    group.add_command(hl7_group)
