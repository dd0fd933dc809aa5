"""``archspec serve``: start the studio on a local port and open it in the browser.

``archspec.cli`` calls ``add_commands(main)``; Starlette and uvicorn (the ``studio`` extra) are
imported only when the command runs.
"""
from __future__ import annotations

import contextlib
import ipaddress
import signal
import socket
import sys
import threading
from typing import Any, Iterator

import click

from archspec.errors import UserError

DEFAULT_PORT = 8765
WILDCARD_HOSTS = ("0.0.0.0", "::")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: any free port); UserError when it cannot be had."""
    try:
        family, kind, proto, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise UserError(f"cannot resolve the host {host!r} ({exc.strerror})", "use --host 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(where)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port} ({exc.strerror})",
                        "choose another --port (0 picks a free one)") from None
    return sock


def is_loopback(sock: socket.socket) -> bool:
    return ipaddress.ip_address(sock.getsockname()[0]).is_loopback


def browse_host(host: str) -> str:
    """The name the page is opened at: a wildcard address is not one a browser can open."""
    return "127.0.0.1" if host in WILDCARD_HOSTS else host


def _server(app: Any) -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, which after a graceful stop on Ctrl-C or SIGTERM returns (and the
        command exits 0) instead of raising the signal again."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server(uvicorn.Config(app, interface="asgi3", lifespan="off", log_level="warning", access_log=False,
                                 server_header=False))


def require_explorer_modules() -> None:
    """The explorer loads the run's model with Keras (the ``tf`` extra): without it, say so before
    the server starts (``archspec``'s command group names the extra), not in the page's requests."""
    from importlib.util import find_spec

    for module in ("numpy", "PIL", "keras", "tensorflow"):
        if find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)


def serve(path: str, host: str, port: int, open_browser: bool) -> None:
    from archspec.studio.safety import Address
    from archspec.studio.server import create_app
    from archspec.studio.workspace import Workspace

    workspace = Workspace.open(path)
    if workspace.mode == "run":
        require_explorer_modules()
    sock = bind(host, port)
    address = Address(browse_host(host), sock.getsockname()[1])
    if not is_loopback(sock):
        click.echo(f"warning: listening on {host}, not only on this machine: anyone who can reach it can read "
                   f"and change {workspace.folder}'s specs through the studio", err=True)
    server = _server(create_app(workspace, address, warm=True))
    click.echo(f"archspec studio: {address.url}")
    sys.stdout.flush()
    if open_browser:
        import webbrowser

        threading.Timer(0.5, webbrowser.open, [address.url]).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    click.echo("archspec studio: stopped")


def add_commands(group: click.Group) -> None:
    """Add ``serve`` to the archspec command group."""

    @group.command("serve")
    @click.argument("path", default=".", type=click.Path(exists=True))
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Address to listen on; anything but loopback lets other machines in (a warning says so).")
    @click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
                  help="Port to listen on (0: any free port; the address printed is the real one).")
    @click.option("--no-browser", is_flag=True, help="Do not open the page in the browser.")
    def serve_command(path: str, host: str, port: int, no_browser: bool) -> None:
        """The studio: edit a spec and watch its analysis, or explore a trained run.

        PATH is a spec file, a folder of specs or a run directory (default: the current folder).
        """
        serve(path, host, port, not no_browser)
