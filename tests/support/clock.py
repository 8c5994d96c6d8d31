"""A controlled clock for ``Ports.clock``: reads as an aware UTC datetime, moved only by the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Starts at ``start`` (or the current second, UTC) and stays there until set or advanced."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = _aware(start) if start is not None else datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def set(self, at: datetime) -> None:
        self.now = _aware(at)

    def advance(self, seconds: float = 0, **delta: float) -> None:
        """Moves on by ``seconds`` and any other ``timedelta`` fields given (``days=1``, ``minutes=5``)."""
        self.now += timedelta(seconds=seconds, **delta)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"the clock needs an aware datetime, got {at!r}")
    return at.astimezone(UTC)
