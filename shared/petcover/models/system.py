from datetime import datetime

from pydantic import BaseModel


class Health(BaseModel):
    status: str
    stage: str
    time: datetime
    store: str
