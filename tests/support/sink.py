"""A real webhook receiver on loopback for in-process tests: the local cloud's sink, in a thread."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def running_sink(folder: Path) -> Iterator[str]:
    """The sink's base URL while the block runs; it answers 200 until told otherwise (``mode``)."""
    from infra.localcloud import free_port
    from infra.sink import serve

    port = free_port()
    server = serve(port, folder / "sink.jsonl")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def sink_call(url: str, path: str, body: Any = None) -> Any:
    """GET (no body) or POST one of the sink's own endpoints: ``/_sink/mode``, ``/_sink/requests``."""
    req = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())
