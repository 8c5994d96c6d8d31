"""Liveness and readiness of the service."""

from petcover.config import get_settings
from petcover.models.system import Health
from petcover.ports import Ports
from petcover.repositories.system import health_key


def health(p: Ports) -> Health:
    p.store.get(*health_key(), consistent=False)  # proves the table answers
    return Health(status="ok", stage=get_settings().stage, time=p.now(), store="ok")
