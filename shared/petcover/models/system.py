from datetime import datetime

from pydantic import BaseModel


class Health(BaseModel):
    status: str
    stage: str
    time: datetime
    store: str


class ConsoleFile(BaseModel):
    """One file of the console's build, as the document bucket holds it."""

    name: str
    content_type: str
    cache_control: str
    text: str
