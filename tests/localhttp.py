"""Small HTTP servers on 127.0.0.1 for tests that stand in for Wikimedia's
services (EventStreams, a wiki that misbehaves): quiet handlers, a free port,
a daemon thread, and a way to drop a connection the way a network does."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no access log on stderr."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def drop(self) -> None:
        """Cut the connection without an answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(handler: type[BaseHTTPRequestHandler], poll_interval: float = 0.05) -> ThreadingHTTPServer:
    """Serve *handler* on a free port of 127.0.0.1 in a daemon thread;
    ``server.server_address[1]`` is the port, ``server.shutdown()`` stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval},
                     daemon=True).start()
    return server
