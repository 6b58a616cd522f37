"""A stand-in for a hung PostgreSQL: a loopback TCP server that accepts and never answers."""

from __future__ import annotations

import socket
import threading
import time


class HungServer:
    """Accepts TCP connections on loopback and never sends a byte (bounded in time)."""

    def __init__(self, lifetime_s: float = 120.0) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime_s
        self._clients: list[socket.socket] = []
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, name="hung-db-server")
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            self._clients.append(conn)  # held open, never answered
            self.accepted += 1
        for conn in self._clients:
            conn.close()
        self._sock.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
