from datetime import datetime

from petcover.models.base import Model


class Health(Model):
    status: str
    stage: str
    time: datetime
    store: str


class ConsoleFile(Model):
    """One file of the console's build, as the document bucket holds it."""

    name: str
    content_type: str
    cache_control: str
    text: str
