"""``HttpListener``: an aiohttp application listening on a host and port in the running loop.

What the metrics endpoint and the dashboard share: binding (port 0 picks a free one), the address
to open, and a stop that closes open connections within a second. No thread, no second process.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import ClassVar, Self

from aiohttp import web

__all__ = ("HttpListener",)

_log = logging.getLogger(__name__)

_SHUTDOWN_TIMEOUT = 1.0
"""Seconds stop() gives open connections (a scrape, an event stream, a CSV download) before
closing them."""


class HttpListener:
    """Start and stop serving :meth:`application` on :attr:`host`:``requested_port``.

    Subclasses give the application and what they serve (for the log and the errors).
    """

    serves: ClassVar[str] = "HTTP"
    """What is served, as the log says it (``"the dashboard"``)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.requested_port = port
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def application(self) -> web.Application:
        """The aiohttp application to serve (called once per :meth:`start`)."""
        raise NotImplementedError

    @property
    def port(self) -> int:
        """The port listened on (the one picked, if 0 was asked for); raises before start()."""
        if self._port is None:
            raise RuntimeError(f"{self.serves} is not running")
        return self._port

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._runner is not None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if host in ("0.0.0.0", "[::]"):
            host = "127.0.0.1"  # Listening everywhere: this machine's own address opens it.
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Start listening.

        Raises
        ------
        OSError
            The address cannot be bound (for example, the port is in use). Nothing is left
            running; the cog catches this, logs it and runs on without the server.
        """
        if self._runner is not None:
            return
        # No access log: a scrape every few seconds, or a page's event stream, would flood it.
        app = self.application()
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.requested_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        _log.info("monitoring: serving %s on %s", self.serves, self.url)

    async def _closing(self) -> None:
        """What to end before the connections close (open event streams, say)."""

    async def stop(self) -> None:
        """Stop listening and close open connections. Safe to call twice."""
        runner, self._runner = self._runner, None
        await self._closing()
        if runner is not None:
            await runner.cleanup()
            _log.info("monitoring: stopped serving %s", self.serves)
        self._port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<{type(self).__name__} {where}>"
