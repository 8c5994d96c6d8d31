"""The back-office console's files, served from the document bucket under ``console/``.

The build (``console/dist``) is uploaded at deploy. ``index.html`` answers every route of the
single-page application (a path whose last segment has no extension); hashed files under
``assets/`` are cached for a year, the page itself is revalidated each time.
"""

from __future__ import annotations

import posixpath

from petcover.errors import InvalidInput, NotFound
from petcover.models.system import ConsoleFile
from petcover.ports import Ports

INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def file_name(proxy: str | None) -> str:
    """The file a console URL path names: ``index.html`` for the application's own routes."""
    path = (proxy or "").strip("/")
    if not path:
        return INDEX
    parts = path.split("/")
    if any(part in ("", ".", "..") or "\\" in part for part in parts):
        raise InvalidInput("The console path is not valid.", code="INVALID_CONSOLE_PATH")
    if "." not in parts[-1]:
        return INDEX
    return path


def get_file(p: Ports, proxy: str | None) -> ConsoleFile:
    name = file_name(proxy)
    ext = posixpath.splitext(name)[1].lower()
    content_type = CONTENT_TYPES.get(ext)
    if content_type is None:
        raise NotFound(f"The console has no file {name}.", code="CONSOLE_FILE_NOT_FOUND")
    if p.blobs is None:
        raise RuntimeError("The console needs a blob store (the document bucket)")
    body = p.blobs.get_bytes(f"console/{name}")
    if body is None:
        if name == INDEX:
            raise NotFound(
                "The console is not deployed: build it (make console) and deploy again.",
                code="CONSOLE_NOT_DEPLOYED",
            )
        raise NotFound(f"The console has no file {name}.", code="CONSOLE_FILE_NOT_FOUND")
    cache = IMMUTABLE if name.startswith("assets/") else REVALIDATE
    return ConsoleFile(name=name, content_type=content_type, cache_control=cache, text=body.decode("utf-8"))
