from petcover.config import get_settings
from petcover.models.system import Health
from petcover.ports import Ports


def health(p: Ports) -> Health:
    p.store.get("HEALTH", "HEALTH", consistent=False)  # proves the table answers
    return Health(status="ok", stage=get_settings().stage, time=p.now(), store="ok")
