"""An object store for ``Ports.blobs`` that keeps what was written and records every pre-signed upload."""

from __future__ import annotations

from petcover.storage.memory import MemoryBlobs


class FakeBlobs(MemoryBlobs):
    """``MemoryBlobs`` (``objects`` holds ``key -> (body, content_type)``) with ``presigned`` calls recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.presigned: list[tuple[str, str, int]] = []

    def presign_put(self, key: str, content_type: str, expires_in: int = 900) -> str:
        self.presigned.append((key, content_type, expires_in))
        return f"https://blobs.test/{key}?signature=fake"
