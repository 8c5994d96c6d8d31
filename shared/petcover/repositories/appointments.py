"""Keys of the appointment aggregate (a booking and the provider's work order for it)."""

from __future__ import annotations


def appointment_key(appointment_id: str) -> tuple[str, str]:
    return f"APPT#{appointment_id}", "APPT"
