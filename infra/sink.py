"""A local receiver for outgoing webhooks and chat alerts, on loopback only.

Every request is appended to a JSON-lines file. ``POST /_sink/mode {"status": 503}`` makes it
answer that status (a receiver that is down); ``{"status": 200}`` brings it back.
``GET /_sink/requests`` returns what it has recorded.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Sink:
    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.status = 200
        self.lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock, self.log_path.open("a") as fh:
            fh.write(json.dumps(entry) + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        with self.lock:
            return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]


def make_handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            return

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.startswith("/_sink/requests"):
                self._reply(200, sink.read())
            elif self.path.startswith("/_sink/health"):
                self._reply(200, {"ok": True, "status": sink.status})
            else:
                self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith("/_sink/mode"):
                sink.status = int(json.loads(body or b"{}").get("status", 200))
                self._reply(200, {"status": sink.status})
                return
            if self.path.startswith("/_sink/reset"):
                with sink.lock:
                    sink.log_path.write_text("")
                self._reply(200, {"reset": True})
                return
            sink.record(
                {
                    "at": time.time(),
                    "path": self.path,
                    "headers": {k: v for k, v in self.headers.items()},
                    "body": body.decode(errors="replace"),
                    "answered": sink.status,
                }
            )
            self._reply(sink.status, {"received": sink.status < 400})

        do_PUT = do_POST

    return Handler


def serve(port: int, log_path: Path) -> ThreadingHTTPServer:
    sink = Sink(log_path)
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(sink))
    return server


if __name__ == "__main__":
    port = int(sys.argv[1])
    path = Path(sys.argv[2])
    path.parent.mkdir(parents=True, exist_ok=True)
    serve(port, path).serve_forever()
